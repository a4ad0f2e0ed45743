"""A confidentiality review case (保密审查): folds its past events, decides commands into new
events. Stages are completed in order; the case ends approved or rejected, and then nothing
more happens to it (the author resubmits: a new draft or item version is a new case)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

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

from .grounds import WithholdingGround, unique
from .stages import validate_stages


@dataclass(frozen=True)
class Subject:
    """What is reviewed: one version of a catalogue item, or a reply draft (always version 1)."""

    kind: ReviewSubject
    subject_id: str
    version: int = 1


class CaseState(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class StageResult:
    """One stage's opinion, signed by its reviewer (or the body a referral was answered by);
    `recorded_by` is the user id of whoever recorded it (the event's actor)."""

    stage: str
    reviewer: str
    opinion: str
    grounds: tuple[WithholdingGround, ...] = ()
    passed: bool = True
    by_referral: bool = False
    at: datetime | None = None
    recorded_by: str | None = None


@dataclass(frozen=True)
class Referral:
    """条例 第十七条: a doubtful case goes to the competent or the secrecy department."""

    stage: str
    referred_to: str
    question: str
    at: datetime | None = None
    answered_by: str | None = None
    answer: str | None = None
    answered_at: datetime | None = None


@dataclass(frozen=True)
class ReviewCase:
    """The state of one review case, folded from its events."""

    case_id: str
    subject: Subject
    stages: tuple[str, ...]
    state: CaseState = CaseState.OPEN
    results: tuple[StageResult, ...] = ()
    referrals: tuple[Referral, ...] = ()
    reasons: str | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None

    # ------------------------------------------------------------------ folding

    @staticmethod
    def fold(events: Sequence[Event]) -> ReviewCase | None:
        return ReviewCase.fold_recorded([(e, None, None) for e in events])

    @staticmethod
    def fold_recorded(
        history: Iterable[tuple[Event, datetime | None, str | None]],
    ) -> ReviewCase | None:
        """Fold events with the time each occurred and the user who recorded it (the written
        record, and the rule that one user signs one stage of a case)."""
        state: ReviewCase | None = None
        for event, at, by in history:
            state = apply(state, event, at, by)
        return state

    @property
    def closed(self) -> bool:
        return self.state is not CaseState.OPEN

    @property
    def current_stage(self) -> str | None:
        if self.closed or len(self.results) >= len(self.stages):
            return None
        return self.stages[len(self.results)]

    @property
    def pending_referral(self) -> Referral | None:
        last = self.referrals[-1] if self.referrals else None
        return last if last is not None and last.answer is None else None

    @property
    def grounds(self) -> tuple[WithholdingGround, ...]:
        """Every ground for withholding any stage gave, in the order first given."""
        return unique(g for r in self.results for g in r.grounds)

    # ------------------------------------------------------------------ commands

    def complete_stage(
        self, stage: str, reviewer: str, opinion: str, grounds: Iterable[WithholdingGround] = ()
    ) -> list[Event]:
        """The stage's reviewer agrees (grounds name what must still be withheld, if any);
        after the last stage the case is approved."""
        self._at_current("complete", stage)
        completed = ReviewStageCompleted(
            case_id=self.case_id,
            stage=stage,
            reviewer=_required("reviewer", reviewer),
            opinion=_required("opinion", opinion),
            withholding_grounds=unique(grounds),
        )
        if stage == self.stages[-1]:
            return [completed, self._approved()]
        return [completed]

    def reject(
        self, stage: str, reviewer: str, reasons: str, grounds: Iterable[WithholdingGround] = ()
    ) -> list[Event]:
        """The stage's reviewer does not agree: the stage is recorded with the reasons as its
        opinion, and the case is closed as rejected."""
        self._at_current("reject", stage)
        reasons = _required("reasons", reasons)
        return [
            ReviewStageCompleted(
                case_id=self.case_id,
                stage=stage,
                reviewer=_required("reviewer", reviewer),
                opinion=reasons,
                withholding_grounds=unique(grounds),
                passed=False,
            ),
            self._rejected(reasons),
        ]

    def refer(self, stage: str, referred_to: str, question: str) -> list[Event]:
        """条例 第十七条: 不能确定是否可以公开的, 报有关主管部门或者保密行政管理部门确定."""
        self._at_current("refer", stage)
        return [
            ReviewReferred(
                case_id=self.case_id,
                referred_to=_required("referred_to", referred_to),
                question=_required("question", question),
            )
        ]

    def answer_referral(
        self,
        answered_by: str | None,
        opinion: str,
        disclose: bool,
        grounds: Iterable[WithholdingGround] = (),
    ) -> list[Event]:
        """The referral's answer completes the stage it was made at, signed by the body that
        answered; an answer against disclosure rejects the case."""
        self._open("record a referral's answer")
        pending = self.pending_referral
        if pending is None:
            raise TransitionError(f"case {self.case_id} has no referral awaiting an answer")
        signed_by = pending.referred_to if answered_by is None else answered_by
        opinion = _required("opinion", opinion)
        completed = ReviewStageCompleted(
            case_id=self.case_id,
            stage=pending.stage,
            reviewer=_required("answered_by", signed_by),
            opinion=opinion,
            withholding_grounds=unique(grounds),
            passed=disclose,
        )
        if not disclose:
            return [completed, self._rejected(opinion)]
        if pending.stage == self.stages[-1]:
            return [completed, self._approved()]
        return [completed]

    # ------------------------------------------------------------------ guards and results

    def _open(self, what: str) -> None:
        if self.closed:
            raise TransitionError(f"case {self.case_id} is {self.state}: cannot {what}")

    def _at_current(self, what: str, stage: str) -> None:
        self._open(f"{what} a stage")
        if stage not in self.stages:
            raise DomainError(
                "stage",
                f"case {self.case_id} has no stage {stage!r}; its stages are "
                + "、".join(self.stages),
            )
        if any(r.stage == stage for r in self.results):
            raise TransitionError(f"stage {stage} of case {self.case_id} is already completed")
        if stage != self.current_stage:
            raise TransitionError(
                f"stage {self.current_stage} of case {self.case_id} comes before {stage}"
            )
        pending = self.pending_referral
        if pending is not None:
            raise TransitionError(
                f"case {self.case_id} was referred to {pending.referred_to} at stage "
                f"{pending.stage} and awaits its answer"
            )

    def _approved(self) -> ReviewApproved:
        return ReviewApproved(
            case_id=self.case_id,
            subject=self.subject.kind,
            subject_id=self.subject.subject_id,
            subject_version=self.subject.version,
        )

    def _rejected(self, reasons: str) -> ReviewRejected:
        return ReviewRejected(
            case_id=self.case_id,
            subject=self.subject.kind,
            subject_id=self.subject.subject_id,
            subject_version=self.subject.version,
            reasons=reasons,
        )


def open_review(case_id: str, subject: Subject, stages: Iterable[str]) -> list[Event]:
    """A new case for a subject, with the stages in force for its bureau now."""
    return [
        ReviewOpened(
            case_id=case_id,
            subject=subject.kind,
            subject_id=subject.subject_id,
            subject_version=subject.version,
            stages=validate_stages(stages),
        )
    ]


def apply(
    state: ReviewCase | None, event: Event, at: datetime | None = None, by: str | None = None
) -> ReviewCase:
    """Fold one event into the state; the only place that knows what each event means. `by`:
    the user id of the event's actor."""
    if isinstance(event, ReviewOpened):
        return ReviewCase(
            case_id=event.case_id,
            subject=Subject(event.subject, event.subject_id, event.subject_version),
            stages=event.stages,
            opened_at=at,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before ReviewOpened")
    match event:
        case ReviewStageCompleted():
            opinion, grounds = event.opinion, event.withholding_grounds
            pending = state.pending_referral
            referrals = state.referrals
            if pending is not None:
                # A stage completed while a referral waits is that referral's answer.
                answered = replace(
                    pending, answered_by=event.reviewer, answer=opinion, answered_at=at
                )
                referrals = (*referrals[:-1], answered)
            result = StageResult(
                stage=event.stage,
                reviewer=event.reviewer,
                opinion=opinion,
                grounds=grounds,
                by_referral=pending is not None,
                at=at,
                recorded_by=by,
            )
            return replace(state, results=(*state.results, result), referrals=referrals)
        case ReviewReferred():
            referral = Referral(
                stage=state.current_stage or "",
                referred_to=event.referred_to,
                question=event.question,
                at=at,
            )
            return replace(state, referrals=(*state.referrals, referral))
        case ReviewApproved():
            return replace(state, state=CaseState.APPROVED, closed_at=at)
        case ReviewRejected():
            # A rejection is appended with the rejecting stage's opinion just before it.
            results = state.results
            if results:
                results = (*results[:-1], replace(results[-1], passed=False))
            return replace(
                state,
                state=CaseState.REJECTED,
                results=results,
                reasons=event.reasons,
                closed_at=at,
            )
    raise ValueError(f"a review case does not know {type(event).__name__}")


def _required(field_name: str, value: str) -> str:
    text = value.strip()
    if not text:
        raise DomainError(field_name, "must not be blank")
    return text


@dataclass(frozen=True)
class SubjectDetails:
    """What the written record names the subject by (审查记录 (一) 标题及文号或者内容摘要),
    taken from the event that submitted it."""

    title: str
    document_number: str | None = None
    summary: str = ""
