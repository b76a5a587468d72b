"""``kalshi-tui tail``: the live stream as JSON lines, for scripts and for testing.

One object per event, with the wire type, the market and the decoded fields as the
exchange's dollar/size strings. Output goes through a bounded buffer (see
``stream.buffer`` for what it drops when the reader is slow) and a writer thread, so a slow
or stopped pipe never stalls reading the socket nor grows memory.

Exit codes: 0 clean stop (count, duration, Ctrl-C, SIGTERM, or the reader closed the
pipe), 2 bad arguments or settings, 3 the exchange refused the key, 4 nothing subscribed
within ``--connect-timeout``, 5 the output could not be written.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

from kalshi_tui import endpoint
from kalshi_tui.config import StreamSettings, tickers_from_text
from kalshi_tui.errors import AuthRejected, UserError
from kalshi_tui.numbers import format_money, format_price, format_size
from kalshi_tui.output import STDOUT, OutputClosed, OutputFailed, Writer, retire_stdout, stop_event
from kalshi_tui.protocol import commands
from kalshi_tui.protocol import messages as m
from kalshi_tui.store import ErrorEvent, Store
from kalshi_tui.stream import EventBuffer, Pool
from kalshi_tui.stream.recorder import Recorder
from kalshi_tui.stream.replay import RecordingError, ReplayFeed

EXIT_NOT_SUBSCRIBED = 4
DEFAULT_CONNECT_TIMEOUT = 30.0
DRAIN_SECONDS = 5.0  # at a stop, how long a slow reader gets to take what is still buffered
POLL_SECONDS = 0.25  # how often the store is read for news about the connection
REPEAT_QUIET = 30.0  # the same error sentence is printed at most once per this many seconds

_PRICE_FIELDS = {
    "price",
    "yes_bid",
    "yes_ask",
    "yes_price",
    "no_price",
}
_MONEY_FIELDS = {"fee", "position_cost", "realized_pnl", "fees_paid", "taker_fees", "maker_fees"}
_SIZE_FIELDS = {
    "delta",
    "yes_bid_size",
    "yes_ask_size",
    "volume",
    "open_interest",
    "count",
    "post_position",
    "position",
    "filled",
    "remaining",
    "initial",
}


def _levels(levels: list[tuple[int, int]]) -> list[list[str]]:
    return [[format_price(p), format_size(s)] for p, s in sorted(levels)]


def event_json(msg: m.Message) -> dict[str, Any]:
    """A data message as plain JSON types, numbers in the exchange's string form."""
    out: dict[str, Any] = {"type": m.WIRE_TYPE.get(type(msg), type(msg).__name__)}
    fields = msgspec.structs.asdict(msg)
    out["market"] = fields.pop("market_ticker", None)
    for name, value in fields.items():
        if value is None:
            continue
        if name in _PRICE_FIELDS and isinstance(value, int):
            value = format_price(value)
        elif name in _MONEY_FIELDS and isinstance(value, int):
            value = format_money(value)  # six places, as the exchange writes them
        elif name in _SIZE_FIELDS and isinstance(value, int):
            value = format_size(value)
        elif name in ("yes", "no"):
            value = _levels(value)
        out[name] = value
    return out


def books_json(store: Store) -> dict[str, Any]:
    return {
        ticker: {
            "yes": _levels(list(state.book.yes.items())),
            "no": _levels(list(state.book.no.items())),
            "stale": not state.book.synced,
        }
        for ticker, state in sorted(store.markets.items())
    }


# -- what the store says about the connection ------------------------------------------------


def connection_news(store: Store, seen: ErrorEvent | None) -> tuple[bool, list[ErrorEvent]]:
    """Read from the store's public state only: whether anything is subscribed yet, and the
    errors recorded after ``seen`` (oldest first). The stream records every failure there
    (refused connections, HTTP errors on the upgrade, exchange error codes), so this is the
    one place that knows how."""
    subscribed = any(sub.sid is not None for sub in store.metrics.subscriptions)
    events = list(store.metrics.last_errors)
    if seen is not None:
        for i in range(len(events) - 1, -1, -1):
            if events[i] is seen:
                return subscribed, events[i + 1 :]
    return subscribed, events


def error_line(event: ErrorEvent) -> str:
    detail = event.detail
    if event.code is not None:
        detail = f"error {event.code}: {detail}" if detail else f"error {event.code}"
    return f"kalshi-tui: {event.sentence}" + (f" ({detail})" if detail else "")


