"""Replaying a recording (``stream/recorder.py``) through the stream machine and the store.

``Replayer`` folds records into a store exactly as the live stream did: a checkpoint restores
each connection's subscriptions (sids, last seqs, pending commands) and every book, then each
received frame goes through ``Machine.receive`` (the live code path). The commands the live
machine sent are in the recording too: ``send`` records tell the replay machine which
commands the exchange's answers refer to (a subscribe made for a new market, a resync), so
answers and data are matched as they were live. What the replay machine would send itself
is dropped: the recording already holds what was sent.

``ReplayFeed`` is the feed the dashboard (or ``tail``) runs instead of the Pool: it plays a
recording against the clock the records carry, at ``speed``, with pause and single step.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, BinaryIO

import zstandard

from kalshi_tui.config import StreamSettings
from kalshi_tui.protocol import commands
from kalshi_tui.store import Store
from kalshi_tui.stream.machine import Listener, Machine, Sub, _Pending
from kalshi_tui.stream.recorder import CHECKPOINT, CLOSE, OPEN, RECV, SEND

Record = tuple[int, int, str, Any]  # t_ns, conn, dir, frame


# -- checkpoints -----------------------------------------------------------------------------


def checkpoint(store: Store, machines: Sequence[Machine]) -> dict[str, Any]:
    """Every book (as held: integers, NO on the scale it is stored on) and each connection's
    subscriptions, seqs and unanswered commands: all a replay needs to carry on from here."""
    books = {
        ticker: {
            "yes": sorted(state.book.yes.items()),
            "no": sorted(state.book.no.items()),
            "stale": state.book.stale_reason,
        }
        for ticker, state in store.markets.items()
    }
    conns = []
    for mc in machines:
        subs = mc.subs
        conns.append(
            {
                "index": mc.index,
                "online": mc.online,
                "subs": [
                    {
                        "channel": s.channel,
                        "markets": sorted(s.markets),
                        "sid": s.sid,
                        "yes_scale": s.yes_scale,
                        "last_seq": s.last_seq,
                    }
                    for s in subs
                ],
                "pending": [
                    [cmd_id, p.kind, subs.index(p.sub) if p.sub in subs else None]
                    for cmd_id, p in mc.pending.items()
                ],
            }
        )
    return {"books": books, "conns": conns}


def restore_books(store: Store, books: dict[str, Any]) -> None:
    for ticker, held in books.items():
        book = store.market(ticker).book
        book.apply_snapshot([tuple(lv) for lv in held["yes"]], [tuple(lv) for lv in held["no"]])
        if held["stale"] is not None:
            book.desync(held["stale"])
    store.books_replaced(books)


# -- reading ---------------------------------------------------------------------------------


class RecordingError(ValueError):
    """A recording that cannot be read (one sentence for the user)."""


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZIP_MAGIC = b"\x1f\x8b"


def _lines(fh: BinaryIO) -> Iterator[bytes]:
    """The decompressed lines of a recording, zstd or gzip (told by its first bytes)."""
    magic = fh.read(4)
    fh.seek(0)
    if magic.startswith(_GZIP_MAGIC):
        with gzip.GzipFile(fileobj=fh) as gz:
            yield from gz
    elif magic == _ZSTD_MAGIC:
        reader = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
        yield from io.BufferedReader(reader)  # type: ignore[arg-type]
    else:
        raise OSError("neither zstd nor gzip")


def read_records(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Record]:
    for path in paths:
        try:
            with open(path, "rb") as fh:
                for n, line in enumerate(_lines(fh), 1):
                    if not line.endswith(b"\n"):
                        break  # every line ends in one: the file was cut short here
                    try:
                        rec = json.loads(line)
                        yield rec["t_ns"], rec["conn"], rec["dir"], rec.get("frame")
                    except (ValueError, KeyError, TypeError):
                        raise RecordingError(f"{os.fspath(path)}: line {n} is not a recorded frame") from None
        except FileNotFoundError:
            raise RecordingError(f"{os.fspath(path)}: no such recording") from None
        except (OSError, EOFError, zstandard.ZstdError) as exc:
            # A file cut short (the recorder was killed) replays up to where it ends.
            if (
                isinstance(exc, EOFError | zstandard.ZstdError)
                or "truncated" in str(exc)
                or "CRC" in str(exc)
            ):
                continue
            raise RecordingError(f"{os.fspath(path)}: not a recording ({exc})") from None


# -- folding records into a store --------------------------------------------------------------


class Replayer:
    def __init__(
        self,
        store: Store,
        settings: StreamSettings | None = None,
        *,
        listener: Listener | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or StreamSettings()
        self.listener = listener
        self.machines: dict[int, Machine] = {}
        self.frames = 0

    def machine(self, conn: int) -> Machine:
        mc = self.machines.get(conn)
        if mc is None:
            mc = self.machines[conn] = Machine(self.store, self.settings, index=conn, listener=self.listener)
        return mc

    def apply(self, rec: Record) -> None:
        t_ns, conn, direction, frame = rec
        now = t_ns / 1e9
        if direction == RECV:
            self.frames += 1
            self.machine(conn).receive(frame, now)
        elif direction == SEND:
            self._mirror(self.machine(conn), frame, now)
        elif direction == OPEN:
            self.machine(conn).connected(now)
        elif direction == CLOSE:
            self.machine(conn).disconnected(closing=bool(frame))
        elif direction == CHECKPOINT:
            self._restore(frame, now)

    def _restore(self, cp: dict[str, Any], now: float) -> None:
        restore_books(self.store, cp.get("books", {}))
        for held in cp.get("conns", []):
            mc = self.machine(held["index"])
            mc._reset()
            subs = []
            for s in held["subs"]:
                sub = Sub(s["channel"], set(s["markets"]), sid=s["sid"], yes_scale=s["yes_scale"])
                sub.asked = frozenset(sub.markets)
                sub.last_seq = s["last_seq"]
                subs.append(sub)
            mc.subs[:] = subs
            mc.by_sid.update({s.sid: s for s in subs if s.sid is not None})
            for cmd_id, kind, i in held["pending"]:
                mc.pending[cmd_id] = _Pending(kind, None if i is None else subs[i], now)
            mc.online = held["online"]
            mc._publish()

    @staticmethod
    def _mirror(mc: Machine, frame: str, now: float) -> None:
        """The live machine sent this command: register it as the replay machine's own, so
        its answer is read as it was live."""
        try:
            cmd = json.loads(frame)
            cmd_id, name, params = cmd["id"], cmd["cmd"], cmd.get("params", {})
        except (ValueError, KeyError, TypeError):
            return
        if name == "subscribe":
            channel = params["channels"][0]
            markets = set(params.get("market_tickers", ()))
            sub = next(
                (s for s in mc.subs if s.channel == channel and s.sid is None and s.markets == markets), None
            )
            if sub is None:
                sub = Sub(channel, markets)
                mc.subs.append(sub)
            sub.asked = frozenset(markets)
            sub.yes_scale = bool(params.get("use_yes_price"))
            mc.pending[cmd_id] = _Pending("subscribe", sub, now)
        elif name == "update_subscription":
            sub = mc.by_sid.get(params["sids"][0])
            action, tickers = params.get("action"), params.get("market_tickers", ())
            if sub is not None and action == commands.ADD_MARKETS:
                sub.markets.update(tickers)
                sub.asked = frozenset(sub.markets)
            elif sub is not None and action == commands.DELETE_MARKETS:
                sub.markets.difference_update(tickers)
                sub.asked = frozenset(sub.markets)
                for ticker in tickers:  # as the Pool does right after sending it
                    mc.store.forget(ticker)
            elif sub is not None and action == commands.GET_SNAPSHOT:
                sub.resyncing.update(tickers)
            kind = "snapshot" if action == commands.GET_SNAPSHOT else "update"
            mc.pending[cmd_id] = _Pending(kind, sub, now)
        elif name == "unsubscribe":
            for sid in params.get("sids", ()):
                sub = mc.by_sid.pop(sid, None)
                if sub is not None and sub.sid == sid:
                    sub.sid = None
                    sub.last_seq = None
                    if not sub.markets and sub in mc.subs:
                        mc.subs.remove(sub)
            mc.pending[cmd_id] = _Pending("unsubscribe", None, now)
        mc._out.clear()  # what the replay machine would send: the recording has what was sent


def replay_all(paths: Iterable[str | os.PathLike[str]], store: Store, **kw: Any) -> Replayer:
    """Fold whole recordings into ``store`` at once (headless, no clock)."""
    rp = Replayer(store, **kw)
    for rec in read_records(paths):
        rp.apply(rec)
    return rp


def recorded_markets(paths: Sequence[str | os.PathLike[str]], look: int = 5000) -> list[str]:
    """The markets a recording's first records subscribe or hold (for the watchlist shown)."""
    seen: dict[str, None] = {}
    for n, (_, _, direction, frame) in enumerate(read_records(paths[:1])):
        if direction == CHECKPOINT:
            seen.update(dict.fromkeys(frame.get("books", {})))
            for conn in frame.get("conns", []):
                for sub in conn["subs"]:
                    seen.update(dict.fromkeys(sub["markets"]))
        elif direction == SEND:
            with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
                seen.update(dict.fromkeys(json.loads(frame).get("params", {}).get("market_tickers", ())))
        if n >= look:
            break
    return list(seen)


