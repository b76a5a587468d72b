"""Eight days of one-minute history before the simulator started, per market, for candles.

Made on first request for a market (never at start-up) from a generator seeded by the
simulator's seed and the ticker, so a seed gives the same history every run, relative to
the moment the simulator started (the "anchor"): the minute bar ending ``k`` minutes before
the anchor is the same whatever the wall clock says. The walk runs backwards from the
market's state at start, so the last bar meets the live book. Prices in 1/10,000 $ on the
market's tick grid, sizes in 1/100 contract.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from datetime import UTC, datetime, timedelta, tzinfo
from typing import NamedTuple

from kalshi_tui.numbers import ONE_DOLLAR, SIZE_SCALE
from kalshi_tui.sim.universe import Market

MINUTES = 8 * 24 * 60
HOUR = 60
HOURS = MINUTES // HOUR
PERIODS = (1, 60, 1440)  # period_interval: minutes per candle
CACHED = 4096  # markets' hourly outlines kept (a few KB each)


def _eastern() -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("America/New_York")
    except (ImportError, LookupError):  # no tz database here: Eastern standard time
        from datetime import timezone

        return timezone(timedelta(hours=-5))


EASTERN = _eastern()


class Point(NamedTuple):
    """The market at the end of an hour of history: YES bid as an index on the tick grid,
    spread in ticks, last trade's YES price (0: none yet), open interest."""

    bid: int
    spread: int
    price: int
    oi: int


class Bar(NamedTuple):
    """One minute: YES bid and ask at its end, last trade's YES price up to then, the
    contracts traded in it (0: no trade) and open interest."""

    bid: int
    ask: int
    price: int
    volume: int
    oi: int


