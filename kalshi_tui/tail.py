"""``kalshi-tui tail``: the live stream as JSON lines, for scripts and for testing.

One object per event, with the wire type, the market and the decoded fields as the
exchange's dollar/size strings. Output goes through a bounded buffer and a writer thread,
so a slow pipe never stalls reading the socket.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from typing import Any

import msgspec

from kalshi_tui import endpoint
from kalshi_tui.errors import UserError
from kalshi_tui.numbers import format_money, format_price, format_size
from kalshi_tui.protocol import commands
from kalshi_tui.protocol import messages as m
from kalshi_tui.store import Store
from kalshi_tui.stream import EventBuffer, Pool

_PRICE_FIELDS = {
    "price",
    "yes_bid",
    "yes_ask",
    "yes_price",
    "no_price",
}
_MONEY_FIELDS = {"fee", "position_cost", "realized_pnl", "fees_paid"}
_SIZE_FIELDS = {
    "delta",
    "yes_bid_size",
    "yes_ask_size",
    "volume",
    "open_interest",
    "count",
    "post_position",
    "position",
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


def _write(lines: list[str]) -> None:
    sys.stdout.write("".join(lines))
    sys.stdout.flush()


async def tail(
    ep: endpoint.Endpoint,
    markets: list[str],
    channels: list[str],
    *,
    count: int | None,
    duration: float | None,
    books_out: str | None,
) -> int:
    store = Store()
    buffer = EventBuffer(ep.settings.buffer_size)
    rest = None
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
    )
    runner = asyncio.create_task(pool.run())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)

    async def pump() -> None:
        printed = 0
        while count is None or printed < count:
            lines = [json.dumps(event_json(await buffer.get())) + "\n"]
            while len(lines) < 512 and (count is None or printed + len(lines) < count):
                nxt = buffer.get_nowait()
                if nxt is None:
                    break
                lines.append(json.dumps(event_json(nxt)) + "\n")
            printed += len(lines)
            await asyncio.to_thread(_write, lines)
        stop.set()

    printer = asyncio.create_task(pump())
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        printer.cancel()
        await pool.close()
        runner.cancel()
        if rest is not None:
            await rest.aclose()
    if runner.done() and not runner.cancelled() and runner.exception() is not None:
        raise runner.exception()  # type: ignore[misc]
    if books_out:
        with open(books_out, "w", encoding="utf-8") as fh:
            json.dump(books_json(store), fh, indent=1)
    if buffer.conflated:
        print(f"kalshi-tui: merged {buffer.conflated} updates while output was slow", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    ep = endpoint.resolve(args)
    markets = [t.strip() for t in args.markets.split(",") if t.strip()] if args.markets else ep.markets
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    known = set(commands.PUBLIC_CHANNELS) | set(commands.PRIVATE_CHANNELS)
    unknown = [c for c in channels if c not in known]
    if unknown:
        raise UserError(f"unknown channel {unknown[0]!r}: use some of {', '.join(sorted(known))}")
    if not markets and any(c in commands.MARKET_CHANNELS for c in channels):
        raise UserError("no markets: pass --markets A,B or add a watchlist to the profile")
    if args.count is not None and args.count <= 0:
        raise UserError("--count must be a positive number")
    return asyncio.run(
        tail(ep, markets, channels, count=args.count, duration=args.duration, books_out=args.books_out)
    )
