"""Index number (索引号) patterns: what a bureau may set, and the numbers written with them."""

from __future__ import annotations

import pytest

from catalogue_service.domain.index_number import (
    DEFAULT_PATTERN,
    format_index_number,
    validate_pattern,
)
from gongkai_platform.errors import DomainError


def test_the_default_pattern_is_the_gov_cn_form() -> None:
    # The 2011 self-assessment's bureau published 212 items that year.
    assert DEFAULT_PATTERN == "{org_code}/{year}-{seq:05d}"
    number = format_index_number(DEFAULT_PATTERN, org_code="014416330", year=2011, seq=212)
    assert number == "014416330/2011-00212"
    assert format_index_number(DEFAULT_PATTERN, org_code="014416330", year=2012, seq=1) == (
        "014416330/2012-00001"
    )


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("{org_code}/{year}-{seq:05d}", "11371000004359010J/2025-00809"),
        ("{org_code}-1/{year}-{seq:05}", "11371000004359010J-1/2025-00809"),
        ("wltzq_czj/{year}-{seq:05d}", "wltzq_czj/2025-00809"),
        ("{year}-{seq}", "2025-809"),
        ("{org_code}-{year}-{seq:06d}", "11371000004359010J-2025-000809"),
    ],
)
def test_a_bureau_can_write_its_numbers_its_own_way(pattern: str, expected: str) -> None:
    assert validate_pattern(pattern) == pattern
    assert (
        format_index_number(pattern, org_code="11371000004359010J", year=2025, seq=809) == expected
    )


def test_the_sequence_outgrows_its_padding_rather_than_being_cut() -> None:
    number = format_index_number(DEFAULT_PATTERN, org_code="014416330", year=2026, seq=123456)
    assert number == "014416330/2026-123456"


def test_a_pattern_is_stored_trimmed() -> None:
    assert validate_pattern("  {org_code}/{year}-{seq:05d} ") == DEFAULT_PATTERN


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "cannot be empty"),
        ("{org_code}/{seq:05d}", "must contain {year}"),
        ("{org_code}/{year}", "must contain {seq}"),
        ("{org_code}/{year}{month}-{seq:05d}", "unknown field {month}"),
        ("{year.real}-{seq}", "unknown field"),
        ("{year}-{seq[0]}", "unknown field"),
        ("{year}-{}", "unknown field"),
        ("{year}-{seq!r}", "no conversions"),
        ("{year:04d}-{seq}", "only {seq} takes a format"),
        ("{year}-{seq:5d}", "zero padding"),
        ("{year}-{seq:x}", "zero padding"),
        ("{year}-{seq:0{year}d}", "zero padding"),
        ("{year-{seq}", "not a valid pattern"),
        ("{year}-{seq}}", "not a valid pattern"),
        ("{year}-\n{seq}", "control characters"),
        ("{year}-{seq}" + "x" * 100, "at most 100"),
    ],
)
def test_a_pattern_without_year_and_sequence_or_with_anything_else_is_refused(
    pattern: str, message: str
) -> None:
    with pytest.raises(DomainError, match=message) as refused:
        validate_pattern(pattern)
    assert refused.value.field == "pattern"


def test_sequence_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        format_index_number(DEFAULT_PATTERN, org_code="014416330", year=2026, seq=0)
