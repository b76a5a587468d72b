"""The YES ladder's rows as pure data: asks from the NO bids, the spread row, grouping."""

from __future__ import annotations

from kalshi_tui.book import NO, YES, OrderBook, grouped
from kalshi_tui.ladder import ASK, BID, SPREAD, Row, bucket, yes_ladder


def book(yes: list[tuple[int, int]], no: list[tuple[int, int]]) -> OrderBook:
    b = OrderBook("T")
    assert b.apply_snapshot(yes, no)
    return b


def test_asks_are_the_no_bids_turned_over_above_the_spread_with_bids_below() -> None:
    # YES bids 45¢ x 10, 44¢ x 5; NO bids 52¢ x 3 (a YES ask at 48¢), 50¢ x 7 (at 50¢).
    rows, origin = yes_ladder(book([(4500, 1000), (4400, 500)], [(5200, 300), (5000, 700)]))
    assert rows == [
        Row(ASK, 5000, 700, 1000, NO, 5000),  # the worst ask on top; cumulative from the spread
        Row(ASK, 4800, 300, 300, NO, 5200),  # the best ask just above the spread
        Row(SPREAD, 300, 0, 0, "", 0),  # 48¢ - 45¢
        Row(BID, 4500, 1000, 1000, YES, 4500),
        Row(BID, 4400, 500, 1500, YES, 4400),
    ]
    assert origin == 2


def test_one_empty_side_still_has_a_spread_row_saying_so() -> None:
    rows, origin = yes_ladder(book([(4500, 100)], []))
    assert rows == [Row(SPREAD, -1, 0, 0, "", 0), Row(BID, 4500, 100, 100, YES, 4500)] and origin == 0
    assert yes_ladder(None) == ([Row(SPREAD, -1, 0, 0, "", 0)], 0)


def test_grouping_never_makes_a_zero_cent_level() -> None:
    # Bids at 0.5¢ and 3¢ fall in the 5¢ grouping's lowest bucket, whose floor is 0¢.
    levels = [(1200, 100), (1000, 100), (300, 200), (50, 400)]
    assert grouped(levels, 500) == [(1000, 200), (50, 600)]
    assert grouped(levels, 100) == [(1200, 100), (1000, 100), (300, 200), (50, 400)]
    assert grouped([(50, 400), (20, 1)], 100) == [(20, 401)]  # the lowest real price
    # The same on the NO side: a NO bid under 1¢ is never read as a YES ask at 100¢.
    rows, _ = yes_ladder(book([(300, 200), (50, 400)], [(9000, 10), (40, 5)]), group=500)
    assert [(r.kind, r.price, r.size) for r in rows] == [
        (ASK, 9960, 5),
        (ASK, 1000, 10),
        (SPREAD, 700, 0),
        (BID, 50, 600),
    ]
    assert 0 not in [r.price for r in rows if r.kind != SPREAD]
    assert all(0 < r.price < 10_000 for r in rows if r.kind != SPREAD)
    # Own orders are keyed by bucket: the lowest bucket's label falls in the same bucket.
    assert bucket(50, 500) == bucket(300, 500) == 0 and bucket(1234, 0) == 1234


def test_grouped_asks_round_up_and_bids_down() -> None:
    rows, _ = yes_ladder(book([(4550, 100), (4510, 100)], [(5250, 100), (5220, 100)]), group=100)
    # NO bids 52.5¢ and 52.2¢ share the 52¢ bucket: a YES ask of 48¢ (rounded up from 47.5¢).
    assert [(r.kind, r.price, r.size) for r in rows] == [
        (ASK, 4800, 200),
        (SPREAD, 200, 0),  # the true spread: 47.5¢ - 45.5¢
        (BID, 4500, 200),
    ]
