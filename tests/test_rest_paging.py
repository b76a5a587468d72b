"""REST paging against a hostile server: a cursor that comes back, or pages without end,
stops with a message instead of paging forever. A real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import pytest

from bench.waiting import GUARD
from kalshi_tui.rest import MAX_PAGES, RestClient, RestError
from tests.loopback_http import loopback_http

# cursor asked for ("" = first page) -> (tickers on that page, next cursor)
Pager = Callable[[str], tuple[list[str], str]]


@contextmanager
def serving(pager: Pager) -> Iterator[tuple[str, list[str]]]:
    """A loopback server answering GET /trade-api/v2/markets with ``pager``; yields the base
    URL and the cursors asked for, in order."""
    asked: list[str] = []

    def answer(path: str) -> tuple[int, dict[str, str], bytes]:
        cursor = parse_qs(urlsplit(path).query).get("cursor", [""])[-1]
        asked.append(cursor)
        tickers, nxt = pager(cursor)
        return 200, {}, json.dumps({"markets": [{"ticker": t} for t in tickers], "cursor": nxt}).encode()

    with loopback_http(answer) as url:
        yield url, asked


async def _markets(base_url: str) -> list[str]:
    client = RestClient(base_url, reads_per_second=100_000)  # paging, not the budget, is tested here
    try:
        metas = await asyncio.wait_for(client.markets(), GUARD)  # a hang guard only
    finally:
        await client.aclose()
    return [meta.ticker for meta in metas]


async def test_pages_are_followed_to_the_last_one() -> None:
    pages = {"": (["A", "B"], "p2"), "p2": (["C"], "p3"), "p3": (["D"], "")}
    with serving(lambda cursor: pages[cursor]) as (url, asked):
        assert await _markets(url) == ["A", "B", "C", "D"]
    assert asked == ["", "p2", "p3"]


async def test_a_cursor_that_comes_back_stops_paging_with_a_message() -> None:
    loop = {"": (["A"], "x"), "x": (["B"], "y"), "y": (["C"], "x")}  # x -> y -> x -> ...
    with (
        serving(lambda cursor: loop[cursor]) as (url, asked),
        pytest.raises(RestError, match="sent before; stopped after 3 pages"),
    ):
        await _markets(url)
    assert asked == ["", "x", "y"]


async def test_pages_without_end_stop_at_the_limit_with_a_message() -> None:
    def endless(cursor: str) -> tuple[list[str], str]:
        n = int(cursor[1:]) if cursor else 0
        return [f"T{n}"], f"c{n + 1}"  # always a new cursor

    with serving(endless) as (url, asked), pytest.raises(RestError, match="still more pages after 1,000"):
        await _markets(url)
    assert len(asked) == MAX_PAGES == 1000
