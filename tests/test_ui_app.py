"""The dashboard driven by keys on a pre-filled store with a fixed clock (no network)."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from rich.console import Console
from textual.command import CommandPalette
from textual.geometry import Region
from textual.widget import Widget

from bench.waiting import until
from kalshi_tui import store as st
from kalshi_tui.config import Profile
from kalshi_tui.protocol import messages as m
from kalshi_tui.store import Store
from kalshi_tui.ui.app import KalshiApp
from kalshi_tui.ui.cells import cents
from kalshi_tui.ui.depth import DepthLadder, DepthPane
from kalshi_tui.ui.header import StatusHeader
from kalshi_tui.ui.help import KeysScreen, keys_table
from kalshi_tui.ui.keys import binding_ids
from kalshi_tui.ui.trades import TradesPane
from kalshi_tui.ui.watchlist import WatchlistPane
from tests import ui_fixtures as fx
from tests.ui_fixtures import utc  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("utc")
SIZE = (100, 30)
MACRO = list(fx.GROUPS["macro"])


class FakeFeed:
    """Records the subscription changes the app asks for; never connects."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.closed = False
        self._stop = asyncio.Event()

    async def run(self) -> None:
        await self._stop.wait()

    async def add_markets(self, tickers: Any) -> None:
        self.calls.append(("add", list(tickers)))

    async def remove_markets(self, tickers: Any) -> None:
        self.calls.append(("remove", list(tickers)))

    async def close(self) -> None:
        self.closed = True
        self._stop.set()


def make_app(store: Store | None = None, **kwargs: Any) -> KalshiApp:
    return fx.make_app(store, **kwargs)  # type: ignore[no-any-return]


def widget_text(widget: Widget) -> str:
    """What a widget shows, as plain text lines."""
    region = Region(0, 0, widget.size.width, widget.size.height)
    return "\n".join(strip.text for strip in widget.render_lines(region))


def toasts(app: KalshiApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def settle(app: KalshiApp) -> None:
    """Wait for the app's short-lived workers (saves, subscription changes), not the feed."""
    others = [w for w in app.workers if w.name != "feed"]
    if others:  # (an empty list would mean "all", the feed included)
        await app.workers.wait_for_complete(others)


def ladder_text(app: KalshiApp) -> list[str]:
    ladder = app.query_one(DepthLadder)
    return [ladder.render_line(y).text for y in range(ladder.size.height)]


async def test_number_keys_switch_tabs_and_focus_follows() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        for key, tab in zip("23451", ("depth", "trades", "fills", "connection", "watchlist"), strict=True):
            await pilot.press(key)
            await pilot.pause()
            assert app.active_tab == tab
            assert app.focused is not None and app.pane(tab) in app.focused.ancestors_with_self


async def test_enter_opens_the_highlighted_market_in_depth() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("j", "j", "enter")
        assert app.active_tab == "depth"
        assert app.selected == MACRO[2]
        title = str(app.query_one("#depth-title").render())
        assert MACRO[2] in title and "Fed cuts 25bp" in title
        # The ladder shows the store's book, best bid first, with cumulative size.
        book = app.store.markets[MACRO[2]].book
        best = book.depth("yes", 2)
        lines = ladder_text(app)
        assert "asks (NO bids) above, bids below" in lines[0]
        spread = next(i for i, line in enumerate(lines) if "spread" in line)
        assert f"spread {book.spread // 100}¢" in lines[spread]
        assert lines[spread + 1].split()[0] == f"{best[0].price // 100}¢"
        assert lines[spread + 2].split()[2] == f"{best[1].cumulative // 100:,}"
        ask = book.yes_ask
        assert ask is not None and lines[spread - 1].split()[:2] == [
            f"{ask.price // 100}¢",
            f"{ask.size // 100:,}",
        ]
        # One key away: the raw book, YES bids and NO bids side by side, best first.
        await pilot.press("v")
        lines = ladder_text(app)
        assert "YES bids" in lines[0] and "NO bids" in lines[0]
        assert lines[1].split()[0] == f"{best[0].price // 100}¢"
        assert lines[2].split()[2] == f"{best[1].cumulative // 100:,}"


async def test_brackets_step_through_the_group_from_any_tab() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        await pilot.press("3")
        await pilot.press("right_square_bracket")
        assert app.selected == MACRO[1]
        assert MACRO[1] in str(app.query_one("#trades-title").render())
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert app.selected == MACRO[-1]  # wraps around
        await pilot.press("1")
        assert app.watchlist.grid.cursor_key == MACRO[-1]


async def test_slash_searches_titles_fuzzily_and_jumps() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        await pilot.press("slash")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"celtics")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == "KXNBAFINALS-27-BOS"
        assert app.current_group == "sports"  # the group that holds it
        assert app.active_tab == "depth"
        assert app.watchlist.grid.cursor_key == "KXNBAFINALS-27-BOS"


