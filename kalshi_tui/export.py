"""``kalshi-tui export``: your fills, positions, settlements, or a market's trades, from the
REST API (every page), as CSV with a header row or as JSON lines.

Numbers are exact decimal strings, read and written with the app's own fixed-point code:
prices with 4 decimals, contract counts with 2, money (costs, P&L, fees) with 6. Times are
UTC, ISO 8601 with milliseconds. Records come in the exchange's order (newest first).

Exit codes: 0 done (or the reader closed the pipe), 2 bad arguments or settings, 3 the
exchange refused the key, 4 the exchange could not be reached or answered with an error,
5 the output could not be written.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import json
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kalshi_tui import endpoint
from kalshi_tui.auth import Signer
from kalshi_tui.config import REST_SCHEMES, check_path_text, check_url_option, rest_url_for
from kalshi_tui.errors import AuthRejected, UserError
from kalshi_tui.numbers import (
    CENT,
    ONE_DOLLAR,
    PRICE_AS_MONEY,
    format_money,
    format_price,
    format_size,
    parse_money,
    parse_price,
    parse_size,
)
from kalshi_tui.output import STDOUT, OutputClosed, OutputFailed, Writer, retire_stdout
from kalshi_tui.protocol import ProtocolError
from kalshi_tui.rest import RestClient, RestError, fill_from_rest

EXIT_REST = 4
FORMATS = ("csv", "jsonl")
BATCH = 256  # rows per write: a reader that left is noticed within one batch
PAGE_SIZE = {"fills": 200, "positions": 1000, "settlements": 1000, "trades": 1000}

Row = dict[str, str]


class ExportFailed(UserError):
    """The exchange could not be reached, or answered with an error."""

    exit_code = EXIT_REST


class Unreadable(Exception):
    """One record could not be read: it is skipped and counted."""


# -- reading records -------------------------------------------------------------------------


def iso_ms(ts_ms: int) -> str:
    """Milliseconds since the epoch -> "2026-11-30T14:00:00.123Z"."""
    stamp = dt.datetime.fromtimestamp(ts_ms / 1000, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"


def _iso_to_ms(value: object) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return round(stamp.timestamp() * 1000)


def _need(raw: dict[str, Any], name: str, parse: Callable[[object], int]) -> int:
    value = raw.get(name)
    if value is None:
        raise Unreadable(f"no {name}")
    try:
        return parse(value)
    except (TypeError, ValueError):
        raise Unreadable(f"bad {name}") from None


def _maybe(raw: dict[str, Any], name: str, parse: Callable[[object], int], show: Callable[[int], str]) -> str:
    """An optional number: "" when the exchange left it out or sent null."""
    return "" if raw.get(name) is None else show(_need(raw, name, parse))


def _text(raw: dict[str, Any], name: str) -> str:
    value = raw.get(name)
    return "" if value is None else str(value)


def _when(ms: int | None) -> str:
    return "" if ms is None else iso_ms(ms)


def fill_row(raw: dict[str, Any]) -> tuple[int | None, Row]:
    """A REST fill, read by the same decoder the app's Fills tab gets its backfill from."""
    try:
        f = fill_from_rest(raw)
    except ProtocolError as exc:
        raise Unreadable(str(exc)) from None
    # The fill carries the YES price; a NO fill's own price is its complement (as the app shows).
    price = f.yes_price if f.side == "yes" else ONE_DOLLAR - f.yes_price
    # created_time has milliseconds where the decoder's ts_ms may only have seconds.
    ms = _iso_to_ms(raw.get("created_time")) or f.ts_ms
    return ms, {
        "time": _when(ms),
        "ticker": f.market_ticker,
        "side": f.side,
        "action": f.action,
        "price": format_price(price),
        "yes_price": format_price(f.yes_price),
        "count": format_size(f.count),
        "fee": format_money(f.fee),
        "is_taker": "true" if f.is_taker else "false",
        "trade_id": f.trade_id,
        "order_id": f.order_id,
    }


def position_row(raw: dict[str, Any]) -> tuple[int | None, Row]:
    ms = _iso_to_ms(raw.get("last_updated_ts"))
    return ms, {
        "ticker": _text(raw, "ticker"),
        "position": format_size(_need(raw, "position_fp", parse_size)),
        "market_exposure": _maybe(raw, "market_exposure_dollars", parse_money, format_money),
        "total_traded": _maybe(raw, "total_traded_dollars", parse_money, format_money),
        "realized_pnl": _maybe(raw, "realized_pnl_dollars", parse_money, format_money),
        "fees_paid": _maybe(raw, "fees_paid_dollars", parse_money, format_money),
        "last_updated": _when(ms),
    }


