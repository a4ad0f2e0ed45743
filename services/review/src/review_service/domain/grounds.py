"""Grounds for withholding (不予公开的依据) under 条例 第十四、十五、十六条, and how they travel in
a stage's opinion until `ReviewStageCompleted` has a field of its own for them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum


class WithholdingGround(StrEnum):
    """One ground of 条例 第十四、十五、十六条 on which information is not to be disclosed."""

    STATE_SECRET = "state_secret"
    PROHIBITED_BY_LAW = "prohibited_by_law"
    ENDANGERS_SECURITY = "endangers_security"
    THIRD_PARTY = "third_party"
    INTERNAL_AFFAIRS = "internal_affairs"
    PROCESS_INFORMATION = "process_information"
    ENFORCEMENT_FILE = "enforcement_file"


WITHHOLDING_GROUND_LABELS: dict[WithholdingGround, str] = {
    WithholdingGround.STATE_SECRET: "第十四条 依法确定为国家秘密",
    WithholdingGround.PROHIBITED_BY_LAW: "第十四条 法律、行政法规禁止公开",
    WithholdingGround.ENDANGERS_SECURITY: (
        "第十四条 公开后可能危及国家安全、公共安全、经济安全、社会稳定"
    ),
    WithholdingGround.THIRD_PARTY: (
        "第十五条 涉及商业秘密、个人隐私等公开会对第三方合法权益造成损害"
    ),
    WithholdingGround.INTERNAL_AFFAIRS: "第十六条第一款 内部事务信息",
    WithholdingGround.PROCESS_INFORMATION: "第十六条第二款 过程性信息",
    WithholdingGround.ENFORCEMENT_FILE: "第十六条第二款 行政执法案卷信息",
}

# The contract's ReviewStageCompleted has only `opinion`; until it gains `withholding_grounds`,
# the grounds ride on the opinion's last line, readable in the log and decoded exactly here.
MARKER = "【不予公开依据】"
_CODE = re.compile(r"〔([a-z_]+)〕")


def unique(grounds: Iterable[WithholdingGround]) -> tuple[WithholdingGround, ...]:
    return tuple(dict.fromkeys(grounds))


def encode_opinion(opinion: str, grounds: Iterable[WithholdingGround]) -> str:
    listed = unique(grounds)
    if not listed:
        return opinion
    line = "；".join(f"{WITHHOLDING_GROUND_LABELS[g]}〔{g.value}〕" for g in listed)
    return f"{opinion}\n{MARKER}{line}"


def decode_opinion(text: str) -> tuple[str, tuple[WithholdingGround, ...]]:
    """The opinion as the reviewer wrote it and the grounds encoded with it."""
    head, sep, line = text.rpartition(f"\n{MARKER}")
    if not sep:
        return text, ()
    codes = _CODE.findall(line)
    known = {g.value for g in WithholdingGround}
    if not codes or any(c not in known for c in codes):
        return text, ()
    return head, unique(WithholdingGround(c) for c in codes)
