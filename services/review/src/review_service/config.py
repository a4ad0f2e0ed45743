"""Settings of the review service (env prefix REVIEW_)."""

from pydantic_settings import SettingsConfigDict

from gongkai_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """Database, Kafka and HTTP settings of the review service."""

    model_config = SettingsConfigDict(env_prefix="REVIEW_")
    database_url: str = "postgresql://gongkai@127.0.0.1:5432/review"
    http_port: int = 8030
