"""A bounded buffer between the socket reader and a slow consumer (e.g. ``tail`` writing to
a pipe).

Policy, so memory stays bounded whatever the consumer does and the reader never waits:

* At most ``maxsize`` events are held. When one more arrives, the **oldest** event goes.
* A dropped trade, ticker, fill, position or lifecycle event is gone; it is counted by type
  (``dropped``), so nothing is lost silently.
* A book event (snapshot or delta) is never dropped on its own: that would leave anyone
  replaying the output with a wrong book. Instead its market is *refreshed*: every book
  event of that market still held is discarded, later ones are absorbed, and the consumer
  gets one fresh ``orderbook_snapshot`` of it, built from the store's book (always exact:
  the store applies every frame before the buffer sees it) at the moment it is taken out.
  Replaying the output therefore still ends with the store's books. ``folded`` counts
  the book events replaced this way and ``refreshed`` the snapshots handed out.

Every operation is O(1) (amortized): discarded book events are skipped when they reach the
front, by a per-market count, instead of being searched for.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque

from kalshi_tui.protocol import messages as m
from kalshi_tui.store import Store

_BOOK = (m.OrderbookSnapshot, m.OrderbookDelta)


def book_snapshot(store: Store, ticker: str) -> m.OrderbookSnapshot | None:
    """The store's book of ``ticker`` as a snapshot message; None when it is not in sync
    (then the exchange's own snapshot is on its way and will be passed on instead)."""
    state = store.markets.get(ticker)
    if state is None or not state.book.synced:
        return None
    book = state.book
    return m.OrderbookSnapshot(market_ticker=ticker, yes=sorted(book.yes.items()), no=sorted(book.no.items()))


class EventBuffer:
    def __init__(self, store: Store, maxsize: int = 10_000) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.store = store
        self.maxsize = maxsize
        self.dropped: Counter[str] = Counter()  # wire type -> events dropped
        self.folded = 0  # book events replaced by a fresh snapshot
        self.refreshed = 0  # fresh snapshots handed out
        self._queue: deque[m.Message] = deque()
        self._books_held: Counter[str] = Counter()  # market -> its book events in _queue
        self._discard: Counter[str] = Counter()  # market -> how many of those to skip
        self._refresh: dict[str, None] = {}  # markets owed a fresh snapshot, oldest first
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        """Events held, including discarded book events not yet skipped (so this is also
        the memory bound: never more than ``maxsize`` plus one pending refresh per market)."""
        return len(self._queue) + len(self._refresh)

    def put(self, msg: m.Message) -> None:
        if isinstance(msg, _BOOK):
            ticker = msg.market_ticker
            if ticker in self._refresh:
                self.folded += 1  # the fresh snapshot, taken later, includes it
                return
            self._books_held[ticker] += 1
        self._queue.append(msg)
        while len(self._queue) > self.maxsize:
            self._drop_oldest()
        self._ready.set()

    def _drop_oldest(self) -> None:
        msg = self._queue.popleft()
        if not isinstance(msg, _BOOK):
            self.dropped[_kind(msg)] += 1
            return
        ticker = msg.market_ticker
        self._books_held[ticker] -= 1
        if self._discard[ticker]:
            self._discard[ticker] -= 1  # counted when its market was refreshed
            return
        # Refresh this market: what it still holds is discarded, a snapshot replaces it all.
        held = self._books_held[ticker]
        self._discard[ticker] = held
        self.folded += 1 + held
        self._refresh[ticker] = None

    def get_nowait(self) -> m.Message | None:
        while self._refresh:
            ticker = next(iter(self._refresh))
            del self._refresh[ticker]
            snap = book_snapshot(self.store, ticker)
            if snap is not None:
                self.refreshed += 1
                return snap
        while self._queue:
            msg = self._queue.popleft()
            if isinstance(msg, _BOOK):
                ticker = msg.market_ticker
                self._books_held[ticker] -= 1
                if self._discard[ticker]:
                    self._discard[ticker] -= 1
                    continue
            return msg
        return None

    async def get(self) -> m.Message:
        while True:
            msg = self.get_nowait()
            if msg is not None:
                return msg
            self._ready.clear()
            await self._ready.wait()

    def summary(self) -> str:
        """One line about what a slow consumer missed ('' when nothing was)."""
        parts = []
        if self.dropped:
            kinds = [f"{n:,} {kind}" for kind, n in sorted(self.dropped.items())]
            total = sum(self.dropped.values())
            parts.append(f"dropped {', '.join(kinds)} event{'s' * (total != 1)}")
        if self.folded:
            parts.append(
                f"replaced {self.folded:,} book update{'s' * (self.folded != 1)} "
                f"with {self.refreshed:,} fresh snapshot{'s' * (self.refreshed != 1)}"
            )
        return "; ".join(parts)


def _kind(msg: m.Message) -> str:
    return m.WIRE_TYPE.get(type(msg), type(msg).__name__)
