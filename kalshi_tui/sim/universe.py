"""The simulator's markets: series, events, tickers, titles and tick grids.

Everything here is derived from one ``random.Random`` so a seed always builds the same
universe. Prices are integers in 1/10,000 dollar (``numbers.PRICE_SCALE``); a market's
tick grid comes from its ``price_ranges`` exactly as Kalshi publishes them, including the
sub-cent grids (0.001 steps) some markets have near 0 and 1.
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from kalshi_tui.numbers import ONE_DOLLAR, format_price


class PriceRange(NamedTuple):
    start: int
    end: int
    step: int

    def wire(self) -> dict[str, str]:
        return {
            "start": format_price(self.start),
            "end": format_price(self.end),
            "step": format_price(self.step),
        }


# Kalshi's named structures and the ranges they stand for.
STRUCTURES: dict[str, tuple[PriceRange, ...]] = {
    "linear_cent": (PriceRange(0, ONE_DOLLAR, 100),),
    "deci_cent": (PriceRange(0, ONE_DOLLAR, 10),),
    "tapered_deci_cent": (
        PriceRange(0, 1000, 10),
        PriceRange(1000, 9000, 100),
        PriceRange(9000, ONE_DOLLAR, 10),
    ),
}


class TickGrid:
    """The valid prices of one market, strictly between 0 and $1, sorted ascending.

    Every grid used here is symmetric (p valid <=> 1 - p valid), so a NO bid's complement
    (the YES ask) is always on the grid too.
    """

    __slots__ = ("_set", "prices", "structure")

    def __init__(self, structure: str) -> None:
        self.structure = structure
        prices: set[int] = set()
        for r in STRUCTURES[structure]:
            prices.update(range(r.start, r.end + 1, r.step))
        prices.discard(0)
        prices.discard(ONE_DOLLAR)
        self.prices = sorted(prices)
        self._set = frozenset(self.prices)

    @property
    def ranges(self) -> tuple[PriceRange, ...]:
        return STRUCTURES[self.structure]

    def valid(self, price: int) -> bool:
        return price in self._set

    def index_at_or_below(self, price: int) -> int:
        """Index of the highest grid price <= ``price`` (-1 if none)."""
        i = bisect_left(self.prices, price)
        if i < len(self.prices) and self.prices[i] == price:
            return i
        return i - 1


STATUS_ACTIVE = "active"
STATUS_CLOSED = "closed"
STATUS_DETERMINED = "determined"
STATUS_FINALIZED = "finalized"
STATUS_INITIALIZED = "initialized"
# The list filter's words (GET /markets?status=) and the market statuses they cover.
STATUS_FILTERS: dict[str, frozenset[str]] = {
    "unopened": frozenset({STATUS_INITIALIZED}),
    "open": frozenset({STATUS_ACTIVE}),
    "paused": frozenset({"inactive"}),
    "closed": frozenset({STATUS_CLOSED, STATUS_DETERMINED, "disputed", "amended"}),
    "settled": frozenset({STATUS_FINALIZED}),
}


@dataclass
class Market:
    ticker: str
    event_ticker: str
    series_ticker: str
    market_id: str
    title: str
    subtitle: str
    yes_sub_title: str
    no_sub_title: str
    rules_primary: str
    grid: TickGrid
    open_ts: int
    close_ts: int
    status: str = STATUS_ACTIVE
    result: str = ""
    strike_type: str = ""
    floor_strike: float | None = None
    cap_strike: float | None = None
    fair: int = 5000  # the YES value the random process drifts around, on the grid
    # A market nobody quotes: listed and active, but its book stays empty (the process never
    # picks it), so clients meet the exchange's empty snapshots.
    quiet: bool = False
    updated_ts: int = 0  # last change of the market's metadata or status (0: when created)

    @property
    def price_level_structure(self) -> str:
        return self.grid.structure

    @property
    def created_ts(self) -> int:
        # Listed a day before trading opens; derived, so no random draw is spent on it.
        return self.open_ts - 86_400

    @property
    def settlement_timer_seconds(self) -> int:
        return SETTLEMENT_TIMERS.get(self.series_ticker, 3600)

    @property
    def rules_secondary(self) -> str:
        return (
            f"The market settles on the source agencies' figures for {self.subtitle}; "
            "later revisions are not considered."
        )


# Seconds between determination and settlement, per series (Kalshi's settlement_timer_seconds).
SETTLEMENT_TIMERS = {"KXFEDDECISION": 600, "KXCPIYOY": 600, "KXNBAGAME": 300, "KXNFLGAME": 300}

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
# The first event date; the machine's clock plays no part, so a seed is a seed forever.
EPOCH = datetime(2026, 12, 1, tzinfo=UTC)


def _date_code(d: datetime) -> str:
    return f"{d.year % 100:02d}{MONTHS[d.month - 1]}{d.day:02d}"


def _ts(d: datetime) -> int:
    return int(d.timestamp())


Outcome = tuple[str, str, str, float | None, float | None]  # suffix, yes_sub, strike_type, floor, cap


def _fed(rng: random.Random, d: datetime) -> tuple[str, str, str, list[Outcome], datetime]:
    month = MONTHS[d.month - 1]
    outs: list[Outcome] = [
        ("H0", "Hold rate", "", None, None),
        ("C25", "Cut 25bps", "", None, None),
        ("C26", "Cut >25bps", "", None, None),
        ("H25", "Hike 25bps", "", None, None),
    ]
    close = d.replace(hour=19)
    return (f"{d.year % 100:02d}{month}", f"Fed decision in {d:%b %Y}?", f"{d:%b %Y} meeting", outs, close)


def _crypto(symbol: str, name: str, center: float, width: float) -> object:
    def make(rng: random.Random, d: datetime) -> tuple[str, str, str, list[Outcome], datetime]:
        mid = round(center * (0.9 + 0.2 * rng.random()) / width) * width
        outs: list[Outcome] = []
        for k in range(-3, 4):
            strike = mid + k * width
            outs.append((f"T{strike - 0.01:.2f}", f"${strike:,.0f} or above", "greater", strike - 0.01, None))
        close = d.replace(hour=22)
        return (
            f"{_date_code(d)}17",
            f"{name} price on {d:%b %-d, %Y} at 5pm EST?",
            f"{d:%b %-d} at 5pm EST",
            outs,
            close,
        )

    del symbol
    return make


def _high(city: str, base: int) -> object:
    def make(rng: random.Random, d: datetime) -> tuple[str, str, str, list[Outcome], datetime]:
        lo = base + rng.randrange(-4, 5)
        outs: list[Outcome] = [(f"T{lo}", f"{lo}° or below", "less", None, float(lo))]
        for k in range(4):
            b = lo + 1 + 2 * k
            outs.append((f"B{b}.5", f"{b}° to {b + 1}°", "between", float(b), float(b + 1)))
        top = lo + 9
        outs.append((f"T{top}", f"{top}° or above", "greater", float(top), None))
        close = (d + timedelta(days=1)).replace(hour=5)
        return (
            _date_code(d),
            f"Highest temperature in {city} on {d:%b %-d, %Y}?",
            f"{d:%b %-d, %Y}",
            outs,
            close,
        )

    return make


def _game(league: str, teams: tuple[tuple[str, str], ...]) -> object:
    def make(rng: random.Random, d: datetime) -> tuple[str, str, str, list[Outcome], datetime]:
        (a, an), (b, bn) = rng.sample(teams, 2)
        outs: list[Outcome] = [(a, an, "", None, None), (b, bn, "", None, None)]
        close = (d + timedelta(days=14)).replace(hour=4)
        return (f"{_date_code(d)}{a}{b}", f"{an} vs {bn} winner?", f"{league} {d:%b %-d}", outs, close)

    return make


def _index(rng: random.Random, d: datetime) -> tuple[str, str, str, list[Outcome], datetime]:
    mid = round((6000 + 400 * rng.random()) / 25) * 25
    outs: list[Outcome] = []
    for k in range(-2, 3):
        lo = mid + 50 * k
        outs.append((f"B{lo + 25}", f"{lo:,} to {lo + 49.99:,.2f}", "between", float(lo), lo + 49.99))
    close = d.replace(hour=21)
    return (
        f"{_date_code(d)}H1600",
        f"S&P 500 on {d:%b %-d, %Y} at 4pm EST?",
        f"{d:%b %-d} close",
        outs,
        close,
    )


def _cpi(rng: random.Random, d: datetime) -> tuple[str, str, str, list[Outcome], datetime]:
    base = 2.4 + rng.randrange(0, 4) / 10
    outs: list[Outcome] = [
        (f"T{base + k / 10:.1f}", f"Above {base + k / 10:.1f}%", "greater", base + k / 10, None)
        for k in range(4)
    ]
    close = (d + timedelta(days=12)).replace(hour=13)
    return (
        f"{d.year % 100:02d}{MONTHS[d.month - 1]}",
        f"CPI year-over-year in {d:%b %Y}?",
        f"{d:%b %Y} report",
        outs,
        close,
    )


NBA = (
    ("LAL", "Los Angeles L"),
    ("BOS", "Boston"),
    ("GSW", "Golden State"),
    ("NYK", "New York"),
    ("MIA", "Miami"),
    ("DEN", "Denver"),
)
NFL = (
    ("KC", "Kansas City"),
    ("BUF", "Buffalo"),
    ("PHI", "Philadelphia"),
    ("DAL", "Dallas"),
    ("SF", "San Francisco"),
    ("DET", "Detroit"),
)

TEMPLATES: tuple[tuple[str, str, object], ...] = (
    ("KXFEDDECISION", "linear_cent", _fed),
    ("KXBTCD", "tapered_deci_cent", _crypto("BTC", "Bitcoin", 98500, 500)),
    ("KXHIGHNY", "linear_cent", _high("NYC", 44)),
    ("KXNBAGAME", "linear_cent", _game("NBA", NBA)),
    ("KXETHD", "tapered_deci_cent", _crypto("ETH", "Ethereum", 3500, 50)),
    ("KXINXD", "deci_cent", _index),
    ("KXHIGHCHI", "linear_cent", _high("Chicago", 33)),
    ("KXNFLGAME", "linear_cent", _game("NFL", NFL)),
    ("KXCPIYOY", "linear_cent", _cpi),
    ("KXHIGHLAX", "linear_cent", _high("Los Angeles", 66)),
)


def new_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from the seeded generator (uuid4() would break determinism)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _events(rng: random.Random, start: datetime) -> Iterator[list[Market]]:
    """Endless events, cycling through the series, each a few days after the last."""
    cycle = 0
    while True:
        for i, (series, structure, make) in enumerate(TEMPLATES):
            day = start + timedelta(days=cycle * 3 + i % 3)
            suffix, title, subtitle, outcomes, close = make(rng, day)  # type: ignore[operator]
            event = f"{series}-{suffix}"
            grid = TickGrid(structure)
            markets = []
            for out_suffix, yes_sub, strike_type, floor, cap in outcomes:
                markets.append(
                    Market(
                        ticker=f"{event}-{out_suffix}",
                        event_ticker=event,
                        series_ticker=series,
                        market_id=new_uuid(rng),
                        title=title,
                        subtitle=subtitle,
                        yes_sub_title=yes_sub,
                        no_sub_title=yes_sub,
                        rules_primary=f"If the outcome is {yes_sub} for {subtitle}, then the market "
                        f"resolves to Yes.",
                        grid=grid,
                        open_ts=_ts(day - timedelta(days=30)),
                        close_ts=_ts(close),
                        strike_type=strike_type,
                        floor_strike=floor,
                        cap_strike=cap,
                        fair=_initial_fair(rng, grid),
                    )
                )
            yield markets
        cycle += 1


def _initial_fair(rng: random.Random, grid: TickGrid) -> int:
    # Mostly mid-range, some long shots: books near 0 or 1 exercise the sub-cent ticks.
    roll = rng.random()
    if roll < 0.15:
        target = rng.randrange(150, 1200)
    elif roll < 0.3:
        target = rng.randrange(8800, 9850)
    else:
        target = rng.randrange(1500, 8500)
    return grid.prices[max(3, min(len(grid.prices) - 4, grid.index_at_or_below(target)))]


class Universe:
    """All markets by ticker, in creation order, plus the generator that makes new ones."""

    def __init__(
        self,
        rng: random.Random,
        active: int,
        history: int | None = None,
        quiet: int = 0,
        quiet_rng: random.Random | None = None,
    ) -> None:
        if active < 1:
            raise ValueError("a simulator needs at least one market")
        self._rng = rng
        self.markets: dict[str, Market] = {}
        # A few settled and closed markets from November, for the REST status filters.
        history = max(1, active // 10) if history is None else history
        old = _events(rng, EPOCH - timedelta(days=40))
        taken = 0
        while taken < history:
            for m in next(old):
                if taken == history:
                    break
                if m.ticker in self.markets:  # monthly series repeat their event ticker
                    continue
                m.status = (STATUS_FINALIZED, STATUS_DETERMINED, STATUS_CLOSED)[taken % 3]
                m.result = "" if m.status == STATUS_CLOSED else rng.choice(("yes", "no"))
                self.markets[m.ticker] = m
                taken += 1
        self._fresh = _events(rng, EPOCH)
        self._pending: list[Market] = []
        for _ in range(active):
            m = self.next_market()
            self.markets[m.ticker] = m
        # Quiet markets come from their own generator: adding them leaves the market's
        # random sequence (and so the recorded stream of a seed) as it was.
        quiet_events = _events(quiet_rng or random.Random(0), EPOCH + timedelta(days=1))
        taken = 0
        while taken < quiet:
            for m in next(quiet_events):
                if taken == quiet:
                    break
                if m.ticker in self.markets:
                    continue
                m.quiet = True
                self.markets[m.ticker] = m
                taken += 1

    def next_market(self) -> Market:
        """The next unused market from the seeded sequence (not yet registered)."""
        while not self._pending:
            self._pending = [m for m in next(self._fresh) if m.ticker not in self.markets]
        return self._pending.pop(0)

    def get(self, ticker: str) -> Market | None:
        return self.markets.get(ticker)

    def __contains__(self, ticker: object) -> bool:
        return ticker in self.markets

    def active(self) -> list[Market]:
        return [m for m in self.markets.values() if m.status == STATUS_ACTIVE]

    def event(self, event_ticker: str) -> list[Market]:
        return [m for m in self.markets.values() if m.event_ticker == event_ticker]


class SeriesInfo(NamedTuple):
    title: str
    frequency: str
    category: str
    tags: tuple[str, ...]
    source: tuple[str, str]  # settlement source: name, url
    mutually_exclusive: bool  # do the series' events have exactly one YES outcome?


_NWS = ("National Weather Service", "https://www.weather.gov/")
_CFB = ("CF Benchmarks", "https://www.cfbenchmarks.com/")
SERIES: dict[str, SeriesInfo] = {
    "KXFEDDECISION": SeriesInfo(
        "Fed decision",
        "custom",
        "Economics",
        ("Fed",),
        ("Federal Reserve", "https://www.federalreserve.gov/"),
        True,
    ),
    "KXBTCD": SeriesInfo("Bitcoin price", "daily", "Crypto", ("BTC",), _CFB, False),
    "KXHIGHNY": SeriesInfo(
        "Highest temperature in NYC", "daily", "Climate and Weather", ("Weather",), _NWS, True
    ),
    "KXNBAGAME": SeriesInfo(
        "NBA game", "custom", "Sports", ("Basketball",), ("NBA", "https://www.nba.com/"), True
    ),
    "KXETHD": SeriesInfo("Ethereum price", "daily", "Crypto", ("ETH",), _CFB, False),
    "KXINXD": SeriesInfo(
        "S&P 500 range",
        "daily",
        "Financials",
        ("S&P",),
        ("S&P Dow Jones Indices", "https://www.spglobal.com/"),
        True,
    ),
    "KXHIGHCHI": SeriesInfo(
        "Highest temperature in Chicago", "daily", "Climate and Weather", ("Weather",), _NWS, True
    ),
    "KXNFLGAME": SeriesInfo(
        "NFL game", "custom", "Sports", ("Football",), ("NFL", "https://www.nfl.com/"), True
    ),
    "KXCPIYOY": SeriesInfo(
        "CPI year-over-year",
        "monthly",
        "Economics",
        ("Inflation",),
        ("Bureau of Labor Statistics", "https://www.bls.gov/"),
        False,
    ),
    "KXHIGHLAX": SeriesInfo(
        "Highest temperature in Los Angeles", "daily", "Climate and Weather", ("Weather",), _NWS, True
    ),
}
