"""Screenshots of every tab, pinned: a pre-filled store, a fixed clock, UTC, a fixed size.

Update after an intended visual change with ``pytest tests/test_ui_snapshots.py
--snapshot-update`` and look at the SVGs in tests/__snapshots__/ before committing.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from bench.waiting import until
from tests import ui_fixtures as fx
from tests.ui_fixtures import utc  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("utc")
SIZE = (100, 30)


def test_watchlist(snap_compare: Any) -> None:
    assert snap_compare(fx.make_app(), terminal_size=SIZE)


def test_watchlist_sorted_second_group(snap_compare: Any) -> None:
    assert snap_compare(fx.make_app(), terminal_size=SIZE, press=["full_stop", "j", "s", "s", "s"])


def test_depth(snap_compare: Any) -> None:
    assert snap_compare(fx.make_app(), terminal_size=SIZE, press=["2"])


def test_depth_stale_book(snap_compare: Any) -> None:
    async def stale(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        pilot.app.jump_to_market(fx.STALE_MARKET)  # type: ignore[attr-defined]

    assert snap_compare(fx.make_app(), terminal_size=SIZE, run_before=stale)


def test_depth_ladder_with_trades_120x36(snap_compare: Any) -> None:
    # Wide: the market's trades beside the ladder; the cursor two levels into the bids.
    assert snap_compare(fx.make_app(), terminal_size=(120, 36), press=["2", "j", "j"])


def test_depth_raw_book_80x24(snap_compare: Any) -> None:
    assert snap_compare(fx.make_app(), terminal_size=(80, 24), press=["2", "v"])


def test_trades_all_watched(snap_compare: Any) -> None:
    assert snap_compare(fx.make_app(), terminal_size=SIZE, press=["3", "m"])


def test_fills(snap_compare: Any) -> None:
    assert snap_compare(fx.make_app(), terminal_size=SIZE, press=["4"])


def test_connection(snap_compare: Any) -> None:
    assert snap_compare(fx.make_app(), terminal_size=SIZE, press=["5"])


def test_keys_screen(snap_compare: Any) -> None:
    assert snap_compare(fx.make_app(), terminal_size=SIZE, press=["question_mark"])


def test_watchlist_80x24(snap_compare: Any) -> None:
    assert snap_compare(fx.make_app(), terminal_size=(80, 24))


def test_depth_80x24_light_theme(snap_compare: Any) -> None:
    app = fx.make_app(theme="kalshi-light")
    assert snap_compare(app, terminal_size=(80, 24), press=["2"])


def test_watchlist_high_contrast_theme(snap_compare: Any) -> None:
    app = fx.make_app(theme="kalshi-high-contrast")
    assert snap_compare(app, terminal_size=SIZE)


def _account_loaded(pilot: Pilot[Any]) -> Any:
    async def wait() -> None:
        await pilot.press("6")
        app: Any = pilot.app

        def drawn() -> bool:
            # Drawn, not just fetched: the pane picks up a refresh on the app's next tick.
            grids = ("#positions-grid", "#settled-grid", "#orders-grid")
            counts = [app.query_one(g).row_count for g in grids]
            return "Balance $" in str(app.query_one("#portfolio-summary").render()) and counts[1:] == [2, 2]

        await until(drawn, "the account drawn", pilot=pilot)
        await pilot.pause()

    return wait()


def test_portfolio_80x24(snap_compare: Any) -> None:
    app = fx.make_app(account=fx.FixedAccount())
    assert snap_compare(app, terminal_size=(80, 24), run_before=_account_loaded)


def test_portfolio_120x36(snap_compare: Any) -> None:
    app = fx.make_app(account=fx.FixedAccount())
    assert snap_compare(app, terminal_size=(120, 36), run_before=_account_loaded)


async def _details(pilot: Pilot[Any]) -> None:
    from bench.waiting import until
    from kalshi_tui.ui.details import DetailsPane

    await pilot.pause()
    pilot.app.select_market(fx.WEATHER_MARKET)  # type: ignore[attr-defined]
    await pilot.press("i")
    await until(
        lambda: "Settlement sources" in pilot.app.screen.query_one(DetailsPane).shown("details-rules"),
        "the details drawn",
        pilot=pilot,
    )


def test_details_80x24(snap_compare: Any) -> None:
    assert snap_compare(fx.make_app(rest=fx.FakeRest()), terminal_size=(80, 24), run_before=_details)


def test_details_120x36_us_eastern(snap_compare: Any) -> None:
    app = fx.make_app(rest=fx.FakeRest(), profile=fx.make_profile(timezone="US/Eastern"))
    assert snap_compare(app, terminal_size=(120, 36), run_before=_details)


def _sparklines_loaded(pilot: Pilot[Any]) -> Any:
    async def wait() -> None:
        app: Any = pilot.app
        tickers = set(fx.GROUPS["macro"])
        await until(lambda: tickers <= app.view.sparks.loaded, "the sparklines loaded", pilot=pilot)
        grid = app.watchlist.grid
        spark = [c.key for c in grid.columns].index("spark")
        await until(
            lambda: all(grid.cells(t)[spark][0].strip() for t in tickers if grid.cells(t)),
            "the sparklines drawn",
            pilot=pilot,
        )
        await pilot.pause()

    return wait()


def test_watchlist_120x36_with_sparklines(snap_compare: Any) -> None:
    app = fx.make_app(rest=fx.FakeRest())
    assert snap_compare(app, terminal_size=(120, 36), run_before=_sparklines_loaded)


def _chart(timeframe_presses: int) -> Any:
    async def wait(pilot: Pilot[Any]) -> None:
        from kalshi_tui.ui.chart import PriceChart

        await pilot.pause()
        await pilot.press("c", *["t"] * timeframe_presses)
        chart = pilot.app.screen.query_one(PriceChart)
        label = ("1h", "1d", "1m")[timeframe_presses]
        await until(lambda: chart.text()[0].startswith(f" {label}: "), "the chart drawn", pilot=pilot)
        await pilot.pause()

    return wait


def test_chart_80x24(snap_compare: Any) -> None:
    assert snap_compare(fx.make_app(rest=fx.FakeRest()), terminal_size=(80, 24), run_before=_chart(0))


def test_chart_daily_120x36(snap_compare: Any) -> None:
    assert snap_compare(fx.make_app(rest=fx.FakeRest()), terminal_size=(120, 36), run_before=_chart(1))