async def test_add_market_from_search_saves_the_profile_and_subscribes() -> None:
    saved: list[Profile] = []
    feed = FakeFeed()
    app = make_app(feed=feed, save_profile=saved.append)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"bitcoin")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app)
        ticker = "KXBTCD-26AUG2717-T112999.99"
        assert app.groups["macro"][-1] == ticker
        assert ticker in app.watchlist.grid.row_keys
        assert saved and saved[-1].watchlists["macro"][-1] == ticker
        # Already watched in "crypto": no new subscription needed.
        assert feed.calls == []
        # A ticker the app knows nothing about can be added as typed.
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"KXNEW-26-X")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app)
        assert saved[-1].watchlists["macro"][-1] == "KXNEW-26-X"
        assert feed.calls == [("add", ["KXNEW-26-X"])]


async def test_remove_market_saves_and_unsubscribes_only_when_unwatched() -> None:
    saved: list[Profile] = []
    feed = FakeFeed()
    store = fx.build_store()
    app = make_app(store, feed=feed, save_profile=saved.append)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        await pilot.press("d")
        await settle(app)
        assert MACRO[0] not in app.watchlist.grid.row_keys
        assert MACRO[0] not in saved[-1].watchlists["macro"]
        assert feed.calls == [("remove", [MACRO[0]])]
        assert not store.markets[MACRO[0]].book.synced  # its book can't be kept current
        assert app.watchlist.grid.cursor_key == MACRO[1]
        assert app.selected == MACRO[1]
        # The same market in two groups: removing it from one keeps the subscription.
        app.add_market(MACRO[1], "crypto")
        await pilot.press("d")
        await settle(app)
        assert ("remove", [MACRO[1]]) not in feed.calls


async def test_save_failure_is_a_notification_not_a_crash() -> None:
    def broken(_: Profile) -> None:
        raise OSError("disk full")

    app = make_app(save_profile=broken)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        await pilot.press("d")
        await settle(app)
        await pilot.pause()
        assert any("Couldn't save the watchlist: disk full" in t for t in toasts(app))


async def test_group_switcher_and_sort() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        await pilot.press("full_stop")
        assert app.current_group == "crypto"
        assert app.watchlist.grid.row_keys == list(fx.GROUPS["crypto"])
        assert "crypto (3)" in str(app.query_one("#group-bar").render())
        await pilot.press("comma", "comma")
        assert app.current_group == "sports"
        grid = app.watchlist.grid
        await pilot.press("s", "s", "s")  # Market, Title, Last
        assert grid.sort_column == 2
        lasts = [app.store.markets[k].last_price for k in grid.row_keys]
        assert lasts == sorted(lasts)
        await pilot.press("S")
        lasts = [app.store.markets[k].last_price for k in grid.row_keys]
        assert lasts == sorted(lasts, reverse=True)


async def test_keys_screen_lists_every_binding_id() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        await pilot.press("question_mark")
        assert isinstance(app.screen, KeysScreen)
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(keys_table(app.keymap, app.get_key_display))
        text = console.export_text()
        for binding_id in binding_ids():
            assert binding_id in text
        await pilot.press("escape")
        assert not isinstance(app.screen, KeysScreen)


async def test_profile_bindings_remap_keys_by_id() -> None:
    profile = fx.make_profile(bindings={"tab-depth": "f2", "market-next": "n"})
    app = make_app(profile=profile)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        await pilot.press("2")
        assert app.active_tab == "watchlist"  # 2 no longer means Depth
        await pilot.press("f2")
        assert app.active_tab == "depth"
        await pilot.press("n")
        assert app.selected == MACRO[1]


async def test_unknown_binding_id_is_reported() -> None:
    app = make_app(profile=fx.make_profile(bindings={"tab-deepth": "f2"}))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert any("tab-deepth" in t for t in toasts(app))


