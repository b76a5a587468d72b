"""The depth tab's YES ladder driven by keys: the cursor, scrolling, the raw view one key
away, the trades beside it on a wide terminal, and repaints kept to the lines that moved."""

from __future__ import annotations

import pytest

from kalshi_tui.ladder import ASK, BID, SPREAD
from kalshi_tui.ui.depth import DepthLadder, DepthPane
from kalshi_tui.ui.keys import binding_ids
from kalshi_tui.ui.tape import TradeTape
from tests import ui_fixtures as fx
from tests.ui_fixtures import utc  # noqa: F401 - fixture

H0 = "KXFEDDECISION-26DEC-H0"


def body(ladder: DepthLadder) -> list[str]:
    return [ladder.render_line(y).text for y in range(1, ladder.size.height)]


async def test_the_cursor_walks_the_levels_and_the_ladder_scrolls() -> None:
    app = fx.make_app()
    async with app.run_test(size=(80, 20)) as pilot:  # 13 lines: 7 asks, the spread, 9 bids don't fit
        await pilot.pause()
        app.jump_to_market(H0)
        await pilot.pause()
        ladder = app.query_one(DepthLadder)
        book = app.store.markets[H0].book
        lines = body(ladder)
        spread_at = next(i for i, line in enumerate(lines) if "spread" in line)
        assert ladder.cursor_row()[0] == SPREAD  # type: ignore[index]
        drawn = ladder.lines_rendered
        await pilot.press("j")  # onto the best bid: two lines change, the old and the new cursor
        await pilot.pause()
        row = ladder.cursor_row()
        assert row is not None and row[:2] == (BID, book.yes_bid.price)  # type: ignore[union-attr]
        assert ladder.lines_rendered == drawn + 2
        await pilot.press("k", "k")
        row = ladder.cursor_row()
        assert row is not None and row[:2] == (ASK, book.yes_ask.price)  # type: ignore[union-attr]
        # Down past the last bid: the cursor stops there, the ladder scrolls up just enough.
        await pilot.press(*["j"] * 30)
        await pilot.pause()
        row = ladder.cursor_row()
        worst = book.depth("yes")[-1]
        assert row is not None and row[:2] == (BID, worst.price)
        lines = body(ladder)
        bids = len(book.depth("yes"))
        assert spread_at + bids >= ladder.body_height  # (the test's premise: they didn't fit)
        assert next(i for i, line in enumerate(lines) if "spread" in line) == ladder.body_height - 1 - bids
        assert lines[-1].split()[0] == f"{worst.price // 100}¢"  # scrolled just enough
        # Home: back to the spread, drawn where it was at first.
        await pilot.press("home")
        await pilot.pause()
        assert "spread" in body(ladder)[spread_at]
        # Another market starts at its own spread, wherever the cursor was.
        await pilot.press("j", "j", "right_square_bracket")
        await pilot.pause()
        assert app.selected != H0 and ladder.cursor_row()[0] == SPREAD  # type: ignore[index]


async def test_v_switches_to_the_raw_book_and_back() -> None:
    app = fx.make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("2", "v")
        ladder = app.query_one(DepthLadder)
        header = ladder.render_line(0).text
        assert ladder.raw and "YES bids" in header and "NO bids" in header
        assert not any("spread" in line for line in body(ladder))
        await pilot.press("v")
        assert not ladder.raw and any("spread" in line for line in body(ladder))
        assert binding_ids()["depth-raw"] == "Ladder/raw"


async def test_a_delta_repaints_one_line_of_the_ladder() -> None:
    store = fx.build_store()
    app = fx.make_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        ladder = app.query_one(DepthLadder)
        ticker = app.selected
        book = store.markets[ticker].book  # type: ignore[index]
        bid = book.depth("yes")[1]  # not the biggest level: the bars stay as they are
        assert bid.size < max(s for _, s in book.levels("yes"))
        drawn = ladder.lines_rendered
        store.apply(
            fx.frame(
                "orderbook_delta",
                1,
                900,
                market_ticker=ticker,
                price_dollars=fx.dollars(bid.price),
                delta_fp="0.01",
                side="yes",
            )
        )
        app._tick()
        await pilot.pause()
        # The level's line and the cumulative sizes below it: no line above the change.
        changed = len(book.depth("yes")) - 1
        assert ladder.lines_rendered == drawn + changed


@pytest.mark.usefixtures("utc")
async def test_a_wide_terminal_shows_the_markets_trades_beside_the_ladder() -> None:
    app = fx.make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        tape = app.query_one(TradeTape)
        state = app.store.markets[app.selected]  # type: ignore[index]
        assert tape.display and state.trades
        newest = state.trades[-1]
        first = tape.render_line(1).text.split()
        assert first[1:3] == [f"{newest.yes_price // 100}¢", f"{newest.count // 100:,}"]
        await pilot.press("v")  # the raw view needs the width for its two sides
        assert not tape.display
    narrow = fx.make_app()
    async with narrow.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        assert not narrow.query_one(TradeTape).display
        assert narrow.query_one(DepthPane).query_one(DepthLadder).size.width == 100


async def test_your_no_bid_is_marked_on_the_yes_ask_it_makes() -> None:
    from bench.waiting import until
    from kalshi_tui.ui.depth import MINE

    app = fx.make_app(account=fx.FixedAccount())
    async with app.run_test(size=(100, 30)) as pilot:
        await until(lambda: app.view.account.refreshes > 0, "the account fetched", pilot=pilot)
        app.jump_to_market("KXBTCD-26AUG2717-T112999.99")  # ord-2: a NO bid at 27.5¢
        await pilot.pause()
        ladder = app.query_one(DepthLadder)
        lines = body(ladder)
        spread = next(i for i, line in enumerate(lines) if "spread" in line)
        marked = [(i, line.split()[:2]) for i, line in enumerate(lines) if MINE in line]
        assert marked == [(marked[0][0], [MINE, "72.5¢"])] and marked[0][0] < spread  # an ask
