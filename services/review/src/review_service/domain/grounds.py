"""Grounds for withholding (不予公开的依据) under 条例 第十四、十五、十六条."""

from __future__ import annotations

from collections.abc import Iterable

from gongkai_contracts.vocabulary import WITHHOLDING_GROUND_LABELS, WithholdingGround

__all__ = ["WITHHOLDING_GROUND_LABELS", "WithholdingGround", "unique"]


def unique(grounds: Iterable[WithholdingGround]) -> tuple[WithholdingGround, ...]:
    return tuple(dict.fromkeys(grounds))
