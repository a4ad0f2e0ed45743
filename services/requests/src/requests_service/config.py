"""Settings of the requests service (env prefix REQUESTS_)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from gongkai_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    """Database, Kafka and HTTP settings of the requests service."""

    model_config = SettingsConfigDict(env_prefix="REQUESTS_")
    database_url: str = "postgresql://gongkai@127.0.0.1:5432/requests"
    http_port: int = 8020
    pii_index_key: SecretStr = Field(
        SecretStr("gongkai-local-development-only"),
        description="HMAC key of the applicants' blind index; set a secret one in production.",
    )
