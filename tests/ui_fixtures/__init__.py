"""A deterministic, pre-filled Store for UI tests and screenshots.

Everything goes through the real decoder as wire-format frames (dollar strings, _fp sizes),
plus one real captured session (the recorded get_snapshot recovery), so the UI is tested on
what the stream would really produce. Seeded: the same store every run.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from kalshi_tui.config import Profile
from kalshi_tui.details import MarketDetails, market_details
from kalshi_tui.protocol import decode
from kalshi_tui.protocol import messages as m
from kalshi_tui.store import LIVE, ErrorEvent, MarketMeta, Store, Subscription

# Real frames of one recorded demo session.
RECORDED = (
    Path(__file__).parents[1] / "fixtures" / "kalshi-frames" / "demo-2026-08-17_get_snapshot_recovery.jsonl"
)

#: the fixed "now" of the UI clock (monotonic-like) and of the wall clock
NOW = 10_000.0
WALL = 1_787_850_000.0  # 2026-08-27 16:20 UTC
TS0 = int((WALL - 600) * 1000)

MARKETS = [
    ("KXFEDDECISION-26DEC-H0", "Fed holds rates in December", 5600),
    ("KXFEDDECISION-26DEC-H25", "Fed hikes 25bp in December", 1200),
    ("KXFEDDECISION-26DEC-C25", "Fed cuts 25bp in December", 3100),
    ("KXCPIYOY-26SEP-T3.0", "CPI year-on-year above 3.0% in September", 4400),
    ("KXBTCD-26AUG2717-T112999.99", "Bitcoin above $113,000 at 5pm", 6750),
    ("KXETHD-26AUG2717-T4199.99", "Ethereum above $4,200 at 5pm", 2300),
    ("KXHIGHNY-26AUG27-B88.5", "NYC high temperature 88-89°F today", 1850),
    ("KXMLBGAME-26AUG271905NYYBOS-NYY", "Yankees beat the Red Sox", 5400),
    ("KXNBAFINALS-27-BOS", "Celtics win the 2027 NBA Finals", 1600),
    ("KXGOVSHUT-26OCT01", "Government shutdown by October 1", 2700),
]
TITLES = {t: title for t, title, _ in MARKETS}
#: each market's ``previous_price_dollars`` (a day ago) and seconds from WALL to its close
PREVIOUS = [5100, 1200, 3600, 4400, 6050, 2900, 1500, None, 1700, 2200]
CLOSES_IN = [
    95 * 86_400,
    95 * 86_400,
    95 * 86_400,
    19 * 86_400 + 5 * 3600,
    40 * 60 + 30,
    45,  # the last minute: seconds
    2 * 3600 + 13 * 60,
    2 * 3600 + 50 * 60,
    280 * 86_400,
    34 * 86_400,
]
RECORDED_MARKET = "KXMAXSHARDINGTEST-26AUG2818-T65399.99"
GROUPS = {
    "macro": (*[t for t, _, _ in MARKETS[:4]], "KXGOVSHUT-26OCT01"),
    "crypto": ("KXBTCD-26AUG2717-T112999.99", "KXETHD-26AUG2717-T4199.99", RECORDED_MARKET),
    "sports": ("KXMLBGAME-26AUG271905NYYBOS-NYY", "KXNBAFINALS-27-BOS", "KXHIGHNY-26AUG27-B88.5"),
}
STALE_MARKET = "KXCPIYOY-26SEP-T3.0"
WEATHER_MARKET = "KXHIGHNY-26AUG27-B88.5"
REST_FIXTURES = Path(__file__).parents[1] / "fixtures" / "rest"


def dollars(units: int) -> str:
    return f"{units // 10_000}.{units % 10_000:04d}"


def size(units: int) -> str:
    return f"{units // 100}.{units % 100:02d}"


class _Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def frame(kind: str, sid: int = 1, seq: int | None = None, **msg: object) -> m.AnyMessage:
    """One wire-format frame, decoded: ``frame("ticker", 2, market_ticker=..., ...)``."""
    envelope: dict[str, object] = {"type": kind, "sid": sid, "msg": msg}
    if seq is not None:
        envelope["seq"] = seq
    return decode(json.dumps(envelope))


def _feed(store: Store, frame: dict[str, object]) -> m.AnyMessage:
    msg = decode(json.dumps(frame))
    store.apply(msg)
    return msg


def build_store(*, with_fills: bool = True) -> Store:
    rng = random.Random(7)
    clock = _Clock(NOW - 400)
    store = Store(clock=clock)
    seq = 0
    store.set_meta(
        [
            MarketMeta(
                t,
                title,
                event_ticker=t.rsplit("-", 1)[0],
                status="active",
                previous_price=PREVIOUS[n],
                close_ts=int(WALL) + CLOSES_IN[n],
            )
            for n, (t, title, _) in enumerate(MARKETS)
        ]
    )
    store.set_meta([MarketMeta(RECORDED_MARKET, "Sharding test market (recorded on demo)", status="active")])
    for n, (ticker, _, mid) in enumerate(MARKETS):
        clock.t = NOW - 300 + n
        seq += 1
        best_yes = mid - 100 * (1 + n % 2)
        best_no = 10_000 - mid - 100
        yes = [[dollars(best_yes - 100 * i), size(100 * rng.randint(5, 400))] for i in range(9)]
        no = [[dollars(best_no - 100 * i), size(100 * rng.randint(5, 400))] for i in range(7)]
        _feed(
            store,
            {
                "type": "orderbook_snapshot",
                "sid": 1,
                "seq": seq,
                "msg": {
                    "market_ticker": ticker,
                    "market_id": f"id-{n}",
                    "yes_dollars_fp": yes,
                    "no_dollars_fp": no,
                },
            },
        )
        last = mid + 100 * rng.choice((-2, -1, 0, 1, 2))
        opened = last + 100 * rng.choice((-3, -1, 0, 2, 4))
        for price in (opened, last):
            _feed(
                store,
                {
                    "type": "ticker",
                    "sid": 2,
                    "msg": {
                        "market_ticker": ticker,
                        "price_dollars": dollars(price),
                        "yes_bid_dollars": dollars(best_yes),
                        "yes_ask_dollars": dollars(10_000 - best_no),
                        "volume_fp": size(100 * rng.randint(1_000, 900_000)),
                        "open_interest_fp": size(100 * rng.randint(1_000, 90_000)),
                        "ts_ms": TS0 + n * 1000,
                    },
                },
            )
    # Deltas at staggered times so the Age column shows a spread of ages.
    for n, (ticker, _, mid) in enumerate(MARKETS):
        clock.t = NOW - [0.4, 3, 12, 95, 0.2, 7, 4000, 1.5, 30, 200][n]
        seq += 1
        _feed(
            store,
            {
                "type": "orderbook_delta",
                "sid": 1,
                "seq": seq,
                "msg": {
                    "market_ticker": ticker,
                    "price_dollars": dollars(mid - 300),
                    "delta_fp": size(2500),
                    "side": "yes",
                    "ts_ms": TS0 + 60_000 + n,
                },
            },
        )
    # One real recorded session: snapshots, a get_snapshot recovery, then deltas.
    clock.t = NOW - 2
    for line in RECORDED.read_text().splitlines():
        row = json.loads(line)
        if row.get("dir") == "recv":
            _feed(store, row["frame"])
    # Trades: a burst across markets, both taker sides, one block trade.
    for i in range(40):
        ticker, _, mid = MARKETS[rng.randrange(len(MARKETS))]
        price = mid + 100 * rng.randint(-2, 2)
        side = rng.choice(("yes", "no"))
        clock.t = NOW - 40 + i
        _feed(
            store,
            {
                "type": "trade",
                "sid": 3,
                "seq": i + 1,
                "msg": {
                    "trade_id": f"t-{i:04d}",
                    "market_ticker": ticker,
                    "yes_price_dollars": dollars(price),
                    "no_price_dollars": dollars(10_000 - price),
                    "count_fp": size(100 * rng.randint(1, 250)),
                    "taker_outcome_side": side,
                    "is_block_trade": i == 17,
                    "ts_ms": TS0 + 300_000 + i * 7_000,
                },
            },
        )
    if with_fills:
        position = 0
        for i in range(6):
            ticker, _, mid = MARKETS[i % 3]
            action = "buy" if i % 3 != 2 else "sell"
            count = 100 * (5 + 5 * i)
            position += count if action == "buy" else -count
            msg = decode(
                json.dumps(
                    {
                        "type": "fill",
                        "sid": 4,
                        "msg": {
                            "trade_id": f"f-{i:04d}",
                            "order_id": f"o-{i:04d}",
                            "market_ticker": ticker,
                            "is_taker": i % 2 == 0,
                            "outcome_side": "yes" if i != 4 else "no",
                            "book_side": "bid",
                            "action": action,
                            "yes_price_dollars": dollars(mid),
                            "count_fp": size(count),
                            "fee_cost": dollars(70 + 35 * i),
                            "post_position_fp": size(position),
                            "ts_ms": TS0 + 120_000 + i * 45_000,
                        },
                    }
                )
            )
            assert isinstance(msg, m.Fill)
            if i in (1, 2):
                msg = msgspec.structs.replace(msg, backfilled=True)
            store.add_fill(msg)
    if with_fills:
        _add_positions(store)
    # One market out of sync after a gap on its subscription.
    store.mark_stale([STALE_MARKET], "sequence gap on sid 1 (2 frames missed)")
    _fill_metrics(store)
    clock.t = NOW
    store.take_changes()
    return store


#: market_positions frames: a YES position deeper than the top bid, a fractional NO one, one on
#: the stale market (no mark), one on a market no group watches (no book).
POSITIONS = [
    ("KXFEDDECISION-26DEC-H0", "1234.56", "641.970000", "12.500000", "9.876543"),
    ("KXBTCD-26AUG2717-T112999.99", "-25.75", "8.240000", "-1.030001", "0.180251"),
    (STALE_MARKET, "10.00", "4.300000", "0.000000", "0.070000"),
    ("KXOTHER-26DEC-X", "-3.00", "1.500000", "0.000000", "0.030000"),
]


def _add_positions(store: Store) -> None:
    for ticker, position, cost, pnl, fees in POSITIONS:
        store.apply(
            frame(
                "market_position",
                5,
                market_ticker=ticker,
                position_fp=position,
                position_cost_dollars=cost,
                realized_pnl_dollars=pnl,
                fees_paid_dollars=fees,
                position_fee_cost_dollars=fees,
                volume_fp=position.lstrip("-"),
            )
        )


class FixedAccount:
    """The account as REST would report it, read through the real parsers; no network."""

    def __init__(self, *, settlements: bool = True, orders: bool = True) -> None:
        self.settlements = settlements
        self.orders = orders
        self.calls = 0

    async def account(self, *, now: float):  # -> Account (lazy import keeps this module light)
        from kalshi_tui.account import Account, balance_from_rest, order_from_rest, settlement_from_rest
        from kalshi_tui.portfolio import holding_from_rest

        self.calls += 1
        nba = holding_from_rest(
            {
                "ticker": "KXNBAFINALS-27-BOS",
                "position_fp": "40.00",
                "market_exposure_dollars": "6.000000",
                "realized_pnl_dollars": "0.450000",
                "fees_paid_dollars": "0.110000",
            }
        )
        settled = [
            settlement_from_rest(
                {
                    "ticker": "KXHIGHNY-26AUG26-B90.5",
                    "market_result": "yes",
                    "yes_count_fp": "10.00",
                    "no_count_fp": "0.00",
                    "yes_total_cost_dollars": "4.200000",
                    "no_total_cost_dollars": "0.000000",
                    "revenue": 1000,
                    "fee_cost": "0.070000",
                    "settled_time": "2026-08-27T05:00:00Z",
                }
            ),
            settlement_from_rest(
                {
                    "ticker": "KXGOVSHUT-26AUG15",
                    "market_result": "no",
                    "yes_count_fp": "2.50",
                    "no_count_fp": "0.00",
                    "yes_total_cost_dollars": "0.812500",
                    "no_total_cost_dollars": "0.000000",
                    "revenue": 0,
                    "fee_cost": "0.011375",
                    "settled_time": "2026-08-16T14:00:00Z",
                }
            ),
        ]
        orders = [
            order_from_rest(
                {
                    "order_id": "ord-1",
                    "ticker": "KXFEDDECISION-26DEC-H0",
                    "outcome_side": "yes",
                    "book_side": "bid",
                    "status": "resting",
                    "yes_price_dollars": "0.5100",
                    "remaining_count_fp": "9.50",
                    "initial_count_fp": "10.50",
                    "created_time": "2026-08-27T16:01:00Z",
                }
            ),
            order_from_rest(
                {
                    "order_id": "ord-2",
                    "ticker": "KXBTCD-26AUG2717-T112999.99",
                    "outcome_side": "no",
                    "book_side": "bid",
                    "status": "resting",
                    "yes_price_dollars": "0.7250",
                    "remaining_count_fp": "4.00",
                    "initial_count_fp": "4.00",
                    "created_time": "2026-08-27T16:10:00Z",
                }
            ),
        ]
        return Account(
            balance=balance_from_rest(
                {"balance": 987654, "balance_dollars": "9876.543210", "portfolio_value": 81234}
            ),
            holdings={nba.ticker: nba},
            settlements=settled if self.settlements else None,
            orders=orders if self.orders else None,
            as_of=WALL - 12,
            fetched_at=now,
        )


def _fill_metrics(store: Store) -> None:
    mt = store.metrics
    store.set_state(LIVE)
    mt.endpoint = "ws://127.0.0.1:8765/trade-api/ws/v2"
    mt.connected_since = WALL - 3725
    mt.reconnects = 2
    mt.messages = 1_482_113
    mt.bytes = 301_557_920
    mt.gaps = 3
    mt.resyncs = 3
    mt.drops = 2
    mt.ping_rtt = 0.0123
    rng = random.Random(3)
    for s in range(60):
        n = 400 + int(300 * abs((s % 20) - 10) / 10) + rng.randint(0, 80)
        mt.msg_rate.history.append(n)
        mt.byte_rate.history.append(n * 210)
    mt.errors_by_code.update({25: 1, 16: 2})
    mt.last_errors.extend(
        [
            ErrorEvent(WALL - 900, 16, "The exchange has no market with that ticker.", "KXNOPE-1"),
            ErrorEvent(WALL - 880, 16, "The exchange has no market with that ticker.", "KXNOPE-2"),
            ErrorEvent(
                WALL - 300,
                25,
                "The exchange dropped a subscription because it was read too slowly.",
                "sid 1: resubscribed",
            ),
        ]
    )
    rest = mt.rest
    rest.record_request("/markets", NOW - 70)  # over a minute ago: not in req/min
    for n, path in enumerate(("/markets", "/markets", "/markets/X", "/events/E", "/events/E/metadata")):
        rest.record_request(path, NOW - 50 + n)
    rest.rate_limited, rest.last_wait = 1, 1.5
    rest.cache_hits, rest.cache_misses = 7, 2
    rest.record_error("GET /events/KXNOPE: HTTP 404", WALL - 120)
    mt.subscriptions = [
        Subscription(0, "orderbook_delta", 1, 11),
        Subscription(0, "ticker", 2, 11),
        Subscription(0, "trade", 3, 11),
        Subscription(0, "fill", 4, 0),
    ]


def make_profile(**changes: object) -> Profile:
    fields: dict[str, object] = {"watchlists": GROUPS, "theme": "kalshi-dark"}
    fields.update(changes)
    return Profile.create("main", "demo", **fields)  # type: ignore[arg-type]


REPO_THEMES = Path(__file__).resolve().parents[2] / "themes"


@pytest.fixture
def utc() -> Iterator[None]:
    """Trade and fill times are shown in local time: pin it so every run draws the same."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def make_app(store: Store | None = None, **kwargs: object):  # -> KalshiApp (lazy import)
    """The app on the fixture store, a fixed clock, the repo's themes, no terminal watch."""
    from kalshi_tui.ui.app import KalshiApp

    kwargs.setdefault("profile", make_profile())
    kwargs.setdefault("theme_folders", [REPO_THEMES])
    kwargs.setdefault("clock", lambda: NOW)
    kwargs.setdefault("wall_clock", lambda: WALL)
    return KalshiApp(store or build_store(), watch_terminal=False, **kwargs)  # type: ignore[arg-type]


