"""Every frame type the simulator sends decodes, and has the key set of the matching frame
captured from Kalshi's real sockets (or, where no capture exists, the documented example)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.waiting import GUARD
from kalshi_tui.auth import Signer
from kalshi_tui.numbers import ONE_DOLLAR
from kalshi_tui.protocol import Unknown, decode
from kalshi_tui.rest import RestClient, fill_from_rest, market_meta
from tests.frames import captured

Frame = dict[str, Any]
_RANK = ("live-capture (PRODUCTION", "live-capture", "official-doc-example")


def _reference(kind: str, pred: Callable[[Frame], bool] = lambda f: True) -> Frame:
    """The best-sourced captured frame of ``kind`` that matches ``pred``."""
    records = [r for r in captured() if r["frame"]["type"] == kind and pred(r["frame"])]
    records.sort(
        key=lambda r: next(
            (i for i, p in enumerate(_RANK) if r.get("provenance", "").startswith(p)), len(_RANK)
        )
    )
    assert records, kind
    return records[0]["frame"]


def _keys(frame: Frame) -> tuple[set[str], set[str] | None]:
    msg = frame.get("msg")
    return set(frame), set(msg) if isinstance(msg, dict) else None


def _msg(frame: Frame) -> dict[str, Any]:
    msg = frame.get("msg")
    return msg if isinstance(msg, dict) else {}


async def _session(make_sim: Any, ws_connect: Any) -> list[Frame]:
    """One session that makes the simulator send every kind of frame it has."""
    async with (
        make_sim(seed=13, markets=6, start_paused=True, user_share=0.5, lifecycle_rate=0.0) as sim,
        ws_connect(sim) as c,
    ):
        t = sim.tickers
        await c.send(
            "subscribe", {"channels": ["orderbook_delta", "ticker", "trade"], "market_tickers": t[:4]}
        )
        await c.send("subscribe", {"channels": ["fill", "market_positions", "market_lifecycle_v2"]})
        await c.sync()
        sim.step(3000)
        out: list[Any] = []
        sim.engine.close_market(t[0], out)
        sim.hub.dispatch(out)
        sim.step(100)
        await c.send("update_subscription", {"sids": [1], "action": "add_markets", "market_tickers": [t[4]]})
        await c.send("update_subscription", {"sids": [1], "action": "get_snapshot", "market_tickers": [t[4]]})
        await c.send("update_subscription", {"sids": [3], "action": "get_snapshot", "market_tickers": [t[4]]})
        await c.send("subscribe", {"channels": ["ticker_v2"]})
        await c.send("unsubscribe", {"sids": [1]})
        await c.sync()
        for raw in c.raw:
            assert not isinstance(decode(raw), Unknown), raw
        return [json.loads(r) for r in c.raw]


async def test_every_frame_type_has_the_captured_shape(make_sim, ws_connect):
    frames = await _session(make_sim, ws_connect)

    def ours(kind: str, pred: Callable[[Frame], bool] = lambda f: True) -> Frame:
        found = [f for f in frames if f["type"] == kind and pred(f)]
        assert found, kind
        return found[-1]

    def both_ladders(f: Frame) -> bool:
        return "id" not in f and {"yes_dollars_fp", "no_dollars_fp"} <= set(_msg(f))

    def lifecycle(event: str) -> Callable[[Frame], bool]:
        return lambda f: _msg(f).get("event_type") == event

    pairs = {
        "subscribed": (ours("subscribed"), _reference("subscribed")),
        "orderbook_snapshot": (
            ours("orderbook_snapshot", both_ladders),
            _reference("orderbook_snapshot", both_ladders),
        ),
        "get_snapshot answer": (
            ours("orderbook_snapshot", lambda f: "id" in f),
            _reference("orderbook_snapshot", lambda f: "id" in f),
        ),
        "orderbook_delta": (ours("orderbook_delta"), _reference("orderbook_delta")),
        "ticker": (ours("ticker"), _reference("ticker", lambda f: "dollar_volume" in _msg(f))),
        "trade": (ours("trade"), _reference("trade", lambda f: "is_block_trade" in _msg(f))),
        "fill": (ours("fill"), _reference("fill")),
        "market_position": (ours("market_position"), _reference("market_position")),
        "ok (update)": (ours("ok", lambda f: "sid" in f), _reference("ok", lambda f: "sid" in f)),
        "ok (list)": (
            ours("ok", lambda f: isinstance(f.get("msg"), list)),
            _reference("ok", lambda f: isinstance(f.get("msg"), list)),
        ),
        "unsubscribed": (ours("unsubscribed"), _reference("unsubscribed")),
        "error (sid)": (ours("error", lambda f: "sid" in f), _reference("error", lambda f: "sid" in f)),
        "error (id)": (ours("error", lambda f: "id" in f), _reference("error", lambda f: "id" in f)),
        "determined": (
            ours("market_lifecycle_v2", lifecycle("determined")),
            _reference("market_lifecycle_v2", lifecycle("determined")),
        ),
        "settled": (
            ours("market_lifecycle_v2", lifecycle("settled")),
            _reference("market_lifecycle_v2", lifecycle("settled")),
        ),
        "created": (
            ours("market_lifecycle_v2", lifecycle("created")),
            _reference("market_lifecycle_v2", lifecycle("created")),
        ),
    }
    for name, (mine, real) in pairs.items():
        assert _keys(mine) == _keys(real), name
    # The captured sid-scoped error is the 13 for get_snapshot on a trade sid: so is ours.
    assert ours("error", lambda f: "sid" in f)["msg"] == {"code": 13, "msg": "Unsupported action"}


async def test_captured_values_have_the_same_format(make_sim, ws_connect):
    """Prices with 4 decimals, sizes with 2, ts_ms in milliseconds, ids as UUIDs."""
    frames = await _session(make_sim, ws_connect)
    delta = next(f["msg"] for f in frames if f["type"] == "orderbook_delta")
    real = _reference("orderbook_delta")["msg"]
    for key in ("price_dollars", "delta_fp"):
        assert len(delta[key].split(".")[1]) == len(real[key].split(".")[1]), key
    assert len(str(delta["ts_ms"])) == len(str(real["ts_ms"])) == 13
    assert delta["ts"].endswith("Z") and "T" in delta["ts"]
    trade = next(f["msg"] for f in frames if f["type"] == "trade")
    assert len(trade["trade_id"]) == 36 and trade["trade_id"].count("-") == 4
    assert {
        (f["msg"]["taker_outcome_side"], f["msg"]["taker_book_side"]) for f in frames if f["type"] == "trade"
    } == {("yes", "bid"), ("no", "ask")}


def test_the_simulator_never_imports_textual() -> None:
    code = (
        "import sys, kalshi_tui.sim, kalshi_tui.sim.cli\n"
        "print(','.join(m for m in sys.modules if m.split('.')[0] == 'textual'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# ---- REST: the simulator's answers and the project's client, against the documented shapes ----

REST_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "rest"
_FORMATS = (
    re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"),  # RFC 3339, UTC
    re.compile(r"^[01]\.\d{4}$"),  # a price: 4 places
    re.compile(r"^-?\d+\.\d{6}$"),  # money: 6 places
    re.compile(r"^-?\d+\.\d{2}$"),  # a contract count: 2 places
)


def _rest_fixture(name: str) -> Any:
    return json.loads((REST_FIXTURES / f"{name}.json").read_text())


def shape_errors(ours: Any, ref: Any, path: str = "$") -> list[str]:
    """How ``ours`` differs from the reference's shape: the same keys, JSON types and number
    formats; a reference ``null`` means nullable (null or a string); each list item must
    match one of the reference's items."""
    if ref is None:
        return (
            []
            if ours is None or isinstance(ours, str)
            else [f"{path}: {ours!r} is neither null nor a string"]
        )
    if isinstance(ref, dict):
        if not isinstance(ours, dict):
            return [f"{path}: {type(ours).__name__} where the reference has an object"]
        errors = []
        if set(ours) != set(ref):
            errors.append(
                f"{path}: missing {sorted(set(ref) - set(ours))}, extra {sorted(set(ours) - set(ref))}"
            )
        for key in sorted(set(ours) & set(ref)):
            errors += shape_errors(ours[key], ref[key], f"{path}.{key}")
        return errors
    if isinstance(ref, list):
        if not isinstance(ours, list):
            return [f"{path}: {type(ours).__name__} where the reference has a list"]
        errors = []
        for i, item in enumerate(ours):
            errors += min((shape_errors(item, r, f"{path}[{i}]") for r in ref), key=len, default=[])
        return errors
    if isinstance(ref, bool) or isinstance(ours, bool):
        same = type(ours) is type(ref)
    elif isinstance(ref, int | float):
        same = isinstance(ours, int | float)
    else:
        same = type(ours) is type(ref)
    if not same:
        return [f"{path}: {type(ours).__name__} where the reference has {type(ref).__name__}"]
    if isinstance(ref, str):
        fmt = next((f for f in _FORMATS if f.match(ref)), None)
        if fmt is not None and not fmt.match(ours):
            return [f"{path}: {ours!r} is not written like {ref!r}"]
    return []


