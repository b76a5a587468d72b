"""The YES ladder as Kalshi draws it, as pure rows: asks above, the spread, bids below.

Kalshi's book holds bids only. A NO bid at ``p`` is an offer to sell YES at ``1 - p``, so the
YES asks are the NO bids turned over: the best NO bid is the lowest ask, drawn just above the
spread row, the worse ones further up. Cumulative sizes count from the spread outwards on
both sides. No Textual here: the widget (``ui.depth``) only lays these rows out.
"""

from __future__ import annotations

from typing import NamedTuple

from kalshi_tui.book import NO, YES, OrderBook
from kalshi_tui.numbers import ONE_DOLLAR

ASK = "ask"
BID = "bid"
SPREAD = "spread"


class Row(NamedTuple):
    kind: str  # ASK, BID or SPREAD
    price: int  # the YES price shown, 1/10,000 $ (spread row: the spread; -1 = one side empty)
    size: int  # 1/100 contract
    cumulative: int  # from the spread outwards
    side: str  # the book side the level rests on (NO for asks): where own orders are keyed
    book_price: int  # its price on that side


def bucket(price: int, group: int) -> int:
    """The bucket (its floor) a price falls in when grouped by ``group`` (0: by tick)."""
    return price - price % group if group > 1 else price


def yes_ladder(book: OrderBook | None, group: int = 0, limit: int | None = None) -> tuple[list[Row], int]:
    """All rows top to bottom and the index of the spread row. ``limit``: levels per side."""
    if book is None:
        return [Row(SPREAD, -1, 0, 0, "", 0)], 0
    asks = [
        Row(ASK, ONE_DOLLAR - lv.price, lv.size, lv.cumulative, NO, lv.price)
        for lv in book.depth(NO, limit, group)
    ]
    bids = [Row(BID, lv.price, lv.size, lv.cumulative, YES, lv.price) for lv in book.depth(YES, limit, group)]
    spread = book.spread if book.spread is not None else -1  # the true one, whatever the grouping
    asks.reverse()  # the worst ask on top, the best just above the spread
    return [*asks, Row(SPREAD, spread, 0, 0, "", 0), *bids], len(asks)
