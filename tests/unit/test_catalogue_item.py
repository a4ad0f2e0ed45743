"""A catalogue item's rules, given its past events, when a command, then new events or an error."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from catalogue_service.domain.item import DraftItem, Entry, Item, ItemState, draft
from gongkai_contracts import Event
from gongkai_contracts.events import (
    ItemApproved,
    ItemDrafted,
    ItemPublished,
    ItemRejected,
    ItemRepealed,
    ItemRevised,
    ItemSubmittedForReview,
    ItemWithdrawn,
)
from gongkai_contracts.vocabulary import DisclosureAttribute, ItemCategory
from gongkai_platform.calendar import WorkingCalendar
from gongkai_platform.errors import DomainError, TransitionError

TODAY = date(2026, 11, 27)
CALENDAR = WorkingCalendar()
NUMBER = "014416330/2024-00001"


def entry(**changes: object) -> Entry:
    base = Entry(
        title="关于调整本市城乡居民基本养老保险基础养老金标准的通知",
        summary="自2024年7月1日起，基础养老金每人每月提高20元。",
        formed_on=date(2024, 9, 20),
        issuing_body="常州市人力资源和社会保障局",
        attribute=DisclosureAttribute.PROACTIVE,
        category=ItemCategory.NORMATIVE_DOCUMENT,
        document_number="常人社发〔2024〕58号",
        scope="面向社会",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def drafted(**changes: object) -> ItemDrafted:
    [event] = draft(DraftItem("cz-hrss", "i-1", entry(**changes)), [], TODAY)
    assert isinstance(event, ItemDrafted)
    return event


def given(*events: Event) -> Item:
    item = Item.fold(events)
    assert item is not None
    return item


def submitted(version: int = 1) -> ItemSubmittedForReview:
    return ItemSubmittedForReview(item_id="i-1", item_version=version)


def approved(version: int = 1, case: str = "case-1") -> ItemApproved:
    return ItemApproved(item_id="i-1", item_version=version, review_case_id=case)


def published(on: date = date(2024, 10, 8), version: int = 1) -> ItemPublished:
    [event] = given(drafted(), submitted(), approved()).publish(
        on, ["government_website"], NUMBER, CALENDAR, TODAY
    )
    assert isinstance(event, ItemPublished)
    return event.model_copy(update={"item_version": version})


# ---------------------------------------------------------------- drafting


def test_a_draft_records_every_catalogue_field() -> None:
    event = drafted(topic="社会保障", form_category="规范性文件", validity="expired")
    assert (event.item_id, event.document_number, event.scope) == (
        "i-1",
        "常人社发〔2024〕58号",
        "面向社会",
    )
    assert (event.topic, event.form_category, event.validity) == (
        "社会保障",
        "规范性文件",
        "expired",
    )
    item = given(event)
    assert (item.state, item.version, item.public, item.needs_index_number) == (
        ItemState.DRAFT,
        1,
        False,
        True,
    )


def test_a_retried_draft_records_nothing_and_another_with_the_same_id_is_refused() -> None:
    first = drafted()
    command = DraftItem("cz-hrss", "i-1", entry())
    assert draft(command, [first], TODAY) == []
    with pytest.raises(DomainError, match="exists already") as refused:
        draft(DraftItem("cz-hrss", "i-1", entry(title="另一份文件")), [first], TODAY)
    assert refused.value.field == "item_id"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "  "}, "title"),
        ({"issuing_body": ""}, "issuing_body"),
        ({"formed_on": date(2026, 11, 28)}, "formed_on"),
        ({"validity": "repealed"}, "validity"),
        ({"category": ItemCategory.ADMINISTRATIVE_FEE}, "fee_amount_yuan"),
        ({"fee_amount_yuan": Decimal("10.00")}, "fee_amount_yuan"),
        (
            {"category": ItemCategory.ADMINISTRATIVE_FEE, "fee_amount_yuan": Decimal("1.005")},
            "fee_amount_yuan",
        ),
    ],
)
def test_a_draft_is_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(DomainError) as refused:
        drafted(**changes)
    assert refused.value.field == field


def test_a_fee_item_carries_its_amount_in_yuan() -> None:
    event = drafted(category=ItemCategory.ADMINISTRATIVE_FEE, fee_amount_yuan=Decimal("1250.50"))
    assert event.fee_amount_yuan == Decimal("1250.50")
    [publication] = given(event, submitted(), approved()).publish(
        date(2024, 10, 8), ["government_gazette"], NUMBER, CALENDAR, TODAY
    )
    assert isinstance(publication, ItemPublished)
    assert publication.fee_amount_yuan == Decimal("1250.50")


# ---------------------------------------------------------------- review


def test_a_draft_goes_to_review_once() -> None:
    assert given(drafted()).submit() == [submitted()]
    with pytest.raises(TransitionError, match="only a draft"):
        given(drafted(), submitted()).submit()


def test_withheld_information_is_never_submitted_for_publication() -> None:
    with pytest.raises(DomainError) as refused:
        given(drafted(attribute=DisclosureAttribute.WITHHELD)).submit()
    assert refused.value.field == "attribute"


def test_an_approval_is_recorded_only_for_the_version_in_review() -> None:
    with pytest.raises(TransitionError, match="not in review"):
        given(drafted()).record_approval(1, "forged")  # never submitted
    with pytest.raises(TransitionError, match="not in review"):
        given(drafted(), submitted()).record_approval(2, "forged")  # no such version
    in_review = given(drafted(), submitted())
    assert in_review.record_approval(1, "case-1") == [approved()]
    assert given(drafted(), submitted(), approved()).record_approval(1, "case-1") == []


def test_a_rejected_version_goes_back_to_draft_and_must_be_revised_before_resubmission() -> None:
    rejected = ItemRejected(
        item_id="i-1", item_version=1, review_case_id="c1", reasons="涉及个人信息"
    )
    assert given(drafted(), submitted()).record_rejection(1, "c1", "涉及个人信息") == [rejected]
    item = given(drafted(), submitted(), rejected)
    assert (item.state, item.rejection_reasons) == (ItemState.DRAFT, "涉及个人信息")
    with pytest.raises(TransitionError, match="revise it"):
        item.submit()
    with pytest.raises(TransitionError, match="only a version approved"):
        item.check_publishable(date(2024, 10, 8), TODAY)

    [revised] = item.revise(entry(summary="删去个人信息后的概述"), date(2024, 9, 25), TODAY)
    assert isinstance(revised, ItemRevised)
    assert (revised.item_version, revised.summary) == (2, "删去个人信息后的概述")
    again = given(drafted(), submitted(), rejected, revised)
    assert again.submit() == [submitted(2)]
    # A late approval of the rejected version 1 does not open the gate for version 2.
    with pytest.raises(TransitionError, match="version 1, which is not in review"):
        given(drafted(), submitted(), rejected, revised, submitted(2)).record_approval(1, "c1")


def test_an_item_in_review_cannot_be_revised() -> None:
    with pytest.raises(TransitionError, match="wait for the decision"):
        given(drafted(), submitted()).revise(entry(), TODAY, TODAY)


# ---------------------------------------------------------------- publication


def test_only_an_approved_version_is_published() -> None:
    for history in ([drafted()], [drafted(), submitted()]):
        with pytest.raises(TransitionError, match="only a version approved by review"):
            given(*history).publish(
                date(2024, 10, 8), ["government_website"], NUMBER, CALENDAR, TODAY
            )


def test_the_first_publication_takes_the_index_number_it_is_given() -> None:
    item = given(drafted(), submitted(), approved())
    assert item.needs_index_number
    [event] = item.publish(
        date(2024, 10, 8),
        ["government_website", "newspaper", "government_website"],
        NUMBER,
        CALENDAR,
        TODAY,
    )
    assert isinstance(event, ItemPublished)
    assert (event.index_number, event.item_version, event.first_publication) == (NUMBER, 1, True)
    assert event.channels == ("government_website", "newspaper")
    after = given(drafted(), submitted(), approved(), event)
    assert (after.state, after.public, after.needs_index_number) == (
        ItemState.PUBLISHED,
        True,
        False,
    )
    with pytest.raises(ValueError, match="first publication takes a new index number"):
        item.publish(date(2024, 10, 8), ["government_website"], None, CALENDAR, TODAY)


# 条例 第二十六条, worked by hand for an item formed on Friday 2024-09-20 (国庆 2024: 10-01 to
# 10-07 off; Sunday 09-29 and Saturday 10-12 are 调休 working days):
#   09-23 … 09-27  1–5
#   09-29 (Sun)    6   调休上班
#   09-30          7
#   10-01 … 10-07  国庆, not counted
#   10-08 … 10-11  8–11
#   10-12 (Sat)    12  调休上班
#   10-14 … 10-18  13–17
#   10-21 … 10-23  18–20   → due on Wednesday 2024-10-23
@pytest.mark.parametrize(
    ("published_on", "late"),
    [(date(2024, 10, 8), False), (date(2024, 10, 23), False), (date(2024, 10, 24), True)],
)
def test_publication_after_the_20th_working_day_from_forming_is_late(
    published_on: date, late: bool
) -> None:
    item = given(drafted(formed_on=date(2024, 9, 20)), submitted(), approved())
    assert item.publication_due(CALENDAR) == date(2024, 10, 23)
    [event] = item.publish(published_on, ["government_website"], NUMBER, CALENDAR, TODAY)
    assert isinstance(event, ItemPublished)
    assert (event.due_on, event.late) == (date(2024, 10, 23), late)


@pytest.mark.parametrize(
    ("published_on", "message"),
    [
        (date(2026, 11, 28), "in the future"),
        (date(2024, 9, 19), "before the information was formed"),
    ],
)
def test_a_publication_date_must_be_possible(published_on: date, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        given(drafted(), submitted(), approved()).publish(
            published_on, ["government_website"], NUMBER, CALENDAR, TODAY
        )


def test_a_revised_published_item_is_reviewed_again_and_keeps_its_index_number() -> None:
    first = published(date(2024, 10, 8))
    [revised] = given(drafted(), submitted(), approved(), first).revise(
        entry(title="关于调整基础养老金标准的通知（修订）"), date(2025, 3, 3), TODAY
    )
    assert isinstance(revised, ItemRevised) and revised.item_version == 2
    history: list[Event] = [drafted(), submitted(), approved(), first, revised]
    revising = given(*history)
    # Still public as first published until the new version is.
    assert (revising.state, revising.public) == (ItemState.DRAFT, True)
    assert revising.published is not None
    assert revising.published.entry.title == "关于调整本市城乡居民基本养老保险基础养老金标准的通知"
    with pytest.raises(TransitionError):
        revising.publish(date(2025, 3, 10), ["government_website"], None, CALENDAR, TODAY)
    history += [submitted(2), approved(2, "case-2")]
    ready = given(*history)
    assert not ready.needs_index_number
    # Due 20 working days after the change (变更), 2025-03-03 → 2025-03-31.
    [republished] = ready.publish(date(2025, 4, 1), ["government_website"], None, CALENDAR, TODAY)
    assert isinstance(republished, ItemPublished)
    assert (republished.index_number, republished.item_version) == (NUMBER, 2)
    assert (republished.first_publication, republished.due_on, republished.late) == (
        False,
        date(2025, 3, 31),
        True,
    )
    after = given(*history, republished)
    assert after.published is not None
    assert after.published.entry.title == "关于调整基础养老金标准的通知（修订）"
    assert after.published.first_published_on == date(2024, 10, 8)


# ---------------------------------------------------------------- repeal and withdrawal


def test_a_published_item_is_repealed_once() -> None:
    history: list[Event] = [drafted(), submitted(), approved(), published()]
    assert given(*history).repeal(date(2025, 12, 31), TODAY) == [
        ItemRepealed(item_id="i-1", repealed_on=date(2025, 12, 31), category="normative_document")
    ]
    with pytest.raises(DomainError, match="first published on 2024-10-08"):
        given(*history).repeal(date(2024, 10, 7), TODAY)
    with pytest.raises(DomainError, match="future"):
        given(*history).repeal(date(2026, 12, 1), TODAY)
    repealed = given(*history, *given(*history).repeal(date(2025, 12, 31), TODAY))
    assert (repealed.state, repealed.public, repealed.repealed_on) == (
        ItemState.REPEALED,
        True,
        date(2025, 12, 31),
    )
    with pytest.raises(TransitionError, match="repealed on 2025-12-31"):
        repealed.repeal(date(2026, 1, 5), TODAY)
    with pytest.raises(TransitionError, match="cannot be revised"):
        repealed.revise(entry(), TODAY, TODAY)
    with pytest.raises(TransitionError, match="never published"):
        given(drafted()).repeal(date(2025, 1, 1), TODAY)


def test_an_item_published_in_error_is_withdrawn_for_good() -> None:
    history: list[Event] = [drafted(), submitted(), approved(), published()]
    [event] = given(*history).withdraw(" 误将内部文件公开 ", date(2024, 10, 9), TODAY)
    assert event == ItemWithdrawn(
        item_id="i-1",
        reason="误将内部文件公开",
        withdrawn_on=date(2024, 10, 9),
        category="normative_document",
    )
    withdrawn = given(*history, event)
    assert (withdrawn.state, withdrawn.public) == (ItemState.WITHDRAWN, False)
    with pytest.raises(TransitionError, match="withdrawn on 2024-10-09"):
        withdrawn.withdraw("again", date(2024, 10, 10), TODAY)
    with pytest.raises(TransitionError, match="withdrawn on 2024-10-09"):
        withdrawn.repeal(date(2024, 10, 10), TODAY)
    with pytest.raises(TransitionError, match="is withdrawn"):
        withdrawn.submit()
    with pytest.raises(TransitionError, match="never published"):
        given(drafted()).withdraw("x", date(2024, 10, 9), TODAY)
    with pytest.raises(DomainError):
        given(*history).withdraw("  ", date(2024, 10, 9), TODAY)
