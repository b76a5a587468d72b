"""Every frame type the simulator sends decodes, and has the key set of the matching frame
captured from Kalshi's real sockets (or, where no capture exists, the documented example)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from kalshi_tui.protocol import Unknown, decode
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
