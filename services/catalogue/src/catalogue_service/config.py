"""Settings of the catalogue service (env prefix CATALOGUE_)."""

from pydantic_settings import SettingsConfigDict

from gongkai_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """Database, Kafka and HTTP settings of the catalogue service."""

    model_config = SettingsConfigDict(env_prefix="CATALOGUE_")
    database_url: str = "postgresql://gongkai@127.0.0.1:5432/catalogue"
    http_port: int = 8010
