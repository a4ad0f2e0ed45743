"""`gongkai replay` against the running platform: the digests of the annual reports rebuilt
from offset 0 equal those of the live projections, and reporting answers and keeps counting
after the switch."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from gongkai_platform.devstack.stack import LocalStack
from reporting_service.annual_report import layout as L
from reporting_service.annual_report.builder import build_annual_report
from reporting_service.annual_report.facts import Facts
from reporting_service.annual_report.tabular import report_json
from reporting_service.replay import replay, report_digest
from reporting_service.sign_off import annual_figures, figures_digest
from tests.e2e.helpers import client_as, request_body
from tests.support import unique


@pytest.mark.parametrize("year", [2011, 2020, 2026])
def test_the_json_digest_is_the_sign_off_figures_digest(year: int) -> None:
    report = build_annual_report("b-1", year, Facts())
    assert report_digest(report_json(report)) == figures_digest(annual_figures(report))


async def register_requests(stack: LocalStack, bureau: str, count: int, prefix: str = "") -> None:
    """The bureau's clerk registers `count` requests."""
    async with client_as("clerk", bureau, timeout=30) as clerk:
        for i in range(count):
            answer = await clerk.post(
                f"{stack.url('requests')}/bureaus/{bureau}/requests",
                json={**request_body(i), "request_id": f"{bureau}-{prefix}{i}"},
            )
            assert answer.status_code == 201, answer.text


async def wait_for_received(
    client: httpx.AsyncClient, stack: LocalStack, bureau: str, expected: int
) -> None:
    """Until reporting's monthly count of requests received shows `expected` for 2026."""
    shown: Any = None
    for _ in range(600):
        answer = await client.get(
            f"{stack.url('reporting')}/bureaus/{bureau}/requests-received", params={"year": 2026}
        )
        assert answer.status_code == 200, answer.text
        shown = answer.json()["total"]
        if shown == expected:
            return
        assert shown < expected, f"count {shown} passed {expected}: double counted"
        await asyncio.sleep(0.05)
    raise AssertionError(f"reporting shows {shown} requests received for {bureau}")


async def live_report(client: httpx.AsyncClient, stack: LocalStack, bureau: str) -> Any:
    answer = await client.get(
        f"{stack.url('reporting')}/bureaus/{bureau}/annual-reports/2026", params={"format": "json"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def new_and_closed(doc: Any) -> tuple[int, int]:
    table = doc["tables"]["三"]
    return table[L.NEW_LABEL][L.TOTAL], table[L.RESULTS_LABEL][L.TOTAL_LABEL][L.TOTAL]


async def wait_for_report(
    client: httpx.AsyncClient, stack: LocalStack, bureau: str, new: int, closed: int
) -> Any:
    shown: Any = "nothing"
    for _ in range(300):
        # The fact projection is its own consumer: it may not have seen the bureau yet.
        answer = await client.get(
            f"{stack.url('reporting')}/bureaus/{bureau}/annual-reports/2026",
            params={"format": "json"},
        )
        if answer.status_code == 200:
            doc = answer.json()
            shown = new_and_closed(doc)
            if shown == (new, closed):
                return doc
        else:
            assert answer.status_code == 404, answer.text
        await asyncio.sleep(0.1)
    raise AssertionError(f"reporting shows {shown} for {bureau}")


@pytest.mark.e2e
async def test_replay_gives_the_live_digests_and_switches_without_a_pause(
    stack: LocalStack, kafka_bootstrap: str
) -> None:
    bureaus = [unique("replay"), unique("replay")]
    # An auditor reads both bureaus' reports; each bureau's clerk registers its requests.
    async with client_as("auditor", timeout=30) as client:
        for n, bureau in enumerate(bureaus):
            await register_requests(stack, bureau, 9 + n)
            async with client_as("clerk", bureau, timeout=30) as clerk:
                withdrawn = await clerk.post(
                    f"{stack.url('requests')}/bureaus/{bureau}/requests/{bureau}-0/withdrawal",
                    json={"on": date(2026, 4, 20).isoformat()},
                )
            assert withdrawn.status_code == 200, withdrawn.text
            await wait_for_received(client, stack, bureau, 9 + n)
        live = {
            (b, 2026): report_digest(await wait_for_report(client, stack, b, 9 + n, 1))
            for n, b in enumerate(bureaus)
        }
        assert len(set(live.values())) == 2

        # Into a fresh schema, not switched: the same digests, the live tables untouched.
        database_url = stack.database_url("reporting")
        rebuilt = await replay(database_url, kafka_bootstrap, switch=False)
        digests = {(d.bureau_id, d.year): d.digest for d in rebuilt.digests}
        assert {k: digests.get(k) for k in live} == live
        assert rebuilt.events >= 2 * (9 + 10 + 2) and not rebuilt.switched

        # The command, with the switch, while the service runs.
        command = [str(Path(sys.executable).parent / "gongkai"), "replay"]
        command += ["--database-url", database_url, "--bootstrap", kafka_bootstrap]
        done = await asyncio.to_thread(
            subprocess.run,
            command,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "COLUMNS": "200"},
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        printed = {
            (b, int(y)): d
            for line in done.stdout.splitlines()
            if line.startswith("digest ")
            for _, b, y, d in [line.split()]
        }
        assert {k: printed.get(k) for k in live} == live
        assert "switched; the previous tables are kept in schema retired_" in done.stdout

        # Reporting answers from the switched tables (its pool's cached statements included)
        # and its consumers go on writing into them.
        for bureau in bureaus:
            assert report_digest(await live_report(client, stack, bureau)) == live[(bureau, 2026)]
        await register_requests(stack, bureaus[0], 3, prefix="after-")
        await wait_for_received(client, stack, bureaus[0], 12)
        await wait_for_report(client, stack, bureaus[0], 12, 1)

    conn = await asyncpg.connect(database_url)
    try:
        schemas = {
            r["nspname"]
            for r in await conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname ~ '^re'")
        }
    finally:
        await conn.close()
    assert any(s.startswith("retired_") for s in schemas)
    assert not any(s.startswith("replay_") for s in schemas), "the rebuilt schema is cleaned up"
