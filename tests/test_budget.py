"""The REST budget's rules as pure code: time is an argument, so nothing here sleeps."""

from __future__ import annotations

import email.utils

from kalshi_tui.budget import (
    BACKGROUND,
    BACKOFF_CAP,
    ON_SCREEN,
    WATCHLIST,
    Limiter,
    RestHealth,
    TtlCache,
    backoff,
    retry_after,
)


def test_a_full_bucket_lets_a_seconds_worth_go_at_once_then_one_per_token() -> None:
    lim: Limiter[str] = Limiter(rate=2.0)
    for name in "abcd":
        lim.push(name, WATCHLIST)
    assert lim.pop_ready(0.0) == ["a", "b"]  # burst: one second's worth
    assert lim.pop_ready(0.0) == []
    assert lim.next_in(0.0) == 0.5
    assert lim.pop_ready(0.5) == ["c"]
    assert lim.pop_ready(0.9) == []
    assert lim.pop_ready(1.0) == ["d"]
    assert lim.next_in(1.0) is None  # nobody waits


def test_when_the_budget_is_short_what_is_on_screen_goes_first() -> None:
    lim: Limiter[str] = Limiter(rate=1.0)
    assert lim.pop_ready(0.0) == []  # nothing queued: the token stays
    lim.push("catalogue-1", BACKGROUND)
    lim.push("catalogue-2", BACKGROUND)
    lim.push("watchlist", WATCHLIST)
    lim.push("details", ON_SCREEN)
    order = [x for t in range(4) for x in lim.pop_ready(float(t))]
    assert order == ["details", "watchlist", "catalogue-1", "catalogue-2"]


def test_a_429_holds_every_caller_until_its_time() -> None:
    lim: Limiter[str] = Limiter(rate=10.0)
    lim.hold(5.0)
    lim.push("x", ON_SCREEN)
    assert lim.pop_ready(4.99) == []
    assert lim.next_in(1.0) == 4.0
    assert lim.pop_ready(5.0) == ["x"]


def test_a_waiter_that_gives_up_is_forgotten() -> None:
    lim: Limiter[str] = Limiter(rate=1.0)
    lim.pop_ready(0.0)
    lim.push("a", WATCHLIST)
    lim.push("b", WATCHLIST)
    lim.pop_ready(0.0)  # takes "a": the bucket was full
    lim.remove("b")
    assert len(lim) == 0 and lim.next_in(0.0) is None


def test_retry_after_in_seconds_or_as_a_date_capped_and_garbage_ignored() -> None:
    assert retry_after("3", 0.0) == 3.0
    assert retry_after(" 0.5 ", 0.0) == 0.5
    assert retry_after("-4", 0.0) == 0.0
    assert retry_after("86400", 0.0) == BACKOFF_CAP  # a bad header can't stall us for a day
    now = 1_787_850_000.0
    assert retry_after(email.utils.formatdate(now + 7, usegmt=True), now) == 7.0
    for bad in (None, "", "soon", "nan", "Mon, 99 Foo 2026"):
        assert retry_after(bad, now) is None


def test_backoff_doubles_to_a_cap() -> None:
    assert [backoff(n, 0.5, 4.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_cache_answers_until_its_ttl_and_stays_bounded() -> None:
    cache: TtlCache[int] = TtlCache(ttl=60.0, size=2)
    cache.put("a", 1, 0.0)
    assert cache.get("a", 59.9) == 1
    assert cache.get("a", 60.0) is None  # expired, and dropped
    cache.put("a", 1, 100.0)
    cache.put("b", 2, 100.0)
    cache.put("c", 3, 100.0)
    assert cache.get("a", 100.0) is None and cache.get("c", 100.0) == 3 and len(cache) == 2


def test_health_counts_requests_in_the_last_minute_by_endpoint() -> None:
    h = RestHealth()
    for t in range(0, 90, 10):  # 0, 10, ..., 80
        h.record_request("/events/E1/metadata" if t else "/markets", float(t))
    assert h.requests == 9
    assert h.per_minute(80.0) == 6  # 30..80: the ones more than 60 s old are out
    assert h.by_path == {"/markets": 1, "/events": 8}
    h.record_error("GET /markets: HTTP 500", 1.0)
    assert (h.errors, h.last_error, h.last_error_at) == (1, "GET /markets: HTTP 500", 1.0)