def trade_row(raw: dict[str, Any]) -> tuple[int | None, Row]:
    ms = _iso_to_ms(raw.get("created_time"))
    if ms is None and isinstance(raw.get("ts"), int):
        ms = raw["ts"] * 1000
    yes = _need(raw, "yes_price_dollars", parse_price)
    return ms, {
        "time": _when(ms),
        "ticker": _text(raw, "ticker"),
        "yes_price": format_price(yes),
        "no_price": format_price(ONE_DOLLAR - yes),
        "count": format_size(_need(raw, "count_fp", parse_size)),
        "taker_side": _text(raw, "taker_side"),
        "trade_id": _text(raw, "trade_id"),
    }


def _cents(value: object) -> int:
    """Integer cents (settlement revenue and value) -> money units."""
    if type(value) is not int:
        raise ValueError("not a whole number of cents")
    return value * CENT * PRICE_AS_MONEY


def settlement_row(raw: dict[str, Any]) -> tuple[int | None, Row]:
    ms = _iso_to_ms(raw.get("settled_time"))
    return ms, {
        "time": _when(ms),
        "ticker": _text(raw, "ticker"),
        "event_ticker": _text(raw, "event_ticker"),
        "result": _text(raw, "market_result"),
        "yes_count": _maybe(raw, "yes_count_fp", parse_size, format_size),
        "no_count": _maybe(raw, "no_count_fp", parse_size, format_size),
        "yes_total_cost": _maybe(raw, "yes_total_cost_dollars", parse_money, format_money),
        "no_total_cost": _maybe(raw, "no_total_cost_dollars", parse_money, format_money),
        "revenue": _maybe(raw, "revenue", _cents, format_money),
        "value": _maybe(raw, "value", _cents, format_money),
        "fee": _maybe(raw, "fee_cost", parse_money, format_money),
    }


@dataclass(frozen=True, slots=True)
class Kind:
    path: str
    key: str  # the list's name in the answer
    signed: bool
    columns: tuple[str, ...]
    row: Callable[[dict[str, Any]], tuple[int | None, Row]]
    server_since: bool  # the endpoint takes min_ts (filtering here too: a server may ignore it)


KINDS: dict[str, Kind] = {
    "fills": Kind(
        "/portfolio/fills",
        "fills",
        True,
        (
            "time",
            "ticker",
            "side",
            "action",
            "price",
            "yes_price",
            "count",
            "fee",
            "is_taker",
            "trade_id",
            "order_id",
        ),
        fill_row,
        True,
    ),
    "positions": Kind(
        "/portfolio/positions",
        "market_positions",
        True,
        (
            "ticker",
            "position",
            "market_exposure",
            "total_traded",
            "realized_pnl",
            "fees_paid",
            "last_updated",
        ),
        position_row,
        False,
    ),
    "settlements": Kind(
        "/portfolio/settlements",
        "settlements",
        True,
        (
            "time",
            "ticker",
            "event_ticker",
            "result",
            "yes_count",
            "no_count",
            "yes_total_cost",
            "no_total_cost",
            "revenue",
            "value",
            "fee",
        ),
        settlement_row,
        True,
    ),
    "trades": Kind(
        "/markets/trades",
        "trades",
        False,
        ("time", "ticker", "yes_price", "no_price", "count", "taker_side", "trade_id"),
        trade_row,
        True,
    ),
}


async def rows(
    rest: RestClient, kind: str, market: str | None, since_ms: int | None, skipped: list[str]
) -> AsyncIterator[Row]:
    """The kind's records as rows, every page; unreadable ones are named in ``skipped``."""
    spec = KINDS[kind]
    params: dict[str, Any] = {"limit": PAGE_SIZE[kind], "ticker": market}
    if since_ms is not None and spec.server_since:
        params["min_ts"] = since_ms // 1000
    async for raw in rest.records(spec.path, spec.key, params, signed=spec.signed):
        try:
            ms, row = spec.row(raw)
        except Unreadable as exc:
            skipped.append(str(exc))
            continue
        if since_ms is not None and ms is not None and ms < since_ms:
            continue
        if market is not None and row.get("ticker") not in ("", market):
            continue
        yield row


# -- writing ---------------------------------------------------------------------------------


def render(fmt: str, columns: tuple[str, ...], batch: list[Row], *, header: bool = False) -> bytes:
    if fmt == "jsonl":
        return "".join(json.dumps(r) + "\n" for r in batch).encode()
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    if header:
        out.writerow(columns)
    out.writerows([r[c] for c in columns] for r in batch)
    return buf.getvalue().encode()