class History:
    """A market's history as an hourly outline (cheap: made for any market REST lists) and
    minute bars filled in per hour on demand. Hour ``j`` holds minute bars ``60j .. 60j+59``;
    ``points[j + 1]`` is the market at the end of hour ``j`` and ``points[HOURS]`` at the
    anchor, when the simulator started. Bar ``i`` ends at ``end_ts(i)``."""

    def __init__(self, seed: int, market: Market, anchor: int, start: Point, quiet: bool) -> None:
        self.anchor = anchor  # end of the last bar, unix seconds, on a minute
        self.market = market
        self.quiet = quiet
        self._seed = f"{seed}:history:{market.ticker}"
        self._top = len(market.grid.prices) - 1
        self._points: list[Point] = [start] * (HOURS + 1)
        self._volumes: list[int] = [0] * HOURS  # contracts traded in each hour
        self._trades: list[int] = [0] * HOURS  # trades printed in each hour
        self._hours: dict[int, list[Bar]] = {}
        # The outline is walked back from the anchor only as far as asked: listing markets
        # needs the last day (24 h change), candles may need the whole week.
        self._rng = random.Random(self._seed)
        self._back = HOURS  # hours j >= _back are drawn
        if quiet:
            self._back = 0

    def _reach(self, j: int) -> None:
        """Draw the outline back to hour ``j`` (inclusive)."""
        if j >= self._back:
            return
        rng = self._rng
        top = self._top
        prices = self.market.grid.prices
        points = self._points
        p = points[self._back]
        for k in range(self._back - 1, max(j, 0) - 1, -1):
            n = int(rng.expovariate(0.1))
            # n trades of ~40 contracts each (at least one apiece), in one draw.
            volume = n * (1 + int(rng.random() * 78)) * SIZE_SCALE if n else 0
            r = rng.random()
            bid = max(0, min(top - 1, p.bid + (int(r * 5) - 2 if r < 0.6 else 0)))
            spread = max(1, min(top - bid, p.spread + (1 if r > 0.9 else -1 if r > 0.8 else 0)))
            # The hour's trades leave the price where it ends; before them it stood at a
            # level of the book then.
            price = (prices[bid] if r < 0.3 else prices[bid + spread]) if n else p.price
            oi = max(0, p.oi + (volume if r < 0.5 else -volume) // 2)
            self._volumes[k] = volume
            self._trades[k] = n
            p = points[k] = Point(bid, spread, price, oi)
        self._back = max(j, 0)

    def point(self, j: int) -> Point:
        """The market at the end of hour ``j - 1`` (``point(HOURS)``: at the anchor)."""
        self._reach(j)
        return self._points[j]

    def volume(self, j: int) -> int:
        self._reach(j)
        return self._volumes[j]

    def end_ts(self, i: int) -> int:
        return self.anchor - 60 * (MINUTES - 1 - i)

    def index(self, ts: int) -> int:
        """The bar whose minute holds second ``ts`` (may be outside 0..MINUTES-1)."""
        return MINUTES - 1 - (self.anchor - ts) // 60

    def hour(self, j: int) -> list[Bar]:
        """The minute bars of hour ``j``: a bridge from ``point(j)`` to ``point(j + 1)``."""
        bars = self._hours.get(j)
        if bars is not None:
            return bars
        prices = self.market.grid.prices
        a, b = self.point(j), self.point(j + 1)
        if self.quiet:
            bars = [Bar(0, ONE_DOLLAR, 0, 0, 0)] * HOUR
        else:
            rng = random.Random(f"{self._seed}:{j}")
            n = self._trades[j]
            minutes = sorted(rng.sample(range(HOUR), min(n, HOUR)))
            sizes = _split(rng, self._volumes[j], len(minutes))
            trades = dict(zip(minutes, sizes, strict=True))
            last = minutes[-1] if minutes else -1
            bits = rng.getrandbits(2 * HOUR)  # two bits of noise a minute, in one draw
            price = a.price
            top = self._top
            bars = []
            for t in range(HOUR):
                if t == HOUR - 1:  # the hour ends where the outline says
                    bid, spread = b.bid, b.spread
                else:
                    f = (t + 1) / HOUR
                    bid = round(a.bid + (b.bid - a.bid) * f) + _NOISE[(bits >> 2 * t) & 3]
                    bid = max(0, min(top - 1, bid))
                    spread = max(1, min(top - bid, round(a.spread + (b.spread - a.spread) * f)))
                volume = trades.get(t, 0)
                if volume:  # at the bid or the ask; the hour's last trade at its closing price
                    price = b.price if t == last else prices[bid + spread * ((bits >> 2 * t) & 1)]
                bars.append(Bar(prices[bid], prices[bid + spread], price, volume, b.oi))
        if len(self._hours) > 48:
            self._hours.clear()
        self._hours[j] = bars
        return bars

    def bar(self, i: int) -> Bar:
        return self.hour(i // HOUR)[i % HOUR]

    def bars(self, lo: int, hi: int) -> list[Bar]:
        """Bars ``lo .. hi`` inclusive."""
        out: list[Bar] = []
        for j in range(lo // HOUR, hi // HOUR + 1):
            hour = self.hour(j)
            out += hour[max(lo - j * HOUR, 0) : min(hi - j * HOUR, HOUR - 1) + 1]
        return out

    def volume_after(self, i: int) -> int:
        """Contracts traded in bars ``i+1 .. MINUTES-1``."""
        j, off = divmod(i + 1, HOUR)
        if j >= HOURS:
            return 0
        if not off:  # whole hours: the outline knows their volume
            return sum(self.volume(k) for k in range(j, HOURS))
        return sum(bar.volume for bar in self.hour(j)[off:]) + sum(
            self.volume(k) for k in range(j + 1, HOURS)
        )

    def at(self, i: int) -> tuple[int, int, int]:
        """YES bid, YES ask and last price at the end of bar ``i`` (from the outline when it
        is an hour's last bar: no minute bars drawn)."""
        j, off = divmod(i, HOUR)
        if off == HOUR - 1:
            p = self.point(j + 1)
            prices = self.market.grid.prices
            if self.quiet:
                return 0, ONE_DOLLAR, 0
            return prices[p.bid], prices[p.bid + p.spread], p.price
        bar = self.hour(j)[off]
        return bar.bid, bar.ask, bar.price


_NOISE = (0, 0, -1, 1)


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """``total`` contracts in ``parts`` whole-contract pieces (each at least one)."""
    if parts == 0:
        return []
    units = total // SIZE_SCALE
    cuts = sorted(rng.sample(range(1, units), parts - 1)) if parts > 1 else []
    edges = [0, *cuts, units]
    return [(edges[k + 1] - edges[k]) * SIZE_SCALE for k in range(parts)]


class Histories:
    """Histories made on demand, the most recently used ``CACHED`` kept."""

    def __init__(self, seed: int, anchor: int) -> None:
        self.seed = seed
        self.anchor = anchor
        self._cache: OrderedDict[str, History] = OrderedDict()

    def get(self, market: Market, bid: int, ask: int, price: int, oi: int) -> History:
        """``market``'s history, ending at its state when the simulator started: ``bid`` /
        ``ask`` (0 / $1 for an empty side), last ``price`` (0: never traded), ``oi``."""
        h = self._cache.get(market.ticker)
        if h is None:
            grid = market.grid
            b = grid.index_at_or_below(bid) if bid else 0
            a = grid.index_at_or_below(ask) if ask < ONE_DOLLAR else len(grid.prices) - 1
            start = Point(b, max(1, a - b), price, oi)
            h = History(self.seed, market, self.anchor, start, market.quiet)
            self._cache[market.ticker] = h
            if len(self._cache) > CACHED:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(market.ticker)
        return h


def period_end(ts: int, period: int) -> int:
    """The end (inclusive) of the ``period``-minute candle holding second ``ts``: minutes and
    hours on the UTC clock, days at midnight US Eastern, as Kalshi closes them."""
    if period < 1440:
        span = 60 * period
        return -(-ts // span) * span
    local = datetime.fromtimestamp(ts, UTC).astimezone(EASTERN)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if midnight.timestamp() < ts:
        midnight = (midnight + timedelta(days=1, hours=2)).replace(hour=0)
    return int(midnight.timestamp())


MAX_CANDLES = 10_000


class Live:
    """What the exchange knows since the anchor: the book's top now, the recent trades
    (YES price, count, ts in seconds), open interest now."""

    __slots__ = ("ask", "bid", "oi", "trades")

    def __init__(self, bid: int, ask: int, oi: int, trades: list[tuple[int, int, int]]) -> None:
        self.bid = bid
        self.ask = ask
        self.oi = oi
        self.trades = trades


def period_ends(start_ts: int, end_ts: int, period: int, first: int, now: int) -> list[int]:
    """Ends of the candles with ``start_ts <= end <= end_ts`` that began after ``first``
    (the history's start) and before ``now``."""
    out: list[int] = []
    e = period_end(max(start_ts, first + 1), period)
    while e <= end_ts:
        if e < start_ts:
            e = period_end(e + 1, period)
            continue
        begin = e - 60 * period if period < 1440 else _previous_end(e)
        if begin >= now:
            break
        out.append(e)
        if len(out) > MAX_CANDLES:
            break
        e = period_end(e + 1, period)
    return out


def _previous_end(e: int) -> int:
    # The Eastern midnight before: 23 or 25 hours back across a clock change (wall-clock
    # arithmetic on an aware datetime does that).
    local = datetime.fromtimestamp(e, UTC).astimezone(EASTERN)
    return int((local - timedelta(days=1)).timestamp())


def candle(h: History, live: Live, end: int, period: int) -> dict[str, object]:
    """One Candle in Kalshi's shape (prices as integers here; the caller formats them)."""
    begin = end - 60 * period if period < 1440 else _previous_end(end)
    lo = max(0, MINUTES - (h.anchor - begin) // 60)
    hi = min(MINUTES - 1, MINUTES - 1 - (h.anchor - end) // 60)
    bars = h.bars(lo, hi) if hi >= lo else []
    bids = [b.bid for b in bars]
    asks = [b.ask for b in bars]
    trades = [(b.price, b.volume) for b in bars if b.volume]
    oi = bars[-1].oi if bars else 0
    before = h.bar(min(lo, MINUTES) - 1) if lo > 0 else None
    if end > h.anchor:  # the live part: the book's top as it is now, and the trades seen
        bids.append(live.bid)
        asks.append(live.ask)
        start = max(begin, h.anchor)
        trades += [(p, c) for p, c, ts in live.trades if start < ts <= end]
        oi = live.oi
    previous = before.price if before is not None and before.price else None
    price: dict[str, int | None]
    volume = sum(c for _, c in trades)
    if trades:
        price = {
            "open": trades[0][0],
            "low": min(p for p, _ in trades),
            "high": max(p for p, _ in trades),
            "close": trades[-1][0],
            "mean": sum(p * c for p, c in trades) // volume,
            "previous": previous,
        }
    else:
        price = dict.fromkeys(("open", "low", "high", "close", "mean"), None) | {"previous": previous}
    return {
        "end_period_ts": end,
        "yes_bid": _ohlc(before.bid if before else bids[0], bids),
        "yes_ask": _ohlc(before.ask if before else asks[0], asks),
        "price": price,
        "volume": volume,
        "open_interest": oi,
    }


def _ohlc(first: int, values: list[int]) -> dict[str, int]:
    return {"open": first, "low": min(first, *values), "high": max(first, *values), "close": values[-1]}
