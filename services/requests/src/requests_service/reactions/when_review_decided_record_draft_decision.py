"""When review approves or rejects a reply draft, record it on the request: only an approved
draft can be sent (the confidentiality gate)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg

from gongkai_contracts.events import ReviewApproved, ReviewRejected
from gongkai_contracts.vocabulary import ReviewSubject
from gongkai_platform.consumer import Delivered

from ..adapters.repository import RequestRepository
from ..handlers import Decision, handle

log = logging.getLogger(__name__)


class WhenReviewDecidedRecordDraftDecision:
    name = "requests.review_decisions"

    def __init__(self, repo: RequestRepository) -> None:
        self._repo = repo

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        for delivered in batch:
            event = delivered.envelope.payload()
            if not isinstance(event, ReviewApproved | ReviewRejected):
                continue
            if event.subject is not ReviewSubject.REPLY:
                continue
            owner = await self._repo.draft_owner(event.subject_id, conn)
            envelope = delivered.envelope
            if owner is None or owner[0] != envelope.bureau_id:
                # A decision for a draft this bureau never wrote is refused, and said so.
                log.warning(
                    "review decision %s of bureau %s names unknown draft %s: ignored",
                    envelope.event_id,
                    envelope.bureau_id,
                    event.subject_id,
                )
                continue
            bureau_id, request_id = owner
            await handle(
                self._repo,
                bureau_id,
                request_id,
                envelope.actor,
                envelope.occurred_at.date(),
                _decision(event),
                conn=conn,
                causation_id=envelope.event_id,
            )


def _decision(event: ReviewApproved | ReviewRejected) -> Decision:
    if isinstance(event, ReviewApproved):
        return lambda state, _: state.approve_draft(event.subject_id, event.case_id)
    return lambda state, _: state.reject_draft(event.subject_id, event.case_id, event.reasons)
