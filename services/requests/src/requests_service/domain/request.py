"""A disclosure request (依申请公开): folds its past events, decides commands into new events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from gongkai_contracts import Event
from gongkai_contracts.events import (
    ConsultationEnded,
    ConsultationStarted,
    CorrectionLapsed,
    CorrectionReceived,
    CorrectionRequested,
    DeadlineExtended,
    DeadlineRecomputed,
    FeeLapsed,
    FeeNoticed,
    FeePaid,
    ReplyDraftApproved,
    ReplyDrafted,
    ReplyDraftRejected,
    ReplySent,
    RequestReceived,
    RequestWithdrawn,
)
from gongkai_contracts.vocabulary import ApplicantCategory, Channel, ReplyOutcome
from gongkai_platform.errors import DomainError, TransitionError

from .calendar import WorkingCalendar
from .clock import (
    ClockFacts,
    Deadline,
    Pause,
    compute_deadline,
    consultation_answer_due,
    correction_notice_due,
    fee_payment_due,
    regime_for,
)
from .fees import FeeScheme, quote_per_item, quote_per_page

# 国务院令第492号 came into force on 2008-05-01; nothing before it is a disclosure request.
FIRST_RECEIPT_DATE = date(2008, 5, 1)

# Outcomes that end a request without a reply letter come from their own events.
LAPSE_OUTCOMES = {ReplyOutcome.OTHER_CORRECTION_LAPSED, ReplyOutcome.OTHER_FEE_LAPSED}

# request_summaries.fee_yuan is numeric(12, 2); no real notice comes near it.
MAX_FEE_YUAN = Decimal("9999999999.99")


class Status(StrEnum):
    """Where a request stands (条例 第四十五条: 登记、审核、办理、答复、归档)."""

    IN_PROGRESS = "in_progress"  # the clock runs
    AWAITING_CORRECTION = "awaiting_correction"  # 补正 notice sent; the clock stopped
    CONSULTING = "consulting"  # 征求意见; the clock paused
    AWAITING_FEE = "awaiting_fee"  # 收费通知 sent
    AWAITING_REVIEW = "awaiting_review"  # a reply draft is in confidentiality review
    APPROVED = "approved"  # the draft passed review and can be sent
    REPLIED = "replied"
    WITHDRAWN = "withdrawn"
    CORRECTION_LAPSED = "correction_lapsed"
    FEE_LAPSED = "fee_lapsed"


CLOSED = {Status.REPLIED, Status.WITHDRAWN, Status.CORRECTION_LAPSED, Status.FEE_LAPSED}


@dataclass(frozen=True)
class RegisterRequest:
    """Command: register a request received by the bureau."""

    bureau_id: str
    request_id: str
    channel: Channel
    applicant_category: ApplicantCategory
    applicant_ref: str
    received_on: date
    description: str
    requested_form: str | None = None


@dataclass(frozen=True)
class Draft:
    draft_id: str
    outcome: ReplyOutcome
    legal_basis: str
    state: str = "in_review"  # in_review, approved, rejected


@dataclass(frozen=True)
class Request:
    """The state of one request, folded from its events."""

    request_id: str
    received_on: date
    applicant_category: ApplicantCategory
    applicant_ref: str
    status: Status = Status.IN_PROGRESS
    correction_requested: bool = False
    restarted_on: date | None = None
    pauses: tuple[Pause, ...] = ()
    extension_days: int = 0
    fee_noticed: bool = False
    fee_yuan: str = "0.00"
    drafts: tuple[Draft, ...] = ()
    due_on: date | None = None
    due_provisional: bool = False
    closed_on: date | None = None
    outcome: ReplyOutcome | None = None
    history_days: tuple[date, ...] = field(default=(), repr=False)

    # ------------------------------------------------------------------ folding

    @staticmethod
    def fold(events: Sequence[Event]) -> Request | None:
        state: Request | None = None
        for event in events:
            state = apply(state, event)
        return state

    @property
    def closed(self) -> bool:
        return self.status in CLOSED

    @property
    def last_day(self) -> date:
        """The latest business date recorded; later commands cannot predate it."""
        return max(self.history_days, default=self.received_on)

    def facts(self) -> ClockFacts:
        return ClockFacts(
            received_on=self.received_on,
            restarted_on=self.restarted_on,
            pauses=self.pauses,
            extension_days=self.extension_days,
        )

    def deadline(self, calendar: WorkingCalendar) -> Deadline:
        return compute_deadline(self.facts(), calendar)

    # ------------------------------------------------------------------ commands

    def request_correction(
        self, notified_on: date, correct_by: date, items: str, calendar: WorkingCalendar
    ) -> list[Event]:
        self._open("request a correction")
        if self.correction_requested:
            # 条例 第三十条: the applicant is told once (一次性告知).
            raise TransitionError(f"request {self.request_id}: a correction was already requested")
        if self.status is not Status.IN_PROGRESS:
            raise TransitionError(f"request {self.request_id} is {self.status}, not in progress")
        self._not_before("notified_on", notified_on)
        if correct_by <= notified_on:
            raise DomainError("correct_by", "give the applicant a period after the notice")
        due, _ = correction_notice_due(self.received_on, calendar)
        return [
            CorrectionRequested(
                request_id=self.request_id,
                notified_on=notified_on,
                correct_by=correct_by,
                items_to_correct=items,
                notice_late=notified_on > due,
            )
        ]

    def receive_correction(self, received_on: date, calendar: WorkingCalendar) -> list[Event]:
        self._open("receive a correction")
        if self.status is not Status.AWAITING_CORRECTION:
            raise TransitionError(f"request {self.request_id} is not waiting for a correction")
        self._not_before("received_on", received_on)
        restarted = replace(self, restarted_on=received_on, pauses=())
        deadline = restarted.deadline(calendar)
        assert deadline.due_on is not None
        return [
            CorrectionReceived(
                request_id=self.request_id,
                received_on=received_on,
                due_on=deadline.due_on,
                due_provisional=deadline.provisional,
            )
        ]

    def lapse_correction(self, lapsed_on: date, correct_by: date | None) -> list[Event]:
        self._open("lapse the correction")
        if self.status is not Status.AWAITING_CORRECTION:
            raise TransitionError(f"request {self.request_id} is not waiting for a correction")
        if correct_by is not None and lapsed_on <= correct_by:
            raise DomainError("lapsed_on", f"the applicant has until {correct_by} to correct")
        return [CorrectionLapsed(request_id=self.request_id, lapsed_on=lapsed_on)]

    def start_consultation(
        self, started_on: date, party: str, third_party: bool, calendar: WorkingCalendar
    ) -> list[Event]:
        self._open("start a consultation")
        if self.status is not Status.IN_PROGRESS:
            raise TransitionError(f"request {self.request_id} is {self.status}, not in progress")
        self._not_before("started_on", started_on)
        answer_due, _ = consultation_answer_due(started_on, calendar)
        return [
            ConsultationStarted(
                request_id=self.request_id,
                started_on=started_on,
                party=party,
                third_party=third_party,
                answer_due_on=answer_due,
            )
        ]

    def end_consultation(self, ended_on: date, calendar: WorkingCalendar) -> list[Event]:
        self._open("end a consultation")
        if self.status is not Status.CONSULTING:
            raise TransitionError(f"request {self.request_id} has no consultation running")
        self._not_before("ended_on", ended_on)
        pauses = (*self.pauses[:-1], Pause(self.pauses[-1].start, ended_on))
        deadline = replace(self, pauses=pauses).deadline(calendar)
        assert deadline.due_on is not None
        return [
            ConsultationEnded(
                request_id=self.request_id,
                ended_on=ended_on,
                due_on=deadline.due_on,
                due_provisional=deadline.provisional,
            )
        ]

    def extend(
        self, working_days: int, approved_by: str, notified_on: date, calendar: WorkingCalendar
    ) -> list[Event]:
        self._open("extend the deadline")
        if self.extension_days:
            raise TransitionError(f"request {self.request_id}: the deadline was already extended")
        if self.status in (Status.AWAITING_CORRECTION, Status.CONSULTING):
            raise TransitionError(
                f"request {self.request_id} is {self.status}: the clock is stopped"
            )
        limit = regime_for(self.received_on).max_extension_days
        if not 1 <= working_days <= limit:
            raise DomainError("working_days", f"an extension is 1 to {limit} working days")
        self._not_before("notified_on", notified_on)
        if self.due_on is not None and notified_on > self.due_on:
            raise DomainError("notified_on", f"the deadline {self.due_on} has already passed")
        deadline = replace(self, extension_days=working_days).deadline(calendar)
        assert deadline.due_on is not None
        return [
            DeadlineExtended(
                request_id=self.request_id,
                working_days=working_days,
                approved_by=approved_by,
                notified_on=notified_on,
                due_on=deadline.due_on,
                due_provisional=deadline.provisional,
            )
        ]

    def notice_fee(
        self,
        scheme: FeeScheme,
        units: int,
        items_before_this_month: int,
        noticed_on: date,
        calendar: WorkingCalendar,
    ) -> list[Event]:
        self._open("notice a fee")
        if self.fee_noticed:
            raise TransitionError(f"request {self.request_id}: a fee was already noticed")
        if self.status is not Status.IN_PROGRESS:
            raise TransitionError(f"request {self.request_id} is {self.status}, not in progress")
        self._not_before("noticed_on", noticed_on)
        if scheme is FeeScheme.PER_ITEM:
            quote = quote_per_item(items_before_this_month, units)
        else:
            quote = quote_per_page(units)
        if quote.amount == 0:
            raise DomainError("units", "this request is under the free allowance: no fee")
        if quote.amount > MAX_FEE_YUAN:
            raise DomainError(
                "units",
                f"{units} units would cost {quote.amount} 元, beyond the {MAX_FEE_YUAN} 元 "
                "a fee notice can record: check the number of items or pages",
            )
        pay_by, _ = fee_payment_due(noticed_on, calendar)
        return [
            FeeNoticed(
                request_id=self.request_id,
                scheme=scheme.value,
                units=units,
                amount_yuan=quote.amount,
                noticed_on=noticed_on,
                pay_by=pay_by,
            )
        ]

    def pay_fee(self, paid_on: date, calendar: WorkingCalendar) -> list[Event]:
        self._open("record a payment")
        if self.status is not Status.AWAITING_FEE:
            raise TransitionError(f"request {self.request_id} is not waiting for a fee")
        self._not_before("paid_on", paid_on)
        pauses = (*self.pauses[:-1], Pause(self.pauses[-1].start, paid_on))
        deadline = replace(self, pauses=pauses).deadline(calendar)
        assert deadline.due_on is not None
        return [
            FeePaid(
                request_id=self.request_id,
                paid_on=paid_on,
                amount_yuan=Decimal(self.fee_yuan),
                due_on=deadline.due_on,
                due_provisional=deadline.provisional,
            )
        ]

    def lapse_fee(self, lapsed_on: date) -> list[Event]:
        self._open("lapse the fee")
        if self.status is not Status.AWAITING_FEE:
            raise TransitionError(f"request {self.request_id} is not waiting for a fee")
        self._not_before("lapsed_on", lapsed_on)
        return [FeeLapsed(request_id=self.request_id, lapsed_on=lapsed_on)]

    def draft_reply(
        self,
        draft_id: str,
        outcome: ReplyOutcome,
        legal_basis: str,
        summary: str,
        reviewed_elsewhere: str | None = None,
    ) -> list[Event]:
        self._open("draft a reply")
        if outcome in LAPSE_OUTCOMES:
            raise DomainError("outcome", "a lapse is recorded by its own command, not a reply")
        if self.status not in (Status.IN_PROGRESS, Status.APPROVED):
            raise TransitionError(
                f"request {self.request_id} is {self.status}: a reply cannot be drafted now"
            )
        if any(d.draft_id == draft_id for d in self.drafts):
            raise DomainError("draft_id", f"draft {draft_id} exists already")
        if not legal_basis.strip():
            raise DomainError("legal_basis", "cite the legal basis of the reply")
        return [
            ReplyDrafted(
                request_id=self.request_id,
                draft_id=draft_id,
                outcome=outcome,
                legal_basis=legal_basis.strip(),
                summary=summary,
                reviewed_elsewhere=reviewed_elsewhere,
            )
        ]

    def approve_draft(self, draft_id: str, case_id: str) -> list[Event]:
        draft = self._draft(draft_id)
        if draft.state != "in_review" or self.closed:
            return []  # a repeated or late approval changes nothing
        return [
            ReplyDraftApproved(
                request_id=self.request_id, draft_id=draft_id, review_case_id=case_id
            )
        ]

    def reject_draft(self, draft_id: str, case_id: str, reasons: str) -> list[Event]:
        draft = self._draft(draft_id)
        if draft.state != "in_review" or self.closed:
            return []
        return [
            ReplyDraftRejected(
                request_id=self.request_id,
                draft_id=draft_id,
                review_case_id=case_id,
                reasons=reasons or "（未说明）",
            )
        ]

    def send_reply(self, sent_on: date) -> list[Event]:
        self._open("send a reply")
        approved = [d for d in self.drafts if d.state == "approved"]
        if self.status is not Status.APPROVED or not approved:
            raise TransitionError(
                f"request {self.request_id} is {self.status}: only a draft approved by "
                "confidentiality review can be sent"
            )
        self._not_before("sent_on", sent_on)
        draft = approved[-1]
        return [
            ReplySent(
                request_id=self.request_id,
                draft_id=draft.draft_id,
                outcome=draft.outcome,
                legal_basis=draft.legal_basis,
                sent_on=sent_on,
                due_on=self.due_on,
                on_time=self.due_on is None or sent_on <= self.due_on,
                applicant_category=self.applicant_category,
            )
        ]

    def withdraw(self, withdrawn_on: date) -> list[Event]:
        self._open("withdraw")
        self._not_before("withdrawn_on", withdrawn_on)
        return [RequestWithdrawn(request_id=self.request_id, withdrawn_on=withdrawn_on)]

    def recompute(self, calendar: WorkingCalendar, year: int) -> list[Event]:
        """After a calendar is published: the new deadline, if it moved."""
        if self.closed or self.due_on is None:
            return []
        deadline = self.deadline(calendar)
        if deadline.due_on is None or (
            deadline.due_on == self.due_on and deadline.provisional == self.due_provisional
        ):
            return []
        return [
            DeadlineRecomputed(
                request_id=self.request_id,
                previous_due_on=self.due_on,
                due_on=deadline.due_on,
                due_provisional=deadline.provisional,
                calendar_year=year,
            )
        ]

    # ------------------------------------------------------------------ guards

    def _open(self, what: str) -> None:
        if self.closed:
            raise TransitionError(
                f"request {self.request_id} is {self.status} since {self.closed_on}: cannot {what}"
            )

    def _not_before(self, field_name: str, day: date) -> None:
        if day < self.last_day:
            raise DomainError(field_name, f"{day} is before {self.last_day}, already on record")

    def _draft(self, draft_id: str) -> Draft:
        for draft in self.drafts:
            if draft.draft_id == draft_id:
                return draft
        raise TransitionError(f"request {self.request_id} has no draft {draft_id}")


def register(
    command: RegisterRequest, *, today: date, history: Sequence[Event], calendar: WorkingCalendar
) -> list[RequestReceived]:
    """The new events; none when the same request was registered before (a retried POST)."""
    if history:
        first = history[0]
        if isinstance(first, RequestReceived) and _same_request(first, command):
            return []
        raise DomainError(
            "request_id", f"request {command.request_id} is already registered with other details"
        )
    if command.received_on < FIRST_RECEIPT_DATE:
        raise DomainError("received_on", f"{command.received_on} is before 2008-05-01")
    if command.received_on > today:
        # 条例 第三十一条: the receipt date is a day that has happened.
        raise DomainError("received_on", f"{command.received_on} is in the future")
    if not command.description.strip():
        raise DomainError("description", "say what information is asked for")
    deadline = compute_deadline(ClockFacts(received_on=command.received_on), calendar)
    assert deadline.due_on is not None
    return [
        RequestReceived(
            request_id=command.request_id,
            channel=command.channel,
            applicant_category=command.applicant_category,
            applicant_ref=command.applicant_ref,
            received_on=command.received_on,
            description=command.description.strip(),
            requested_form=command.requested_form,
            regime=deadline.regime.name,
            due_on=deadline.due_on,
            due_provisional=deadline.provisional,
        )
    ]


def _same_request(event: RequestReceived, command: RegisterRequest) -> bool:
    return (
        event.channel == command.channel
        and event.applicant_category == command.applicant_category
        and event.received_on == command.received_on
        and event.description == command.description.strip()
        and event.requested_form == command.requested_form
    )


def apply(state: Request | None, event: Event) -> Request:
    """Fold one event into the state; the only place that knows what each event means."""
    if isinstance(event, RequestReceived):
        return Request(
            request_id=event.request_id,
            received_on=event.received_on,
            applicant_category=event.applicant_category,
            applicant_ref=event.applicant_ref,
            due_on=event.due_on,
            due_provisional=event.due_provisional,
            history_days=(event.received_on,),
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before RequestReceived")
    match event:
        case CorrectionRequested():
            return _at(
                state,
                event.notified_on,
                status=Status.AWAITING_CORRECTION,
                correction_requested=True,
                due_on=None,
            )
        case CorrectionReceived():
            return _at(
                state,
                event.received_on,
                status=Status.IN_PROGRESS,
                restarted_on=event.received_on,
                pauses=(),
                due_on=event.due_on,
                due_provisional=event.due_provisional,
            )
        case CorrectionLapsed():
            return _at(
                state,
                event.lapsed_on,
                status=Status.CORRECTION_LAPSED,
                closed_on=event.lapsed_on,
                outcome=ReplyOutcome.OTHER_CORRECTION_LAPSED,
            )
        case ConsultationStarted():
            return _at(
                state,
                event.started_on,
                status=Status.CONSULTING,
                pauses=(*state.pauses, Pause(event.started_on, None)),
                due_on=None,
            )
        case ConsultationEnded():
            last = state.pauses[-1]
            return _at(
                state,
                event.ended_on,
                status=Status.IN_PROGRESS,
                pauses=(*state.pauses[:-1], Pause(last.start, event.ended_on)),
                due_on=event.due_on,
                due_provisional=event.due_provisional,
            )
        case DeadlineExtended():
            return _at(
                state,
                event.notified_on,
                extension_days=event.working_days,
                due_on=event.due_on,
                due_provisional=event.due_provisional,
            )
        case DeadlineRecomputed():
            return replace(state, due_on=event.due_on, due_provisional=event.due_provisional)
        case FeeNoticed():
            # Reading of 国办函〔2020〕109号 (unverified, see README): the time the applicant
            # takes to pay is not counted, like a consultation.
            return _at(
                state,
                event.noticed_on,
                status=Status.AWAITING_FEE,
                fee_noticed=True,
                fee_yuan=str(event.amount_yuan),
                pauses=(*state.pauses, Pause(event.noticed_on, None)),
                due_on=None,
            )
        case FeePaid():
            last = state.pauses[-1]
            return _at(
                state,
                event.paid_on,
                status=Status.IN_PROGRESS,
                pauses=(*state.pauses[:-1], Pause(last.start, event.paid_on)),
                due_on=event.due_on,
                due_provisional=event.due_provisional,
            )
        case FeeLapsed():
            return _at(
                state,
                event.lapsed_on,
                status=Status.FEE_LAPSED,
                closed_on=event.lapsed_on,
                outcome=ReplyOutcome.OTHER_FEE_LAPSED,
            )
        case ReplyDrafted():
            draft = Draft(event.draft_id, event.outcome, event.legal_basis)
            others = tuple(
                replace(d, state="superseded") if d.state == "approved" else d for d in state.drafts
            )
            return replace(state, status=Status.AWAITING_REVIEW, drafts=(*others, draft))
        case ReplyDraftApproved():
            return replace(
                state,
                status=Status.APPROVED,
                drafts=_with_state(state.drafts, event.draft_id, "approved"),
            )
        case ReplyDraftRejected():
            return replace(
                state,
                status=Status.IN_PROGRESS,
                drafts=_with_state(state.drafts, event.draft_id, "rejected"),
            )
        case ReplySent():
            return _at(
                state,
                event.sent_on,
                status=Status.REPLIED,
                closed_on=event.sent_on,
                outcome=event.outcome,
            )
        case RequestWithdrawn():
            return _at(
                state,
                event.withdrawn_on,
                status=Status.WITHDRAWN,
                closed_on=event.withdrawn_on,
                outcome=ReplyOutcome.OTHER,
            )
    raise ValueError(f"a request does not know {type(event).__name__}")


def _at(state: Request, day: date, **changes: object) -> Request:
    return replace(state, history_days=(*state.history_days, day), **changes)  # type: ignore[arg-type]


def _with_state(drafts: tuple[Draft, ...], draft_id: str, new: str) -> tuple[Draft, ...]:
    return tuple(replace(d, state=new) if d.draft_id == draft_id else d for d in drafts)
