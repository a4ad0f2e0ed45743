"""Index numbers (索引号): a bureau's pattern, validated, and the numbers written with it.

No national rule fixes the form (disclosure-rules §6.3). The common one, gov.cn's, is
`机构代码/年份-流水号` (`000014349/2020-00072`); a bureau may choose another, as long as it
carries the year and the sequence number, which together make a number unique: the sequence
restarts at 1 every year of publication.
"""

from __future__ import annotations

import re
from string import Formatter

from gongkai_platform.errors import DomainError

DEFAULT_PATTERN = "{org_code}/{year}-{seq:05d}"
MAX_PATTERN_LENGTH = 100

# The fields a pattern can use; nothing else is reachable from it (no attributes, no indexing).
FIELDS = ("org_code", "year", "seq")
# `{seq}`, `{seq:d}`, `{seq:05d}`, `{seq:05}`: zero padding only, never spaces or other bases.
_SEQ_SPEC = re.compile(r"^(?:0[1-9][0-9]?)?d?$")


def validate_pattern(pattern: str) -> str:
    """The pattern as it will be stored, or DomainError naming what is wrong."""
    pattern = pattern.strip()
    if not pattern:
        raise DomainError("pattern", "an index number pattern cannot be empty")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise DomainError("pattern", f"at most {MAX_PATTERN_LENGTH} characters")
    if any(not ch.isprintable() for ch in pattern):
        raise DomainError("pattern", "control characters are not allowed")
    try:
        parts = list(Formatter().parse(pattern))
    except ValueError as exc:
        raise DomainError("pattern", f"not a valid pattern: {exc}") from None
    used: set[str] = set()
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in FIELDS:
            allowed = ", ".join(f"{{{f}}}" for f in FIELDS)
            raise DomainError("pattern", f"unknown field {{{field}}}: use {allowed}")
        if conversion:
            raise DomainError("pattern", f"{{{field}!{conversion}}}: no conversions")
        if field == "seq":
            if not _SEQ_SPEC.match(spec or ""):
                raise DomainError(
                    "pattern", f"{{seq:{spec}}}: the sequence takes only zero padding, e.g. :05d"
                )
        elif spec:
            raise DomainError("pattern", f"{{{field}:{spec}}}: only {{seq}} takes a format")
        used.add(field)
    for required in ("year", "seq"):
        if required not in used:
            raise DomainError(
                "pattern",
                f"must contain {{{required}}}: the year and the sequence make a number unique",
            )
    return pattern


def format_index_number(pattern: str, *, org_code: str, year: int, seq: int) -> str:
    """`014416330/2011-00212` from the default pattern, code 014416330, 2011 and 212."""
    if seq < 1:
        raise ValueError(f"sequence numbers start at 1, not {seq}")
    return pattern.format(org_code=org_code, year=year, seq=seq)
