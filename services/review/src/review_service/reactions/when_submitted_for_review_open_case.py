"""When a reply is drafted or a catalogue item is submitted for review, open its review case:
one case per subject version, however often the submission is delivered (先审查后公开)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg

from gongkai_contracts.events import (
    ItemDrafted,
    ItemRevised,
    ItemSubmittedForReview,
    ReplyDrafted,
)
from gongkai_contracts.vocabulary import REPLY_OUTCOME_LABELS, ReviewSubject
from gongkai_platform.consumer import Delivered

from ..adapters.repository import ReviewRepository
from ..domain.case import Subject, SubjectDetails
from ..handlers import open_case

log = logging.getLogger(__name__)

RELEVANT = {e.event_type for e in (ItemDrafted, ItemRevised, ItemSubmittedForReview, ReplyDrafted)}


class WhenSubmittedForReviewOpenCase:
    name = "review.open_cases"

    def __init__(self, repo: ReviewRepository) -> None:
        self._repo = repo

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        if not any(d.envelope.event_type in RELEVANT for d in batch):
            return
        await self._repo.lock_appends(conn)
        for delivered in batch:
            envelope = delivered.envelope
            event = envelope.payload()
            match event:
                case ItemDrafted():
                    details = SubjectDetails(event.title, event.document_number, event.summary)
                    await self._repo.remember_item(conn, envelope.bureau_id, event.item_id, details)
                    continue
                case ItemRevised():
                    details = SubjectDetails(event.title, None, event.summary)
                    await self._repo.remember_item(conn, envelope.bureau_id, event.item_id, details)
                    continue
                case ReplyDrafted() if event.reviewed_elsewhere:
                    continue  # a historical reply from a ledger, reviewed before Gongkai
                case ReplyDrafted():
                    subject = Subject(ReviewSubject.REPLY, event.draft_id, 1)
                    details = reply_details(event)
                case ItemSubmittedForReview():
                    subject = Subject(ReviewSubject.ITEM, event.item_id, event.item_version)
                    known = await self._repo.item(conn, envelope.bureau_id, event.item_id)
                    details = known or SubjectDetails(f"公开目录条目 {event.item_id}")
                case _:
                    continue
            opened = await open_case(self._repo, conn, envelope, subject, details)
            if opened is None:
                log.info(
                    "%s %s of bureau %s already has its review case; %s %s opens nothing",
                    subject.kind,
                    subject.subject_id,
                    envelope.bureau_id,
                    envelope.event_type,
                    envelope.event_id,
                )


def reply_details(event: ReplyDrafted) -> SubjectDetails:
    summary = f"办理结果：{REPLY_OUTCOME_LABELS[event.outcome]}；依据：{event.legal_basis}"
    if event.summary:
        summary += f"；{event.summary}"
    return SubjectDetails(
        title=f"政府信息公开申请 {event.request_id} 的答复（草稿 {event.draft_id}）",
        summary=summary,
    )
