"""The simulator's REST subset, read with httpx on the WebSocket's port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

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