def test_shape_errors_catches_drift_either_way() -> None:
    ref = _rest_fixture("market")["market"]
    assert shape_errors(ref, ref) == []
    assert shape_errors({**ref, "series_ticker": "KXHIGHNY"}, ref)  # a field Market no longer has
    assert shape_errors({k: v for k, v in ref.items() if k != "volume_24h_fp"}, ref)
    assert shape_errors({**ref, "yes_bid_dollars": "0.31"}, ref)  # 2 places where 4 are due
    assert shape_errors({**ref, "settlement_timer_seconds": "3600"}, ref)
    assert shape_errors({**ref, "can_close_early": 1}, ref)
    assert shape_errors({**ref, "settlement_value_dollars": "1.0000"}, ref) == []  # nullable


async def _rest_answers(make_sim: Any) -> dict[str, Any]:
    """Every REST endpoint the simulator serves, answered once after some trading."""
    async with (
        make_sim(seed=13, markets=24, start_paused=True, user_share=0.5, lifecycle_rate=0.0) as sim,
        httpx.AsyncClient(timeout=GUARD) as http,
    ):
        sim.step(4000)
        # Settle a market the account holds, for /portfolio/settlements.
        held = next(t for t, p in sim.positions.items() if p.position and t in sim.tickers)
        out: list[Any] = []
        sim.engine.close_market(held, out)
        sim.hub.dispatch(out)
        sim.step(100)
        now = int(time.time())
        sim.schedule_maintenance(now + 3600, now + 7200)
        sim.pause_trading(resume_at=now + 600)
        # A range market (floor and cap strikes) that has traded, as in the reference.
        between = next(
            t
            for t in sim.tickers
            if sim.engine.universe.markets[t].strike_type == "between" and sim.engine.state(t).trades
        )
        m = sim.engine.universe.markets[between]

        async def get(path: str, signed: bool = False, **params: Any) -> Any:
            headers = sim.signer.headers("GET", "/trade-api/v2" + path) if signed else {}
            r = await http.get(sim.rest_url + path, params=params or None, headers=headers)
            assert r.status_code == 200, (path, r.text)
            return r.json()

        week = {"start_ts": now - 7 * 86_400, "end_ts": now, "period_interval": 60}
        return {
            "market": await get(f"/markets/{between}"),
            "markets": await get("/markets", tickers=between),
            "orderbook": await get(f"/markets/{between}/orderbook"),
            "trades": await get("/markets/trades", ticker=between),
            "event": await get(f"/events/{m.event_ticker}"),
            "event_metadata": await get(f"/events/{m.event_ticker}/metadata"),
            "series": await get(f"/series/{m.series_ticker}"),
            "candlesticks": await get(f"/series/{m.series_ticker}/markets/{between}/candlesticks", **week),
            "candlesticks_batch": await get(
                "/markets/candlesticks", market_tickers=",".join(sim.tickers[:3]), **week
            ),
            "balance": await get("/portfolio/balance", signed=True),
            "positions": await get("/portfolio/positions", signed=True),
            "settlements": await get("/portfolio/settlements", signed=True),
            "orders": await get("/portfolio/orders", signed=True),
            "fills": await get("/portfolio/fills", signed=True),
            "user_data_timestamp": await get("/exchange/user_data_timestamp", signed=True),
            "exchange_status": await get("/exchange/status"),
            "exchange_schedule": await get("/exchange/schedule"),
        }


