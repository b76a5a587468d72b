"""One client process for the end-to-end benchmark: ``python -m bench.e2e_client < CONFIG_JSON``.

``ours``: ``kalshi_tui.stream.Pool`` -> ``Store``, everything the app's feed does.
``bare``: a websockets connection that subscribes the same way and only counts frames:
the ceiling of what a Python client can receive from that simulator.

It waits for the snapshots, warms up, then counts frames and CPU over the window, once a
second, and prints one JSON object. Frames are counted in the process that reads them;
CPU is this process's own (user + system).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.connection import Connection

from bench.common import books_synced, rss_mb
from kalshi_tui.auth import Signer
from kalshi_tui.config import StreamSettings
from kalshi_tui.protocol import commands
from kalshi_tui.protocol import messages as m
from kalshi_tui.store import Store
from kalshi_tui.stream import Pool
from kalshi_tui.stream.dial import MAX_MESSAGE

CHANNELS = (commands.CHANNEL_ORDERBOOK, commands.CHANNEL_TICKER, commands.CHANNEL_TRADE)


class Meter:
    """Frames counted by the reader; sampled once a second with the CPU clock."""

    def __init__(self) -> None:
        self.frames = 0
        self.samples: list[tuple[float, int, float, int]] = []  # (monotonic, frames, cpu, read bytes)

    def sample(self) -> None:
        self.samples.append((time.monotonic(), self.frames, time.process_time(), _read_bytes()))


_wire = [0]


def _read_bytes() -> int:
    """Bytes received on every WebSocket of this process, as they came off TCP."""
    return _wire[0]


def _count_wire_bytes() -> None:
    """Count at the asyncio protocol callback (one call per TCP read, not per frame)."""
    original = Connection.data_received

    def data_received(self: Connection, data: bytes) -> None:
        _wire[0] += len(data)
        original(self, data)

    Connection.data_received = data_received  # type: ignore[method-assign]


async def _window(meter: Meter, warmup: float, duration: float) -> dict[str, Any]:
    await asyncio.sleep(warmup)
    meter.sample()
    end = time.monotonic() + duration
    while time.monotonic() < end:
        await asyncio.sleep(min(1.0, max(0.0, end - time.monotonic())))
        meter.sample()
    (t0, f0, c0, b0), (t1, f1, c1, b1) = meter.samples[0], meter.samples[-1]
    pairs = zip(meter.samples, meter.samples[1:], strict=False)
    per_second = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in pairs if b[0] > a[0]]
    return {
        "frames": f1 - f0,
        "seconds": t1 - t0,
        "cpu": c1 - c0,
        "wire_bytes": b1 - b0,
        "per_second": per_second,
    }


async def bare(cfg: dict[str, Any], signer: Signer) -> dict[str, Any]:
    meter = Meter()
    tickers: list[str] = cfg["tickers"]
    async with connect(
        cfg["ws_url"],
        additional_headers=signer.headers(),
        compression=cfg["compression"],
        max_size=MAX_MESSAGE,
        max_queue=4096,
        proxy=None,
    ) as ws:
        for i, channel in enumerate(CHANNELS, 1):
            await ws.send(commands.subscribe(i, [channel], tickers).decode())

        async def count() -> None:
            async for _raw in ws:
                meter.frames += 1

        reader = asyncio.create_task(count())
        # Snapshots: one per market, then live data.
        while meter.frames < len(tickers) + len(CHANNELS) and not reader.done():
            await asyncio.sleep(0.02)
        out = await _window(meter, cfg["warmup"], cfg["duration"])
        reader.cancel()
    out["total_frames"] = meter.frames
    return out


async def ours(cfg: dict[str, Any], signer: Signer) -> dict[str, Any]:
    meter = Meter()
    seq_frames: Counter[int] = Counter()
    last_seq: dict[int, int] = {}
    first_seq: dict[int, int] = {}
    lags: list[tuple[float, float]] = []  # (monotonic, seconds since the sim stamped it)

    def listen(msg: m.Message) -> None:
        meter.frames += 1
        if not meter.frames & 63:
            ts = getattr(msg, "ts_ms", None)
            if ts:
                lags.append((time.monotonic(), time.time() - ts / 1000))
        sid, seq = msg.sid, msg.seq
        if seq is not None and sid is not None:
            seq_frames[sid] += 1
            last_seq[sid] = seq
            first_seq.setdefault(sid, seq)

    store = Store()
    settings = StreamSettings(markets_per_subscription=cfg.get("markets_per_subscription", 500))
    pool = Pool(
        cfg["ws_url"],
        signer,
        store,
        settings,
        channels=CHANNELS,
        markets=cfg["tickers"],
        listener=listen,
        compression=cfg["compression"],
    )
    runner = asyncio.create_task(pool.run())
    synced_after = await books_synced(store, len(cfg["tickers"]), timeout=60, watch=runner)
    out = await _window(meter, cfg["warmup"], cfg["duration"])
    await pool.close()
    runner.cancel()
    mt = store.metrics
    lost = sum(last_seq[s] - first_seq[s] + 1 - seq_frames[s] for s in seq_frames)
    t0, t1 = meter.samples[0][0], meter.samples[-1][0]
    first = sorted(lag for t, lag in lags if t0 <= t < t0 + 1)
    last = sorted(lag for t, lag in lags if t1 - 1 <= t <= t1)
    out.update(
        lag_first_s=first[len(first) // 2] if first else None,
        lag_last_s=last[len(last) // 2] if last else None,
        total_frames=meter.frames,
        gaps=mt.gaps,
        resyncs=mt.resyncs,
        lost_seq_frames=lost,
        errors_by_code={str(k): v for k, v in mt.errors_by_code.items()},
        protocol_errors=mt.protocol_errors,
        reconnects=mt.reconnects,
        unsynced_books=sum(1 for s in store.markets.values() if not s.book.synced),
        markets=len(store.markets),
        connections=len(pool.sessions),
        synced_after=synced_after,
        first_errors=[f"{e.sentence} {e.detail}"[:160] for e in list(mt.last_errors)[:5]],
        ignored=getattr(mt, "ignored", None),
        store_messages=mt.messages,
    )
    return out


def main() -> int:
    cfg = json.loads(sys.stdin.read())  # stdin: 5,000 tickers do not fit in one argv string
    signer = Signer.from_file(cfg["key_id"], cfg["key_file"])
    _count_wire_bytes()
    t0 = time.monotonic()
    run = ours if cfg["mode"] == "ours" else bare
    out = asyncio.run(run(cfg, signer))
    out.update(mode=cfg["mode"], compression=cfg["compression"], rss_mb=rss_mb(), wall=time.monotonic() - t0)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
