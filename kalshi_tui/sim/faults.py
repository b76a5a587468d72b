"""Fault injection: the ways a real exchange connection goes wrong, on demand.

Every fault is a method on ``Faults`` (``sim.faults``) and, for the standalone simulator,
a ``--fault KIND[:ARG][@EVERY]`` flag: once at start, or every EVERY seconds.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from typing import NamedTuple

from kalshi_tui.sim.hub import Client, Hub


class Faults:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self.refuse_until = 0.0
        self.reject_until = 0.0
        self.command_delay = 0.0
        self.rest_failures = 0
        self.delay_until = 0.0
        self.fail_subscribes_until = 0.0
        self.mute_subscribes_until = 0.0
        self.intercepted = 0  # subscribes answered (or swallowed) by a fault

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def drop_frame(self, sid: int | None = None, count: int = 1) -> int:
        """Swallow the next ``count`` data frames of ``sid`` (on every connection; every
        sid whose frames carry seq when None). Their seq numbers are used: the client
        sees a gap. Returns how many subscriptions were armed."""
        armed = 0
        for client in self._hub.clients:
            for sub in client.subs.values():
                if sub.has_seq and (sid is None or sub.sid == sid):
                    sub.drop_next += count
                    armed += 1
        return armed

    def kill_connections(self) -> int:
        """Abort every socket: no close frame, the TCP connection just ends."""
        clients = list(self._hub.clients)
        for client in clients:
            client.abort()
        return len(clients)

    def stall(self, seconds: float) -> int:
        """Every connection goes silent for ``seconds``: no data, no pings sent, and the
        socket is not read, so the client's pings get no pong. Then it all resumes."""
        until = self._now() + seconds
        clients = list(self._hub.clients)
        for client in clients:
            client.stalled_until = max(client.stalled_until, until)
            transport = client.ws.transport
            if transport is not None and not transport.is_closing():
                transport.pause_reading()
        asyncio.get_running_loop().call_later(seconds, self._unstall, clients)
        return len(clients)

    def _unstall(self, clients: list[Client]) -> None:
        for client in clients:
            left = client.stalled()
            if left > 0:  # a longer stall began meanwhile: wait for that one
                asyncio.get_running_loop().call_later(left, self._unstall, [client])
                continue
            transport = client.ws.transport
            if transport is not None and not transport.is_closing():
                transport.resume_reading()
            client.wake.set()

    def garble_frame(self) -> int:
        """The next data frame on every connection goes out cut in half: not JSON, and
        (since it consumed a seq) a gap after it."""
        for client in self._hub.clients:
            client.garble_next = True
        return len(self._hub.clients)

    def inject(self, data: str | bytes, sid: int | None = None) -> int:
        """Send ``data`` as one text frame, after whatever is queued, to every connection.
        With ``sid``, only connections that have that subscription get it, and a JSON object
        is stamped with the sid and that subscription's next seq (it uses a number, as a
        real frame would: no gap); anything else goes out unchanged. Returns how many
        connections it was sent to."""
        raw = data.encode() if isinstance(data, str) else data
        sent = 0
        for client in list(self._hub.clients):
            frame = raw
            if sid is not None:
                sub = client.subs.get(sid)
                if sub is None:
                    continue
                frame = _stamp(raw, sid, sub.next_seq())
            client.push(frame)
            sent += 1
        return sent

    def corrupt_level(self, ticker: str, price: str = "0.0100", size: str = "1.00") -> int:
        """Send one made-up order-book delta for ``ticker`` (``size`` more on the YES bid at
        ``price``) on every subscription holding it, with its next seq: no gap and no
        impossible book, only a streamed book that no longer matches the exchange's (the
        feed audit must notice). Returns how many subscriptions got it."""
        sent = 0
        for client in list(self._hub.clients):
            for sub in list(client.subs.values()):
                holds = sub.markets is None or ticker in sub.markets
                if sub.channel != "orderbook_delta" or not holds:
                    continue
                msg = {"market_ticker": ticker, "price_dollars": price, "delta_fp": size, "side": "yes"}
                frame = {"type": "orderbook_delta", "sid": sub.sid, "seq": sub.next_seq(), "msg": msg}
                client.push(json.dumps(frame).encode())
                sent += 1
        return sent

    def overflow(self, sid: int | None = None) -> int:
        """End ``sid`` (every subscription when None) with error 25, as if the client read
        too slowly. Returns how many subscriptions ended."""
        ended = 0
        for client in list(self._hub.clients):
            for sub in list(client.subs.values()):
                if sid is None or sub.sid == sid:
                    self._hub.end(sub, 25)
                    ended += 1
        return ended

    def refuse_handshakes(self, seconds: float) -> None:
        """Answer every WebSocket handshake with 401 for ``seconds``."""
        self.refuse_until = self._now() + seconds

    def refusing(self) -> bool:
        return self._now() < self.refuse_until

    def slow_commands(self, delay: float, seconds: float | None = None) -> None:
        """Answer each command ``delay`` seconds late (for ``seconds``, or until cleared)."""
        self.command_delay = delay
        self.delay_until = math.inf if seconds is None else self._now() + seconds

    def delay(self) -> float:
        return self.command_delay if self._now() < self.delay_until else 0.0

    def reject_commands(self, seconds: float) -> None:
        """Answer every command with error 27 (too many requests) for ``seconds``."""
        self.reject_until = self._now() + seconds

    def rejecting(self) -> bool:
        return self._now() < self.reject_until

    def fail_rest(self, count: int) -> None:
        """Answer the next ``count`` REST requests with 503, as during an outage."""
        self.rest_failures = count

    def rest_down(self) -> bool:
        """True (and one failure used up) while REST is to fail."""
        if self.rest_failures <= 0:
            return False
        self.rest_failures -= 1
        return True

    def fail_subscribes(self, seconds: float) -> None:
        """Answer every subscribe with error 25 for ``seconds`` (a hostile or sick exchange)."""
        self.fail_subscribes_until = self._now() + seconds

    def failing_subscribes(self) -> bool:
        return self._now() < self.fail_subscribes_until

    def mute_subscribes(self, seconds: float) -> None:
        """Never answer a subscribe sent in the next ``seconds``."""
        self.mute_subscribes_until = self._now() + seconds

    def skip_snapshots(self, count: int = 1) -> None:
        """Leave out the next ``count`` initial snapshots, without using their seq numbers:
        the client sees deltas for a book whose snapshot never came, and no gap."""
        self._hub.skip_snapshots += count

    def intercept(self, client: Client, raw: str | bytes) -> bool:
        """Called with every command before it is handled; True = the fault answered it."""
        now = self._now()
        if now >= self.fail_subscribes_until and now >= self.mute_subscribes_until:
            return False
        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError):
            return False
        if not isinstance(obj, dict) or obj.get("cmd") != "subscribe":
            return False
        self.intercepted += 1
        if now < self.fail_subscribes_until:
            msg = {"code": 25, "msg": "Buffer overflow"}
            client.push(json.dumps({"id": obj.get("id"), "type": "error", "msg": msg}).encode())
        return True

    def clear(self) -> None:
        """Stop the time-window faults (refusal, slow, rejected and unanswered commands)."""
        self.refuse_until = self.reject_until = self.delay_until = 0.0
        self.fail_subscribes_until = self.mute_subscribes_until = 0.0
        self.command_delay = 0.0
        self.rest_failures = 0


