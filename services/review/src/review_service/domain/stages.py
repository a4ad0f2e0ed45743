"""Review stages: a bureau's own sequence, or the default three."""

from __future__ import annotations

from collections.abc import Iterable

from gongkai_platform.errors import DomainError

# 初审 by the business department that made the information, 复审 by the disclosure office,
# 终审 by the leader in charge (disclosure-rules §7: 初审、复审, 自审/送审/终审).
DEFAULT_STAGES: tuple[str, ...] = ("初审", "复审", "终审")
MAX_STAGES = 8
MAX_STAGE_NAME = 50


def validate_stages(names: Iterable[str]) -> tuple[str, ...]:
    """The stages as they will be stored: trimmed, non-empty, distinct, in order."""
    stages = tuple(n.strip() for n in names)
    if not stages:
        raise DomainError("stages", "a review has at least one stage")
    if len(stages) > MAX_STAGES:
        raise DomainError("stages", f"at most {MAX_STAGES} stages")
    for name in stages:
        if not name:
            raise DomainError("stages", "a stage needs a name")
        if len(name) > MAX_STAGE_NAME:
            raise DomainError("stages", f"stage names are at most {MAX_STAGE_NAME} characters")
    repeated = sorted({n for n in stages if stages.count(n) > 1})
    if repeated:
        raise DomainError("stages", f"stage names must differ: {', '.join(repeated)} repeats")
    return stages
