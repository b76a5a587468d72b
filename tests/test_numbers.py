"""Exact fixed-point parsing and formatting of prices and sizes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalshi_tui.numbers import (
    CENT,
    ONE_DOLLAR,
    format_cents,
    format_contracts,
    format_price,
    format_size,
    parse_fixed,
    parse_price,
    parse_size,
)


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
