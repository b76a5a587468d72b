"""Connections, their subscriptions, and fan-out of the engine's outputs to them.

Each connection has its own sids (from 1) and an outbound queue drained by one writer
task, so frames leave in the order they were produced: a command's answer lands after the
data that preceded it. A subscription whose channel carries ``seq`` counts every frame tied
to it, control frames included (``ok``, ``unsubscribed``, sid-scoped ``error``): that is
what the real exchange does, and what makes a dropped frame a visible gap.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

from websockets.asyncio.server import ServerConnection

from kalshi_tui.sim import frames
from kalshi_tui.sim.engine import DELTA, FILL, LIFECYCLE, ORDER, POSITION, TICKER, TRADE, Output

#: Channels of Kalshi's AsyncAPI spec the simulator acknowledges but never feeds (RFQs,
#: order groups, multivariate markets: nothing here makes them). ``ticker_v2`` is retired: 8.
UNFED_CHANNELS = ("communications", "order_group_updates", "multivariate_market_lifecycle", "multivariate")
CHANNELS = (DELTA, TICKER, TRADE, FILL, POSITION, LIFECYCLE, ORDER, *UNFED_CHANNELS)
#: Channels whose data frames carry ``seq`` (and so whose control frames consume one).
SEQ_CHANNELS = frozenset({DELTA, TRADE, LIFECYCLE})
#: Channels only an account may read (the demo account's fills and positions).
PRIVATE_CHANNELS = frozenset({FILL, POSITION, ORDER, "communications", "order_group_updates"})


class ServerSubscription:
    """One subscription as the exchange holds it: a client's sid, its seq and its markets."""

    __slots__ = (
        "active",
        "channel",
        "client",
        "command_times",
        "drop_next",
        "has_seq",
        "markets",
        "send_initial_snapshot",
        "seq",
        "sid",
        "skip_ticker_ack",
        "yes_scale",
    )

    def __init__(
        self,
        client: Client,
        sid: int,
        channel: str,
        markets: list[str] | None,
        *,
        yes_scale: bool = False,
        skip_ticker_ack: bool = False,
        send_initial_snapshot: bool = False,
    ) -> None:
        self.client = client
        self.sid = sid
        self.channel = channel
        self.markets = markets  # None = every market
        self.has_seq = channel in SEQ_CHANNELS
        self.seq = 0
        self.yes_scale = yes_scale
        self.skip_ticker_ack = skip_ticker_ack
        self.send_initial_snapshot = send_initial_snapshot
        self.drop_next = 0  # fault: data frames to swallow (their seq is still used)
        self.command_times: deque[float] = deque()
        self.active = True

    def next_seq(self) -> int | None:
        if not self.has_seq:
            return None
        self.seq += 1
        return self.seq

    def covers(self, markets: list[str] | None) -> bool:
        if self.markets is None:
            return True
        return markets is not None and set(markets) <= set(self.markets)

    def __repr__(self) -> str:
        return f"ServerSubscription(sid={self.sid}, {self.channel}, markets={self.markets})"


class Client:
    """One WebSocket connection's state on the server side."""

    def __init__(self, ws: ServerConnection, key_id: str, account: bool, hub: Hub) -> None:
        self.ws = ws
        self.key_id = key_id
        self.account = account
        self.hub = hub
        self.subs: dict[int, ServerSubscription] = {}
        self._next_sid = 1
        self.out: deque[bytes] = deque()
        self.wake = asyncio.Event()
        self.stalled_until = 0.0  # loop time; while stalled nothing is written or read
        self.garble_next = False
        self.overflowed = 0

    def new_sid(self) -> int:
        sid = self._next_sid
        self._next_sid += 1
        return sid

    def push(self, frame: bytes) -> None:
        self.out.append(frame)
        if not self.wake.is_set():
            self.wake.set()
        if len(self.out) > self.hub.max_buffered:
            self.hub.overflow(self)

    def stalled(self) -> float:
        """Seconds of stall left (0 when not stalled)."""
        return max(0.0, self.stalled_until - asyncio.get_running_loop().time())

    def abort(self) -> None:
        """Drop the TCP connection without a close frame."""
        transport = self.ws.transport
        if transport is not None:
            transport.abort()


