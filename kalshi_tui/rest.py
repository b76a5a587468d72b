"""The REST calls a dashboard needs: market metadata, exchange status, fills backfill.

Signed requests carry the same three headers as the WebSocket handshake, signed over
``timestamp + METHOD + path`` (path from /trade-api, no query string).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from kalshi_tui.account import (
    Account,
    Balance,
    RestingOrder,
    Settlement,
    balance_from_rest,
    iso_seconds,
    order_from_rest,
    settlement_from_rest,
)
from kalshi_tui.auth import Signer
from kalshi_tui.numbers import parse_price
from kalshi_tui.portfolio import Holding, holding_from_rest
from kalshi_tui.protocol import ProtocolError, decode_obj
from kalshi_tui.protocol import messages as m
from kalshi_tui.store import MarketMeta

PAGE_LIMIT = 1000
RETRIES_429 = 5
MAX_PAGES = 1000  # no listing the dashboard reads is near this long: more means a looping cursor


class RestError(Exception):
    """A REST call failed; the message is one line for the Connection tab."""


_T = TypeVar("_T")


class NotFound(RestError):
    """HTTP 404: on an endpoint, the server doesn't have it (an older exchange or simulator)."""


def _iso_to_ts(value: object) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def market_meta(raw: dict[str, Any]) -> MarketMeta:
    """A REST market object -> MarketMeta (unknown fields ignored, bad ranges dropped)."""
    ranges: list[tuple[int, int, int]] = []
    for r in raw.get("price_ranges") or ():
        try:
            ranges.append((parse_price(r["start"]), parse_price(r["end"]), parse_price(r["step"])))
        except (KeyError, TypeError, ValueError):
            ranges = []
            break
    return MarketMeta(
        ticker=str(raw.get("ticker", "")),
        title=str(raw.get("title") or ""),
        subtitle=str(raw.get("yes_sub_title") or raw.get("subtitle") or ""),
        event_ticker=str(raw.get("event_ticker") or ""),
        series_ticker=str(raw.get("series_ticker") or ""),
        status=str(raw.get("status") or ""),
        price_ranges=tuple(ranges),
        close_ts=_iso_to_ts(raw.get("close_time")),
    )


def fill_from_rest(raw: dict[str, Any]) -> m.Fill:
    """A REST fill, read through the same decoder as a live ``fill`` frame."""
    msg = dict(raw)
    msg.setdefault("market_ticker", raw.get("ticker"))
    if "ts_ms" not in msg:
        ts = raw.get("ts")
        created = _iso_to_ts(raw.get("created_time"))
        msg["ts_ms"] = ts * 1000 if isinstance(ts, int) else (created * 1000 if created else None)
    fill = decode_obj({"type": "fill", "msg": msg})
    if not isinstance(fill, m.Fill):
        raise ProtocolError("not a fill")
    fill.backfilled = True
    return fill


def _readable(read: Callable[[dict[str, Any]], _T], raws: list[dict[str, Any]]) -> list[_T]:
    """Each record read; one unreadable record must not hide the rest."""
    out: list[_T] = []
    for raw in raws:
        try:
            out.append(read(raw))
        except (ValueError, TypeError):
            continue
    return out


