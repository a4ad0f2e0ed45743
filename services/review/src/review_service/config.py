"""Settings of the review service (env prefix REVIEW_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from gongkai_contracts.topics import events_topic
from gongkai_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """Database, Kafka and HTTP settings of the review service."""

    model_config = SettingsConfigDict(env_prefix="REVIEW_")
    database_url: str = "postgresql://gongkai@127.0.0.1:5432/review"
    http_port: int = 8030
    source_topics: tuple[str, ...] = Field(
        (events_topic("requests"), events_topic("catalogue")),
        description=(
            "Topics whose ReplyDrafted and ItemSubmittedForReview open review cases "
            "(REVIEW_SOURCE_TOPICS, a JSON list); tests point them at topics of their own."
        ),
    )