async def export(
    rest: RestClient, kind: str, market: str | None, since_ms: int | None, fmt: str, writer: Writer
) -> int:
    """Write every row; returns how many. Raises OutputClosed when the reader left."""
    spec = KINDS[kind]
    skipped: list[str] = []
    written = 0
    header = fmt == "csv"  # written with the first rows: not at all if the first page fails
    batch: list[Row] = []
    try:
        async for row in rows(rest, kind, market, since_ms, skipped):
            batch.append(row)
            if len(batch) >= BATCH:
                await writer.write(render(fmt, spec.columns, batch, header=header))
                written += len(batch)
                batch, header = [], False
            elif writer.reader_gone():
                raise OutputClosed
        if batch or header:
            await writer.write(render(fmt, spec.columns, batch, header=header))
            written += len(batch)
    except RestError as exc:
        raise _rest_failure(kind, str(exc)) from None
    if skipped:
        print(
            f"kalshi-tui: skipped {len(skipped)} {kind} record(s) that could not be read "
            f"(first: {skipped[0]})",
            file=sys.stderr,
        )
    return written


def _rest_failure(kind: str, detail: str) -> UserError:
    if "HTTP 401" in detail or "HTTP 403" in detail:
        return AuthRejected(
            f"the exchange refused the key ({detail}): check the key id and key file "
            "(kalshi-tui check tells which)"
        )
    if "HTTP 404" in detail:
        return ExportFailed(f"this exchange does not serve {kind} ({detail})")
    return ExportFailed(f"could not export {kind}: {detail}")


# -- arguments -------------------------------------------------------------------------------


def parse_since(text: str | None) -> int | None:
    """--since as milliseconds since the epoch; zone-less times are UTC."""
    if text is None:
        return None
    try:
        stamp = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"--since {text!r} is not an ISO 8601 time: use e.g. 2026-11-30 or 2026-11-30T14:00:00Z"
        ) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return round(stamp.timestamp() * 1000)


def check_args(args: argparse.Namespace) -> tuple[str, str | None, int | None, str]:
    kinds = ", ".join(KINDS)
    kind = args.kind
    if kind is None:
        raise UserError(f"say what to export: one of {kinds}")
    if kind not in KINDS:
        raise UserError(f"cannot export {kind!r}: choose one of {kinds}")
    fmt = args.format.lower()
    if fmt not in FORMATS:
        raise UserError(f"--format {args.format!r} is not known: use csv or jsonl")
    market = args.market.strip().upper() if args.market and args.market.strip() else None
    if kind == "trades" and market is None:
        raise UserError("export trades needs --market TICKER: the exchange's trades are per market")
    return kind, market, parse_since(args.since), fmt


def _rest_target(args: argparse.Namespace, kind: str) -> tuple[str, Signer | None]:
    """The REST URL and key: --ws-url (REST beside it) or --rest-url with the key flags, else
    the profile."""
    if args.ws_url:
        ep = endpoint.resolve(args)
        url = ep.rest_url or rest_url_for(ep.ws_url)
        if url is None:
            raise UserError("no REST URL for this --ws-url: pass --rest-url too")
        return url, ep.signer
    if args.rest_url:
        check_url_option(
            args.rest_url, "--rest-url", REST_SCHEMES, "https://external-api.kalshi.com/trade-api/v2"
        )
        if args.key_id and args.key_file:
            check_path_text(args.key_file, "--key-file")
            return args.rest_url, endpoint.load_signer(args.key_id, Path(args.key_file).expanduser())
        if KINDS[kind].signed:
            raise UserError(f"exporting {kind} needs your key: pass --key-id and --key-file too")
        return args.rest_url, None
    ep = endpoint.resolve(args)
    if not ep.rest_url:
        raise UserError("the profile has no REST URL: set rest_url or pass --rest-url")
    return ep.rest_url, ep.signer


async def _main(
    url: str, signer: Signer | None, kind: str, market: str | None, since: int | None, fmt: str
) -> int:
    rest = RestClient(url, signer)
    writer = Writer(STDOUT)
    try:
        await export(rest, kind, market, since, fmt, writer)
    except OutputClosed:
        retire_stdout()
        return 0
    except OutputFailed:
        retire_stdout()
        raise
    finally:
        await rest.aclose()
    return 0


def run(args: argparse.Namespace) -> int:
    if sys.stdout is None:  # started with fd 1 closed: the next file opened would take its place
        raise OutputFailed("stdout is closed: there is nowhere to write the export")
    kind, market, since, fmt = check_args(args)
    url, signer = _rest_target(args, kind)
    return asyncio.run(_main(url, signer, kind, market, since, fmt))