async def ticks(app: Any, pilot: Any, n: int) -> None:
    """``n`` refresh ticks now, each drawn: what the timer does, without waiting for it (a
    quiet app ticks once a second)."""
    for _ in range(n):
        app._tick()
        await pilot.pause()


def rest_fixture(name: str) -> dict:
    """One of tests/fixtures/rest/*.json: Kalshi's documented shapes."""
    return json.loads((REST_FIXTURES / f"{name}.json").read_text())


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def hourly_closes(n: int, mid: int, end_ts: int) -> list[tuple[int, int | None]]:
    """Market ``n``'s last 24 hourly closes up to ``end_ts``: a seeded walk, some hours tradeless."""
    from kalshi_tui.sparks import HOUR, hour_end

    rng = random.Random(n)
    last = hour_end(end_ts)
    price = mid
    out: list[tuple[int, int | None]] = []
    for k in range(24, -1, -1):
        price = max(100, min(9900, price + 100 * rng.randint(-3, 3)))
        out.append((last - k * HOUR, None if rng.random() < 0.2 else price))
    return out


class FakeRest:
    """The app's REST source answered from tests/fixtures/rest, no sockets: the market's
    times are moved next to WALL (closes in 2h13m, settles at the latest a week later)."""

    def __init__(self, clock: object = None) -> None:
        self.asked: list[str] = []
        self.candles_asked: list[list[str]] = []  # tickers of each candlestick call
        self.fail: set[str] = set()  # tickers whose details fail
        self.clock = clock or (lambda: NOW)

    async def markets(self, tickers: object = None, status: object = None, **_: object) -> list[MarketMeta]:
        return []

    async def candle_closes(
        self, tickers: list[str], start_ts: int, end_ts: int, **_: object
    ) -> dict[str, list[tuple[int, int | None]]]:
        self.candles_asked.append(list(tickers))
        mids = {t: (n, mid) for n, (t, _, mid) in enumerate(MARKETS)}
        return {t: hourly_closes(*mids[t], end_ts) for t in tickers if t in mids}

    async def series_ticker(self, event_ticker: str) -> str:
        self.asked.append(f"event {event_ticker}")
        return event_ticker.split("-")[0]

    async def candlesticks(self, series: str, ticker: str, start: int, end: int, period: int) -> list:
        """A seeded random walk in Kalshi's candle shape, read by the real parser; every
        seventh period has no trade (null prices: the previous close carries)."""
        from kalshi_tui.candles import candles_from_rest
        from kalshi_tui.rest import RestError

        self.asked.append(f"candles {ticker} {period}")
        if ticker in self.fail:
            raise RestError(f"GET /series/{series}/markets/{ticker}/candlesticks: HTTP 503")
        rng = random.Random(f"{ticker}:{period}")
        step = 60 * period
        mid = dict((t, p) for t, _, p in MARKETS).get(ticker, 5000)
        price, raws = mid, []
        # Up to the period in progress at ``end``, as Kalshi serves it.
        for n, end_ts in enumerate(range(start - start % step + step, end + step, step)):
            if n % 7 == 6:
                nulls = dict.fromkeys(("open", "low", "high", "close", "mean"))
                raws.append(
                    {
                        "end_period_ts": end_ts,
                        "price": {f"{k}_dollars": v for k, v in nulls.items()},
                        "volume_fp": "0.00",
                    }
                )
                continue
            opened = price
            price = min(9800, max(200, price + 100 * rng.randint(-2, 2)))
            high = max(opened, price) + 100 * rng.randint(0, 1)
            low = min(opened, price) - 100 * rng.randint(0, 1)
            raws.append(
                {
                    "end_period_ts": end_ts,
                    "price": {
                        "open_dollars": dollars(opened),
                        "high_dollars": dollars(high),
                        "low_dollars": dollars(low),
                        "close_dollars": dollars(price),
                        "previous_dollars": dollars(opened),
                    },
                    "volume_fp": size(100 * rng.randint(0, 300)),
                }
            )
        return candles_from_rest(raws)

    async def market_details(self, ticker: str) -> MarketDetails:
        from kalshi_tui.rest import RestError

        self.asked.append(ticker)
        if ticker in self.fail:
            raise RestError(f"GET /markets/{ticker}: HTTP 503")
        close = WALL + 2 * 3600 + 13 * 60
        market = {
            **rest_fixture("market")["market"],
            "ticker": ticker,
            "open_time": _iso(WALL - 3 * 86_400),
            "close_time": _iso(close),
            "expected_expiration_time": _iso(close + 3600),
            "latest_expiration_time": _iso(close + 7 * 86_400),
        }
        event = rest_fixture("event")["event"]
        # The fixture is NYC's high on Dec 2: retell it as the watchlist's NYC market of today.
        said = json.dumps([market, event])
        for old, new in (("Dec 2, 2026", "Aug 27, 2026"), ("26DEC02", "26AUG27"), ("46", "88"), ("47", "89")):
            said = said.replace(old, new)
        market, event = json.loads(said)
        market["ticker"] = ticker
        market["title"] = TITLES.get(ticker, market["title"])
        metadata = rest_fixture("event_metadata")
        return market_details(market, event, metadata, fetched_at=self.clock())  # type: ignore[operator]
