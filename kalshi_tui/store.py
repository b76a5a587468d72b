"""Market state: everything the dashboard shows, kept exact and fed by typed messages.

The store is pure data: no I/O, no Textual, no clock of its own beyond the ``clock``
it is given. Writers (the stream) call ``apply``; readers (UI, ``tail``) look at the
fields and call ``take_changes`` to learn what moved since they last looked, so a redraw
touches only what changed.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kalshi_tui.account import RestingOrder, order_from_message
from kalshi_tui.audit import AuditHealth
from kalshi_tui.book import NOT_SUBSCRIBED, OrderBook
from kalshi_tui.budget import RestHealth
from kalshi_tui.exchange import ExchangeState
from kalshi_tui.protocol import codes
from kalshi_tui.protocol import messages as m

# Connection states, worst last; the header badge shows the overall one.
LIVE = "live"
CONNECTING = "connecting"
RECONNECTING = "reconnecting"
STALE = "stale"
DOWN = "down"
AUTH_FAILED = "auth failed"

# What ``Store.apply`` tells its caller about an order book (0: nothing to do). Plain ints,
# so the hot path allocates nothing and nobody peeks into the store after applying.
BOOK_UNSYNCED = 1  # a delta for a book that has no snapshot (or is already stale)
BOOK_BROKEN = 2  # this frame left the book impossible: it must be fetched again
# The hot message types, bound once for ``Store.apply``.
_DELTA, _TICKER, _SNAPSHOT, _TRADE = m.OrderbookDelta, m.Ticker, m.OrderbookSnapshot, m.Trade

# Kinds of client-side problems, each with its own count on the Connection tab.
MALFORMED = "malformed"  # a frame that could not be read
GAP = "gap"  # a seq number skipped
DROP = "drop"  # the connection dropped
CONNECT = "connect"  # a connect attempt failed (refused, HTTP error, redirect, timeout)
DESYNC = "desync"  # a book became impossible
OTHER = "other"

_LIFECYCLE_STATUS = {
    "created": "initialized",
    "activated": "active",
    "deactivated": "inactive",
    "closed": "closed",
    "determined": "determined",
    "settled": "finalized",
}


@dataclass(slots=True)
class MarketMeta:
    """What REST knows about a market: names, status and its tick grid."""

    ticker: str
    title: str = ""
    subtitle: str = ""
    event_ticker: str = ""
    series_ticker: str = ""
    status: str = ""
    #: (start, end, step) in 1/10,000 dollar; empty = the usual 1¢ grid
    price_ranges: tuple[tuple[int, int, int], ...] = ()
    close_ts: int | None = None
    #: ``previous_price_dollars``: the last price a day ago, for the 24 h change
    previous_price: int | None = None
    open_interest: int | None = None  # as REST last said; the ticker channel keeps it live

    def tick_at(self, price: int) -> int:
        for start, end, step in self.price_ranges:
            if start <= price < end:
                return step
        return 100


@dataclass(slots=True)
class MarketState:
    ticker: str
    book: OrderBook
    meta: MarketMeta | None = None
    last_ticker: m.Ticker | None = None
    last_price: int | None = None
    open_price: int | None = None  # first last-price seen this session: "change" is against it
    prev_price: int | None = None
    volume: int | None = None
    open_interest: int | None = None
    status: str = ""
    position: m.MarketPosition | None = None
    trades: deque[m.Trade] = field(default_factory=lambda: deque(maxlen=200))
    updated: float = 0.0  # clock() of the last message about this market; 0 = never

    @property
    def change(self) -> int | None:
        if self.last_price is None or self.open_price is None:
            return None
        return self.last_price - self.open_price

    @property
    def title(self) -> str:
        return self.meta.title if self.meta else ""


@dataclass(slots=True)
class ErrorEvent:
    at: float  # wall clock, for display
    code: int | None  # None for a client-side problem (bad frame, network)
    sentence: str
    detail: str = ""
    kind: str = OTHER  # for code None: MALFORMED, GAP, DROP, CONNECT, DESYNC or OTHER
    connection: int | None = None  # pool index, when one connection had it


@dataclass(slots=True)
class Subscription:
    connection: int
    channel: str
    sid: int | None
    markets: int


class RateMeter:
    """Per-second counts for msgs/s and bytes/s, with a short history for sparklines."""

    __slots__ = ("_bucket", "_count", "history")

    def __init__(self, seconds: int = 60) -> None:
        self.history: deque[int] = deque(maxlen=seconds)
        self._bucket = 0
        self._count = 0

    def add(self, n: int, now: float) -> None:
        second = int(now)
        if second != self._bucket:
            self._roll(second)
        self._count += n

    def _roll(self, second: int) -> None:
        if self._bucket:
            self.history.append(self._count)
            # Whole seconds with no traffic still count, as zeros (capped by maxlen).
            for _ in range(min(second - self._bucket - 1, self.history.maxlen or 0)):
                self.history.append(0)
        self._bucket = second
        self._count = 0

    def rate(self, now: float) -> int:
        """Count in the last complete second."""
        if int(now) != self._bucket:
            self._roll(int(now))
        return self.history[-1] if self.history else 0


@dataclass(slots=True)
class Metrics:
    """Connection health for the Connection tab and the header badge."""

    state: str = CONNECTING
    endpoint: str = ""
    connected_since: float | None = None  # wall clock of the current connection
    reconnects: int = 0
    messages: int = 0
    bytes: int = 0
    gaps: int = 0
    resyncs: int = 0
    ignored: int = 0  # frames for no subscription or market we hold (in flight after an
    #                   unsubscribe, or not the exchange's): counted, never applied
    malformed: int = 0  # frames that could not be read
    drops: int = 0  # connections that dropped
    connect_failures: int = 0  # connect attempts that failed (refused, HTTP error, redirect)
    desyncs: int = 0  # books left impossible by a frame
    protocol_errors: int = 0  # every client-side problem (code None), all kinds together
    ping_rtt: float | None = None  # seconds
    clock_offset: float | None = None  # server - local, seconds, from the Date header
    errors_by_code: Counter[int] = field(default_factory=Counter)
    unknown_types: Counter[str] = field(default_factory=Counter)
    last_errors: deque[ErrorEvent] = field(default_factory=lambda: deque(maxlen=50))
    msg_rate: RateMeter = field(default_factory=RateMeter)
    byte_rate: RateMeter = field(default_factory=RateMeter)
    subscriptions: list[Subscription] = field(default_factory=list)
    connections: dict[int, str] = field(default_factory=dict)  # pool index -> state
    rest: RestHealth = field(default_factory=RestHealth)  # written by the REST client only
    audit: AuditHealth = field(default_factory=AuditHealth)  # written by the feed audit only
    exchange: ExchangeState = field(default_factory=ExchangeState)  # written by its poller only

    def uptime(self, now: float | None = None) -> float:
        if self.connected_since is None:
            return 0.0
        return max(0.0, (now or time.time()) - self.connected_since)


@dataclass(slots=True)
class Changes:
    """What moved since the last ``take_changes``: readers redraw only this."""

    markets: set[str] = field(default_factory=set)  # quotes, last, status: watchlist rows
    books: set[str] = field(default_factory=set)  # depth
    trades: bool = False
    fills: bool = False
    connection: bool = False
    metadata: bool = False
    orders: set[str] = field(default_factory=set)  # markets where your resting orders changed

    def __bool__(self) -> bool:
        return bool(
            self.markets
            or self.books
            or self.trades
            or self.fills
            or self.connection
            or self.metadata
            or self.orders
        )


class Store:
    def __init__(
        self,
        *,
        trade_ring: int = 200,
        all_trades_ring: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.markets: dict[str, MarketState] = {}
        self.metrics = Metrics()
        self.trades: deque[m.Trade] = deque(maxlen=all_trades_ring)
        self.fills: dict[str, m.Fill] = {}  # by trade id, in arrival order
        self.positions: dict[str, m.MarketPosition] = {}
        #: your resting orders by order id: REST's /portfolio/orders seeds them, user_orders
        #: frames keep them current in between (an order that stops resting leaves)
        self.orders: dict[str, RestingOrder] = {}
        self._order_clock = 0  # counts user_order frames, so a REST answer can tell what is newer
        self._order_touched: dict[str, int] = {}  # order id -> count at its last frame
        self.clock = clock
        self._trade_ring = trade_ring
        self._changes = Changes()
        #: called once, then cleared, at the next change a reader would draw (not the
        #: once-a-second connection touch): a dozing UI sets it instead of polling
        self.wake: Callable[[], object] | None = None

    # -- writing -----------------------------------------------------------------------------

    def market(self, ticker: str) -> MarketState:
        state = self.markets.get(ticker)
        if state is None:
            state = self.markets[ticker] = MarketState(
                ticker, OrderBook(ticker), trades=deque(maxlen=self._trade_ring)
            )
        return state

    def apply(self, msg: m.Message, no_on_yes_scale: bool = False, now: float | None = None) -> int:
        """Fold one data message into the state. Control frames are the stream's business.
        ``now``: the store's clock, when the caller has read it already (the stream has).
        Returns 0, or for a book frame ``BOOK_UNSYNCED`` / ``BOOK_BROKEN``.

        Runs for every frame: the common types come first, inline, with no allocation."""
        t = type(msg)
        flag = 0
        if now is None:
            now = self.clock()
        if t is _DELTA:
            d: m.OrderbookDelta = msg  # type: ignore[assignment]
            ticker = d.market_ticker
            state = self.markets.get(ticker) or self.market(ticker)
            book = state.book
            if not book.synced:
                book.apply_delta(d.side, d.price, d.delta, no_on_yes_scale)
                flag = BOOK_UNSYNCED
            elif not book.apply_delta(d.side, d.price, d.delta, no_on_yes_scale):
                flag = BOOK_BROKEN
            state.updated = now
            self._changes.books.add(ticker)
        elif t is _TICKER:
            k: m.Ticker = msg  # type: ignore[assignment]
            ticker = k.market_ticker
            state = self.markets.get(ticker) or self.market(ticker)
            state.last_ticker = k
            price = k.price
            if price is not None and price != state.last_price:
                state.prev_price = state.last_price
                state.last_price = price
                if state.open_price is None:
                    state.open_price = price
            if k.volume is not None:
                state.volume = k.volume
            if k.open_interest is not None:
                state.open_interest = k.open_interest
            state.updated = now
            self._changes.markets.add(ticker)
        elif t is _SNAPSHOT:
            s: m.OrderbookSnapshot = msg  # type: ignore[assignment]
            state = self.market(s.market_ticker)
            if not state.book.apply_snapshot(s.yes, s.no, no_on_yes_scale=no_on_yes_scale):
                flag = BOOK_BROKEN
            state.updated = now
            self._changes.books.add(s.market_ticker)
            self._changes.markets.add(s.market_ticker)
        elif t is _TRADE:
            self._apply_trade(msg, now)  # type: ignore[arg-type]
        elif t is m.Fill:
            self.add_fill(msg)  # type: ignore[arg-type]
        elif t is m.MarketPosition:
            p: m.MarketPosition = msg  # type: ignore[assignment]
            self.positions[p.market_ticker] = p
            self.market(p.market_ticker).position = p
            self._changes.fills = True
        elif t is m.UserOrder:
            self._apply_order(msg)  # type: ignore[arg-type]
        elif t is m.Lifecycle:
            self._apply_lifecycle(msg)  # type: ignore[arg-type]
        if self.wake is not None:
            self._stir()
        return flag

    def _stir(self) -> None:
        wake, self.wake = self.wake, None
        if wake is not None:
            wake()

    def _apply_order(self, o: m.UserOrder) -> None:
        self._order_clock += 1
        self._order_touched[o.order_id] = self._order_clock
        old = self.orders.pop(o.order_id, None)
        if o.status == "resting" and o.remaining > 0:
            self.orders[o.order_id] = order_from_message(o)
        elif old is None:
            return  # an order we never saw resting ended: nothing shown changes
        self._changes.orders.add(o.market_ticker)
        if old is not None:
            self._changes.orders.add(old.ticker)

    def order_mark(self) -> int:
        """Taken just before asking REST for the orders; give it to ``seed_orders``."""
        return self._order_clock

    def seed_orders(self, orders: Iterable[RestingOrder], since: int) -> None:
        """REST's resting orders replace the map, except orders a ``user_order`` frame spoke
        of after ``since`` (the mark taken before the request): the socket's word is newer."""
        newer = {oid for oid, at in self._order_touched.items() if at > since}
        fresh = {
            o.order_id: o
            for o in orders
            if o.status == "resting" and o.remaining > 0 and o.order_id not in newer
        }
        for oid in newer:
            kept = self.orders.get(oid)
            if kept is not None:
                fresh[oid] = kept
        old = self.orders
        for oid in old.keys() | fresh.keys():
            if old.get(oid) != fresh.get(oid):
                self._changes.orders.add((old.get(oid) or fresh[oid]).ticker)
                if oid in fresh:
                    self._changes.orders.add(fresh[oid].ticker)
        self.orders = fresh
        self._order_touched = {oid: at for oid, at in self._order_touched.items() if at > since}
        self._stir()

    def _apply_trade(self, tr: m.Trade, now: float) -> None:
        state = self.market(tr.market_ticker)
        state.trades.append(tr)
        self.trades.append(tr)
        if tr.yes_price != state.last_price:
            state.prev_price = state.last_price
            state.last_price = tr.yes_price
            if state.open_price is None:
                state.open_price = tr.yes_price
        state.updated = now
        self._changes.trades = True
        self._changes.markets.add(tr.market_ticker)

    def _apply_lifecycle(self, ev: m.Lifecycle) -> None:
        # The lifecycle channel covers the whole exchange: keep only markets we show.
        state = self.markets.get(ev.market_ticker)
        if state is None:
            return
        status = _LIFECYCLE_STATUS.get(ev.event_type)
        if status:
            state.status = status
            if state.meta:
                state.meta.status = status
        if ev.price_ranges and state.meta:
            state.meta.price_ranges = ev.price_ranges
        self._changes.markets.add(ev.market_ticker)

    def add_fill(self, fill: m.Fill) -> bool:
        """Record a fill once per trade id (live and backfilled copies are the same fill)."""
        if fill.trade_id in self.fills:
            return False
        self.fills[fill.trade_id] = fill
        self._changes.fills = True
        self._stir()
        return True

    def set_meta(self, metas: Iterable[MarketMeta]) -> None:
        for meta in metas:
            state = self.market(meta.ticker)
            state.meta = meta
            if meta.status and not state.status:
                state.status = meta.status
        self._changes.metadata = True
        self._stir()

    def mark_stale(self, tickers: Iterable[str], reason: str) -> None:
        for ticker in tickers:
            state = self.markets.get(ticker)
            if state is not None:
                state.book.desync(reason)
                self._changes.books.add(ticker)
                self._changes.markets.add(ticker)
        self._stir()

    def books_replaced(self, tickers: Iterable[str]) -> None:
        """Books were set whole from outside the stream (a recording's checkpoint)."""
        for ticker in tickers:
            self._changes.books.add(ticker)
            self._changes.markets.add(ticker)
        self._stir()

    def drop_books(self, reason: str) -> None:
        """On reconnect every book is dropped: sids and seqs start over."""
        for ticker, state in self.markets.items():
            state.book.clear(reason)
            self._changes.books.add(ticker)
            self._changes.markets.add(ticker)
        self._stir()

    def forget(self, ticker: str) -> None:
        """A market left the watchlist: its book can't be kept current any more."""
        state = self.markets.get(ticker)
        if state is not None:
            state.book.clear(NOT_SUBSCRIBED)
            self._changes.markets.add(ticker)
            self._stir()

    # -- metrics -----------------------------------------------------------------------------

    def record_traffic(self, messages: int, nbytes: int, now: float | None = None) -> None:
        now = time.time() if now is None else now
        mt = self.metrics
        mt.messages += messages
        mt.bytes += nbytes
        mt.msg_rate.add(messages, now)
        mt.byte_rate.add(nbytes, now)

    def record_error(
        self,
        code: int | None,
        detail: str = "",
        sentence: str | None = None,
        *,
        kind: str = OTHER,
        connection: int | None = None,
    ) -> None:
        """One problem, for the Connection tab and ``tail``: an exchange error ``code``, or
        (code None) a client-side problem of ``kind``, each kind with its own count."""
        mt = self.metrics
        if code is not None:
            mt.errors_by_code[code] += 1
            sentence = sentence or codes.describe(code).sentence
        else:
            mt.protocol_errors += 1
            if kind == MALFORMED:
                mt.malformed += 1
            elif kind == GAP:
                mt.gaps += 1
            elif kind == DROP:
                mt.drops += 1
            elif kind == CONNECT:
                mt.connect_failures += 1
            elif kind == DESYNC:
                mt.desyncs += 1
        mt.last_errors.append(
            ErrorEvent(
                time.time(),
                code,
                sentence or "Problem on the connection.",
                detail[:200],
                kind if code is None else OTHER,
                connection,
            )
        )
        self._changes.connection = True
        self._stir()

    def count_ignored(self) -> None:
        self.metrics.ignored += 1

    def count_resync(self) -> None:
        self.metrics.resyncs += 1

    def count_unknown_type(self, name: str) -> None:
        self.metrics.unknown_types[name] += 1

    def connected(self, endpoint: str, wall_now: float) -> None:
        self.metrics.endpoint = endpoint
        self.metrics.connected_since = wall_now
        self._changes.connection = True
        self._stir()

    def count_reconnect(self) -> None:
        self.metrics.reconnects += 1
        self._changes.connection = True
        self._stir()

    def set_ping(self, rtt: float) -> None:
        self.metrics.ping_rtt = rtt

    def set_clock_offset(self, offset: float | None) -> None:
        self.metrics.clock_offset = offset

    def set_subscriptions(self, connection: int, subs: list[Subscription]) -> None:
        """The subscriptions of one connection of the pool (the others' are kept)."""
        mt = self.metrics
        mt.subscriptions = [s for s in mt.subscriptions if s.connection != connection] + subs
        self._changes.connection = True
        self._stir()

    def set_state(self, state: str, connection: int = 0) -> None:
        mt = self.metrics
        mt.connections[connection] = state
        states = set(mt.connections.values())
        # The badge shows the worst connection: one pool member down is not "live".
        for overall in (AUTH_FAILED, DOWN, RECONNECTING, CONNECTING, STALE, LIVE):
            if overall in states:
                mt.state = overall
                break
        self._changes.connection = True
        self._stir()

    def touch_connection(self) -> None:
        self._changes.connection = True

    # -- reading -----------------------------------------------------------------------------

    def take_changes(self) -> Changes:
        changes, self._changes = self._changes, Changes()
        return changes

    def age(self, ticker: str, now: float | None = None) -> float | None:
        """Seconds since the last message about ``ticker`` (None: nothing yet)."""
        state = self.markets.get(ticker)
        if state is None or not state.updated:
            return None
        return (self.clock() if now is None else now) - state.updated

    def fills_newest_first(self) -> list[m.Fill]:
        return sorted(self.fills.values(), key=lambda f: f.ts_ms or 0, reverse=True)

    def total_fees(self) -> int:
        """Fees of every fill held, in 1/1,000,000 dollar (exact: six-decimal fees add up)."""
        return sum(f.fee for f in self.fills.values())
