"""The stream's recovery rules, driven through the sans-I/O ``Machine`` with a fake clock.

Each test plays the exchange by hand: it reads the commands the machine asks to send and
answers with real wire frames (Kalshi's JSON), so every rule runs in microseconds, exactly.
"""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path
from typing import Any

from kalshi_tui.config import StreamSettings
from kalshi_tui.store import CONNECTING, LIVE, RECONNECTING, STALE, Store
from kalshi_tui.stream import machine as machine_module
from kalshi_tui.stream.machine import REDO_AFTER, RESYNC_TIMEOUT, Machine, Sub

BOOK, TICKER = "orderbook_delta", "ticker"
A, B, C = "KXA-1", "KXB-1", "KXC-1"
SETTINGS = StreamSettings(
    backoff_base=0.5, backoff_cap=30.0, stable_after=30.0, commands_per_second=10.0, subscribe_timeout=10.0
)


def frame(**fields: Any) -> bytes:
    return json.dumps({k: v for k, v in fields.items() if v is not None}).encode()


def subscribed(cmd_id: int, sid: int, channel: str = BOOK) -> bytes:
    return frame(id=cmd_id, type="subscribed", msg={"channel": channel, "sid": sid})


def snapshot(
    sid: int, seq: int, ticker: str, yes: int = 40, no: int = 50, cmd_id: int | None = None
) -> bytes:
    msg = {
        "market_ticker": ticker,
        "market_id": "x",
        "yes_dollars_fp": [[f"0.{yes:02d}00", "10.00"]],
        "no_dollars_fp": [[f"0.{no:02d}00", "10.00"]],
    }
    return frame(id=cmd_id, type="orderbook_snapshot", sid=sid, seq=seq, msg=msg)


def delta(
    sid: int, seq: int | None, ticker: str, price: int = 40, size: str = "1.00", side: str = "yes"
) -> bytes:
    msg = {"market_ticker": ticker, "price_dollars": f"0.{price:02d}00", "delta_fp": size, "side": side}
    return frame(type="orderbook_delta", sid=sid, seq=seq, msg=msg)


def error(
    code: int, *, cmd_id: int | None = None, sid: int | None = None, tickers: list[str] | None = None
) -> bytes:
    msg: dict[str, Any] = {"code": code, "msg": "error"}
    if tickers:
        msg["market_tickers"] = tickers
    return frame(id=cmd_id, type="error", sid=sid, msg=msg)


def ok(cmd_id: int, sid: int) -> bytes:
    return frame(id=cmd_id, type="ok", sid=sid, msg={})


class Exchange:
    """A machine, its store and a fake clock; ``sent`` collects every command, decoded."""

    def __init__(self, subs: list[Sub], settings: StreamSettings = SETTINGS, seed: int = 1) -> None:
        self.store = Store(clock=lambda: self.now)
        self.now = 1000.0
        self.m = Machine(self.store, settings, rng=random.Random(seed))
        for sub in subs:
            self.m.add_sub(sub, self.now)
        self.sent: list[dict[str, Any]] = []

    def _take(self, frames: Any) -> list[dict[str, Any]]:
        out = [json.loads(f) for f in frames]
        self.sent += out
        return out

    def connect(self) -> list[dict[str, Any]]:
        return self._take(self.m.connected(self.now))

    def feed(self, *raws: bytes) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for raw in raws:
            out += self._take(self.m.receive(raw, self.now))
        return out

    def at(self, seconds: float) -> list[dict[str, Any]]:
        """Move the clock ``seconds`` on and tick."""
        self.now += seconds
        return self._take(self.m.tick(self.now))

    def edit(self, sub: Sub, add: list[str] = (), remove: list[str] = ()) -> list[dict[str, Any]]:  # type: ignore[assignment]
        return self._take(self.m.edit(sub, add, remove, now=self.now))

    def book(self, ticker: str) -> Any:
        return self.store.markets[ticker].book


