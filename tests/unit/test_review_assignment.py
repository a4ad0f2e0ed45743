"""Who may act at a review stage: the bureau head's assignment, and one signature per user."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gongkai_contracts import Event
from gongkai_contracts.vocabulary import ReviewSubject
from gongkai_platform.errors import DomainError, ForbiddenError
from review_service.domain.assignment import Assignment, StageAssignment, assign
from review_service.domain.case import ReviewCase, Subject, apply, open_review

ASSIGNED = assign("b-1", [("初审", ["reviewer-1"]), ("复审", ["reviewer-2"]), ("终审", ["r-3"])])


def case_after(*signed: tuple[str, str]) -> ReviewCase:
    """A case whose first stages were signed by the given (user id, signature)."""
    state = ReviewCase.fold(
        open_review("c-1", Subject(ReviewSubject.REPLY, "d-1"), ["初审", "复审", "终审"])
    )
    assert state is not None
    for user, name in signed:
        assert state.current_stage is not None
        for event in state.complete_stage(state.current_stage, name, "同意"):
            state = apply(state, event, None, user)
    return state


def test_the_assigned_reviewer_is_admitted_at_the_current_stage() -> None:
    ASSIGNED.admit(case_after(), "reviewer-1", signs=True)
    ASSIGNED.admit(case_after(("reviewer-1", "张三")), "reviewer-2", signs=True)


def test_a_reviewer_of_another_stage_is_refused_naming_who_is_assigned() -> None:
    with pytest.raises(ForbiddenError) as refused:
        ASSIGNED.admit(case_after(), "reviewer-2", signs=True)
    assert str(refused.value) == (
        "reviewer-2 is not assigned to stage 初审 of bureau b-1; assigned: reviewer-1"
    )


def test_nobody_acts_until_the_head_assigns_reviewers() -> None:
    unset = Assignment.unset("b-1")
    assert (unset.names, unset.default) == (("初审", "复审", "终审"), True)
    with pytest.raises(ForbiddenError, match="no reviewer is assigned to stage 初审 of bureau b-1"):
        unset.admit(case_after(), "reviewer-1", signs=False)
    # A case whose stage the current assignment no longer has is refused the same way.
    renamed = Assignment("b-1", (StageAssignment("科室审查", ("reviewer-1",)),))
    with pytest.raises(ForbiddenError, match="PUT /bureaus/b-1/review-stages"):
        renamed.admit(case_after(), "reviewer-1", signs=True)


def test_one_user_signs_one_stage_of_a_case() -> None:
    pool = assign("b-1", [("初审", ["a", "b"]), ("复审", ["a", "b"])])
    signed = case_after(("a", "张三"))
    with pytest.raises(ForbiddenError) as refused:
        pool.admit(signed, "a", signs=True)
    assert "a signed stage 初审 of case c-1; a second stage needs a second pair of eyes" in str(
        refused.value
    )
    assert "another reviewer assigned to 复审 signs it (b)" in str(refused.value)
    pool.admit(signed, "b", signs=True)
    pool.admit(signed, "a", signs=False)  # referring the case is not signing it


def test_a_stage_signed_by_a_referrals_answer_is_not_the_recording_users() -> None:
    pool = assign("b-1", [("初审", ["a"]), ("复审", ["a", "b"]), ("终审", ["a"])])
    state = case_after()
    steps: list[Callable[[ReviewCase], list[Event]]] = [
        lambda s: s.refer("初审", "市国家保密局", "是否涉密"),
        lambda s: s.answer_referral(None, "可以公开", True),
    ]
    for step in steps:
        for event in step(state):
            state = apply(state, event, None, "a")
    assert state.results[0].by_referral and state.results[0].recorded_by == "a"
    pool.admit(state, "a", signs=True)


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([("初审", [])], "初审 needs at least one reviewer"),
        ([("初审", [" "])], "user id of 1 to 100"),
        ([("初审", ["a"]), ("初审", ["b"])], "初审 repeats"),
    ],
)
def test_bad_assignments_are_refused_naming_the_field(
    stages: list[tuple[str, list[str]]], message: str
) -> None:
    with pytest.raises(DomainError, match=message) as refused:
        assign("b-1", stages)
    assert refused.value.field == "stages"


def test_names_and_user_ids_are_trimmed_and_kept_once() -> None:
    assert assign("b-1", [(" 初审 ", [" a", "a ", "b"])]).stages == (
        StageAssignment("初审", ("a", "b")),
    )