class Hub:
    """Every live connection and an index from (channel, market) to subscriptions."""

    def __init__(self, max_buffered: int) -> None:
        self.max_buffered = max_buffered
        self.clients: set[Client] = set()
        self.skip_snapshots = 0  # fault: initial snapshots to leave out (Faults.skip_snapshots)
        # Lists are replaced, never mutated, so a dispatch loop can hold one safely.
        self._by_market: dict[str, dict[str, list[ServerSubscription]]] = {c: {} for c in CHANNELS}
        self._every: dict[str, list[ServerSubscription]] = {c: [] for c in CHANNELS}

    # -- registry -----------------------------------------------------------------------------

    def add(self, sub: ServerSubscription) -> None:
        sub.client.subs[sub.sid] = sub
        if sub.markets is None:
            self._every[sub.channel] = [*self._every[sub.channel], sub]
        else:
            self._index(sub, sub.markets)

    def _index(self, sub: ServerSubscription, markets: Iterable[str]) -> None:
        table = self._by_market[sub.channel]
        for t in markets:
            table[t] = [*table.get(t, ()), sub]

    def _unindex(self, sub: ServerSubscription, markets: Iterable[str]) -> None:
        table = self._by_market[sub.channel]
        for t in markets:
            left = [s for s in table.get(t, ()) if s is not sub]
            if left:
                table[t] = left
            else:
                table.pop(t, None)

    def remove(self, sub: ServerSubscription) -> None:
        sub.active = False
        sub.client.subs.pop(sub.sid, None)
        if sub.markets is None:
            self._every[sub.channel] = [s for s in self._every[sub.channel] if s is not sub]
        else:
            self._unindex(sub, sub.markets)

    def add_markets(self, sub: ServerSubscription, markets: list[str]) -> list[str]:
        assert sub.markets is not None
        new = [t for t in dict.fromkeys(markets) if t not in sub.markets]
        sub.markets = [*sub.markets, *new]
        self._index(sub, new)
        return new

    def delete_markets(self, sub: ServerSubscription, markets: list[str]) -> None:
        assert sub.markets is not None
        gone = set(markets)
        self._unindex(sub, [t for t in sub.markets if t in gone])
        sub.markets = [t for t in sub.markets if t not in gone]

    def connect(self, client: Client) -> None:
        self.clients.add(client)

    def disconnect(self, client: Client) -> None:
        self.clients.discard(client)
        for sub in list(client.subs.values()):
            self.remove(sub)
        client.out.clear()

    def subscribers(self, kind: str, ticker: str) -> int:
        return len(self._by_market[kind].get(ticker, ())) + len(self._every[kind])

    # -- fan-out ------------------------------------------------------------------------------

    def dispatch(self, outputs: Iterable[Output]) -> None:
        by_market = self._by_market
        every = self._every
        for o in outputs:
            kind = o.kind
            subs = by_market[kind].get(o.market.ticker)
            if subs:
                for s in subs:
                    self.deliver(s, o)
            alls = every[kind]
            if alls:
                for s in alls:
                    self.deliver(s, o)

    @staticmethod
    def deliver(sub: ServerSubscription, o: Output) -> None:
        if not sub.active:
            return
        seq = sub.next_seq()
        if sub.drop_next:
            sub.drop_next -= 1  # the frame is lost but its number was used: a gap
            return
        frame = frames.data_frame(o.kind, sub.sid, seq, frames.body(o, sub.yes_scale))
        client = sub.client
        if client.garble_next:
            client.garble_next = False
            # Cut mid-JSON (unparseable, and a gap), but on a character boundary: a text
            # frame that is not UTF-8 would make the client drop the whole connection.
            frame = frame[: len(frame) // 2].decode("utf-8", "ignore").encode()
        client.push(frame)

    def end(self, sub: ServerSubscription, code: int) -> None:
        """End a subscription with a terminal error (10 or 25)."""
        if not sub.active:
            return
        seq = sub.next_seq()
        self.remove(sub)
        sub.client.push(frames.error(code, sid=sub.sid, seq=seq))

    def overflow(self, client: Client) -> None:
        """The client reads too slowly: drop what is queued and end every subscription
        with error 25, as the exchange does, rather than grow without bound."""
        client.overflowed += 1
        client.out.clear()
        for sub in list(client.subs.values()):
            self.end(sub, 25)
