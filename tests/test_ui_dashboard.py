"""The dashboard as a new user meets it: outages at start-up, signals, toasts, narrow screens."""

from __future__ import annotations

import re
from collections.abc import Callable

from textual.app import App, ComposeResult

from bench.waiting import until
from kalshi_tui import store as st
from kalshi_tui.book import OrderBook
from kalshi_tui.config import Profile, StreamSettings
from kalshi_tui.rest import RestClient
from kalshi_tui.sim import Simulator
from kalshi_tui.store import Store
from kalshi_tui.stream import Pool
from kalshi_tui.ui.app import KalshiApp
from kalshi_tui.ui.cells import market_title
from kalshi_tui.ui.depth import DepthLadder
from kalshi_tui.ui.grid import Column, LiveGrid
from kalshi_tui.ui.help import KeysScreen
from kalshi_tui.ui.watchlist import WatchlistPane
from tests import ui_fixtures as fx
from tests.test_ui_app import widget_text
from tests.ui_fixtures import REPO_THEMES

SIZE = (100, 30)


def screen_line(app: App[object], y: int) -> str:
    """Line ``y`` of the screen as the terminal would show it."""
    return app.screen._compositor.render_strips()[y].text


FAST = StreamSettings(backoff_base=0.1, backoff_cap=0.3, stable_after=0.0)


async def test_market_titles_load_after_a_rest_outage_at_start_up(make_sim: Callable[..., Simulator]) -> None:
    async with make_sim(seed=7, rate=50, markets=6) as sim:
        assert sim.signer is not None
        watched = sim.tickers[:3]
        sim.faults.fail_rest(3)  # the first three REST calls fail, as in an outage
        profile = Profile.create(
            "t",
            "custom",
            ws_url=sim.ws_url,
            rest_url=sim.rest_url,
            key_id=sim.key_id,
            watchlists={"w": watched},
        )
        store = Store()
        rest = RestClient(sim.rest_url, sim.signer)
        app = KalshiApp(store, rest=rest, profile=profile, theme_folders=[REPO_THEMES], watch_terminal=False)
        app.meta_retry_first = 0.05  # the backoff starts short here; the schedule is the app's
        try:
            async with app.run_test(size=SIZE) as pilot:

                def loaded() -> bool:
                    return all(t in store.markets and store.markets[t].meta for t in watched)

                await until(loaded, "market titles after the outage")
                await until(lambda: bool(app.catalog), "the market catalogue after the outage")
                assert sim.faults.rest_failures == 0
                assert all(store.markets[t].status for t in watched)
                await pilot.pause(0.3)  # a refresh tick draws the titles
                title = market_title(store.markets[watched[0]].meta)
                await until(
                    lambda: title[:12] in widget_text(app.query_one(WatchlistPane).grid), "title shown"
                )
                said = [str(n.message) for n in app._notifications if "Couldn't load" in str(n.message)]
                assert len(said) <= 2, said  # one sentence per kind of data, not one per try
        finally:
            await rest.aclose()


async def test_a_refused_key_is_one_toast(make_sim: Callable[..., Simulator]) -> None:
    async with make_sim(seed=7, rate=50, markets=6) as sim:
        assert sim.signer is not None
        sim.faults.refuse_handshakes(600)  # every upgrade answered 401
        profile = Profile.create(
            "t",
            "custom",
            ws_url=sim.ws_url,
            rest_url=sim.rest_url,
            key_id=sim.key_id,
            watchlists={"w": sim.tickers[:2]},
            stream=FAST,
        )
        store = Store()
        pool = Pool(sim.ws_url, sim.signer, store, profile.stream, markets=profile.tickers)
        app = KalshiApp(store, feed=pool, profile=profile, theme_folders=[REPO_THEMES], watch_terminal=False)
        try:
            async with app.run_test(size=SIZE) as pilot:
                await until(lambda: store.metrics.state == st.AUTH_FAILED, "the key refused")
                await until(
                    lambda: not any(w.name == "feed" and not w.is_finished for w in app.workers),
                    "the feed gave up",
                )
                ticks = app.ticks
                await until(lambda: app.ticks > ticks + 3, "a few refresh ticks")
                await pilot.pause()
                said = [n for n in app._notifications if "refused our key" in str(n.message)]
                assert len(said) == 1, [f"{n.title}: {n.message}" for n in said]
                assert said[0].title == "Sign-in failed"
        finally:
            await pool.close()


