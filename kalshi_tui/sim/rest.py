"""The REST subset a monitor uses, served on the WebSocket's port, in Kalshi's current shapes.

Public: markets (list, one, order book, trades), events and their metadata, series,
candlesticks (one market, or a batch), exchange status and schedule. Signed: balance,
positions, fills, settlements, resting orders, user_data_timestamp. Candles come from eight
days of seeded history before start-up (made per market on first request, ``history``)
joined to the live market after it.

websockets hands ``process_request`` a parsed ``Request``; answering it with a ``Response``
ends the connection after the reply (``Connection: close``), which plain HTTP clients
handle. Everything is read from the same engine the WebSocket streams, so the two agree.
Signed endpoints check the same headers as the handshake, over ``METHOD + path`` without
the query string.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from kalshi_tui.numbers import MONEY_SCALE, ONE_DOLLAR, format_money, format_price, format_size
from kalshi_tui.sim import frames
from kalshi_tui.sim.account import UserOrder
from kalshi_tui.sim.engine import Engine, ExchangeMarket
from kalshi_tui.sim.history import (
    MAX_CANDLES,
    MINUTES,
    PERIODS,
    Histories,
    History,
    Live,
    candle,
    period_ends,
)
from kalshi_tui.sim.universe import SERIES, STATUS_FILTERS, Market

REST_PREFIX = "/trade-api/v2"
MAX_LIMIT = 1000
MAX_BATCH_MARKETS = 100  # tickers per batch candlestick request
CENT = MONEY_SCALE // 100


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def json_response(status: int, payload: Any) -> Response:
    body = frames.encode(payload)
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
        ]
    )
    return Response(status, HTTPStatus(status).phrase, headers, body)


def _iso_s(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cursor(offset: int, total: int) -> str:
    if offset >= total:
        return ""
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if text[:1] != "o" or not text[1:].isdigit():
            raise ValueError
        return int(text[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise HttpError(400, "invalid_parameters", "invalid cursor") from None


def _limit(query: dict[str, list[str]], default: int = 100) -> int:
    raw = query.get("limit", [str(default)])[-1]
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise HttpError(400, "invalid_parameters", f"limit must be 1 to {MAX_LIMIT}")
    return int(raw)


def _page(items: Sequence[Any], query: dict[str, list[str]], default: int = 100) -> tuple[Sequence[Any], str]:
    limit = _limit(query, default)
    start = _offset(query.get("cursor", [""])[-1])
    return items[start : start + limit], _cursor(start + limit, len(items))


class Exchange:
    """What /exchange/status and /exchange/schedule say: set from the simulator's API."""

    def __init__(self) -> None:
        self.trading_paused = False
        self.resume_at: int | None = None  # unix seconds, when trading is expected back
        self.maintenance: list[tuple[int, int]] = []  # (start, end) unix seconds

    def in_maintenance(self, now: float) -> tuple[int, int] | None:
        return next(((a, b) for a, b in self.maintenance if a <= now < b), None)


