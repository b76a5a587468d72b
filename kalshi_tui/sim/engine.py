"""The exchange's truth and the random process that moves it.

One ``random.Random(seed)`` drives everything: which market moves, adds, cancels, trades
that take the best level, the demo account's fills, and the rare lifecycle events. The
engine only counts steps; it never looks at the clock (the caller stamps ``ts_ms``), so a
seed gives the same sequence of outputs however fast or slow it is paced.

Books hold bids only, as Kalshi's do: YES bids and NO bids, both on their own price scale
(a NO bid at 0.44 is a YES ask at 0.56), integers in 1/10,000 dollar and 1/100 contract.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from math import ceil
from typing import Any, Protocol

from kalshi_tui.book import NO, YES, OrderBook
from kalshi_tui.numbers import MONEY_SCALE, ONE_DOLLAR, SIZE_SCALE
from kalshi_tui.protocol.commands import (
    CHANNEL_FILL,
    CHANNEL_LIFECYCLE,
    CHANNEL_ORDERBOOK,
    CHANNEL_POSITIONS,
    CHANNEL_TICKER,
    CHANNEL_TRADE,
)
from kalshi_tui.sim.universe import (
    STATUS_ACTIVE,
    STATUS_CLOSED,
    STATUS_DETERMINED,
    STATUS_FINALIZED,
    STATUS_INITIALIZED,
    Market,
    Universe,
    new_uuid,
)

# Output kinds: the channel that carries them (channel names live in protocol.commands).
DELTA = CHANNEL_ORDERBOOK
TICKER = CHANNEL_TICKER
TRADE = CHANNEL_TRADE
FILL = CHANNEL_FILL
POSITION = CHANNEL_POSITIONS
LIFECYCLE = CHANNEL_LIFECYCLE
ORDER = "user_orders"

MAX_LEVELS = 40  # per side; beyond this the process cancels instead of adding
TRADE_SHARE = 0.15
CANCEL_SHARE = 0.38
DRIFT_CHANCE = 0.03
TAKER_FEE = Fraction(7, 100)  # Kalshi's general fee: rate * C * P * (1 - P), rounded up
MAKER_FEE = Fraction(175, 10_000)
START_BALANCE = 10_000 * MONEY_SCALE  # $10,000; the account's money is in 1/1,000,000 dollar
MAX_FILLS = 100_000  # the demo account's history kept for REST backfill; older fills drop off


class Output:
    """One thing that happened, for one channel. ``frames.body`` encodes its wire body on
    first use and caches it here: every subscriber of that channel shares the same bytes."""

    __slots__ = ("body_cache", "body_yes_cache", "data", "kind", "market", "ts_ms")

    def __init__(self, kind: str, market: Market, data: object, ts_ms: int) -> None:
        self.kind = kind
        self.market = market
        self.data = data
        self.ts_ms = ts_ms
        self.body_cache: bytes | None = None
        self.body_yes_cache: bytes | None = None  # a NO delta quoted on the YES scale

    @property
    def ticker(self) -> str:
        return self.market.ticker

    def __repr__(self) -> str:
        return f"Output({self.kind}, {self.ticker}, {self.data!r})"


class TickerValues:
    """What a ticker frame says about one market at one moment."""

    __slots__ = (
        "dollar_oi",
        "dollar_volume",
        "last_price",
        "last_size",
        "oi",
        "volume",
        "yes_ask",
        "yes_ask_size",
        "yes_bid",
        "yes_bid_size",
    )

    def __init__(self, st: ExchangeMarket) -> None:
        yb = max(st.yes) if st.yes else None
        nb = max(st.no) if st.no else None
        # An empty side reads as bid 0 / ask 1 with size 0, as the exchange sends it.
        self.yes_bid = 0 if yb is None else yb
        self.yes_bid_size = 0 if yb is None else st.yes[yb]
        self.yes_ask = ONE_DOLLAR if nb is None else ONE_DOLLAR - nb
        self.yes_ask_size = 0 if nb is None else st.no[nb]
        self.last_price = st.last_price
        self.last_size = st.last_size
        self.volume = st.volume
        self.oi = st.open_interest
        self.dollar_volume = st.dollar_volume // 1_000_000
        self.dollar_oi = st.open_interest * (st.last_price or ONE_DOLLAR // 2) // 1_000_000


class ExchangeMarket:
    """The exchange's live state of one market (the client's view is ``store.MarketState``)."""

    __slots__ = (
        "dollar_volume",
        "last_price",
        "last_size",
        "market",
        "no",
        "open_interest",
        "start",
        "top",
        "trades",
        "volume",
        "yes",
    )

    def __init__(self, market: Market) -> None:
        self.market = market
        self.yes: dict[int, int] = {}
        self.no: dict[int, int] = {}
        self.last_price = 0  # 0 = no trade yet ("0.0000" on the wire, as the exchange sends)
        self.last_size = 0
        self.volume = 0
        self.open_interest = 0
        self.dollar_volume = 0  # in 1e-6 dollar (price units x size units)
        # (yes bid, yes ask, last price, open interest, volume) when the simulator started:
        # where the seeded history before it ends (REST candles, 24 h change and volume).
        self.start: tuple[int, int, int, int, int] = (0, ONE_DOLLAR, 0, 0, 0)
        self.top: tuple[int, int, int, int] = (0, 0, 0, 0)
        self.trades: deque[TradeRecord] = deque(maxlen=500)

    def top_now(self) -> tuple[int, int, int, int]:
        yb = max(self.yes) if self.yes else 0
        nb = max(self.no) if self.no else 0
        return (yb, self.yes.get(yb, 0), nb, self.no.get(nb, 0))


@dataclass(slots=True)
class TradeRecord:
    trade_id: str
    ticker: str
    yes_price: int
    count: int
    taker_side: str  # outcome side of the taker
    ts_ms: int

    @property
    def no_price(self) -> int:
        return ONE_DOLLAR - self.yes_price


@dataclass(slots=True)
class UserFill:
    """One fill of the demo account. Money in 1/10,000 dollar, counts in 1/100 contract."""

    trade_id: str
    order_id: str
    client_order_id: str
    ticker: str
    side: str  # outcome side bought: yes / no
    action: str
    yes_price: int
    count: int
    fee: int
    is_taker: bool
    post_position: int
    ts_ms: int

    @property
    def no_price(self) -> int:
        return ONE_DOLLAR - self.yes_price

    @property
    def book_side(self) -> str:
        # Buying YES is a bid in the YES book; buying NO is the same as selling YES: an ask.
        return "bid" if self.side == YES else "ask"


@dataclass(slots=True)
class Position:
    ticker: str
    position: int = 0  # 1/100 contract; > 0 holds YES, < 0 holds NO
    # money, 1/1,000,000 dollar: a price (1/10,000) times a size (1/100), exactly
    cost: int = 0  # what the open contracts cost
    realized_pnl: int = 0
    fees: int = 0
    volume: int = 0
    updated_ms: int = 0


class AccountOrders(Protocol):
    """What the engine asks of the demo account's order bookkeeper (``account``)."""

    held: dict[tuple[str, str, int], int]  # (ticker, side, price) -> contracts resting there
    due: int  # the step of its next change
    orders: dict[str, Any]  # by order id, oldest first

    def resting(self) -> list[Any]: ...

    def act(self, out: list[Output]) -> None: ...

    def market_closed(self, st: ExchangeMarket, out: list[Output]) -> None: ...