async def test_depth_grouping_key_merges_levels() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        await pilot.press("2")
        tick_levels = [line for line in ladder_text(app)[1:] if line.strip()]
        await pilot.press("g", "g")  # tick -> 1¢ -> 5¢
        assert app.query_one(DepthPane).grouping == 2
        assert "grouping 5¢" in str(app.query_one("#depth-stats").render())
        grouped = [line for line in ladder_text(app)[1:] if line.strip() and "spread" not in line]
        assert len(grouped) < len(tick_levels)
        for line in grouped:
            price = int(line.split()[0].rstrip("¢"))
            assert price % 5 == 0


async def test_trades_for_selected_market_or_all_watched() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        await pilot.press("3")
        grid = app.query_one(TradesPane).grid
        mine = {t.market_ticker for t in app.store.trades if t.trade_id in grid.row_keys}
        assert mine == {app.selected}
        await pilot.press("m")
        shown = [t for t in reversed(app.store.trades) if t.trade_id in set(grid.row_keys)]
        assert len({t.market_ticker for t in shown}) > 1
        # Newest first.
        assert grid.row_keys == [
            t.trade_id for t in reversed(app.store.trades) if t.market_ticker in app.watched
        ]


async def test_hidden_tabs_do_no_work() -> None:
    store = fx.build_store()
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        await pilot.press("2")
        ladder = app.query_one(DepthLadder)
        trades = app.query_one(TradesPane).grid
        await pilot.press("1")
        drawn_depth, drawn_trades = ladder.lines_rendered, trades.lines_rendered
        ticker = app.selected
        for i in range(20):
            store.apply(
                fx.frame(
                    "orderbook_delta",
                    1,
                    900 + i,
                    market_ticker=ticker,
                    price_dollars="0.5500",
                    delta_fp="1.00",
                    side="yes",
                )
            )
            app._tick()
        await pilot.pause()
        assert ladder.lines_rendered == drawn_depth
        assert trades.lines_rendered == drawn_trades
        await pilot.press("2")
        await pilot.pause()
        assert ladder.lines_rendered > drawn_depth
        assert any(" 55¢ " in line for line in ladder_text(app)[1:])


async def test_a_tick_repaints_only_the_changed_row() -> None:
    store = fx.build_store()
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        grid = app.watchlist.grid
        before = grid.lines_rendered
        store.apply(fx.frame("ticker", 2, market_ticker=MACRO[1], price_dollars="0.6100", volume_fp="10.00"))
        app._tick()
        await pilot.pause()
        assert grid.lines_rendered == before + 1
        row = grid.cells(MACRO[1])
        assert row is not None and row[2] == ("61¢", "up")
        assert grid._flashes[MACRO[1]]  # last, change and volume flash on the change
        app.action_toggle_flash()
        assert not grid._flashes


async def test_a_drop_and_recovery_between_two_ticks_are_both_told() -> None:
    """The stream counts drops; a tick that only ever sees LIVE must still say what happened."""
    store = fx.build_store()
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app._tick()
        assert store.metrics.state == st.LIVE
        store.set_state(st.RECONNECTING)
        store.count_reconnect()
        store.set_state(st.LIVE)
        app._tick()
        await pilot.pause()  # a toast is a message to the app
        said = toasts(app)
        assert any("Connection lost: reconnecting." in t for t in said), said
        assert any("Reconnected: books rebuilt" in t for t in said), said
        app._tick()
        await pilot.pause()
        assert len(toasts(app)) == len(said)  # each said once


@pytest.mark.parametrize("into_view", ["scroll", "taller terminal"])
async def test_rows_off_screen_wait_until_they_come_into_view(into_view: str) -> None:
    store = fx.build_store()
    everything = [t for t, _, _ in fx.MARKETS]
    app = make_app(store, profile=fx.make_profile(watchlists={"all": everything}))
    async with app.run_test(size=(100, 12)) as pilot:
        await pilot.pause()
        grid = app.watchlist.grid
        last = everything[-1]
        assert last not in grid.visible_keys()
        store.apply(fx.frame("ticker", 2, market_ticker=last, price_dollars="0.9100"))
        app._tick()
        assert grid.cells(last)[2][0] != "91¢"  # type: ignore[index]
        if into_view == "scroll":
            await pilot.press("end")
        else:
            await pilot.resize_terminal(100, 40)
        await until(lambda: last in grid.visible_keys(), "the last row on screen", pilot=pilot)
        app._tick()
        assert grid.cells(last)[2][0] == "91¢"  # type: ignore[index]


