"""Price history for the chart: candles from REST, extended live from trades, and the chart's
integer scaling. Pure code: no I/O, no Textual.

A candle here is the market's traded YES price over one period (1 minute, 1 hour or 1 day) and
the contracts traded in it. Periods with no trade carry the previous close, flat, so the line
has no holes. Memory is bounded: ``MAX_CANDLES`` per series, ``MAX_SERIES`` series in all,
the least recently used dropped first.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from kalshi_tui.numbers import parse_price, parse_size

#: (key, label, minutes per candle, candles asked of REST)
TIMEFRAMES: tuple[tuple[str, str, int, int], ...] = (
    ("1m", "1 minute", 1, 240),
    ("1h", "1 hour", 60, 168),
    ("1d", "1 day", 1440, 60),
)
MAX_CANDLES = 300  # per series: wider than any terminal draws
MAX_SERIES = 48  # (market, timeframe) pairs kept: a chart's few markets, many times over
_EASTERN = "America/New_York"  # Kalshi's daily candles close at midnight there


class Candle(NamedTuple):
    end_ts: int  # unix seconds, inclusive end of the period
    open: int  # YES price, 1/10,000 $
    high: int
    low: int
    close: int
    volume: int  # 1/100 contract


def _price(block: dict[str, Any] | None, name: str) -> int | None:
    raw = (block or {}).get(f"{name}_dollars")
    return None if raw is None else parse_price(str(raw))


def candle_from_rest(raw: dict[str, Any], previous: int | None = None) -> Candle | None:
    """One of Kalshi's candles. With no trade in the period its price is null: it carries
    the previous close (the candle's own ``previous``, else ``previous``); None if neither."""
    price = raw.get("price") or {}
    close = _price(price, "close")
    volume = parse_size(str(raw.get("volume_fp") or "0"))
    end = int(raw["end_period_ts"])
    if close is None:
        flat = _price(price, "previous")
        flat = flat if flat is not None else previous
        return None if flat is None else Candle(end, flat, flat, flat, flat, volume)
    opened = _price(price, "open")
    high = _price(price, "high")
    low = _price(price, "low")
    opened = close if opened is None else opened
    return Candle(
        end,
        opened,
        max(close, opened, high if high is not None else close),
        min(close, opened, low if low is not None else close),
        close,
        volume,
    )


def candles_from_rest(raws: Iterable[dict[str, Any]]) -> list[Candle]:
    out: list[Candle] = []
    for raw in raws:
        c = candle_from_rest(raw, out[-1].close if out else None)
        if c is not None:
            out.append(c)
    return out


def period_end(ts_ms: int, minutes: int) -> int:
    """The end (unix seconds, inclusive, as Kalshi labels candles) of the period holding the
    moment ``ts_ms``; daily periods end at midnight US Eastern."""
    if minutes >= 1440:
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(_EASTERN)
        moment = dt.datetime.fromtimestamp(ts_ms / 1000, tz)
        midnight = dt.datetime(moment.year, moment.month, moment.day, tzinfo=tz)
        if moment == midnight:
            return int(midnight.timestamp())
        day = moment.date() + dt.timedelta(days=1)
        return int(dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())
    step = 60_000 * minutes
    return -(-ts_ms // step) * step // 1000


class Series:
    """One market's candles at one timeframe, oldest first, at most ``MAX_CANDLES``."""

    __slots__ = ("candles", "fetched_at", "minutes", "since_ms")

    def __init__(self, minutes: int, candles: Sequence[Candle], fetched_at: float, since_ms: int) -> None:
        self.minutes = minutes
        self.candles: deque[Candle] = deque(candles[-MAX_CANDLES:], maxlen=MAX_CANDLES)
        self.fetched_at = fetched_at  # clock() when REST answered
        self.since_ms = since_ms  # trades at or before this (exchange ms) are in the candles already

    def add_trade(self, price: int, count: int, ts_ms: int) -> bool:
        """Fold one trade in: into the last candle if it is in its period, else a new one.
        False: it was in the candles already."""
        if ts_ms <= self.since_ms:
            return False
        self.since_ms = ts_ms
        end = period_end(ts_ms, self.minutes)
        last = self.candles[-1] if self.candles else None
        if last is not None and last.end_ts == end:
            self.candles[-1] = Candle(
                end, last.open, max(last.high, price), min(last.low, price), price, last.volume + count
            )
        elif last is None or end > last.end_ts:
            if last is not None and self.minutes < 1440:
                # Periods with no trade are flat at the last close, as REST serves them.
                step = 60 * self.minutes
                first = max(last.end_ts + step, end - step * MAX_CANDLES)
                for quiet in range(first, end, step):
                    self.candles.append(Candle(quiet, last.close, last.close, last.close, last.close, 0))
            self.candles.append(Candle(end, price, price, price, price, count))
        return True


class ChartHistory:
    """Every series the chart has loaded, least recently used dropped past ``MAX_SERIES``."""

    def __init__(self) -> None:
        self._series: OrderedDict[tuple[str, int], Series] = OrderedDict()
        self.errors: dict[tuple[str, int], str] = {}
        self.version = 0  # bumped on every change: the pane redraws when it moves

    def __len__(self) -> int:
        return len(self._series)

    def get(self, ticker: str, minutes: int) -> Series | None:
        key = (ticker, minutes)
        series = self._series.get(key)
        if series is not None:
            self._series.move_to_end(key)
        return series

    def put(self, ticker: str, series: Series) -> None:
        key = (ticker, series.minutes)
        self._series[key] = series
        self._series.move_to_end(key)
        self.errors.pop(key, None)
        while len(self._series) > MAX_SERIES:
            self._series.popitem(last=False)
        self.version += 1

    def fail(self, ticker: str, minutes: int, why: str) -> None:
        self.errors[(ticker, minutes)] = why
        self.version += 1

    def tickers(self) -> set[str]:
        return {t for t, _ in self._series}

    def add_trades(self, ticker: str, trades: Sequence[tuple[int, int, int]]) -> bool:
        """(YES price, count, ts_ms) trades of ``ticker``, oldest first, into its series.
        Returns whether any series moved."""
        moved = False
        for (t, _), series in self._series.items():
            if t == ticker and trades and trades[-1][2] > series.since_ms:
                for price, count, ts_ms in trades:
                    moved |= series.add_trade(price, count, ts_ms)
        self.version += moved
        return moved


# -- scaling: exact integers ----------------------------------------------------------------


def price_range(candles: Sequence[Candle]) -> tuple[int, int]:
    """The lowest low and highest high, widened to whole cents (and at least 1¢ apart)."""
    lo = min(c.low for c in candles)
    hi = max(c.high for c in candles)
    lo -= lo % 100
    hi += -hi % 100
    if hi == lo:
        hi = lo + 100
    return lo, hi


def row_of(price: int, lo: int, hi: int, rows: int) -> int:
    """The row (0 = bottom, ``rows - 1`` = top) a price is drawn on, rounded half up."""
    if rows <= 1 or hi <= lo:
        return 0
    span = hi - lo
    return min(rows - 1, max(0, (2 * (price - lo) * (rows - 1) + span) // (2 * span)))


def price_at_row(row: int, lo: int, hi: int, rows: int) -> int:
    """The price a row stands for (the axis labels): the inverse of ``row_of``, rounded down."""
    if rows <= 1:
        return lo
    return lo + (hi - lo) * row // (rows - 1)


def volume_eighths(volume: int, biggest: int, rows: int) -> int:
    """A volume bar's height in eighths of a row: ``rows * 8`` at ``biggest``, rounded up,
    so any trading shows (a zero shows nothing)."""
    if volume <= 0 or biggest <= 0 or rows <= 0:
        return 0
    return -(-volume * rows * 8 // biggest)


UP, DOWN, WICK_UP, WICK_DOWN, BLANK = "u", "d", "U", "D", " "
_EIGHTHS = " ▁▂▃▄▅▆▇█"


def candle_cells(c: Candle, lo: int, hi: int, rows: int) -> list[tuple[str, str]]:
    """One candle's column, bottom row first: (character, kind) per row. The body from open
    to close is a full block, the wick from low to high a line."""
    up = c.close >= c.open
    body_lo, body_hi = sorted((row_of(c.open, lo, hi, rows), row_of(c.close, lo, hi, rows)))
    wick_lo, wick_hi = row_of(c.low, lo, hi, rows), row_of(c.high, lo, hi, rows)
    out: list[tuple[str, str]] = []
    for r in range(rows):
        if body_lo <= r <= body_hi:
            out.append(("█", UP if up else DOWN))
        elif wick_lo <= r <= wick_hi:
            out.append(("│", WICK_UP if up else WICK_DOWN))
        else:
            out.append((" ", BLANK))
    return out


def volume_cell(eighths: int, row: int) -> str:
    """The character of a volume bar ``eighths`` high on ``row`` (0 = bottom)."""
    return _EIGHTHS[max(0, min(8, eighths - 8 * row))]