async def test_every_rest_answer_has_the_documented_shape(make_sim):
    answers = await _rest_answers(make_sim)
    assert sorted(answers) == sorted(p.stem for p in REST_FIXTURES.glob("*.json"))
    for name, ours in answers.items():
        assert shape_errors(ours, _rest_fixture(name)) == [], name
    # Not vacuous: every list the reference fills is filled here too.
    for name in ("markets", "trades", "positions", "settlements", "orders", "fills"):
        key = {"positions": "market_positions"}.get(name, name)
        assert answers[name][key], name
    assert all(m["candlesticks"] for m in answers["candlesticks_batch"]["markets"])
    candles = answers["candlesticks"]["candlesticks"]
    assert {c["price"]["close_dollars"] is None for c in candles} == {True, False}  # quiet hours too
    assert answers["exchange_schedule"]["schedule"]["maintenance_windows"]


def test_the_rest_client_reads_the_documented_market_and_fill() -> None:
    raw = _rest_fixture("market")["market"]
    meta = market_meta(raw)
    assert (meta.ticker, meta.event_ticker, meta.status) == (raw["ticker"], raw["event_ticker"], "active")
    assert meta.title == raw["title"] and meta.subtitle == raw["yes_sub_title"]
    assert meta.price_ranges == ((0, ONE_DOLLAR, 100),)
    assert meta.close_ts == int(datetime(2026, 12, 3, 5, tzinfo=UTC).timestamp())
    fill = fill_from_rest(_rest_fixture("fills")["fills"][0])
    assert (fill.market_ticker, fill.side, fill.book_side, fill.is_taker) == (
        raw["ticker"],
        "no",
        "ask",
        False,
    )
    assert (fill.yes_price, fill.count, fill.fee) == (3300, 200, 7739)
    assert fill.backfilled and fill.ts_ms is not None


