"""Settings of the reporting service (env prefix REPORTING_)."""

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from gongkai_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """Database, Kafka and HTTP settings of the reporting service."""

    model_config = SettingsConfigDict(env_prefix="REPORTING_")
    database_url: str = "postgresql://gongkai@127.0.0.1:5432/reporting"
    http_port: int = 8040
    # A JSON file with the self-assessment scheme (a tree of items); default: the seed's.
    self_assessment_scheme: Path | None = None
