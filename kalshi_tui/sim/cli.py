"""``kalshi-tui sim``: run the simulator standalone until Ctrl-C.

Prints where to connect and which key to use (the key id and the private key's path,
never the key itself). Every failure is one line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import hashlib
import signal
import sys
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kalshi_tui.auth import KeyFileError, load_public_key
from kalshi_tui.errors import UserError
from kalshi_tui.sim.faults import FaultSpec, parse_fault
from kalshi_tui.sim.simulator import Simulator


def key_id_for(public_key: rsa.RSAPublicKey) -> str:
    """A stable key id for a given public key, so a profile keeps working across runs."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return str(uuid.UUID(bytes=hashlib.sha256(der).digest()[:16], version=4))


def _public_key(path_text: str) -> rsa.RSAPublicKey:
    path = Path(path_text).expanduser()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read public key {path}: {exc.strerror or exc}") from None
    try:
        return load_public_key(data)
    except (KeyFileError, ValueError, TypeError):
        raise UserError(f"{path} is not a PEM RSA public key (BEGIN PUBLIC KEY)") from None


def _faults(texts: list[str]) -> list[FaultSpec]:
    try:
        return [parse_fault(t) for t in texts]
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _check(args: argparse.Namespace) -> None:
    if not 0 <= args.port <= 65_535:
        raise UserError(f"--port must be 0 to 65535, not {args.port}")
    if args.markets < 1:
        raise UserError("--markets must be at least 1")
    if not args.rate >= 0:  # also refuses NaN
        raise UserError("--rate must be a number >= 0")


def build(args: argparse.Namespace) -> Simulator:
    _check(args)
    specs = _faults(list(getattr(args, "fault", None) or []))
    public = _public_key(args.public_key) if getattr(args, "public_key", None) else None
    return Simulator(
        seed=args.seed,
        rate=args.rate,
        markets=args.markets,
        host=args.host,
        port=args.port,
        public_key=public,
        key_id=key_id_for(public) if public is not None else None,
        faults=specs,
    )


def _banner(sim: Simulator, args: argparse.Namespace) -> str:
    lines = [
        f"kalshi-tui sim: a local Kalshi exchange (seed {sim.seed}, {len(sim.tickers)} markets, "
        f"{sim.rate:g} events/s)",
        f"  WebSocket  {sim.ws_url}",
        f"  REST       {sim.rest_url}",
        f"  key id     {sim.key_id}",
    ]
    if sim.key_path is not None:
        lines.append(f"  key file   {sim.key_path}  (throwaway: deleted when the simulator stops)")
        lines.append(
            f"try: kalshi-tui tail --ws-url {sim.ws_url} --rest-url {sim.rest_url} "
            f"--key-id {sim.key_id} --key-file {sim.key_path} "
            f"--markets {','.join(sim.tickers[:3])}"
        )
    else:
        lines.append(f"  sign with the private key that matches {args.public_key}")
    if getattr(args, "fault", None):
        lines.append(f"  faults     {' '.join(args.fault)}")
    lines.append("SIGUSR1 pauses the market (the socket stays up), SIGUSR2 resumes it.")
    lines.append("Ctrl-C to stop.")
    return "\n".join(lines)


async def _serve(sim: Simulator, args: argparse.Namespace) -> None:
    try:
        await sim.start()
    except OSError as exc:
        await sim.stop()
        if exc.errno == errno.EADDRINUSE:
            raise UserError(
                f"port {args.port} on {args.host} is already in use: pick another "
                "with --port (0 picks a free one)"
            ) from None
        raise UserError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    print(_banner(sim, args), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def market(paused: bool) -> None:
        # A quiet market, not a dead exchange: commands and pings are still answered.
        (sim.pause if paused else sim.resume)()
        print("market paused" if paused else "market resumed", flush=True)

    handlers = {signal.SIGINT: stop.set, signal.SIGTERM: stop.set}
    if hasattr(signal, "SIGUSR1"):  # not on Windows
        handlers[signal.SIGUSR1] = lambda: market(True)
        handlers[signal.SIGUSR2] = lambda: market(False)
    for sig, handler in handlers.items():
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: Ctrl-C raises
            loop.add_signal_handler(sig, handler)
    try:
        await stop.wait()
    finally:
        await sim.stop()


def run(args: argparse.Namespace) -> int:
    sim = build(args)
    try:
        asyncio.run(_serve(sim, args))
    except KeyboardInterrupt:
        pass
    finally:
        sim.discard_key()
    print("simulator stopped", file=sys.stderr, flush=True)
    return 0
