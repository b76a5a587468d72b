"""The REST calls a dashboard needs: market metadata and details, events, series, exchange
status, fills backfill; all through one budget (``RestClient``).

Signed requests carry the same three headers as the WebSocket handshake, signed over
``timestamp + METHOD + path`` (path from /trade-api, no query string).
"""

from __future__ import annotations

import asyncio
import time
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
from kalshi_tui.budget import (
    ACCOUNT,
    BACKGROUND,
    BASIC_READS_PER_SECOND,
    ON_SCREEN,
    WATCHLIST,
    Limiter,
    RestHealth,
    TtlCache,
    backoff,
    retry_after,
)
from kalshi_tui.candles import Candle, candles_from_rest
from kalshi_tui.details import MarketDetails, iso_ts, market_details, price_ranges
from kalshi_tui.numbers import parse_price, parse_size
from kalshi_tui.portfolio import Holding, holding_from_rest
from kalshi_tui.protocol import ProtocolError, decode_obj
from kalshi_tui.protocol import messages as m
from kalshi_tui.sparks import batch_closes
from kalshi_tui.store import MarketMeta

PAGE_LIMIT = 1000
RETRIES_429 = 5
MAX_PAGES = 1000  # no listing the dashboard reads is near this long: more means a looping cursor
BATCH_CANDLE_MARKETS = 100  # the batch candlestick endpoint's limit
METADATA_TTL = 3600.0  # s: events, their metadata and series change rarely


class RestError(Exception):
    """A REST call failed; the message is one line for the Connection tab."""


_T = TypeVar("_T")


class NotFound(RestError):
    """HTTP 404: on an endpoint, the server doesn't have it (an older exchange or simulator)."""


def market_meta(raw: dict[str, Any], series_ticker: str = "") -> MarketMeta:
    """A REST market object -> MarketMeta (unknown fields ignored, bad ranges dropped).

    Markets no longer carry ``series_ticker`` (it is the event's): pass it when known (a
    listing by series, or the event); an old-style market that has one still gives it."""
    return MarketMeta(
        ticker=str(raw.get("ticker", "")),
        title=str(raw.get("title") or ""),
        subtitle=str(raw.get("yes_sub_title") or raw.get("subtitle") or ""),
        event_ticker=str(raw.get("event_ticker") or ""),
        series_ticker=series_ticker or str(raw.get("series_ticker") or ""),
        status=str(raw.get("status") or ""),
        price_ranges=price_ranges(raw.get("price_ranges")),
        close_ts=iso_ts(raw.get("close_time")),
        previous_price=_number(parse_price, raw.get("previous_price_dollars")),
        open_interest=_number(parse_size, raw.get("open_interest_fp")),
    )


def _number(parse: Callable[[object], int], value: object) -> int | None:
    """An optional exact number: None when absent or unreadable."""
    if value is None:
        return None
    try:
        return parse(value)
    except (TypeError, ValueError):
        return None


