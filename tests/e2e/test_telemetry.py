"""Telemetry of the running platform: one command's spans share its trace across the services
(exported over OTLP/HTTP to a receiver run by the test), and the Prometheus endpoints of the
APIs and relays move with the commands."""

from __future__ import annotations

import asyncio
import gzip
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from prometheus_client.parser import text_string_to_metric_families

from gongkai_contracts.topics import SERVICES, Service, events_topic
from gongkai_platform.devstack.stack import LocalStack
from requests_service.adapters.metrics import OpenRequestsMetrics
from requests_service.entrypoints.clock import today_in_china
from tests.e2e.helpers import assign_reviewers, client_as, open_case, request_body

pytestmark = pytest.mark.e2e


# ---------------------------------------------------------------- an OTLP/HTTP receiver


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    attributes: dict[str, object]


def _value(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


class OtlpReceiver:
    """Accepts POST /v1/traces (ExportTraceServiceRequest, protobuf) and keeps every span."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver.add(request)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def add(self, request: ExportTraceServiceRequest) -> None:
        found: list[ReceivedSpan] = []
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    found.append(
                        ReceivedSpan(
                            service=str(resource.get("service.name")),
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            name=span.name,
                            attributes={a.key: _value(a.value) for a in span.attributes},
                        )
                    )
        with self._lock:
            self.spans += found

    def of_trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# ---------------------------------------------------------------- the platform, observed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Observed:
    stack: LocalStack
    otlp: OtlpReceiver
    relay_metrics: dict[Service, str]


@pytest.fixture(scope="module")
def observed(
    tmp_path_factory: pytest.TempPathFactory, postgres_admin_dsn: str, kafka_bootstrap: str
) -> Iterator[Observed]:
    """Every service process exporting its spans to the test's OTLP receiver within ~0.2 s,
    and every relay serving its metrics on a port of its own."""
    relay_ports = {s: _free_port() for s in SERVICES}
    with OtlpReceiver() as otlp:
        extra_env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            **{f"{s.upper()}_RELAY_METRICS_PORT": str(p) for s, p in relay_ports.items()},
        }
        platform = LocalStack(
            tmp_path_factory.mktemp("telemetry"),
            admin_dsn=postgres_admin_dsn,
            bootstrap=kafka_bootstrap,
            ports={s: _free_port() for s in SERVICES},
            database_prefix=f"tel{secrets.token_hex(3)}_",
            extra_env=extra_env,
        )
        platform.start_infrastructure()
        try:
            platform.start_all()
            yield Observed(
                platform,
                otlp,
                {s: f"http://127.0.0.1:{p}/metrics" for s, p in relay_ports.items()},
            )
        finally:
            platform.close()


def bureau() -> str:
    return f"b-{uuid.uuid4().hex[:10]}"


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {timeout:.0f}s: {what}")


# ---------------------------------------------------------------- tracing


async def test_one_reply_draft_is_one_trace_across_the_services(observed: Observed) -> None:
    stack, b = observed.stack, bureau()
    await assign_reviewers(stack, b)
    async with client_as("clerk", b) as clerk:
        registered = await clerk.post(
            f"{stack.url('requests')}/bureaus/{b}/requests", json=request_body(1)
        )
        assert registered.status_code == 201, registered.text
        request_id = registered.json()["request_id"]
        # The command, sent as part of a trace the test started.
        trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
        drafted = await clerk.post(
            f"{stack.url('requests')}/bureaus/{b}/requests/{request_id}/reply-drafts",
            json={"outcome": "disclosed", "legal_basis": "条例 第三十六条"},
            headers={"traceparent": f"00-{trace_id}-{parent}-01"},
        )
    assert drafted.status_code == 201, drafted.text
    await open_case(stack, b, drafted.json()["draft_id"])

    def consumed(service: str, topic: str) -> list[ReceivedSpan]:
        return [
            s
            for s in observed.otlp.of_trace(trace_id)
            if s.service == service and s.attributes.get("messaging.destination.name") == topic
        ]

    requests_topic, review_topic = events_topic("requests"), events_topic("review")

    async def complete() -> bool:
        # requests → its relay → review opens the case (and reporting projects the draft) →
        # review's relay → requests and catalogue read the ReviewOpened the review appended.
        # (Each process sends its spans on its own schedule: wait for the slowest.)
        relays = {"requests-relay", "review-relay"}
        return relays <= {s.service for s in observed.otlp.of_trace(trace_id)} and all(
            [
                consumed("review", requests_topic),
                consumed("reporting", requests_topic),
                consumed("requests", review_topic),
                consumed("catalogue", review_topic),
            ]
        )

    await eventually(complete, f"spans of trace {trace_id} from every service")
    spans = observed.otlp.of_trace(trace_id)
    services = {s.service for s in spans}
    assert {"requests", "review", "reporting", "catalogue"} <= services
    assert {"requests-relay", "review-relay"} <= services
    [server] = [s for s in spans if s.parent_span_id == parent]
    assert server.service == "requests"
    assert server.name == "POST /bureaus/{bureau_id}/requests/{request_id}/reply-drafts"
    assert server.attributes["http.response.status_code"] == 201
    # Parent links: command → relay → review's consumer → review's relay → requests' consumer.
    by_id = {s.span_id: s for s in spans}

    def ancestry(span: ReceivedSpan) -> list[str]:
        chain = []
        while span.parent_span_id in by_id:
            span = by_id[span.parent_span_id]
            chain.append(f"{span.service}: {span.name}")
        return chain

    [reaction] = consumed("requests", review_topic)
    chain = ancestry(reaction)
    assert chain[:3] == [
        f"review-relay: send {review_topic}",
        "review: review.open_cases process",
        f"requests-relay: send {requests_topic}",
    ]
    # The append ran inside the endpoint (FastAPI's operation spans sit below the server's).
    assert chain[-1] == f"requests: {server.name}"
    assert all(link.startswith("requests: ") for link in chain[3:])
    assert reaction.attributes["gongkai.event_types"] == ["review.ReviewOpened"]


# ---------------------------------------------------------------- metrics


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(url: str) -> Samples:
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(url)  # no token: Prometheus scrapes without one
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def matching(samples: Samples, name: str, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
    wanted = set(labels.items())
    return {k: v for (n, k), v in samples.items() if n == name and wanted <= k}


async def test_metrics_move_with_commands_lag_and_poison(observed: Observed) -> None:
    stack, b = observed.stack, bureau()
    api = f"{stack.url('requests')}/metrics"
    registrations = "/bureaus/{bureau_id}/requests"
    before = await scrape(api)
    async with client_as("clerk", b) as clerk:
        for i in range(3):
            answer = await clerk.post(
                f"{stack.url('requests')}/bureaus/{b}/requests", json=request_body(i)
            )
            assert answer.status_code == 201, answer.text
        missing = await clerk.get(f"{stack.url('requests')}/bureaus/{b}/requests/nope")
        assert missing.status_code == 404
    after = await scrape(api)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    created = {"method": "POST", "route": registrations, "status": "201"}
    assert delta("gongkai_http_requests_total", **created) == 3
    unknown = {"method": "GET", "route": "/bureaus/{bureau_id}/requests/{request_id}"}
    assert delta("gongkai_http_requests_total", **unknown, status="404") == 1
    latency = {"method": "POST", "route": registrations}
    assert delta("gongkai_http_request_duration_seconds_count", **latency) == 3

    # The relay published them and has nothing left; reporting's consumers caught up.
    relay = observed.relay_metrics["requests"]
    requests_topic = events_topic("requests")

    async def relay_done() -> bool:
        samples = await scrape(relay)
        return (
            value(samples, "gongkai_relay_published_total", topic=requests_topic) >= 3
            and (("gongkai_relay_backlog", frozenset({("topic", requests_topic)})) in samples)
            and value(samples, "gongkai_relay_backlog", topic=requests_topic) == 0
        )

    await eventually(relay_done, "the requests relay published everything")
    reporting = f"{stack.url('reporting')}/metrics"

    async def caught_up() -> bool:
        lags = matching(await scrape(reporting), "gongkai_consumer_lag", topic=requests_topic)
        consumers = {dict(k)["consumer"] for k in lags}
        every_partition = len(lags) == len(consumers) * stack.partitions
        return len(consumers) >= 3 and every_partition and not any(lags.values())

    # From offset 0 of topics every earlier e2e module wrote to: thousands of events.
    await eventually(caught_up, "reporting's lag on the requests topic back to 0", timeout=180)

    # A poison message: each of reporting's consumers of that topic dead-letters it once.
    dead = matching(await scrape(reporting), "gongkai_consumer_dead_lettered_total")
    dead_before = {k: v for k, v in dead.items() if dict(k)["topic"] == requests_topic}
    assert len(dead_before) >= 3
    raw = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await raw.start()
    try:
        await raw.send_and_wait(requests_topic, b"{not an event", key=b"b-poison")
    finally:
        await raw.stop()

    async def dead_lettered() -> bool:
        now = matching(await scrape(reporting), "gongkai_consumer_dead_lettered_total")
        return all(now.get(k, 0) == v + 1 for k, v in dead_before.items())

    await eventually(dead_lettered, "every reporting consumer of the topic dead-lettered it")
    await eventually(caught_up, "reporting's lag back to 0 after the poison")


async def test_open_and_overdue_requests_per_bureau(observed: Observed) -> None:
    stack, b = observed.stack, bureau()
    today = today_in_china()
    async with client_as("clerk", b) as clerk:
        url = f"{stack.url('requests')}/bureaus/{b}/requests"
        for on in (date(today.year - 1, 3, 2), date(today.year - 1, 3, 3), today):
            answer = await clerk.post(url, json=request_body(1, on))
            assert answer.status_code == 201, answer.text
        withdrawn = answer.json()["request_id"]
        answer = await clerk.post(f"{url}/{withdrawn}/withdrawal", json={"on": today.isoformat()})
        assert answer.status_code == 200, answer.text
        answer = await clerk.post(url, json=request_body(2, today))
        assert answer.status_code == 201, answer.text

    pool = await asyncpg.create_pool(stack.database_url("requests"), min_size=1, max_size=1)
    try:
        source = OpenRequestsMetrics(pool, today_in_china)
        await source.refresh()
        families = {f.name: f for f in source.collect()}
    finally:
        await pool.close()

    def of_bureau(name: str) -> float:
        return next(s.value for s in families[name].samples if s.labels == {"bureau": b})

    assert of_bureau("gongkai_requests_open") == 3
    assert of_bureau("gongkai_requests_overdue") == 2
