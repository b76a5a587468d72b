"""Everything the details view shows about one market, read from three REST answers: the
market, its event and the event's metadata. Pure: dicts in, an exact record out.

Unknown fields are ignored and missing or unreadable optional ones become None, so one odd
field never hides the rest of the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kalshi_tui.numbers import parse_price, parse_size

#: the 24 h numbers (volume_24h, previous_price) are refetched this often while on screen
DETAILS_REFRESH = 300.0


def iso_ts(value: object) -> int | None:
    """An RFC 3339 time -> unix seconds (None if absent or unreadable)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def price_ranges(raw: object) -> tuple[tuple[int, int, int], ...]:
    """``price_ranges`` -> ((start, end, step), ...) in 1/10,000 dollar; () if any is bad."""
    out = []
    for r in raw if isinstance(raw, list) else ():
        try:
            out.append((parse_price(r["start"]), parse_price(r["end"]), parse_price(r["step"])))
        except (KeyError, TypeError, ValueError):
            return ()
    return tuple(out)


def _price(raw: dict[str, Any], key: str) -> int | None:
    try:
        return parse_price(raw[key]) if raw.get(key) is not None else None
    except (TypeError, ValueError):
        return None


def _size(raw: dict[str, Any], key: str) -> int | None:
    try:
        return parse_size(raw[key]) if raw.get(key) is not None else None
    except (TypeError, ValueError):
        return None


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    return value if isinstance(value, str) else ""


def _number_text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    if isinstance(value, int) or value.is_integer():
        return f"{int(value):,}"
    whole, dot, frac = repr(value).partition(".")
    if not dot or not whole.lstrip("-").isdigit() or not frac.isdigit():
        return repr(value)  # an exponent: rare enough to show as is
    return f"{int(whole):,}.{frac}" if whole != "-0" else f"-0.{frac}"


def strike_text(raw: dict[str, Any]) -> str:
    """The strike in words: "between 46 and 47", "above 112,999.99", a formula..."""
    kind = _text(raw, "strike_type")
    floor, cap = _number_text(raw.get("floor_strike")), _number_text(raw.get("cap_strike"))
    if kind == "between" and floor and cap:
        return f"between {floor} and {cap}"
    words = {
        "greater": ("above", floor),
        "greater_or_equal": ("at or above", floor),
        "less": ("below", cap),
        "less_or_equal": ("at or below", cap),
    }
    if kind in words and words[kind][1]:
        word, value = words[kind]
        return f"{word} {value}"
    if kind == "functional" and _text(raw, "functional_strike"):
        return _text(raw, "functional_strike")
    custom = raw.get("custom_strike")
    if isinstance(custom, dict) and custom:
        return ", ".join(f"{k}: {v}" for k, v in custom.items())
    return kind.replace("_", " ")


def sources(raw: object) -> tuple[tuple[str, str], ...]:
    """``settlement_sources`` -> ((name, url), ...), skipping anything unreadable."""
    out = []
    for s in raw if isinstance(raw, list) else ():
        if isinstance(s, dict) and (s.get("name") or s.get("url")):
            out.append((str(s.get("name") or ""), str(s.get("url") or "")))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class MarketDetails:
    """One market as the details view shows it. Prices in 1/10,000 $, sizes in 1/100
    contract, times in unix seconds; ``fetched_at`` on the caller's monotonic clock."""

    ticker: str
    event_ticker: str = ""
    series_ticker: str = ""  # the event's field: Market objects no longer carry it
    title: str = ""
    subtitle: str = ""
    yes_sub_title: str = ""
    no_sub_title: str = ""
    event_title: str = ""
    event_sub_title: str = ""
    status: str = ""
    result: str = ""
    rules_primary: str = ""
    rules_secondary: str = ""
    open_ts: int | None = None
    close_ts: int | None = None  # trading stops
    expected_expiration_ts: int | None = None  # settles, as planned
    latest_expiration_ts: int | None = None  # settles at the latest: can be a week after close
    can_close_early: bool = False
    strike: str = ""
    price_level_structure: str = ""
    price_ranges: tuple[tuple[int, int, int], ...] = ()
    settlement_sources: tuple[tuple[str, str], ...] = ()
    last_price: int | None = None
    previous_price: int | None = None  # a day ago: the 24 h change is against it
    volume: int | None = None
    volume_24h: int | None = None
    open_interest: int | None = None
    fetched_at: float = 0.0

    @property
    def change_24h(self) -> int | None:
        if self.last_price is None or self.previous_price is None:
            return None
        return self.last_price - self.previous_price


def market_details(
    market: dict[str, Any],
    event: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    fetched_at: float = 0.0,
) -> MarketDetails:
    """``GET /markets/{t}``'s ``market``, ``GET /events/{e}``'s ``event`` and
    ``GET /events/{e}/metadata`` -> MarketDetails. Sources: the metadata's, else the event's."""
    event = event or {}
    metadata = metadata or {}
    found = sources(metadata.get("settlement_sources")) or sources(event.get("settlement_sources"))
    return MarketDetails(
        ticker=_text(market, "ticker"),
        event_ticker=_text(market, "event_ticker") or _text(event, "event_ticker"),
        series_ticker=_text(event, "series_ticker") or _text(market, "series_ticker"),
        title=_text(market, "title") or _text(event, "title"),
        subtitle=_text(market, "subtitle"),
        yes_sub_title=_text(market, "yes_sub_title"),
        no_sub_title=_text(market, "no_sub_title"),
        event_title=_text(event, "title"),
        event_sub_title=_text(event, "sub_title"),
        status=_text(market, "status"),
        result=_text(market, "result"),
        rules_primary=_text(market, "rules_primary"),
        rules_secondary=_text(market, "rules_secondary"),
        open_ts=iso_ts(market.get("open_time")),
        close_ts=iso_ts(market.get("close_time")),
        expected_expiration_ts=iso_ts(market.get("expected_expiration_time")),
        latest_expiration_ts=iso_ts(market.get("latest_expiration_time"))
        or iso_ts(market.get("expiration_time")),
        can_close_early=market.get("can_close_early") is True,
        strike=strike_text(market),
        price_level_structure=_text(market, "price_level_structure"),
        price_ranges=price_ranges(market.get("price_ranges")),
        settlement_sources=found,
        last_price=_price(market, "last_price_dollars"),
        previous_price=_price(market, "previous_price_dollars"),
        volume=_size(market, "volume_fp"),
        volume_24h=_size(market, "volume_24h_fp"),
        open_interest=_size(market, "open_interest_fp"),
        fetched_at=fetched_at,
    )
