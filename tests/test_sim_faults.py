"""Each injected fault, seen from a plain client over a real socket."""

from __future__ import annotations

import asyncio
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from bench.waiting import GUARD
from kalshi_tui.book import SeqTracker
from kalshi_tui.protocol import ProtocolError, decode
from kalshi_tui.sim import FaultSpec, parse_fault


def _gaps(frames: list[dict], sid: int) -> list[int]:
    """The seq numbers missing on ``sid``."""
    seqs = [f["seq"] for f in frames if f.get("sid") == sid and "seq" in f]
    assert seqs == sorted(seqs)
    return sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs))


async def test_drop_frame_leaves_exactly_one_gap(make_sim, ws_connect):
    async with make_sim(seed=1, markets=4, start_paused=True) as sim, ws_connect(sim) as c:
        await c.send("subscribe", {"channels": ["orderbook_delta", "ticker"], "market_tickers": sim.tickers})
        frames = await c.sync()
        sim.step(100)
        frames += await c.sync()
        assert sim.faults.drop_frame(sid=1) == 1  # ticker sid 2 has no seq to gap
        sim.step(100)
        frames += await c.sync()
        missing = _gaps(frames, 1)
        assert len(missing) == 1 and missing[0] > len(sim.tickers)
        tracker = SeqTracker()
        assert sum(tracker.check(1, f["seq"]) for f in frames if f.get("sid") == 1) == 1


async def test_kill_connections_aborts_without_a_close_frame(sim, ws_connect):
    async with ws_connect(sim) as c:
        await c.send("subscribe", {"channels": ["ticker"]})
        await c.recv()
        assert sim.faults.kill_connections() == 1
        with pytest.raises(ConnectionClosedError) as info:
            while True:
                await c.recv()
        assert info.value.rcvd is None  # no close frame: the TCP connection just ended
    async with ws_connect(sim) as c:  # and the server takes new connections at once
        await c.send("list_subscriptions")
        assert (await c.recv())["msg"] == []


async def test_stall_silences_data_and_pongs_then_resumes(make_sim, ws_connect):
    async with make_sim(seed=2, rate=400, markets=4) as sim, ws_connect(sim) as c:
        await c.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": sim.tickers})
        await c.recv()
        sim.faults.stall(0.6)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):  # what was in flight, then nothing
            while True:
                await c.recv(timeout=0.15)
        pong = await c.ws.ping()
        got: list[float] = []

        async def read() -> None:  # keep reading, or the client's own queue stops the pong
            while True:
                await c.recv()
                got.append(time.monotonic())

        reader = asyncio.create_task(read())
        await asyncio.wait_for(pong, GUARD)
        pong_at = time.monotonic()
        await asyncio.sleep(0.1)
        reader.cancel()
        assert pong_at - t0 >= 0.55  # the server read nothing while stalled
        assert got and got[0] - t0 >= 0.55  # and wrote nothing; then the data came back
        assert sim.connections == 1


async def test_garbled_frame_is_not_json_and_leaves_a_gap(make_sim, ws_connect):
    async with make_sim(seed=3, markets=3, start_paused=True) as sim, ws_connect(sim) as c:
        await c.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": sim.tickers})
        await c.sync()
        sim.faults.garble_frame()
        sim.step(60)
        cmd = await c.send("list_subscriptions")
        raws = []
        while True:
            raw = await c.recv_raw()
            if f'"id":{cmd}' in raw:
                break
            raws.append(raw)
        bad = []
        seqs = SeqTracker()
        seqs.check(1, len(sim.tickers))  # the snapshots took 1..3
        for raw in raws:
            try:
                m = decode(raw)
            except ProtocolError:
                bad.append(raw)
                continue
            assert m.sid is not None and m.seq is not None
            missed = seqs.check(m.sid, m.seq)
            if bad and len(bad) == 1 and missed:
                bad.append("gap")
        assert len(bad) == 2 and bad[0].startswith('{"type":"orderbook_delta"')


