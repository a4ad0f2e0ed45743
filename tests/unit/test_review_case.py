"""A review case: given its events, when a command, then new events or a named error."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gongkai_contracts import Event
from gongkai_contracts.events import (
    ReviewApproved,
    ReviewOpened,
    ReviewReferred,
    ReviewRejected,
    ReviewStageCompleted,
)
from gongkai_contracts.vocabulary import ReviewSubject
from gongkai_platform.errors import DomainError, TransitionError
from review_service.domain.case import CaseState, ReviewCase, Subject, apply, open_review
from review_service.domain.grounds import WithholdingGround
from review_service.domain.stages import DEFAULT_STAGES, validate_stages

DRAFT = Subject(ReviewSubject.REPLY, "d-1")
Step = Callable[[ReviewCase], list[Event]]


def given(*steps: Step, stages: tuple[str, ...] = DEFAULT_STAGES) -> tuple[ReviewCase, list[Event]]:
    history = open_review("c-1", DRAFT, stages)
    state = ReviewCase.fold(history)
    assert state is not None
    for step in steps:
        new = step(state)
        history += new
        for event in new:
            state = apply(state, event)
    return state, history


def names(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def complete(stage: str, reviewer: str = "张三") -> Step:
    return lambda s: s.complete_stage(stage, reviewer, "同意公开")


def test_a_case_opens_with_the_stages_in_force() -> None:
    [opened] = open_review("c-1", Subject(ReviewSubject.ITEM, "i-9", 3), [" 初审", "复审 "])
    assert opened == ReviewOpened(
        case_id="c-1",
        subject=ReviewSubject.ITEM,
        subject_id="i-9",
        subject_version=3,
        stages=("初审", "复审"),
    )
    state, _ = given()
    assert (state.state, state.current_stage, state.stages) == (
        CaseState.OPEN,
        "初审",
        ("初审", "复审", "终审"),
    )


def test_three_stages_in_order_then_the_case_is_approved() -> None:
    state, _ = given(complete("初审"), complete("复审"))
    assert state.current_stage == "终审"
    new = state.complete_stage("终审", " 李局长 ", " 同意 ")
    assert new == [
        ReviewStageCompleted(case_id="c-1", stage="终审", reviewer="李局长", opinion="同意"),
        ReviewApproved(
            case_id="c-1", subject=ReviewSubject.REPLY, subject_id="d-1", subject_version=1
        ),
    ]
    for event in new:
        state = apply(state, event)
    assert (state.state, state.current_stage) == (CaseState.APPROVED, None)
    assert [r.stage for r in state.results] == ["初审", "复审", "终审"]


def test_a_single_stage_bureau_approves_on_its_one_stage() -> None:
    state, _ = given(stages=("审核",))
    assert names(state.complete_stage("审核", "王", "可以公开")) == [
        "ReviewStageCompleted",
        "ReviewApproved",
    ]


def test_stages_are_completed_in_order() -> None:
    state, _ = given()
    with pytest.raises(TransitionError, match="初审 of case c-1 comes before 复审"):
        state.complete_stage("复审", "张三", "同意")


def test_a_stage_cannot_be_completed_twice() -> None:
    state, _ = given(complete("初审"))
    with pytest.raises(TransitionError, match="already completed"):
        state.complete_stage("初审", "张三", "同意")


def test_an_unknown_stage_is_refused_naming_the_field() -> None:
    state, _ = given()
    with pytest.raises(DomainError) as refused:
        state.complete_stage("会签", "张三", "同意")
    assert refused.value.field == "stage"
    assert "初审、复审、终审" in refused.value.message


@pytest.mark.parametrize(
    ("reviewer", "opinion", "field"),
    [
        ("  ", "同意", "reviewer"),
        ("张三", " ", "opinion"),
    ],
)
def test_blank_text_is_refused_naming_the_field(reviewer: str, opinion: str, field: str) -> None:
    state, _ = given()
    with pytest.raises(DomainError) as refused:
        state.complete_stage("初审", reviewer, opinion)
    assert refused.value.field == field


def test_reject_at_any_stage_records_the_opinion_and_closes_the_case() -> None:
    state, _ = given(complete("初审"))
    new = state.reject("复审", "办公室 赵", "涉及第三方个人信息，应作区分处理")
    assert new == [
        ReviewStageCompleted(
            case_id="c-1",
            stage="复审",
            reviewer="办公室 赵",
            opinion="涉及第三方个人信息，应作区分处理",
            passed=False,
        ),
        ReviewRejected(
            case_id="c-1",
            subject=ReviewSubject.REPLY,
            subject_id="d-1",
            subject_version=1,
            reasons="涉及第三方个人信息，应作区分处理",
        ),
    ]
    for event in new:
        state = apply(state, event)
    assert state.state is CaseState.REJECTED
    assert [(r.stage, r.passed) for r in state.results] == [("初审", True), ("复审", False)]


@pytest.mark.parametrize(
    "step",
    [
        complete("终审"),
        lambda s: s.reject("终审", "李", "不同意"),
        lambda s: s.refer("终审", "市国家保密局", "是否涉密"),
        lambda s: s.answer_referral(None, "可以公开", True),
    ],
)
@pytest.mark.parametrize("ending", ["approved", "rejected"])
def test_nothing_follows_approval_or_rejection(step: Step, ending: str) -> None:
    if ending == "approved":
        state, _ = given(complete("初审"), complete("复审"), complete("终审"))
    else:
        state, _ = given(lambda s: s.reject("初审", "张三", "不宜公开"))
    with pytest.raises(TransitionError, match=f"is {ending}"):
        step(state)


def test_grounds_for_withholding_travel_in_their_own_field_and_fold_back() -> None:
    grounds = [WithholdingGround.THIRD_PARTY, WithholdingGround.PROCESS_INFORMATION]
    state, history = given(lambda s: s.complete_stage("初审", "张三", "部分公开", grounds))
    completed = history[-1]
    assert isinstance(completed, ReviewStageCompleted)
    assert (completed.opinion, completed.withholding_grounds, completed.passed) == (
        "部分公开",
        tuple(grounds),
        True,
    )
    _, rejected = given(lambda s: s.reject("初审", "张三", "不宜公开", grounds))
    assert isinstance(rejected[-2], ReviewStageCompleted) and rejected[-2].passed is False
    [result] = state.results
    assert (result.opinion, result.grounds) == ("部分公开", tuple(grounds))
    assert state.grounds == tuple(grounds)


def test_a_referral_waits_for_its_answer_which_completes_the_stage() -> None:
    state, history = given(
        complete("初审"), lambda s: s.refer("复审", "市国家保密局", "附件三是否属于国家秘密？")
    )
    assert history[-1] == ReviewReferred(
        case_id="c-1", referred_to="市国家保密局", question="附件三是否属于国家秘密？"
    )
    assert state.pending_referral is not None
    assert state.pending_referral.stage == "复审"
    with pytest.raises(TransitionError, match="awaits its answer"):
        state.complete_stage("复审", "赵", "同意")
    with pytest.raises(TransitionError, match="awaits its answer"):
        state.refer("复审", "市委宣传部", "再问")

    new = state.answer_referral(None, "经确定，不属于国家秘密，可以公开", True)
    assert new == [
        ReviewStageCompleted(
            case_id="c-1",
            stage="复审",
            reviewer="市国家保密局",
            opinion="经确定，不属于国家秘密，可以公开",
        )
    ]
    for event in new:
        state = apply(state, event)
    assert state.pending_referral is None
    assert state.current_stage == "终审"
    assert state.results[-1].by_referral
    assert state.referrals[0].answer == "经确定，不属于国家秘密，可以公开"


def test_an_answer_against_disclosure_rejects_the_case() -> None:
    state, _ = given(lambda s: s.refer("初审", "市国家保密局", "是否涉密"))
    new = state.answer_referral(
        "市国家保密局保密科", "属于国家秘密", False, [WithholdingGround.STATE_SECRET]
    )
    assert names(new) == ["ReviewStageCompleted", "ReviewRejected"]
    rejected = new[-1]
    assert isinstance(rejected, ReviewRejected)
    assert rejected.reasons == "属于国家秘密"
    for event in new:
        state = apply(state, event)
    assert state.state is CaseState.REJECTED
    assert state.results[-1].reviewer == "市国家保密局保密科"
    assert state.grounds == (WithholdingGround.STATE_SECRET,)


def test_a_referral_answered_at_the_last_stage_approves() -> None:
    state, _ = given(
        complete("初审"),
        complete("复审"),
        lambda s: s.refer("终审", "市政府办公室", "是否属于主动公开范围"),
    )
    assert names(state.answer_referral(None, "可以公开", True)) == [
        "ReviewStageCompleted",
        "ReviewApproved",
    ]


def test_an_answer_without_a_referral_is_refused() -> None:
    state, _ = given()
    with pytest.raises(TransitionError, match="no referral"):
        state.answer_referral(None, "可以公开", True)


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([], "at least one"),
        (["初审", " "], "needs a name"),
        (["初审", "初审"], "初审 repeats"),
        ([f"s{i}" for i in range(9)], "at most 8"),
        (["审" * 51], "at most 50"),
    ],
)
def test_bad_stage_lists_are_refused_naming_the_field(stages: list[str], message: str) -> None:
    with pytest.raises(DomainError, match=message) as refused:
        validate_stages(stages)
    assert refused.value.field == "stages"


def test_an_event_before_the_opening_is_an_error() -> None:
    with pytest.raises(ValueError, match="before ReviewOpened"):
        apply(None, ReviewReferred(case_id="c", referred_to="x", question="y"))