def cmds(sent: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [c for c in sent if c["cmd"] == name]


def live_book(markets: list[str]) -> tuple[Exchange, Sub]:
    """A book subscription (sid 1) holding a snapshot of every market (seq 1..n)."""
    sub = Sub(BOOK, set(markets))
    ex = Exchange([sub])
    (sub_cmd,) = ex.connect()
    ex.feed(subscribed(sub_cmd["id"], 1))
    ex.feed(*(snapshot(1, i + 1, t) for i, t in enumerate(sorted(markets))))
    assert all(ex.book(t).synced for t in markets)
    return ex, sub


# -- connecting -------------------------------------------------------------------------------


def test_connect_subscribes_everything_and_is_live_only_once_every_sid_came() -> None:
    book, ticker, fills = Sub(BOOK, {A, B}), Sub(TICKER, {A, B}), Sub("fill")
    ex = Exchange([book, ticker, fills, Sub(TICKER)])  # a market channel without markets: nothing
    sent = ex.connect()
    assert [(c["params"]["channels"], c["params"].get("market_tickers")) for c in sent] == [
        ([BOOK], [A, B]),
        ([TICKER], [A, B]),
        (["fill"], None),
    ]
    assert ex.store.metrics.state == CONNECTING
    ex.feed(subscribed(sent[0]["id"], 1), subscribed(sent[1]["id"], 2, TICKER))
    assert ex.store.metrics.state == CONNECTING  # the fill subscription has no sid yet
    ex.feed(subscribed(sent[2]["id"], 3, "fill"))
    assert ex.store.metrics.state == LIVE
    assert [(s.channel, s.sid) for s in ex.store.metrics.subscriptions] == [
        (BOOK, 1),
        (TICKER, 2),
        ("fill", 3),
        (TICKER, None),
    ]


def test_an_unanswered_subscribe_times_out_and_is_retried_with_backoff() -> None:
    sub = Sub(BOOK, {A})
    ex = Exchange([sub])
    (first,) = ex.connect()
    assert ex.at(SETTINGS.subscribe_timeout - 0.01) == []
    assert ex.store.metrics.state == CONNECTING
    assert ex.at(0.01) == []  # timed out: the retry waits for its backoff
    assert any("did not answer a subscribe" in e.sentence for e in ex.store.metrics.last_errors)
    assert sub.retry_at is not None and sub.retry_at - ex.now <= SETTINGS.backoff_base
    (again,) = ex.at(sub.retry_at - ex.now)
    assert again["cmd"] == "subscribe" and again["id"] != first["id"]
    # The late answer to the first one is not kept: that subscription is ended.
    (unsub,) = ex.feed(subscribed(first["id"], 7))
    assert unsub["cmd"] == "unsubscribe" and unsub["params"]["sids"] == [7]
    assert sub.sid is None and ex.store.metrics.state == CONNECTING
    ex.feed(subscribed(again["id"], 8), snapshot(8, 1, A))
    assert sub.sid == 8 and ex.store.metrics.state == LIVE and ex.book(A).synced


def test_unanswered_subscribes_back_off_exponentially_up_to_the_cap() -> None:
    settings = StreamSettings(backoff_base=1.0, backoff_cap=8.0, subscribe_timeout=10.0)
    sub = Sub(BOOK, {A})
    ex = Exchange([sub], settings)
    ex.connect()
    ceilings = []
    for _ in range(6):
        ex.at(settings.subscribe_timeout + 0.001)
        assert sub.retry_at is not None
        ceilings.append(sub.retry_at - ex.now)
        assert len(cmds(ex.at(sub.retry_at - ex.now), "subscribe")) == 1
    for n, wait in enumerate(ceilings):
        assert 0 <= wait <= min(8.0, 2**n)


def test_a_subscribe_answered_without_a_sid_is_tried_again_later() -> None:
    sub = Sub(BOOK, {A})
    ex = Exchange([sub])
    (first,) = ex.connect()
    assert ex.feed(ok(first["id"], 3)) == []  # "already subscribed": no new subscription
    assert ex.at(0.0) == [] and sub.retry_at is not None
    (again,) = ex.at(sub.retry_at - ex.now)
    assert again["cmd"] == "subscribe" and ex.store.metrics.state == CONNECTING


# -- gaps, impossible books, missing snapshots ---------------------------------------------------


def test_gap_marks_the_sids_books_stale_and_asks_for_snapshots() -> None:
    ex, _ = live_book([A, B])
    (ask,) = ex.feed(delta(1, 4, A))  # seq 3 is missing
    assert ask["cmd"] == "update_subscription"
    assert ask["params"] == {"sids": [1], "action": "get_snapshot", "market_tickers": [A, B]}
    assert not ex.book(A).synced and ex.book(B).stale_reason == "sequence gap"
    assert ex.store.metrics.gaps == 1 and ex.store.metrics.malformed == 0
    ex.feed(snapshot(1, 5, A, cmd_id=ask["id"]), snapshot(1, 6, B, cmd_id=ask["id"]))
    assert ex.book(A).synced and ex.book(B).synced
    assert ex.at(RESYNC_TIMEOUT + 1) == []  # answered: no resubscribe
    assert ex.m.pending == {}


def test_a_resync_asked_from_outside_fetches_one_book_once() -> None:
    """The feed audit found a book differing from the exchange's: only that one is fetched
    again, once however often it is asked, and it is exact again from the snapshot."""
    ex, sub = live_book([A, B])
    (ask,) = ex._take(ex.m.resync(sub, A, ex.now))
    assert ask["params"] == {"sids": [1], "action": "get_snapshot", "market_tickers": [A]}
    assert ex.book(A).stale_reason == "differs from the exchange" and ex.book(B).synced
    assert ex._take(ex.m.resync(sub, A, ex.now)) == []  # already on its way
    ex.feed(snapshot(1, 3, A, cmd_id=ask["id"]))
    assert ex.book(A).synced and ex.at(RESYNC_TIMEOUT + 1) == []


def test_a_gap_never_answered_resubscribes_after_the_deadline() -> None:
    ex, sub = live_book([A, B])
    ex.feed(delta(1, 9, A))
    assert ex.at(RESYNC_TIMEOUT - 0.1) == []
    unsub, sub_cmd = ex.at(0.1)
    assert unsub["cmd"] == "unsubscribe" and unsub["params"]["sids"] == [1]
    assert sub_cmd["cmd"] == "subscribe" and sub_cmd["params"]["market_tickers"] == [A, B]
    assert sub.sid is None and not ex.book(A).synced
    ex.feed(subscribed(sub_cmd["id"], 2), snapshot(2, 1, A), snapshot(2, 2, B))
    assert ex.book(A).synced and ex.book(B).synced and sub.sid == 2


def test_a_refused_get_snapshot_falls_back_to_resubscribing() -> None:
    ex, _ = live_book([A])
    (ask,) = ex.feed(delta(1, 5, A))
    unsub, sub_cmd = ex.feed(error(17, cmd_id=ask["id"]))
    assert unsub["cmd"] == "unsubscribe" and sub_cmd["cmd"] == "subscribe"


def test_an_impossible_book_asks_for_that_market_only() -> None:
    ex, _ = live_book([A, B])
    (ask,) = ex.feed(delta(1, 3, A, price=40, size="-50.00"))  # 10 resting, 50 taken away
    assert ask["params"]["action"] == "get_snapshot" and ask["params"]["market_tickers"] == [A]
    assert not ex.book(A).synced and ex.book(B).synced
    assert ex.store.metrics.desyncs == 1
    assert any("out of sync" in e.sentence for e in ex.store.metrics.last_errors)
    assert ex.feed(delta(1, 4, A)) == []  # already asked: deltas meanwhile don't ask again
    ex.feed(snapshot(1, 5, A, cmd_id=ask["id"]))
    assert ex.book(A).synced and ex.book(A).yes == {4000: 1000}


def test_a_crossed_snapshot_is_asked_for_again() -> None:
    ex, _ = live_book([A])
    (ask,) = ex.feed(snapshot(1, 2, A, yes=60, no=50))  # YES bid 0.60 + NO bid 0.50 > $1
    assert ask["params"]["market_tickers"] == [A] and not ex.book(A).synced


def test_deltas_for_a_market_whose_snapshot_never_came_ask_for_it() -> None:
    sub = Sub(BOOK, {A, B})
    ex = Exchange([sub])
    (sub_cmd,) = ex.connect()
    ex.feed(subscribed(sub_cmd["id"], 1), snapshot(1, 1, A))  # B's snapshot never comes
    (ask,) = ex.feed(delta(1, 2, B))
    assert ask["params"] == {"sids": [1], "action": "get_snapshot", "market_tickers": [B]}
    assert ex.feed(delta(1, 3, B)) == []  # once
    ex.feed(snapshot(1, 4, B, cmd_id=ask["id"]))
    assert ex.book(B).synced


# -- data that is not ours ---------------------------------------------------------------------


def test_a_snapshot_that_never_comes_is_asked_for() -> None:
    """No snapshot and no delta for a subscribed market: nothing else would ever fix that
    book. After RESYNC_TIMEOUT it is asked for, after a subscribe and after an edit."""
    sub = Sub(BOOK, {A, B})
    ex = Exchange([sub])
    (cmd,) = ex.connect()
    ex.feed(subscribed(cmd["id"], 1), snapshot(1, 1, A))  # B's never comes
    assert ex.at(RESYNC_TIMEOUT - 0.1) == [] and ex.m.waiting
    (ask,) = ex.at(0.1)
    assert ask["params"] == {"sids": [1], "action": "get_snapshot", "market_tickers": [B]}
    assert ex.store.metrics.desyncs == 1
    ex.feed(snapshot(1, 2, B, cmd_id=ask["id"]))
    assert ex.book(B).synced and ex.at(RESYNC_TIMEOUT + 1) == [] and not ex.m.waiting
    (add,) = ex.edit(sub, add=[C])
    ex.feed(ok(add["id"], 1))  # C's snapshot never comes either
    (ask,) = ex.at(RESYNC_TIMEOUT)
    assert ask["params"]["market_tickers"] == [C]


def test_data_that_is_not_ours_is_counted_and_never_applied() -> None:
    ex, _ = live_book([A])
    before = dict(ex.book(A).yes)
    ignored = [
        delta(99, 3, A),  # a sid we don't hold
        delta(None, None, A),  # no sid at all
        delta(1, None, A),  # a book frame without seq
        snapshot(99, 1, C),  # a market we never asked for, on a foreign sid
        ok(42, 1),  # an answer to no command we sent
        subscribed(43, 5),
    ]
    assert ex.feed(*ignored) == []
    assert ex.store.metrics.ignored == len(ignored)
    assert ex.book(A).yes == before and C not in ex.store.markets
    # A market not in the subscription, on our sid with the right seq: ignored too.
    assert ex.feed(delta(1, 2, C)) == [] and ex.store.metrics.ignored == len(ignored) + 1
    assert ex.feed(b"{not json") == [] and ex.store.metrics.malformed == 1


# -- errors from the exchange ------------------------------------------------------------------


def test_error_27_makes_the_subscription_again_a_second_later() -> None:
    ex, sub = live_book([A])
    (add,) = ex.edit(sub, add=[B])
    assert ex.feed(error(27, sid=1)) == []
    assert ex.at(REDO_AFTER - 0.01) == []
    unsub, again = ex.at(0.01)
    assert unsub["params"]["sids"] == [1]
    assert again["cmd"] == "subscribe" and again["params"]["market_tickers"] == [A, B]
    assert add["id"] != again["id"]


def test_error_16_drops_only_the_unknown_market() -> None:
    sub = Sub(BOOK, {A, B, C})
    ex = Exchange([sub])
    (first,) = ex.connect()
    (again,) = ex.feed(error(16, cmd_id=first["id"], tickers=[B]))
    assert again["cmd"] == "subscribe" and again["params"]["market_tickers"] == [A, C]
    assert sub.markets == {A, C}
    # On a live subscription an update refused with 16 names only the sid: make it again.
    ex.feed(subscribed(again["id"], 1))
    ex.edit(sub, add=["KXNOPE"])
    unsub, third = ex.feed(error(16, sid=1, tickers=["KXNOPE"]))
    assert unsub["cmd"] == "unsubscribe" and third["params"]["market_tickers"] == [A, C]


def test_errors_10_and_25_resubscribe_after_a_growing_full_jitter_backoff() -> None:
    settings = StreamSettings(backoff_base=0.5, backoff_cap=4.0, stable_after=30.0)
    sub = Sub(BOOK, {A})
    ex = Exchange([sub], settings)
    (cmd,) = ex.connect()
    waits = []
    for n in range(8):
        # A hostile exchange answers every subscribe with 25 (or 10): no data in between.
        assert ex.feed(error(25 if n % 2 else 10, cmd_id=cmd["id"])) == []
        assert sub.retry_at is not None
        waits.append(sub.retry_at - ex.now)
        assert ex.at(max(0.0, sub.retry_at - ex.now - 0.001)) == []  # not before its time
        (cmd,) = ex.at(0.001)
        assert cmd["cmd"] == "subscribe"
    for n, wait in enumerate(waits):
        assert 0 <= wait <= min(4.0, 0.5 * 2**n)
    assert sum(waits[4:]) > 4 * 0.5  # it did grow (full jitter: from 0 up to 4 s each)


def test_a_25_after_a_stable_subscription_starts_the_backoff_over() -> None:
    ex, sub = live_book([A])
    sub.failures = 5  # failures long ago
    ex.at(SETTINGS.stable_after)
    ex.feed(delta(1, 2, A))
    assert ex.feed(error(25, sid=1)) == []
    assert not ex.book(A).synced  # stale until the new snapshots
    assert sub.retry_at is not None and sub.retry_at - ex.now <= SETTINGS.backoff_base
    assert ex.store.metrics.state == STALE  # connected, but a subscription is missing


def test_an_exchange_answering_every_subscribe_with_25_gets_few_subscribes() -> None:
    settings = StreamSettings(backoff_base=0.5, backoff_cap=30.0)
    sub = Sub(BOOK, {A})
    ex = Exchange([sub], settings)
    pending = ex.connect()
    for _ in range(6000):  # one minute in steps of 10 ms
        for cmd in cmds(pending, "subscribe"):
            ex.feed(error(25, cmd_id=cmd["id"]))
        pending = ex.at(0.01)
    assert len(cmds(ex.sent, "subscribe")) <= 15  # 0.5 s, 1, 2, 4, 8, 16, 30, 30: ~10 a minute


# -- watchlist edits ---------------------------------------------------------------------------


def test_edits_while_subscribing_wait_for_the_sid_then_send_the_difference() -> None:
    sub = Sub(BOOK, {A, B})
    ex = Exchange([sub])
    (first,) = ex.connect()
    assert ex.edit(sub, add=[C], remove=[A]) == []
    (add,) = ex.feed(subscribed(first["id"], 1))
    (delete,) = ex.at(1 / SETTINGS.commands_per_second)  # paced: one command per 0.1 s per sid
    assert add["params"] == {"sids": [1], "action": "add_markets", "market_tickers": [C]}
    assert delete["params"]["action"] == "delete_markets" and delete["params"]["market_tickers"] == [A]


def test_a_subscription_emptied_while_subscribing_is_ended_when_its_sid_comes() -> None:
    sub = Sub(BOOK, {A})
    ex = Exchange([sub])
    (first,) = ex.connect()
    ex.edit(sub, remove=[A])
    assert ex.m.subs == []
    (unsub,) = ex.feed(subscribed(first["id"], 4))
    assert unsub["cmd"] == "unsubscribe" and unsub["params"]["sids"] == [4]


def test_edits_on_one_sid_are_paced_and_keep_their_order() -> None:
    ex, sub = live_book([A])
    first = ex.edit(sub, add=[B])
    second = ex.edit(sub, remove=[B])  # 10 commands/s per sid: this one waits
    assert len(first) == 1 and second == []
    # Even when the next edit comes after the wait, the queued one goes first.
    ex.now += 0.5
    third = ex.edit(sub, add=[C])
    assert [c["params"]["action"] for c in third] == ["delete_markets", "add_markets"]


# -- ticking ----------------------------------------------------------------------------------


def test_the_machine_needs_ticks_only_while_something_is_due() -> None:
    """``waiting`` keeps the session's timer at its fast rate while an answer, a deadline, a
    retry or a paced command is due; a held, answered subscription needs no ticks at all."""
    sub = Sub(BOOK, {A, B})
    ex = Exchange([sub])
    assert ex.m.waiting  # wanted, not held
    (cmd,) = ex.connect()
    ex.feed(subscribed(cmd["id"], 1))
    ex.feed(snapshot(1, 1, A), snapshot(1, 2, B))
    assert ex.m.waiting  # until the snapshots' deadline: one that never came would be asked for
    assert ex.at(RESYNC_TIMEOUT) == []  # both came
    assert not ex.m.waiting
    (ask,) = ex.feed(delta(1, 9, A))  # a gap: snapshots asked for, with a deadline
    assert ex.m.waiting
    ex.feed(snapshot(1, 10, A, cmd_id=ask["id"]), snapshot(1, 11, B, cmd_id=ask["id"]))
    ex.at(RESYNC_TIMEOUT + 1)
    assert not ex.m.waiting
    ex.edit(sub, add=[C])
    assert ex.m.waiting  # the update awaits its answer
    ex.feed(ok(ex.sent[-1]["id"], 1), snapshot(1, 12, C))
    ex.at(RESYNC_TIMEOUT)
    assert not ex.m.waiting
    ex.edit(sub, remove=[C])
    ex.edit(sub, add=[C])  # paced: goes out on a later tick
    assert ex.m.waiting
    ex.feed(error(10, sid=1))  # the subscription fails: a retry is due
    assert ex.m.waiting


# -- reconnect ---------------------------------------------------------------------------------


def test_reconnect_rebuilds_every_book() -> None:
    ex, sub = live_book([A, B])
    ex.m.disconnected()
    assert not ex.book(A).synced and ex.book(B).stale_reason == "reconnecting"
    assert sub.sid is None and sub.last_seq is None
    (again,) = ex.connect()
    assert again["id"] == 1 and again["params"]["market_tickers"] == [A, B]  # ids start over
    assert ex.store.metrics.state == RECONNECTING
    ex.feed(subscribed(1, 1), snapshot(1, 1, A), snapshot(1, 2, B))
    assert ex.book(A).synced and ex.book(B).synced and ex.store.metrics.state == LIVE


# -- layers ------------------------------------------------------------------------------------


def test_the_machine_imports_no_io_and_no_clock() -> None:
    tree = ast.parse(Path(machine_module.__file__).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not imported & {"asyncio", "websockets", "socket", "time", "selectors", "threading"}
