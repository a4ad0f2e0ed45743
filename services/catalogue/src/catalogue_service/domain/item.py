"""A catalogue item (公开目录条目): drafted, reviewed (保密审查), published with an index number,
revised, repealed (废止) or withdrawn. Folds its past events, decides commands into new events.

先审查后公开: only a version that review approved can be published, and every revision is a
new version that goes through review again. The index number is given once, at the first
publication; a revised version is published under the same number.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from gongkai_contracts import Event
from gongkai_contracts.events import (
    ItemApproved,
    ItemDrafted,
    ItemPublished,
    ItemRejected,
    ItemRepealed,
    ItemRevised,
    ItemSubmittedForReview,
    ItemValidity,
    ItemWithdrawn,
    PublicationChannel,
)
from gongkai_contracts.vocabulary import DisclosureAttribute, ItemCategory
from gongkai_platform.calendar import WorkingCalendar
from gongkai_platform.errors import DomainError, TransitionError

# 条例 第二十六条: 自该政府信息形成或者变更之日起20个工作日内及时公开.
TIMELY_WORKING_DAYS = 20

ATTRIBUTE_LABELS: dict[DisclosureAttribute, str] = {
    DisclosureAttribute.PROACTIVE: "主动公开",
    DisclosureAttribute.ON_REQUEST: "依申请公开",
    DisclosureAttribute.WITHHELD: "不予公开",
}

VALIDITY_LABELS: dict[str, str] = {"valid": "有效", "expired": "失效", "repealed": "废止"}

CHANNEL_LABELS: dict[str, str] = {
    "government_website": "政府网站",
    "government_gazette": "政府公报",
    "other_online_media": "其他互联网政务媒体",
    "press_conference": "新闻发布会",
    "newspaper": "报刊",
    "radio": "广播",
    "television": "电视",
}


class ItemState(StrEnum):
    """Where the item's current version stands."""

    DRAFT = "draft"  # being written, or rejected by review (revise, then submit again)
    IN_REVIEW = "in_review"  # submitted; review has not decided
    APPROVED = "approved"  # review approved this version: it can be published
    PUBLISHED = "published"  # the current version is in the public catalogue
    REPEALED = "repealed"  # 废止: still listed, as 废止
    WITHDRAWN = "withdrawn"  # published in error and taken out of the catalogue


STATE_LABELS: dict[ItemState, str] = {
    ItemState.DRAFT: "草稿",
    ItemState.IN_REVIEW: "保密审查中",
    ItemState.APPROVED: "审查通过，待发布",
    ItemState.PUBLISHED: "已发布",
    ItemState.REPEALED: "已废止",
    ItemState.WITHDRAWN: "已撤回",
}

ENDED = {ItemState.REPEALED, ItemState.WITHDRAWN}


