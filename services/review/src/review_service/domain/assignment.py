"""Who reviews at which stage: the bureau head's assignment, and the rule that a reviewer acts
only at a stage assigned to them, and signs at most one stage of a case."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gongkai_platform.errors import DomainError, ForbiddenError

from .case import ReviewCase
from .stages import DEFAULT_STAGES, validate_stages

MAX_REVIEWERS = 50  # per stage
MAX_USER_ID = 100


@dataclass(frozen=True)
class StageAssignment:
    """One stage and the user ids of the reviewers who may act at it."""

    name: str
    reviewers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assignment:
    """A bureau's stages in order, each with its reviewers; `default` until the head sets it
    (the default stages have no reviewers: nobody can act until the head assigns some)."""

    bureau_id: str
    stages: tuple[StageAssignment, ...]
    default: bool = False

    @staticmethod
    def unset(bureau_id: str) -> Assignment:
        stages = tuple(StageAssignment(name) for name in DEFAULT_STAGES)
        return Assignment(bureau_id, stages, default=True)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    def reviewers_of(self, stage: str) -> tuple[str, ...]:
        return next((s.reviewers for s in self.stages if s.name == stage), ())

    def admit(self, case: ReviewCase, user_id: str, *, signs: bool) -> None:
        """ForbiddenError unless `user_id` is assigned to the case's current stage; when the
        command signs the stage (completion, rejection), also unless the same user signed an
        earlier stage of this case (a second pair of eyes). A stage signed by a referral's
        answer is the answering body's opinion and does not count as the recording user's."""
        stage = case.current_stage
        if stage is None:
            return  # a closed case: the case itself refuses the command (409)
        assigned = self.reviewers_of(stage)
        if not assigned:
            raise ForbiddenError(
                f"no reviewer is assigned to stage {stage} of bureau {self.bureau_id}; the "
                f"bureau head assigns them with PUT /bureaus/{self.bureau_id}/review-stages"
            )
        if user_id not in assigned:
            raise ForbiddenError(
                f"{user_id} is not assigned to stage {stage} of bureau {self.bureau_id}; "
                f"assigned: {', '.join(assigned)}"
            )
        if not signs:
            return
        signed = [r.stage for r in case.results if r.recorded_by == user_id and not r.by_referral]
        if signed:
            others = [r for r in assigned if r != user_id]
            who = (
                f"another reviewer assigned to {stage} signs it ({', '.join(others)})"
                if others
                else f"the bureau head assigns another reviewer to {stage}"
            )
            raise ForbiddenError(
                f"{user_id} signed stage {signed[0]} of case {case.case_id}; a second stage "
                f"needs a second pair of eyes: {who}"
            )


def assign(bureau_id: str, stages: Iterable[tuple[str, Iterable[str]]]) -> Assignment:
    """The assignment as it will be stored: stage names as `validate_stages` keeps them, each
    stage with at least one reviewer, user ids trimmed and distinct within a stage."""
    given = list(stages)
    names = validate_stages(name for name, _ in given)
    assigned: list[StageAssignment] = []
    for name, (_, users) in zip(names, given, strict=True):
        reviewers = tuple(dict.fromkeys(u.strip() for u in users))
        if not reviewers:
            raise DomainError("stages", f"stage {name} needs at least one reviewer")
        if len(reviewers) > MAX_REVIEWERS:
            raise DomainError("stages", f"at most {MAX_REVIEWERS} reviewers per stage")
        for user in reviewers:
            if not user or len(user) > MAX_USER_ID:
                raise DomainError(
                    "stages", f"a reviewer of {name} is a user id of 1 to {MAX_USER_ID} characters"
                )
        assigned.append(StageAssignment(name, reviewers))
    return Assignment(bureau_id, tuple(assigned))
