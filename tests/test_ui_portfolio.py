"""The Portfolio tab: the real app on the fixture store (Pilot), and against the simulator
over real sockets (a position appears after a fill)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from rich.console import Console

from bench.waiting import until
from kalshi_tui import store as st
from kalshi_tui.account import RestingOrder
from kalshi_tui.portfolio import mark_at_bids
from kalshi_tui.sim import Simulator
from kalshi_tui.ui.app import KalshiApp
from kalshi_tui.ui.cells import contracts
from kalshi_tui.ui.depth import MINE, DepthLadder, own_levels
from kalshi_tui.ui.grid import LiveGrid
from kalshi_tui.ui.help import keys_table
from kalshi_tui.ui.portfolio import MARK_EVERY as PORTFOLIO_MARK_EVERY
from kalshi_tui.ui.portfolio import PortfolioPane
from tests import ui_fixtures as fx
from tests.test_ui_live import live

SIZE = (120, 36)


def grid_text(app: KalshiApp, grid: str) -> dict[str, list[str]]:
    g = app.query_one(f"#{grid}", LiveGrid)
    return {k: [text for text, _ in g.cells(k) or ()] for k in g.row_keys}


def title(app: KalshiApp, widget: str) -> str:
    return str(app.query_one(f"#{widget}").render())


def summary(app: KalshiApp) -> str:
    return title(app, "portfolio-summary")


async def test_portfolio_tab_shows_positions_marks_totals_and_the_account() -> None:
    source = fx.FixedAccount()
    app = fx.make_app(account=source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        # Drawn, not just fetched: the pane picks up a refresh on the app's next tick.
        await until(lambda: grid_text(app, "orders-grid"), "the account drawn", pilot=pilot)
        assert app.active_tab == "portfolio"
        rows = grid_text(app, "positions-grid")
        h0 = "KXFEDDECISION-26DEC-H0"
        # Live positions and the REST-only one, each once, then the totals.
        assert list(rows)[:5] == sorted([*(t for t, *_ in fx.POSITIONS), "KXNBAFINALS-27-BOS"])
        assert rows[h0][1] == "YES" and rows[h0][2] == "1,234.56"
        assert rows["KXBTCD-26AUG2717-T112999.99"][1:3] == ["NO", "25.75"]
        # The mark walks the YES bids: more than the top level holds.
        book = app.store.markets[h0].book
        top = book.yes_bid
        assert top is not None and top.size < 123_456
        mark = mark_at_bids(book, 123_456)
        assert mark is not None
        assert rows[h0][5].rstrip("*") == fx_dollars(mark.value)
        assert rows[h0][5].endswith("*") == bool(mark.unsold)
        # The stale market and the unwatched one have no mark; the totals say so.
        assert rows[fx.STALE_MARKET][5] == "—" and rows["KXOTHER-26DEC-X"][5] == "—"
        assert rows["Σ"][0] == "Σ all (5, 2 unmarked)"
        assert rows["Σnot watched"][0] == "Σ not watched (1, 1 unmarked)"
        assert rows["Σnot watched"][5] == "—"  # nothing to add up: no $0.00
        assert rows["Σmacro"][0] == "Σ macro (2, 1 unmarked)"
        assert list(rows).index("Σ") == 5  # the overall total right under the positions
        # Balance and value from REST, with the age of the account data.
        text = summary(app)
        assert "Balance $9,876.54321" in text and "Portfolio value $812.34" in text
        assert "account data 10s old" in text
        settled = grid_text(app, "settled-grid")
        assert [r[4] for r in settled.values()] == ["$10.00", "$0.00"]
        assert [r[5] for r in settled.values()] == ["+$5.73", "-$0.823875"]
        orders = grid_text(app, "orders-grid")
        assert orders["ord-2"][1:4] == ["bid NO", "27.5¢", "4"]


def fx_dollars(value: int) -> str:
    from kalshi_tui.ui.cells import dollars

    return dollars(value)


async def test_a_fill_refreshes_the_account_and_a_position_update_redraws() -> None:
    source = fx.FixedAccount()
    app = fx.make_app(account=source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await until(lambda: source.calls >= 1 and app.view.account.refreshes >= 1, "first fetch", pilot=pilot)
        calls = source.calls
        fill = fx.frame(
            "fill",
            4,
            trade_id="f-new",
            order_id="o-new",
            market_ticker="KXFEDDECISION-26DEC-H25",
            outcome_side="yes",
            action="buy",
            yes_price_dollars="0.1200",
            count_fp="2.50",
            fee_cost="0.001234",
        )
        app.store.apply(fill)
        app.store.apply(
            fx.frame(
                "market_position",
                5,
                market_ticker="KXFEDDECISION-26DEC-H25",
                position_fp="2.50",
                position_cost_dollars="0.300000",
                realized_pnl_dollars="0",
                fees_paid_dollars="0.001234",
            )
        )
        await until(lambda: source.calls > calls, "a refresh after the fill", pilot=pilot)
        await until(
            lambda: "KXFEDDECISION-26DEC-H25" in grid_text(app, "positions-grid"), "the new row", pilot=pilot
        )
        row = grid_text(app, "positions-grid")["KXFEDDECISION-26DEC-H25"]
        assert row[1:5] == ["YES", "2.5", "12¢", "$0.30"]


async def test_a_reconnect_reads_the_account_again_at_once() -> None:
    """Orders and positions that changed while the socket was down are not sent again by the
    exchange: back to LIVE, the account (and its resting orders) is fetched at once."""
    source = fx.FixedAccount()
    app = fx.make_app(account=source)
    assert app.account_poller is not None
    app.account_poller.every = 3600.0  # no periodic refresh can pass for the prompted one
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: source.calls >= 1 and app.view.account.refreshes >= 1, "first fetch", pilot=pilot)
        calls = source.calls
        app.store.count_reconnect()
        app.store.set_state(st.RECONNECTING)
        await until(lambda: app._rebuilding, "the drop seen", pilot=pilot)
        assert source.calls == calls  # not while down
        app.store.set_state(st.LIVE)
        await until(lambda: source.calls > calls, "the account read again", pilot=pilot)


async def test_endpoints_the_server_lacks_are_said_not_crashed() -> None:
    app = fx.make_app(account=fx.FixedAccount(settlements=False, orders=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await until(lambda: "not served" in title(app, "orders-title"), "the titles drawn", pilot=pilot)
        titles = [title(app, w) for w in ("settled-title", "orders-title")]
        assert titles == [
            "Settled positions: not served by this exchange",
            "Resting orders: not served by this exchange",
        ]


class Failing:
    async def account(self, *, now: float) -> Any:
        from kalshi_tui.rest import RestError

        raise RestError("GET /portfolio/balance: HTTP 401")


async def test_a_failed_refresh_is_one_sentence_and_the_app_keeps_running() -> None:
    app = fx.make_app(account=Failing())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await until(lambda: "refresh failed" in summary(app), "the failure drawn", pilot=pilot)
        assert "refresh failed: GET /portfolio/balance: HTTP 401" in summary(app)
        # Positions from the socket still show, marked on the books.
        assert "KXFEDDECISION-26DEC-H0" in grid_text(app, "positions-grid")
        await pilot.press("1")
        await until(lambda: app.active_tab == "watchlist", "the watchlist shown", pilot=pilot)


async def test_portfolio_is_listed_in_the_keys_screen() -> None:
    app = fx.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(keys_table(app.keymap, app.get_key_display))
        assert any(
            "Portfolio" in line and "tab-portfolio" in line for line in console.export_text().splitlines()
        )


async def test_a_position_shows_after_a_fill_on_the_simulator(make_sim: Callable[..., Simulator]) -> None:
    """Real sockets: the simulator's demo account fills, the market_positions channel and REST
    carry the position, and the tab shows it with the exchange's numbers and a mark."""
    async with live(make_sim, slice(None), size=SIZE, account=True, markets=6, user_share=0.5) as env:
        app, store, sim, pilot = env.app, env.app.store, env.sim, env.pilot
        await pilot.press("6")
        await until(lambda: store.positions, "a fill and its position", pilot=pilot)
        pane = app.query_one(PortfolioPane)

        def shown() -> bool:
            rows = grid_text(app, "positions-grid")
            return any(t in rows for t in store.positions if store.positions[t].position)

        await until(shown, "a position row", pilot=pilot)
        await until(lambda: app.view.account.balance is not None, "the balance", pilot=pilot)
        sim.pause()  # hold the account still: the tab redraws positions twice a second
        matched: list[str] = []

        def row_is_current() -> bool:
            """Some open position's row shows the exchange's side and cost (frames in
            flight may still land: read the store afresh each time)."""
            rows = grid_text(app, "positions-grid")
            matched[:] = [
                t
                for t, p in store.positions.items()
                if p.position
                and t in rows
                and rows[t][1] == ("YES" if p.position > 0 else "NO")
                and rows[t][4] == fx_dollars(p.position_cost or 0)
            ]
            return bool(matched)

        await until(row_is_current, "a row showing the exchange's position", pilot=pilot)
        ticker = matched[0]
        assert any(r.holding.ticker == ticker and r.bids is not None for r in pane.rows())
        await until(lambda: "Balance $" in summary(app), "the balance drawn", pilot=pilot)