class NoOrders:
    """An account without resting orders."""

    def __init__(self) -> None:
        self.held: dict[tuple[str, str, int], int] = {}
        self.due = 1 << 62
        self.orders: dict[str, Any] = {}

    def act(self, out: list[Output]) -> None:
        del out

    def market_closed(self, st: ExchangeMarket, out: list[Output]) -> None:
        del st, out

    def resting(self) -> list[Any]:
        return []


@dataclass(slots=True)
class Settlement:
    """A position the demo account held when its market settled. Money in 1/1,000,000 $."""

    ticker: str
    event_ticker: str
    result: str
    yes_count: int
    no_count: int
    yes_cost: int
    no_cost: int
    revenue: int
    fees: int
    settled_ts: int


def fee_for(count: int, price: int, rate: Fraction) -> int:
    """Kalshi's fee in 1/1,000,000 dollar, rounded up to that unit: on fractional contracts
    it has six decimals on the wire ("0.012345")."""
    dollars = (
        rate
        * Fraction(count, SIZE_SCALE)
        * Fraction(price, ONE_DOLLAR)
        * Fraction(ONE_DOLLAR - price, ONE_DOLLAR)
    )
    return ceil(dollars * MONEY_SCALE)


class Engine:
    """The exchange's state and its seeded random process."""

    def __init__(
        self,
        seed: int,
        markets: int,
        *,
        lifecycle_rate: float = 1 / 20_000,
        user_share: float = 0.05,
        quiet: int | None = None,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        # Markets with genuinely empty books: one in ten beyond the active ones by default.
        self.universe = Universe(
            self.rng,
            markets,
            quiet=markets // 10 if quiet is None else quiet,
            quiet_rng=random.Random(f"{seed}:quiet"),
        )
        self.trading = True  # False: the exchange paused trading; books still change, nothing trades
        self.lifecycle_rate = lifecycle_rate
        self.user_share = user_share
        self.states: dict[str, ExchangeMarket] = {}
        self.active: list[ExchangeMarket] = []
        self.fills: deque[UserFill] = deque(maxlen=MAX_FILLS)
        self._fill_count = 0
        self.positions: dict[str, Position] = {}
        self.settlements: list[Settlement] = []
        self.balance = START_BALANCE
        self.recent_trades: deque[TradeRecord] = deque(maxlen=10_000)  # every market, for REST
        self.steps = 0
        self.ts_ms = 0  # stamped by the caller before each batch; never read for decisions
        self._schedule: list[tuple[int, int, Callable[[list[Output]], None]]] = []
        self._scheduled = 0
        for m in self.universe.markets.values():
            st = ExchangeMarket(m)
            self.states[m.ticker] = st
            if m.status == STATUS_ACTIVE and not m.quiet:
                self.active.append(st)
                self._seed_book(st)
            elif m.status in (STATUS_FINALIZED, STATUS_DETERMINED):
                st.last_price = ONE_DOLLAR if m.result == YES else 0
        for st in self.states.values():
            st.top = st.top_now()
            v = TickerValues(st)
            st.start = (v.yes_bid, v.yes_ask, st.last_price, st.open_interest, st.volume)
        # The demo account's resting orders draw from their own generator, so the market's
        # random sequence (and the recorded stream) is the same with or without them.
        self._past_settlements(random.Random(f"{seed}:settlements"))
        # The demo account's resting orders: none unless ``account.attach_orders`` gives
        # it a bookkeeper (the simulator does).
        self.orders: AccountOrders = NoOrders()

    def _past_settlements(self, rng: random.Random) -> None:
        """Positions the demo account held in the November markets that settled before the
        simulator started (history only: the balance already counts them)."""
        for m in self.universe.markets.values():
            if m.status != STATUS_FINALIZED:
                continue
            count = rng.randrange(1, 60) * SIZE_SCALE
            price = rng.randrange(5, 95) * 100
            yes = rng.random() < 0.5
            won = yes == (m.result == YES)
            cost = count * (price if yes else ONE_DOLLAR - price)
            fees = fee_for(count, price, TAKER_FEE)
            self.settlements.append(
                Settlement(
                    m.ticker,
                    m.event_ticker,
                    m.result,
                    count if yes else 0,
                    0 if yes else count,
                    cost if yes else 0,
                    0 if yes else cost,
                    count * ONE_DOLLAR if won else 0,
                    fees,
                    m.close_ts + m.settlement_timer_seconds,
                )
            )

    # -- reading the truth -------------------------------------------------------------------

    def state(self, ticker: str) -> ExchangeMarket:
        return self.states[ticker]

    def book(self, ticker: str) -> OrderBook:
        """The exact book as an ``OrderBook`` (NO bids on the NO scale)."""
        st = self.states[ticker]
        ob = OrderBook(ticker)
        ob.apply_snapshot(list(st.yes.items()), list(st.no.items()))
        return ob

    def ticker_values(self, ticker: str) -> TickerValues:
        return TickerValues(self.states[ticker])

    # -- the process ---------------------------------------------------------------------------

    def run(self, n: int) -> list[Output]:
        out: list[Output] = []
        for _ in range(n):
            self.step(out)
        return out

    def step(self, out: list[Output]) -> None:
        """Advance one step, appending what happened to ``out``."""
        self.steps += 1
        rng = self.rng
        while self._schedule and self._schedule[0][0] <= self.steps:
            heapq.heappop(self._schedule)[2](out)
        if self.steps >= self.orders.due:
            self.orders.act(out)
        if self.lifecycle_rate and rng.random() < self.lifecycle_rate:
            self._close_random(out)
        active = self.active
        if not active:
            return
        st = active[int(rng.random() * len(active))]
        if rng.random() < DRIFT_CHANCE:
            self._drift(st)
        r = rng.random()
        if r < TRADE_SHARE and self.trading:
            self._trade(st, out)
        elif r < TRADE_SHARE + CANCEL_SHARE:
            self._cancel(st, out)
        else:
            self._add(st, out)
        top = st.top_now()
        if top != st.top:
            st.top = top
            out.append(Output(TICKER, st.market, TickerValues(st), self.ts_ms))

    def _size(self) -> int:
        rng = self.rng
        size = (int(rng.expovariate(1 / 120)) + 1) * SIZE_SCALE
        if rng.random() < 0.15:  # fractional contracts exist on the wire
            size += rng.randrange(1, SIZE_SCALE)
        return size

    def _seed_book(self, st: ExchangeMarket) -> None:
        rng = self.rng
        for _ in range(rng.randrange(6, 16)):
            self._place(st, rng.random() < 0.5, out=None)
        st.volume = rng.randrange(0, 200_000) * SIZE_SCALE
        st.open_interest = st.volume // rng.randrange(2, 6)
        st.dollar_volume = st.volume * st.market.fair
        if st.volume:
            st.last_price = st.market.fair

    def _drift(self, st: ExchangeMarket) -> None:
        prices = st.market.grid.prices
        i = st.market.grid.index_at_or_below(st.market.fair) + self.rng.choice((-2, -1, 1, 2))
        st.market.fair = prices[max(3, min(len(prices) - 4, i))]

    def _place(self, st: ExchangeMarket, yes_side: bool, out: list[Output] | None) -> None:
        rng = self.rng
        m = st.market
        own, other = (st.yes, st.no) if yes_side else (st.no, st.yes)
        if len(own) >= MAX_LEVELS:
            self._cancel_level(st, yes_side, min(own), out)
            return
        prices = m.grid.prices
        fair = m.fair if yes_side else ONE_DOLLAR - m.fair
        # Bids rest at least one tick below fair value, most of them close to it.
        i = m.grid.index_at_or_below(fair) - 1 - int(rng.expovariate(0.3))
        limit = ONE_DOLLAR - max(other) if other else ONE_DOLLAR  # never cross the book
        while i >= 0 and prices[i] >= limit:
            i -= 1
        if i < 0:
            return
        price = prices[i]
        size = self._size()
        own[price] = own.get(price, 0) + size
        if out is not None:
            out.append(Output(DELTA, m, (YES if yes_side else NO, price, size), self.ts_ms))

    def _add(self, st: ExchangeMarket, out: list[Output]) -> None:
        self._place(st, self.rng.random() < 0.5, out)

    def _cancel(self, st: ExchangeMarket, out: list[Output]) -> None:
        yes_side = self.rng.random() < 0.5
        if not (st.yes if yes_side else st.no):
            yes_side = not yes_side
        levels = st.yes if yes_side else st.no
        if not levels:
            self._add(st, out)
            return
        self._cancel_level(st, yes_side, self.rng.choice(list(levels)), out)

    def _cancel_level(
        self, st: ExchangeMarket, yes_side: bool, price: int, out: list[Output] | None, *, full: bool = False
    ) -> None:
        levels = st.yes if yes_side else st.no
        size = levels[price]
        whole = size // SIZE_SCALE
        if not full and whole >= 2 and self.rng.random() < 0.5:
            cut = self.rng.randrange(1, whole) * SIZE_SCALE
        else:
            cut = size
        held = self.orders.held
        if held and not full:
            # Others cancel their own orders, never the demo account's resting ones.
            cut = min(cut, size - held.get((st.market.ticker, YES if yes_side else NO, price), 0))
            if cut <= 0:
                return
        if cut == size:
            del levels[price]
        else:
            levels[price] = size - cut
        if out is not None:
            out.append(Output(DELTA, st.market, (YES if yes_side else NO, price, -cut), self.ts_ms))

    def _trade(self, st: ExchangeMarket, out: list[Output]) -> None:
        rng = self.rng
        taker_yes = rng.random() < 0.5
        # A YES taker lifts the YES ask, i.e. takes the best NO bid, and vice versa.
        hit = st.no if taker_yes else st.yes
        if not hit:
            taker_yes = not taker_yes
            hit = st.no if taker_yes else st.yes
            if not hit:
                self._add(st, out)
                return
        price = max(hit)
        size = hit[price]
        count = min(size, self._size())
        held = self.orders.held
        if held:
            # The demo account joined the level last: others' orders fill first (its own
            # fills come from the bookkeeper).
            count = min(count, size - held.get((st.market.ticker, NO if taker_yes else YES, price), 0))
            if count <= 0:
                return
        if count == size:
            del hit[price]
        else:
            hit[price] = size - count
        m = st.market
        ts = self.ts_ms
        out.append(Output(DELTA, m, (NO if taker_yes else YES, price, -count), ts))
        yes_price = ONE_DOLLAR - price if taker_yes else price
        trade = TradeRecord(new_uuid(rng), m.ticker, yes_price, count, YES if taker_yes else NO, ts)
        st.trades.append(trade)
        self.recent_trades.append(trade)
        st.last_price = yes_price
        st.last_size = count
        st.volume += count
        st.dollar_volume += count * yes_price
        if rng.random() < 0.5:
            st.open_interest += count
        else:
            st.open_interest = max(0, st.open_interest - count)
        out.append(Output(TRADE, m, trade, ts))
        st.top = st.top_now()
        out.append(Output(TICKER, m, TickerValues(st), ts))
        if count >= SIZE_SCALE and rng.random() < self.user_share:
            self._user_fill(st, trade, out)

    # -- the demo account ----------------------------------------------------------------------

    def _user_fill(self, st: ExchangeMarket, trade: TradeRecord, out: list[Output]) -> None:
        rng = self.rng
        is_taker = rng.random() < 0.6
        # As taker the user bought the taker's side; as maker, the resting bid that was hit.
        side = trade.taker_side if is_taker else (NO if trade.taker_side == YES else YES)
        self.record_fill(st, trade, side, is_taker, new_uuid(rng), out)

    def record_fill(
        self,
        st: ExchangeMarket,
        trade: TradeRecord,
        side: str,
        is_taker: bool,
        order_id: str,
        out: list[Output],
        count: int | None = None,
    ) -> UserFill:
        """The demo account's part of ``trade`` (all of it unless ``count``): fee, position,
        balance, and the fill and market_position frames."""
        if count is None:
            count = trade.count  # fractional contracts exist: costs and fees reach 1/1,000,000 $
        side_price = trade.yes_price if side == YES else trade.no_price
        fee = fee_for(count, side_price, TAKER_FEE if is_taker else MAKER_FEE)
        pos = self.positions.get(st.market.ticker)
        if pos is None:
            pos = self.positions[st.market.ticker] = Position(st.market.ticker)
        self._apply_fill(pos, side, side_price, count, fee)
        pos.updated_ms = trade.ts_ms
        self._fill_count += 1
        fill = UserFill(
            trade.trade_id,
            order_id,
            f"sim-{self._fill_count}",
            st.market.ticker,
            side,
            "buy",
            trade.yes_price,
            count,
            fee,
            is_taker,
            pos.position,
            trade.ts_ms,
        )
        self.fills.append(fill)
        out.append(Output(FILL, st.market, fill, trade.ts_ms))
        out.append(Output(POSITION, st.market, _copy(pos), trade.ts_ms))
        return fill

    def _apply_fill(self, pos: Position, side: str, side_price: int, count: int, fee: int) -> None:
        """Average-cost accounting with YES/NO netting: buying the side opposite to what
        is held closes that many pairs, each worth $1."""
        signed = count if side == YES else -count
        self.balance -= count * side_price + fee  # size x price is money, exactly
        pos.fees += fee
        pos.volume += count
        held = abs(pos.position)
        if pos.position == 0 or (pos.position > 0) == (signed > 0):
            pos.position += signed
            pos.cost += count * side_price
            return
        closed = min(count, held)
        basis = pos.cost * closed // held
        # Each closed pair pays $1: proceeds of selling the held side at 1 - side_price.
        pos.realized_pnl += closed * ONE_DOLLAR - closed * side_price - basis
        self.balance += closed * ONE_DOLLAR
        pos.cost -= basis
        pos.position += closed if signed > 0 else -closed
        rest = count - closed
        if rest:
            pos.position += rest if signed > 0 else -rest
            pos.cost = rest * side_price

    # -- lifecycle ----------------------------------------------------------------------------

    def _at(self, delay: int, action: Callable[[list[Output]], None]) -> None:
        self._scheduled += 1  # tie-breaker keeps the heap from comparing callables
        heapq.heappush(self._schedule, (self.steps + delay, self._scheduled, action))

    def _lifecycle(self, m: Market, msg: dict[str, object], out: list[Output]) -> None:
        out.append(Output(LIFECYCLE, m, msg, self.ts_ms))

    def _close_random(self, out: list[Output]) -> None:
        if len(self.active) < 2:
            return
        st = self.active.pop(int(self.rng.random() * len(self.active)))
        self.close_market(st.market.ticker, out)

    def close_market(self, ticker: str, out: list[Output]) -> None:
        """Close early: resting orders are cancelled, then determination and settlement
        follow a few steps later, and a fresh market of the same kind is listed."""
        st = self.states[ticker]
        if st in self.active:
            self.active.remove(st)
        m = st.market
        m.status = STATUS_CLOSED
        m.updated_ts = self.ts_ms // 1000
        close_s = self.ts_ms // 1000
        m.close_ts = close_s
        self._lifecycle(
            m, {"market_ticker": m.ticker, "event_type": "close_date_updated", "close_ts": close_s}, out
        )
        self.orders.market_closed(st, out)
        for yes_side, levels in ((True, st.yes), (False, st.no)):
            for price in sorted(levels):
                self._cancel_level(st, yes_side, price, out, full=True)
        st.top = st.top_now()
        out.append(Output(TICKER, m, TickerValues(st), self.ts_ms))
        result = YES if self.rng.random() < m.fair / ONE_DOLLAR else NO
        self._at(20, lambda o: self._determine(st, result, o))
        self._at(60, lambda o: self._settle(st, o))
        self._at(1, self._list_new)

    def _determine(self, st: ExchangeMarket, result: str, out: list[Output]) -> None:
        m = st.market
        m.status = STATUS_DETERMINED
        m.updated_ts = self.ts_ms // 1000
        m.result = result
        self._lifecycle(
            m,
            {
                "market_ticker": m.ticker,
                "event_type": "determined",
                "result": result,
                "determination_ts": self.ts_ms // 1000,
                "settlement_value": "1.0000" if result == YES else "0.0000",
            },
            out,
        )

    def _settle(self, st: ExchangeMarket, out: list[Output]) -> None:
        m = st.market
        m.status = STATUS_FINALIZED
        m.updated_ts = self.ts_ms // 1000
        self._lifecycle(
            m, {"market_ticker": m.ticker, "event_type": "settled", "settled_ts": self.ts_ms // 1000}, out
        )
        pos = self.positions.get(m.ticker)
        if pos is not None and pos.position:
            won = (pos.position > 0) == (m.result == YES)
            payout = abs(pos.position) * ONE_DOLLAR if won else 0
            held, cost = abs(pos.position), pos.cost
            self.settlements.append(
                Settlement(
                    m.ticker,
                    m.event_ticker,
                    m.result,
                    held if pos.position > 0 else 0,
                    held if pos.position < 0 else 0,
                    cost if pos.position > 0 else 0,
                    cost if pos.position < 0 else 0,
                    payout,
                    pos.fees,
                    self.ts_ms // 1000,
                )
            )
            self.balance += payout
            pos.realized_pnl += payout - pos.cost
            pos.position = 0
            pos.cost = 0
            pos.updated_ms = self.ts_ms
            out.append(Output(POSITION, m, _copy(pos), self.ts_ms))

    def _list_new(self, out: list[Output]) -> None:
        m = self.universe.next_market()
        m.status = STATUS_INITIALIZED
        m.updated_ts = self.ts_ms // 1000
        self.universe.markets[m.ticker] = m
        st = ExchangeMarket(m)
        self.states[m.ticker] = st
        self._lifecycle(
            m,
            {
                # The documented "created" shape; the tick grid's ranges come from REST.
                "market_ticker": m.ticker,
                "event_type": "created",
                "exchange_index": 0,
                "open_ts": m.open_ts,
                "close_ts": m.close_ts,
                "price_level_structure": m.grid.structure,
                "additional_metadata": {
                    "name": m.subtitle,
                    "title": m.title,
                    "yes_sub_title": m.yes_sub_title,
                    "no_sub_title": m.no_sub_title,
                    "rules_primary": m.rules_primary,
                    "event_ticker": m.event_ticker,
                    "strike_type": m.strike_type,
                    "can_close_early": True,
                },
            },
            out,
        )
        self._at(5, lambda o: self._activate(st, o))

    def _activate(self, st: ExchangeMarket, out: list[Output]) -> None:
        st.market.status = STATUS_ACTIVE
        st.market.updated_ts = self.ts_ms // 1000
        self.active.append(st)
        self._lifecycle(
            st.market,
            {"market_ticker": st.market.ticker, "event_type": "activated", "is_deactivated": False},
            out,
        )


def _copy(pos: Position) -> Position:
    return Position(
        pos.ticker, pos.position, pos.cost, pos.realized_pnl, pos.fees, pos.volume, pos.updated_ms
    )
