"""Exact fixed-point numbers for prices, sizes and money.

Kalshi sends prices as dollar strings with up to 4 decimals ("0.5600"), sizes as
fixed-point strings with 2 decimals ("10.00"), and money (fees, costs, P&L, exposure,
balance) with up to 6 decimals, since a price times a fractional size reaches 1/1,000,000 $
("0.012345"). We hold them as integers:

* price:        1/10,000 dollar     (``PRICE_SCALE``), so "0.5600"   -> 5600 and $1 -> 10_000
* size / count: 1/100 contract      (``SIZE_SCALE``),  so "10.00"    -> 1000
* money:        1/1,000,000 dollar  (``MONEY_SCALE``), so "0.012345" -> 12345

A price times a size is money, exactly: 1/10,000 x 1/100 = 1/1,000,000.

Floats never enter: a JSON number that slipped in is read through its shortest repr,
which is the exact decimal the sender wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

PRICE_PLACES = 4
SIZE_PLACES = 2
MONEY_PLACES = PRICE_PLACES + SIZE_PLACES
PRICE_SCALE = 10**PRICE_PLACES
SIZE_SCALE = 10**SIZE_PLACES
MONEY_SCALE = 10**MONEY_PLACES
ONE_DOLLAR = PRICE_SCALE
CENT = PRICE_SCALE // 100
#: money units in one price unit: a price held as money is ``price * PRICE_AS_MONEY``
PRICE_AS_MONEY = MONEY_SCALE // PRICE_SCALE

_MAX_DIGITS = 30
_CACHE_LIMIT = 65_536


def _parse_str(text: str, places: int) -> int:
    # Plain ASCII decimal only: int() alone would also take "1_0", " 5", "+5" and "\u0665",
    # and str.isdigit() alone takes every Unicode digit, hence the isascii() checks.
    whole, dot, frac = text.partition(".")
    negative = whole.startswith("-")
    if negative:
        whole = whole[1:]
    if not (
        whole.isascii()
        and whole.isdigit()
        and len(whole) <= _MAX_DIGITS
        and (not dot or (frac.isascii() and frac.isdigit() and len(frac) <= _MAX_DIGITS))
    ):
        raise ValueError(f"not a decimal number: {text[:24]!r}")
    if len(frac) > places:
        if frac[places:].strip("0"):
            raise ValueError(f"more than {places} decimals: {text[:24]!r}")
        frac = frac[:places]
    value = int(whole) * 10**places + (int(frac) * 10 ** (places - len(frac)) if frac else 0)
    return -value if negative else value


def _parse_number(value: object, places: int) -> int:
    """A JSON number (or Decimal) that came where a string was documented."""
    if type(value) is int:
        return value * 10**places
    if isinstance(value, float | Decimal) and not isinstance(value, bool):
        try:
            # float.__repr__, not repr(): a float subclass may print itself differently.
            exact = Decimal(float.__repr__(value)) if isinstance(value, float) else value
            scaled = exact.scaleb(places)
        except (InvalidOperation, ValueError):
            raise ValueError(f"not a finite number: {value!r}") from None
        if not scaled.is_finite():
            raise ValueError(f"not a finite number: {value!r}")
        if scaled != scaled.to_integral_value():
            raise ValueError(f"more than {places} decimals: {value!r}")
        return int(scaled)
    raise ValueError(f"expected a number, got {type(value).__name__}")


def parse_fixed(value: object, places: int) -> int:
    """Parse a wire number into an integer count of ``10**-places`` units."""
    if type(value) is str:
        return _parse_str(value, places)
    return _parse_number(value, places)


def _cached_parser(places: int, doc: str) -> Callable[[object], int]:
    """A parser for one scale with its own cache of wire strings (they repeat endlessly)."""
    cache: dict[str, int] = {}

    def parse(value: object) -> int:
        if type(value) is str:
            hit = cache.get(value)
            if hit is None:
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                hit = cache[value] = _parse_str(value, places)
            return hit
        return _parse_number(value, places)

    parse.__doc__ = doc
    return parse


parse_price = _cached_parser(PRICE_PLACES, "Dollar price -> 1/10,000 dollar.")
parse_size = _cached_parser(SIZE_PLACES, "Contract size -> 1/100 contract.")
parse_money = _cached_parser(MONEY_PLACES, "Dollar amount (fee, cost, P&L, balance) -> 1/1,000,000 dollar.")


def format_fixed(value: int, places: int) -> str:
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}"


def format_price(value: int) -> str:
    """1/10,000 dollar -> the exchange's string, e.g. 5600 -> "0.5600"."""
    return format_fixed(value, PRICE_PLACES)


def format_size(value: int) -> str:
    """1/100 contract -> the exchange's string, e.g. 1000 -> "10.00"."""
    return format_fixed(value, SIZE_PLACES)


def format_money(value: int) -> str:
    """1/1,000,000 dollar -> the exchange's string, e.g. 12345 -> "0.012345"."""
    return format_fixed(value, MONEY_PLACES)


def _trimmed(value: int, unit: int, places: int, grouping: str) -> str:
    """``value / unit`` with only the decimals it needs: 5650/100 -> "56.5"."""
    whole, frac = divmod(abs(value), unit)
    sign = "-" if value < 0 else ""
    text = f"{sign}{whole:{grouping}}"
    return f"{text}.{str(frac).rjust(places, '0').rstrip('0')}" if frac else text


def format_cents(value: int) -> str:
    """Price for people: 5600 -> "56¢", 5650 -> "56.5¢", 125 -> "1.25¢"."""
    return _trimmed(value, CENT, 2, "") + "¢"


def format_contracts(value: int) -> str:
    """Size for people: 1000 -> "10", 1050 -> "10.5", 123456 -> "1,234.56"."""
    return _trimmed(value, SIZE_SCALE, SIZE_PLACES, ",")