def test_own_orders_rest_on_their_book_side() -> None:
    def order(
        oid: str, side: str, book_side: str, yes_price: int, left: int, ticker: str = "KX-A"
    ) -> RestingOrder:
        return RestingOrder(oid, ticker, side, book_side, yes_price, left, left)

    orders = [
        order("a", "yes", "bid", 5100, 950),
        order("b", "yes", "bid", 5150, 50),
        order("c", "no", "bid", 7250, 400),  # NO bid at 27.5¢
        order("d", "yes", "ask", 6000, 100),  # selling YES at 60¢ = a NO bid at 40¢
        order("e", "yes", "bid", 5100, 100, ticker="KX-B"),
    ]
    assert own_levels(orders, "KX-A", 0) == {
        ("yes", 5100): 950,
        ("yes", 5150): 50,
        ("no", 2750): 400,
        ("no", 4000): 100,
    }
    # Grouped by 1¢ like the ladder: 51.5¢ joins the 51¢ bucket.
    assert own_levels(orders, "KX-A", 100)[("yes", 5100)] == 1000


async def test_own_resting_orders_are_marked_on_the_depth_ladder() -> None:
    app = fx.make_app(account=fx.FixedAccount())
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.view.account.refreshes > 0, "the account fetched", pilot=pilot)
        app.jump_to_market("KXFEDDECISION-26DEC-H0")
        await pilot.pause()
        ladder = app.query_one(DepthLadder)
        half = (ladder.size.width - 1) // 2
        lines = [ladder.render_line(y).text for y in range(1, ladder.size.height)]
        marked = [line[:half].split()[:2] for line in lines if MINE in line]
        assert marked == [[MINE, "51¢"]]
        assert "your orders" in str(app.query_one("#depth-stats").render())


