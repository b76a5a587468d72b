"""The simulated market over a real socket: books, tickers, trades, fills and lifecycle
agree with the engine's truth, and a seed always gives the same stream."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from bench.waiting import until
from kalshi_tui.book import OrderBook, SeqTracker
from kalshi_tui.numbers import ONE_DOLLAR, parse_money, parse_price, parse_size
from kalshi_tui.protocol import OrderbookDelta, OrderbookSnapshot, decode
from kalshi_tui.sim.engine import Engine
from kalshi_tui.sim.universe import STATUS_ACTIVE, TickGrid


def _rebuild(raw_frames: list[str], tickers: list[str], *, yes_scale: bool = False) -> dict[str, OrderBook]:
    books = {t: OrderBook(t) for t in tickers}
    seqs = SeqTracker()
    for raw in raw_frames:
        m = decode(raw)
        if m.seq is not None:
            assert seqs.check(m.sid, m.seq) == 0, raw
        if isinstance(m, OrderbookSnapshot):
            assert books[m.market_ticker].apply_snapshot(m.yes, m.no, no_on_yes_scale=yes_scale)
        elif isinstance(m, OrderbookDelta):
            ok = books[m.market_ticker].apply_delta(m.side, m.price, m.delta, no_on_yes_scale=yes_scale)
            assert ok, (raw, books[m.market_ticker].stale_reason)
    return books


def _same(a: OrderBook, b: OrderBook) -> None:
    assert (a.yes, a.no) == (b.yes, b.no), a.ticker
    assert a.synced and b.synced


async def test_paced_stream_rebuilds_the_true_books(make_sim, ws_connect):
    async with make_sim(seed=3, rate=3000, markets=6, start_paused=True) as sim, ws_connect(sim) as c:
        tickers = sim.tickers[:5]
        await c.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": tickers})
        await c.sync()
        sim.resume()
        await until(lambda: sim.engine.steps >= 1200, "1,200 paced steps")
        sim.pause()
        await c.sync()
        deltas = sum('"orderbook_delta"' in r for r in c.raw)
        assert deltas > 300  # the paced steps reached the wire
        books = _rebuild(c.raw, tickers)
        for t in tickers:
            _same(books[t], sim.book(t))


async def test_use_yes_price_puts_no_levels_on_the_yes_scale(make_sim, ws_connect):
    async with make_sim(seed=4, markets=5, start_paused=True) as sim, ws_connect(sim) as c:
        tickers = sim.tickers[:4]
        await c.send(
            "subscribe", {"channels": ["orderbook_delta"], "market_tickers": tickers, "use_yes_price": True}
        )
        snaps = await c.sync()
        first = snaps[1]["msg"]
        truth = sim.book(first["market_ticker"])
        # A NO level's price is the YES ask it makes: 1 - NO bid, no complement on the client.
        assert sorted(parse_price(p) for p, _ in first["no_dollars_fp"]) == sorted(
            ONE_DOLLAR - p for p in truth.no
        )
        sim.step(3000)
        await c.sync()
        books = _rebuild(c.raw, tickers, yes_scale=True)
        for t in tickers:
            _same(books[t], sim.book(t))


async def test_empty_side_has_no_key_in_the_snapshot(make_sim, ws_connect):
    async with make_sim(seed=5, markets=3, start_paused=True) as sim, ws_connect(sim) as c:
        t = next(x for x in sim.tickers if sim.engine.state(x).no)
        st = sim.engine.state(t)
        st.yes.clear()  # the truth is what the engine says; empty its YES side
        await c.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": [t]})
        snap = (await c.sync())[1]
        assert "yes_dollars_fp" not in snap["msg"] and "no_dollars_fp" in snap["msg"]


async def test_tickers_and_trades_agree_with_the_book(make_sim, ws_connect):
    async with make_sim(seed=9, markets=4, start_paused=True) as sim, ws_connect(sim) as c:
        tickers = sim.tickers
        await c.send(
            "subscribe", {"channels": ["orderbook_delta", "ticker", "trade"], "market_tickers": tickers}
        )
        await c.sync()
        sim.step(4000)
        await c.sync()
        books = {t: OrderBook(t) for t in tickers}
        last_delta: dict[str, Any] = {}
        checked_tickers = checked_trades = 0
        for raw in c.raw:
            m = decode(raw)
            kind = type(m).__name__
            if kind == "OrderbookSnapshot":
                books[m.market_ticker].apply_snapshot(m.yes, m.no)
            elif kind == "OrderbookDelta":
                book = books[m.market_ticker]
                best = book.levels(m.side)[0][0] if book.levels(m.side) else None
                last_delta[m.market_ticker] = (m, best)
                assert book.apply_delta(m.side, m.price, m.delta)
            elif kind == "Ticker":
                book = books[m.market_ticker]
                bid, ask = book.yes_bid, book.yes_ask
                assert (m.yes_bid, m.yes_bid_size) == ((bid.price, bid.size) if bid else (0, 0))
                assert (m.yes_ask, m.yes_ask_size) == ((ask.price, ask.size) if ask else (ONE_DOLLAR, 0))
                checked_tickers += 1
            elif kind == "Trade":
                # The trade took the best level on the side it hit, in the delta just before.
                delta, best_before = last_delta[m.market_ticker]
                hit_side = "no" if m.taker_side == "yes" else "yes"
                assert (delta.side, delta.delta) == (hit_side, -m.count)
                assert delta.price == best_before
                assert m.yes_price + m.no_price == ONE_DOLLAR
                assert m.yes_price == (delta.price if hit_side == "yes" else ONE_DOLLAR - delta.price)
                checked_trades += 1
        assert checked_tickers > 500 and checked_trades > 300
        for t in tickers:
            _same(books[t], sim.book(t))


MONEY_FIELDS = (
    "position_cost_dollars",
    "realized_pnl_dollars",
    "fees_paid_dollars",
    "position_fee_cost_dollars",
)


async def test_demo_account_fills_and_positions(make_sim, ws_connect):
    async with make_sim(seed=12, markets=4, start_paused=True, user_share=0.5) as sim, ws_connect(sim) as c:
        await c.send("subscribe", {"channels": ["trade", "fill", "market_positions"]})
        await c.sync()
        sim.step(3000)
        frames = await c.sync()
        trades = {f["msg"]["trade_id"]: f["msg"] for f in frames if f["type"] == "trade"}
        fills = [f["msg"] for f in frames if f["type"] == "fill"]
        positions = [f["msg"] for f in frames if f["type"] == "market_position"]
        assert len(fills) >= 20 and len(positions) == len(fills)
        assert [f["trade_id"] for f in fills] == [f.trade_id for f in sim.fills]
        held: dict[str, int] = {}
        for fill, pos in zip(fills, positions, strict=True):
            trade = trades[fill["trade_id"]]  # every fill is one of the public trades
            assert fill["yes_price_dollars"] == trade["yes_price_dollars"]
            assert parse_size(fill["count_fp"]) <= parse_size(trade["count_fp"])
            # Money as the exchange writes it: six places (a price times a fractional size).
            for money in (fill["fee_cost"], *(pos[k] for k in MONEY_FIELDS)):
                assert re.fullmatch(r"-?\d+\.\d{6}", money), money
            signed = parse_size(fill["count_fp"]) * (1 if fill["side"] == "yes" else -1)
            held[fill["market_ticker"]] = held.get(fill["market_ticker"], 0) + signed
            assert parse_size(fill["post_position_fp"]) == held[fill["market_ticker"]]
            assert pos["market_ticker"] == fill["market_ticker"]
            assert pos["position_fp"] == fill["post_position_fp"]
        for ticker, position in sim.positions.items():
            assert position.position == held[ticker]
        # Realistic amounts: fractional fills, and fees and costs that need all six places.
        assert any(parse_size(f["count_fp"]) % 100 for f in fills)
        assert any(parse_money(f["fee_cost"]) % 100 for f in fills)
        assert any(parse_money(p["position_cost_dollars"]) % 100 for p in positions)


async def test_same_seed_same_stream_however_paced(make_sim, ws_connect):
    def strip(frame: dict[str, Any]) -> dict[str, Any]:
        msg = {k: v for k, v in frame["msg"].items() if k not in ("ts", "ts_ms", "time")}
        return {**frame, "msg": msg}

    async def run(seed: int, paced: bool) -> list[dict[str, Any]]:
        async with make_sim(seed=seed, rate=4000, markets=6, start_paused=True) as sim, ws_connect(sim) as c:
            await c.send(
                "subscribe",
                {"channels": ["orderbook_delta", "ticker", "trade"], "market_tickers": sim.tickers},
            )
            await c.sync()
            if paced:
                sim.resume()
                while sim.engine.steps < 1500:
                    await asyncio.sleep(0.02)
                sim.pause()
            else:
                sim.step(1500)
            await c.sync()
            frames = [json.loads(r) for r in c.raw]
            # The sync barriers' answers land wherever the pacing put them: data only.
            return [strip(f) for f in frames if f["type"] not in ("ok", "subscribed")][:1500]

    a = await run(21, paced=True)
    b = await run(21, paced=False)
    assert len(a) == 1500 and a == b
    c = await run(22, paced=False)
    assert c != a


def test_universe_is_realistic_and_seeded() -> None:
    e1, e2 = Engine(7, 40), Engine(7, 40)
    t1 = list(e1.universe.markets)
    assert t1 == list(e2.universe.markets)
    assert Engine(8, 40).universe.markets.keys() != e1.universe.markets.keys()
    assert len(e1.active) == 40
    big = Engine(7, 500)  # history markets never shadow one another or a live one
    # 500 trading, 50 quiet (listed, nobody quotes them) and 50 from November
    assert (len(big.universe.markets), len(big.active)) == (600, 500)
    assert "KXFEDDECISION-26DEC-H0" in t1
    assert any(t.startswith("KXBTCD-") and t.endswith(".99") for t in t1)
    assert any(t.startswith("KXHIGHNY-") and "-B" in t for t in t1)
    statuses = {m.status for m in e1.universe.markets.values()}
    assert {STATUS_ACTIVE, "finalized", "determined", "closed"} <= statuses
    tapered = TickGrid("tapered_deci_cent")
    assert tapered.valid(50) and tapered.valid(9_950) and not tapered.valid(5_050)
    assert all(tapered.valid(ONE_DOLLAR - p) for p in tapered.prices)  # symmetric
    btc = next(m for m in e1.universe.markets.values() if m.series_ticker == "KXBTCD")
    assert btc.grid.structure == "tapered_deci_cent"
    for st in e1.states.values():  # every resting level is on its market's grid
        assert all(st.market.grid.valid(p) for p in [*st.yes, *st.no])


def test_engine_never_crosses_and_stays_on_grid() -> None:
    e = Engine(31, 20, lifecycle_rate=1 / 300)
    e.run(40_000)
    for st in e.states.values():
        if st.yes and st.no:
            assert max(st.yes) + max(st.no) < ONE_DOLLAR
        assert all(s > 0 for s in [*st.yes.values(), *st.no.values()])
        assert all(st.market.grid.valid(p) for p in [*st.yes, *st.no])


async def test_lifecycle_close_determine_settle_and_new_market(make_sim, ws_connect):
    async with (
        make_sim(seed=2, markets=5, start_paused=True, lifecycle_rate=0.0) as sim,
        ws_connect(sim) as c,
    ):
        t = sim.tickers[0]
        await c.send("subscribe", {"channels": ["market_lifecycle_v2"]})
        await c.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": [t]})
        await c.sync()
        out: list[Any] = []
        sim.engine.close_market(t, out)
        sim.hub.dispatch(out)
        sim.step(100)
        frames = await c.sync()
        life = [f for f in frames if f["type"] == "market_lifecycle_v2"]
        events = [(f["msg"]["market_ticker"] == t, f["msg"]["event_type"]) for f in life]
        assert events == [
            (True, "close_date_updated"),
            (False, "created"),
            (False, "activated"),
            (True, "determined"),
            (True, "settled"),
        ]
        assert [f["seq"] for f in life] == [1, 2, 3, 4, 5]
        new = life[1]["msg"]["market_ticker"]
        assert new in sim.tickers and t not in sim.tickers
        assert sim.engine.state(t).market.status == "finalized"
        books = _rebuild([r for r in c.raw if '"market_lifecycle_v2"' not in r], [t])
        assert books[t].yes == {} and books[t].no == {}  # resting orders cancelled at close
        assert sim.book(t).yes == {} and sim.book(t).no == {}


async def test_permessage_deflate_clients_get_the_same_stream(make_sim, ws_connect):
    async with (
        make_sim(seed=3, markets=4, start_paused=True) as sim,
        ws_connect(sim, compression="deflate") as c,
    ):
        assert c.ws.protocol.extensions  # the exchange offers deflate; this client took it
        tickers = sim.tickers
        await c.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": tickers})
        await c.sync()
        sim.step(1500)
        await c.sync()
        books = _rebuild(c.raw, tickers)
        for t in tickers:
            _same(books[t], sim.book(t))


async def test_rate_knob_paces_steps_and_pause_stops_them(make_sim):
    loop = asyncio.get_running_loop()
    async with make_sim(seed=1, rate=40, markets=3) as sim:
        t0, s0 = loop.time(), sim.engine.steps
        await until(lambda: sim.engine.steps - s0 >= 10, "10 steps at 40 a second")
        # Paced, not a burst: never ahead of the rate (a loaded machine only falls behind it).
        assert sim.engine.steps - s0 <= 40 * (loop.time() - t0) + 2
        sim.rate = 4000
        slow = sim.engine.steps
        await until(lambda: sim.engine.steps - slow >= 600, "600 steps at 4,000 a second")
        sim.pause()
        fast = sim.engine.steps
        await asyncio.sleep(0.15)
        assert sim.engine.steps == fast  # paused: nothing more
