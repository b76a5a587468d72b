"""Reading a market's details from Kalshi's documented shapes (tests/fixtures/rest): pure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kalshi_tui.details import market_details, strike_text
from kalshi_tui.rest import market_meta

REST = Path(__file__).parent / "fixtures" / "rest"


def load(name: str) -> dict[str, Any]:
    return json.loads((REST / f"{name}.json").read_text())


def test_the_details_read_market_event_and_metadata_exactly() -> None:
    d = market_details(
        load("market")["market"], load("event")["event"], load("event_metadata"), fetched_at=12.5
    )
    assert (d.ticker, d.event_ticker, d.series_ticker) == (
        "KXHIGHNY-26DEC02-B46.5",
        "KXHIGHNY-26DEC02",
        "KXHIGHNY",  # the event's: the market no longer carries it
    )
    assert (d.yes_sub_title, d.no_sub_title, d.event_sub_title) == ("46° to 47°", "46° to 47°", "Dec 2, 2026")
    assert d.rules_primary.startswith("If the highest temperature") and "NWS" in d.rules_secondary
    assert d.status == "active" and d.can_close_early
    # Close and the latest expiration are a week apart: both kept.
    assert d.close_ts == 1_796_274_000 and d.latest_expiration_ts == d.close_ts + 7 * 86_400
    assert d.expected_expiration_ts == d.close_ts
    assert d.strike == "between 46 and 47"
    assert d.price_ranges == ((0, 10_000, 100),) and d.price_level_structure == "linear_cent"
    assert d.settlement_sources == (("National Weather Service", "https://www.weather.gov/"),)
    # Exact integers: prices in 1/10,000 $, sizes in 1/100 contract.
    assert (d.last_price, d.previous_price, d.change_24h) == (3200, 2900, 300)
    assert (d.volume, d.volume_24h, d.open_interest) == (1_823_400, 221_000, 512_000)
    assert d.fetched_at == 12.5


def test_odd_or_missing_fields_leave_blanks_not_errors() -> None:
    market = {
        **load("market")["market"],
        "close_time": "not a time",
        "previous_price_dollars": None,
        "volume_24h_fp": "lots",
        "price_ranges": [{"start": "0.0000"}],  # no end, no step
        "latest_expiration_time": None,
        "expiration_time": "2026-12-10T05:00:00Z",  # the deprecated name still counts
    }
    d = market_details(market)  # no event, no metadata
    assert d.close_ts is None and d.previous_price is None and d.change_24h is None
    assert d.volume_24h is None and d.price_ranges == ()
    assert d.latest_expiration_ts == 1_796_878_800
    assert d.series_ticker == "" and d.settlement_sources == ()


def test_sources_fall_back_to_the_events_own() -> None:
    d = market_details(load("market")["market"], load("event")["event"], {"settlement_sources": None})
    assert d.settlement_sources == (("National Weather Service", "https://www.weather.gov/"),)


def test_strikes_in_words() -> None:
    assert strike_text({"strike_type": "greater", "floor_strike": 112999.99}) == "above 112,999.99"
    assert strike_text({"strike_type": "less_or_equal", "cap_strike": 3}) == "at or below 3"
    assert strike_text({"strike_type": "functional", "functional_strike": "max(a, b)"}) == "max(a, b)"
    assert strike_text({"strike_type": "custom", "custom_strike": {"team": "BOS"}}) == "team: BOS"
    assert strike_text({"strike_type": "structured"}) == "structured"
    assert strike_text({}) == ""


def test_market_meta_takes_the_series_from_outside_the_market() -> None:
    market = load("market")["market"]
    assert "series_ticker" not in market  # Kalshi's current Market object
    assert market_meta(market).series_ticker == ""
    assert market_meta(market, "KXHIGHNY").series_ticker == "KXHIGHNY"
    assert market_meta({**market, "series_ticker": "OLD"}).series_ticker == "OLD"  # an old-style answer
