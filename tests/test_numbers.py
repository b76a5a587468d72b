"""Exact fixed-point parsing and formatting of prices, sizes and money."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalshi_tui.numbers import (
    CENT,
    MONEY_SCALE,
    ONE_DOLLAR,
    PRICE_AS_MONEY,
    format_cents,
    format_contracts,
    format_money,
    format_price,
    format_size,
    parse_fixed,
    parse_money,
    parse_price,
    parse_size,
)

#: the parsers' full range: up to 30 whole digits
WHOLE_MAX = 10**30 - 1


@pytest.mark.parametrize(
    "text, units",
    [
        ("0.5600", 5600),
        ("0.56", 5600),
        ("1", 10_000),
        ("1.0000", 10_000),
        ("0.0001", 1),
        ("0", 0),
        ("0.010000", 100),
        ("-0.2500", -2500),
        ("0.99", 9900),
    ],
)
def test_parse_price(text: str, units: int) -> None:
    assert parse_price(text) == units


@pytest.mark.parametrize(
    "text, units",
    [
        ("10.00", 1000),
        ("10", 1000),
        ("0.01", 1),
        ("1234.56", 123456),
        ("206.00", 20600),
    ],
)
def test_parse_size(text: str, units: int) -> None:
    assert parse_size(text) == units


def test_json_numbers_instead_of_strings() -> None:
    assert parse_price(0.56) == 5600
    assert parse_price(56) == 560_000  # an int is dollars, not cents
    assert parse_size(10.5) == 1050
    assert parse_size(3) == 300
    assert parse_price(0.3) == 3000  # 0.3 is inexact in binary; its shortest repr is exact
    assert parse_price(Decimal("0.5600")) == 5600


def test_float_subclass_is_read_by_value() -> None:
    class Tagged(float):
        def __repr__(self) -> str:
            return f"Tagged({float(self)})"

    assert parse_price(Tagged(0.56)) == 5600


@pytest.mark.parametrize(
    "bad",
    [
        "1_0",
        " 5",
        "5 ",
        "+5",
        "",
        ".5",
        "5.",
        "1e3",
        "0x10",
        "--1",
        "nan",
        "inf",
        "0.5600\n",
        "\u0665",
        "0.\u0665\u0666",
        "\uff15",  # non-ASCII digits
    ],
)
def test_rejects_malformed_strings(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_price(bad)


@pytest.mark.parametrize(
    "bad",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        True,
        False,
        None,
        [1],
        {"a": 1},
        b"0.5",
    ],
)
def test_rejects_non_numbers(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_price(bad)


@pytest.mark.parametrize("bad", ["0.00001", "0.56001", 0.00001, Decimal("0.12345")])
def test_rejects_too_many_decimals(bad: object) -> None:
    with pytest.raises(ValueError, match="more than 4 decimals"):
        parse_price(bad)


def test_size_decimals() -> None:
    with pytest.raises(ValueError, match="more than 2 decimals"):
        parse_size("1.001")
    assert parse_size("1.0100") == 101


def test_cache_gives_the_same_answer_twice() -> None:
    assert parse_price("0.4242") == parse_price("0.4242") == 4242
    with pytest.raises(ValueError):
        parse_price("0.42421")
    with pytest.raises(ValueError):  # a failure must not be cached as a value
        parse_price("0.42421")


def test_other_places_are_not_cached_but_work() -> None:
    assert parse_fixed("1.5", 1) == 15
    assert parse_fixed("7", 0) == 7
    with pytest.raises(ValueError):
        parse_fixed("7.5", 0)


def test_format() -> None:
    assert format_price(5600) == "0.5600"
    assert format_price(10_000) == "1.0000"
    assert format_price(-1) == "-0.0001"
    assert format_size(1000) == "10.00"
    assert format_size(5) == "0.05"
    assert format_cents(5600) == "56¢"
    assert format_cents(5650) == "56.5¢"
    assert format_cents(125) == "1.25¢"
    assert format_cents(5) == "0.05¢"
    assert format_cents(-CENT) == "-1¢"
    assert format_contracts(1000) == "10"
    assert format_contracts(1050) == "10.5"
    assert format_contracts(123456) == "1,234.56"
    assert ONE_DOLLAR == 10_000


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_price_round_trip(units: int) -> None:
    text = format_price(units)
    assert parse_price(text) == units
    assert format_price(parse_price(text)) == text


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_size_round_trip(units: int) -> None:
    assert parse_size(format_size(units)) == units


@given(st.decimals(min_value=-(10**6), max_value=10**6, places=4, allow_nan=False, allow_infinity=False))
def test_any_four_place_decimal_parses_exactly(value: Decimal) -> None:
    text = f"{value:f}"
    assert parse_price(text) == int(value * 10_000)
    assert parse_price(value) == int(value * 10_000)


# ---- money: 1/1,000,000 dollar ------------------------------------------------------------


@pytest.mark.parametrize(
    "text, units",
    [
        ("0.012345", 12_345),  # a fee on a fractional fill: price x size
        ("0.010000", 10_000),
        ("0.01", 10_000),
        ("1", MONEY_SCALE),
        ("10000.000000", 10_000 * MONEY_SCALE),
        ("-3.141593", -3_141_593),
        ("0.000001", 1),
        ("0.0000010", 1),  # trailing zeros beyond 6 places are still exact
        ("0", 0),
    ],
)
def test_parse_money(text: str, units: int) -> None:
    assert parse_money(text) == units
    assert type(parse_money(text)) is int


def test_a_price_stays_four_places_where_money_takes_six() -> None:
    assert parse_money("0.012345") == 12_345
    with pytest.raises(ValueError, match="more than 4 decimals"):
        parse_price("0.012345")
    assert parse_price("0.012300") == 123  # zeros beyond 4 places are exact
    assert parse_money("0.5600") == 5600 * PRICE_AS_MONEY


@pytest.mark.parametrize("bad", ["0.0000001", "0.0123451", "1.1234567", 0.0000001, Decimal("0.1234567")])
def test_money_refuses_a_seventh_decimal(bad: object) -> None:
    with pytest.raises(ValueError, match="more than 6 decimals"):
        parse_money(bad)


def test_format_money() -> None:
    assert format_money(12_345) == "0.012345"
    assert format_money(MONEY_SCALE) == "1.000000"
    assert format_money(-1) == "-0.000001"
    assert format_money(0) == "0.000000"


@given(st.integers(min_value=-WHOLE_MAX * MONEY_SCALE, max_value=WHOLE_MAX * MONEY_SCALE))
def test_money_round_trip_over_the_full_range(units: int) -> None:
    text = format_money(units)
    back = parse_money(text)
    assert type(back) is int and back == units
    assert format_money(back) == text


@given(st.integers(min_value=-WHOLE_MAX * ONE_DOLLAR, max_value=WHOLE_MAX * ONE_DOLLAR))
def test_price_round_trip_over_the_full_range(units: int) -> None:
    back = parse_price(format_price(units))
    assert type(back) is int and back == units
    # Every price is money too, exactly.
    assert parse_money(format_price(units)) == units * PRICE_AS_MONEY


@given(
    st.integers(min_value=0, max_value=WHOLE_MAX),
    st.integers(min_value=1, max_value=10**6 - 1).filter(lambda n: n % 10),
    st.integers(min_value=1, max_value=6),
)
def test_any_digit_beyond_the_scale_is_refused(whole: int, tail: int, extra: int) -> None:
    """A number with a non-zero digit past 6 places (money) or 4 (price) is refused, never rounded."""
    frac = str(tail).rjust(6, "0")
    money_text = f"{whole}.{frac}{'0' * (extra - 1)}{tail % 10}"
    with pytest.raises(ValueError, match="more than 6 decimals"):
        parse_money(money_text)
    price_text = f"{whole}.{frac}"
    if frac[4:].strip("0"):
        with pytest.raises(ValueError, match="more than 4 decimals"):
            parse_price(price_text)
    else:
        assert parse_price(price_text) * PRICE_AS_MONEY == parse_money(price_text)


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False, allow_infinity=False))
def test_any_six_place_decimal_is_exact_money_from_text_or_number(value: Decimal) -> None:
    want = int(value * MONEY_SCALE)
    assert parse_money(f"{value:f}") == want
    assert parse_money(value) == want


@given(st.integers(min_value=0, max_value=10**8), st.integers(min_value=0, max_value=ONE_DOLLAR))
def test_a_price_times_a_size_is_exact_money(size: int, price: int) -> None:
    """Cost = price x fractional size: the string the exchange writes parses to the product."""
    cost = Decimal(format_price(price)) * Decimal(format_size(size))
    assert parse_money(f"{cost:f}") == price * size
