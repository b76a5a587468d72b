"""One authenticated WebSocket connection to Kalshi, kept alive and exact.

A ``Session`` owns its subscriptions (what it should be subscribed to, and the sid each
got), checks every frame's seq per sid, folds data into the shared ``Store`` and recovers
on its own: a seq gap asks for fresh snapshots, errors 10/25 resubscribe, a dropped or
silent link reconnects with backoff, and after a reconnect every book is rebuilt from new
snapshots. The data path per frame is: decode -> seq check -> store.apply.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from kalshi_tui.auth import Signer
from kalshi_tui.book import SeqTracker
from kalshi_tui.config import StreamSettings
from kalshi_tui.errors import AuthRejected
from kalshi_tui.protocol import ProtocolError, codes, commands, decode
from kalshi_tui.protocol import messages as m
from kalshi_tui.store import (
    AUTH_FAILED,
    CONNECTING,
    DOWN,
    LIVE,
    RECONNECTING,
    MarketState,
    Store,
    Subscription,
)
from kalshi_tui.stream.backoff import Backoff

log = logging.getLogger(__name__)

MAX_MESSAGE = 64 * 1024 * 1024  # the exchange's documented frame limit
DOWN_AFTER_ATTEMPTS = 3  # failed connects in a row before the badge says "down"
RESYNC_TIMEOUT = 5.0  # s to wait for get_snapshot answers before resubscribing instead
_DATA_TYPES = frozenset(
    {m.OrderbookDelta, m.OrderbookSnapshot, m.Ticker, m.Trade, m.Fill, m.MarketPosition, m.Lifecycle}
)

Listener = Callable[[m.Message], None]


@dataclass(eq=False)
class Sub:
    """One wanted subscription: a channel and its markets (empty for account-wide channels)."""

    channel: str
    markets: set[str] = field(default_factory=set)
    sid: int | None = None
    yes_scale: bool = False  # subscribed with use_yes_price: NO levels come on the YES scale
    resync_deadline: float | None = None  # monotonic time a pending get_snapshot gives up
    redo_at: float | None = None  # monotonic time to make it again (a command got error 27)
    asked: frozenset[str] = frozenset()  # the markets its last subscribe command named

    @property
    def is_book(self) -> bool:
        return self.channel == commands.CHANNEL_ORDERBOOK


@dataclass(slots=True)
class _Pending:
    kind: str  # "subscribe" | "update" | "snapshot" | "unsubscribe" | "list"
    sub: Sub | None


def clock_offset(date_header: str | None, now: float | None = None) -> float | None:
    """Server time minus local time (``now``, else the system clock) in seconds, from an
    HTTP Date header."""
    if not date_header:
        return None
    try:
        server = email.utils.parsedate_to_datetime(date_header).timestamp()
    except (TypeError, ValueError):
        return None
    return server - (time.time() if now is None else now)


class Session:
    def __init__(
        self,
        url: str,
        signer: Signer,
        store: Store,
        settings: StreamSettings | None = None,
        *,
        index: int = 0,
        listener: Listener | None = None,
        use_yes_price: bool = False,
        compression: str | None = None,
        on_fill_subscribed: Callable[[Session], object] | None = None,
    ) -> None:
        self.url = url
        self.path = urlsplit(url).path or "/"
        self.signer = signer
        self.store = store
        self.settings = settings or StreamSettings()
        self.index = index
        self.listener = listener
        self.use_yes_price = use_yes_price
        self.compression = compression
        self.on_fill_subscribed = on_fill_subscribed
        self.subs: list[Sub] = []
        self.by_sid: dict[int, Sub] = {}
        self.seq = SeqTracker()
        self.backoff = Backoff(
            self.settings.backoff_base, self.settings.backoff_cap, self.settings.stable_after
        )
        self.ws: ClientConnection | None = None
        self.connected = asyncio.Event()
        self.ever_connected = False
        self._ids = commands.CommandIds()
        self._pending: dict[int, _Pending] = {}
        self._last_command: dict[int, float] = {}  # sid -> monotonic time of last command
        self._closing = False
        self._frames = 0
        self._bytes = 0

    def __repr__(self) -> str:
        return f"Session({self.index}, {self.url!r}, {len(self.subs)} subs)"

    # -- what we want ------------------------------------------------------------------------

    def market_count(self) -> int:
        return len({t for s in self.subs for t in s.markets})

    async def add_sub(self, sub: Sub) -> None:
        self.subs.append(sub)
        if self.ws is not None:
            await self._subscribe(sub)
        self._publish_subscriptions()

    async def add_markets(self, sub: Sub, tickers: Iterable[str]) -> None:
        new = [t for t in tickers if t not in sub.markets]
        if not new:
            return
        sub.markets.update(new)
        if self.ws is not None and sub.sid is not None:
            await self._command(
                commands.update_subscription(
                    self._next_id("update", sub), sub.sid, commands.ADD_MARKETS, new
                ),
                sub.sid,
            )
        self._publish_subscriptions()

    async def remove_markets(self, sub: Sub, tickers: Iterable[str]) -> None:
        gone = [t for t in tickers if t in sub.markets]
        if not gone:
            return
        sub.markets.difference_update(gone)
        if self.ws is not None and sub.sid is not None:
            if sub.markets:
                await self._command(
                    commands.update_subscription(
                        self._next_id("update", sub), sub.sid, commands.DELETE_MARKETS, gone
                    ),
                    sub.sid,
                )
            else:
                # An empty subscription is not a thing: drop it.
                self.by_sid.pop(sub.sid, None)
                await self._command(commands.unsubscribe(self._next_id("unsubscribe", sub), [sub.sid]))
        if not sub.markets:
            self.subs.remove(sub)
        self._publish_subscriptions()

    # -- life cycle --------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and keep connected until ``close``. Raises ``AuthRejected`` on a 401
        before this key ever worked (after that, a 401 is retried: exchange hiccups and
        maintenance windows have produced them)."""
        while not self._closing:
            if self.store.metrics.connections.get(self.index) != DOWN:
                self._set_state(RECONNECTING if self.ever_connected else CONNECTING)
            try:
                ws = await connect(
                    self.url,
                    additional_headers=self.signer.headers("GET", self.path),
                    compression=self.compression,
                    max_size=MAX_MESSAGE,
                    max_queue=4096,
                    ping_interval=self.settings.dead_link_timeout / 2,
                    ping_timeout=self.settings.dead_link_timeout / 2,
                    # After an unanswered ping the peer is gone: don't wait the library's
                    # default 10 s for it to answer our close frame too.
                    close_timeout=min(2.0, self.settings.dead_link_timeout / 4),
                    open_timeout=10,
                    proxy=None,
                    user_agent_header="kalshi-tui",
                )
            except InvalidStatus as exc:
                if not self._handshake_refused(exc):
                    raise
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                self.store.record_error(None, f"{self.url}: {exc}", "Cannot reach the exchange; retrying.")
                if self.backoff.attempt >= DOWN_AFTER_ATTEMPTS:
                    self._set_state(DOWN)
            else:
                log.debug("connected to %s (connection %d)", self.url, self.index)
                await self._serve(ws)
            if self._closing:
                break
            await asyncio.sleep(self.backoff.delay())
        self._set_state(DOWN)

    def _handshake_refused(self, exc: InvalidStatus) -> bool:
        """Deal with a refused upgrade. Returns False when the caller must stop."""
        status = exc.response.status_code
        if status not in (401, 403):
            self.store.record_error(None, f"HTTP {status}", f"The exchange refused us (HTTP {status}).")
            return True
        # Against the clock the handshake was signed with: that is the one the exchange judged.
        offset = clock_offset(exc.response.headers.get("Date"), self.signer.now())
        self.store.metrics.clock_offset = offset
        skew = f" Local clock is {offset:+.1f} s off the exchange's." if offset is not None else ""
        sentence = (
            f"The exchange refused our key (HTTP {status}): check the key id, the key "
            f"file and that the key belongs to this environment.{skew}"
        )
        self.store.record_error(None, f"HTTP {status}", sentence)
        self._set_state(AUTH_FAILED)
        if not self.ever_connected:
            raise AuthRejected(sentence) from None
        return True

    async def close(self) -> None:
        self._closing = True
        ws = self.ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()

    async def _serve(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ever_connected = True
        now = time.time()
        self.backoff.connected(time.monotonic())
        self.store.metrics.endpoint = self.url
        self.store.metrics.connected_since = now
        self._reset_connection_state()
        self._set_state(LIVE)
        self.connected.set()
        watchdog = asyncio.create_task(self._watchdog(ws))
        try:
            for sub in self.subs:
                await self._subscribe(sub)
            self._publish_subscriptions()
            await self._read(ws)
        except ConnectionClosed as exc:
            if not self._closing:
                self.store.record_error(None, f"{exc}", "Connection to the exchange dropped; reconnecting.")
        finally:
            watchdog.cancel()
            self.ws = None
            self.connected.clear()
            self.backoff.disconnected(time.monotonic())
            self._flush_traffic()
            if not self._closing:
                self._set_state(RECONNECTING)  # now, not after the backoff sleep
                self.store.metrics.reconnects += 1
                # Sids and seqs start over on the next connection: nothing here is current.
                self.store.mark_stale({t for s in self.subs if s.is_book for t in s.markets}, "reconnecting")

    def _reset_connection_state(self) -> None:
        self._ids = commands.CommandIds()
        self._pending.clear()
        self._last_command.clear()
        self.by_sid.clear()
        self.seq.reset()
        for sub in self.subs:
            sub.sid = None
            sub.resync_deadline = None
            sub.redo_at = None

    async def _watchdog(self, ws: ClientConnection) -> None:
        """Once a second: publish traffic and ping round-trip, and give up on resyncs that
        the exchange never answered (resubscribe instead)."""
        while True:
            await asyncio.sleep(1.0)
            self._flush_traffic()
            if ws.latency:
                self.store.metrics.ping_rtt = ws.latency
            self.store.touch_connection()
            now = time.monotonic()
            for sub in list(self.by_sid.values()):
                if sub.resync_deadline is not None and now > sub.resync_deadline:
                    await self._resubscribe(sub, unsubscribe_first=True)
            for sub in list(self.subs):
                if sub.redo_at is not None and now > sub.redo_at:
                    await self._resubscribe(sub, unsubscribe_first=True)

    def _flush_traffic(self) -> None:
        if self._frames:
            self.store.record_traffic(self._frames, self._bytes)
            self._frames = self._bytes = 0

    # -- reading -----------------------------------------------------------------------------

    async def _read(self, ws: ClientConnection) -> None:
        store = self.store
        seq = self.seq
        listener = self.listener
        by_sid = self.by_sid
        async for raw in ws:
            self._frames += 1
            self._bytes += len(raw)
            try:
                msg = decode(raw)
            except ProtocolError as exc:
                store.record_error(None, exc.reason, "Received a frame that could not be read.")
                continue
            sid = msg.sid
            sub = by_sid.get(sid) if sid is not None else None
            if sub is not None and msg.seq is not None:
                missed = seq.check(sid, msg.seq)  # type: ignore[arg-type]
                if missed:
                    await self._on_gap(sid, missed)  # type: ignore[arg-type]
            t = type(msg)
            if t in _DATA_TYPES:
                # Only data of a subscription we hold, for a market in it (books: with a seq),
                # is applied. The rest is in flight after an unsubscribe, or not the
                # exchange's at all, and must not touch a book.
                if (
                    sub is None
                    or (sub.markets and msg.market_ticker not in sub.markets)
                    or (msg.seq is None and sub.is_book)
                ):  # type: ignore[attr-defined]
                    store.metrics.ignored += 1
                    continue
                if t is m.OrderbookDelta:
                    state = store.markets.get(msg.market_ticker)  # type: ignore[attr-defined]
                    was_synced = state is not None and state.book.synced
                    store.apply(msg, no_on_yes_scale=sub.yes_scale)
                    if was_synced and not state.book.synced:  # type: ignore[union-attr]
                        await self._on_desync(sub, state)  # type: ignore[arg-type]
                else:
                    store.apply(msg, no_on_yes_scale=sub.yes_scale)
                    if t is m.OrderbookSnapshot:
                        if msg.id is not None:  # type: ignore[attr-defined]
                            # get_snapshot is answered by snapshots alone (no ok): settle it here.
                            self._pending.pop(msg.id, None)  # type: ignore[attr-defined]
                        state = store.markets[msg.market_ticker]  # type: ignore[attr-defined]
                        if not state.book.synced:
                            await self._on_desync(sub, state)
                        elif sub.resync_deadline:
                            self._check_resynced(sub)
                if listener is not None:
                    listener(msg)
            else:
                await self._on_control(msg)

    def _check_resynced(self, sub: Sub) -> None:
        markets = self.store.markets
        if all(markets[t].book.synced for t in sub.markets if t in markets):
            sub.resync_deadline = None

    async def _on_gap(self, sid: int, missed: int) -> None:
        metrics = self.store.metrics
        metrics.gaps += 1
        sub = self.by_sid.get(sid)
        log.debug("seq gap on sid %d: %d missing", sid, missed)
        self.store.record_error(
            None, f"sid {sid}: {missed} frame(s) missing", "Sequence gap: resyncing the affected books."
        )
        if sub is None or not sub.is_book or not sub.markets:
            return
        self.store.mark_stale(sub.markets, "sequence gap")
        metrics.resyncs += 1
        sub.resync_deadline = time.monotonic() + RESYNC_TIMEOUT
        await self._command(
            commands.update_subscription(
                self._next_id("snapshot", sub), sid, commands.GET_SNAPSHOT, sorted(sub.markets)
            ),
            sid,
        )

    async def _on_desync(self, sub: Sub, state: MarketState) -> None:
        """A frame of our subscription left a book impossible (a level below zero, a price
        off the scale, a crossed book): it no longer matches the exchange's; fetch it again."""
        self.store.record_error(
            None,
            f"{state.ticker}: {state.book.stale_reason}",
            "An order book went out of sync: resyncing it.",
        )
        if sub.sid is None or sub.resync_deadline is not None:
            return  # a resync of this subscription is on its way already
        self.store.metrics.resyncs += 1
        sub.resync_deadline = time.monotonic() + RESYNC_TIMEOUT
        await self._command(
            commands.update_subscription(
                self._next_id("snapshot", sub), sub.sid, commands.GET_SNAPSHOT, [state.ticker]
            ),
            sub.sid,
        )

    async def _on_control(self, msg: m.Message) -> None:
        t = type(msg)
        if t is m.Unknown:
            self.store.metrics.unknown_types[msg.type] += 1  # type: ignore[attr-defined]
            return
        pending = self._pending.pop(msg.id, None) if msg.id is not None else None  # type: ignore[attr-defined]
        if pending is None and t is not m.Error:
            self.store.metrics.ignored += 1  # an answer to nothing we asked
            return
        if t is m.Subscribed:
            sub = pending.sub if pending else None
            if sub is not None and msg.sid is not None:
                if sub not in self.subs:
                    # Dropped from the watchlist while the subscribe was on its way.
                    await self._command(commands.unsubscribe(self._next_id("unsubscribe", None), [msg.sid]))
                    return
                sub.sid = msg.sid
                self.by_sid[msg.sid] = sub
                self.seq.forget(msg.sid)
                self._publish_subscriptions()
                if sub.markets != sub.asked and sub.channel in commands.MARKET_CHANNELS:
                    await self._catch_up(sub, msg.sid)
                if sub.channel == commands.CHANNEL_FILL and self.on_fill_subscribed is not None:
                    # Fills made while it was away (disconnected, or ended by 10/25) are
                    # fetched now that new ones arrive live again.
                    self.on_fill_subscribed(self)
        elif t is m.Unsubscribed:
            if msg.sid is not None:
                self.by_sid.pop(msg.sid, None)
        elif t is m.Error:
            await self._on_error(msg, pending)  # type: ignore[arg-type]

    async def _on_error(self, err: m.Error, pending: _Pending | None) -> None:
        detail = err.text + (f" ({', '.join(err.market_tickers)})" if err.market_tickers else "")
        self.store.record_error(err.code, detail)
        sub = self.by_sid.get(err.sid) if err.sid is not None else None
        if sub is None and pending is not None:
            sub = pending.sub
        if sub is None:
            return
        if err.code in codes.RESUBSCRIBE_CODES:
            # The exchange ended this subscription: make it again.
            await self._resubscribe(sub, unsubscribe_first=False)
        elif pending is not None and pending.kind == "snapshot":
            # get_snapshot refused: fall back to unsubscribe + subscribe.
            await self._resubscribe(sub, unsubscribe_first=True)
        elif err.code == 27:
            # Too many commands on this subscription: the refused one is lost (a 27 about a
            # sid does not even say which), so the subscription is made again with what we
            # want, a second later, by the watchdog (sleeping here would stop the reading).
            if sub.redo_at is None:
                sub.redo_at = time.monotonic() + 1.0
        elif err.code == 16 and err.market_tickers:
            # The exchange refuses the whole command for one unknown ticker: drop the
            # unknown ones (reported above) and carry on with the rest. A refused
            # update_subscription is answered about its sid, without the command's id.
            sub.markets.difference_update(err.market_tickers)
            if not sub.markets:
                if sub in self.subs:
                    self.subs.remove(sub)
                if sub.sid is not None:
                    self.by_sid.pop(sub.sid, None)
                    await self._command(commands.unsubscribe(self._next_id("unsubscribe", None), [sub.sid]))
            elif pending is not None and pending.kind == "subscribe":
                await self._subscribe(sub)
            elif sub.sid is not None:
                await self._resubscribe(sub, unsubscribe_first=True)
            self._publish_subscriptions()

    # -- commands ----------------------------------------------------------------------------

    def _next_id(self, kind: str, sub: Sub | None) -> int:
        cmd_id = self._ids()
        self._pending[cmd_id] = _Pending(kind, sub)
        return cmd_id

    async def _command(self, payload: bytes, sid: int | None = None) -> None:
        ws = self.ws
        if ws is None:
            return
        if sid is not None:
            # Per-subscription command rate (the exchange answers 27 past its limit).
            gap = 1.0 / self.settings.commands_per_second
            last = self._last_command.get(sid)
            now = time.monotonic()
            if last is not None and now - last < gap:
                await asyncio.sleep(gap - (now - last))
            self._last_command[sid] = time.monotonic()
        with contextlib.suppress(ConnectionClosed):
            await ws.send(payload.decode())

    async def _subscribe(self, sub: Sub) -> None:
        if sub.channel in commands.MARKET_CHANNELS and not sub.markets:
            return
        yes_scale = self.use_yes_price and sub.is_book
        sub.yes_scale = yes_scale
        cmd_id = self._next_id("subscribe", sub)
        sub.asked = frozenset(sub.markets)
        await self._command(
            commands.subscribe(cmd_id, [sub.channel], sorted(sub.markets), use_yes_price=yes_scale)
        )

    async def _catch_up(self, sub: Sub, sid: int) -> None:
        """The watchlist changed while the subscribe was on its way (edits wait for a sid):
        send the difference now."""
        new = sorted(sub.markets - sub.asked)
        gone = sorted(sub.asked - sub.markets)
        sub.asked = frozenset(sub.markets)
        if new:
            await self._command(
                commands.update_subscription(self._next_id("update", sub), sid, commands.ADD_MARKETS, new),
                sid,
            )
        if gone:
            await self._command(
                commands.update_subscription(
                    self._next_id("update", sub), sid, commands.DELETE_MARKETS, gone
                ),
                sid,
            )

    async def _resubscribe(self, sub: Sub, *, unsubscribe_first: bool) -> None:
        old = sub.sid
        log.debug("resubscribing %s (sid %s)", sub.channel, old)
        sub.resync_deadline = None
        sub.redo_at = None
        if sub.is_book:
            self.store.mark_stale(sub.markets, "resubscribing")
            self.store.metrics.resyncs += 1
        if old is not None:
            self.by_sid.pop(old, None)
            self.seq.forget(old)
            if unsubscribe_first:
                await self._command(commands.unsubscribe(self._next_id("unsubscribe", None), [old]))
        sub.sid = None
        if sub in self.subs:
            await self._subscribe(sub)

    # -- state for the Connection tab ---------------------------------------------------------

    def _set_state(self, state: str) -> None:
        self.store.set_state(state, self.index)

    def _publish_subscriptions(self) -> None:
        metrics = self.store.metrics
        others = [s for s in metrics.subscriptions if s.connection != self.index]
        mine = [Subscription(self.index, s.channel, s.sid, len(s.markets)) for s in self.subs]
        metrics.subscriptions = others + mine
        self.store.touch_connection()
