"""The feed audit's decisions, as pure code: which market is looked at, and what a look says."""

from __future__ import annotations

import pytest

from kalshi_tui.audit import (
    MATCH,
    MISMATCH,
    MOVING,
    RESYNC,
    UNSYNCED,
    Auditor,
    Seen,
    rest_book,
)
from kalshi_tui.book import YES, OrderBook

T = "KXTEST-1"


def book(yes: list[tuple[int, int]], no: list[tuple[int, int]]) -> OrderBook:
    b = OrderBook(T)
    b.apply_snapshot(yes, no)
    return b


def body(yes: list[list[str]], no: list[list[str]]) -> dict[str, object]:
    return {"orderbook_fp": {"yes_dollars": yes, "no_dollars": no}}


LEVELS = ([(4000, 1000), (4500, 250)], [(5000, 700)])
SAME = body([["0.4000", "10.00"], ["0.4500", "2.50"]], [["0.5000", "7.00"]])
OTHER = body([["0.4000", "10.00"], ["0.4500", "3.50"]], [["0.5000", "7.00"]])


def look_once(auditor: Auditor, b: OrderBook, answer: dict[str, object], now: float, during=None, after=None):
    """One look: ask, something may happen to the book while REST answers (``during``) and
    in the settle time after (``after``), then judge."""
    look = auditor.ask(T, b)
    if during:
        during(b)
    seen = Seen.of(b)
    if after:
        after(b)
    return auditor.judge(look, rest_book(answer), seen, b.changes, now)


def test_rest_book_reads_the_current_shape_no_on_its_own_scale() -> None:
    yes, no = rest_book(SAME)
    assert yes == {4000: 1000, 4500: 250} and no == {5000: 700}
    assert rest_book({"orderbook_fp": {"yes_dollars": None, "no_dollars": []}}) == ({}, {})


@pytest.mark.parametrize(
    "bad",
    [{}, {"orderbook_fp": {"yes_dollars": "x"}}, body([["0.40"]], []), body([["1.2000", "1.00"]], [])],
)
def test_an_unreadable_rest_book_is_one_sentence(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="orderbook_fp"):
        rest_book(bad)


def test_same_levels_match() -> None:
    a = Auditor()
    assert look_once(a, book(*LEVELS), SAME, 0.0) == MATCH
    assert (a.health.matches, a.health.mismatches, a.health.skipped) == (1, 0, 0)


def test_different_levels_mismatch_and_say_where() -> None:
    a = Auditor()
    assert look_once(a, book(*LEVELS), OTHER, 0.0) == MISMATCH
    assert a.health.mismatches == 1 and a.health.suspects == {T}
    assert "YES 0.4500: streamed 2.50, exchange 3.50" in a.health.last


def test_a_delta_between_request_and_answer_skips_as_moving() -> None:
    a = Auditor()
    verdict = look_once(a, book(*LEVELS), OTHER, 0.0, during=lambda b: b.apply_delta(YES, 4500, 100))
    assert verdict == MOVING
    assert (a.health.moving, a.health.mismatches, a.health.suspects) == (1, 0, set())


def test_a_delta_right_after_the_answer_makes_a_mismatch_moot() -> None:
    # The exchange may have sent it before answering: the REST book can be ahead of ours.
    a = Auditor()
    verdict = look_once(a, book(*LEVELS), OTHER, 0.0, after=lambda b: b.apply_delta(YES, 4500, 100))
    assert verdict == MOVING and a.health.mismatches == 0


def test_an_unsynced_book_is_not_compared() -> None:
    a = Auditor()
    b = book(*LEVELS)
    b.desync("sequence gap")
    assert look_once(a, b, OTHER, 0.0) == UNSYNCED
    assert a.health.unsynced == 1 and a.health.skipped == 1


def test_a_repeated_mismatch_asks_for_a_resync_then_starts_over() -> None:
    a = Auditor(interval=5.0, second_look=1.0)
    b = book(*LEVELS)
    assert a.next_look([T], [T], 0.0) == T
    assert look_once(a, b, OTHER, 0.5) == MISMATCH
    # The second look comes after ``second_look``, ahead of the round's pacing.
    assert a.next_look([T], [T], 1.0) is None
    assert a.wait(1.0) == pytest.approx(0.5)
    assert a.next_look([T], [T], 1.5) == T
    assert look_once(a, b, OTHER, 1.6) == RESYNC
    assert (a.health.mismatches, a.health.resyncs, a.health.suspects) == (2, 1, set())
    # Resynced: the next mismatch is a first one again.
    assert look_once(a, b, OTHER, 9.0) == MISMATCH


def test_a_match_on_the_second_look_clears_the_suspicion() -> None:
    a = Auditor()
    b = book(*LEVELS)
    assert look_once(a, b, OTHER, 0.0) == MISMATCH
    assert look_once(a, b, SAME, 1.0) == MATCH
    assert look_once(a, b, OTHER, 2.0) == MISMATCH  # a first mismatch, not a repeat
    assert a.health.resyncs == 0


def test_a_skipped_second_look_keeps_the_suspicion() -> None:
    a = Auditor()
    b = book(*LEVELS)
    assert look_once(a, b, OTHER, 0.0) == MISMATCH
    assert look_once(a, b, OTHER, 1.0, during=lambda b: b.apply_delta(YES, 3000, 100)) == MOVING
    assert a.health.suspects == {T}
    b.apply_delta(YES, 3000, -100)
    assert look_once(a, b, OTHER, 2.0) == RESYNC


def test_rounds_look_at_every_market_on_screen_first_and_are_paced() -> None:
    a = Auditor(interval=5.0)
    watched = ["A", "B", "C", "D"]
    on_screen = {"C", "D"}
    picks = []
    now = 0.0
    while len(picks) < 6:
        pick = a.next_look(watched, on_screen, now)
        if pick is not None:
            picks.append((now, pick))
        now += 1.0
    assert [p for _, p in picks] == ["C", "D", "A", "B", "C", "D"]
    assert [t for t, _ in picks] == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]


def test_a_suspect_no_longer_watched_or_synced_is_forgotten() -> None:
    a = Auditor()
    assert look_once(a, book(*LEVELS), OTHER, 0.0) == MISMATCH
    assert a.next_look([], [], 5.0) is None
    assert a.health.suspects == set()