async def test_ctrl_c_says_how_to_quit_in_plain_words() -> None:
    app = fx.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+c")
        await until(lambda: bool(app._notifications), "the ctrl+c hint")
        (note,) = list(app._notifications)
        assert "[" not in str(note.message), note.message
        assert str(note.message).endswith("q to quit.")
        assert app.is_running


async def test_at_80_columns_a_long_ticker_stays_in_the_header() -> None:
    app = fx.make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.jump_to_market(fx.RECORDED_MARKET)  # the longest ticker of the fixture
        await pilot.pause()
        shown = screen_line(app, 0)
        assert "KXMAXSHARDINGTEST" in shown, shown
        app.jump_to_market(fx.MARKETS[0][0])
        await pilot.pause()
        shown = screen_line(app, 0)
        # The market ends the note, whole; only the data's age comes after it.
        assert re.search(rf" {fx.MARKETS[0][0]}  data [^ ]+$", shown.rstrip()), shown


async def test_keys_screen_scrolls_with_j_and_k_and_closes_with_q() -> None:
    app = fx.make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, KeysScreen), "the keys screen")
        box = app.screen.query_one("#keys-box")
        assert box.max_scroll_y > 3  # more keys than lines at 80x24
        await pilot.press("j", "j", "j", "j")
        await until(lambda: box.scroll_y == 4, "j scrolls down")
        await pilot.press("k")
        await until(lambda: box.scroll_y == 3, "k scrolls up")
        await pilot.press("G")
        await until(lambda: box.scroll_y == box.max_scroll_y, "G goes to the end")
        await pilot.press("q")
        await until(lambda: not isinstance(app.screen, KeysScreen), "q closes it")
        assert app.is_running


async def test_footer_at_60x20_shows_whole_keys_only() -> None:
    app = fx.make_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        line = screen_line(app, 19)
        assert line.rstrip().endswith("▏^p Palette"), line
        pairs = []
        for active in app.screen.active_bindings.values():
            b = active.binding
            pair = f"{app.get_key_display(b)} {b.description}"
            if b.show and b.key != app.COMMAND_PALETTE_BINDING and pair not in pairs:
                pairs.append(pair)
        left = line.split("▏")[0].rstrip()
        # The keys left of the palette are whole "key Description" pairs, in order: the
        # ones that don't fit are left out, never cut to a stray character.
        assert any(left == " ".join(pairs[:k]) for k in range(1, len(pairs) + 1)), (line, pairs)


class WideNumbers(App[None]):
    def compose(self) -> ComposeResult:
        yield LiveGrid(
            [Column("name", "Name", 8, "left"), Column("volume", "Volume", 9), Column("fee", "Fee", 6)],
            id="grid",
        )


async def test_numeric_columns_widen_to_their_widest_value() -> None:
    app = WideNumbers()
    async with app.run_test(size=(220, 8)) as pilot:
        grid = app.query_one(LiveGrid)
        grid.set_row("a", (("a", ""), ("1,234.00", ""), ("$0.01", "")))
        grid.set_row("b", (("b", ""), ("123,034.56", ""), ("$1,234.567890", "")))
        await pilot.pause()
        text = "\n".join(grid.render_line(y).text for y in range(3))
        assert "123,034.56" in text and "$1,234.567890" in text, text
        assert "…" not in text


class Ladder(App[None]):
    def compose(self) -> ComposeResult:
        yield DepthLadder(id="ladder")


async def test_depth_ladder_numbers_widen_to_their_widest_value() -> None:
    book = OrderBook("KXBIG")
    # Sizes in 1/100 contract: 123,034.56 and 1,234,567,890.12 contracts.
    book.apply_snapshot([(4500, 12_303_456), (4400, 123_456_789_012)], [(5000, 100)])
    app = Ladder()
    async with app.run_test(size=(220, 8)) as pilot:
        ladder = app.query_one(DepthLadder)
        ladder.show_book(book, 0)
        await pilot.pause()
        text = "\n".join(ladder.render_line(y).text for y in range(ladder.size.height))
        assert "123,034.56" in text and "1,234,567,890.12" in text, text
        assert "1,234,690,924.68" in text, text  # the cumulative size
        assert "…" not in text, text