async def test_book_moves_redraw_marks_at_most_twice_a_second() -> None:
    """Marks follow the book, but not at the tick rate: each repaint is bytes over SSH."""
    t = [fx.NOW]
    app = KalshiApp(
        fx.build_store(),
        profile=fx.make_profile(),
        theme_folders=[fx.REPO_THEMES],
        clock=lambda: t[0],
        wall_clock=lambda: fx.WALL,
        watch_terminal=False,
    )
    h0 = "KXFEDDECISION-26DEC-H0"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await pilot.pause()
        before = grid_text(app, "positions-grid")[h0][5]
        top = app.store.markets[h0].book.yes_bid
        assert top is not None
        app.store.apply(
            fx.frame(
                "orderbook_delta",
                1,
                9_999,
                market_ticker=h0,
                price_dollars=fx.dollars(top.price),
                delta_fp=fx.size(-top.size),
                side="yes",
            )
        )
        t[0] += PORTFOLIO_MARK_EVERY / 5
        app._tick()
        assert grid_text(app, "positions-grid")[h0][5] == before  # not yet
        t[0] += PORTFOLIO_MARK_EVERY
        app._tick()
        after = grid_text(app, "positions-grid")[h0][5]
        mark = mark_at_bids(app.store.markets[h0].book, 123_456)
        assert mark is not None and after.rstrip("*") == fx_dollars(mark.value) and after != before


async def test_resting_orders_follow_the_socket_between_rest_refreshes(
    make_sim: Callable[..., Simulator],
) -> None:
    """Real sockets: an order the demo account places shows on the Portfolio tab and as a ●
    on the ladder, and leaves when it is canceled, from user_orders frames alone: REST's
    account is not fetched again in between."""
    async with live(
        make_sim,
        slice(None),
        size=SIZE,
        account=True,
        seed=21,
        rate=50,
        markets=6,
        start_paused=True,
        user_share=0.2,
        lifecycle_rate=0.0,
    ) as env:
        app, store, sim, pilot = env.app, env.app.store, env.sim, env.pilot
        keeper = sim.engine.orders

        def act(change: Callable[[list[Any]], object]) -> None:
            out: list[Any] = []
            change(out)
            sim.hub.dispatch(out)

        def orders_live() -> bool:
            return any(s.channel == "user_orders" and s.sid is not None for s in store.metrics.subscriptions)

        await pilot.press("6")
        await until(lambda: app.view.account.refreshes > 0, "the account fetched", pilot=pilot)
        await until(orders_live, "the user_orders subscription", pilot=pilot)
        seen = app.view.account.refreshes
        placed: list[Any] = []
        act(lambda out: placed.append(keeper.place(out)))
        order = placed[0]
        assert order is not None
        await until(lambda: order.order_id in grid_text(app, "orders-grid"), "the new order", pilot=pilot)
        row = grid_text(app, "orders-grid")[order.order_id]
        assert row[0] == order.ticker and row[3] == contracts(order.remaining)
        assert f"({len(store.orders)}, read-only)" in title(app, "orders-title")
        app.jump_to_market(order.ticker)  # and shows its depth

        def stats() -> str:
            return title(app, "depth-stats")

        await until(lambda: "your orders" in stats(), "the order marked on the ladder", pilot=pilot)
        act(lambda out: keeper.cancel(order, out))
        await until(lambda: "your orders" not in stats(), "the mark gone", pilot=pilot)
        assert order.order_id not in store.orders
        await pilot.press("6")
        await until(
            lambda: order.order_id not in grid_text(app, "orders-grid"), "the order gone", pilot=pilot
        )
        assert app.view.account.refreshes == seen  # the socket alone moved it
