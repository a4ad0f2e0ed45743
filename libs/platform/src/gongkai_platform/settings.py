"""Settings every service shares; each service subclasses with its own env prefix."""

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings


class ServiceSettings(BaseSettings):
    """Defaults work with `gongkai up`; override with `<SERVICE>_…` environment variables."""

    database_url: str = "postgresql://gongkai@127.0.0.1:5432/gongkai"
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"),
        description="Shared by every service: KAFKA_BOOTSTRAP_SERVERS.",
    )
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    otlp_endpoint: str | None = Field(
        None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "otlp_endpoint"),
        description="Traces are exported over OTLP/HTTP only when this is set.",
    )
    log_level: str = "INFO"
    relay_metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Port of the relay process's Prometheus /metrics (published, backlog); "
        "0: not served.",
    )
