"""Open and overdue requests per bureau for Prometheus, counted in the read model when
/metrics is scraped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import asyncpg
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric


class OpenRequestsMetrics:
    """gongkai_requests_open and gongkai_requests_overdue per bureau: not closed, and not
    closed with the due date passed (the same rule as GET …/requests?overdue=true).

    A scrape source of gongkai_platform.metrics: `refresh` counts, `collect` reports the
    last count, so a bureau whose requests are all closed shows 0 rather than vanishing."""

    def __init__(self, pool: asyncpg.Pool, today: Callable[[], date]) -> None:
        self._pool = pool
        self._today = today
        self._counts: dict[str, tuple[int, int]] = {}

    async def refresh(self) -> None:
        rows = await self._pool.fetch(
            """SELECT bureau_id, count(*) AS open,
                      count(*) FILTER (WHERE due_on < $1) AS overdue
               FROM request_summaries WHERE closed_on IS NULL GROUP BY bureau_id""",
            self._today(),
        )
        counts = {bureau: (0, 0) for bureau in self._counts}
        counts.update({r["bureau_id"]: (r["open"], r["overdue"]) for r in rows})
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        open_ = GaugeMetricFamily(
            "gongkai_requests_open", "Requests not yet closed, per bureau.", labels=["bureau"]
        )
        overdue = GaugeMetricFamily(
            "gongkai_requests_overdue",
            "Requests not yet closed whose due date has passed, per bureau.",
            labels=["bureau"],
        )
        for bureau, (opened, late) in sorted(self._counts.items()):
            open_.add_metric([bureau], opened)
            overdue.add_metric([bureau], late)
        yield open_
        yield overdue
