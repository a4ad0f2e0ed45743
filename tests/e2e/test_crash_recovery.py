"""kill -9 the reporting process, or the relay, in the middle of 10,000 registrations:
the count ends at exactly 10,000."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from gongkai_platform.devstack.stack import LocalStack
from tests.e2e.helpers import post_requests, wait_for_count

pytestmark = pytest.mark.e2e

TOTAL = 10_000


@pytest.mark.parametrize("victim", ["reporting-api", "requests-relay"])
async def test_kill_9_in_the_middle_of_ten_thousand_registrations(
    stack: LocalStack, victim: str
) -> None:
    bureau = f"b-{uuid.uuid4().hex[:10]}"
    killed = asyncio.Event()

    def maybe_kill(acknowledged: int) -> None:
        if acknowledged >= TOTAL // 3 and not killed.is_set():
            killed.set()

    async def killer() -> None:
        await killed.wait()
        stack.kill(victim)
        print(f"\nkill -9 {victim} after {TOTAL // 3}+ acknowledged registrations")
        await asyncio.sleep(1.0)  # registrations go on while it is down
        await asyncio.to_thread(stack.start, victim)
        print(f"{victim} restarted")

    killing = asyncio.create_task(killer())
    acknowledged = await post_requests(stack, bureau, TOTAL, on_acknowledged=maybe_kill)
    await killing
    assert acknowledged == TOTAL
    assert stack.processes[victim].running
    waited = await wait_for_count(stack, bureau, TOTAL, timeout=120)
    await asyncio.sleep(2)  # a late duplicate would show up now
    from tests.e2e.helpers import received_count

    assert await received_count(stack, bureau) == TOTAL
    print(f"count exactly {TOTAL} {waited:.1f}s after the last acknowledgement")