def _stamp(raw: bytes, sid: int, seq: int | None) -> bytes:
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        return raw
    if not isinstance(obj, dict):
        return raw
    obj["sid"] = sid
    if seq is not None:
        obj["seq"] = seq
    return json.dumps(obj).encode()


# ---- the --fault flag ---------------------------------------------------------------------------

KINDS: dict[str, str] = {
    "drop": "drop one data frame on every sid (a seq gap)",
    "kill": "abort every socket without a close frame",
    "stall": "go silent and stop answering pings for ARG seconds (default 5)",
    "garble": "send one data frame cut in half",
    "overflow": "end every subscription with error 25",
    "refuse": "answer handshakes with 401 for ARG seconds (default 10)",
    "slow": "answer commands ARG seconds late (default 1)",
    "reject": "answer commands with error 27 for ARG seconds (default 5)",
    "subfail": "answer every subscribe with error 25 for ARG seconds (default 10)",
    "submute": "never answer a subscribe for ARG seconds (default 10)",
    "nosnap": "leave out the next ARG initial snapshots, without a gap (default 1)",
}
_DEFAULT_ARG = {"stall": 5.0, "refuse": 10.0, "slow": 1.0, "reject": 5.0, "subfail": 10.0, "submute": 10.0}


class FaultSpec(NamedTuple):
    kind: str
    arg: float | None
    every: float | None  # seconds between repeats; None = once at start

    def apply(self, faults: Faults) -> None:
        arg = self.arg if self.arg is not None else _DEFAULT_ARG.get(self.kind)
        actions: dict[str, Callable[[], object]] = {
            "drop": faults.drop_frame,
            "kill": faults.kill_connections,
            "stall": lambda: faults.stall(arg or 0.0),
            "garble": faults.garble_frame,
            "overflow": faults.overflow,
            "refuse": lambda: faults.refuse_handshakes(arg or 0.0),
            # A repeating slow/reject window lasts ARG seconds; a one-off slow lasts forever.
            "slow": lambda: faults.slow_commands(
                arg or 0.0, None if self.every is None else min(arg or 0.0, self.every)
            ),
            "reject": lambda: faults.reject_commands(arg or 0.0),
            "subfail": lambda: faults.fail_subscribes(arg or 0.0),
            "submute": lambda: faults.mute_subscribes(arg or 0.0),
            "nosnap": lambda: faults.skip_snapshots(int(arg or 1)),
        }
        actions[self.kind]()


def parse_fault(text: str) -> FaultSpec:
    """``KIND[:ARG][@EVERY]``, e.g. ``kill@60``, ``stall:3@30``, ``slow:0.5``.
    Raises ValueError with a sentence for people."""
    spec, _, every_text = text.partition("@")
    kind, _, arg_text = spec.partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise ValueError(f"unknown fault {kind!r}; known: {', '.join(KINDS)}")
    try:
        arg = float(arg_text) if arg_text else None
        every = float(every_text) if every_text else None
    except ValueError:
        raise ValueError(f"fault {text!r}: ARG and EVERY must be numbers of seconds") from None
    if arg is not None and (not math.isfinite(arg) or arg < 0):
        raise ValueError(f"fault {text!r}: ARG must be a non-negative number")
    if every is not None and (not math.isfinite(every) or every <= 0):
        raise ValueError(f"fault {text!r}: EVERY must be a positive number of seconds")
    return FaultSpec(kind, arg, every)


async def run_schedule(faults: Faults, specs: list[FaultSpec]) -> None:
    """Apply one-off faults now and repeat the periodic ones until cancelled."""

    async def repeat(spec: FaultSpec) -> None:
        assert spec.every is not None
        while True:
            await asyncio.sleep(spec.every)
            spec.apply(faults)

    tasks = []
    for spec in specs:
        if spec.every is None:
            spec.apply(faults)
        else:
            tasks.append(asyncio.create_task(repeat(spec)))
    if tasks:
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
