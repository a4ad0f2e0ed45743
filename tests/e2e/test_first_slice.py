"""The first slice end to end: HTTP → requests → events table → relay → Kafka → reporting."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from gongkai_contracts.topics import dlq_topic, events_topic
from gongkai_platform.devstack.stack import LocalStack
from tests.e2e.helpers import (
    client_as,
    post_requests,
    received_count,
    request_body,
    wait_for_count,
)

pytestmark = pytest.mark.e2e


def bureau() -> str:
    return f"b-{uuid.uuid4().hex[:10]}"


async def test_a_posted_request_shows_in_reporting(stack: LocalStack) -> None:
    b = bureau()
    async with client_as("clerk", b) as client:
        posted = time.monotonic()
        answer = await client.post(
            f"{stack.url('requests')}/bureaus/{b}/requests", json=request_body(1)
        )
    assert answer.status_code == 201, answer.text
    assert answer.json()["stream_version"] == 1
    await wait_for_count(stack, b, 1, timeout=10)
    print(f"\nvisible in reporting {time.monotonic() - posted:.3f}s after the POST")


async def test_bad_input_is_422_naming_the_field_and_nothing_is_stored(stack: LocalStack) -> None:
    b = bureau()
    url = f"{stack.url('requests')}/bureaus/{b}/requests"
    async with client_as("clerk", b) as client:
        bad_channel = await client.post(url, json={**request_body(1), "channel": "pigeon"})
        future = await client.post(url, json={**request_body(1), "received_on": "2099-01-01"})
        unknown = await client.post(url, json={**request_body(1), "shoe_size": 42})
        good = await client.post(url, json=request_body(2))
    assert bad_channel.status_code == 422
    assert bad_channel.json()["detail"][0]["loc"] == ["body", "channel"]
    assert future.status_code == 422
    assert future.json()["detail"][0]["loc"] == ["body", "received_on"]
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "shoe_size"]
    assert good.status_code == 201
    await wait_for_count(stack, b, 1, timeout=10)
    await asyncio.sleep(0.5)
    assert await received_count(stack, b) == 1


async def test_a_retried_registration_is_not_counted_twice(stack: LocalStack) -> None:
    b = bureau()
    url = f"{stack.url('requests')}/bureaus/{b}/requests"
    body = {**request_body(1), "request_id": "same-id"}
    other = bureau()
    async with client_as("clerk", b) as client, client_as("clerk", other) as other_clerk:
        first = await client.post(url, json=body)
        second = await client.post(url, json=body)
        changed = await client.post(url, json={**body, "description": "另一事项"})
        other_bureau = await other_clerk.post(
            f"{stack.url('requests')}/bureaus/{other}/requests", json=body
        )
    assert first.status_code == 201
    assert second.status_code == 200, "a retry answers with the original registration"
    assert second.json() == first.json()
    assert changed.status_code == 422
    assert changed.json()["detail"][0]["loc"] == ["body", "request_id"]
    assert other_bureau.status_code == 201, "request ids are per bureau"
    await wait_for_count(stack, b, 1, timeout=10)
    await asyncio.sleep(0.5)
    assert await received_count(stack, b) == 1


async def test_malformed_message_goes_to_the_dlq_and_good_counts_stay_exact(
    stack: LocalStack,
) -> None:
    b = bureau()
    topic = events_topic("requests")
    marker = f"poison-{uuid.uuid4().hex}".encode()
    raw = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await raw.start()
    try:
        await raw.send_and_wait(topic, b"{" + marker, key=b.encode())
        await raw.send_and_wait(
            topic,
            json.dumps({"event_type": "requests.RequestReceived", "m": marker.decode()}).encode(),
            key=b.encode(),
        )
    finally:
        await raw.stop()
    assert await post_requests(stack, b, 25) == 25
    await wait_for_count(stack, b, 25, timeout=20)

    consumer = AIOKafkaConsumer(
        dlq_topic(topic), bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[dict[str, str]] = []
    try:
        async with asyncio.timeout(20):
            while len(found) < 2:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    found += [
                        headers
                        for r in records
                        if r.value is not None and marker in r.value
                        # every consumer of the topic dead-letters it; look at reporting's
                        for headers in [{k: v.decode() for k, v in r.headers}]
                        if headers["dlq_consumer"] == "reporting.requests_received"
                    ]
    finally:
        await consumer.stop()
    reasons = sorted(h["dlq_reason"] for h in found)
    assert reasons[0].startswith("bad envelope") or reasons[0].startswith("not JSON")
    assert any(r.startswith("not JSON") for r in reasons)
    assert all(h["dlq_consumer"] == "reporting.requests_received" for h in found)
    await asyncio.sleep(0.5)
    assert await received_count(stack, b) == 25
