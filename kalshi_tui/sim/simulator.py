"""``Simulator``: a local Kalshi on loopback, for the demo, the tests and benchmarks.

    async with Simulator(seed=7, rate=50, markets=40) as sim:
        connect(sim.ws_url, additional_headers=sim.signer.headers())

The engine advances in a deterministic sequence of steps; a pacing task runs as many
steps per tick as the rate asks for (batches, so tens of thousands of messages a second
stay cheap), stamps them with the wall clock and fans them out. Same seed, same stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType

from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.server import Server, serve
from websockets.datastructures import Headers

from kalshi_tui.auth import WS_PATH, Signer, generate_key, write_private_key
from kalshi_tui.book import OrderBook
from kalshi_tui.sim.account import attach_orders
from kalshi_tui.sim.engine import Engine, Output, Position, UserFill
from kalshi_tui.sim.faults import Faults, FaultSpec, run_schedule
from kalshi_tui.sim.handlers import CommandHandler
from kalshi_tui.sim.hub import Hub
from kalshi_tui.sim.rest import REST_PREFIX, Exchange, Rest
from kalshi_tui.sim.server import ApiKey, ExchangeServer

MIN_TICK = 0.005  # seconds between pacing ticks at high rates (200 batches a second)
MAX_LAG = 0.25  # a pacing backlog beyond this many seconds of events is dropped, not caught up
MAX_BATCH = 0.02  # at most this many seconds' worth of steps between two yields to the writers

_log = logging.getLogger("kalshi_tui.sim")
# Library chatter (handshake failures, rejected upgrades) goes wherever the app logs, and
# nowhere by default: a terminal UI must never see a stray traceback on stderr.
_log.addHandler(logging.NullHandler())


class Simulator:
    """A Kalshi-faithful exchange: WebSocket + REST on one loopback port.

    Knobs: ``rate`` (engine steps per second; each is one book change, trades add a trade
    and tickers: a client on every channel of every market gets ~1.6 frames per step),
    ``markets`` (active markets), ``ping_interval``/``ping_timeout`` (the heartbeat),
    ``skew_ms`` (accepted clock skew), ``market_cap`` (markets per subscription, error 26),
    ``command_rate`` (commands per second per subscription, error 27), ``max_buffered``
    (frames queued for one connection before error 25), ``lifecycle_rate`` (chance per step
    of closing a market early), ``user_share`` (chance a trade is the demo account's; the
    account also keeps a few resting orders unless it is 0), ``quiet`` (listed markets with
    empty books nobody quotes; default one per ten active),
    ``start_paused`` (no events until ``resume()``), ``compression`` (offer
    permessage-deflate, as the exchange does).

    Keys: by default a throwaway RSA key pair (``private_key`` to reuse one), written 0600
    to a temp file (``key_path``) that ``stop()`` deletes, with ``signer`` ready to use; or
    ``public_key`` (+ ``key_id``) to accept a key whose private half stays with the user.
    ``add_key`` registers more.

    The exchange: ``pause_trading``/``resume_trading`` and ``schedule_maintenance`` change
    what /exchange/status and /exchange/schedule say, and stop trades meanwhile.
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        rate: float = 50.0,
        markets: int = 40,
        host: str = "127.0.0.1",
        port: int = 0,
        ping_interval: float = 10.0,
        ping_timeout: float = 10.0,
        skew_ms: int = 30_000,
        market_cap: int = 1000,
        command_rate: float = 20.0,
        max_buffered: int = 200_000,
        lifecycle_rate: float = 1 / 20_000,
        user_share: float = 0.05,
        quiet: int | None = None,
        start_paused: bool = False,
        compression: bool = True,
        private_key: rsa.RSAPrivateKey | None = None,
        public_key: rsa.RSAPublicKey | None = None,
        key_id: str | None = None,
        faults: list[FaultSpec] | None = None,
    ) -> None:
        if rate < 0:
            raise ValueError("rate must be >= 0")
        self.seed = seed
        self.host = host
        self._port = port
        self._rate = float(rate)
        self._paused = start_paused
        self._unpaused = asyncio.Event()
        self._rebase = True
        self.engine = Engine(seed, markets, lifecycle_rate=lifecycle_rate, user_share=user_share, quiet=quiet)
        if user_share > 0:  # an account that trades also keeps a few resting orders
            attach_orders(self.engine)
        self.hub = Hub(max_buffered)
        self.faults = Faults(self.hub)
        self._fault_specs = list(faults or [])
        self.keys: dict[str, ApiKey] = {}
        self._compression = compression
        self._key_dir: Path | None = None
        self.key_path: Path | None = None
        self.signer: Signer | None = None
        self.key_id = key_id or str(uuid.uuid4())
        if public_key is not None:
            self.add_key(self.key_id, public_key)
        else:
            private = private_key if private_key is not None else generate_key()
            self._key_dir = Path(tempfile.mkdtemp(prefix="kalshi-tui-sim-"))
            self.key_path = write_private_key(private, self._key_dir / "sim-key.pem")
            self.signer = Signer(self.key_id, private)
            self.add_key(self.key_id, private.public_key())
        commands = CommandHandler(self.engine, self.hub, market_cap=market_cap, command_rate=command_rate)
        self.exchange = Exchange()
        rest = Rest(self.engine, self._authorized, lambda: not self._paused, exchange=self.exchange)
        self.server = ExchangeServer(
            self.hub,
            commands,
            rest,
            self.faults,
            keys=self.keys,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            skew_ms=skew_ms,
        )
        self._ws: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def _authorized(self, headers: Headers, method: str, path: str) -> bool:
        return self.server.authorized(headers, method, path)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> Simulator:
        """Listen and start the market. Raises OSError if the port is taken."""
        self._ws = await serve(
            self.server.handler,
            self.host,
            self._port,
            process_request=self.server.process_request,
            ping_interval=None,
            ping_timeout=None,  # the exchange's own heartbeat instead
            compression="deflate" if self._compression else None,
            max_size=1 << 20,
            close_timeout=1.0,
            logger=_log,
        )
        self._port = self._ws.sockets[0].getsockname()[1]
        if not self._paused:
            self._unpaused.set()
        self._tasks.append(asyncio.create_task(self._pace()))
        if self._fault_specs:
            self._tasks.append(asyncio.create_task(run_schedule(self.faults, self._fault_specs)))
        return self

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._ws is not None:
            self._ws.close()
            await self._ws.wait_closed()
            self._ws = None
        self.discard_key()

    def discard_key(self) -> None:
        """Delete the throwaway private key file (done by ``stop()`` too)."""
        if self._key_dir is not None:
            shutil.rmtree(self._key_dir, ignore_errors=True)
            self._key_dir = None

    async def __aenter__(self) -> Simulator:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        assert self._ws is not None, "start() first"
        await self._ws.serve_forever()

    # -- where to connect ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    def _authority(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"[{host}]:{self._port}" if ":" in host else f"{host}:{self._port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._authority()}{WS_PATH}"

    @property
    def rest_url(self) -> str:
        return f"http://{self._authority()}{REST_PREFIX}"

    def add_key(self, key_id: str, public_key: rsa.RSAPublicKey, *, account: bool = True) -> None:
        """Accept another key. ``account=False``: market data only (fills/positions: 9)."""
        self.keys[key_id] = ApiKey(key_id, public_key, account)

    # -- the market ---------------------------------------------------------------------------

    @property
    def tickers(self) -> list[str]:
        """Tickers of the markets trading now."""
        return [st.market.ticker for st in self.engine.active]

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        if value < 0:
            raise ValueError("rate must be >= 0")
        self._rate = float(value)
        self._rebase = True

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Stop the market: no new events until ``resume()`` (commands still answered)."""
        self._paused = True
        self._unpaused.clear()

    def resume(self) -> None:
        self._paused = False
        self._rebase = True
        self._unpaused.set()

    def pause_trading(self, resume_at: float | None = None) -> None:
        """The exchange pauses trading: books still change but nothing trades, and
        /exchange/status says so (with ``resume_at``, unix seconds, as the expected resume)."""
        self.exchange.trading_paused = True
        self.exchange.resume_at = None if resume_at is None else int(resume_at)

    def resume_trading(self) -> None:
        self.exchange.trading_paused = False
        self.exchange.resume_at = None

    def schedule_maintenance(self, start: float, end: float) -> None:
        """A maintenance window (unix seconds): listed by /exchange/schedule, and while it
        lasts the exchange is inactive and nothing trades."""
        if end <= start:
            raise ValueError("a maintenance window must end after it starts")
        self.exchange.maintenance.append((int(start), int(end)))

    @property
    def trading_active(self) -> bool:
        return not self.exchange.trading_paused and self.exchange.in_maintenance(time.time()) is None

    def step(self, n: int = 1) -> list[Output]:
        """Run ``n`` engine steps now (paused or not) and send what they produce."""
        now = time.time()
        self.engine.ts_ms = int(now * 1000)
        self.engine.trading = not self.exchange.trading_paused and (
            not self.exchange.maintenance or self.exchange.in_maintenance(now) is None
        )
        out: list[Output] = []
        for _ in range(n):
            self.engine.step(out)
        self.hub.dispatch(out)
        return out

    def book(self, ticker: str) -> OrderBook:
        """The exchange's true book for ``ticker`` (NO bids on the NO scale)."""
        return self.engine.book(ticker)

    @property
    def fills(self) -> list[UserFill]:
        """The demo account's fills, oldest first."""
        return list(self.engine.fills)

    @property
    def positions(self) -> dict[str, Position]:
        return dict(self.engine.positions)

    def market(self, ticker: str) -> dict[str, object]:
        """The REST market object for ``ticker``."""
        return self.server.rest.market(self.engine.state(ticker))

    @property
    def connections(self) -> int:
        return len(self.hub.clients)

    async def _pace(self) -> None:
        """Run the steps the rate asks for, in batches, against the loop's clock."""
        loop = asyncio.get_running_loop()
        base_t = 0.0
        base_n = 0
        while True:
            if self._paused or self._rate <= 0:
                if self._rate <= 0 and not self._paused:
                    await asyncio.sleep(0.05)
                else:
                    await self._unpaused.wait()
                self._rebase = True
                continue
            now = loop.time()
            if self._rebase:
                base_t, base_n, self._rebase = now, 0, False
            rate = self._rate
            due = int((now - base_t) * rate) - base_n
            if due > rate * MAX_LAG:
                # Saturated: forget the backlog rather than burst to catch up on it.
                base_n += due - int(rate * MIN_TICK) - 1
                due = int(rate * MIN_TICK) + 1
            if due > 0:
                batch = min(due, int(rate * MAX_BATCH) + 1)
                base_n += batch
                self.step(batch)
                if batch < due:
                    await asyncio.sleep(0)  # behind: let the writers run, then go on
                    continue
            wait = base_t + (base_n + 1) / rate - loop.time()
            await asyncio.sleep(min(max(wait, MIN_TICK), 0.25))
