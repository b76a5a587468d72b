"""The stream's rules without I/O: one connection's subscriptions, seqs and recovery.

A ``Machine`` is told what happens (``connected``, ``receive``, ``tick``, edits,
``disconnected``) with the time as an argument, and answers with the command frames to send.
It owns the wanted subscriptions, the sid map, pending commands, each subscription's last seq and every
recovery rule (docs/design.md, "Recovery rules"), and folds data into the ``Store``. It
never touches a socket or a clock (no asyncio, websockets, socket or time here): the
``Session`` does the I/O, and tests drive the machine with a fake clock.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from kalshi_tui.book import NO_SNAPSHOT_YET
from kalshi_tui.config import StreamSettings
from kalshi_tui.protocol import ProtocolError, codes, commands, decode
from kalshi_tui.protocol import messages as m
from kalshi_tui.store import (
    BOOK_BROKEN,
    CONNECTING,
    DESYNC,
    GAP,
    LIVE,
    MALFORMED,
    RECONNECTING,
    STALE,
    Store,
    Subscription,
)

log = logging.getLogger(__name__)

RESYNC_TIMEOUT = 5.0  # s to wait for get_snapshot answers before resubscribing instead
REDO_AFTER = 1.0  # s before a subscription refused with error 27 is made again
FORGET_PENDING_AFTER = 60.0  # s: an answer this late is never coming
_DATA_TYPES = m.DATA_TYPES
_SNAPSHOT = m.OrderbookSnapshot
NOTHING: Sequence[bytes] = ()  # what most frames ask us to send (shared: no allocation)

Listener = Callable[[m.Message], None]


@dataclass(eq=False, slots=True)
class Sub:
    """One wanted subscription: a channel and its markets (empty for account-wide channels)."""

    channel: str
    markets: set[str] = field(default_factory=set)
    sid: int | None = None
    yes_scale: bool = False  # subscribed with use_yes_price: NO levels come on the YES scale
    asked: frozenset[str] = frozenset()  # the markets its last subscribe command named
    resyncing: set[str] = field(default_factory=set)  # markets waiting for get_snapshot
    resync_deadline: float | None = None  # when a pending get_snapshot gives up
    redo_at: float | None = None  # when to make it again (a command got error 27)
    retry_at: float | None = None  # when to subscribe again (10/25, unanswered subscribe)
    failures: int = 0  # consecutive 10/25s and timeouts: the n of the backoff
    sid_at: float | None = None  # when it got its sid
    snapshots_due: float | None = None  # books that have no snapshot by then are asked for
    got_data: bool = False  # data arrived since the last failure
    last_seq: int | None = None  # the seq of its last frame on this sid (None: none yet)
    is_book: bool = field(init=False)

    def __post_init__(self) -> None:
        self.is_book = self.channel == commands.CHANNEL_ORDERBOOK

    @property
    def wanted(self) -> bool:
        """A market channel with no markets is not a subscription at all."""
        return bool(self.markets) or self.channel not in commands.MARKET_CHANNELS


@dataclass(slots=True)
class _Pending:
    kind: str  # "subscribe" | "update" | "snapshot" | "unsubscribe"
    sub: Sub | None
    sent_at: float


class Machine:
    def __init__(
        self,
        store: Store,
        settings: StreamSettings | None = None,
        *,
        index: int = 0,
        use_yes_price: bool = False,
        listener: Listener | None = None,
        on_fill_subscribed: Callable[[], object] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or StreamSettings()
        self.index = index
        self.use_yes_price = use_yes_price
        self.listener = listener
        self.on_fill_subscribed = on_fill_subscribed
        self.rng = rng or random.Random()
        self.subs: list[Sub] = []
        self.by_sid: dict[int, Sub] = {}
        self.pending: dict[int, _Pending] = {}
        self.online = False
        self.ever_live = False
        self._live_here = False  # every subscription held at least once on this connection
        self._state: str | None = None
        self._ids = commands.CommandIds()
        self._last_command: dict[int, float] = {}  # sid -> when its last command may go
        self._later: list[tuple[float, int, bytes]] = []  # paced commands: (due, sid, frame)
        self._abandoned: set[int] = set()  # ids of subscribes we stopped waiting for
        self._out: list[bytes] = []
        # Bound once for ``receive`` (the per-frame path).
        self._sub_of = self.by_sid.get
        self._apply = store.apply

    # -- events ------------------------------------------------------------------------------

    def connected(self, now: float) -> list[bytes]:
        """The socket is open: subscribe everything wanted. Sids and seqs start over."""
        self._reset()
        self.online = True
        self._live_here = False
        for sub in self.subs:
            sub.retry_at = None
            self._subscribe(sub, now)
        self._publish()
        return self._flush()

    def disconnected(self, *, closing: bool = False) -> None:
        """The socket is gone: nothing held is current any more (unless we are closing:
        then the books stay as the last frames left them, for a final ``--books-out``)."""
        self.online = False
        self._state = None
        if not closing:
            self.store.mark_stale({t for s in self.subs if s.is_book for t in s.markets}, "reconnecting")
        self._reset()
        self._publish()

    def receive(self, raw: bytes | str, now: float) -> Sequence[bytes]:
        """One frame from the exchange. Returns the frames to send (usually none).

        This runs for every frame, so it is written for the common case (a data frame of a
        subscription we hold, in sequence): lookups are bound once in ``__init__``, each
        subscription keeps its last seq itself, and nothing is allocated unless a rule
        fires (the answer is the shared empty ``NOTHING``)."""
        try:
            msg = decode(raw)
        except ProtocolError as exc:
            sentence = "Received a frame that could not be read."
            self.store.record_error(None, exc.reason, sentence, kind=MALFORMED, connection=self.index)
            return NOTHING
        sub = self._sub_of(msg.sid)  # by_sid holds no None: a frame without sid finds nothing
        seq = msg.seq
        if sub is not None and seq is not None:
            last = sub.last_seq
            sub.last_seq = seq
            if last is not None and seq != last + 1:
                # A repeated or backwards number is a gap too: the stream is not what we think.
                self._on_gap(sub, seq - last - 1 if seq > last else 1, now)
        t = type(msg)
        if t not in _DATA_TYPES:
            self._on_control(msg, now)
            return self._flush()
        # Only data of a subscription we hold, for a market in it (books: with a seq), is
        # applied. The rest is in flight after an unsubscribe, or not the exchange's at all.
        if sub is None or (seq is None and sub.is_book):
            self.store.count_ignored()
            return self._flush() if self._out else NOTHING
        markets = sub.markets
        if markets and msg.market_ticker not in markets:  # type: ignore[attr-defined]
            self.store.count_ignored()
            return self._flush() if self._out else NOTHING
        sub.got_data = True
        flag = self._apply(msg, sub.yes_scale, now)
        if flag or t is _SNAPSHOT:
            # Only here (or after a gap, which leaves the book unsynced) can there be
            # commands to send: the common frame returns without looking.
            self._on_book(sub, msg, flag, now)  # type: ignore[arg-type]
            if self.listener is not None:
                self.listener(msg)
            return self._flush()
        if self.listener is not None:
            self.listener(msg)
        return NOTHING

    def tick(self, now: float) -> list[bytes]:
        """Time passed: paced commands, resync deadlines, retries, unanswered subscribes."""
        if not self.online:
            return []
        self._release(now)
        for sub in list(self.by_sid.values()):
            if sub.resync_deadline is not None and now >= sub.resync_deadline:
                self._resubscribe(sub, now, unsubscribe_first=True)
            elif sub.snapshots_due is not None and now >= sub.snapshots_due:
                sub.snapshots_due = None
                self._ask_missing_snapshots(sub, now)
        for sub in list(self.subs):
            if sub.redo_at is not None and now >= sub.redo_at:
                self._resubscribe(sub, now, unsubscribe_first=True)
            elif sub.retry_at is not None and now >= sub.retry_at:
                sub.retry_at = None
                self._subscribe(sub, now)
            elif sub.sid is None and sub.retry_at is None and sub.redo_at is None and self._orphan(sub):
                # Wanted, yet neither held nor asked for (e.g. a subscribe answered with a
                # plain ok, as for a duplicate): try again later, never in a tight loop.
                self._fail(sub, now)
        timeout = self.settings.subscribe_timeout
        for cmd_id, p in list(self.pending.items()):
            age = now - p.sent_at
            if p.kind == "subscribe" and age >= timeout and p.sub is not None:
                del self.pending[cmd_id]
                self._abandoned.add(cmd_id)
                self.store.record_error(
                    None,
                    f"{p.sub.channel}: no answer to subscribe #{cmd_id} in {timeout:g} s",
                    "The exchange did not answer a subscribe; retrying.",
                    connection=self.index,
                )
                if p.sub in self.subs and p.sub.sid is None:
                    self._fail(p.sub, now)
            elif age >= FORGET_PENDING_AFTER:
                del self.pending[cmd_id]
        return self._flush()

    @property
    def waiting(self) -> bool:
        """Something is due at a time: paced commands, answers, resync deadlines, retries, or
        a wanted subscription not held. Otherwise ``tick`` has nothing to do until a frame
        comes or a command goes."""
        if self._later or self.pending:
            return True
        return any(
            s.sid is None
            or s.resync_deadline is not None
            or s.redo_at is not None
            or s.retry_at is not None
            or s.snapshots_due is not None
            for s in self.subs
        )

    # -- watchlist edits ---------------------------------------------------------------------

    def add_sub(self, sub: Sub, now: float) -> list[bytes]:
        self.subs.append(sub)
        if self.online:
            self._subscribe(sub, now)
        self._publish()
        return self._flush()

    def edit(
        self, sub: Sub, add: Iterable[str] = (), remove: Iterable[str] = (), *, now: float
    ) -> list[bytes]:
        """Add and remove markets of one subscription, live. Edits made while its subscribe is
        on the way wait for the sid (see ``_catch_up``)."""
        new = sorted({t for t in add if t not in sub.markets})
        gone = sorted({t for t in remove if t in sub.markets} - set(new))
        sub.markets.update(new)
        sub.markets.difference_update(gone)
        sub.resyncing.difference_update(gone)
        sid = sub.sid
        if self.online and sid is not None:
            if not sub.markets:
                # An empty subscription is not a thing: drop it.
                self._drop_sid(sub)
                self._send(commands.unsubscribe(self._next_id("unsubscribe", None, now), [sid]))
            else:
                self._update(sub, sid, new, gone, now)
        elif (
            self.online
            and sub in self.subs
            and sub.retry_at is None
            and sub.redo_at is None
            and not self._subscribing(sub)
        ):
            self._subscribe(sub, now)  # it was empty, so its subscribe was never sent
        if not sub.markets and sub in self.subs:
            self.subs.remove(sub)
        self._publish()
        return self._flush()

    def resync(self, sub: Sub, ticker: str, now: float) -> list[bytes]:
        """Fetch one book again although the stream saw nothing wrong (the feed audit found it
        differs from the exchange's): stale until its snapshot comes, as after a gap."""
        self.store.mark_stale([ticker], "differs from the exchange")
        if ticker not in sub.resyncing:
            self._ask_snapshot(sub, [ticker], now)
        return self._flush()

    # -- frames ------------------------------------------------------------------------------

    def _on_book(self, sub: Sub, msg: m.OrderbookDelta | m.OrderbookSnapshot, flag: int, now: float) -> None:
        ticker = msg.market_ticker
        if type(msg) is m.OrderbookSnapshot:
            if msg.id is not None:
                # get_snapshot is answered by snapshots alone (no ok): settle it here.
                self.pending.pop(msg.id, None)
            if not flag and ticker in sub.resyncing:
                sub.resyncing.discard(ticker)
                if not sub.resyncing:
                    sub.resync_deadline = None
        if flag == BOOK_BROKEN:
            # A frame of our subscription left a book impossible (a level below zero, a price
            # off the scale, a crossed book): it no longer matches the exchange's.
            reason = self.store.markets[ticker].book.stale_reason
            self.store.record_error(
                None,
                f"{ticker}: {reason}",
                "An order book went out of sync: resyncing it.",
                kind=DESYNC,
                connection=self.index,
            )
        if flag and ticker not in sub.resyncing:
            # Impossible, or a delta for a book whose snapshot never came: ask for it.
            self._ask_snapshot(sub, [ticker], now)

    def _ask_missing_snapshots(self, sub: Sub, now: float) -> None:
        """Books of the subscription whose first snapshot never came (and no delta that would
        have asked for it): the exchange owes them; ask, rather than stay stale for ever."""
        markets = self.store.markets
        missing = sorted(
            t
            for t in sub.markets - sub.resyncing
            if t not in markets or markets[t].book.stale_reason == NO_SNAPSHOT_YET
        )
        if missing:
            self.store.record_error(
                None,
                f"sid {sub.sid}: no snapshot for {', '.join(missing[:3])}"
                + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""),
                "A subscribed order book never got its snapshot: asking for it.",
                kind=DESYNC,
                connection=self.index,
            )
            self._ask_snapshot(sub, missing, now)

    def _on_gap(self, sub: Sub, missed: int, now: float) -> None:
        self.store.record_error(
            None,
            f"sid {sub.sid}: {missed} frame(s) missing",
            "Sequence gap: resyncing the affected books.",
            kind=GAP,
            connection=self.index,
        )
        if sub.is_book and sub.markets:
            self.store.mark_stale(sub.markets, "sequence gap")
            self._ask_snapshot(sub, sorted(sub.markets), now)

    def _ask_snapshot(self, sub: Sub, tickers: list[str], now: float) -> None:
        sid = sub.sid
        if sid is None:
            return
        self.store.count_resync()
        sub.resyncing.update(tickers)
        if sub.resync_deadline is None:
            sub.resync_deadline = now + RESYNC_TIMEOUT
        cmd = commands.update_subscription(
            self._next_id("snapshot", sub, now), sid, commands.GET_SNAPSHOT, tickers
        )
        self._send(cmd, sid, now)

    def _on_control(self, msg: m.Message, now: float) -> None:
        t = type(msg)
        if t is m.Unknown:
            self.store.count_unknown_type(msg.type)  # type: ignore[attr-defined]
            return
        cmd_id = msg.id  # type: ignore[attr-defined]
        pending = self.pending.pop(cmd_id, None) if cmd_id is not None else None
        if t is m.Subscribed and cmd_id in self._abandoned and msg.sid is not None:
            # The answer to a subscribe we gave up on (and sent again): not ours to keep.
            self._abandoned.discard(cmd_id)
            self._send(commands.unsubscribe(self._next_id("unsubscribe", None, now), [msg.sid]))
            return
        if pending is None and t is not m.Error:
            self.store.count_ignored()  # an answer to nothing we asked
            return
        if t is m.Subscribed:
            self._on_subscribed(pending.sub if pending else None, msg.sid, now)
        elif t is m.Unsubscribed:
            if msg.sid is not None:
                self.by_sid.pop(msg.sid, None)
        elif t is m.Error:
            self._on_error(msg, pending, now)  # type: ignore[arg-type]

    def _on_subscribed(self, sub: Sub | None, sid: int | None, now: float) -> None:
        if sub is None or sid is None:
            return
        if sub not in self.subs or sub.sid is not None:
            # Dropped from the watchlist while the subscribe was on its way.
            self._send(commands.unsubscribe(self._next_id("unsubscribe", None, now), [sid]))
            return
        sub.sid = sid
        sub.sid_at = now
        if sub.is_book:
            sub.snapshots_due = now + RESYNC_TIMEOUT
        self.by_sid[sid] = sub
        sub.last_seq = None
        if sub.markets != sub.asked and sub.channel in commands.MARKET_CHANNELS:
            self._catch_up(sub, sid, now)
        self._publish()
        if sub.channel == commands.CHANNEL_FILL and self.on_fill_subscribed is not None:
            # Fills made while it was away (disconnected, or ended by 10/25) are fetched
            # now that new ones arrive live again.
            self.on_fill_subscribed()

    def _on_error(self, err: m.Error, pending: _Pending | None, now: float) -> None:
        detail = err.text + (f" ({', '.join(err.market_tickers)})" if err.market_tickers else "")
        self.store.record_error(err.code, detail, connection=self.index)
        sub = self.by_sid.get(err.sid) if err.sid is not None else None
        if sub is None and pending is not None:
            sub = pending.sub
        if sub is None or sub not in self.subs:
            return
        if err.code in codes.RESUBSCRIBE_CODES:
            # The exchange ended this subscription (or refused to make it): make it again,
            # after a backoff that grows while it keeps failing.
            self._drop_sid(sub)
            self._fail(sub, now)
        elif pending is not None and pending.kind == "snapshot":
            # get_snapshot refused: fall back to unsubscribe + subscribe.
            self._resubscribe(sub, now, unsubscribe_first=True)
        elif err.code == 27:
            # Too many commands on this subscription: the refused one is lost (a 27 about a
            # sid does not even say which), so the subscription is made again with what we
            # want, a second later.
            if sub.redo_at is None:
                sub.redo_at = now + REDO_AFTER
        elif err.code == 16 and err.market_tickers:
            # The exchange refuses the whole command for one unknown ticker: drop the
            # unknown ones (reported above) and carry on with the rest. A refused
            # update_subscription is answered about its sid, without the command's id.
            sub.markets.difference_update(err.market_tickers)
            if not sub.markets:
                self.subs.remove(sub)
                if sub.sid is not None:
                    sid = sub.sid
                    self._drop_sid(sub)
                    self._send(commands.unsubscribe(self._next_id("unsubscribe", None, now), [sid]))
            elif pending is not None and pending.kind == "subscribe":
                self._subscribe(sub, now)
            elif sub.sid is not None:
                self._resubscribe(sub, now, unsubscribe_first=True)
            self._publish()
        elif pending is not None and pending.kind == "subscribe":
            # Any other refusal of a subscribe: try again later, never in a tight loop.
            self._fail(sub, now)

    # -- commands ----------------------------------------------------------------------------

    def _next_id(self, kind: str, sub: Sub | None, now: float) -> int:
        cmd_id = self._ids()
        self.pending[cmd_id] = _Pending(kind, sub, now)
        return cmd_id

    def _send(self, frame: bytes, sid: int | None = None, now: float = 0.0) -> None:
        """Queue a frame; commands about a sid are paced (the exchange answers 27 past its
        per-subscription rate), later ones wait in ``_later`` for ``tick``."""
        if sid is None:
            self._out.append(frame)
            return
        gap = 1.0 / self.settings.commands_per_second
        due = max(now, self._last_command.get(sid, now - gap) + gap)
        self._last_command[sid] = due
        self._release(now)  # what waited goes first: edits must reach the exchange in order
        if due <= now:
            self._out.append(frame)
        else:
            self._later.append((due, sid, frame))

    def _release(self, now: float) -> None:
        if self._later:
            due = [c for c in self._later if c[0] <= now]
            if due:
                self._later = [c for c in self._later if c[0] > now]
                self._out.extend(frame for _, _, frame in due)

    def _flush(self) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def _orphan(self, sub: Sub) -> bool:
        return sub.wanted and not self._subscribing(sub)

    def _subscribing(self, sub: Sub) -> bool:
        return any(p.sub is sub and p.kind == "subscribe" for p in self.pending.values())

    def _subscribe(self, sub: Sub, now: float) -> None:
        if not sub.wanted:
            return
        sub.yes_scale = self.use_yes_price and sub.is_book
        sub.asked = frozenset(sub.markets)
        cmd_id = self._next_id("subscribe", sub, now)
        self._send(
            commands.subscribe(cmd_id, [sub.channel], sorted(sub.markets), use_yes_price=sub.yes_scale)
        )

    def _catch_up(self, sub: Sub, sid: int, now: float) -> None:
        """The watchlist changed while the subscribe was on its way (edits wait for a sid):
        send the difference now."""
        self._update(sub, sid, sorted(sub.markets - sub.asked), sorted(sub.asked - sub.markets), now)

    def _update(self, sub: Sub, sid: int, new: list[str], gone: list[str], now: float) -> None:
        sub.asked = frozenset(sub.markets)
        if new and sub.is_book:
            sub.snapshots_due = now + RESYNC_TIMEOUT
        for action, tickers in ((commands.ADD_MARKETS, new), (commands.DELETE_MARKETS, gone)):
            if tickers:
                cmd_id = self._next_id("update", sub, now)
                self._send(commands.update_subscription(cmd_id, sid, action, tickers), sid, now)

    def _drop_sid(self, sub: Sub) -> None:
        """Forget the subscription's sid (its books go stale until new snapshots)."""
        old = sub.sid
        sub.sid = None
        sub.last_seq = None
        sub.resync_deadline = sub.snapshots_due = None
        sub.resyncing.clear()
        sub.redo_at = None
        if sub.is_book and sub.markets:
            self.store.mark_stale(sub.markets, "resubscribing")
        if old is not None:
            self.by_sid.pop(old, None)
            self._last_command.pop(old, None)
            if self._later:
                self._later = [c for c in self._later if c[1] != old]
        self._publish()

    def _resubscribe(self, sub: Sub, now: float, *, unsubscribe_first: bool) -> None:
        old = sub.sid
        log.debug("resubscribing %s (sid %s)", sub.channel, old)
        if sub.is_book:
            self.store.count_resync()
        self._drop_sid(sub)
        if old is not None and unsubscribe_first:
            self._send(commands.unsubscribe(self._next_id("unsubscribe", None, now), [old]))
        if sub in self.subs:
            self._subscribe(sub, now)

    def _fail(self, sub: Sub, now: float) -> None:
        """Subscribe again after min(backoff_cap, backoff_base·2ⁿ), full jitter; n counts the
        failures since the subscription last held data for ``stable_after`` seconds."""
        s = self.settings
        if sub.got_data and sub.sid_at is not None and now - sub.sid_at >= s.stable_after:
            sub.failures = 0
        ceiling = min(s.backoff_cap, s.backoff_base * 2 ** min(sub.failures, 30))
        sub.failures += 1
        sub.got_data = False
        sub.sid_at = None
        sub.retry_at = now + self.rng.uniform(0, ceiling)

    def _reset(self) -> None:
        self._ids = commands.CommandIds()
        self.pending.clear()
        self._abandoned.clear()
        self._last_command.clear()
        self._later.clear()
        self._out.clear()
        self.by_sid.clear()
        for sub in self.subs:
            sub.sid = None
            sub.last_seq = None
            sub.resync_deadline = None
            sub.resyncing.clear()
            sub.redo_at = None

    # -- state for the badge and the Connection tab -----------------------------------------

    def _publish(self) -> None:
        store = self.store
        store.set_subscriptions(
            self.index, [Subscription(self.index, s.channel, s.sid, len(s.markets)) for s in self.subs]
        )
        if not self.online:
            return
        # LIVE only once every wanted subscription has its sid; losing one later is STALE.
        if all(s.sid is not None for s in self.subs if s.wanted):
            self._live_here = self.ever_live = True
            state = LIVE
        elif self._live_here:
            state = STALE
        else:
            state = RECONNECTING if self.ever_live else CONNECTING
        if state != self._state:
            self._state = state
            store.set_state(state, self.index)
