"""The details screen (``i``) driven by Pilot on the fixture store, with REST answered from
tests/fixtures/rest (no sockets here: tests/test_details_live.py has the simulator)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from bench.waiting import until
from kalshi_tui.details import DETAILS_REFRESH
from kalshi_tui.ui.details import DetailsPane, DetailsScreen, countdown_text
from kalshi_tui.ui.help import KeysScreen
from tests import ui_fixtures as fx
from tests.ui_fixtures import (
    ticks,
    utc,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.usefixtures("utc")
SIZE = (100, 30)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def shown(app: Any) -> str:
    pane = app.screen.query_one(DetailsPane)
    blocks = ("details-head", "details-times", "details-numbers", "details-rules")
    return "\n".join(pane.shown(w) for w in blocks)


async def open_details(pilot: Pilot[Any], ticker: str = fx.WEATHER_MARKET) -> None:
    app: Any = pilot.app
    await pilot.pause()
    app.select_market(ticker)
    await pilot.press("i")
    await until(lambda: "Settlement sources" in shown(app), "the details drawn", pilot=pilot)


async def test_i_shows_the_selected_markets_details_and_escape_goes_back() -> None:
    rest = fx.FakeRest()
    app = fx.make_app(rest=rest)
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot)
        assert isinstance(app.screen, DetailsScreen)
        text = shown(app)
        for part in (
            "NYC high temperature 88-89°F today",  # title
            "Yes: 88° to 89° · No: 88° to 89°",  # subtitles
            "series KXHIGHNY",  # from the event: the market no longer says
            "Closes         Thu 2026-08-27 19:13 UTC     in 02:13:00",
            "Latest exp.    Thu 2026-09-03 19:13 UTC     in 7d 02:13:00",  # a week after close
            "between 88 and 89",
            "0¢ to 100¢ by 1¢",
            "24 h change",
            "24 h 2,210",
            "according to the National Weather Service",  # rules, primary
            "final NWS Climatological Report",  # and secondary
            "National Weather Service  https://www.weather.gov/",  # the event metadata's source
        ):
            assert part in text, part
        assert rest.asked == [fx.WEATHER_MARKET]
        await pilot.press("escape")
        assert not isinstance(app.screen, DetailsScreen)
        assert app.active_tab == "watchlist"


async def test_the_24h_change_is_against_previous_price_and_the_live_last_price() -> None:
    app = fx.make_app(rest=fx.FakeRest())
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot)
        last = app.store.markets[fx.WEATHER_MARKET].last_price
        assert last is not None
        change = last - 2900  # previous_price_dollars "0.2900" in the fixture
        sign = "+" if change > 0 else ""
        assert f"24 h change {sign}{change / 100:g}¢ (from 29¢)" in shown(app)


async def test_a_quiet_screen_draws_once_a_second_for_the_countdown() -> None:
    wall = Clock(fx.WALL)
    app = fx.make_app(rest=fx.FakeRest(), wall_clock=wall)
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot)
        pane = app.screen.query_one(DetailsPane)
        draws = pane.draws
        await ticks(app, pilot, 10)
        assert pane.draws == draws  # the same second: nothing to draw
        wall.t += 1
        await until(lambda: pane.draws > draws, "the countdown's next second", pilot=pilot)
        await ticks(app, pilot, 10)
        assert pane.draws == draws + 1
        assert "in 02:12:59" in shown(app)


async def test_details_are_refetched_after_five_minutes_on_screen() -> None:
    clock, wall = Clock(fx.NOW), Clock(fx.WALL)
    rest = fx.FakeRest(clock)
    app = fx.make_app(rest=rest, clock=clock, wall_clock=wall)
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot)
        pane = app.screen.query_one(DetailsPane)
        clock.t += DETAILS_REFRESH - 1
        wall.t += 1  # a new second: the pane looks again, and the details are still fresh
        draws = pane.draws
        await until(lambda: pane.draws > draws, "the next second drawn", pilot=pilot)
        assert rest.asked == [fx.WEATHER_MARKET]
        clock.t += 1
        wall.t += 1
        await until(lambda: len(rest.asked) == 2, "the 24 h numbers refetched", pilot=pilot)


async def test_times_follow_the_profiles_time_zone() -> None:
    app = fx.make_app(rest=fx.FakeRest(), profile=fx.make_profile(timezone="US/Eastern"))
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot)
        text = shown(app)
        assert "Times (US/Eastern)" in text
        assert "Closes         Thu 2026-08-27 15:13 EDT" in text


async def test_stepping_markets_on_the_details_screen_shows_the_next_ones_details() -> None:
    rest = fx.FakeRest()
    app = fx.make_app(rest=rest)
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, fx.MARKETS[0][0])
        await pilot.press("right_square_bracket")
        nxt = app.selected
        assert nxt != fx.MARKETS[0][0] and isinstance(app.screen, DetailsScreen)
        await until(
            lambda: nxt in shown(app) and "Rules" in shown(app), "the next market's details", pilot=pilot
        )
        assert rest.asked == [fx.MARKETS[0][0], nxt]


async def test_a_failed_fetch_is_one_sentence_and_the_app_keeps_running() -> None:
    rest = fx.FakeRest()
    rest.fail.add(fx.WEATHER_MARKET)
    app = fx.make_app(rest=rest)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.select_market(fx.WEATHER_MARKET)
        await pilot.press("i")
        await until(lambda: "Couldn't load the details" in shown(app), "the failure shown", pilot=pilot)
        assert "HTTP 503" in shown(app) and "Traceback" not in shown(app)
        assert "NYC high temperature" in shown(app)  # what the store knows is still there
        await pilot.press("escape", "2")
        assert app.active_tab == "depth"


async def test_the_details_key_is_listed_on_the_keys_screen() -> None:
    app = fx.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, KeysScreen)
        table = app.screen.query_one("#keys-table")
        text = "\n".join(strip.text for strip in table.render_lines(table.region.reset_offset))
        assert "Details" in text and "details-close" in text


def test_countdowns_tick_in_seconds_and_the_past_is_coarse() -> None:
    assert countdown_text(2 * 3600 + 13 * 60) == "in 02:13:00"
    assert countdown_text(7 * 86_400 + 59) == "in 7d 00:00:59"
    assert countdown_text(-30) == "just now"
    assert countdown_text(-(5 * 60 + 59)) == "5m ago"
    assert countdown_text(-(3 * 86_400 + 3600 + 5)) == "3d01h ago"
