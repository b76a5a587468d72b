"""The REST subset a dashboard uses, served on the WebSocket's port.

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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from kalshi_tui.numbers import MONEY_SCALE, ONE_DOLLAR, format_money, format_price, format_size
from kalshi_tui.sim import frames
from kalshi_tui.sim.engine import Engine, ExchangeMarket
from kalshi_tui.sim.universe import STATUS_FILTERS

REST_PREFIX = "/trade-api/v2"
MAX_LIMIT = 1000


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


class Rest:
    """Routes ``GET /trade-api/v2/...`` to the engine's state."""

    def __init__(
        self, engine: Engine, authorized: Callable[[Headers, str, str], bool], trading: Callable[[], bool]
    ) -> None:
        self.engine = engine
        self.authorized = authorized
        self.trading = trading

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
        if segs == ["exchange", "status"]:
            return {
                "exchange_active": True,
                "trading_active": self.trading(),
                "exchange_estimated_resume_time": None,
            }
        if segs == ["markets"]:
            return self._markets(query)
        if segs == ["markets", "trades"]:
            return self._trades(query)
        if len(segs) == 2 and segs[0] == "markets":
            return {"market": self.market(self._state(segs[1]))}
        if len(segs) == 3 and segs[0] == "markets" and segs[2] == "orderbook":
            return self._orderbook(self._state(segs[1]), query)
        if segs and segs[0] == "portfolio":
            if not self.authorized(request.headers, "GET", parts.path):
                raise HttpError(401, "authentication_error", "missing or invalid signature")
            if segs == ["portfolio", "balance"]:
                return self._balance()
            if segs == ["portfolio", "positions"]:
                return self._positions(query)
            if segs == ["portfolio", "fills"]:
                return self._fills(query)
        raise HttpError(404, "not_found", f"no such endpoint: {path}")

    def _state(self, ticker: str) -> ExchangeMarket:
        st = self.engine.states.get(ticker)
        if st is None:
            raise HttpError(404, "not_found", f"market not found: {ticker}")
        return st

    # -- market data --------------------------------------------------------------------------

    def market(self, st: ExchangeMarket) -> dict[str, Any]:
        m = st.market
        v = self.engine.ticker_values(m.ticker)
        out: dict[str, Any] = {
            "ticker": m.ticker,
            "event_ticker": m.event_ticker,
            "series_ticker": m.series_ticker,
            "market_type": "binary",
            "title": m.title,
            "subtitle": m.subtitle,
            "yes_sub_title": m.yes_sub_title,
            "no_sub_title": m.no_sub_title,
            "open_time": _iso_s(m.open_ts),
            "close_time": _iso_s(m.close_ts),
            "expected_expiration_time": _iso_s(m.close_ts),
            "latest_expiration_time": _iso_s(m.close_ts + 7 * 86_400),
            "status": m.status,
            "result": m.result,
            "can_close_early": True,
            "yes_bid_dollars": format_price(v.yes_bid),
            "yes_ask_dollars": format_price(v.yes_ask),
            "no_bid_dollars": format_price(ONE_DOLLAR - v.yes_ask),
            "no_ask_dollars": format_price(ONE_DOLLAR - v.yes_bid),
            "yes_bid_size_fp": format_size(v.yes_bid_size),
            "yes_ask_size_fp": format_size(v.yes_ask_size),
            "last_price_dollars": format_price(v.last_price),
            "volume_fp": format_size(v.volume),
            "open_interest_fp": format_size(v.oi),
            "notional_value_dollars": "1.0000",
            "price_level_structure": m.grid.structure,
            "price_ranges": [r.wire() for r in m.grid.ranges],
            "rules_primary": m.rules_primary,
            "strike_type": m.strike_type,
        }
        if m.floor_strike is not None:
            out["floor_strike"] = m.floor_strike
        if m.cap_strike is not None:
            out["cap_strike"] = m.cap_strike
        return out

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
        cent = MONEY_SCALE // 100
        return {
            "balance": engine.balance // cent,
            "balance_dollars": format_money(engine.balance),
            "portfolio_value": value // cent,
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
            agg = events.setdefault(ev, {"exposure": 0, "pnl": 0, "fees": 0})
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
                    "resting_orders_count": 0,
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
                }
                for ev, a in events.items()
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
                    "client_order_id": f.client_order_id,
                    "ticker": f.ticker,
                    "market_ticker": f.ticker,
                    "side": f.side,
                    "action": f.action,
                    "count_fp": format_size(f.count),
                    "yes_price_dollars": format_price(f.yes_price),
                    "no_price_dollars": format_price(f.no_price),
                    "is_taker": f.is_taker,
                    "fee_cost": frames.fee_text(f.fee),
                    "created_time": frames.iso(f.ts_ms),
                    "ts": f.ts_ms // 1000,
                }
                for f in page
            ],
            "cursor": cursor,
        }
