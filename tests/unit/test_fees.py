"""信息处理费 (国办函〔2020〕109号): per item per month and per page, excess-progressive."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from requests_service.domain.fees import (
    FeeLine,
    FeeQuote,
    FeeScheme,
    quote_per_item,
    quote_per_page,
)


def yuan(text: str) -> Decimal:
    return Decimal(text)


# ---------------------------------------------------------------- 按件


def test_45_items_in_one_month_cost_5500_yuan() -> None:
    # 1–10 free; 11–30: 20 × 100 = 2000; 31–40: 10 × 200 = 2000; 41–45: 5 × 300 = 1500.
    # 2000 + 2000 + 1500 = 5500.
    assert quote_per_item(0, 45) == FeeQuote(
        scheme=FeeScheme.PER_ITEM,
        amount=yuan("5500.00"),
        lines=(
            FeeLine("本月第1—10件，免费", 10, yuan("0.00"), yuan("0.00")),
            FeeLine("本月第11—30件，100元/件", 20, yuan("100.00"), yuan("2000.00")),
            FeeLine("本月第31—40件，200元/件", 10, yuan("200.00"), yuan("2000.00")),
            FeeLine("本月第41—45件，300元/件", 5, yuan("300.00"), yuan("1500.00")),
        ),
    )


@pytest.mark.parametrize(
    ("items", "amount"),
    [
        (0, "0.00"),
        (1, "0.00"),
        (10, "0.00"),  # 含10件: free
        (11, "100.00"),  # the 11th item: 100
        (30, "2000.00"),  # 11–30: 20 × 100
        (31, "2200.00"),  # + the 31st at 200
        (40, "4000.00"),  # 2000 + 10 × 200
        (41, "4300.00"),  # + the 41st at 300
        (51, "7400.00"),  # 2000 + 2000 + 10 × 300 = 7000, + the 51st at 400
    ],
)
def test_items_of_one_month(items: int, amount: str) -> None:
    quote = quote_per_item(0, items)
    assert quote.amount == yuan(amount)
    assert sum(line.units for line in quote.lines) == items
    assert quote.amount == sum((line.amount for line in quote.lines), yuan("0"))


def test_two_requests_in_one_month_pay_the_same_as_one() -> None:
    # 25 items earlier this month cost 15 × 100 = 1500. The 20 new ones are items 26–45:
    # 26–30: 5 × 100 = 500; 31–40: 10 × 200 = 2000; 41–45: 5 × 300 = 1500; 500 + 2000 + 1500 = 4000
    # = 5500 − 1500.
    earlier = quote_per_item(0, 25)
    later = quote_per_item(25, 20)
    assert earlier.amount == yuan("1500.00")
    assert later.amount == yuan("4000.00")
    assert earlier.amount + later.amount == quote_per_item(0, 45).amount
    assert [(line.description, line.units) for line in later.lines] == [
        ("本月第26—30件，100元/件", 5),
        ("本月第31—40件，200元/件", 10),
        ("本月第41—45件，300元/件", 5),
    ]


def test_a_single_item_line_names_one_item() -> None:
    assert quote_per_item(10, 1).lines == (
        FeeLine("本月第11件，100元/件", 1, yuan("100.00"), yuan("100.00")),
    )


def test_no_new_items_cost_nothing_and_have_no_lines() -> None:
    quote = quote_per_item(45, 0)
    assert (quote.amount, quote.lines) == (yuan("0.00"), ())


# ---------------------------------------------------------------- 按量


@pytest.mark.parametrize(
    ("pages", "amount"),
    [
        (0, "0.00"),
        (30, "0.00"),  # 含30页: free
        (31, "10.00"),  # page 31 at 10
        (100, "700.00"),  # 31–100: 70 × 10
        (101, "720.00"),  # + page 101 at 20
        (150, "1700.00"),  # 700 + 50 × 20 = 700 + 1000
        (200, "2700.00"),  # 700 + 100 × 20 = 700 + 2000
        (250, "4700.00"),  # 700 + 2000 + 50 × 40 = 700 + 2000 + 2000
    ],
)
def test_pages_of_one_request(pages: int, amount: str) -> None:
    quote = quote_per_page(pages)
    assert quote.scheme is FeeScheme.PER_PAGE
    assert quote.amount == yuan(amount)
    assert sum(line.units for line in quote.lines) == pages


def test_page_lines_per_band() -> None:
    assert quote_per_page(250).lines == (
        FeeLine("第1—30页，免费", 30, yuan("0.00"), yuan("0.00")),
        FeeLine("第31—100页，10元/页", 70, yuan("10.00"), yuan("700.00")),
        FeeLine("第101—200页，20元/页", 100, yuan("20.00"), yuan("2000.00")),
        FeeLine("第201—250页，40元/页", 50, yuan("40.00"), yuan("2000.00")),
    )


def test_amounts_have_two_decimal_places() -> None:
    quote = quote_per_page(31)
    assert str(quote.amount) == "10.00"
    assert str(quote.lines[1].unit_price) == "10.00"


@pytest.mark.parametrize(
    "call",
    [
        lambda: quote_per_item(-1, 5),
        lambda: quote_per_item(0, -1),
        lambda: quote_per_page(-1),
    ],
)
def test_negative_counts_are_refused(call: Callable[[], FeeQuote]) -> None:
    with pytest.raises(ValueError, match="negative"):
        call()
