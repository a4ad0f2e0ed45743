"""When review approves or rejects a catalogue item version, record it on the item: only an
approved version can be published (the confidentiality gate, 先审查后公开).

The runner verifies the review service's hash chain per bureau before anything reaches here;
this reaction also refuses a decision about an item the bureau does not have, or about a version
that is not the one in review (never submitted, superseded, or decided already)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg

from gongkai_contracts.events import ReviewApproved, ReviewRejected
from gongkai_contracts.vocabulary import ReviewSubject
from gongkai_platform.consumer import Delivered
from gongkai_platform.errors import DomainError, TransitionError

from ..adapters.repository import CatalogueRepository
from ..handlers import ItemDecision, handle_item

log = logging.getLogger(__name__)


class WhenReviewDecidedRecordItemDecision:
    name = "catalogue.review_decisions"

    def __init__(self, repo: CatalogueRepository) -> None:
        self._repo = repo
        self.refused = 0

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        decisions = [
            (d, event)
            for d in batch
            if isinstance(event := d.envelope.payload(), ReviewApproved | ReviewRejected)
            and event.subject is ReviewSubject.ITEM
        ]
        if not decisions:
            return
        # Appends are serialised by this lock (ADR 001); holding it before loading an item means
        # no HTTP command can move the item between this decision and its append.
        await self._repo.lock_appends(conn)
        for delivered, event in decisions:
            envelope = delivered.envelope
            if not await self._repo.item_exists(conn, envelope.bureau_id, event.subject_id):
                self._refuse(delivered, event, f"bureau has no item {event.subject_id}")
                continue
            try:
                await handle_item(
                    self._repo,
                    envelope.bureau_id,
                    event.subject_id,
                    envelope.actor,
                    envelope.occurred_at,
                    _decision(event),
                    conn=conn,
                    causation_id=envelope.event_id,
                )
            except (TransitionError, DomainError) as exc:
                # Raised by the item before anything is written: the transaction is intact.
                self._refuse(delivered, event, str(exc))

    def _refuse(
        self, delivered: Delivered, event: ReviewApproved | ReviewRejected, reason: str
    ) -> None:
        self.refused += 1
        envelope = delivered.envelope
        log.warning(
            "%s %s (case %s, bureau %s, item %s version %d, %s[%d]@%d) refused: %s",
            envelope.event_type,
            envelope.event_id,
            event.case_id,
            envelope.bureau_id,
            event.subject_id,
            event.subject_version,
            delivered.topic,
            delivered.partition,
            delivered.offset,
            reason,
        )


def _decision(event: ReviewApproved | ReviewRejected) -> ItemDecision:
    if isinstance(event, ReviewApproved):
        return lambda item: item.record_approval(event.subject_version, event.case_id)
    return lambda item: item.record_rejection(event.subject_version, event.case_id, event.reasons)
