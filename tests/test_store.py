"""Store, backoff and the event buffer: pure state, no sockets."""

from __future__ import annotations

import random

from kalshi_tui.account import RestingOrder
from kalshi_tui.protocol import messages as m
from kalshi_tui.store import BOOK_BROKEN, BOOK_UNSYNCED, DOWN, LIVE, RECONNECTING, Store
from kalshi_tui.stream.backoff import Backoff


def _delta(ticker: str, price: int, delta: int, seq: int = 1) -> m.OrderbookDelta:
    return m.OrderbookDelta(sid=1, seq=seq, market_ticker=ticker, side="yes", price=price, delta=delta)


def _fill(trade_id: str, ts_ms: int, fee: int = 0) -> m.Fill:
    return m.Fill(
        trade_id=trade_id,
        order_id="o",
        market_ticker="M",
        side="yes",
        action="buy",
        yes_price=5000,
        count=100,
        fee=fee,
        ts_ms=ts_ms,
    )


def _order(oid: str, status: str = "resting", remaining: int = 500, ticker: str = "M") -> m.UserOrder:
    return m.UserOrder(
        sid=3,
        order_id=oid,
        market_ticker=ticker,
        status=status,
        side="yes",
        book_side="bid",
        yes_price=4200,
        filled=1000 - remaining,
        remaining=remaining,
        initial=1000,
        created_ts_ms=1_700_000_000_000,
    )


def _rest_order(oid: str, ticker: str = "M", remaining: int = 500) -> RestingOrder:
    return RestingOrder(oid, ticker, "yes", "bid", 4200, remaining, 1000, created_at=1_700_000_000.0)


def test_user_orders_keep_the_resting_orders_by_id() -> None:
    store = Store()
    store.apply(_order("a"))
    store.apply(_order("b", ticker="N"))
    assert store.take_changes().orders == {"M", "N"}
    assert store.orders["a"] == _rest_order("a")  # same order whichever way it came
    store.apply(_order("a", remaining=200))  # part filled: still resting, less left
    assert store.orders["a"].remaining == 200 and store.take_changes().orders == {"M"}
    store.apply(_order("a", "executed", 0))
    store.apply(_order("b", "canceled", 300, ticker="N"))
    assert store.orders == {} and store.take_changes().orders == {"M", "N"}
    store.apply(_order("z", "canceled", 0))  # an order never seen resting ends: nothing moves
    assert not store.take_changes()


def test_rest_seeds_the_orders_but_frames_newer_than_the_request_win() -> None:
    store = Store()
    store.apply(_order("old"))  # before the request: REST's answer is newer
    mark = store.order_mark()
    store.apply(_order("new"))  # created while the request was in flight
    store.apply(_order("gone"))
    store.apply(_order("gone", "canceled", 500))  # canceled while it was in flight
    store.take_changes()
    # REST's answer was taken before "new" and while "gone" still rested; "old" has since filled.
    store.seed_orders([_rest_order("gone"), _rest_order("old", remaining=100), _rest_order("x", "N")], mark)
    assert set(store.orders) == {"new", "old", "x"}
    assert store.orders["old"].remaining == 100
    assert store.take_changes().orders == {"M", "N"}
    # The next answer is newer than every frame: it is the whole truth.
    store.seed_orders([_rest_order("x", "N")], store.order_mark())
    assert set(store.orders) == {"x"} and store.take_changes().orders == {"M"}
    store.seed_orders([_rest_order("x", "N")], store.order_mark())
    assert not store.take_changes()  # nothing moved, nothing to redraw


def test_apply_tells_the_caller_what_became_of_the_book() -> None:
    store = Store()
    assert store.apply(_delta("A", 4000, 100)) == BOOK_UNSYNCED  # no snapshot yet
    snap = m.OrderbookSnapshot(sid=1, seq=2, market_ticker="A", yes=[(4000, 100)], no=[(5000, 200)])
    assert store.apply(snap) == 0
    assert store.apply(_delta("A", 4000, 50, seq=3)) == 0
    assert store.apply(_delta("A", 4000, -500, seq=4)) == BOOK_BROKEN  # below zero
    assert store.apply(_delta("A", 4000, 1, seq=5)) == BOOK_UNSYNCED  # stale until a snapshot
    crossed = m.OrderbookSnapshot(sid=1, seq=6, market_ticker="A", yes=[(6000, 100)], no=[(5000, 1)])
    assert store.apply(crossed) == BOOK_BROKEN
    assert store.apply(m.Ticker(market_ticker="A", price=3300)) == 0