@dataclass(frozen=True)
class Entry:
    """The catalogue fields of one version (条例 第十二条: 索引、名称、内容概述、生成日期; the
    rest as real catalogues show them, disclosure-rules §6.2)."""

    title: str  # 名称
    summary: str  # 内容概述
    formed_on: date  # 生成日期 (成文日期)
    issuing_body: str  # 发布机构
    attribute: DisclosureAttribute  # 公开属性
    category: ItemCategory
    document_number: str | None = None  # 文号
    topic: str | None = None  # 主题分类
    form_category: str | None = None  # 组配分类
    scope: str | None = None  # 公开范围
    validity: ItemValidity = "valid"  # 有效性
    fee_amount_yuan: Decimal | None = None  # 行政事业性收费 only

    def checked(self, today: date) -> Entry:
        """The entry as it will be recorded (trimmed), or DomainError naming the field."""
        title = self.title.strip()
        if not title:
            raise DomainError("title", "an item needs a title (名称)")
        issuing_body = self.issuing_body.strip()
        if not issuing_body:
            raise DomainError("issuing_body", "name the issuing body (发布机构)")
        if self.formed_on > today:
            raise DomainError("formed_on", f"{self.formed_on} is in the future")
        if self.validity == "repealed":
            raise DomainError(
                "validity", "废止 is recorded by repealing the published item, with its date"
            )
        fee = self.fee_amount_yuan
        if self.category is ItemCategory.ADMINISTRATIVE_FEE:
            if fee is None:
                raise DomainError(
                    "fee_amount_yuan",
                    "a 行政事业性收费 item needs its amount in 元 (table 二 本年收费金额)",
                )
            exponent = fee.as_tuple().exponent
            if fee < 0 or not isinstance(exponent, int) or exponent < -2:
                raise DomainError("fee_amount_yuan", "an amount in 元 with at most 2 decimals")
        elif fee is not None:
            raise DomainError("fee_amount_yuan", "only a 行政事业性收费 item has a fee amount")
        return replace(
            self,
            title=title,
            summary=self.summary.strip(),
            issuing_body=issuing_body,
            document_number=_blank_to_none(self.document_number),
            topic=_blank_to_none(self.topic),
            form_category=_blank_to_none(self.form_category),
            scope=_blank_to_none(self.scope),
        )

    def fields(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def of(event: ItemDrafted | ItemRevised) -> Entry:
        return Entry(
            title=event.title,
            summary=event.summary,
            formed_on=event.formed_on,
            issuing_body=event.issuing_body,
            attribute=event.attribute,
            category=event.category,
            document_number=event.document_number,
            topic=event.topic,
            form_category=event.form_category,
            scope=event.scope,
            validity=event.validity,
            fee_amount_yuan=event.fee_amount_yuan,
        )


@dataclass(frozen=True)
class DraftItem:
    """Command: draft a catalogue item."""

    bureau_id: str
    item_id: str
    entry: Entry


@dataclass(frozen=True)
class Publication:
    """What the public catalogue shows: the last published version."""

    version: int
    index_number: str
    published_on: date
    first_published_on: date
    channels: tuple[PublicationChannel, ...]
    due_on: date
    late: bool
    entry: Entry


@dataclass(frozen=True)
class Item:
    """The state of one item, folded from its events."""

    item_id: str
    version: int
    entry: Entry
    state: ItemState = ItemState.DRAFT
    changed_on: date | None = None  # 变更日期 of the current version, when it is a revision
    submitted_version: int | None = None  # the last version sent to review
    approved_version: int | None = None
    review_case_id: str | None = None  # the case of the last review decision
    rejection_reasons: str | None = None
    published: Publication | None = None
    repealed_on: date | None = None
    withdrawn_on: date | None = None
    withdrawal_reason: str | None = None

    @staticmethod
    def fold(events: Iterable[Event]) -> Item | None:
        state: Item | None = None
        for event in events:
            state = apply(state, event)
        return state

    @property
    def public(self) -> bool:
        """Listed in the public catalogue (a repealed item stays listed, as 废止)."""
        return self.published is not None and self.withdrawn_on is None

    @property
    def needs_index_number(self) -> bool:
        """True until the first publication: revisions keep the number."""
        return self.published is None

    def due_from(self) -> date:
        """条例 第二十六条 counts from forming, or, for a change to published information,
        from the change (变更)."""
        if self.published is not None and self.changed_on is not None:
            return self.changed_on
        return self.entry.formed_on

    def publication_due(self, calendar: WorkingCalendar) -> date:
        due, _provisional = calendar.working_day_after(self.due_from(), TIMELY_WORKING_DAYS)
        return due

    # ------------------------------------------------------------------ commands

    def revise(self, entry: Entry, changed_on: date, today: date) -> list[Event]:
        """A new version with the whole entry as it now reads; it goes to review again."""
        self._active("be revised")
        if self.state is ItemState.IN_REVIEW:
            raise TransitionError(
                f"item {self.item_id} version {self.version} is in review: wait for the "
                "decision, then revise"
            )
        entry = entry.checked(today)
        if changed_on > today:
            raise DomainError("changed_on", f"{changed_on} is in the future")
        if changed_on < entry.formed_on:
            raise DomainError("changed_on", f"the information was formed on {entry.formed_on}")
        return [
            ItemRevised(
                item_id=self.item_id,
                item_version=self.version + 1,
                changed_on=changed_on,
                **entry.fields(),
            )
        ]

    def submit(self) -> list[Event]:
        """Send the current version to confidentiality review (保密审查)."""
        self._active("be submitted")
        if self.state is not ItemState.DRAFT:
            raise TransitionError(
                f"item {self.item_id} version {self.version} is {self.state}: only a draft "
                "is submitted (revise a published item first)"
            )
        if self.submitted_version == self.version:
            # The review service keeps one case per version: a new look needs a new version.
            raise TransitionError(
                f"item {self.item_id} version {self.version} was rejected in review: revise it "
                "and submit the new version"
            )
        if self.entry.attribute is DisclosureAttribute.WITHHELD:
            raise DomainError("attribute", "不予公开 information is never published")
        return [ItemSubmittedForReview(item_id=self.item_id, item_version=self.version)]

    def record_approval(self, version: int, case_id: str) -> list[Event]:
        """review.ReviewApproved for this item: accepted only for the version in review."""
        if self.approved_version == version and self.review_case_id == case_id:
            return []  # recorded already
        self._awaiting(version, "an approval")
        return [ItemApproved(item_id=self.item_id, item_version=version, review_case_id=case_id)]

    def record_rejection(self, version: int, case_id: str, reasons: str) -> list[Event]:
        if self.rejection_reasons is not None and self.review_case_id == case_id:
            return []  # recorded already
        self._awaiting(version, "a rejection")
        return [
            ItemRejected(
                item_id=self.item_id,
                item_version=version,
                review_case_id=case_id,
                reasons=reasons,
            )
        ]

    def check_publishable(self, published_on: date, today: date) -> None:
        """Raise unless the current version can be published on that day: called before an
        index number is taken."""
        if self.state is not ItemState.APPROVED or self.approved_version != self.version:
            raise TransitionError(
                f"item {self.item_id} version {self.version} is {self.state}: only a version "
                "approved by review can be published"
            )
        if published_on > today:
            raise DomainError("published_on", f"{published_on} is in the future")
        if published_on < self.entry.formed_on:
            raise DomainError(
                "published_on", f"before the information was formed ({self.entry.formed_on})"
            )
        if self.published is not None and published_on < self.published.published_on:
            raise DomainError(
                "published_on",
                f"version {self.published.version} was published on "
                f"{self.published.published_on}; a revision cannot come before it",
            )

    def publish(
        self,
        published_on: date,
        channels: Sequence[PublicationChannel],
        index_number: str | None,
        calendar: WorkingCalendar,
        today: date,
    ) -> list[Event]:
        """`index_number`: the next number of the bureau's year for a first publication, None
        for a revision (it keeps its number)."""
        self.check_publishable(published_on, today)
        if not channels:
            raise DomainError("channels", "name at least one channel (条例 第二十三条)")
        if self.needs_index_number != (index_number is not None):
            raise ValueError("a first publication takes a new index number, a revision none")
        number = index_number if self.published is None else self.published.index_number
        assert number is not None
        due = self.publication_due(calendar)
        return [
            ItemPublished(
                item_id=self.item_id,
                item_version=self.version,
                index_number=number,
                category=self.entry.category,
                published_on=published_on,
                channels=tuple(dict.fromkeys(channels)),
                first_publication=self.published is None,
                due_on=due,
                late=published_on > due,
                fee_amount_yuan=self.entry.fee_amount_yuan,
            )
        ]

    def repeal(self, repealed_on: date, today: date) -> list[Event]:
        """废止: the item stays listed as 废止 and leaves 现行有效."""
        published = self._published("repeal")
        if self.state is ItemState.REPEALED:
            raise TransitionError(f"item {self.item_id} was repealed on {self.repealed_on}")
        self._dated("repealed_on", repealed_on, published, today)
        return [
            ItemRepealed(
                item_id=self.item_id, repealed_on=repealed_on, category=published.entry.category
            )
        ]

    def withdraw(self, reason: str, withdrawn_on: date, today: date) -> list[Event]:
        """Published in error: out of the public catalogue; the index number is not reused."""
        published = self._published("withdraw")
        if not reason.strip():
            raise DomainError("reason", "say why the item is withdrawn")
        self._dated("withdrawn_on", withdrawn_on, published, today)
        return [
            ItemWithdrawn(
                item_id=self.item_id,
                reason=reason.strip(),
                withdrawn_on=withdrawn_on,
                category=published.entry.category,
            )
        ]

    # ------------------------------------------------------------------ rules

    def _active(self, what: str) -> None:
        if self.state in ENDED:
            raise TransitionError(f"item {self.item_id} is {self.state}: it cannot {what}")

    def _awaiting(self, version: int, what: str) -> None:
        if self.state is not ItemState.IN_REVIEW or self.submitted_version != version:
            raise TransitionError(
                f"{what} for item {self.item_id} version {version}, which is not in review "
                f"(current version {self.version} is {self.state}; last submitted: "
                f"{self.submitted_version or 'none'})"
            )

    def _published(self, what: str) -> Publication:
        if self.state is ItemState.WITHDRAWN:
            raise TransitionError(f"item {self.item_id} was withdrawn on {self.withdrawn_on}")
        if self.published is None:
            raise TransitionError(f"item {self.item_id} was never published: nothing to {what}")
        return self.published

    def _dated(self, field: str, day: date, published: Publication, today: date) -> None:
        if day > today:
            raise DomainError(field, f"{day} is in the future")
        if day < published.first_published_on:
            raise DomainError(
                field, f"the item was first published on {published.first_published_on}"
            )


def draft(command: DraftItem, history: Sequence[Event], today: date) -> list[Event]:
    """ItemDrafted, or nothing when the same draft was recorded already (a retried POST)."""
    entry = command.entry.checked(today)
    event = ItemDrafted(item_id=command.item_id, **entry.fields())
    if history:
        if history[0] == event:
            return []
        raise DomainError("item_id", f"item {command.item_id} exists already")
    return [event]


def apply(state: Item | None, event: Event) -> Item:
    """Fold one event into the item; the only place that knows what each event means."""
    if isinstance(event, ItemDrafted):
        return Item(item_id=event.item_id, version=1, entry=Entry.of(event))
    if state is None:
        raise ValueError(f"{type(event).__name__} before ItemDrafted")
    match event:
        case ItemRevised():
            return replace(
                state,
                version=event.item_version,
                entry=Entry.of(event),
                changed_on=event.changed_on,
                state=ItemState.DRAFT,
                rejection_reasons=None,
            )
        case ItemSubmittedForReview():
            return replace(state, state=ItemState.IN_REVIEW, submitted_version=event.item_version)
        case ItemApproved():
            return replace(
                state,
                state=ItemState.APPROVED,
                approved_version=event.item_version,
                review_case_id=event.review_case_id,
            )
        case ItemRejected():
            return replace(
                state,
                state=ItemState.DRAFT,
                review_case_id=event.review_case_id,
                rejection_reasons=event.reasons,
            )
        case ItemPublished():
            first = state.published.first_published_on if state.published else event.published_on
            return replace(
                state,
                state=ItemState.PUBLISHED,
                published=Publication(
                    version=event.item_version,
                    index_number=event.index_number,
                    published_on=event.published_on,
                    first_published_on=first,
                    channels=event.channels,
                    due_on=event.due_on,
                    late=event.late,
                    entry=state.entry,
                ),
            )
        case ItemRepealed():
            return replace(state, state=ItemState.REPEALED, repealed_on=event.repealed_on)
        case ItemWithdrawn():
            return replace(
                state,
                state=ItemState.WITHDRAWN,
                withdrawn_on=event.withdrawn_on,
                withdrawal_reason=event.reason,
            )
    raise ValueError(f"an item does not know {type(event).__name__}")


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None