async def test_overflow_ends_the_subscription_with_error_25(make_sim, ws_connect):
    async with make_sim(seed=4, markets=3, start_paused=True) as sim, ws_connect(sim) as c:
        await c.send("subscribe", {"channels": ["orderbook_delta", "trade"], "market_tickers": sim.tickers})
        frames = await c.sync()
        assert sim.faults.overflow(sid=1) == 1
        err = await c.recv()
        assert err == {
            "type": "error",
            "sid": 1,
            "seq": len(sim.tickers) + 1,
            "msg": {"code": 25, "msg": "Subscription buffer overflow"},
        }
        sim.step(500)
        frames = await c.sync()
        assert frames and {f["sid"] for f in frames} == {2}  # only the trade sid still flows
        await c.send("list_subscriptions")
        assert (await c.recv())["msg"] == [{"channel": "trade", "sid": 2}]


async def test_a_client_that_reads_too_slowly_gets_error_25(make_sim, ws_connect):
    async with make_sim(seed=5, markets=6, start_paused=True, max_buffered=300) as sim, ws_connect(sim) as c:
        await c.send("subscribe", {"channels": ["orderbook_delta", "ticker"], "market_tickers": sim.tickers})
        await c.sync()
        sim.step(1000)  # one burst, queued before the writer can run: more than 300 frames
        errors = [await c.recv(), await c.recv()]
        assert [(e["type"], e["sid"], e["msg"]["code"]) for e in errors] == [
            ("error", 1, 25),
            ("error", 2, 25),
        ]
        assert await c.sync() == []


async def test_refuse_handshakes_for_a_window(sim):
    sim.faults.refuse_handshakes(0.4)
    with pytest.raises(InvalidStatus) as info:
        async with connect(sim.ws_url, additional_headers=sim.signer.headers()):
            pass
    assert info.value.response.status_code == 401
    await asyncio.sleep(0.45)
    async with connect(sim.ws_url, additional_headers=sim.signer.headers()) as ws:
        assert ws.protocol.state.name == "OPEN"


async def test_slow_commands(sim, ws_connect):
    sim.faults.slow_commands(0.3)
    async with ws_connect(sim) as c:
        start = time.monotonic()
        await c.send("list_subscriptions")
        await c.recv()
        assert time.monotonic() - start >= 0.3  # held back (a slow machine only adds to it)
        sim.faults.clear()
        await c.send("list_subscriptions")
        assert (await c.recv())["type"] == "ok"


async def test_reject_commands_with_27(make_sim, ws_connect):
    async with make_sim(markets=3, start_paused=True) as sim, ws_connect(sim) as c:
        await c.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": sim.tickers[:1]})
        await c.sync()
        sim.faults.reject_commands(5)
        cid = await c.send("subscribe", {"channels": ["ticker"]})
        assert await c.recv() == {"type": "error", "id": cid, "msg": {"code": 27, "msg": "Too many requests"}}
        await c.send(
            "update_subscription", {"sids": [1], "action": "get_snapshot", "market_tickers": sim.tickers[:1]}
        )
        err = await c.recv()
        assert (err["sid"], err["seq"], err["msg"]["code"]) == (1, 2, 27)
        sim.faults.clear()
        await c.send("subscribe", {"channels": ["ticker"]})
        assert (await c.recv())["type"] == "subscribed"


def test_parse_fault_flag() -> None:
    assert parse_fault("stall:3@45") == FaultSpec("stall", 3.0, 45.0)
    assert parse_fault("kill@60") == FaultSpec("kill", None, 60.0)
    assert parse_fault("slow:0.5") == FaultSpec("slow", 0.5, None)
    for bad in ("boom", "stall:x", "kill@0", "kill@-1", "refuse:nan", "drop@inf"):
        with pytest.raises(ValueError):
            parse_fault(bad)


async def test_periodic_fault_schedule(make_sim, ws_connect):
    async with make_sim(markets=2, faults=[parse_fault("kill@0.2")]) as sim, ws_connect(sim) as c:
        with pytest.raises(ConnectionClosedError):
            async with asyncio.timeout(GUARD):
                while True:
                    await c.recv()
        assert sim.connections == 0
