"""信息处理费 (国办函〔2020〕109号): excess-progressive fees, per item or per page, never both.

按件计收 (art. 4), counted per applicant per natural month: items 1–10 free; 11–30 at 100元;
from item 31 on, bands of 10 items, each band 100元 dearer than the one before (31–40 at 200元,
41–50 at 300元, …). This reading of "以10件为一档，每增加一档，收费标准提高100元/件" is the one
in disclosure-rules.md §3 (45 items → 5500元), flagged there as to be checked.
按量计收 (art. 5), per request: pages 1–30 free; 31–100 at 10元; 101–200 at 20元; 201 on at
40元. Amounts are yuan with two decimal places.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

_CENTS = Decimal("0.01")


class FeeScheme(StrEnum):
    PER_ITEM = "per_item"  # 按件计收
    PER_PAGE = "per_page"  # 按量计收


@dataclass(frozen=True)
class FeeLine:
    """The units of one price band."""

    description: str
    units: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class FeeQuote:
    scheme: FeeScheme
    amount: Decimal
    lines: tuple[FeeLine, ...]


def _yuan(value: int) -> Decimal:
    return Decimal(value).quantize(_CENTS)


def _item_band(item: int) -> tuple[int, int, int]:
    """The band (first item, last item, price in yuan) the n-th item of the month falls in."""
    if item <= 10:
        return 1, 10, 0
    if item <= 30:
        return 11, 30, 100
    step = (item - 31) // 10  # 0 for items 31–40, 1 for 41–50, …
    first = 31 + 10 * step
    return first, first + 9, 200 + 100 * step


# (first page, last page or None, price in yuan per page), 109号 art. 5.
_PAGE_BANDS: tuple[tuple[int, int | None, int], ...] = (
    (1, 30, 0),
    (31, 100, 10),
    (101, 200, 20),
    (201, None, 40),
)


def _line(prefix: str, unit: str, first: int, last: int, price: int) -> FeeLine:
    units = last - first + 1
    span = f"{prefix}第{first}{unit}" if first == last else f"{prefix}第{first}—{last}{unit}"
    label = "免费" if price == 0 else f"{price}元/{unit}"
    return FeeLine(
        description=f"{span}，{label}",
        units=units,
        unit_price=_yuan(price),
        amount=_yuan(units * price),
    )


def _quote(scheme: FeeScheme, lines: list[FeeLine]) -> FeeQuote:
    return FeeQuote(
        scheme=scheme,
        amount=sum((line.amount for line in lines), _yuan(0)),
        lines=tuple(lines),
    )


def quote_per_item(items_before_this_month: int, items: int) -> FeeQuote:
    """The fee for `items` new items of an applicant who already had `items_before_this_month`
    items counted in the same natural month: the cumulative fee after minus the one before."""
    if items_before_this_month < 0:
        raise ValueError(
            f"items before this month's request cannot be negative: {items_before_this_month}"
        )
    if items < 0:
        raise ValueError(f"items cannot be negative: {items}")
    lines: list[FeeLine] = []
    item = items_before_this_month + 1
    last_item = items_before_this_month + items
    while item <= last_item:
        _, band_last, price = _item_band(item)
        last = min(last_item, band_last)
        lines.append(_line("本月", "件", item, last, price))
        item = last + 1
    return _quote(FeeScheme.PER_ITEM, lines)


def quote_per_page(pages: int) -> FeeQuote:
    """The fee for one request of `pages` pages."""
    if pages < 0:
        raise ValueError(f"pages cannot be negative: {pages}")
    lines: list[FeeLine] = []
    for first, band_last, price in _PAGE_BANDS:
        if pages < first:
            break
        last = pages if band_last is None else min(pages, band_last)
        lines.append(_line("", "页", first, last, price))
    return _quote(FeeScheme.PER_PAGE, lines)
