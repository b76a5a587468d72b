"""The demo account's resting orders: placed on the book, cancelled, filled when they are best.

Kept apart from the market's random process: the bookkeeper draws from its own generator
(seeded from the simulator's seed), so the market's sequence is the same whether or not
anyone watches the account. An order rests at the best bid of its side (joining that level,
so it is the one a taker hits next); it fills only while its price is still the best bid,
as a maker, and a taker's trade prints for it. Prices are on the order's own side's scale
(a NO bid at 0.44 is a YES price of 0.56), integers in 1/10,000 $ and 1/100 contract.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, replace

from kalshi_tui.book import NO, YES
from kalshi_tui.numbers import ONE_DOLLAR, SIZE_SCALE
from kalshi_tui.sim.engine import (
    DELTA,
    ORDER,
    TICKER,
    TRADE,
    Engine,
    ExchangeMarket,
    Output,
    TickerValues,
    TradeRecord,
)
from kalshi_tui.sim.universe import new_uuid

RESTING = "resting"
CANCELED = "canceled"
EXECUTED = "executed"
MAX_RESTING = 6
KEPT = 2000  # orders remembered (resting ones always), for REST


@dataclass(slots=True)
class UserOrder:
    order_id: str
    client_order_id: str
    ticker: str
    side: str  # outcome side bought: yes / no
    price: int  # on the side's own scale
    initial: int
    created_ms: int
    filled: int = 0
    status: str = RESTING
    maker_fees: int = 0  # 1/1,000,000 $
    updated_ms: int = 0
    reason: str = "created"  # last_update_reason

    @property
    def remaining(self) -> int:
        return 0 if self.status != RESTING else self.initial - self.filled

    @property
    def yes_price(self) -> int:
        return self.price if self.side == YES else ONE_DOLLAR - self.price

    @property
    def book_side(self) -> str:
        return "bid" if self.side == YES else "ask"


def attach_orders(engine: Engine, rate: float = 1 / 400) -> OrderBookkeeper:
    """Give the demo account resting orders that change every ~1/``rate`` steps, drawn from
    their own generator so the market's sequence for the seed is unchanged by them."""
    keeper = OrderBookkeeper(engine, random.Random(f"{engine.seed}:orders"), rate)
    engine.orders = keeper
    return keeper