def test_store_applies_and_reports_changes() -> None:
    now = [100.0]
    store = Store(clock=lambda: now[0])
    store.apply(m.OrderbookSnapshot(sid=1, seq=1, market_ticker="A", yes=[(4000, 100)], no=[(5000, 200)]))
    store.apply(_delta("A", 4100, 300, seq=2))
    store.apply(m.Ticker(market_ticker="B", price=3300, volume=1000))
    changes = store.take_changes()
    assert changes.books == {"A"} and changes.markets == {"A", "B"}
    assert not store.take_changes()
    book = store.markets["A"].book
    assert book.yes_bid == (4100, 300) and book.yes_ask == (5000, 200)
    now[0] = 102.5
    assert store.age("A") == 2.5 and store.age("nope") is None


def test_change_is_against_the_first_price_seen() -> None:
    store = Store()
    for price in (4000, 4200, 3900):
        store.apply(m.Ticker(market_ticker="A", price=price))
    state = store.markets["A"]
    assert (state.open_price, state.prev_price, state.last_price, state.change) == (4000, 4200, 3900, -100)


def test_fills_are_deduplicated_by_trade_id() -> None:
    store = Store()
    assert store.add_fill(_fill("t1", 1000, fee=7))
    backfilled = _fill("t1", 1000, fee=7)
    backfilled.backfilled = True
    assert not store.add_fill(backfilled)
    assert store.add_fill(_fill("t2", 2000, fee=3))
    assert [f.trade_id for f in store.fills_newest_first()] == ["t2", "t1"]
    assert store.total_fees() == 10


def test_stale_and_drop_books() -> None:
    store = Store()
    store.apply(m.OrderbookSnapshot(market_ticker="A", yes=[(4000, 1)], no=[]))
    store.mark_stale(["A"], "sequence gap")
    assert not store.markets["A"].book.synced
    assert store.markets["A"].book.stale_reason == "sequence gap"
    store.drop_books("reconnecting")
    assert store.markets["A"].book.yes == {}


def test_overall_state_is_the_worst_connection() -> None:
    store = Store()
    store.set_state(LIVE, 0)
    store.set_state(LIVE, 1)
    assert store.metrics.state == LIVE
    store.set_state(RECONNECTING, 1)
    assert store.metrics.state == RECONNECTING
    store.set_state(DOWN, 0)
    assert store.metrics.state == DOWN


def test_rate_meter_counts_per_second() -> None:
    store = Store()
    store.record_traffic(10, 1000, now=50.1)
    store.record_traffic(5, 500, now=50.9)
    store.record_traffic(1, 1, now=51.2)
    assert store.metrics.msg_rate.rate(51.5) == 15
    assert store.metrics.byte_rate.rate(53.0) == 0  # 51 had 1 byte, 52 had none
    assert list(store.metrics.byte_rate.history)[-3:] == [1500, 1, 0]


def test_errors_are_counted_with_sentences() -> None:
    store = Store()
    store.record_error(25, "orderbook_delta")
    store.record_error(None, "bad JSON")
    assert store.metrics.errors_by_code[25] == 1 and store.metrics.protocol_errors == 1
    assert "too slowly" in store.metrics.last_errors[0].sentence


def test_backoff_full_jitter_grows_caps_and_resets_after_stable() -> None:
    b = Backoff(base=0.5, cap=4.0, stable_after=30.0, rng=random.Random(1))
    delays = [b.delay() for _ in range(8)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert max(delays[:1]) <= 0.5 and b.attempt == 8
    b.connected(100.0)
    b.disconnected(110.0)  # 10 s is not stable: keep backing off
    assert b.attempt == 8
    b.connected(200.0)
    b.disconnected(231.0)
    assert b.attempt == 0
