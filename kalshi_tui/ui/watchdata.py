"""What the watchlist draws beyond the stream, fetched off the UI path through the REST budget:
the markets' metadata (``previous_price_dollars`` for the 24 h change, open interest, close
time) every five minutes, and 24 h of hourly candles for each watched market's sparkline.

The app starts ``WatchData.run`` as a worker once the first names are in; the pane only reads
the store and ``View.sparks``. Nothing here waits for the stream, nor the stream for this.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Protocol

from kalshi_tui.budget import BACKGROUND, WATCHLIST
from kalshi_tui.sparks import HOUR, HOURS, Sparks
from kalshi_tui.store import MarketMeta, Store

META_EVERY = 300.0  # s: previous_price_dollars (a day ago) moves slowly: refetched every 5 minutes
BATCH = 100  # markets per candlestick call: the batch endpoint's limit
RETRY = 30.0  # s: after a failed call, try again this much later


class WatchSource(Protocol):
    """What this needs from REST (kalshi_tui.rest.RestClient)."""

    async def markets(
        self, tickers: Sequence[str] | None = None, status: str | None = None, priority: int = ...
    ) -> list[MarketMeta]: ...
    async def candle_closes(
        self, tickers: list[str], start_ts: int, end_ts: int, *, period: int = ..., priority: int = ...
    ) -> dict[str, list[tuple[int, int | None]]]: ...


class WatchData:
    def __init__(
        self,
        rest: WatchSource,
        store: Store,
        sparks: Sparks,
        watched: Callable[[], set[str]],
        wall_clock: Callable[[], float],
        log: Callable[[str], object] = lambda _s: None,
        meta_every: float = META_EVERY,
        loaded: Callable[[], object] = lambda: None,
    ) -> None:
        """``loaded``: called after each batch of sparklines is in (the app may be dozing)."""
        self.rest = rest
        self.store = store
        self.sparks = sparks
        self.watched = watched
        self.wall_clock = wall_clock
        self.log = log
        self.meta_every = meta_every
        self.loaded = loaded
        self._wake = asyncio.Event()
        self.meta_refreshes = 0  # for tests: refreshes done

    def wake(self) -> None:
        """A market was added: fetch its history now, not at the next refresh."""
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_meta = loop.time() + self.meta_every  # the app has just fetched the names
        while True:
            self._wake.clear()
            await self._load_sparks()
            if loop.time() >= next_meta:
                ok = await self._refresh_meta()
                next_meta = loop.time() + (self.meta_every if ok else RETRY)
            missing = bool(self.watched() - self.sparks.loaded)
            wait = min(next_meta - loop.time(), RETRY if missing else self.meta_every)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.0))

    async def _load_sparks(self) -> None:
        watched = self.watched()
        for gone in [t for t in self.sparks.markets if t not in watched]:
            self.sparks.forget(gone)  # memory follows the watchlist
        wanted = sorted(watched - self.sparks.loaded)
        # One batch at a time, each drawn as it comes: the first rows need not wait for all.
        for i in range(0, len(wanted), BATCH):
            chunk = wanted[i : i + BATCH]
            now = int(self.wall_clock())
            try:
                closes = await self.rest.candle_closes(
                    chunk, now - HOURS * HOUR, now, period=60, priority=BACKGROUND
                )
            except Exception as exc:  # REST health on the Connection tab has the details
                self.log(f"loading sparklines failed: {exc!r}")
                return
            for ticker in chunk:
                if ticker in self.watched():
                    self.sparks.load(ticker, closes.get(ticker, ()))
            self.loaded()

    async def _refresh_meta(self) -> bool:
        watched = sorted(self.watched())
        if not watched:
            return True
        try:
            metas = await self.rest.markets(tickers=watched, priority=WATCHLIST)
        except Exception as exc:
            self.log(f"refreshing market metadata failed: {exc!r}")
            return False
        markets = self.store.markets
        for meta in metas:
            old = markets.get(meta.ticker)
            if old and old.meta and old.meta.series_ticker and not meta.series_ticker:
                meta.series_ticker = old.meta.series_ticker  # learnt from the event: keep it
        if metas:
            self.store.set_meta(metas)
        self.meta_refreshes += 1
        return True