class RecordingClock:
    """The time as the recording tells it (seconds): the store's and the app's clock in a replay."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- the feed ----------------------------------------------------------------------------------


class ReplayFeed:
    """What the app runs instead of the Pool: a recording played at ``speed`` against its own
    clock. ``paused`` holds it; ``step()`` plays one received frame while paused."""

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        store: Store,
        settings: StreamSettings | None = None,
        *,
        speed: float = 1.0,
        listener: Listener | None = None,
        paused: bool = False,
        clock: RecordingClock | None = None,
    ) -> None:
        self.paths = list(paths)
        self.clock = clock or RecordingClock()
        self.replayer = Replayer(store, settings, listener=listener)
        self.store = store
        self.speed = speed
        self.paused = paused
        self.finished = asyncio.Event()
        self.t_ns: int | None = None  # the recording's clock: the time of the last record played
        self._wake = asyncio.Event()
        self._steps = 0
        self._closing = False

    @property
    def markets(self) -> list[str]:
        return sorted({t for mc in self.replayer.machines.values() for s in mc.subs for t in s.markets})

    def pause(self, paused: bool | None = None) -> None:
        self.paused = not self.paused if paused is None else paused
        self._wake.set()

    def step(self) -> None:
        """Play the next received frame (and what comes before it), then hold."""
        self.paused = True
        self._steps += 1
        self._wake.set()

    def set_speed(self, speed: float) -> None:
        self.speed = max(1 / 64, min(speed, 1024.0))
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        anchor: tuple[float, int] | None = None  # (loop time, recording time) played in step
        played = 0
        for rec in read_records(self.paths):
            if self._closing:
                break
            t_ns = rec[0]
            while not self._closing:
                if self.paused:
                    if self._steps:
                        if rec[2] == RECV:
                            self._steps -= 1
                        anchor = None
                        break
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                if anchor is None:
                    anchor = (loop.time(), t_ns)
                due = anchor[0] + (t_ns - anchor[1]) / 1e9 / self.speed
                wait = due - loop.time()
                if wait <= 0:
                    break
                self._wake.clear()
                speed = self.speed
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    break
                if self.speed != speed:
                    anchor = (loop.time(), self.t_ns or t_ns)
            self.t_ns = t_ns
            self.clock.now = t_ns / 1e9
            self.replayer.apply(rec)
            played += 1
            if played % 512 == 0:
                await asyncio.sleep(0)  # a burst recorded at once: let the UI draw meanwhile
        self.finished.set()
        while not self._closing:  # the books stay on screen until the app closes
            self._wake.clear()
            await self._wake.wait()

    async def add_markets(self, tickers: Sequence[str]) -> None:
        """A recording holds the markets it recorded: watchlist edits change the screen only."""

    async def remove_markets(self, tickers: Sequence[str]) -> None:
        pass

    async def resync(self, ticker: str) -> bool:
        return False

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
