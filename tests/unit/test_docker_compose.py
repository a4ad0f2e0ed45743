"""docker-compose.yml cannot run here; it must at least parse and match the local stack."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from gongkai_contracts.topics import SERVICES, events_topic
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


# ---------------------------------------------------------------- Kafka access (deploy/kafka)

ACLS_SH = ROOT / "deploy/kafka/acls.sh"
GRANT = re.compile(r'^grant (\S+) "([^"]*)" "([^"]*)"$', re.MULTILINE)


def acl_grants() -> dict[str, tuple[list[str], list[str]]]:
    """acls.sh's table: service -> (services whose events it consumes, group prefixes)."""
    return {
        service: (consumes.split(), groups.split())
        for service, consumes, groups in GRANT.findall(ACLS_SH.read_text())
    }


def test_every_service_process_logs_in_to_kafka_as_its_own_user() -> None:
    services = compose()["services"]
    passwords = services["kafka-acls"]["environment"]
    for service, role in PROCESSES:
        env = services[f"{service}-{role}"]["environment"]
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        assert env["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env["KAFKA_SASL_USERNAME"] == service
        # The password acls.sh sets for that user (one compose variable, a dev default).
        assert env["KAFKA_SASL_PASSWORD"] == passwords[f"KAFKA_{service.upper()}_PASSWORD"]
        assert env["KAFKA_SASL_PASSWORD"].startswith(f"${{KAFKA_{service.upper()}_PASSWORD:-")
    topics = services["topics"]
    assert topics["environment"]["KAFKA_SASL_USERNAME"] == "admin"
    assert topics["depends_on"]["kafka-acls"]["condition"] == "service_completed_successfully"


def test_the_broker_enforces_acls_on_sasl_listeners_only() -> None:
    kafka = compose()["services"]["kafka"]
    assert kafka["entrypoint"] == ["sh", "/gongkai/broker.sh"]
    assert "./deploy/kafka/broker.sh:/gongkai/broker.sh:ro" in kafka["volumes"]
    broker = (ROOT / "deploy/kafka/broker.sh").read_text()
    protocols = re.search(r"^listener\.security\.protocol\.map=(.*)$", broker, re.MULTILINE)
    assert protocols is not None
    assert {p.split(":")[1] for p in protocols.group(1).split(",")} == {"SASL_PLAINTEXT"}
    for line in (
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found=false",
        "super.users=User:$ADMIN",
        "sasl.enabled.mechanisms=$MECHANISM",
    ):
        assert f"\n{line}\n" in broker
    job = compose()["services"]["kafka-acls"]
    assert job["entrypoint"] == ["sh", "/gongkai/acls.sh"]
    assert "./deploy/kafka/acls.sh:/gongkai/acls.sh:ro" in job["volumes"]


def test_acls_grant_each_service_write_on_its_own_topic_only() -> None:
    grants = acl_grants()
    assert sorted(grants) == sorted(SERVICES)
    script = ACLS_SH.read_text()
    # The only Write grant: its own events topic and the DLQs of the topics it consumes.
    writes = re.findall(r"--operation Write[^\n]*", script)
    assert writes == ['--operation Write --operation Describe "$@"']
    assert 'set -- --topic "gongkai.$service.events"' in script
    assert 'set -- "$@" --topic "gongkai.$source.events.dlq"' in script
    assert "--operation All" not in script and "--producer" not in script
    for service, (consumes, _) in grants.items():
        assert service not in consumes
        assert set(consumes) <= set(SERVICES)


def test_acls_match_what_the_services_consume() -> None:
    """The table in acls.sh against the consumers in the code: topics and group ids."""
    from catalogue_service.config import Settings as CatalogueSettings
    from catalogue_service.reactions.when_review_decided_record_item_decision import (
        WhenReviewDecidedRecordItemDecision,
    )
    from reporting_service.bootstrap import projections
    from requests_service.reactions.when_review_decided_record_draft_decision import (
        WhenReviewDecidedRecordDraftDecision,
    )
    from review_service.config import Settings as ReviewSettings
    from review_service.reactions.when_submitted_for_review_open_case import (
        WhenSubmittedForReviewOpenCase,
    )

    grants = acl_grants()
    consumers: dict[str, tuple[set[str], set[str]]] = {
        "catalogue": (
            set(CatalogueSettings().review_topics),
            {WhenReviewDecidedRecordItemDecision.name},
        ),
        # requests' lifespan subscribes to events_topic("review") (entrypoints/http.py).
        "requests": ({events_topic("review")}, {WhenReviewDecidedRecordDraftDecision.name}),
        "review": (set(ReviewSettings().source_topics), {WhenSubmittedForReviewOpenCase.name}),
        "reporting": (
            {topic for _, topic in projections()},
            {handler.name for handler, _ in projections()}
            # the replay's groups (reporting_service/replay.py)
            | {f"gongkai-replay.{handler.name}.x" for handler, _ in projections()},
        ),
    }
    for service, (topics, groups) in consumers.items():
        consumes, prefixes = grants[service]
        assert set(consumes) <= set(SERVICES), service
        assert topics == {events_topic(s) for s in SERVICES if s in consumes}, service
        for group in groups:
            assert any(group.startswith(p) for p in prefixes), (service, group)
        # A service's prefixes cover no other service's groups.
        for other, (_, other_groups) in consumers.items():
            if other != service:
                assert not any(g.startswith(p) for g in other_groups for p in prefixes)
