"""How a process authenticates to Kafka: read from the environment, handed to every aiokafka client.

PLAINTEXT (the default, and what the local and test brokers speak) adds nothing to the clients'
arguments. docker-compose sets SASL_PLAINTEXT with SCRAM-SHA-512 and one user per service, whose
ACLs let it write only its own topic (deploy/kafka/README.md):

    KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT   # PLAINTEXT | SASL_PLAINTEXT | SASL_SSL | SSL
    KAFKA_SASL_MECHANISM=SCRAM-SHA-512       # SCRAM-SHA-512 | SCRAM-SHA-256 | PLAIN
    KAFKA_SASL_USERNAME=requests
    KAFKA_SASL_PASSWORD=…
    KAFKA_SSL_CAFILE=/path/ca.pem            # only for SSL / SASL_SSL; else the system CAs

Use: ``AIOKafkaProducer(bootstrap_servers=…, **kafka_client_kwargs())``, the same for
AIOKafkaConsumer and AIOKafkaAdminClient.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


class KafkaSecurity(BaseSettings):
    """The client side of the broker's listener: protocol, SASL mechanism and credentials."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @model_validator(mode="after")
    def _credentials_with_sasl(self) -> KafkaSecurity:
        if self.uses_sasl and not (self.sasl_username and self.sasl_password):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        return self


def kafka_client_kwargs(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """Keyword arguments for AIOKafkaProducer / AIOKafkaConsumer / AIOKafkaAdminClient.

    Empty for PLAINTEXT, so clients keep aiokafka's defaults exactly. ``security`` defaults to
    the environment (read on every call: cheap, and tests can change the environment).
    """
    sec = security if security is not None else KafkaSecurity()
    if sec.security_protocol == "PLAINTEXT":
        return {}
    kwargs: dict[str, Any] = {"security_protocol": sec.security_protocol}
    if sec.uses_sasl:
        assert sec.sasl_username is not None and sec.sasl_password is not None  # validated
        kwargs |= {
            "sasl_mechanism": sec.sasl_mechanism,
            "sasl_plain_username": sec.sasl_username,
            "sasl_plain_password": sec.sasl_password.get_secret_value(),
        }
    if sec.security_protocol in ("SSL", "SASL_SSL"):
        from aiokafka.helpers import create_ssl_context

        kwargs["ssl_context"] = create_ssl_context(cafile=sec.ssl_cafile)
    return kwargs


def scram_client_kwargs(
    username: str, password: str, mechanism: SaslMechanism = "SCRAM-SHA-512"
) -> dict[str, Any]:
    """The same arguments for explicit credentials (tools and tests acting as a given user)."""
    return kafka_client_kwargs(
        KafkaSecurity(
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism=mechanism,
            sasl_username=username,
            sasl_password=SecretStr(password),
        )
    )
