"""Settings of the reporting service (env prefix REPORTING_)."""

from pydantic_settings import SettingsConfigDict

from gongkai_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """Database, Kafka and HTTP settings of the reporting service."""

    model_config = SettingsConfigDict(env_prefix="REPORTING_")
    database_url: str = "postgresql://gongkai@127.0.0.1:5432/reporting"
    http_port: int = 8040
