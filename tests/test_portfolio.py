"""Positions, marks and totals (kalshi_tui.portfolio): the ledger's P&L against an
independent calculation in exact fractions, the ladder walk against a brute force, and the
socket's and REST's names read into one type."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_tui.book import NO, YES, OrderBook
from kalshi_tui.numbers import MONEY_SCALE, ONE_DOLLAR, SIZE_SCALE
from kalshi_tui.portfolio import (
    OTHER,
    Holding,
    Ledger,
    evaluate,
    holding_from_rest,
    holding_from_socket,
    mark_at_bids,
    mark_at_mid,
    merge_holdings,
    totals_by_group,
)
from kalshi_tui.protocol import decode
from kalshi_tui.protocol import messages as m

fills_st = st.lists(
    st.tuples(
        st.sampled_from([YES, NO]),
        st.sampled_from(["buy", "sell"]),
        st.integers(1, ONE_DOLLAR - 1),  # YES price, 1/10,000 $
        st.integers(1, 50_000),  # 1/100 contract: fractional sizes
        st.integers(0, 2_000_000),  # fee, 1/1,000,000 $: six decimals
    ),
    max_size=40,
)


def make_fill(i: int, side: str, action: str, yes_price: int, count: int, fee: int) -> m.Fill:
    return m.Fill(
        trade_id=f"t{i}",
        order_id=f"o{i}",
        market_ticker="KX-A",
        side=side,
        action=action,
        yes_price=yes_price,
        count=count,
        fee=fee,
    )


def reference(fills: list[tuple[str, str, int, int, int]]) -> dict[str, Fraction]:
    """Exact dollars, held as YES and NO counts separately. Every fill becomes a buy (selling
    a side = buying the other at the complement), then YES+NO pairs pay $1 each; exact
    average cost (no rounding) decides what a closed pair had cost."""
    held = {YES: Fraction(0), NO: Fraction(0)}
    cost = {YES: Fraction(0), NO: Fraction(0)}
    cash = realized = fees = Fraction(0)
    for side, action, yes_price, count, fee in fills:
        n = Fraction(count, SIZE_SCALE)
        fees += Fraction(fee, MONEY_SCALE)
        own = Fraction(yes_price, ONE_DOLLAR) if side == YES else 1 - Fraction(yes_price, ONE_DOLLAR)
        bought, price = (side, own) if action == "buy" else ({YES: NO, NO: YES}[side], 1 - own)
        other = NO if bought == YES else YES
        cash -= n * price
        pairs = min(n, held[other])
        if pairs:
            share = cost[other] * pairs / held[other]
            realized += pairs - pairs * price - share
            cost[other] -= share
            held[other] -= pairs
            cash += pairs
        held[bought] += n - pairs
        cost[bought] += (n - pairs) * price
    return {
        "position": held[YES] - held[NO],
        "cost": cost[YES] + cost[NO],
        "cash": cash,
        "realized": realized,
        "fees": fees,
        "held_yes": held[YES],
        "held_no": held[NO],
    }


@settings(max_examples=300, deadline=None)
@given(fills_st)
def test_ledger_pnl_matches_an_independent_calculation(fills: list[tuple[str, str, int, int, int]]) -> None:
    ledger = Ledger()
    for i, f in enumerate(fills):
        ledger.apply(make_fill(i, *f))
    ref = reference(fills)
    h = ledger.holding("KX-A")
    if not fills:
        assert h is None
        return
    assert h is not None and h.cost is not None and h.realized_pnl is not None
    assert not (ref["held_yes"] and ref["held_no"])  # pairs always net out
    assert h.position == ref["position"] * SIZE_SCALE
    assert h.fees == ref["fees"] * MONEY_SCALE
    # Cash is exact whatever the rounding: realized - open cost is every dollar in and out.
    assert h.realized_pnl - h.cost == ref["cash"] * MONEY_SCALE
    # The cost share of a close is rounded down to 1/1,000,000 $: at most one unit per fill.
    assert abs(h.realized_pnl - ref["realized"] * MONEY_SCALE) <= len(fills)
    assert abs(h.cost - ref["cost"] * MONEY_SCALE) <= len(fills)
    if h.position == 0:
        assert h.cost == 0


@settings(max_examples=200, deadline=None)
@given(fills_st, st.integers(1, ONE_DOLLAR - 1))
def test_total_pnl_at_a_mark_is_cash_plus_what_is_held(
    fills: list[tuple[str, str, int, int, int]], bid: int
) -> None:
    """realized + unrealized (selling into a deep bid) = cash + held contracts at that bid."""
    ledger = Ledger()
    for i, f in enumerate(fills):
        ledger.apply(make_fill(i, *f))
    h = ledger.holding("KX-A")
    if h is None or h.position == 0:
        return
    book = OrderBook("KX-A")
    other = min(ONE_DOLLAR - bid - 1, 1)
    deep = 10**9
    levels = [(bid, deep)], ([(other, deep)] if other > 0 else [])
    yes, no = levels if h.position > 0 else levels[::-1]
    assert book.apply_snapshot(yes, no)
    row = evaluate(h, book)
    assert row.bids is not None and row.bids.unsold == 0 and row.unrealized is not None
    ref = reference(fills)
    held_value = abs(ref["position"]) * Fraction(bid, ONE_DOLLAR)
    assert h.realized_pnl is not None
    assert h.realized_pnl + row.unrealized == (ref["cash"] + held_value) * MONEY_SCALE


levels_st = st.dictionaries(st.integers(1, 4_999), st.integers(1, 5_000), max_size=8)


@given(levels_st, levels_st, st.integers(-60_000, 60_000))
def test_mark_walks_the_ladder_of_the_held_side(
    yes: dict[int, int], no: dict[int, int], position: int
) -> None:
    book = OrderBook("KX-A")
    assert book.apply_snapshot(yes.items(), no.items())
    mark = mark_at_bids(book, position)
    assert mark is not None
    # Brute force: sell one 1/100 contract at a time into the best bid left.
    bids = sorted((no if position < 0 else yes).items(), reverse=True)
    units = [price for price, size in bids for _ in range(size)][: abs(position)]
    assert mark.value == sum(units)
    assert mark.sold == len(units)
    assert mark.unsold == abs(position) - len(units)
    mid = mark_at_mid(book, position)
    if yes and no:
        yes_mid2 = max(yes) + ONE_DOLLAR - max(no)  # twice the YES mid
        own_mid2 = yes_mid2 if position >= 0 else 2 * ONE_DOLLAR - yes_mid2
        assert mid == abs(position) * own_mid2 // 2
    else:
        assert mid is None


def test_no_mark_from_a_book_out_of_sync() -> None:
    book = OrderBook("KX-A")
    assert mark_at_bids(book, 100) is None and mark_at_mid(book, 100) is None
    assert book.apply_snapshot([(4000, 100)], [(5000, 100)])
    book.desync("gap")
    row = evaluate(Holding("KX-A", 100, 400_000, 0, 0), book)
    assert row.bids is None and row.unrealized is None


def test_a_no_position_sells_into_no_bids_walking_down() -> None:
    book = OrderBook("KX-A")
    assert book.apply_snapshot([(4000, 10_000)], [(5500, 150), (5400, 100), (5000, 1000)])
    # 3 NO contracts, cost $1.35 (45¢ each): 1.5 at 55¢, 1 at 54¢, 0.5 at 50¢.
    row = evaluate(Holding("KX-A", -300, 1_350_000, 0, 0), book)
    assert row.holding.side == NO and row.holding.contracts == 300
    assert row.holding.avg_cost == 4500
    assert row.bids is not None and row.bids.value == 150 * 5500 + 100 * 5400 + 50 * 5000
    assert row.unrealized == 1_615_000 - 1_350_000
    assert row.mid == 300 * (5500 + ONE_DOLLAR - 4000) // 2
    assert row.exposure == 1_350_000


def test_socket_and_rest_names_read_into_one_type() -> None:
    frame = (
        b'{"type":"market_position","sid":3,"msg":{"market_ticker":"KX-A","position_fp":"-12.50",'
        b'"position_cost_dollars":"5.012345","realized_pnl_dollars":"-0.250001",'
        b'"fees_paid_dollars":"0.100003","volume_fp":"20.00"}}'
    )
    live = decode(frame)
    assert isinstance(live, m.MarketPosition)
    rest = holding_from_rest(
        {
            "ticker": "KX-A",
            "position_fp": "-12.50",
            "market_exposure_dollars": "5.012345",
            "total_traded_dollars": "9.000000",
            "realized_pnl_dollars": "-0.250001",
            "fees_paid_dollars": "0.100003",
            "last_updated_ts": "2026-01-01T00:00:00Z",
        }
    )
    from_socket = holding_from_socket(live)
    assert (
        (from_socket.position, from_socket.cost, from_socket.realized_pnl, from_socket.fees)
        == (
            rest.position,
            rest.cost,
            rest.realized_pnl,
            rest.fees,
        )
        == (-1250, 5_012_345, -250_001, 100_003)
    )
    assert rest.side == NO
    merged = merge_holdings([rest], [from_socket])
    assert merged["KX-A"] is from_socket


def test_totals_per_group_and_overall_count_each_position_once() -> None:
    book = OrderBook("KX-A")
    assert book.apply_snapshot([(6000, 10_000)], [(3000, 10_000)])
    rows = [
        evaluate(Holding("KX-A", 200, 1_000_000, 50_000, 1_000), book),
        evaluate(Holding("KX-B", -100, 300_000, -10_000, 2_000), None),  # no book: unmarked
        evaluate(Holding("KX-C", 0, 0, 70_000, 3_000), None),  # closed: realized only
    ]
    totals = totals_by_group(rows, {"macro": ["KX-A", "KX-B"], "all": ["KX-A", "KX-B", "KX-C"]})
    overall = totals[""]
    assert overall.positions == 2 and overall.unmarked == 1
    assert overall.cost == 1_300_000
    assert overall.value == 200 * 6000 and overall.unrealized == 200 * 6000 - 1_000_000
    assert overall.realized == 110_000 and overall.fees == 6_000
    assert totals["macro"].realized == 40_000 and totals["all"].realized == 110_000
    assert OTHER not in totals
    assert OTHER in totals_by_group(rows, {"macro": ["KX-A"]})
