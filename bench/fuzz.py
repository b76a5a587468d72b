"""Malformed and hostile frames through the real session, over a real socket.

A seeded mutator turns well-formed frames of every type into broken ones (bad JSON, wrong
types, huge numbers, negative sizes, unknown types, missing fields, 1 MB strings, deep
nesting, data for markets and subscriptions the client does not hold) and the simulator
sends them in between its real traffic (``sim.faults.inject``). Then:

* the client must not crash, and each frame must be counted where the Connection tab shows
  it: unreadable frames as client-side errors, unknown types by name, error frames by code,
  anything for a subscription or market the client does not hold as ignored;
* hostile frames sent *on* a live subscription with the right seq (negative sizes,
  impossible prices, crossed snapshots, deltas for a market whose snapshot never came) must
  not corrupt a book: either ignored, or the book is resynced;
* text frames that are not UTF-8 end the connection (the WebSocket rules): the client must
  reconnect;
* the real data after all of it must still be applied: every book equal to the truth.

Which counter a frame should move is decided by the real decoder (``protocol.decode``) on
the same bytes, so the corpus needs no hand-kept expectations.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.soak import (
    FillLedger,
    all_live,
    all_synced,
    client,
    diverged,
    exact_now,
    fmt_s,
)
from bench.waiting import NeverHappened, until
from kalshi_tui.config import StreamSettings
from kalshi_tui.protocol import ProtocolError, commands, decode
from kalshi_tui.protocol import messages as m
from kalshi_tui.sim import Simulator
from kalshi_tui.store import Store
from kalshi_tui.stream import Pool

FOREIGN = 1_000_000  # sids and ids from here up are never the client's own
MEGABYTE = 1 << 20
UNREADABLE, UNKNOWN, ERROR, IGNORED = "unreadable", "unknown type", "error frame", "ignored"
DECODER_BUG = "decoder bug"  # decode raised something other than ProtocolError
DATA = (m.OrderbookDelta, m.OrderbookSnapshot, m.Ticker, m.Trade, m.Fill, m.MarketPosition, m.Lifecycle)

FUZZ_SETTINGS = StreamSettings(
    backoff_base=0.05, backoff_cap=0.5, stable_after=5.0, dead_link_timeout=5.0, commands_per_second=10.0
)


# -- the corpus -------------------------------------------------------------------------------


class Mutator:
    """Seeded: the same seed gives the same frames."""

    def __init__(self, seed: int, watched: list[str], others: list[str]) -> None:
        self.rng = random.Random(seed)
        self.watched = watched
        self.others = others
        self.n = 0

    # well-formed frames of every type, none of them on a subscription the client holds
    def template(self) -> dict[str, Any]:
        r = self.rng
        self.n += 1
        ticker = r.choice(self.watched if r.random() < 0.7 else self.others)
        sid = r.choice([None, FOREIGN + r.randrange(1000)])
        seq = r.choice([None, r.randrange(1, 10_000)])
        price = f"0.{r.randrange(1, 99):02d}00"
        size = f"{r.randrange(1, 500)}.{r.randrange(100):02d}"
        ts = int(time.time() * 1000)
        kind = r.randrange(12)
        env: dict[str, Any] = {"sid": sid, "seq": seq}
        if kind == 0:
            env |= {
                "type": "orderbook_delta",
                "msg": {
                    "market_ticker": ticker,
                    "price_dollars": price,
                    "delta_fp": size,
                    "side": r.choice(["yes", "no"]),
                    "ts_ms": ts,
                },
            }
        elif kind == 1:
            env |= {
                "type": "orderbook_snapshot",
                "msg": {
                    "market_ticker": ticker,
                    "market_id": "m-1",
                    "yes_dollars_fp": [[price, size]],
                    "no_dollars_fp": [["0.0100", "1.00"]],
                },
            }
        elif kind == 2:
            env |= {
                "type": "ticker",
                "msg": {
                    "market_ticker": ticker,
                    "price_dollars": price,
                    "yes_bid_dollars": price,
                    "yes_ask_dollars": "0.9900",
                    "volume_fp": size,
                    "open_interest_fp": size,
                    "dollar_volume": 5,
                    "dollar_open_interest": 5,
                    "ts_ms": ts,
                },
            }
        elif kind == 3:
            env |= {
                "type": "trade",
                "msg": {
                    "trade_id": f"fz-{self.n}",
                    "market_ticker": ticker,
                    "yes_price_dollars": price,
                    "no_price_dollars": "0.5000",
                    "count_fp": size,
                    "taker_outcome_side": "yes",
                    "taker_book_side": "bid",
                    "is_block_trade": False,
                    "ts_ms": ts,
                },
            }
        elif kind == 4:
            env |= {
                "type": "fill",
                "msg": {
                    "trade_id": f"fz-{self.n}",
                    "order_id": "o-1",
                    "market_ticker": ticker,
                    "is_taker": True,
                    "outcome_side": "yes",
                    "book_side": "bid",
                    "action": "buy",
                    "yes_price_dollars": price,
                    "count_fp": size,
                    "fee_cost": "0.01",
                    "post_position_fp": size,
                    "ts_ms": ts,
                },
            }
        elif kind == 5:
            env |= {
                "type": "market_position",
                "msg": {
                    "market_ticker": ticker,
                    "position_fp": size,
                    "position_cost_dollars": price,
                    "realized_pnl_dollars": "0.0000",
                    "fees_paid_dollars": "0.0100",
                    "volume_fp": size,
                },
            }
        elif kind == 6:
            env |= {
                "type": "market_lifecycle_v2",
                "msg": {"market_ticker": ticker, "event_type": "settled", "result": "yes"},
            }
        elif kind == 7:
            env = {
                "type": "subscribed",
                "id": FOREIGN + self.n,
                "msg": {"channel": "orderbook_delta", "sid": FOREIGN + self.n},
            }
        elif kind == 8:
            env |= {"type": "ok", "id": FOREIGN + self.n, "msg": {"market_tickers": [ticker]}}
        elif kind == 9:
            env |= {"type": "unsubscribed", "id": FOREIGN + self.n}
        elif kind == 10:
            env |= {
                "type": "error",
                "id": FOREIGN + self.n,
                "msg": {"code": r.choice([1, 7, 11, 17, 18, 99]), "msg": "fuzz"},
            }
        else:
            env |= {"type": "market_positions_v9", "msg": {"anything": [1, 2, 3]}}
        return {k: v for k, v in env.items() if v is not None}

    def frame(self) -> str | bytes:
        r = self.rng
        roll = r.random()
        if roll < 0.12:
            return self._truncated()
        if roll < 0.22:
            return self._garbled()
        if roll < 0.27:
            return r.choice(
                [
                    "",
                    " ",
                    "null",
                    "[]",
                    "{}",
                    "123",
                    '"text"',
                    "NaN",
                    "true",
                    "[[]]",
                    '{"type":',
                    "\x00",
                    "{}" * 50,
                    "\ufeff{}",
                    "}{",
                ]
            )
        obj = self.template()
        if roll < 0.42:
            self._wrong_type(obj)
        elif roll < 0.50:
            self._huge_number(obj)
        elif roll < 0.58:
            self._negative_size(obj)
        elif roll < 0.70:
            self._missing_field(obj)
        elif roll < 0.77:
            obj["type"] = r.choice(
                [
                    "",
                    "orderbook_delta_v9",
                    "ticker_v2",
                    "x" * 64,
                    "Ticker",
                    "heartbeat",
                    "pong",
                    f"t{r.randrange(10**6)}",
                ]
            )
        elif roll < 0.78:
            return self._big_string(obj)
        elif roll < 0.80:
            return self._deep(obj)
        elif roll < 0.85:
            obj["extra"] = {"nested": [1, {"a": None}], "n": 10**30}
        # else: the template as is, on a subscription the client does not hold
        return json.dumps(obj)

    def _truncated(self) -> str:
        text = json.dumps(self.template())
        return text[: self.rng.randrange(1, len(text))]

    def _garbled(self) -> str:
        text = list(json.dumps(self.template()))
        for _ in range(self.rng.randrange(1, 4)):
            i = self.rng.randrange(len(text))
            text[i] = self.rng.choice('{}[]",:\\\x01\x7f\u2028\ud7ff0a-.eE')
        return "".join(text)

    def _paths(self, obj: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        out = [(obj, k) for k in obj]
        msg = obj.get("msg")
        if isinstance(msg, dict):
            out += [(msg, k) for k in msg]
        return out

    def _wrong_type(self, obj: dict[str, Any]) -> None:
        parent, key = self.rng.choice(self._paths(obj))
        parent[key] = self.rng.choice(
            [None, FOREIGN * 7, -1, 0, 1.5, "x", "", [], {}, True, [1, 2], {"k": "v"}, ["0.5000"], 1e308]
        )

    def _huge_number(self, obj: dict[str, Any]) -> None:
        parent, key = self.rng.choice(self._paths(obj))
        parent[key] = self.rng.choice(
            [
                "1e400",
                "9" * 40,
                10**30,
                -(10**30),
                2**63,
                2**64,
                "99999999999999999999.9999",
                "0.00000000001",
                "NaN",
                "Infinity",
                "-0",
                "1_000",
                "0x10",
                " 1.00",
            ]
        )

    def _negative_size(self, obj: dict[str, Any]) -> None:
        msg = obj.get("msg")
        if not isinstance(msg, dict):
            obj["msg"] = {"delta_fp": "-5.00"}
            return
        for key in ("delta_fp", "count_fp", "volume_fp", "position_fp", "open_interest_fp"):
            if key in msg:
                msg[key] = self.rng.choice(["-5.00", "-0.01", -5, "-99999999.00"])
        for key in ("yes_dollars_fp", "no_dollars_fp"):
            if key in msg:
                msg[key] = [["0.4000", "-3.00"]]
        msg.setdefault("size", -1)

    def _missing_field(self, obj: dict[str, Any]) -> None:
        paths = self._paths(obj)
        for _ in range(self.rng.randrange(1, 3)):
            if not paths:
                break
            parent, key = paths.pop(self.rng.randrange(len(paths)))
            parent.pop(key, None)

    def _big_string(self, obj: dict[str, Any]) -> str:
        big = self.rng.choice(["A" * MEGABYTE, "é" * (MEGABYTE // 2), "0" * MEGABYTE])
        where = self.rng.randrange(4)
        if where == 0:
            obj["type"] = big
        elif where == 1 and isinstance(obj.get("msg"), dict):
            obj["msg"]["market_ticker"] = big
        elif where == 2:
            obj["msg"] = big
        else:
            obj[big[:100]] = big  # a long key and a long value, unknown to the client
        return json.dumps(obj, ensure_ascii=False)

    def _deep(self, obj: dict[str, Any]) -> str:
        depth = self.rng.choice([200, 2_000, 20_000])
        nest = self.rng.choice([("[" * depth, "]" * depth), ('{"a":' * depth, "}" * depth)])
        inner = json.dumps(obj)
        return inner[:-1] + ',"deep":' + nest[0] + "1" + nest[1] + "}"


def classify(frame: str | bytes) -> str:
    """The counter this frame must move in the client, by what the real decoder makes of it
    (no frame of the corpus is on a subscription the client holds)."""
    try:
        msg = decode(frame)
    except ProtocolError:
        return UNREADABLE
    except Exception:
        return DECODER_BUG
    t = type(msg)
    if t is m.Unknown:
        return UNKNOWN
    if t is m.Error:
        return ERROR
    return IGNORED


# -- hostile frames on a live subscription ----------------------------------------------------


def stamped_frames(
    rng: random.Random, store: Store, watched: list[str], others: list[str], n: int
) -> list[tuple[str, str]]:
    """(frame, ticker) pairs that are well-formed but wrong, to go out with a live sid and
    its next seq."""
    out = []
    for i in range(n):
        ticker = rng.choice(watched)
        book = store.markets[ticker].book
        level = max(book.yes) if book.yes else 5000
        kind = i % 6
        if kind == 0:  # a level pushed negative
            msg = {
                "market_ticker": ticker,
                "price_dollars": _price(level),
                "delta_fp": f"-{rng.randrange(100_000, 10_000_000)}.00",
                "side": "yes",
            }
            out.append((json.dumps({"type": "orderbook_delta", "msg": msg}), ticker))
        elif kind == 1:  # a price off the 0..1 dollar scale
            msg = {
                "market_ticker": ticker,
                "price_dollars": rng.choice(["0.0000", "1.0000", "1.5000", "9999.0000"]),
                "delta_fp": "5.00",
                "side": rng.choice(["yes", "no"]),
            }
            out.append((json.dumps({"type": "orderbook_delta", "msg": msg}), ticker))
        elif kind == 2:  # a snapshot with a negative size
            msg = {
                "market_ticker": ticker,
                "market_id": "x",
                "yes_dollars_fp": [["0.4000", "-3.00"]],
                "no_dollars_fp": [["0.3000", "2.00"]],
            }
            out.append((json.dumps({"type": "orderbook_snapshot", "msg": msg}), ticker))
        elif kind == 3:  # a crossed snapshot: YES bid 0.70 with NO bid 0.40 (YES ask 0.60)
            msg = {
                "market_ticker": ticker,
                "market_id": "x",
                "yes_dollars_fp": [["0.7000", "3.00"]],
                "no_dollars_fp": [["0.4000", "2.00"]],
            }
            out.append((json.dumps({"type": "orderbook_snapshot", "msg": msg}), ticker))
        elif kind == 4:  # a delta for a market this subscription never sent a snapshot of
            other = rng.choice(others)
            msg = {"market_ticker": other, "price_dollars": "0.4200", "delta_fp": "7.00", "side": "no"}
            out.append((json.dumps({"type": "orderbook_delta", "msg": msg}), other))
        else:  # a snapshot for a market that is not in the subscription
            other = rng.choice(others)
            msg = {"market_ticker": other, "market_id": "x", "yes_dollars_fp": [["0.2000", "3.00"]]}
            out.append((json.dumps({"type": "orderbook_snapshot", "msg": msg}), other))
    return out


def _price(p: int) -> str:
    return f"{p // 10_000}.{p % 10_000:04d}"


def book_sid(store: Store, pool: Pool, ticker: str) -> int | None:
    for session in pool.sessions:
        for sub in session.subs:
            if sub.channel == commands.CHANNEL_ORDERBOOK and ticker in sub.markets:
                return sub.sid
    return None


# -- running ----------------------------------------------------------------------------------


@dataclass
class FuzzPlan:
    frames: int = 1_500
    stamped: int = 36
    not_utf8: int = 3
    markets: int = 24
    watch: int = 16
    rate: float = 400.0
    batch: int = 100
    seed: int = 5


FULL_FUZZ = FuzzPlan(frames=10_000, stamped=240, not_utf8=10)


@dataclass
class FuzzReport:
    plan: FuzzPlan
    sent: Counter[str] = field(default_factory=Counter)
    counted: Counter[str] = field(default_factory=Counter)
    bytes_sent: int = 0
    stamped_sent: int = 0
    stamped_uncounted: list[str] = field(default_factory=list)
    stamped_resyncs: int = 0
    stamped_ignored: int = 0
    not_utf8_sent: int = 0
    not_utf8_reconnects: int = 0
    deltas_after: int = 0
    exact_after_frames: float | None = None  # books exact right after the first wave
    exact_after_stamped: float | None = None
    exact_after: float | None = None
    divergent: list[str] = field(default_factory=list)
    crashed: str | None = None
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.sent.values()) + self.stamped_sent + self.not_utf8_sent

    @property
    def ok(self) -> bool:
        return (
            self.crashed is None
            and not self.sent[DECODER_BUG]
            and self.sent == self.counted
            and not self.stamped_uncounted
            and self.not_utf8_reconnects == self.not_utf8_sent
            and self.exact_after_frames is not None
            and self.exact_after_stamped is not None
            and self.exact_after is not None
            and self.deltas_after > 0
        )

    def lines(self) -> list[str]:
        out = [
            f"fuzz: {self.total:,} hostile frames ({self.bytes_sent / (1 << 20):.1f} MB) through "
            f"the real session in {self.seconds:.1f} s, seed {self.plan.seed}; client "
            + ("alive" if self.crashed is None else f"CRASHED: {self.crashed}"),
        ]
        for kind in (UNREADABLE, UNKNOWN, ERROR, IGNORED, DECODER_BUG):
            out.append(
                f"  {kind:13s} sent {self.sent[kind]:6,}  counted {self.counted[kind]:6,}"
                + ("" if self.sent[kind] == self.counted[kind] else "  MISMATCH")
            )
        out += [
            f"  on a live subscription with the right seq: {self.stamped_sent} sent, "
            f"{self.stamped_resyncs} books resynced, {self.stamped_ignored} ignored, "
            f"{len(self.stamped_uncounted)} left uncounted",
            f"  not UTF-8: {self.not_utf8_sent} sent, {self.not_utf8_reconnects} reconnects",
            "books exact after the unheld frames: "
            + _when(self.exact_after_frames)
            + "; after the stamped ones: "
            + _when(self.exact_after_stamped),
            f"after them all: {self.deltas_after:,} real deltas applied; books exact in "
            + _when(self.exact_after),
        ]
        out += [f"  UNCOUNTED: {u}" for u in self.stamped_uncounted[:5]]
        out += [f"  DIVERGED: {d}" for d in self.divergent[:5]]
        out.append("fuzz: " + ("PASS" if self.ok else "FAIL"))
        return out


def _when(took: float | None) -> str:
    return fmt_s(took) if took is not None else "NEVER"


def _counters(store: Store) -> dict[str, int]:
    mt = store.metrics
    return {
        UNREADABLE: mt.malformed,
        UNKNOWN: sum(mt.unknown_types.values()),
        ERROR: sum(mt.errors_by_code.values()),
        IGNORED: getattr(mt, "ignored", 0),
        "gaps": mt.gaps,
        "resyncs": mt.resyncs,
        "reconnects": mt.reconnects,
    }


async def run_fuzz(plan: FuzzPlan, log: Callable[[str], None] = lambda s: None) -> FuzzReport:
    report = FuzzReport(plan)
    started = time.monotonic()
    ledger = FillLedger()
    async with Simulator(
        seed=plan.seed, rate=plan.rate, markets=plan.markets, lifecycle_rate=0.0, user_share=0.0
    ) as sim:
        watched = sim.tickers[: plan.watch]
        others = sim.tickers[plan.watch : plan.markets]
        async with client(sim, watched, FUZZ_SETTINGS, rest=False, listener=ledger) as (store, pool):
            if await exact_now(sim, store, watched) is None:
                raise RuntimeError("books not exact before fuzzing")
            sim.resume()
            mutator = Mutator(plan.seed, watched, others)
            before = _counters(store)

            # 1. frames on no subscription of ours, between the real traffic
            sent = 0
            while sent < plan.frames:
                for _ in range(min(plan.batch, plan.frames - sent)):
                    frame = mutator.frame()
                    report.sent[classify(frame)] += 1
                    report.bytes_sent += len(frame)
                    sim.faults.inject(frame)
                    sent += 1
                await asyncio.sleep(0.005)
                if sent % 2_000 < plan.batch:
                    log(f"  {sent:,} frames sent")

            def counted() -> Counter[str]:
                now = _counters(store)
                return Counter(
                    {
                        k: now[k] - before[k]
                        for k in (UNREADABLE, UNKNOWN, ERROR, IGNORED)
                        if now[k] - before[k]
                    }
                )

            def crashed() -> str | None:
                for task in pool._tasks.values():  # a session that died would be done
                    if task.done():
                        return "cancelled" if task.cancelled() else repr(task.exception())
                return None

            with contextlib.suppress(NeverHappened):  # what was not counted is reported below
                await until(
                    lambda: crashed() is not None or all(counted()[k] >= v for k, v in report.sent.items()),
                    "every hostile frame counted",
                    step=0.05,
                )
            report.crashed = crashed()
            if report.crashed:
                report.counted = counted()
                report.seconds = time.monotonic() - started
                return report
            report.counted = counted()
            # A gap is a client-side error too: none is expected here (no sid of ours was hit).
            gaps = _counters(store)["gaps"] - before["gaps"]
            report.counted[UNREADABLE] -= gaps

            report.exact_after_frames = await exact_now(sim, store, watched)
            if report.exact_after_frames is None:
                report.divergent += diverged(sim, store, watched)
            sim.resume()

            # 2. well-formed but wrong frames on a live subscription, stamped with its next seq
            rng = random.Random(plan.seed + 1)
            for frame, ticker in stamped_frames(rng, store, watched, others, plan.stamped):
                if len(report.stamped_uncounted) >= 3:
                    break  # broken: don't spend minutes proving it
                sid = (
                    book_sid(store, pool, ticker) if ticker in watched else book_sid(store, pool, watched[0])
                )
                try:
                    if sid is None:
                        raise NeverHappened
                    await until(lambda: all_synced(store, watched), "every watched book synced")
                except NeverHappened:
                    report.stamped_uncounted.append(f"no live subscription for {ticker}")
                    continue
                c0 = _counters(store)
                sim.faults.inject(frame, sid=sid)
                report.stamped_sent += 1
                report.bytes_sent += len(frame)

                def moved(c0: dict[str, int] = c0) -> bool:
                    c = _counters(store)
                    return c["resyncs"] > c0["resyncs"] or c[IGNORED] > c0[IGNORED]

                try:
                    await until(moved, "a resync or an ignored frame counted")
                except NeverHappened:
                    report.stamped_uncounted.append(f"{frame[:100]}")
                    continue
                c = _counters(store)
                report.stamped_resyncs += c["resyncs"] > c0["resyncs"]
                report.stamped_ignored += c[IGNORED] > c0[IGNORED]
            report.exact_after_stamped = await exact_now(sim, store, watched)
            if report.exact_after_stamped is None:
                report.divergent += diverged(sim, store, watched)
            sim.resume()

            # 3. text frames that are not UTF-8: the WebSocket rules end the connection
            for i in range(plan.not_utf8):
                r0 = store.metrics.reconnects
                sim.faults.inject(b'{"type":"ticker","msg":{"market_ticker":"\xff\xfe' + bytes([i]) + b'"}}')
                report.not_utf8_sent += 1
                with contextlib.suppress(NeverHappened):
                    await until(
                        lambda r0=r0: (
                            store.metrics.reconnects > r0 and all_live(store) and all_synced(store, watched)
                        ),
                        "a reconnect with every book synced",
                    )
                    report.not_utf8_reconnects += 1

            # 4. the real data after all that: still applied, books exact
            deltas = ledger.deltas
            await asyncio.sleep(0.5)
            report.deltas_after = ledger.deltas - deltas
            report.exact_after = await exact_now(sim, store, watched)
            if report.exact_after is None:
                report.divergent += diverged(sim, store, watched)
            sim.resume()
            report.crashed = crashed()
    report.seconds = time.monotonic() - started
    return report


def main() -> int:
    full = "--full" in sys.argv[1:]
    report = asyncio.run(run_fuzz(FULL_FUZZ if full else FuzzPlan(), lambda s: print(s, flush=True)))
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