class RestClient:
    def __init__(self, base_url: str, signer: Signer | None = None, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._base_path = urlsplit(self.base_url).path
        self.signer = signer
        # The exchange's Date header on the last answer: ``check`` reads the clock offset from it.
        self.last_date: str | None = None
        self._client = httpx.AsyncClient(
            timeout=timeout, trust_env=False, headers={"User-Agent": "kalshi-tui"}
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _get(
        self, path: str, params: dict[str, Any] | None = None, *, signed: bool = False
    ) -> dict[str, Any]:
        headers = {}
        if signed:
            if self.signer is None:
                raise RestError(f"{path} needs an API key")
            headers = self.signer.headers("GET", self._base_path + path)
        delay = 0.5
        for _ in range(RETRIES_429):
            try:
                resp = await self._client.get(self.base_url + path, params=params, headers=headers)
            except httpx.HTTPError as exc:
                raise RestError(f"GET {path}: {exc.__class__.__name__}") from None
            if resp.status_code == 429:  # no Retry-After from Kalshi: back off ourselves
                await asyncio.sleep(delay)
                delay *= 2
                continue
            if resp.status_code == 404:
                raise NotFound(f"GET {path}: HTTP 404")
            if resp.status_code != 200:
                raise RestError(f"GET {path}: HTTP {resp.status_code}")
            self.last_date = resp.headers.get("Date")
            try:
                body = resp.json()
            except ValueError:
                raise RestError(f"GET {path}: response is not JSON") from None
            if not isinstance(body, dict):
                raise RestError(f"GET {path}: unexpected response shape")
            return body
        raise RestError(f"GET {path}: still rate limited after {RETRIES_429} tries")

    async def _pages(
        self, path: str, key: str, params: dict[str, Any], *, signed: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        """Follow ``cursor`` until it is empty, null or absent. A server that hands back a
        cursor it gave before, or more than ``MAX_PAGES`` pages, would be followed forever:
        stop with a RestError instead."""
        params = {k: v for k, v in params.items() if v is not None}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            body = await self._get(path, params, signed=signed)
            for item in body.get(key) or ():
                if isinstance(item, dict):
                    yield item
            cursor = body.get("cursor")
            if not cursor:
                return
            cursor = str(cursor)
            if cursor in seen:
                raise RestError(
                    f"GET {path}: the server sent a page cursor it had sent before; "
                    f"stopped after {len(seen) + 1} pages"
                )
            seen.add(cursor)
            params["cursor"] = cursor
        raise RestError(f"GET {path}: still more pages after {MAX_PAGES:,}; stopped there")

    async def records(
        self, path: str, key: str, params: dict[str, Any], *, signed: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        """Every record of a paged listing, as the exchange sent it (``export`` reads them):
        the pages are followed as ``_pages`` does, with its stop on a repeated cursor."""
        async for item in self._pages(path, key, params, signed=signed):
            yield item

    async def markets(
        self,
        tickers: list[str] | None = None,
        *,
        status: str | None = None,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
    ) -> list[MarketMeta]:
        params: dict[str, Any] = {
            "limit": PAGE_LIMIT,
            "status": status,
            "event_ticker": event_ticker,
            "series_ticker": series_ticker,
        }
        out: list[MarketMeta] = []
        # The tickers filter takes a comma list; keep each request's URL reasonably short.
        chunks = [tickers[i : i + 100] for i in range(0, len(tickers), 100)] if tickers else [None]
        for chunk in chunks:
            if chunk is not None:
                params["tickers"] = ",".join(chunk)
            async for raw in self._pages("/markets", "markets", params):
                out.append(market_meta(raw))
        return out

    async def exchange_status(self) -> dict[str, Any]:
        return await self._get("/exchange/status")

    async def fills(self, min_ts: int | None = None) -> list[m.Fill]:
        out: list[m.Fill] = []
        async for raw in self._pages(
            "/portfolio/fills", "fills", {"limit": 200, "min_ts": min_ts}, signed=True
        ):
            try:
                out.append(fill_from_rest(raw))
            except ProtocolError:
                continue  # one unreadable record must not hide the rest
        return out

    # -- the account (portfolio view) ---------------------------------------------------------

    async def balance(self) -> Balance:
        body = await self._get("/portfolio/balance", signed=True)
        try:
            return balance_from_rest(body)
        except ValueError as exc:
            raise RestError(f"GET /portfolio/balance: {exc}") from None

    async def positions(self) -> list[Holding]:
        """Open positions (REST's names, read into the same type as the socket's)."""
        raws = [
            raw
            async for raw in self._pages(
                "/portfolio/positions", "market_positions", {"limit": 1000}, signed=True
            )
        ]
        return _readable(holding_from_rest, raws)

    async def _optional_list(
        self, path: str, key: str, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]] | None:
        """Every item of a signed, paged endpoint; None when the server answers 404."""
        try:
            return [raw async for raw in self._pages(path, key, dict(params or {}), signed=True)]
        except NotFound:
            return None

    async def settlements(self) -> list[Settlement] | None:
        """Settled positions; None when the server has no such endpoint."""
        raws = await self._optional_list("/portfolio/settlements", "settlements", {"limit": 200})
        return None if raws is None else _readable(settlement_from_rest, raws)

    async def orders(self, status: str = "resting") -> list[RestingOrder] | None:
        """The account's orders (read-only); None when the server has no such endpoint."""
        raws = await self._optional_list("/portfolio/orders", "orders", {"status": status, "limit": 1000})
        return None if raws is None else _readable(order_from_rest, raws)

    async def user_data_timestamp(self) -> float | None:
        """How fresh the exchange's account numbers are (epoch s); None when not served."""
        try:
            body = await self._get("/exchange/user_data_timestamp", signed=True)
        except NotFound:
            return None
        return iso_seconds(body.get("as_of_time"))

    async def account(self, *, now: float) -> Account:
        """Balance, positions, settlements, resting orders and their as-of time, in one go.
        Raises RestError when balance or positions fail; the optional parts just go missing."""
        balance = await self.balance()
        holdings = await self.positions()
        settlements = await self.settlements()
        orders = await self.orders()
        as_of = await self.user_data_timestamp()
        return Account(
            balance=balance,
            holdings={h.ticker: h for h in holdings},
            settlements=settlements,
            orders=orders,
            as_of=as_of,
            fetched_at=now,
        )