class Rest:
    """Routes ``GET /trade-api/v2/...`` to the engine's state."""

    def __init__(
        self,
        engine: Engine,
        authorized: Callable[[Headers, str, str], bool],
        trading: Callable[[], bool],
        *,
        exchange: Exchange | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.authorized = authorized
        self.trading = trading
        self.exchange = exchange or Exchange()
        self.clock = clock
        # The seeded history ends when the simulator starts, on a minute.
        self.histories = Histories(engine.seed, int(clock()) // 60 * 60)

    def handle(self, request: Request) -> Response:
        try:
            return json_response(200, self._route(request))
        except HttpError as exc:
            return json_response(exc.status, {"error": {"code": exc.code, "message": exc.message}})

    def _route(self, request: Request) -> Any:
        parts = urlsplit(request.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        rest = path[len(REST_PREFIX) :].rstrip("/")
        segs = rest.split("/")[1:]
        if segs and segs[0] == "exchange":
            if segs == ["exchange", "status"]:
                return self._status()
            if segs == ["exchange", "schedule"]:
                return self._schedule()
            if segs == ["exchange", "user_data_timestamp"]:
                return self._signed(request, parts.path, self._user_data_timestamp)
        if segs == ["markets"]:
            return self._markets(query)
        if segs == ["markets", "trades"]:
            return self._trades(query)
        if segs == ["markets", "candlesticks"]:
            return self._batch_candles(query)
        if len(segs) == 2 and segs[0] == "markets":
            return {"market": self.market(self._state(segs[1]))}
        if len(segs) == 3 and segs[0] == "markets" and segs[2] == "orderbook":
            return self._orderbook(self._state(segs[1]), query)
        if len(segs) == 5 and segs[0] == "series" and segs[2] == "markets" and segs[4] == "candlesticks":
            st = self._state(segs[3])
            if st.market.series_ticker != segs[1]:
                raise HttpError(404, "not_found", f"market {segs[3]} is not in series {segs[1]}")
            return {"ticker": segs[3], "candlesticks": self._candles([st], query)[0]}
        if len(segs) == 2 and segs[0] == "series":
            return {"series": self._series(segs[1])}
        if len(segs) == 2 and segs[0] == "events":
            return {"event": self._event(segs[1], query)}
        if len(segs) == 3 and segs[0] == "events" and segs[2] == "metadata":
            return self._event_metadata(segs[1])
        if segs and segs[0] == "portfolio":
            if segs == ["portfolio", "balance"]:
                return self._signed(request, parts.path, self._balance)
            if segs == ["portfolio", "positions"]:
                return self._signed(request, parts.path, lambda: self._positions(query))
            if segs == ["portfolio", "fills"]:
                return self._signed(request, parts.path, lambda: self._fills(query))
            if segs == ["portfolio", "settlements"]:
                return self._signed(request, parts.path, lambda: self._settlements(query))
            if segs == ["portfolio", "orders"]:
                return self._signed(request, parts.path, lambda: self._orders(query))
        raise HttpError(404, "not_found", f"no such endpoint: {path}")

    def _signed(self, request: Request, path: str, answer: Callable[[], Any]) -> Any:
        if not self.authorized(request.headers, "GET", path):
            raise HttpError(401, "authentication_error", "missing or invalid signature")
        return answer()

    def _state(self, ticker: str) -> ExchangeMarket:
        st = self.engine.states.get(ticker)
        if st is None:
            raise HttpError(404, "not_found", f"market not found: {ticker}")
        return st

    # -- market data --------------------------------------------------------------------------

    def market(self, st: ExchangeMarket) -> dict[str, Any]:
        """A Market in the shape of Kalshi's current API (no ``series_ticker``: that is the
        event's; no legacy cent/count twins)."""
        m = st.market
        v = self.engine.ticker_values(m.ticker)
        day_ago = self._day_ago(st)
        settled = m.status in ("determined", "finalized") and m.result in ("yes", "no")
        out: dict[str, Any] = {
            "ticker": m.ticker,
            "event_ticker": m.event_ticker,
            "market_type": "binary",
            "title": m.title,
            "subtitle": m.subtitle,
            "yes_sub_title": m.yes_sub_title,
            "no_sub_title": m.no_sub_title,
            "created_time": _iso_s(m.created_ts),
            "updated_time": _iso_s(m.updated_ts or m.created_ts),
            "open_time": _iso_s(m.open_ts),
            "close_time": _iso_s(m.close_ts),
            "expected_expiration_time": _iso_s(m.close_ts),
            "expiration_time": _iso_s(m.close_ts + 7 * 86_400),
            "latest_expiration_time": _iso_s(m.close_ts + 7 * 86_400),
            "settlement_timer_seconds": m.settlement_timer_seconds,
            "status": m.status,
            "yes_bid_dollars": format_price(v.yes_bid),
            "yes_ask_dollars": format_price(v.yes_ask),
            "no_bid_dollars": format_price(ONE_DOLLAR - v.yes_ask),
            "no_ask_dollars": format_price(ONE_DOLLAR - v.yes_bid),
            "yes_bid_size_fp": format_size(v.yes_bid_size),
            "yes_ask_size_fp": format_size(v.yes_ask_size),
            "last_price_dollars": format_price(v.last_price),
            "previous_yes_bid_dollars": format_price(day_ago[0]),
            "previous_yes_ask_dollars": format_price(day_ago[1]),
            "previous_price_dollars": format_price(day_ago[2]),
            "volume_fp": format_size(v.volume),
            "volume_24h_fp": format_size(day_ago[3]),
            "open_interest_fp": format_size(v.oi),
            "notional_value_dollars": "1.0000",
            "result": m.result,
            "can_close_early": True,
            "expiration_value": m.result if settled else "",
            "settlement_value_dollars": ("1.0000" if m.result == "yes" else "0.0000") if settled else None,
            "settlement_ts": _iso_s(m.updated_ts) if m.status == "finalized" and m.updated_ts else None,
            "settlement_bounds_type": "default",
            "early_close_condition": None,
            "rules_primary": m.rules_primary,
            "rules_secondary": m.rules_secondary,
            "price_level_structure": m.grid.structure,
            "price_ranges": [r.wire() for r in m.grid.ranges],
            "strike_type": m.strike_type,
            "exchange_index": 0,
        }
        if m.floor_strike is not None:
            out["floor_strike"] = m.floor_strike
        if m.cap_strike is not None:
            out["cap_strike"] = m.cap_strike
        return out

    def _history(self, st: ExchangeMarket) -> History:
        bid, ask, price, oi, _ = st.start
        return self.histories.get(st.market, bid, ask, price, oi)

    def _day_ago(self, st: ExchangeMarket) -> tuple[int, int, int, int]:
        """YES bid, YES ask and last price 24 h ago, and the volume since, from the seeded
        history before start-up and the live market after it."""
        h = self._history(st)
        then = int(self.clock()) - 86_400
        live_volume = st.volume - st.start[4]
        if then >= h.anchor:  # up for over a day: the live market is all there is to go on
            v = self.engine.ticker_values(st.market.ticker)
            return v.yes_bid, v.yes_ask, v.last_price, live_volume
        # The last bar that had ended by then (an hour's end at start-up: no minutes drawn).
        i = max(0, MINUTES - 1 - -(-(h.anchor - then) // 60))
        bid, ask, price = h.at(i)
        return bid, ask, price, h.volume_after(i) + live_volume

    # -- events, series, candles --------------------------------------------------------------

    def _event_markets(self, event_ticker: str) -> list[Market]:
        markets = self.engine.universe.event(event_ticker)
        if not markets:
            raise HttpError(404, "not_found", f"event not found: {event_ticker}")
        return markets

    @staticmethod
    def _sources(series: str) -> list[dict[str, str]]:
        info = SERIES.get(series)
        return [{"name": info.source[0], "url": info.source[1]}] if info else []

    def _event(self, event_ticker: str, query: dict[str, list[str]]) -> dict[str, Any]:
        markets = self._event_markets(event_ticker)
        m = markets[0]
        info = SERIES.get(m.series_ticker)
        exclusive = bool(info and info.mutually_exclusive)
        out: dict[str, Any] = {
            "event_ticker": event_ticker,
            "series_ticker": m.series_ticker,
            "title": m.title,
            "sub_title": m.subtitle,
            "mutually_exclusive": exclusive,
            "collateral_return_type": "MECNET" if exclusive else "",
            "settlement_sources": self._sources(m.series_ticker),
            "strike_date": _iso_s(max(x.close_ts for x in markets)),
        }
        if query.get("with_nested_markets", [""])[-1].lower() == "true":
            out["markets"] = [self.market(self.engine.states[x.ticker]) for x in markets]
        return out

    def _event_metadata(self, event_ticker: str) -> dict[str, Any]:
        markets = self._event_markets(event_ticker)
        series = markets[0].series_ticker
        palette = ("#0B6E4F", "#C84C09", "#2E86AB", "#A23B72", "#F18F01", "#3B1F2B", "#6A994E")
        return {
            "image_url": f"https://kalshi-public-docs.s3.amazonaws.com/series-images/{series}.webp",
            "settlement_sources": self._sources(series),
            "market_details": [
                {"market_ticker": x.ticker, "image_url": "", "color_code": palette[k % len(palette)]}
                for k, x in enumerate(markets)
            ],
            "competition": None,
        }

    def _series(self, ticker: str) -> dict[str, Any]:
        info = SERIES.get(ticker)
        if info is None:
            raise HttpError(404, "not_found", f"series not found: {ticker}")
        return {
            "ticker": ticker,
            "title": info.title,
            "frequency": info.frequency,
            "category": info.category,
            "tags": list(info.tags),
            "settlement_sources": self._sources(ticker),
            "contract_url": f"https://kalshi-public-docs.s3.amazonaws.com/regulatory/product-certifications/{ticker}.pdf",
            "fee_type": "quadratic",
            "fee_multiplier": 1,
        }

    def _candles(
        self, states: list[ExchangeMarket], query: dict[str, list[str]]
    ) -> list[list[dict[str, Any]]]:
        def whole(name: str) -> int:
            raw = query.get(name, [""])[-1]
            if not raw.lstrip("-").isdigit():
                raise HttpError(400, "invalid_parameters", f"{name} is required: a whole number")
            return int(raw)

        start, end, period = whole("start_ts"), whole("end_ts"), whole("period_interval")
        if period not in PERIODS:
            raise HttpError(400, "invalid_parameters", "period_interval must be 1, 60 or 1440")
        if end < start:
            raise HttpError(400, "invalid_parameters", "end_ts is before start_ts")
        now = int(self.clock())
        first = self.histories.anchor - 60 * MINUTES
        ends = period_ends(start, end, period, first, now)
        if len(ends) * len(states) > MAX_CANDLES:
            raise HttpError(400, "invalid_parameters", f"more than {MAX_CANDLES} candles asked for")
        out = []
        for st in states:
            h = self._history(st)
            v = self.engine.ticker_values(st.market.ticker)
            trades = [(t.yes_price, t.count, t.ts_ms // 1000) for t in st.trades]
            live = Live(v.yes_bid, v.yes_ask, v.oi, trades)
            out.append([_candle_wire(candle(h, live, e, period)) for e in ends])
        return out

    def _batch_candles(self, query: dict[str, list[str]]) -> dict[str, Any]:
        raw = query.get("market_tickers", [""])[-1]
        tickers = [t for t in raw.split(",") if t]
        if not tickers:
            raise HttpError(400, "invalid_parameters", "market_tickers is required")
        if len(tickers) > MAX_BATCH_MARKETS:
            raise HttpError(400, "invalid_parameters", f"at most {MAX_BATCH_MARKETS} market_tickers")
        states = [self._state(t) for t in tickers]
        candles = self._candles(states, query)
        return {
            "markets": [
                {"market_ticker": t, "candlesticks": c} for t, c in zip(tickers, candles, strict=True)
            ]
        }

    # -- the exchange -------------------------------------------------------------------------

    def _status(self) -> dict[str, Any]:
        now = self.clock()
        window = self.exchange.in_maintenance(now)
        resume = window[1] if window else (self.exchange.resume_at if self.exchange.trading_paused else None)
        return {
            "exchange_active": window is None,
            "trading_active": window is None and not self.exchange.trading_paused and self.trading(),
            "exchange_estimated_resume_time": _iso_s(resume) if resume else None,
        }

    def _schedule(self) -> dict[str, Any]:
        day = [{"open_time": "00:00", "close_time": "24:00"}]
        # Kalshi's weekly pause: Thursday 03:00 to 05:00 US Eastern.
        thursday = [
            {"open_time": "00:00", "close_time": "03:00"},
            {"open_time": "05:00", "close_time": "24:00"},
        ]
        days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        hours: dict[str, Any] = {
            "start_time": "2026-01-01T05:00:00Z",
            "end_time": "2030-01-01T05:00:00Z",
        }
        hours.update({d: (thursday if d == "thursday" else day) for d in days})
        return {
            "schedule": {
                "standard_hours": [hours],
                "maintenance_windows": [
                    {"start_datetime": _iso_s(a), "end_datetime": _iso_s(b)}
                    for a, b in sorted(self.exchange.maintenance)
                ],
            }
        }

    def _user_data_timestamp(self) -> dict[str, Any]:
        # The simulator's account numbers are current as of its last step.
        ts_ms = self.engine.ts_ms or int(self.clock() * 1000)
        return {"as_of_time": frames.iso(ts_ms)}

    def _markets(self, query: dict[str, list[str]]) -> dict[str, Any]:
        markets = list(self.engine.universe.markets.values())
        status = query.get("status", [""])[-1]
        if status:
            wanted: set[str] = set()
            for word in status.split(","):
                if word not in STATUS_FILTERS:
                    raise HttpError(400, "invalid_parameters", f"unknown status {word!r}")
                wanted |= STATUS_FILTERS[word]
            markets = [m for m in markets if m.status in wanted]
        if event := query.get("event_ticker", [""])[-1]:
            events = set(event.split(","))
            markets = [m for m in markets if m.event_ticker in events]
        if series := query.get("series_ticker", [""])[-1]:
            markets = [m for m in markets if m.series_ticker == series]
        if tickers := query.get("tickers", [""])[-1]:
            names = set(tickers.split(","))
            markets = [m for m in markets if m.ticker in names]
        page, cursor = _page(markets, query)
        return {"markets": [self.market(self.engine.states[m.ticker]) for m in page], "cursor": cursor}

    def _orderbook(self, st: ExchangeMarket, query: dict[str, list[str]]) -> dict[str, Any]:
        raw = query.get("depth", ["0"])[-1]
        if not raw.isdigit():
            raise HttpError(400, "invalid_parameters", "depth must be a whole number")
        depth = int(raw)

        def side(levels: dict[int, int]) -> list[list[str]]:
            best = sorted(levels.items(), reverse=True)
            if depth:
                best = best[:depth]
            # Ascending, best bid last, as the exchange documents.
            return [[format_price(p), format_size(s)] for p, s in reversed(best)]

        return {"orderbook_fp": {"yes_dollars": side(st.yes), "no_dollars": side(st.no)}}

    def _trades(self, query: dict[str, list[str]]) -> dict[str, Any]:
        ticker = query.get("ticker", [""])[-1]
        source = self._state(ticker).trades if ticker else self.engine.recent_trades
        trades = list(reversed(source))  # newest first
        page, cursor = _page(trades, query)
        return {
            "trades": [
                {
                    "trade_id": t.trade_id,
                    "ticker": t.ticker,
                    "yes_price_dollars": format_price(t.yes_price),
                    "no_price_dollars": format_price(t.no_price),
                    "count_fp": format_size(t.count),
                    "taker_side": t.taker_side,
                    "taker_outcome_side": t.taker_side,
                    # A YES taker bids in the YES book; a NO taker is selling YES: an ask.
                    "taker_book_side": "bid" if t.taker_side == "yes" else "ask",
                    "is_block_trade": False,
                    "created_time": frames.iso(t.ts_ms),
                    "ts": t.ts_ms // 1000,
                }
                for t in page
            ],
            "cursor": cursor,
        }

    # -- the demo account ---------------------------------------------------------------------

    def _balance(self) -> dict[str, Any]:
        engine = self.engine
        value = 0
        for pos in engine.positions.values():
            if pos.position:
                v = engine.ticker_values(pos.ticker)
                # Mark open contracts at what they would sell for now.
                bid = v.yes_bid if pos.position > 0 else ONE_DOLLAR - v.yes_ask
                value += abs(pos.position) * bid  # size x price: 1/1,000,000 dollar
        return {
            "balance": engine.balance // CENT,
            "balance_dollars": format_money(engine.balance),
            "portfolio_value": value // CENT,
            "updated_ts": engine.ts_ms // 1000,
        }

    def _positions(self, query: dict[str, list[str]]) -> dict[str, Any]:
        positions = [p for p in self.engine.positions.values() if p.position]
        if ticker := query.get("ticker", [""])[-1]:
            positions = [p for p in positions if p.ticker == ticker]
        page, cursor = _page(positions, query)
        events: dict[str, dict[str, int]] = {}
        for p in positions:
            ev = self.engine.states[p.ticker].market.event_ticker
            agg = events.setdefault(ev, {"exposure": 0, "pnl": 0, "fees": 0, "shares": 0})
            agg["shares"] += abs(p.position)
            agg["exposure"] += p.cost
            agg["pnl"] += p.realized_pnl
            agg["fees"] += p.fees
        return {
            "market_positions": [
                {
                    "ticker": p.ticker,
                    "position_fp": format_size(p.position),
                    "market_exposure_dollars": format_money(p.cost),
                    "realized_pnl_dollars": format_money(p.realized_pnl),
                    "fees_paid_dollars": format_money(p.fees),
                    "total_traded_dollars": format_money(p.cost),
                    "last_updated_ts": frames.iso(p.updated_ms),
                }
                for p in page
            ],
            "event_positions": [
                {
                    "event_ticker": ev,
                    "event_exposure_dollars": format_money(a["exposure"]),
                    "realized_pnl_dollars": format_money(a["pnl"]),
                    "fees_paid_dollars": format_money(a["fees"]),
                    "total_cost_dollars": format_money(a["exposure"]),
                    "total_cost_shares_fp": format_size(a["shares"]),
                }
                for ev, a in events.items()
            ],
            "cursor": cursor,
        }

    def _orders(self, query: dict[str, list[str]]) -> dict[str, Any]:
        orders = list(reversed(self.engine.orders.orders.values()))  # newest first
        if status := query.get("status", [""])[-1]:
            if status not in ("resting", "canceled", "executed"):
                raise HttpError(400, "invalid_parameters", f"unknown status {status!r}")
            orders = [o for o in orders if o.status == status]
        if ticker := query.get("ticker", [""])[-1]:
            orders = [o for o in orders if o.ticker == ticker]
        page, cursor = _page(orders, query)
        return {"orders": [_order_wire(o) for o in page], "cursor": cursor}

    def _settlements(self, query: dict[str, list[str]]) -> dict[str, Any]:
        settlements = list(reversed(self.engine.settlements))  # newest first
        if ticker := query.get("ticker", [""])[-1]:
            settlements = [x for x in settlements if x.ticker == ticker]
        for name, keep in (
            ("min_ts", lambda x, ts: x.settled_ts >= ts),
            ("max_ts", lambda x, ts: x.settled_ts <= ts),
        ):
            raw = query.get(name, [""])[-1]
            if raw:
                if not raw.isdigit():
                    raise HttpError(400, "invalid_parameters", f"{name} must be a Unix time")
                settlements = [x for x in settlements if keep(x, int(raw))]
        page, cursor = _page(settlements, query)
        return {
            "settlements": [
                {
                    "ticker": x.ticker,
                    "event_ticker": x.event_ticker,
                    "market_result": x.result,
                    "yes_count_fp": format_size(x.yes_count),
                    "no_count_fp": format_size(x.no_count),
                    "yes_total_cost_dollars": format_money(x.yes_cost),
                    "no_total_cost_dollars": format_money(x.no_cost),
                    "revenue": x.revenue // CENT,
                    "value": 100 if x.result == "yes" else 0,
                    "fee_cost": format_money(x.fees),
                    "settled_time": _iso_s(x.settled_ts),
                }
                for x in page
            ],
            "cursor": cursor,
        }

    def _fills(self, query: dict[str, list[str]]) -> dict[str, Any]:
        fills = list(reversed(self.engine.fills))  # newest first
        if ticker := query.get("ticker", [""])[-1]:
            fills = [f for f in fills if f.ticker == ticker]
        for name, keep in (
            ("min_ts", lambda f, ts: f.ts_ms // 1000 >= ts),
            ("max_ts", lambda f, ts: f.ts_ms // 1000 <= ts),
        ):
            raw = query.get(name, [""])[-1]
            if raw:
                if not raw.isdigit():
                    raise HttpError(400, "invalid_parameters", f"{name} must be a Unix time")
                fills = [f for f in fills if keep(f, int(raw))]
        page, cursor = _page(fills, query)
        return {
            "fills": [
                {
                    "fill_id": f.trade_id,
                    "trade_id": f.trade_id,
                    "order_id": f.order_id,
                    "ticker": f.ticker,
                    "outcome_side": f.side,
                    "book_side": f.book_side,
                    "count_fp": format_size(f.count),
                    "yes_price_dollars": format_price(f.yes_price),
                    "no_price_dollars": format_price(f.no_price),
                    "is_taker": f.is_taker,
                    "fee_cost": frames.fee_text(f.fee),
                    "created_time": frames.iso(f.ts_ms),
                }
                for f in page
            ],
            "cursor": cursor,
        }


def _ohlc_wire(v: dict[str, int | None], names: tuple[str, ...]) -> dict[str, str | None]:
    return {f"{n}_dollars": None if v[n] is None else format_price(v[n]) for n in names}  # type: ignore[arg-type]


def _candle_wire(c: dict[str, Any]) -> dict[str, Any]:
    book = ("open", "low", "high", "close")
    return {
        "end_period_ts": c["end_period_ts"],
        "yes_bid": _ohlc_wire(c["yes_bid"], book),
        "yes_ask": _ohlc_wire(c["yes_ask"], book),
        "price": _ohlc_wire(c["price"], (*book, "mean", "previous")),
        "volume_fp": format_size(c["volume"]),
        "open_interest_fp": format_size(c["open_interest"]),
    }


def _order_wire(o: UserOrder) -> dict[str, Any]:
    return {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "ticker": o.ticker,
        "outcome_side": o.side,
        "book_side": o.book_side,
        "type": "limit",
        "status": o.status,
        "yes_price_dollars": format_price(o.yes_price),
        "no_price_dollars": format_price(ONE_DOLLAR - o.yes_price),
        "fill_count_fp": format_size(o.filled),
        "remaining_count_fp": format_size(o.remaining),
        "initial_count_fp": format_size(o.initial),
        "taker_fees_dollars": format_money(0),
        "maker_fees_dollars": format_money(o.maker_fees),
        "created_time": frames.iso(o.created_ms),
        "expiration_time": None,
    }
