"""One authenticated WebSocket connection to Kalshi: the I/O around a ``Machine``.

The session connects (signed, never following a redirect), reconnects with backoff, pings
to find a dead link, reads frames in bounded batches and sends whatever the machine answers.
Every rule about subscriptions, seqs and recovery lives in ``stream/machine.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Sequence

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from kalshi_tui.auth import Signer
from kalshi_tui.config import StreamSettings
from kalshi_tui.errors import AuthRejected
from kalshi_tui.store import AUTH_FAILED, CONNECT, CONNECTING, DOWN, DROP, RECONNECTING, Store
from kalshi_tui.stream.backoff import Backoff
from kalshi_tui.stream.dial import MAX_MESSAGE, CountingConnection, dial, refusal
from kalshi_tui.stream.machine import Listener, Machine, Sub
from kalshi_tui.stream.recorder import CLOSE, OPEN, SEND, Recorder

__all__ = ["MAX_MESSAGE", "Listener", "Session", "Sub"]

DOWN_AFTER_ATTEMPTS = 3  # failed connects in a row before the badge says "down"
BATCH = 512  # frames read before letting the rest of the event loop run
TICK = 0.1  # s between the machine's ticks (paced commands, deadlines, retries)
# s between ticks when no frame came and nothing is due: there is only the ping time to publish,
# and keep-alive pings go every dead_link_timeout / 2 (12.5 s by default)
QUIET_TICK = 5.0


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
        recorder: Recorder | None = None,
    ) -> None:
        self.recorder = recorder  # every frame in and out goes to it (``--record``)
        self.url = url
        self.signer, self.store, self.index, self.compression = signer, store, index, compression
        self.settings = settings = settings or StreamSettings()
        fill_cb = (lambda: on_fill_subscribed(self)) if on_fill_subscribed else None
        self.machine = Machine(
            store,
            settings,
            index=index,
            use_yes_price=use_yes_price,
            listener=listener,
            on_fill_subscribed=fill_cb,
        )
        self.backoff = Backoff(settings.backoff_base, settings.backoff_cap, settings.stable_after)
        self.ws: ClientConnection | None = None
        self.connected = asyncio.Event()
        self.ever_connected = self._closing = False
        self._frames = 0  # frames read since the last traffic report
        self._wire_seen = 0  # the connection's wire bytes at the last traffic report
        self._nudged = asyncio.Event()  # set when a command goes out: the timer wakes

    def __repr__(self) -> str:
        return f"Session({self.index}, {self.url!r}, {len(self.subs)} subs)"

    @property
    def subs(self) -> list[Sub]:
        return self.machine.subs

    async def add_sub(self, sub: Sub) -> None:
        await self._send(self.machine.add_sub(sub, time.monotonic()))

    async def add_markets(self, sub: Sub, tickers: Iterable[str]) -> None:
        await self._send(self.machine.edit(sub, add=tickers, now=time.monotonic()))

    async def remove_markets(self, sub: Sub, tickers: Iterable[str]) -> None:
        await self._send(self.machine.edit(sub, remove=tickers, now=time.monotonic()))

    async def resync(self, sub: Sub, ticker: str) -> None:
        await self._send(self.machine.resync(sub, ticker, time.monotonic()))

    async def run(self) -> None:
        """Connect and keep connected until ``close``. Raises ``AuthRejected`` on a 401
        before this key ever worked (after that, a 401 is retried: exchange hiccups and
        maintenance windows have produced them)."""
        while not self._closing:
            if self.store.metrics.connections.get(self.index) != DOWN:
                self.store.set_state(RECONNECTING if self.ever_connected else CONNECTING, self.index)
            try:
                ws = await dial(self.url, self.signer, self.settings, self.compression)
            except InvalidStatus as exc:
                why = refusal(self.url, exc, self.signer.now())
                if why.key_refused:
                    self.store.set_clock_offset(why.clock_offset)
                self._failed(why.detail, why.sentence, AUTH_FAILED if why.key_refused else None)
                if why.key_refused and not self.ever_connected:
                    raise AuthRejected(why.sentence) from None
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                self._failed(f"{self.url}: {exc}", "Cannot reach the exchange; retrying.")
            else:
                await self._serve(ws)
            if self._closing:
                break
            await asyncio.sleep(self.backoff.delay())
        self.store.set_state(DOWN, self.index)

    def _failed(self, detail: str, sentence: str, state: str | None = None) -> None:
        self.store.record_error(None, detail, sentence, kind=CONNECT, connection=self.index)
        if state is None and self.backoff.attempt >= DOWN_AFTER_ATTEMPTS:
            state = DOWN
        if state is not None:
            self.store.set_state(state, self.index)

    async def close(self) -> None:
        self._closing = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def _serve(self, ws: ClientConnection) -> None:
        self.ws, self.ever_connected = ws, True
        self._wire_seen = 0
        self.backoff.connected(time.monotonic())
        self.store.connected(self.url, time.time())
        self.connected.set()
        if self.recorder is not None:
            self.recorder.put(self.index, OPEN)
        timer = asyncio.create_task(self._timer(ws))
        why = "closed by the exchange"
        try:
            await self._send(self.machine.connected(time.monotonic()))
            await self._read(ws)
        except ConnectionClosed as exc:
            why = str(exc)
        finally:
            timer.cancel()
            self.ws = None
            self.connected.clear()
            self.backoff.disconnected(time.monotonic())
            self._flush_traffic(ws)
            if self.recorder is not None:
                self.recorder.put(self.index, CLOSE, self._closing)
            self.machine.disconnected(closing=self._closing)
            if not self._closing:
                self.store.set_state(RECONNECTING, self.index)  # now, not after the backoff
                self.store.count_reconnect()
                sentence = "Connection to the exchange dropped; reconnecting."
                self.store.record_error(None, why, sentence, kind=DROP, connection=self.index)

    async def _read(self, ws: ClientConnection) -> None:
        receive, clock, n, index = self.machine.receive, time.monotonic, 0, self.index
        record = self.recorder.recv if self.recorder is not None else None
        async for raw in ws:
            self._frames += 1
            if record is not None:
                record(index, raw)
            out = receive(raw, clock())
            if out:
                await self._send(out)
            n += 1
            if n == BATCH:
                # Queued frames don't make the socket wait: let the UI and timers run.
                n = 0
                await asyncio.sleep(0)

    async def _timer(self, ws: ClientConnection) -> None:
        """Ticks the machine and publishes traffic; once a second, the ping round-trip.

        On a quiet link with nothing due it wakes every ``QUIET_TICK`` (each wake-up of an idle
        process costs CPU) or at once when a command goes out (``_send`` nudges it)."""
        second = time.monotonic() + 1.0
        nudged = self._nudged
        flowing = True
        while True:
            if flowing or self.machine.waiting:
                await asyncio.sleep(TICK)
            else:
                nudged.clear()
                counting = ws if isinstance(ws, CountingConnection) else None
                if counting is not None:
                    counting.wake = nudged.set  # the first bytes after a lull end the wait
                try:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(nudged.wait(), QUIET_TICK)
                finally:
                    if counting is not None:
                        counting.wake = None
            now = time.monotonic()
            await self._send(self.machine.tick(now))
            flowing = self._flush_traffic(ws)
            if now >= second:
                second = now + 1.0
                if ws.latency:
                    self.store.set_ping(ws.latency)
                self.store.touch_connection()

    async def _send(self, frames: Sequence[bytes]) -> None:
        ws = self.ws
        if ws is None:
            return
        recorder = self.recorder
        if frames:
            self._nudged.set()  # commands in flight: the timer watches their answers
        with contextlib.suppress(ConnectionClosed):
            for frame in frames:
                if recorder is not None:
                    recorder.put(self.index, SEND, frame)
                await ws.send(frame.decode())

    def _flush_traffic(self, ws: ClientConnection) -> bool:
        """Report the frames read since the last report. Returns whether there were any."""
        if not self._frames:
            return False
        wire = ws.wire_bytes if isinstance(ws, CountingConnection) else 0
        self.store.record_traffic(self._frames, wire - self._wire_seen)
        self._frames, self._wire_seen = 0, wire
        return True
