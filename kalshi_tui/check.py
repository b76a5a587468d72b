"""``kalshi-tui check``: a doctor for a profile (or for the endpoint the flags name).

One line per check, in order: the config, the key file, the key, the REST API and the
exchange's status, the clock against the exchange's, the WebSocket handshake, a subscription
to the first watchlist market and its first snapshot. ``✓`` passed, ``!`` a warning (does not
fail), ``✗`` failed, with the fix; ``-`` not run, because a check it needs failed (said so).

Exit codes: 0 nothing failed (warnings allowed), 1 a check failed, 2 bad arguments, 5 the
output could not be written.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kalshi_tui import endpoint
from kalshi_tui.auth import Signer, key_file_problem, load_public_key
from kalshi_tui.config import (
    REST_SCHEMES,
    StreamSettings,
    check_path_text,
    check_url_option,
    config_path,
    display_path,
    load_config,
    rest_url_for,
)
from kalshi_tui.errors import AuthRejected, UserError
from kalshi_tui.output import OutputFailed, retire_stdout
from kalshi_tui.protocol import commands
from kalshi_tui.protocol import messages as m
from kalshi_tui.rest import RestClient, RestError
from kalshi_tui.store import AUTH_FAILED, Store
from kalshi_tui.stream import Pool
from kalshi_tui.stream.dial import clock_offset

EXIT_FAILED = 1
CLOCK_WARN = 1.0  # s: past this, signatures are at risk of being judged expired
STEP_TIMEOUT = 10.0  # s a network step may take before it counts as failed
POLL = 0.005  # s between looks at the store while the socket check runs

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
MARKS = {OK: "✓", WARN: "!", FAIL: "✗", SKIP: "-"}
ASCII_MARKS = {OK: "+", WARN: "!", FAIL: "x", SKIP: "-"}
SOCKET_CHECKS = ("WebSocket", "subscribe", "snapshot")
SYNC_CLOCK = "sync the clock (e.g. sudo timedatectl set-ntp true)"


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    status: str
    text: str

    def line(self, marks: dict[str, str] = MARKS) -> str:
        return f"{marks[self.status]} {self.name}: {self.text}"


@dataclass(slots=True)
class Target:
    """What the checks run against, filled in as they pass."""

    key_id: str | None = None
    key_file: Path | None = None
    ws_url: str | None = None
    rest_url: str | None = None
    market: str | None = None
    settings: StreamSettings | None = None
    signer: Signer | None = None
    offset: float | None = None  # exchange minus local clock, s, once measured
    rest_down: bool = False  # REST failed to connect (not an HTTP error)


def _skip(name: str, needs: str) -> Result:
    return Result(name, SKIP, f"skipped: needs {needs}")


def _host(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    secure = parts.scheme in ("https", "wss")
    return (parts.hostname or "", parts.port or (443 if secure else 80))


def _ahead(offset: float) -> str:
    side = "behind" if offset > 0 else "ahead of"
    return f"your clock is {abs(offset):.1f} s {side} the exchange's"


class Doctor:
    """Runs the checks in order, handing each result to ``report`` as soon as it is known."""

    def __init__(
        self,
        args: argparse.Namespace,
        report: Callable[[Result], None],
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = STEP_TIMEOUT,
    ) -> None:
        self.args = args
        self.report = report
        self.clock = clock
        self.timeout = timeout
        self.results: list[Result] = []
        self.t = Target()

    def _say(self, result: Result) -> Result:
        self.results.append(result)
        self.report(result)
        return result

    async def run(self) -> list[Result]:
        """Each check runs only if what it needs passed; else it is listed as skipped."""
        config_ok = self._passed(self.config())
        file_ok = self._passed(self.key_file() if config_ok else _skip("key file", "the config"))
        key_ok = self._passed(self.key_loads() if file_ok else _skip("key", "the key file"))
        rest_ok = self._passed(await self.rest() if config_ok else _skip("REST", "the config"))
        # The clock is read off the REST answer's Date header.
        self._say(self.clock_check() if rest_ok else _skip("clock", "the REST API"))
        needs = None if key_ok else "the key"
        if needs is None and self.t.rest_down and self.t.ws_url and self.t.rest_url:
            # One server for both (the simulator, a proxy): REST just failed to connect to it.
            host, port = _host(self.t.ws_url)
            if (host, port) == _host(self.t.rest_url):
                needs = f"a reachable server at {host}:{port} (see REST)"
        for result in await self.socket() if needs is None else [_skip(n, needs) for n in SOCKET_CHECKS]:
            self._say(result)
        return self.results

    def _passed(self, result: Result) -> bool:
        return self._say(result).status in (OK, WARN)

    # -- config and key ----------------------------------------------------------------------

    def config(self) -> Result:
        a = self.args
        self.t.market = (a.market or "").strip().upper() or None
        if a.ws_url:
            self.t.ws_url = a.ws_url
            self.t.rest_url = a.rest_url or rest_url_for(a.ws_url)
            self.t.key_id = a.key_id
            self.t.key_file = Path(a.key_file).expanduser()
            return Result("config", OK, "not needed: the endpoint and key come from the flags")
        path = config_path(a.config)
        if not path.exists():
            return Result(
                "config",
                FAIL,
                f"no config file at {display_path(path)}: run kalshi-tui init, or pass --config PATH",
            )
        try:
            profile = load_config(path).profile(a.profile)
        except UserError as exc:
            return Result("config", FAIL, str(exc))
        self.t.ws_url, self.t.rest_url = profile.ws_url, profile.rest_url
        self.t.key_id, self.t.key_file = profile.key_id, profile.key_file
        self.t.settings = profile.stream
        if self.t.market is None and profile.tickers:
            self.t.market = profile.tickers[0]
        return Result(
            "config", OK, f"profile {profile.name!r} in {display_path(path)} ({profile.environment})"
        )

    def key_file(self) -> Result:
        if not self.t.key_id:
            return Result("key file", FAIL, "the profile has no key_id: run kalshi-tui init --key-id ID")
        path = self.t.key_file
        if path is None:
            return Result(
                "key file", FAIL, "the profile has no key_file: run kalshi-tui init --key-file PATH"
            )
        problem = key_file_problem(path)
        if problem is not None:
            return Result("key file", FAIL, problem)
        try:
            with open(path, "rb") as fh:
                head = fh.read(4096)
        except OSError as exc:
            return Result("key file", FAIL, f"cannot read {display_path(path)}: {exc.strerror}")
        # Only the PEM header is looked at, and never shown: the rest is the secret.
        if b"-----BEGIN" not in head or b"PRIVATE KEY-----" not in head:
            return Result(
                "key file",
                FAIL,
                f"{display_path(path)} is not a PEM private key (it should start with "
                "-----BEGIN PRIVATE KEY-----): save the key Kalshi gave you there again",
            )
        mode = path.stat().st_mode & 0o777
        return Result("key file", OK, f"{display_path(path)}, private (mode {mode:04o}), PEM")

    def key_loads(self) -> Result:
        assert self.t.key_id is not None and self.t.key_file is not None
        try:
            signer = endpoint.load_signer(self.t.key_id, self.t.key_file, self.clock)
        except UserError as exc:
            text = str(exc)
            if text.endswith("a passphrase is needed"):
                text += f": set {endpoint.PASSPHRASE_ENV} or run check in a terminal"
            return Result("key", FAIL, text)
        self.t.signer = signer
        bits = load_public_key(signer.public_key_pem()).key_size
        return Result("key", OK, f"RSA {bits}-bit loads, key id {signer.key_id}")

    # -- REST and the clock ------------------------------------------------------------------

    async def rest(self) -> Result:
        url = self.t.rest_url
        if not url:
            return Result("REST", FAIL, "no REST URL: pass --rest-url")
        client = RestClient(url, self.t.signer, timeout=self.timeout)
        try:
            before = self.clock()
            status = await client.exchange_status()
            after = self.clock()
        except RestError as exc:
            self.t.rest_down = "HTTP" not in str(exc) and "JSON" not in str(exc)
            fix = "check the URL and your network" if self.t.rest_down else "check the URL"
            return Result("REST", FAIL, f"cannot use {url} ({exc}): {fix}")
        finally:
            await client.aclose()
        date = client.last_date
        lo = clock_offset(date, after)
        if lo is not None:
            # The Date header has whole seconds: the exchange's clock read somewhere in
            # [D, D + 1) while we were between `before` and `after`.
            hi = (clock_offset(date, before) or 0.0) + 1.0
            self.t.offset = 0.0 if lo <= 0.0 <= hi else (lo if abs(lo) < abs(hi) else hi)
        return self._status(url, status)

    def _status(self, url: str, status: dict[str, Any]) -> Result:
        if status.get("exchange_active") is False:
            resume = status.get("exchange_estimated_resume_time")
            when = f" (expected back {resume})" if resume else ""
            return Result("REST", WARN, f"{url} answers, but the exchange is closed{when}")
        if status.get("trading_active") is False:
            return Result("REST", WARN, f"{url} answers; the exchange is open but trading is paused")
        return Result("REST", OK, f"{url} answers; exchange and trading active")

    def clock_check(self) -> Result:
        offset = self.t.offset
        if offset is None:
            return Result("clock", WARN, "the exchange sent no usable Date header: the offset is unknown")
        if abs(offset) > CLOCK_WARN:
            return Result("clock", WARN, f"{_ahead(offset)}, so signatures may expire: {SYNC_CLOCK}")
        return Result("clock", OK, f"within {CLOCK_WARN:g} s of the exchange's (Date header)")

    # -- the socket --------------------------------------------------------------------------

    async def socket(self) -> list[Result]:
        assert self.t.signer is not None and self.t.ws_url is not None
        market = self.t.market
        store = Store()
        snapshot_at: list[float] = []

        def listener(msg: m.Message) -> None:
            if not snapshot_at and isinstance(msg, m.OrderbookSnapshot) and msg.market_ticker == market:
                snapshot_at.append(time.time())

        pool = Pool(
            self.t.ws_url,
            self.t.signer,
            store,
            self.t.settings,
            channels=[commands.CHANNEL_ORDERBOOK],
            markets=[market] if market else [],
            listener=listener,
        )
        started = time.time()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        async with pool.running() as task:
            connected = await self._wait(
                lambda: store.metrics.connected_since is not None, store, task, deadline
            )
            if connected is not None:
                return [connected, _skip("subscribe", "the WebSocket"), _skip("snapshot", "the WebSocket")]
            assert store.metrics.connected_since is not None
            handshake_ms = (store.metrics.connected_since - started) * 1000
            hello = Result(
                "WebSocket", OK, f"{self.t.ws_url}: signed handshake accepted in {handshake_ms:.0f} ms"
            )
            if market is None:
                nothing = "no market to try: pass --market TICKER or add a watchlist to the profile"
                return [hello, Result("subscribe", WARN, nothing), _skip("snapshot", "a subscription")]
            subscribed = await self._wait(
                lambda: any(s.sid is not None for s in store.metrics.subscriptions), store, task, deadline
            )
            if subscribed is not None:
                return [hello, subscribed, _skip("snapshot", "a subscription")]
            sub = Result("subscribe", OK, f"orderbook_delta for {market}")
            synced = await self._wait(lambda: bool(snapshot_at), store, task, deadline)
            if synced is not None:
                return [hello, sub, synced]
        state = store.markets[market]
        levels = len(state.book.yes) + len(state.book.no)
        ms = (snapshot_at[0] - store.metrics.connected_since) * 1000
        snap = Result("snapshot", OK, f"{market}: {levels} levels, {ms:.0f} ms after the handshake")
        return [hello, sub, snap]

    async def _wait(
        self, done: Callable[[], bool], store: Store, task: asyncio.Task[None], deadline: float
    ) -> Result | None:
        """None once ``done()``; else the failed check's result: the first error the stream
        recorded (the store is new: every error in it is this check's), the handshake
        refused, or time running out."""
        loop = asyncio.get_running_loop()
        while not done():
            if store.metrics.state == AUTH_FAILED:
                return self._refused(store)
            if task.done():
                exc = None if task.cancelled() else task.exception()
                if isinstance(exc, AuthRejected):
                    return self._refused(store)
                return Result(self._stage(store), FAIL, f"the stream stopped: {exc or 'cancelled'}")
            if store.metrics.last_errors:
                first = store.metrics.last_errors[0]
                return self._stream_error(store, first.sentence, first.detail)
            if loop.time() > deadline:
                return self._timed_out(store)
            await asyncio.sleep(POLL)
        return None

    def _stage(self, store: Store) -> str:
        if store.metrics.connected_since is None:
            return "WebSocket"
        if not any(s.sid is not None for s in store.metrics.subscriptions):
            return "subscribe"
        return "snapshot"

    def _refused(self, store: Store) -> Result:
        offset = store.metrics.clock_offset if store.metrics.clock_offset is not None else self.t.offset
        if offset is not None and abs(offset) > CLOCK_WARN:
            why = f"{_ahead(offset)}, so the signature looks expired: {SYNC_CLOCK}"
        else:
            why = (
                f"check that key id {self.t.key_id} is the one for this key file and that the key "
                "was made for this environment (demo and prod keys differ)"
            )
        return Result("WebSocket", FAIL, f"the exchange refused the signed handshake (HTTP 401); {why}")

    def _stream_error(self, store: Store, sentence: str, detail: str) -> Result:
        stage = self._stage(store)
        if stage == "WebSocket":
            fix = "check the URL (--ws-url or the profile's ws_url) and your network"
            return Result(stage, FAIL, f"cannot connect: {detail or sentence.rstrip('.')}: {fix}")
        detail = f" ({detail})" if detail else ""
        if stage == "subscribe":
            fix = f"check that {self.t.market} is a market on this exchange (--market or the watchlist)"
        else:
            fix = "try again; if it repeats, the feed for this market is broken"
        return Result(stage, FAIL, f"{sentence.rstrip('.')}{detail}: {fix}")

    def _timed_out(self, store: Store) -> Result:
        stage = self._stage(store)
        what = {
            "WebSocket": "no answer to the handshake",
            "subscribe": f"no answer to subscribing to {self.t.market}",
            "snapshot": f"subscribed, but no snapshot of {self.t.market}",
        }[stage]
        return Result(
            stage, FAIL, f"{what} within {self.timeout:g} s: check your network, or try again later"
        )


# -- the command -----------------------------------------------------------------------------


def _marks() -> dict[str, str]:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "".join(MARKS.values()).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return ASCII_MARKS
    return MARKS


def _check_args(args: argparse.Namespace) -> None:
    if args.ws_url:
        if not args.key_id or not args.key_file:
            raise UserError("--ws-url needs --key-id and --key-file too")
        check_path_text(args.key_file, "--key-file")
    elif args.key_id or args.key_file or args.rest_url:
        raise UserError("--key-id, --key-file and --rest-url go with --ws-url")
    if args.rest_url:
        check_url_option(
            args.rest_url, "--rest-url", REST_SCHEMES, "https://external-api.kalshi.com/trade-api/v2"
        )


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    marks = _marks()

    broken: list[OSError] = []

    def report(result: Result) -> None:
        if broken:
            return  # the reader left (| head -1) or the disk is full: the checks still decide
        try:
            print(result.line(marks), flush=True)
        except OSError as exc:
            broken.append(exc)

    results = asyncio.run(Doctor(args, report).run())
    if broken:
        retire_stdout()
        if not isinstance(broken[0], BrokenPipeError):
            raise OutputFailed(f"cannot write the output: {broken[0].strerror or broken[0]}")
    failed = [r for r in results if r.status == FAIL]
    return EXIT_FAILED if failed else 0