class ErrorReporter:
    """Prints each new connection error on stderr as one line; the same sentence again within
    ``REPEAT_QUIET`` seconds (a retry loop) is not repeated."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.subscribed = False
        self.printed: list[str] = []
        self._seen: ErrorEvent | None = None
        self._last_said: dict[str, float] = {}

    def poll(self) -> None:
        self.subscribed, new = connection_news(self.store, self._seen)
        now = time.monotonic()
        for event in new:
            self._seen = event
            said = self._last_said.get(event.sentence)
            if said is not None and now - said < REPEAT_QUIET:
                continue
            self._last_said[event.sentence] = now
            line = error_line(event)
            self.printed.append(event.sentence)
            print(line, file=sys.stderr, flush=True)

    def last_sentence(self) -> str | None:
        events = self.store.metrics.last_errors
        return events[-1].sentence if events else None

    def gave_up(self, waited: float, connect_timeout: float) -> bool:
        """Report what is new; True (said on stderr, with the last problem) when nothing was
        subscribed within ``connect_timeout`` seconds: exit EXIT_NOT_SUBSCRIBED."""
        self.poll()
        if self.subscribed or waited <= connect_timeout:
            return False
        last = self.last_sentence()
        why = f"; last problem: {last}" if last else ""
        print(f"kalshi-tui: nothing subscribed within {connect_timeout:g} s, giving up{why}", file=sys.stderr)
        return True


def _line(msg: m.Message) -> bytes:
    return (json.dumps(event_json(msg)) + "\n").encode()


# -- the command -----------------------------------------------------------------------------


async def tail(
    ep: endpoint.Endpoint | None,
    markets: list[str],
    channels: list[str],
    *,
    count: int | None,
    duration: float | None,
    books_out: Path | None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    record: Recorder | None = None,
    replay: list[str] | None = None,
    speed: float = 1.0,
) -> int:
    """The stream of ``ep`` as JSON lines; with ``replay``, recordings played instead (``ep``
    None), ending once played."""
    store = Store()
    settings = ep.settings if ep is not None else StreamSettings()
    buffer = EventBuffer(store, settings.buffer_size)
    rest = None
    played: asyncio.Future[object] = asyncio.get_running_loop().create_future()  # never, live
    pool: Pool | ReplayFeed
    if replay is not None:
        pool = ReplayFeed(replay, store, settings, speed=speed, listener=buffer.put)
        played = asyncio.ensure_future(pool.finished.wait())
    else:
        assert ep is not None
        if ep.rest_url:
            from kalshi_tui.rest import RestClient

            rest = RestClient(ep.rest_url, ep.signer)
        pool = Pool(
            ep.ws_url,
            ep.signer,
            store,
            ep.settings,
            channels=channels,
            markets=markets,
            rest=rest,
            listener=buffer.put,
            recorder=record,
        )
    writer = Writer(STDOUT)
    reporter = ErrorReporter(store)
    runner = asyncio.create_task(pool.run())
    stop = stop_event(duration)
    printed = 0
    outcome: BaseException | None = None  # why the output ended early, if it did

    async def pump(limit: int | None, *, until_empty: bool = False) -> None:
        nonlocal printed
        while limit is None or printed < limit:
            first = buffer.get_nowait()
            if first is None:
                if until_empty:
                    return
                first = await buffer.get()
            batch = [_line(first)]
            while len(batch) < 512 and (limit is None or printed + len(batch) < limit):
                nxt = buffer.get_nowait()
                if nxt is None:
                    break
                batch.append(_line(nxt))
            printed += len(batch)  # counted once queued: a stop mid-write still writes it
            await writer.write(b"".join(batch))

    async def print_all() -> None:
        nonlocal outcome
        try:
            await pump(count)
        except (OutputClosed, OutputFailed) as exc:
            outcome = exc
        stop.set()

    async def watch() -> int | None:
        """Report connection errors; the exit code if tail must give up."""
        started = time.monotonic()
        while True:
            if reporter.gave_up(time.monotonic() - started, connect_timeout):
                return EXIT_NOT_SUBSCRIBED
            if writer.reader_gone():
                return 0
            await asyncio.sleep(POLL_SECONDS)

    printer = asyncio.create_task(print_all())
    watcher = asyncio.create_task(watch())
    stopper = asyncio.create_task(stop.wait())
    code = 0
    try:
        await asyncio.wait({runner, stopper, watcher, played}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        printer.cancel()
        watcher.cancel()
        stopper.cancel()
        played.cancel()
        await pool.close()
        if record is not None:
            record.close()
            if record.summary():
                print(f"kalshi-tui: recording: {record.summary()}", file=sys.stderr)
        runner.cancel()
        if rest is not None:
            await rest.aclose()
    if watcher.done() and not watcher.cancelled():
        code = watcher.result() or 0
        if writer.reader_gone():
            outcome = OutputClosed()
    if runner.done() and not runner.cancelled() and runner.exception() is not None:
        exc = runner.exception()
        reporter.poll()
        if isinstance(exc, AuthRejected) and str(exc) in reporter.printed:
            return exc.exit_code  # its sentence is on stderr already: once is enough
        raise exc  # type: ignore[misc]
    reporter.poll()
    if outcome is None and code == 0:
        # A clean stop: what was received is printed (a reader that takes nothing for
        # DRAIN_SECONDS loses the rest), so the output replays to the books written below.
        try:
            await asyncio.wait_for(pump(count, until_empty=True), DRAIN_SECONDS)
        except (OutputClosed, OutputFailed) as exc:
            outcome = exc
        except TimeoutError:
            pass
    if isinstance(outcome, OutputClosed | OutputFailed):
        retire_stdout()
    if books_out is not None and code == 0:
        try:
            with open(books_out, "w", encoding="utf-8") as fh:
                json.dump(books_json(store), fh, indent=1)
        except OSError as exc:
            raise OutputFailed(f"cannot write --books-out {books_out}: {exc.strerror or exc}") from None
    summary = buffer.summary()
    if summary:
        print(f"kalshi-tui: output was slow: {summary}", file=sys.stderr)
    if isinstance(outcome, OutputFailed):
        raise outcome
    return code


# -- arguments -------------------------------------------------------------------------------


def positive_count(flag: str, raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise UserError(f"{flag} must be a whole number above 0, not {raw!r}")
    return value


def positive_seconds(flag: str, raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"{flag} must be a number of seconds above 0, not {raw!r}")
    return value


def writable_file(flag: str, raw: str | None) -> Path | None:
    """Checked at start, so a typo is found before the run, not after it."""
    if raw is None:
        return None
    path = Path(raw).expanduser()
    if path.is_dir():
        raise UserError(f"{flag} {raw!r} is a folder: give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise UserError(f"{flag} {raw!r}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserError(f"{flag} {raw!r}: not writable")
    return path


def run(args: argparse.Namespace) -> int:
    if sys.stdout is None:  # started with fd 1 closed: the next file opened would take its place
        raise OutputFailed("stdout is closed: there is nowhere to write the events")
    count = positive_count("--count", args.count)
    duration = positive_seconds("--duration", args.duration)
    connect_timeout = positive_seconds("--connect-timeout", args.connect_timeout)
    books_out = writable_file("--books-out", args.books_out)
    if args.replay:
        # As fast as it reads: a script wants the output, not the pace it was recorded at.
        return run_replay(args.replay, books_out, speed=math.inf, count=count, duration=duration)
    ep = endpoint.resolve(args)
    markets = tickers_from_text(args.markets) if args.markets else ep.markets
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    known = set(commands.PUBLIC_CHANNELS) | set(commands.PRIVATE_CHANNELS)
    unknown = [c for c in channels if c not in known]
    if unknown:
        raise UserError(f"unknown channel {unknown[0]!r}: use some of {', '.join(sorted(known))}")
    if not markets and any(c in commands.MARKET_CHANNELS for c in channels):
        raise UserError("no markets: pass --markets A,B or add a watchlist to the profile")
    return asyncio.run(
        tail(
            ep,
            markets,
            channels,
            count=count,
            duration=duration,
            books_out=books_out,
            connect_timeout=connect_timeout or DEFAULT_CONNECT_TIMEOUT,
            record=make_recorder(args, ep.settings),
        )
    )


def make_recorder(args: argparse.Namespace, settings: StreamSettings | None = None) -> Recorder | None:
    """``--record PATH`` (``--record-max-mb``, ``--record-keep``), else the profile's
    ``[stream] record``; None when neither asks for a recording."""
    settings = settings or StreamSettings()
    flag = "--record" if getattr(args, "record", None) else "[stream] record"
    path = writable_file(flag, getattr(args, "record", None) or settings.record)
    if path is None:
        return None
    max_mb = getattr(args, "record_max_mb", None)
    keep = getattr(args, "record_keep", None)
    max_mb = settings.record_max_mb if max_mb is None else max_mb
    keep = settings.record_keep if keep is None else keep
    if not max_mb > 0 or keep < 0:
        raise UserError("--record-max-mb must be above 0 and --record-keep 0 or more")
    # Checked before any work: a typo is found before the run, not after it.
    return Recorder(path, max_bytes=int(max_mb * 1024 * 1024), keep=keep)


def run_replay(
    paths: list[str],
    books_out: str | Path | None,
    *,
    speed: float = 1.0,
    count: int | None = None,
    duration: float | None = None,
) -> int:
    """``tail --replay PATH...`` / ``replay --tail``: recordings as tail's JSON lines."""
    out = writable_file("--books-out", str(books_out)) if books_out is not None else None
    try:
        return asyncio.run(
            tail(None, [], [], count=count, duration=duration, books_out=out, replay=paths, speed=speed)
        )
    except RecordingError as exc:
        raise UserError(str(exc)) from None