async def test_stale_book_shows_a_banner_and_the_badge_counts_it() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        assert "1 resyncing" in app.query_one(StatusHeader).badge_text
        app.jump_to_market(fx.STALE_MARKET)
        await pilot.pause()
        banner = app.query_one("#depth-banner")
        assert banner.display
        assert "sequence gap" in str(banner.render())
        row = app.watchlist.grid.cells(fx.STALE_MARKET)
        assert row is not None and row[-1] == ("stale", "warn")
        app.jump_to_market(MACRO[0])
        await pilot.pause()
        assert not banner.display


async def test_connection_state_drives_the_badge_and_toasts() -> None:
    store = fx.build_store()
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        header = app.query_one(StatusHeader)
        store.set_state(st.RECONNECTING)  # as the stream does on a drop: state and count
        store.count_reconnect()
        app._tick()
        await pilot.pause()
        assert header.badge_text == "↻ RECONNECTING"
        assert any("reconnecting" in t for t in toasts(app))
        store.set_state(st.LIVE)
        app._tick()
        await pilot.pause()
        assert header.badge_text.startswith("◐ LIVE")
        assert any("Reconnected" in t for t in toasts(app))
        store.set_state(st.DOWN)
        app._tick()
        await pilot.pause()
        assert header.badge_text == "✕ DOWN"


async def test_errors_show_as_notifications_and_in_the_connection_tab() -> None:
    store = fx.build_store()
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        store.record_error(27, "sid 5")
        store.record_error(27, "sid 6")  # same code again at once: no second toast
        app._tick()
        await pilot.pause()
        found = [t for t in toasts(app) if "Too many commands" in t]
        assert len(found) == 1 and "Error 27" in found[0]
        await pilot.press("5")
        text = widget_text(app.query_one("#conn-errors"))
        assert "Too many commands" in text
        assert "27 x2" in text


async def test_bad_or_missing_data_never_crashes() -> None:
    store = Store(clock=lambda: fx.NOW)
    store.apply(fx.frame("ticker", 2, market_ticker="KX-A", price_dollars=""))
    # A delta before any snapshot, pushing a level negative: the book can't be trusted.
    store.apply(
        fx.frame(
            "orderbook_delta", 1, 5, market_ticker="KX-B", price_dollars="0.4000", delta_fp="-3.00", side="no"
        )
    )
    profile = Profile.create("p", "demo", watchlists={"w": ["KX-A", "KX-B", "KX-NOTHING"]})
    app = make_app(store, profile=profile)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        grid = app.watchlist.grid
        assert grid.row_keys == ["KX-A", "KX-B", "KX-NOTHING"]
        assert grid.cells("KX-NOTHING")[2] == ("—", "dim")  # type: ignore[index]
        for key in "2345":
            await pilot.press(key)
        await pilot.press("2", "right_square_bracket", "right_square_bracket")
        assert app.selected == "KX-NOTHING"
        assert "no data for this market yet" in str(app.query_one("#depth-banner").render())
        assert app.query_one(WatchlistPane) is not None


async def test_quit_closes_the_feed() -> None:
    feed = FakeFeed()
    app = make_app(feed=feed)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # focus lands after the first refresh
        await pilot.press("q")
    assert feed.closed
    assert app.return_code == 0


# -- dozing ------------------------------------------------------------------------------------


async def test_a_quiet_app_dozes_and_its_next_frame_wakes_it_at_once() -> None:
    """Nothing new for a second: the refresh timer stops (one tick a second draws the clocks)
    and the store calls the app back at the next frame, which shows at the refresh rate."""
    app = fx.make_app()
    ticker = fx.MARKETS[0][0]
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.dozing, "the quiet app dozes", pilot=pilot)
        assert app.store.wake == app.wake
        book = app.store.markets[ticker].book
        assert book.yes_bid is not None
        price = book.yes_bid.price + 100  # a better bid, one cent up
        app.store.apply(m.OrderbookDelta(market_ticker=ticker, side="yes", price=price, delta=500))
        assert not app.dozing and app.wakes == 1 and app.store.wake is None
        grid = app.watchlist.grid
        await until(lambda: grid.cells(ticker)[4][0] == cents(price), "the new bid shown", pilot=pilot)  # type: ignore[index]
        await until(lambda: app.dozing, "quiet again: it dozes again", pilot=pilot)


async def test_a_key_wakes_a_dozing_app() -> None:
    app = fx.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.dozing, "the quiet app dozes", pilot=pilot)
        await pilot.press("down")
        assert app.wakes == 1
