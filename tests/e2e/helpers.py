"""Driving the running platform over HTTP, as clients would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date

import httpx

from gongkai_platform.devstack.stack import LocalStack


def request_body(i: int, on: date = date(2026, 3, 3)) -> dict[str, object]:
    return {
        "channel": ["in_person", "letter", "fax", "email", "online", "other"][i % 6],
        "applicant_category": "natural_person" if i % 3 else "commercial_enterprise",
        "received_on": on.isoformat(),
        "description": f"申请公开事项 {i}",
    }


async def post_requests(
    stack: LocalStack,
    bureau_id: str,
    count: int,
    *,
    concurrency: int = 16,
    on_acknowledged: Callable[[int], None] | None = None,
) -> int:
    """POST `count` registrations; each is retried until acknowledged (201). Returns count."""
    url = f"{stack.url('requests')}/bureaus/{bureau_id}/requests"
    acknowledged = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal acknowledged
        while not queue.empty():
            i = queue.get_nowait()
            body = {**request_body(i), "request_id": f"{bureau_id}-{i}"}
            response = await client.post(url, json=body)
            assert response.status_code == 201, response.text
            acknowledged += 1
            if on_acknowledged:
                on_acknowledged(acknowledged)

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return acknowledged


async def received_count(stack: LocalStack, bureau_id: str, year: int = 2026) -> int:
    async with httpx.AsyncClient(timeout=10) as client:
        try:
            answer = await client.get(
                f"{stack.url('reporting')}/bureaus/{bureau_id}/requests-received",
                params={"year": year},
            )
        except httpx.TransportError:
            return -1  # reporting is restarting
        return int(answer.json()["total"]) if answer.status_code == 200 else -1


async def wait_for_count(
    stack: LocalStack, bureau_id: str, expected: int, timeout: float = 90
) -> float:
    """Wait until reporting shows `expected`; returns the seconds it took."""
    started = time.monotonic()
    last = None
    while time.monotonic() - started < timeout:
        last = await received_count(stack, bureau_id)
        if last == expected:
            return time.monotonic() - started
        assert last is None or last <= expected, f"count {last} passed {expected}: double counted"
        await asyncio.sleep(0.02)
    raise AssertionError(f"reporting shows {last} for {bureau_id}, expected {expected}")
