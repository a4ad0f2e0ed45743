"""Administrative reconsideration (行政复议) and litigation (行政诉讼) about disclosure work;
table 四 counts them by result, and those pending at year end as 尚未审结."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from gongkai_contracts import Event
from gongkai_contracts.events import (
    LitigationDecided,
    LitigationFiled,
    ReconsiderationDecided,
    ReconsiderationFiled,
)
from gongkai_contracts.vocabulary import CaseResult
from gongkai_platform.errors import DomainError, TransitionError

# How decisions as written map to table 四's three result columns.
DECISION_RESULTS: dict[str, CaseResult] = {
    "驳回": CaseResult.UPHELD,
    "维持": CaseResult.UPHELD,
    "撤销": CaseResult.CORRECTED,
    "变更": CaseResult.CORRECTED,
    "确认违法": CaseResult.CORRECTED,
    "责令履行": CaseResult.CORRECTED,
    "终止": CaseResult.OTHER,
    "撤回": CaseResult.OTHER,
    "调解": CaseResult.OTHER,
}


class CaseKind(StrEnum):
    RECONSIDERATION = "reconsideration"  # 行政复议
    LITIGATION_DIRECT = "litigation_direct"  # 未经复议直接起诉
    LITIGATION_AFTER_RECONSIDERATION = "litigation_after_reconsideration"  # 复议后起诉


@dataclass(frozen=True)
class Case:
    case_id: str
    kind: CaseKind
    filed_on: date
    request_id: str | None
    decided_on: date | None = None
    result: CaseResult | None = None
    decision: str | None = None

    @staticmethod
    def fold(events: Sequence[Event]) -> Case | None:
        state: Case | None = None
        for event in events:
            match event:
                case ReconsiderationFiled():
                    state = Case(
                        event.case_id, CaseKind.RECONSIDERATION, event.filed_on, event.request_id
                    )
                case LitigationFiled():
                    kind = (
                        CaseKind.LITIGATION_AFTER_RECONSIDERATION
                        if event.after_reconsideration
                        else CaseKind.LITIGATION_DIRECT
                    )
                    state = Case(event.case_id, kind, event.filed_on, event.request_id)
                case ReconsiderationDecided() | LitigationDecided():
                    assert state is not None
                    state = replace(
                        state,
                        decided_on=event.decided_on,
                        result=event.result,
                        decision=event.decision,
                    )
        return state

    def pending_at(self, day: date) -> bool:
        return self.filed_on <= day and (self.decided_on is None or self.decided_on > day)

    def decide(self, decided_on: date, decision: str) -> list[Event]:
        if self.decided_on is not None:
            raise TransitionError(f"case {self.case_id} was decided on {self.decided_on}")
        if decided_on < self.filed_on:
            raise DomainError("decided_on", f"{decided_on} is before filing on {self.filed_on}")
        result = DECISION_RESULTS.get(decision.strip())
        if result is None:
            raise DomainError(
                "decision", f"expected one of {'、'.join(DECISION_RESULTS)}, got {decision!r}"
            )
        if self.kind is CaseKind.RECONSIDERATION:
            return [
                ReconsiderationDecided(
                    case_id=self.case_id,
                    decided_on=decided_on,
                    result=result,
                    decision=decision.strip(),
                )
            ]
        return [
            LitigationDecided(
                case_id=self.case_id,
                decided_on=decided_on,
                result=result,
                decision=decision.strip(),
            )
        ]


def file_case(
    case_id: str,
    kind: CaseKind,
    filed_on: date,
    request_id: str | None,
    *,
    today: date,
    existing: Sequence[Event],
) -> list[Event]:
    if existing:
        raise DomainError("case_id", f"case {case_id} is already filed")
    if filed_on > today:
        raise DomainError("filed_on", f"{filed_on} is in the future")
    if kind is CaseKind.RECONSIDERATION:
        return [ReconsiderationFiled(case_id=case_id, request_id=request_id, filed_on=filed_on)]
    return [
        LitigationFiled(
            case_id=case_id,
            request_id=request_id,
            filed_on=filed_on,
            after_reconsideration=kind is CaseKind.LITIGATION_AFTER_RECONSIDERATION,
        )
    ]