def fill_from_rest(raw: dict[str, Any]) -> m.Fill:
    """A REST fill, read through the same decoder as a live ``fill`` frame."""
    msg = dict(raw)
    msg.setdefault("market_ticker", raw.get("ticker"))
    if "ts_ms" not in msg:
        ts = raw.get("ts")
        created = iso_ts(raw.get("created_time"))
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
    """Every REST call goes through here: one budget (``reads_per_second``, Kalshi's Basic
    tier by default) shared by all callers, served by priority when it is short (``budget``:
    what is on screen first), a wait on 429 as long as ``Retry-After`` says (else doubling),
    and a cache for answers that rarely change (events, their metadata, series). ``health``
    is what the Connection tab shows; the client is its one writer."""

    def __init__(
        self,
        base_url: str,
        signer: Signer | None = None,
        *,
        timeout: float = 10.0,
        reads_per_second: float = BASIC_READS_PER_SECOND,
        metadata_ttl: float = METADATA_TTL,
        health: RestHealth | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._base_path = urlsplit(self.base_url).path
        self.signer = signer
        # The exchange's Date header on the last answer: ``check`` reads the clock offset from it.
        self.last_date: str | None = None
        self._client = httpx.AsyncClient(
            timeout=timeout, trust_env=False, headers={"User-Agent": "kalshi-tui"}
        )
        self.health = health if health is not None else RestHealth()
        self.health.limit = reads_per_second
        self._clock = clock
        self._wall_clock = wall_clock
        # One token a request; a second's worth may go at once.
        self._limiter: Limiter[asyncio.Future[None]] = Limiter(reads_per_second)
        self._timer: asyncio.TimerHandle | None = None
        self._cache: TtlCache[dict[str, Any]] = TtlCache(metadata_ttl)
        self._inflight: dict[str, asyncio.Task[dict[str, Any]]] = {}

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        await self._client.aclose()

    # -- the budget ------------------------------------------------------------------------

    async def _acquire(self, priority: int) -> None:
        """Wait for a token; higher ``priority`` goes first when several wait."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._limiter.push(fut, priority)
        self._pump()
        try:
            await fut
        except asyncio.CancelledError:
            self._limiter.remove(fut)
            self.health.queued = len(self._limiter)
            raise

    def _pump(self) -> None:
        """Let go every waiter the budget allows now; come back when the next one may go."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = self._clock()
        for fut in self._limiter.pop_ready(now):
            if not fut.done():
                fut.set_result(None)
        self.health.queued = len(self._limiter)
        wait = self._limiter.next_in(now)
        if wait is not None:
            self._timer = asyncio.get_running_loop().call_later(max(wait, 0.001), self._pump)

    async def _get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        signed: bool = False,
        priority: int = ACCOUNT,
    ) -> dict[str, Any]:
        try:
            return await self._send(path, params, signed, priority)
        except RestError as exc:
            self.health.record_error(str(exc), self._wall_clock())
            raise

    async def _send(
        self, path: str, params: dict[str, Any] | None, signed: bool, priority: int
    ) -> dict[str, Any]:
        if signed and self.signer is None:
            raise RestError(f"{path} needs an API key")
        for attempt in range(RETRIES_429):
            await self._acquire(priority)
            # Signed after the wait: the signature's timestamp must be fresh when it is sent.
            headers = self.signer.headers("GET", self._base_path + path) if signed and self.signer else {}
            self.health.record_request(path, self._clock())
            try:
                resp = await self._client.get(self.base_url + path, params=params, headers=headers)
            except httpx.HTTPError as exc:
                raise RestError(f"GET {path}: {exc.__class__.__name__}") from None
            if resp.status_code == 429:
                wait = retry_after(resp.headers.get("Retry-After"), self._wall_clock())
                if wait is None:
                    wait = backoff(attempt)
                # The limit is the account's: every caller waits, not only this one.
                self._limiter.hold(self._clock() + wait)
                self.health.rate_limited += 1
                self.health.last_wait = wait
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

    async def _cached(self, path: str, priority: int) -> dict[str, Any]:
        """A GET whose answer rarely changes: from the cache while it is fresh, and one
        request for callers asking for the same thing at once."""
        hit = self._cache.get(path, self._clock())
        if hit is not None:
            self.health.cache_hits += 1
            return hit
        task = self._inflight.get(path)
        if task is None:
            self.health.cache_misses += 1
            task = self._inflight[path] = asyncio.ensure_future(self._get(path, priority=priority))
            task.add_done_callback(lambda t: self._settle(path, t))
        else:
            self.health.cache_hits += 1
        return await asyncio.shield(task)

    def _settle(self, path: str, task: asyncio.Task[dict[str, Any]]) -> None:
        self._inflight.pop(path, None)
        if task.cancelled():
            return
        if task.exception() is None:  # also marks a failure as seen when nobody waits any more
            self._cache.put(path, task.result(), self._clock())

    async def _pages(
        self,
        path: str,
        key: str,
        params: dict[str, Any],
        *,
        signed: bool = False,
        priority: int = ACCOUNT,
    ) -> AsyncIterator[dict[str, Any]]:
        """Follow ``cursor`` until it is empty, null or absent. A server that hands back a
        cursor it gave before, or more than ``MAX_PAGES`` pages, would be followed forever:
        stop with a RestError instead."""
        params = {k: v for k, v in params.items() if v is not None}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            body = await self._get(path, params, signed=signed, priority=priority)
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
        priority: int = WATCHLIST,
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
            async for raw in self._pages("/markets", "markets", params, priority=priority):
                out.append(market_meta(raw, series_ticker or ""))
        return out

    async def market(self, ticker: str, *, priority: int = ON_SCREEN) -> dict[str, Any]:
        """``GET /markets/{ticker}``'s market, fresh (its prices and volumes move)."""
        body = await self._get(f"/markets/{ticker}", priority=priority)
        market = body.get("market")
        if not isinstance(market, dict):
            raise RestError(f"GET /markets/{ticker}: no market in the answer")
        return market

    async def event(self, event_ticker: str, *, priority: int = WATCHLIST) -> dict[str, Any]:
        """``GET /events/{event_ticker}``'s event (cached)."""
        body = await self._cached(f"/events/{event_ticker}", priority)
        event = body.get("event")
        return event if isinstance(event, dict) else {}

    async def event_metadata(self, event_ticker: str, *, priority: int = WATCHLIST) -> dict[str, Any]:
        """``GET /events/{event_ticker}/metadata`` (cached): settlement sources, images."""
        return await self._cached(f"/events/{event_ticker}/metadata", priority)

    async def series(self, series_ticker: str, *, priority: int = WATCHLIST) -> dict[str, Any]:
        """``GET /series/{series_ticker}``'s series (cached)."""
        body = await self._cached(f"/series/{series_ticker}", priority)
        series = body.get("series")
        return series if isinstance(series, dict) else {}

    async def series_ticker(self, event_ticker: str, *, priority: int = WATCHLIST) -> str:
        """The series an event belongs to (Market objects no longer say), from the event."""
        return str((await self.event(event_ticker, priority=priority)).get("series_ticker") or "")

    async def candlesticks(
        self,
        series_ticker: str,
        ticker: str,
        start_ts: int,
        end_ts: int,
        period: int,
        *,
        priority: int = ON_SCREEN,
    ) -> list[Candle]:
        """One market's candles (``period`` minutes: 1, 60 or 1440), oldest first."""
        body = await self._get(
            f"/series/{series_ticker}/markets/{ticker}/candlesticks",
            {"start_ts": start_ts, "end_ts": end_ts, "period_interval": period},
            priority=priority,
        )
        raws = body.get("candlesticks")
        if not isinstance(raws, list):
            raise RestError(f"candles of {ticker}: unexpected response shape")
        try:
            return candles_from_rest(r for r in raws if isinstance(r, dict))
        except (KeyError, TypeError, ValueError) as exc:
            raise RestError(f"candles of {ticker}: unreadable candle ({exc})") from None

    async def market_details(self, ticker: str, *, priority: int = ON_SCREEN) -> MarketDetails:
        """What the details view shows: the market (fresh), its event and the event's
        metadata (both cached). A failed event or metadata call leaves those parts empty
        rather than hiding the market; the failure is on the Connection tab."""
        market = await self.market(ticker, priority=priority)
        event: dict[str, Any] | None = None
        metadata: dict[str, Any] | None = None
        event_ticker = str(market.get("event_ticker") or "")
        if event_ticker:
            got = await asyncio.gather(
                self.event(event_ticker, priority=priority),
                self.event_metadata(event_ticker, priority=priority),
                return_exceptions=True,
            )
            for answer in got:
                if isinstance(answer, BaseException) and not isinstance(answer, RestError):
                    raise answer
            event = got[0] if isinstance(got[0], dict) else None
            metadata = got[1] if isinstance(got[1], dict) else None
        return market_details(market, event, metadata, fetched_at=self._clock())

    async def candle_closes(
        self,
        tickers: list[str],
        start_ts: int,
        end_ts: int,
        *,
        period: int = 60,
        priority: int = BACKGROUND,
    ) -> dict[str, list[tuple[int, int | None]]]:
        """Each market's candle closes from the batch endpoint, ``BATCH_CANDLE_MARKETS`` a call."""
        out: dict[str, list[tuple[int, int | None]]] = {}
        for i in range(0, len(tickers), BATCH_CANDLE_MARKETS):
            params = {
                "market_tickers": ",".join(tickers[i : i + BATCH_CANDLE_MARKETS]),
                "start_ts": start_ts,
                "end_ts": end_ts,
                "period_interval": period,
            }
            out.update(batch_closes(await self._get("/markets/candlesticks", params, priority=priority)))
        return out

    async def exchange_status(self, *, priority: int = BACKGROUND) -> dict[str, Any]:
        return await self._get("/exchange/status", priority=priority)

    async def exchange_schedule(self, *, priority: int = BACKGROUND) -> dict[str, Any]:
        """``GET /exchange/schedule``: standard hours and maintenance windows."""
        return await self._get("/exchange/schedule", priority=priority)

    async def orderbook(self, ticker: str, *, priority: int = BACKGROUND) -> dict[str, Any]:
        """``GET /markets/{ticker}/orderbook``, every level (the feed audit compares it whole)."""
        return await self._get(f"/markets/{ticker}/orderbook", priority=priority)

    async def fills(self, min_ts: int | None = None, *, priority: int = ACCOUNT) -> list[m.Fill]:
        out: list[m.Fill] = []
        async for raw in self._pages(
            "/portfolio/fills", "fills", {"limit": 200, "min_ts": min_ts}, signed=True, priority=priority
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
