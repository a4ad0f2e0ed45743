"""Settings of the catalogue service (env prefix CATALOGUE_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from gongkai_contracts.topics import events_topic
from gongkai_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """Database, Kafka and HTTP settings of the catalogue service."""

    model_config = SettingsConfigDict(env_prefix="CATALOGUE_")
    database_url: str = "postgresql://gongkai@127.0.0.1:5432/catalogue"
    http_port: int = 8010
    review_topics: tuple[str, ...] = Field(
        (events_topic("review"),),
        description=(
            "Topics whose ReviewApproved and ReviewRejected for items are recorded on the items "
            "(CATALOGUE_REVIEW_TOPICS, a JSON list); tests point them at topics of their own."
        ),
    )
