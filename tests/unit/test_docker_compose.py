"""docker-compose.yml cannot run here; it must at least parse and match the local stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gongkai_contracts.topics import SERVICES
from gongkai_platform.devstack.stack import DEFAULT_PORTS, PROCESSES

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_every_local_process_runs_in_compose_with_the_same_command() -> None:
    services = compose()["services"]
    for service, role in PROCESSES:
        entry = services[f"{service}-{role}"]
        assert entry["command"] == ["python", "-m", f"{service}_service", role]


def test_compose_sets_the_same_environment_as_the_local_stack() -> None:
    services = compose()["services"]
    for service, role in PROCESSES:
        env = services[f"{service}-{role}"]["environment"]
        prefix = service.upper()
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env[f"{prefix}_DATABASE_URL"].endswith(f"/{service}")
        assert env[f"{prefix}_HTTP_PORT"] == str(DEFAULT_PORTS[service])


def test_every_service_has_a_dockerfile_and_a_database() -> None:
    init_sql = (ROOT / "deploy/postgres/init.sql").read_text()
    for service in SERVICES:
        dockerfile = (ROOT / f"services/{service}/Dockerfile").read_text()
        assert f"--package {service}-service" in dockerfile
        assert f"CREATE DATABASE {service}" in init_sql


def test_topics_are_created_before_consumers_start() -> None:
    services = compose()["services"]
    assert services["topics"]["command"][:2] == ["gongkai", "topics"]
    # Relays publish to topics; the APIs of requests, review and reporting consume them.
    for name in ("requests-relay", "reporting-api", "requests-api", "review-api", "catalogue-api"):
        assert services[name]["depends_on"]["topics"]["condition"] == (
            "service_completed_successfully"
        )
