"""Requests received per bureau and month, folded per batch before one upsert."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import asyncpg

from gongkai_contracts.events import RequestReceived
from gongkai_platform.consumer import Delivered


class RequestsReceivedProjection:
    name = "reporting.requests_received"

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        counts: Counter[tuple[str, int, int]] = Counter()
        for delivered in batch:
            event = delivered.envelope.payload()
            if isinstance(event, RequestReceived):
                day = event.received_on
                counts[(delivered.envelope.bureau_id, day.year, day.month)] += 1
        if not counts:
            return
        keys = list(counts)
        await conn.execute(
            """INSERT INTO requests_received_monthly (bureau_id, year, month, received)
               SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::int[])
               ON CONFLICT (bureau_id, year, month)
               DO UPDATE SET received = requests_received_monthly.received + EXCLUDED.received""",
            [k[0] for k in keys],
            [k[1] for k in keys],
            [k[2] for k in keys],
            [counts[k] for k in keys],
        )
