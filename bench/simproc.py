"""The simulator as a separate process (``python -m kalshi_tui sim``), as the benchmarks use it.

``SimProcess`` starts it on a free loopback port, reads the banner for the URLs, key id and
throwaway key file, and can list the open markets over its REST API. Its CPU time is read
from /proc so the client's and the server's costs are reported apart.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.common import proc_cpu_seconds
from kalshi_tui.auth import Signer
from kalshi_tui.sim.engine import DELTA, TICKER, TRADE, Engine

_FIELDS = {
    "ws_url": r"WebSocket\s+(\S+)",
    "rest_url": r"REST\s+(\S+)",
    "key_id": r"key id\s+(\S+)",
    "key_file": r"key file\s+(\S+)",
}


class SimError(RuntimeError):
    pass


class SimProcess:
    def __init__(
        self,
        *,
        seed: int = 7,
        rate: float = 1000.0,
        markets: int = 500,
        extra: tuple[str, ...] = (),
        start_timeout: float = 20.0,
    ) -> None:
        self.seed, self.rate, self.markets = seed, rate, markets
        cmd = [
            sys.executable,
            "-m",
            "kalshi_tui",
            "sim",
            "--port",
            "0",
            "--seed",
            str(seed),
            "--rate",
            repr(float(rate)),
            "--markets",
            str(markets),
            *extra,
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.started = time.monotonic()
        banner: list[str] = []
        found: dict[str, str] = {}
        assert self.proc.stdout is not None
        deadline = time.monotonic() + start_timeout
        while len(found) < len(_FIELDS) and time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            banner.append(line)
            for name, pattern in _FIELDS.items():
                hit = re.search(pattern, line)
                if hit and name not in found:
                    found[name] = hit.group(1)
        if len(found) < len(_FIELDS):
            self.stop()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise SimError(f"simulator did not start: {''.join(banner)[-300:]} {err[-300:]}")
        self.ready_after = time.monotonic() - self.started
        self.ws_url = found["ws_url"]
        self.rest_url = found["rest_url"]
        self.key_id = found["key_id"]
        self.key_file = Path(found["key_file"])

    def pause_market(self) -> None:
        """No market data from now on; the socket stays up and pings are answered."""
        os.kill(self.proc.pid, signal.SIGUSR1)

    def resume_market(self) -> None:
        os.kill(self.proc.pid, signal.SIGUSR2)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signer(self) -> Signer:
        return Signer.from_file(self.key_id, self.key_file)

    def tickers(self) -> list[str]:
        """Open markets, from the simulator's REST API (public, paged)."""
        out: list[str] = []
        cursor = ""
        with httpx.Client(base_url=self.rest_url, timeout=10) as client:
            while True:
                params: dict[str, str | int] = {"status": "open", "limit": 1000}
                if cursor:
                    params["cursor"] = cursor
                page = client.get("/markets", params=params).raise_for_status().json()
                out += [m["ticker"] for m in page.get("markets", [])]
                cursor = page.get("cursor") or ""
                if not cursor:
                    return out

    def cpu_seconds(self) -> float | None:
        return proc_cpu_seconds(self.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def frames_per_step(markets: int, seed: int = 7, steps: int = 20_000) -> float:
    """Data frames a client on orderbook_delta + ticker + trade for every market receives
    per engine step (the simulator's ``--rate`` counts steps)."""
    engine = Engine(seed, markets, lifecycle_rate=0.0, user_share=0.0)
    kinds = (DELTA, TICKER, TRADE)
    return sum(1 for o in engine.run(steps) if o.kind in kinds) / steps
