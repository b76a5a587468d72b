"""How many messages a second one plain client receives from the simulator over loopback.

    python -m bench.sim_rate [--seconds 4] [--markets 200] [--rates 5000,10000,...]

The simulator runs in its own process (``kalshi-tui sim``), as it would for a user; this
process is one plain ``websockets`` client (no compression, as the app connects) subscribed
to orderbook_delta, ticker and trade on every market, only counting frames. For each rate
(engine steps per second; a step is one book change, trades add a trade and tickers) it
prints what arrived per second, whether the subscription survived (no error 25), and the
highest rate the client received in full.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from websockets.asyncio.client import connect

from kalshi_tui.auth import Signer

ROOT = Path(__file__).resolve().parents[1]


def _start_sim(rate: float, markets: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kalshi_tui",
            "sim",
            "--port",
            "0",
            "--rate",
            str(rate),
            "--markets",
            str(markets),
            "--seed",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    info: dict[str, str] = {}
    for line in proc.stdout:
        field = re.match(r"  (WebSocket|REST|key id|key file)\s+(\S+)", line)
        if field:
            info[field[1]] = field[2]
        if line.startswith("Ctrl-C"):
            return proc, info
    raise SystemExit(f"the simulator did not start: {proc.stderr.read() if proc.stderr else ''}")


def _tickers(rest_url: str) -> list[str]:
    with urllib.request.urlopen(f"{rest_url}/markets?status=open&limit=1000", timeout=5) as r:
        return [m["ticker"] for m in json.load(r)["markets"]]


async def _measure(info: dict[str, str], seconds: float, warmup: float = 1.0) -> tuple[float, float, bool]:
    """(frames/s, MB/s, survived) for one client over ``seconds`` after a warm-up."""
    signer = Signer.from_file(info["key id"], info["key file"])
    tickers = _tickers(info["REST"])
    async with connect(
        info["WebSocket"], additional_headers=signer.headers(), compression=None, max_size=None
    ) as ws:
        await ws.send(
            json.dumps(
                {
                    "id": 1,
                    "cmd": "subscribe",
                    "params": {"channels": ["orderbook_delta", "ticker", "trade"], "market_tickers": tickers},
                }
            )
        )
        frames = nbytes = 0
        overflow = False
        loop = asyncio.get_running_loop()
        start = loop.time() + warmup
        end = start + seconds
        # A bare recv loop: wrapping each recv in wait_for would cost more than the recv.
        async for raw in ws:
            now = loop.time()
            if now >= end:
                break
            if now >= start:
                frames += 1
                nbytes += len(raw)
            if raw[:15] == '{"type":"error"' and '"code":25' in raw:
                overflow = True
                break
        elapsed = max(1e-9, min(loop.time(), end) - start)
        return frames / elapsed, nbytes / elapsed / 1e6, not overflow


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--markets", type=int, default=200)
    parser.add_argument("--rates", default="2000,5000,10000,20000,30000,40000,60000")
    args = parser.parse_args()
    best = 0.0
    print(f"{'steps/s':>9} {'frames/s':>10} {'MB/s':>6}  kept up  survived")
    for rate in (float(r) for r in args.rates.split(",")):
        proc, info = _start_sim(rate, args.markets)
        try:
            per_s, mb_s, survived = asyncio.run(_measure(info, args.seconds))
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)
        # ~1.6 frames per step when subscribed to every market on the three channels.
        kept_up = per_s >= 0.9 * 1.6 * rate
        print(
            f"{rate:9.0f} {per_s:10.0f} {mb_s:6.1f}  {'yes' if kept_up else 'no':7}  "
            f"{'yes' if survived else 'no (error 25)'}",
            flush=True,
        )
        if survived:
            best = max(best, per_s)
        time.sleep(0.2)
    print(f"highest steady rate received: {best:,.0f} frames/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
