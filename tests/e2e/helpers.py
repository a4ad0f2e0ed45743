"""Driving the running platform over HTTP, as clients would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date

import httpx

from gongkai_platform.devstack.stack import LocalStack
from tests.support import STAGE_REVIEWERS, bearer


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

    async with client_as("clerk", bureau_id, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return acknowledged


async def received_count(stack: LocalStack, bureau_id: str, year: int = 2026) -> int:
    async with client_as("clerk", bureau_id) as client:
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


def client_as(
    role: str,
    bureau_id: str | None = None,
    user_id: str | None = None,
    *,
    timeout: float = 10,
) -> httpx.AsyncClient:
    """An HTTP client that calls as one user (bearer token from tests.support.bearer)."""
    # Idle connections expire before the server's 5 s keep-alive closes them under us.
    return httpx.AsyncClient(
        timeout=timeout,
        headers=bearer(role, bureau_id, user_id),
        limits=httpx.Limits(keepalive_expiry=2),
    )


async def assign_reviewers(stack: LocalStack, bureau_id: str) -> None:
    """The bureau head sets 初审 → 复审 → 终审 with one reviewer each (STAGE_REVIEWERS)."""
    stages = [{"name": stage, "reviewers": [user]} for stage, user in STAGE_REVIEWERS]
    async with client_as("bureau_head", bureau_id) as head:
        answer = await head.put(
            f"{stack.url('review')}/bureaus/{bureau_id}/review-stages", json={"stages": stages}
        )
        assert answer.status_code == 200, answer.text


async def open_case(
    stack: LocalStack, bureau_id: str, subject_id: str, timeout: float = 30
) -> dict[str, object]:
    """The open review case the review service opened for `subject_id` (waits for it)."""
    url = f"{stack.url('review')}/bureaus/{bureau_id}/reviews"
    started = time.monotonic()
    async with client_as("reviewer", bureau_id, STAGE_REVIEWERS[0][1]) as reviewer:
        while time.monotonic() - started < timeout:
            cases = (await reviewer.get(url, params={"state": "open"})).json()
            for case in cases:
                if case["subject_id"] == subject_id:
                    return dict(case)
            await asyncio.sleep(0.05)
    raise AssertionError(f"no open review case for {subject_id} in {bureau_id}")


async def review_all_stages(stack: LocalStack, bureau_id: str, subject_id: str) -> None:
    """Each assigned reviewer agrees at their stage (call assign_reviewers first)."""
    case = await open_case(stack, bureau_id, subject_id)
    url = f"{stack.url('review')}/bureaus/{bureau_id}/reviews/{case['case_id']}/stage-completions"
    for stage, user in STAGE_REVIEWERS:
        async with client_as("reviewer", bureau_id, user) as reviewer:
            answer = await reviewer.post(url, json={"stage": stage, "opinion": "同意公开"})
            assert answer.status_code == 200, answer.text
