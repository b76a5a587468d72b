"""Order books: exact against a plain reference model, and honest when out of sync."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_tui.book import NO, YES, OrderBook, SeqTracker, grouped
from kalshi_tui.protocol import OrderbookDelta, OrderbookSnapshot, Ticker, decode
from tests.frames import captured, recovery_session

prices = st.integers(min_value=1, max_value=9999)
sizes = st.integers(min_value=1, max_value=10**7)


@st.composite
def streams(draw: st.DrawFn) -> tuple[dict[int, int], dict[int, int], list[tuple[str, int, int]]]:
    """A snapshot whose sides never cross, then deltas that keep every level >= 0."""
    split = draw(st.integers(min_value=2, max_value=9998))
    yes = draw(st.dictionaries(st.integers(1, split - 1), sizes, max_size=15))
    no = draw(st.dictionaries(st.integers(1, 9999 - split), sizes, max_size=15))
    model = {YES: dict(yes), NO: dict(no)}
    ops = []
    for _ in range(draw(st.integers(0, 80))):
        side = draw(st.sampled_from([YES, NO]))
        limit = split - 1 if side == YES else 9999 - split
        price = draw(st.integers(1, limit))
        have = model[side].get(price, 0)
        delta = draw(st.integers(-have, 10**6).filter(lambda d: d != 0))
        model[side][price] = have + delta
        ops.append((side, price, delta))
    return yes, no, ops


def reference(
    yes: dict[int, int], no: dict[int, int], ops: list[tuple[str, int, int]]
) -> dict[str, dict[int, int]]:
    book = {YES: dict(yes), NO: dict(no)}
    for side, price, delta in ops:
        book[side][price] = book[side].get(price, 0) + delta
    return {side: {p: s for p, s in levels.items() if s} for side, levels in book.items()}


@settings(max_examples=300, deadline=None)
@given(streams())
def test_book_matches_reference_model(stream: tuple) -> None:
    yes, no, ops = stream
    book = OrderBook("M")
    assert book.apply_snapshot(yes.items(), no.items())
    for side, price, delta in ops:
        assert book.apply_delta(side, price, delta)
    want = reference(yes, no, ops)
    assert book.yes == want[YES] and book.no == want[NO]
    assert book.synced
    best_yes = max(want[YES]) if want[YES] else None
    best_no = max(want[NO]) if want[NO] else None
    assert (book.yes_bid.price if book.yes_bid else None) == best_yes
    assert (book.yes_ask.price if book.yes_ask else None) == (None if best_no is None else 10_000 - best_no)
    if best_no is not None:
        assert book.yes_ask is not None and book.yes_ask.size == want[NO][best_no]
    if best_yes is not None and best_no is not None:
        assert book.spread == 10_000 - best_no - best_yes
    depth = book.depth(YES)
    assert [d.price for d in depth] == sorted(want[YES], reverse=True)
    assert depth[-1].cumulative == sum(want[YES].values()) if depth else True


def test_delta_before_snapshot_is_not_applied() -> None:
    book = OrderBook("M")
    assert not book.apply_delta(YES, 5000, 100)
    assert not book.synced and book.yes == {}
    assert book.stale_reason == "delta before snapshot"


def test_negative_level_marks_out_of_sync() -> None:
    book = OrderBook("M")
    book.apply_snapshot([(4000, 500)], [(5000, 300)])
    assert not book.apply_delta(YES, 4000, -600)
    assert not book.synced and "negative" in (book.stale_reason or "")
    assert book.apply_snapshot([(4000, 500)], [])
    assert book.synced


def test_crossed_book_marks_out_of_sync() -> None:
    book = OrderBook("M")
    book.apply_snapshot([(4000, 500)], [(5000, 300)])  # YES ask = 50¢
    assert not book.apply_delta(YES, 5000, 100)  # YES bid 50¢ meets the ask
    assert not book.synced and "crossed" in (book.stale_reason or "")
    crossed = OrderBook("N")
    assert not crossed.apply_snapshot([(6000, 1)], [(5000, 1)])


def test_use_yes_price_matches_the_wire_ticker() -> None:
    """Captured: ticker yes_ask 0.5100 size 206.00 <-> no_dollars_fp [["0.5100", ...]]."""
    frames = {r["note"].split(";")[0]: r["frame"] for r in captured() if "WIRE_" in r["note"]}
    snap = decode(json.dumps(frames["WIRE_SNAPSHOT"]))
    tick = decode(json.dumps(frames["WIRE_TICKER"]))
    assert isinstance(snap, OrderbookSnapshot) and isinstance(tick, Ticker)
    book = OrderBook(snap.market_ticker)
    assert book.apply_snapshot(snap.yes, snap.no, no_on_yes_scale=True)
    assert book.yes_bid is not None and book.yes_bid.price == tick.yes_bid
    assert book.yes_ask is not None and book.yes_ask.price == 5100
    delta = decode(json.dumps(next(r["frame"] for r in captured() if r["note"].startswith("WIRE_DELTA"))))
    assert isinstance(delta, OrderbookDelta)
    book.apply_delta(delta.side, delta.price, delta.delta, no_on_yes_scale=True)
    assert book.yes_ask is not None
    assert (book.yes_ask.price, book.yes_ask.size) == (tick.yes_ask, tick.yes_ask_size)


def test_recorded_session_rebuilds_books_through_get_snapshot() -> None:
    books: dict[str, OrderBook] = {}
    tracker = SeqTracker()
    for frame in recovery_session():
        msg = decode(json.dumps(frame))
        if msg.sid is not None and msg.seq is not None:
            assert tracker.check(msg.sid, msg.seq) == 0
        if isinstance(msg, OrderbookSnapshot):
            books.setdefault(msg.market_ticker, OrderBook(msg.market_ticker)).apply_snapshot(
                msg.yes, msg.no, no_on_yes_scale=True
            )
        elif isinstance(msg, OrderbookDelta):
            assert books[msg.market_ticker].apply_delta(msg.side, msg.price, msg.delta, no_on_yes_scale=True)
    assert len(books) == 3 and all(b.synced for b in books.values())


def test_seq_tracker_counts_missing_frames() -> None:
    t = SeqTracker()
    assert [t.check(1, s) for s in (1, 2, 3)] == [0, 0, 0]
    assert t.check(1, 6) == 2
    assert t.check(1, 6) == 1  # repeated: not what we think it is
    assert t.check(2, 40) == 0  # first frame seen on a sid
    t.forget(1)
    assert t.check(1, 1) == 0


def test_grouping_rounds_bids_down_into_buckets() -> None:
    levels = [(5650, 100), (5610, 200), (5590, 50), (5000, 1)]
    assert grouped(levels, 100) == [(5600, 300), (5500, 50), (5000, 1)]
    assert grouped(levels, 500) == [(5500, 350), (5000, 1)]
    assert grouped(levels, 1) == levels