@asynccontextmanager
async def _serve_fixtures() -> AsyncIterator[str]:
    """A loopback HTTP server answering the REST fixtures (one JSON file per path)."""
    routes = {
        "/trade-api/v2/markets": "markets",
        "/trade-api/v2/exchange/status": "exchange_status",
        "/trade-api/v2/portfolio/fills": "fills",
    }

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        path = head.split(" ")[1].split("?")[0]
        name = routes.get(path)
        body = (REST_FIXTURES / f"{name}.json").read_bytes() if name else b"{}"
        status = b"200 OK" if name else b"404 Not Found"
        head_out = b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (
            status,
            len(body),
        )
        writer.write(head_out + b"Connection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/trade-api/v2"
    finally:
        server.close()
        await server.wait_closed()


async def test_the_rest_client_speaks_the_documented_api(sim_private_key):
    async with _serve_fixtures() as base:
        client = RestClient(base, Signer("fixture-key", sim_private_key))
        try:
            markets = await client.markets(status="open")
            assert [m.ticker for m in markets] == ["KXHIGHNY-26DEC02-B46.5"]
            assert markets[0].tick_at(5000) == 100
            status = await client.exchange_status()
            assert status["trading_active"] is False and status["exchange_estimated_resume_time"]
            fills = await client.fills()
            assert [f.trade_id for f in fills] == [_rest_fixture("fills")["fills"][0]["trade_id"]]
        finally:
            await client.aclose()
