"""A bounded buffer between the socket reader and a slow consumer (e.g. ``tail`` writing to
a pipe). The reader never waits: when the buffer is full, order-book deltas for the same
market, side and price are merged into one (sizes add exactly) and tickers keep only the
newest per market. Every merge is counted, so nothing is lost silently."""

from __future__ import annotations

import asyncio
from collections import deque

from kalshi_tui.protocol import messages as m


class EventBuffer:
    def __init__(self, maxsize: int = 10_000) -> None:
        self.maxsize = maxsize
        self.conflated = 0
        self._queue: deque[m.Message] = deque()
        # Overflow, kept merged until the consumer catches up (insertion-ordered).
        self._deltas: dict[tuple[str, str, int], m.OrderbookDelta] = {}
        self._tickers: dict[str, m.Ticker] = {}
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._queue) + len(self._deltas) + len(self._tickers)

    def put(self, msg: m.Message) -> None:
        if len(self._queue) < self.maxsize:
            self._queue.append(msg)
        elif type(msg) is m.OrderbookDelta:
            key = (msg.market_ticker, msg.side, msg.price)
            held = self._deltas.get(key)
            if held is None:
                self._deltas[key] = msg
            else:
                self._deltas[key] = m.OrderbookDelta(
                    sid=msg.sid,
                    seq=msg.seq,
                    market_ticker=msg.market_ticker,
                    side=msg.side,
                    price=msg.price,
                    delta=held.delta + msg.delta,
                    ts_ms=msg.ts_ms,
                )
                self.conflated += 1
        elif type(msg) is m.Ticker:
            if msg.market_ticker in self._tickers:
                self.conflated += 1
            self._tickers[msg.market_ticker] = msg
        else:
            # Trades, fills and control frames are never merged: each one is an event.
            self._queue.append(msg)
        self._ready.set()

    def get_nowait(self) -> m.Message | None:
        if self._queue:
            return self._queue.popleft()
        if self._deltas:
            key = next(iter(self._deltas))
            return self._deltas.pop(key)
        if self._tickers:
            key = next(iter(self._tickers))
            return self._tickers.pop(key)
        return None

    async def get(self) -> m.Message:
        while True:
            msg = self.get_nowait()
            if msg is not None:
                return msg
            self._ready.clear()
            await self._ready.wait()
