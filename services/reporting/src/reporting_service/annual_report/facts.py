"""Facts the reports are computed from: one per event, with its business date and the instant
it was recorded, so any report can be recomputed as of any instant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from gongkai_contracts.vocabulary import (
    ApplicantCategory,
    CaseResult,
    Channel,
    ItemCategory,
    ReplyOutcome,
)

from .layout import CaseBlock


class RequestFactKind(StrEnum):
    RECEIVED = "received"  # RequestReceived: business date = 收到申请之日
    CLOSED = "closed"  # ReplySent, CorrectionLapsed, FeeLapsed, RequestWithdrawn
    FEE_NOTICED = "fee_noticed"
    FEE_PAID = "fee_paid"


@dataclass(frozen=True)
class RequestFact:
    event_id: str
    request_id: str
    kind: RequestFactKind
    on: date  # business date: received, replied, lapsed, withdrawn, noticed, paid
    recorded_at: datetime  # envelope.recorded_at
    applicant_category: ApplicantCategory | None = None
    channel: Channel | None = None
    outcome: ReplyOutcome | None = None  # the table 三 row of a closing
    on_time: bool | None = None  # ReplySent only
    amount_yuan: Decimal | None = None  # fees


class CaseFactKind(StrEnum):
    FILED = "filed"
    DECIDED = "decided"


@dataclass(frozen=True)
class CaseFact:
    event_id: str
    case_id: str
    kind: CaseFactKind
    on: date  # filed_on or decided_on
    recorded_at: datetime
    block: CaseBlock | None = None  # known from the filing
    request_id: str | None = None
    result: CaseResult | None = None
    decision: str | None = None


class ItemFactKind(StrEnum):
    DRAFTED = "drafted"  # business date = 生成日期 (formed_on)
    REVISED = "revised"  # business date = formed_on of the new version
    PUBLISHED = "published"
    REPEALED = "repealed"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class ItemFact:
    event_id: str
    item_id: str
    kind: ItemFactKind
    category: ItemCategory
    on: date
    recorded_at: datetime
    item_version: int | None = None
    first_publication: bool | None = None
    fee_amount_yuan: Decimal | None = None


@dataclass(frozen=True)
class Facts:
    """Everything known of one bureau."""

    requests: Sequence[RequestFact] = ()
    cases: Sequence[CaseFact] = ()
    items: Sequence[ItemFact] = ()
    bureau_names: Sequence[tuple[datetime, str]] = ()  # (recorded_at, name), any order

    def as_of(self, instant: datetime | None) -> Facts:
        """What the log said at `instant`: the facts recorded up to it."""
        if instant is None:
            return self
        return Facts(
            requests=[f for f in self.requests if f.recorded_at <= instant],
            cases=[f for f in self.cases if f.recorded_at <= instant],
            items=[f for f in self.items if f.recorded_at <= instant],
            bureau_names=[n for n in self.bureau_names if n[0] <= instant],
        )

    def bureau_name(self) -> str | None:
        return max(self.bureau_names)[1] if self.bureau_names else None


@dataclass(frozen=True)
class Narrative:
    """What the bureau writes itself: sections 一, 五 and 六 (before 2019: 概述, 问题及改进
    and 其他需要报告的事项)."""

    overview: str = ""
    problems_and_improvements: str = ""
    other_matters: str = ""
    recorded_at: datetime | None = field(default=None, compare=False)
