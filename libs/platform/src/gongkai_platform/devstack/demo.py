"""Demo data loaded through the HTTP APIs, as a clerk would enter it."""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import date, timedelta

import httpx

from gongkai_contracts.vocabulary import ApplicantCategory, Channel

BUREAUS: list[dict[str, str | None]] = [
    {
        "bureau_id": "cz-gov",
        "name": "常州市人民政府办公室",
        "organisation_code": "014400001",
        "region": "江苏省常州市",
        "parent_id": None,
    },
    {
        "bureau_id": "cz-hrss",
        "name": "常州市人力资源和社会保障局",
        "organisation_code": "014416330",
        "region": "江苏省常州市",
        "parent_id": "cz-gov",
    },
    {
        "bureau_id": "cz-finance",
        "name": "常州市财政局",
        "organisation_code": "014416322",
        "region": "江苏省常州市",
        "parent_id": "cz-gov",
    },
]
ASKED_FOR = [
    "2025年度部门预算及“三公”经费决算",
    "某小区征收补偿安置方案",
    "社会保险基金年度收支情况",
    "本机关行政处罚决定书（2026）第12号",
    "人才引进补贴发放名单及标准",
]


def demo_requests(count: int, year: int, until: date, seed: int = 2011) -> list[dict[str, object]]:
    rng = random.Random(seed)
    start = date(year, 1, 1)
    span = (until - start).days
    requests: list[dict[str, object]] = []
    for _ in range(count):
        requests.append(
            {
                "bureau_id": rng.choice(BUREAUS[1:])["bureau_id"],
                "channel": rng.choice(list(Channel)).value,
                "applicant_category": rng.choices(
                    list(ApplicantCategory), weights=[8, 3, 1, 1, 1, 1]
                )[0].value,
                "received_on": (start + timedelta(days=rng.randint(0, span))).isoformat(),
                "description": rng.choice(ASKED_FOR),
            }
        )
    return requests


def load_demo(
    catalogue_url: str,
    requests_url: str,
    reporting_url: str,
    *,
    count: int = 120,
    today: date | None = None,
    timeout: float = 30,
) -> Counter[tuple[str, int]]:
    """Register the demo bureaus and requests; wait until reporting shows every one."""
    today = today or date.today()
    with httpx.Client(timeout=10) as http:
        for bureau in BUREAUS:
            answer = http.post(f"{catalogue_url}/bureaus", json=bureau)
            if answer.status_code not in (201, 422):  # 422: registered by an earlier demo run
                answer.raise_for_status()
        expected: Counter[tuple[str, int]] = Counter()
        before = _totals(http, reporting_url, today.year)
        for body in demo_requests(count, today.year, today):
            bureau_id = body.pop("bureau_id")
            http.post(f"{requests_url}/bureaus/{bureau_id}/requests", json=body).raise_for_status()
            expected[(str(bureau_id), date.fromisoformat(str(body["received_on"])).month)] += 1
        deadline = time.monotonic() + timeout
        want = {
            b: before.get(b, 0) + sum(n for (k, _), n in expected.items() if k == b)
            for b in {k for k, _ in expected}
        }
        while time.monotonic() < deadline:
            totals = _totals(http, reporting_url, today.year)
            if all(totals.get(b, 0) >= n for b, n in want.items()):
                return expected
            time.sleep(0.2)
    raise TimeoutError(f"reporting did not show the demo requests within {timeout:.0f}s")


def _totals(http: httpx.Client, reporting_url: str, year: int) -> dict[str, int]:
    rows = http.get(f"{reporting_url}/requests-received").json()
    totals: Counter[str] = Counter()
    for row in rows:
        if row["year"] == year:
            totals[row["bureau_id"]] += row["received"]
    return dict(totals)
