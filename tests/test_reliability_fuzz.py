"""Hostile frames through the real session over a real socket: the short mode of
``bench/fuzz.py`` (``python -m bench.reliability --full`` sends 10,000)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from bench.fuzz import DECODER_BUG, IGNORED, UNREADABLE, FuzzPlan, Mutator, classify, run_fuzz
from bench.soak import SOAK_SETTINGS, client, exact_now
from bench.waiting import until
from kalshi_tui.protocol import ProtocolError, decode
from kalshi_tui.sim import Simulator


async def test_inject_sends_raw_frames_and_stamps_a_subscription_seq(
    make_sim: Callable[..., Simulator], ws_connect: Callable[..., object]
) -> None:
    async with make_sim(seed=3, markets=4, start_paused=True) as sim, ws_connect(sim) as c:  # type: ignore[attr-defined]
        await c.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": sim.tickers[:2]})
        frames = await c.sync()
        sid = frames[0]["msg"]["sid"]
        last = max(f["seq"] for f in frames if "seq" in f)
        assert sim.faults.inject(b"not json {") == 1
        assert sim.faults.inject('{"type":"weird"}', sid=sid + 99) == 0  # nobody holds that sid
        assert sim.faults.inject('{"type":"orderbook_delta","msg":{}}', sid=sid) == 1
        assert await c.recv_raw() == "not json {"
        stamped = await c.recv()
        assert stamped == {"type": "orderbook_delta", "msg": {}, "sid": sid, "seq": last + 1}
        sim.step(40)
        after = [f for f in await c.sync() if f.get("sid") == sid and "seq" in f]
        assert after and after[0]["seq"] == last + 2  # the stamped frame used a number: no gap


def test_the_oracle_sees_through_the_real_decoder() -> None:
    assert classify("{") == UNREADABLE
    assert classify('{"type":"ok","id":7,"msg":{"market_tickers":1.5}}') == UNREADABLE
    assert (
        classify(
            '{"type":"orderbook_delta","msg":{"market_ticker":"A","price_dollars":"0.5",'
            '"delta_fp":"1.00","side":"yes"}}'
        )
        == IGNORED
    )  # sane, but on no sid of ours
    frames = [Mutator(5, ["A-1"], ["B-2"]).frame() for _ in range(300)]
    assert frames == [Mutator(5, ["A-1"], ["B-2"]).frame() for _ in range(300)]  # seeded
    assert DECODER_BUG not in {classify(f) for f in frames}


async def test_a_malformed_ok_frame_no_longer_kills_the_session() -> None:
    # An ok whose market_tickers was not a list raised TypeError out of decode and ended the
    # session task: no reconnect, the dashboard frozen on "live".
    bad = [
        '{"type":"ok","id":5,"msg":{"market_tickers":1.5}}',
        '{"type":"ok","id":6,"msg":{"market_tickers":{"A":1}}}',
        '{"type":"ok","id":7,"msg":{"market_tickers":"ABC"}}',
    ]
    for frame in bad:
        try:
            decode(frame)
        except ProtocolError:
            continue
        raise AssertionError(f"decoded: {frame}")
    async with (
        Simulator(seed=8, rate=300, markets=6, lifecycle_rate=0) as sim,
        client(sim, sim.tickers, SOAK_SETTINGS, rest=False) as (store, pool),
    ):
        errors = store.metrics.malformed
        for frame in bad:
            sim.faults.inject(frame)
        await until(lambda: store.metrics.malformed == errors + len(bad), "every bad frame counted")
        await asyncio.sleep(0.3)
        assert not any(t.done() for t in pool._tasks.values())
        assert await exact_now(sim, store, sim.tickers) is not None


async def test_fuzz_short_mode() -> None:
    report = await run_fuzz(FuzzPlan())
    text = "\n".join(report.lines())
    print(text)
    assert report.total >= 1_500
    assert report.crashed is None, text
    assert report.sent == report.counted, text  # each frame counted where it belongs
    assert not report.stamped_uncounted, text
    assert report.stamped_resyncs > 0 and report.stamped_ignored > 0, text
    assert report.not_utf8_reconnects == report.not_utf8_sent > 0, text
    assert report.exact_after is not None and report.exact_after_frames is not None, text
    assert report.deltas_after > 0, text
    assert report.ok, text
    json.dumps(report.lines())  # printable as is