class OrderBookkeeper:
    """The account's orders and the occasional change to them (every ~1/rate steps)."""

    def __init__(self, engine: Engine, rng: random.Random, rate: float) -> None:
        self.engine = engine
        self.rng = rng
        self.rate = rate
        self.orders: dict[str, UserOrder] = {}
        # (ticker, side, price) -> contracts resting there: the market's own cancels and
        # trades leave these alone.
        self.held: dict[tuple[str, str, int], int] = {}
        self._order: deque[str] = deque()  # ids, oldest first
        self._count = 0
        self.due = self._next_due() if rate > 0 else 1 << 62

    def _next_due(self) -> int:
        return self.engine.steps + 1 + int(self.rng.expovariate(self.rate))

    def resting(self) -> list[UserOrder]:
        return [o for o in self.orders.values() if o.status == RESTING]

    def act(self, out: list[Output]) -> None:
        self.due = self._next_due()
        rng = self.rng
        resting = self.resting()
        roll = rng.random()
        if len(resting) < 2 or (roll < 0.45 and len(resting) < MAX_RESTING):
            self.place(out)
        elif roll < 0.7:
            self.cancel(rng.choice(resting), out)
        else:
            self.fill(rng.choice(resting), out)

    # -- changes ----------------------------------------------------------------------------------

    def _emit(self, order: UserOrder, reason: str, out: list[Output]) -> None:

        engine = self.engine
        order.updated_ms = engine.ts_ms
        order.reason = reason
        # A copy: the frame says what the order was then, however it changes later.
        out.append(Output(ORDER, engine.states[order.ticker].market, replace(order), engine.ts_ms))

    def place(self, out: list[Output]) -> UserOrder | None:

        engine = self.engine
        if not engine.active:
            return None
        rng = self.rng
        st = engine.active[int(rng.random() * len(engine.active))]
        side = YES if rng.random() < 0.5 else NO
        own, other = (st.yes, st.no) if side == YES else (st.no, st.yes)
        if own:
            price = max(own)
        else:
            m = st.market
            fair = m.fair if side == YES else ONE_DOLLAR - m.fair
            i = max(0, m.grid.index_at_or_below(fair) - 1)
            limit = ONE_DOLLAR - max(other) if other else ONE_DOLLAR  # never cross the book
            while i >= 0 and m.grid.prices[i] >= limit:
                i -= 1
            if i < 0:
                return None
            price = m.grid.prices[i]
        count = rng.randrange(1, 40) * SIZE_SCALE
        if rng.random() < 0.3:
            count += rng.randrange(1, SIZE_SCALE)
        self._count += 1
        order = UserOrder(
            new_uuid(rng), f"sim-order-{self._count}", st.market.ticker, side, price, count, engine.ts_ms
        )
        own[price] = own.get(price, 0) + count
        out.append(Output(DELTA, st.market, (side, price, count), engine.ts_ms))
        self._hold(order, count)
        self._remember(order)
        self._emit(order, "created", out)
        self._ticker(st, out)
        return order

    def _hold(self, order: UserOrder, change: int) -> None:
        key = (order.ticker, order.side, order.price)
        left = self.held.get(key, 0) + change
        if left > 0:
            self.held[key] = left
        else:
            self.held.pop(key, None)

    def _remember(self, order: UserOrder) -> None:
        self.orders[order.order_id] = order
        self._order.append(order.order_id)
        while len(self._order) > KEPT:
            old = self.orders.get(self._order[0])
            if old is not None and old.status == RESTING:
                break
            self.orders.pop(self._order.popleft(), None)

    def cancel(self, order: UserOrder, out: list[Output]) -> None:

        engine = self.engine
        st = engine.states[order.ticker]
        own = st.yes if order.side == YES else st.no
        cut = min(own.get(order.price, 0), order.remaining)
        if cut:
            if cut == own[order.price]:
                del own[order.price]
            else:
                own[order.price] -= cut
            out.append(Output(DELTA, st.market, (order.side, order.price, -cut), engine.ts_ms))
        self._hold(order, -order.remaining)
        order.status = CANCELED
        self._emit(order, "canceled", out)
        self._ticker(st, out)

    def market_closed(self, st: ExchangeMarket, out: list[Output]) -> None:
        """The exchange cancels resting orders when a market closes (the book goes with them)."""
        for order in self.resting():
            if order.ticker == st.market.ticker:
                self._hold(order, -order.remaining)
                order.status = CANCELED
                self._emit(order, "market_closed", out)

    def fill(self, order: UserOrder, out: list[Output]) -> None:
        """A taker hits the order's level: only while it is still the best bid of its side."""

        engine = self.engine
        st = engine.states[order.ticker]
        own = st.yes if order.side == YES else st.no
        level = own.get(order.price, 0)
        if not level or order.price != max(own):
            return
        rng = self.rng
        count = min(level, order.remaining)
        if count > SIZE_SCALE and rng.random() < 0.5:
            count = rng.randrange(1, count // SIZE_SCALE + 1) * SIZE_SCALE
        if count == level:
            del own[order.price]
        else:
            own[order.price] = level - count
        ts = engine.ts_ms
        m = st.market
        out.append(Output(DELTA, m, (order.side, order.price, -count), ts))
        taker = NO if order.side == YES else YES
        trade = TradeRecord(new_uuid(rng), m.ticker, order.yes_price, count, taker, ts)
        st.trades.append(trade)
        engine.recent_trades.append(trade)
        st.last_price = trade.yes_price
        st.last_size = count
        st.volume += count
        st.dollar_volume += count * trade.yes_price
        st.open_interest += count
        out.append(Output(TRADE, m, trade, ts))
        self._ticker(st, out)
        fill = engine.record_fill(st, trade, order.side, False, order.order_id, out, count)
        self._hold(order, -count)
        order.filled += count
        order.maker_fees += fill.fee
        if order.filled >= order.initial:
            order.status = EXECUTED
        self._emit(order, "fill", out)

    def _ticker(self, st: ExchangeMarket, out: list[Output]) -> None:

        top = st.top_now()
        if top != st.top:
            st.top = top
            out.append(Output(TICKER, st.market, TickerValues(st), self.engine.ts_ms))
