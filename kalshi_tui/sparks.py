"""Sparklines: each watched market's last 24 hours as hourly closing prices, loaded from
REST's 1-hour candles and extended live from trades, drawn with block characters.

Pure: candles and trades in, a string out. Every hour is keyed by the unix second its
candle ends on (``end_period_ts`` is inclusive), so a trade at 14:00:00 belongs to the
candle ending 14:00 and one at 14:00:01 to the candle ending 15:00.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Reversible
from typing import Any

from kalshi_tui.numbers import parse_price
from kalshi_tui.protocol import messages as m

HOUR = 3600
HOURS = 24  # buckets kept and drawn per market
BLOCKS = "▁▂▃▄▅▆▇█"
EMPTY = " "  # an hour before anything is known
MISSING = -1  # an hour with no price held


def hour_end(ts: int) -> int:
    """The end of the hourly candle holding unix second ``ts``."""
    return -(-ts // HOUR) * HOUR


def candle_closes(candles: object) -> list[tuple[int, int | None]]:
    """A REST candle list -> [(end_period_ts, closing trade price or None: no trade)]."""
    out: list[tuple[int, int | None]] = []
    for c in candles if isinstance(candles, list) else ():
        if not isinstance(c, dict) or not isinstance(c.get("end_period_ts"), int):
            continue
        price = c.get("price")
        close: int | None = None
        if isinstance(price, dict):
            # With no trade in the hour, ``previous_dollars`` is the last price before it.
            for key in ("close_dollars", "previous_dollars"):
                if price.get(key) is not None:
                    try:
                        close = parse_price(price[key])
                    except (TypeError, ValueError):
                        continue
                    break
        out.append((c["end_period_ts"], close))
    return out


def batch_closes(body: dict[str, Any]) -> dict[str, list[tuple[int, int | None]]]:
    """``GET /markets/candlesticks``'s answer -> ticker -> its candles' closes."""
    out: dict[str, list[tuple[int, int | None]]] = {}
    for market in body.get("markets") or ():
        if isinstance(market, dict) and isinstance(market.get("market_ticker"), str):
            out[market["market_ticker"]] = candle_closes(market.get("candlesticks"))
    return out


def scale(values: list[int | None]) -> str:
    """One block per value, lowest to highest of those present; a flat line sits in the middle."""
    present = [v for v in values if v is not None]
    if not present:
        return EMPTY * len(values)
    lo, hi = min(present), max(present)
    top = len(BLOCKS) - 1
    if hi == lo:
        return "".join(EMPTY if v is None else BLOCKS[top // 2] for v in values)
    return "".join(EMPTY if v is None else BLOCKS[(v - lo) * top // (hi - lo)] for v in values)


class HourCloses:
    """One market's closing price per hour for the newest ``HOURS`` hours held, in a flat
    array (about 100 bytes a market: 5,000 markets' sparklines cost well under a megabyte),
    plus the last price before them, so the oldest hours shown can carry it."""

    __slots__ = ("before", "before_end", "newest", "prices")

    def __init__(self) -> None:
        self.newest = 0  # end of the newest hour held; 0: nothing yet
        self.prices = array("q", [MISSING]) * HOURS  # [HOURS - 1] is the newest hour
        self.before = MISSING  # the newest price older than the hours held
        self.before_end = 0

    def _index(self, end: int) -> int:
        return HOURS - 1 - (self.newest - end) // HOUR

    def set(self, end: int, price: int) -> None:
        if not self.newest:
            self.newest = end
        elif end > self.newest:
            steps = (end - self.newest) // HOUR
            gone = self.prices[: min(steps, HOURS)]
            for j in range(len(gone) - 1, -1, -1):
                if gone[j] != MISSING:
                    self._set_before(self.newest - (HOURS - 1 - j) * HOUR, gone[j])
                    break
            self.prices = self.prices[steps:] + array("q", [MISSING]) * min(steps, HOURS)
            self.newest = end
        i = self._index(end)
        if i >= 0:
            self.prices[i] = price
        else:
            self._set_before(end, price)

    def _set_before(self, end: int, price: int) -> None:
        if end >= self.before_end:
            self.before, self.before_end = price, end

    @property
    def closes(self) -> dict[int, int]:
        """Hour end -> close, for every hour known (the one before the window included)."""
        out = {self.before_end: self.before} if self.before != MISSING else {}
        for i, price in enumerate(self.prices):
            if price != MISSING:
                out[self.newest - (HOURS - 1 - i) * HOUR] = price
        return out

    def values(self, now: int) -> list[int | None]:
        """The last ``HOURS`` hours up to the one holding ``now``; an hour without a trade
        keeps the price before it (the price did not move)."""
        newest = hour_end(now)
        first = newest - (HOURS - 1) * HOUR
        closes = self.closes
        before = [e for e in closes if e < first]
        last = closes[max(before)] if before else None
        out: list[int | None] = []
        for end in range(first, newest + HOUR, HOUR):
            last = closes.get(end, last)
            out.append(last)
        return out


class Sparks:
    """Every watched market's hours. ``version`` moves when history is loaded, so a pane
    knows to redraw rows nothing else changed."""

    def __init__(self) -> None:
        self.markets: dict[str, HourCloses] = {}
        self.loaded: set[str] = set()  # tickers whose candles came (possibly none)
        self.version = 0
        self._last_trade: m.Trade | None = None

    def load(self, ticker: str, closes: Iterable[tuple[int, int | None]]) -> None:
        """Candles from REST. A trade seen live meanwhile is newer: it stays."""
        hours = self.markets.setdefault(ticker, HourCloses())
        live = dict(hours.closes)
        for end, close in sorted(closes):
            if close is not None and end not in live:
                hours.set(end, close)
        self.loaded.add(ticker)
        self.version += 1

    def add_trade(self, ticker: str, price: int, ts: int) -> None:
        self.markets.setdefault(ticker, HourCloses()).set(hour_end(ts), price)

    def absorb(self, trades: Reversible[m.Trade], watched: set[str]) -> None:
        """The trades (oldest first, e.g. the Store's ring) not seen yet, for watched markets."""
        fresh: list[m.Trade] = []
        for tr in reversed(trades):
            if tr is self._last_trade:
                break
            fresh.append(tr)
        if not fresh:
            return
        self._last_trade = fresh[0]
        for tr in reversed(fresh):
            if tr.market_ticker in watched and tr.ts_ms is not None:
                self.add_trade(tr.market_ticker, tr.yes_price, tr.ts_ms // 1000)

    def forget(self, ticker: str) -> None:
        self.markets.pop(ticker, None)
        self.loaded.discard(ticker)

    def values(self, ticker: str, now: int) -> list[int | None]:
        hours = self.markets.get(ticker)
        return hours.values(now) if hours is not None else [None] * HOURS

    def draw(self, ticker: str, now: int) -> tuple[str, int]:
        """The sparkline and its direction over the day: 1 up, -1 down, 0 flat or unknown."""
        values = self.values(ticker, now)
        present = [v for v in values if v is not None]
        trend = 0 if len(present) < 2 else (present[-1] > present[0]) - (present[-1] < present[0])
        return scale(values), trend
