"""The simulator's REST subset, read with httpx on the WebSocket's port."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.datastructures import Headers
from websockets.http11 import Request

from bench.waiting import GUARD
from kalshi_tui.numbers import (
    ONE_DOLLAR,
    format_money,
    format_price,
    format_size,
    parse_money,
    parse_price,
    parse_size,
)
from kalshi_tui.protocol import OrderbookSnapshot, decode
from kalshi_tui.sim import frames
from kalshi_tui.sim.engine import Engine
from kalshi_tui.sim.rest import Rest


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # One client per test: building an httpx client loads the CA store (~20 ms).
    async with httpx.AsyncClient(timeout=GUARD) as client:
        yield client


async def _get(
    http: httpx.AsyncClient, sim: Any, path: str, *, signed: bool = False, **params: Any
) -> httpx.Response:
    headers = sim.signer.headers("GET", "/trade-api/v2" + path) if signed else {}
    return await http.get(sim.rest_url + path, params=params or None, headers=headers)


async def _all_markets(http: httpx.AsyncClient, sim: Any, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = ""
    pages = 0
    while True:
        r = await _get(http, sim, "/markets", **params, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["markets"]
        pages += 1
        cursor = body["cursor"]
        if not cursor:
            return out
        assert pages < 100


async def test_exchange_status_follows_pause(http, make_sim):
    async with make_sim(markets=3) as sim:
        r = await _get(http, sim, "/exchange/status")
        assert r.json() == {
            "exchange_active": True,
            "trading_active": True,
            "exchange_estimated_resume_time": None,
        }
        sim.pause()
        assert (await _get(http, sim, "/exchange/status")).json()["trading_active"] is False


async def test_trading_pauses_and_maintenance_windows_through_the_simulator(http, make_sim):
    async with make_sim(markets=4, start_paused=True) as sim:
        now = int(time.time())
        sim.pause_trading(resume_at=now + 600)
        status = (await _get(http, sim, "/exchange/status")).json()
        assert (status["exchange_active"], status["trading_active"]) == (True, False)
        assert status["exchange_estimated_resume_time"] == frames.iso((now + 600) * 1000)[:19] + "Z"
        kinds = {o.kind for o in sim.step(2000)}
        assert "orderbook_delta" in kinds and "trade" not in kinds  # books move, nothing trades
        sim.resume_trading()
        assert "trade" in {o.kind for o in sim.step(2000)}
        sim.schedule_maintenance(now - 5, now + 3600)
        status = (await _get(http, sim, "/exchange/status")).json()
        assert (status["exchange_active"], status["trading_active"]) == (False, False)
        assert "trade" not in {o.kind for o in sim.step(2000)}
        windows = (await _get(http, sim, "/exchange/schedule")).json()["schedule"]["maintenance_windows"]
        assert len(windows) == 1 and windows[0]["end_datetime"] == status["exchange_estimated_resume_time"]
        with pytest.raises(ValueError):
            sim.schedule_maintenance(now, now)


async def test_markets_paging_and_filters(http, make_sim):
    async with make_sim(markets=30, start_paused=True) as sim:
        every = await _all_markets(http, sim, limit=7)
        assert [m["ticker"] for m in every] == list(sim.engine.universe.markets)
        # 30 trading, 3 quiet (listed, active, nobody quotes them) and 3 from November.
        assert len({m["ticker"] for m in every}) == len(every) == 36
        open_ = await _all_markets(http, sim, status="open", limit=1000)
        quiet = [t for t, m in sim.engine.universe.markets.items() if m.quiet]
        assert len(quiet) == 3
        assert [m["ticker"] for m in open_] == sim.tickers + quiet
        assert {m["status"] for m in open_} == {"active"}
        settled = await _all_markets(http, sim, status="settled")
        assert settled and {m["status"] for m in settled} == {"finalized"}
        closed = await _all_markets(http, sim, status="closed")
        assert {m["status"] for m in closed} == {"closed", "determined"}
        event = open_[0]["event_ticker"]
        by_event = await _all_markets(http, sim, event_ticker=event)
        assert by_event and {m["event_ticker"] for m in by_event} == {event}
        by_series = await _all_markets(http, sim, series_ticker="KXBTCD")
        # series_ticker is the event's field, not the market's.
        assert by_series and {m["event_ticker"].split("-")[0] for m in by_series} == {"KXBTCD"}
        assert all("series_ticker" not in m for m in by_series)
        two = [m["ticker"] for m in open_[3:5]]
        assert [m["ticker"] for m in await _all_markets(http, sim, tickers=",".join(two))] == two
        assert (await _get(http, sim, "/markets", limit=1001)).status_code == 400
        assert (await _get(http, sim, "/markets", cursor="bogus!")).status_code == 400
        assert (await _get(http, sim, "/markets", status="sideways")).status_code == 400


async def test_market_and_orderbook_agree_with_the_book_and_the_socket(http, make_sim, ws_connect):
    async with make_sim(seed=5, markets=12, start_paused=True) as sim, ws_connect(sim) as c:
        sim.step(2000)
        ticker = next(t for t in sim.tickers if t.startswith("KXBTCD"))
        book = sim.book(ticker)
        m = (await _get(http, sim, f"/markets/{ticker}")).json()["market"]
        assert m["price_level_structure"] == "tapered_deci_cent"
        assert m["price_ranges"] == [
            {"start": "0.0000", "end": "0.1000", "step": "0.0010"},
            {"start": "0.1000", "end": "0.9000", "step": "0.0100"},
            {"start": "0.9000", "end": "1.0000", "step": "0.0010"},
        ]
        assert m["yes_bid_dollars"] == format_price(book.yes_bid.price if book.yes_bid else 0)
        assert m["yes_ask_dollars"] == format_price(book.yes_ask.price if book.yes_ask else ONE_DOLLAR)
        assert parse_price(m["no_ask_dollars"]) == ONE_DOLLAR - parse_price(m["yes_bid_dollars"])
        for key in (
            "ticker",
            "event_ticker",
            "title",
            "subtitle",
            "yes_sub_title",
            "status",
            "last_price_dollars",
            "volume_fp",
            "open_interest_fp",
            "close_time",
        ):
            assert m[key] not in (None, ""), key

        ob = (await _get(http, sim, f"/markets/{ticker}/orderbook")).json()["orderbook_fp"]
        yes = [(parse_price(p), parse_size(s)) for p, s in ob["yes_dollars"]]
        no = [(parse_price(p), parse_size(s)) for p, s in ob["no_dollars"]]
        assert yes == sorted(book.yes.items()) and no == sorted(book.no.items())  # best last
        top2 = (await _get(http, sim, f"/markets/{ticker}/orderbook", depth=2)).json()["orderbook_fp"]
        assert top2["yes_dollars"] == ob["yes_dollars"][-2:]
        assert top2["no_dollars"] == ob["no_dollars"][-2:]

        await c.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": [ticker]})
        assert (await c.recv())["type"] == "subscribed"
        snap = decode(await c.recv_raw())
        assert isinstance(snap, OrderbookSnapshot)
        assert (sorted(snap.yes), sorted(snap.no)) == (yes, no)

        assert (await _get(http, sim, "/markets/KXNOPE-26DEC-X")).status_code == 404
        assert (await _get(http, sim, "/markets/KXNOPE-26DEC-X/orderbook")).status_code == 404
        assert (await _get(http, sim, "/nowhere")).status_code == 404


async def test_trades_match_the_socket_newest_first(http, make_sim, ws_connect):
    async with make_sim(seed=6, markets=3, start_paused=True) as sim, ws_connect(sim) as c:
        await c.send("subscribe", {"channels": ["trade"]})
        await c.sync()
        sim.step(1500)
        ws_trades = [f["msg"] for f in await c.sync() if f["type"] == "trade"]
        ticker = ws_trades[-1]["market_ticker"]
        r = (await _get(http, sim, "/markets/trades", ticker=ticker, limit=1000)).json()
        mine = [t for t in ws_trades if t["market_ticker"] == ticker]
        assert [t["trade_id"] for t in r["trades"]] == [t["trade_id"] for t in reversed(mine)]
        first = r["trades"][0]
        assert (first["yes_price_dollars"], first["count_fp"], first["taker_side"]) == (
            mine[-1]["yes_price_dollars"],
            mine[-1]["count_fp"],
            mine[-1]["taker_side"],
        )
        page = (await _get(http, sim, "/markets/trades", limit=5)).json()
        assert len(page["trades"]) == 5 and page["cursor"]
        assert [t["trade_id"] for t in page["trades"]] == [t["trade_id"] for t in reversed(ws_trades)][:5]


async def test_portfolio_is_signed_and_matches_the_demo_account(http, make_sim):
    async with make_sim(seed=8, markets=4, start_paused=True, user_share=0.6) as sim:
        sim.step(3000)
        for path in ("/portfolio/balance", "/portfolio/positions", "/portfolio/fills"):
            assert (await _get(http, sim, path)).status_code == 401
        # A signature over another path does not open this one.
        r = await http.get(
            sim.rest_url + "/portfolio/balance",
            headers=sim.signer.headers("GET", "/trade-api/v2/portfolio/fills"),
        )
        assert r.status_code == 401

        bal = (await _get(http, sim, "/portfolio/balance", signed=True)).json()
        # Money is 1/1,000,000 dollar, written with six places; "balance" is whole cents.
        assert bal["balance"] == sim.engine.balance // 10_000
        assert bal["balance_dollars"] == format_money(sim.engine.balance)
        assert parse_money(bal["balance_dollars"]) == sim.engine.balance

        fills: list[dict[str, Any]] = []
        cursor = ""
        while True:
            params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
            page = (await _get(http, sim, "/portfolio/fills", signed=True, **params)).json()
            fills += page["fills"]
            cursor = page["cursor"]
            if not cursor:
                break
        truth = list(reversed(sim.fills))
        assert len(fills) == len(truth) > 10
        for got, want in zip(fills, truth, strict=True):
            assert (got["trade_id"], got["fill_id"], got["order_id"]) == (
                want.trade_id,
                want.trade_id,
                want.order_id,
            )
            assert got["ticker"] == want.ticker
            assert (got["outcome_side"], got["book_side"]) == (want.side, want.book_side)
            assert got["yes_price_dollars"] == format_price(want.yes_price)
            assert got["count_fp"] == format_size(want.count)
            assert got["created_time"].endswith("Z")
            assert got["fee_cost"] == format_money(want.fee)
        # Fractional contracts: some fee or cost needs all six places.
        assert any(parse_money(f["fee_cost"]) % 100 for f in fills)

        pos = (await _get(http, sim, "/portfolio/positions", signed=True, limit=1000)).json()
        held = {p.ticker: p for p in sim.positions.values() if p.position}
        assert {p["ticker"]: p["position_fp"] for p in pos["market_positions"]} == {
            t: format_size(p.position) for t, p in held.items()
        }
        for got in pos["market_positions"]:
            want = held[got["ticker"]]
            assert parse_money(got["market_exposure_dollars"]) == want.cost
            assert parse_money(got["realized_pnl_dollars"]) == want.realized_pnl
            assert parse_money(got["fees_paid_dollars"]) == want.fees


# ---- pure code: the REST router over an engine, with a fixed clock ------------------------------

T0 = 1_796_198_400  # 2026-12-02 08:00 UTC: the history ends on this hour, when the "simulator started"


def _rest(seed: int = 3, markets: int = 8, clock: list[float] | None = None, **kw: Any) -> Rest:
    at = clock if clock is not None else [float(T0)]
    return Rest(Engine(seed, markets, **kw), lambda *a: True, lambda: True, clock=lambda: at[0])


def _call(rest: Rest, path: str, **params: Any) -> Any:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    r = rest.handle(Request(f"/trade-api/v2{path}" + (f"?{query}" if query else ""), Headers()))
    body = json.loads(r.body)
    assert r.status_code == 200, body
    return body


def _status(rest: Rest, path: str, **params: Any) -> int:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return rest.handle(Request(f"/trade-api/v2{path}?{query}", Headers())).status_code


def test_market_has_todays_fields_and_a_day_of_change():
    rest = _rest()
    st = rest.engine.active[0]
    m = _call(rest, f"/markets/{st.market.ticker}")["market"]
    assert "series_ticker" not in m
    assert m["created_time"] < m["open_time"] < m["close_time"] <= m["latest_expiration_time"]
    assert m["updated_time"] == m["created_time"]  # nothing has changed since it was listed
    assert m["settlement_timer_seconds"] > 0 and m["exchange_index"] == 0
    assert (m["expiration_value"], m["settlement_bounds_type"]) == ("", "default")
    assert m["rules_secondary"] and m["rules_secondary"] != m["rules_primary"]
    # 24 h change: a day ago comes from the seeded history, one minute bar 1440 minutes back.
    h = rest._history(st)
    day_ago = h.bar(h.index(T0 - 86_400))
    assert parse_price(m["previous_yes_bid_dollars"]) == day_ago.bid
    assert parse_price(m["previous_yes_ask_dollars"]) == day_ago.ask
    assert parse_price(m["previous_price_dollars"]) == day_ago.price
    assert parse_size(m["volume_24h_fp"]) == sum(
        b.volume for b in h.bars(h.index(T0 - 86_400) + 1, 8 * 1440 - 1)
    )
    assert parse_size(m["volume_24h_fp"]) > 0
    # The same seed and clock say the same; another seed, something else.
    assert _call(_rest(), f"/markets/{st.market.ticker}")["market"] == m
    other = _call(_rest(seed=4), "/markets", limit=1000)["markets"]
    assert all(o["previous_yes_bid_dollars"] == m["previous_yes_bid_dollars"] for o in other) is False


def test_a_market_that_settles_says_how_and_when():
    rest = _rest(lifecycle_rate=0.0)
    ticker = rest.engine.active[0].market.ticker
    out: list[Any] = []
    rest.engine.ts_ms = T0 * 1000 + 5000
    rest.engine.close_market(ticker, out)
    rest.engine.run(100)
    m = _call(rest, f"/markets/{ticker}")["market"]
    assert m["status"] == "finalized" and m["result"] in ("yes", "no")
    assert m["expiration_value"] == m["result"]
    assert m["settlement_value_dollars"] == ("1.0000" if m["result"] == "yes" else "0.0000")
    assert m["updated_time"] == m["settlement_ts"] == "2026-12-02T08:00:05Z"


def test_candles_are_seeded_cover_a_week_and_meet_the_live_book():
    rest = _rest()
    st = next(s for s in rest.engine.active if s.volume)
    t, series = st.market.ticker, st.market.series_ticker
    path = f"/series/{series}/markets/{t}/candlesticks"
    week = {"start_ts": T0 - 7 * 86_400, "end_ts": T0}
    hourly = _call(rest, path, **week, period_interval=60)["candlesticks"]
    assert len(hourly) == 7 * 24 + 1  # both ends inclusive
    assert all(c["end_period_ts"] % 3600 == 0 for c in hourly)
    assert hourly == _call(_rest(), path, **week, period_interval=60)["candlesticks"]  # seeded
    # Another seed walks another way (same ticker: the universe is laid out alike).
    other = _rest(seed=4)
    if t in other.engine.states:
        assert _call(other, path, **week, period_interval=60)["candlesticks"] != hourly
    # Daily candles close at midnight US Eastern (05:00 UTC in December).
    daily = _call(rest, path, **week, period_interval=1440)["candlesticks"]
    assert len(daily) == 7 and all(c["end_period_ts"] % 86_400 == 5 * 3600 for c in daily)
    # Minute candles: the last one before start-up closes on the book the simulator started with.
    minutes = _call(rest, path, start_ts=T0 - 3599, end_ts=T0, period_interval=1)["candlesticks"]
    assert len(minutes) == 60
    bid, ask, price, oi, _ = st.start
    last = minutes[-1]
    assert (parse_price(last["yes_bid"]["close_dollars"]), parse_price(last["yes_ask"]["close_dollars"])) == (
        bid,
        ask,
    )
    assert parse_size(last["open_interest_fp"]) == oi
    # Minute and hour agree: an hour's volume is its minutes' volume, its close the last close.
    hour = hourly[-1]
    assert parse_size(hour["volume_fp"]) == sum(parse_size(c["volume_fp"]) for c in minutes)
    assert hour["yes_bid"]["close_dollars"] == last["yes_bid"]["close_dollars"]
    traded = [c for c in minutes if c["price"]["close_dollars"] is not None]
    assert traded and len(traded) < 60  # some minutes print nothing: their price fields are null
    assert parse_price(traded[-1]["price"]["close_dollars"]) == price  # the last trade before start
    assert all(parse_size(c["volume_fp"]) == 0 for c in minutes if c not in traded)
    for c in minutes:
        for side in ("yes_bid", "yes_ask"):
            o = {k: parse_price(v) for k, v in c[side].items()}
            assert o["low_dollars"] <= min(o["open_dollars"], o["close_dollars"]) <= o["high_dollars"]
    # A week of minutes is over Kalshi's 10,000-candle limit; bad periods are refused.
    assert _status(rest, path, **week, period_interval=1) == 400
    assert _status(rest, path, **week, period_interval=5) == 400
    assert _status(rest, path, start_ts=T0, period_interval=60) == 400
    assert _status(rest, f"/series/KXNOPE/markets/{t}/candlesticks", **week, period_interval=60) == 404


def test_candles_after_start_up_carry_the_live_trades():
    clock = [float(T0)]
    rest = _rest(clock=clock, user_share=0.0)
    engine = rest.engine
    engine.ts_ms = (T0 + 30) * 1000
    engine.run(3000)
    clock[0] = T0 + 90
    st = max(engine.active, key=lambda s: len(s.trades))
    live = [tr for tr in st.trades if tr.ts_ms // 1000 > T0]
    assert live
    c = _call(
        rest,
        "/markets/candlesticks",
        market_tickers=st.market.ticker,
        start_ts=T0 + 1,
        end_ts=T0 + 60,
        period_interval=1,
    )["markets"][0]["candlesticks"]
    assert [x["end_period_ts"] for x in c] == [T0 + 60]
    assert parse_size(c[0]["volume_fp"]) == sum(tr.count for tr in live)
    assert parse_price(c[0]["price"]["close_dollars"]) == live[-1].yes_price
    v = engine.ticker_values(st.market.ticker)
    assert parse_price(c[0]["yes_bid"]["close_dollars"]) == v.yes_bid
    m = _call(rest, f"/markets/{st.market.ticker}")["market"]
    h = rest._history(st)
    i = h.index(T0 + 90 - 86_400) - 1  # the last minute that had ended a day ago
    assert parse_size(m["volume_24h_fp"]) == h.volume_after(i) + st.volume - st.start[4]


def test_events_series_and_metadata_name_their_markets_and_sources():
    rest = _rest()
    m = rest.engine.active[0].market
    ev = _call(rest, f"/events/{m.event_ticker}")["event"]
    assert (ev["event_ticker"], ev["series_ticker"], ev["title"]) == (
        m.event_ticker,
        m.series_ticker,
        m.title,
    )
    assert "markets" not in ev and ev["settlement_sources"][0]["url"].startswith("https://")
    nested = _call(rest, f"/events/{m.event_ticker}", with_nested_markets="true")["event"]["markets"]
    assert m.ticker in [x["ticker"] for x in nested]
    assert {x["event_ticker"] for x in nested} == {m.event_ticker}
    meta = _call(rest, f"/events/{m.event_ticker}/metadata")
    assert [d["market_ticker"] for d in meta["market_details"]] == [x["ticker"] for x in nested]
    assert meta["settlement_sources"] == ev["settlement_sources"]
    series = _call(rest, f"/series/{m.series_ticker}")["series"]
    assert series["ticker"] == m.series_ticker and series["settlement_sources"] == ev["settlement_sources"]
    for path in ("/events/KXNOPE-26DEC", "/events/KXNOPE-26DEC/metadata", "/series/KXNOPE"):
        assert _status(rest, path) == 404


def test_exchange_schedule_maintenance_and_paused_trading():
    clock = [float(T0)]
    rest = _rest(clock=clock)
    ex = rest.exchange
    assert _call(rest, "/exchange/status") == {
        "exchange_active": True,
        "trading_active": True,
        "exchange_estimated_resume_time": None,
    }
    ex.maintenance.append((T0 + 600, T0 + 4200))
    sched = _call(rest, "/exchange/schedule")["schedule"]
    assert sched["maintenance_windows"] == [
        {"start_datetime": "2026-12-02T08:10:00Z", "end_datetime": "2026-12-02T09:10:00Z"}
    ]
    assert sched["standard_hours"][0]["thursday"][0]["close_time"] == "03:00"
    clock[0] = T0 + 700
    assert _call(rest, "/exchange/status") == {
        "exchange_active": False,
        "trading_active": False,
        "exchange_estimated_resume_time": "2026-12-02T09:10:00Z",
    }
    clock[0] = T0 + 5000
    ex.trading_paused, ex.resume_at = True, T0 + 6000
    assert _call(rest, "/exchange/status")["trading_active"] is False
    # While trading is paused the book still moves but nothing trades.
    rest.engine.trading = False
    kinds = {o.kind for o in rest.engine.run(3000)}
    assert "orderbook_delta" in kinds and "trade" not in kinds


async def test_portfolio_orders_settlements_and_data_timestamp(http, make_sim):
    async with make_sim(seed=9, markets=6, start_paused=True, user_share=0.5, lifecycle_rate=0.0) as sim:
        sim.engine.orders.rate = 1 / 30
        sim.step(3000)
        for path in ("/portfolio/orders", "/portfolio/settlements", "/exchange/user_data_timestamp"):
            assert (await _get(http, sim, path)).status_code == 401

        async def signed(path: str, **params: Any) -> Any:
            r = await _get(http, sim, path, signed=True, **params)
            assert r.status_code == 200, r.text
            return r.json()

        truth = sim.engine.orders
        resting = (await signed("/portfolio/orders", status="resting"))["orders"]
        assert {o["order_id"] for o in resting} == {o.order_id for o in truth.resting()} != set()
        every = (await signed("/portfolio/orders", limit=1000))["orders"]
        assert [o["order_id"] for o in every] == list(reversed(truth.orders))  # newest first
        assert {o["status"] for o in every} == {"resting", "canceled", "executed"}
        for got in every:
            o = truth.orders[got["order_id"]]
            assert parse_size(got["fill_count_fp"]) + parse_size(got["remaining_count_fp"]) == (
                o.initial if o.status == "resting" else o.filled
            )
            assert parse_price(got["yes_price_dollars"]) == o.yes_price
            assert parse_money(got["maker_fees_dollars"]) == o.maker_fees
        assert (await _get(http, sim, "/portfolio/orders", signed=True, status="open")).status_code == 400

        # Settle a market the account holds: the settlement says what it paid.
        ticker, held = next(
            (t, p.position) for t, p in sim.positions.items() if p.position and t in sim.tickers
        )
        out: list[Any] = []
        sim.engine.close_market(ticker, out)
        sim.hub.dispatch(out)
        sim.step(100)
        got = (await signed("/portfolio/settlements", ticker=ticker))["settlements"]
        assert len(got) == 1
        s = got[0]
        result = sim.engine.universe.markets[ticker].result
        won = (held > 0) == (result == "yes")
        count = abs(held)
        assert s["market_result"] == result
        assert (s["yes_count_fp"], s["no_count_fp"]) == (
            (format_size(count), "0.00") if held > 0 else ("0.00", format_size(count))
        )
        payout = count * ONE_DOLLAR if won else 0  # 1/1,000,000 $; revenue is in cents
        assert s["revenue"] == payout // 10_000
        assert s["value"] == (100 if result == "yes" else 0)
        # November's settled markets: some the account held, from before the simulator started.
        history = (await signed("/portfolio/settlements", limit=1000))["settlements"]
        assert len(history) > 1 and history[0]["ticker"] == ticker

        stamp = (await signed("/exchange/user_data_timestamp"))["as_of_time"]
        assert stamp == frames.iso(sim.engine.ts_ms)
