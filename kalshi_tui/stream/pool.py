"""Several sessions behind one watchlist, merged into one store.

Big watchlists are sharded: each market channel gets one subscription per
``markets_per_subscription`` markets, and a connection carries at most
``subscriptions_per_connection`` such shards per channel before the next connection opens.
Account-wide channels (fills, positions, orders, lifecycle) ride on the first connection only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence

from kalshi_tui.auth import Signer
from kalshi_tui.config import StreamSettings
from kalshi_tui.protocol import commands
from kalshi_tui.protocol import messages as m
from kalshi_tui.store import Store
from kalshi_tui.stream.recorder import Recorder
from kalshi_tui.stream.replay import checkpoint
from kalshi_tui.stream.session import Listener, Session, Sub

DEFAULT_CHANNELS = (
    commands.CHANNEL_ORDERBOOK,
    commands.CHANNEL_TICKER,
    commands.CHANNEL_TRADE,
    commands.CHANNEL_FILL,
    commands.CHANNEL_POSITIONS,
    commands.CHANNEL_ORDERS,
    commands.CHANNEL_LIFECYCLE,
)


class Pool:
    def __init__(
        self,
        ws_url: str,
        signer: Signer,
        store: Store,
        settings: StreamSettings | None = None,
        *,
        channels: Sequence[str] = DEFAULT_CHANNELS,
        markets: Iterable[str] = (),
        rest: object | None = None,
        listener: Listener | None = None,
        use_yes_price: bool = False,
        compression: str | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.ws_url = ws_url
        self.recorder = recorder
        if recorder is not None:
            recorder.checkpoint = lambda: checkpoint(store, [s.machine for s in self.sessions])
        self.signer = signer
        self.store = store
        self.settings = settings or StreamSettings()
        self.market_channels = [c for c in channels if c in commands.MARKET_CHANNELS]
        self.account_channels = [c for c in channels if c not in commands.MARKET_CHANNELS]
        self.rest = rest
        self.listener = listener
        self.use_yes_price = use_yes_price
        self.compression = compression
        self.sessions: list[Session] = []
        self._tasks: dict[Session, asyncio.Task[None]] = {}
        self._running = False
        self._failed: asyncio.Future[BaseException] | None = None
        self._lock = asyncio.Lock()
        self._last_fill_ms: int | None = None
        self._pending_markets = list(dict.fromkeys(markets))
        self._backfills: set[asyncio.Task[None]] = set()

    @property
    def markets(self) -> list[str]:
        seen: dict[str, None] = {}
        for session in self.sessions:
            for sub in session.subs:
                if sub.channel in commands.MARKET_CHANNELS:
                    seen.update(dict.fromkeys(sorted(sub.markets)))
        return list(seen)

    # -- placement ---------------------------------------------------------------------------

    def _new_session(self) -> Session:
        session = Session(
            self.ws_url,
            self.signer,
            self.store,
            self.settings,
            index=len(self.sessions),
            listener=self.listener,
            use_yes_price=self.use_yes_price,
            compression=self.compression,
            on_fill_subscribed=self._on_fill_subscribed,
            recorder=self.recorder,
        )
        self.sessions.append(session)
        if self._running:
            self._start(session)
        return session

    def _subs_for(self, session: Session, channel: str) -> list[Sub]:
        return [s for s in session.subs if s.channel == channel]

    async def _place(self, channel: str, tickers: list[str]) -> None:
        cap = self.settings.markets_per_subscription
        per_conn = self.settings.subscriptions_per_connection
        remaining = list(tickers)
        while remaining:
            target = None
            for session in self.sessions:
                for sub in self._subs_for(session, channel):
                    if len(sub.markets) < cap:
                        target = (session, sub)
                        break
                if target:
                    break
            if target is not None:
                session, sub = target
                room = cap - len(sub.markets)
                chunk, remaining = remaining[:room], remaining[room:]
                await session.add_markets(sub, chunk)
                continue
            session = next((s for s in self.sessions if len(self._subs_for(s, channel)) < per_conn), None)
            if session is None:
                session = self._new_session()
            chunk, remaining = remaining[:cap], remaining[cap:]
            await session.add_sub(Sub(channel, set(chunk)))

    # -- watchlist ---------------------------------------------------------------------------

    async def add_markets(self, tickers: Iterable[str]) -> None:
        """Subscribe more markets, live (update_subscription add_markets, no reconnect)."""
        async with self._lock:
            wanted = set(self.markets)
            new = [t for t in dict.fromkeys(tickers) if t not in wanted]
            if not new:
                return
            if not self.sessions:
                self._new_session()
            for channel in self.market_channels:
                await self._place(channel, new)

    async def remove_markets(self, tickers: Iterable[str]) -> None:
        """Unsubscribe markets, live (update_subscription delete_markets)."""
        async with self._lock:
            gone = set(tickers)
            for session in self.sessions:
                for sub in list(session.subs):
                    hit = gone & sub.markets
                    if hit:
                        await session.remove_markets(sub, hit)
            for ticker in gone:
                self.store.forget(ticker)

    async def set_markets(self, tickers: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(tickers))
        current = set(self.markets)
        await self.remove_markets([t for t in current if t not in set(wanted)])
        await self.add_markets([t for t in wanted if t not in current])

    async def resync(self, ticker: str) -> bool:
        """Fetch ``ticker``'s book again from the exchange (get_snapshot on its order-book
        subscription), as after a gap. False when no subscription holds it."""
        for session in self.sessions:
            for sub in session.subs:
                if sub.is_book and ticker in sub.markets:
                    await session.resync(sub, ticker)
                    return True
        return False

    # -- running -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run every session until ``close``; re-raises the first fatal error (e.g. a 401
        before the key ever worked)."""
        if not self.sessions:
            first = self._new_session()
            for channel in self.account_channels:
                first.subs.append(Sub(channel))
        if self._pending_markets:
            markets, self._pending_markets = self._pending_markets, []
            await self.add_markets(markets)
        self._failed = asyncio.get_running_loop().create_future()
        self._running = True
        if self.recorder is not None:
            self.recorder.start()
        for session in self.sessions:
            self._start(session)
        try:
            exc = await self._failed
            raise exc
        except asyncio.CancelledError:
            pass
        finally:
            self._running = False
            await self._stop_all()

    def _start(self, session: Session) -> None:
        task = asyncio.create_task(session.run(), name=f"kalshi-session-{session.index}")
        self._tasks[session] = task
        task.add_done_callback(self._session_done)

    def _session_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._failed is None or self._failed.done():
            return
        exc = task.exception()
        if exc is not None:
            self._failed.set_result(exc)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[asyncio.Task[None]]:
        """Run the pool in a task for the ``async with`` block, then close it; the task is
        yielded so callers can watch for a fatal error (``task.done()``)."""
        task = asyncio.create_task(self.run(), name="kalshi-pool")
        try:
            yield task
        finally:
            await self.close()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def close(self) -> None:
        if self._failed is not None and not self._failed.done():
            self._failed.cancel()
        await self._stop_all()

    async def _stop_all(self) -> None:
        for task in list(self._backfills):
            task.cancel()
        for session in self.sessions:
            await session.close()
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(asyncio.gather(*(s.connected.wait() for s in self.sessions)), timeout)

    # -- fills backfill ----------------------------------------------------------------------

    def _on_fill_subscribed(self, session: Session) -> None:
        """Each time the fill subscription is made (every connect, and again after the
        exchange ended it with error 10/25), fetch the fills made while it was away: from
        the newest one held now, before any new live fill arrives. The store de-duplicates
        by trade id, so overlap is harmless and nothing is lost."""
        if session.index != 0 or self.rest is None:
            return
        if commands.CHANNEL_FILL not in self.account_channels:
            return
        backfill = getattr(self.rest, "fills", None)
        if backfill is None:
            return
        task = asyncio.create_task(self._backfill(backfill, self._latest_fill_ms()))
        self._backfills.add(task)
        task.add_done_callback(self._backfills.discard)

    async def _backfill(self, backfill: Callable[..., Awaitable[list[m.Fill]]], since: int | None) -> None:
        try:
            fills: list[m.Fill] = await backfill(min_ts=None if since is None else since // 1000 - 60)
        except Exception as exc:
            self.store.record_error(None, str(exc)[:200], "Could not backfill fills over REST.")
            return
        for fill in fills:
            self.store.add_fill(fill)

    def _latest_fill_ms(self) -> int | None:
        stamps = [f.ts_ms for f in self.store.fills.values() if f.ts_ms is not None]
        return max(stamps) if stamps else None
