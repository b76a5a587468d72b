"""Benchmark 1: core ingest over a recorded simulator stream, against the naive baseline.

Ours is the real per-frame path of ``stream.Session._read`` without the socket: the frame
counter (bytes are counted per TCP read, not per frame), the clock, and ``Machine.receive``
(``protocol.decode``, the seq check, the subscription checks and ``Store.apply``). The
baseline is ``bench.naive.NaiveClient`` on the same bytes. Both end with books that are
compared with the engine's own (exact) books.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from bench.common import Result, log, median, percentile
from bench.naive import NaiveClient
from bench.profiling import hot_spots
from bench.recording import Recording, record
from kalshi_tui.protocol import commands, decode
from kalshi_tui.protocol import messages as m
from kalshi_tui.store import Store
from kalshi_tui.stream.machine import Machine, Sub

TITLE = "Core ingest: decode + seq + apply, recorded sim stream"
SAMPLE = 1_000


class Ours:
    """Session._read's per-frame work on a list of frames, through the real ``Machine``,
    subscribed as the recording's server answered (ids 1-3: book, ticker, trade)."""

    def __init__(self, markets: list[str]) -> None:
        self.store = Store()
        self.machine = Machine(self.store)
        for channel in (commands.CHANNEL_ORDERBOOK, commands.CHANNEL_TICKER, commands.CHANNEL_TRADE):
            self.machine.add_sub(Sub(channel, set(markets)), 0.0)
        self.machine.connected(time.monotonic())
        self.frames = self.sent = 0

    def feed(self, frames: list[bytes]) -> None:
        receive, clock = self.machine.receive, time.monotonic
        for raw in frames:
            self.frames += 1
            out = receive(raw, clock())
            if out:
                self.sent += len(out)

    @property
    def gaps(self) -> int:
        return self.store.metrics.gaps


def _naive_feed(client: NaiveClient, frames: list[bytes]) -> None:
    on_frame = client.on_frame
    for raw in frames:
        on_frame(raw)


def _timed_chunks(feed: Callable[[list[bytes]], None], frames: list[bytes]) -> tuple[float, list[float]]:
    """Total seconds, and seconds per ``SAMPLE``-frame chunk of the data part."""
    chunks: list[float] = []
    clock = time.perf_counter
    start = clock()
    for i in range(0, len(frames), SAMPLE):
        t = clock()
        feed(frames[i : i + SAMPLE])
        chunks.append(clock() - t)
    return clock() - start, chunks


def _stage_medians(frames: list[bytes], markets: list[str]) -> tuple[float, float, float]:
    """µs per frame of the whole path, decode alone and store.apply alone: each chunk of
    ``SAMPLE`` frames timed through all three (in alternating order), medians of the chunks."""
    clock = time.perf_counter
    ours, store = Ours(markets), Store()
    apply = store.apply
    times: list[tuple[float, float, float]] = []
    for n, i in enumerate(range(0, len(frames), SAMPLE)):
        chunk = frames[i : i + SAMPLE]
        whole_first = n % 2 == 0
        if whole_first:
            t = clock()
            ours.feed(chunk)
            whole = clock() - t
        t = clock()
        msgs = [decode(f) for f in chunk]
        dec = clock() - t
        t = clock()
        for msg in msgs:
            if type(msg) in m.DATA_TYPES:
                apply(msg)
        app = clock() - t
        if not whole_first:
            t = clock()
            ours.feed(chunk)
            whole = clock() - t
        times.append((whole, dec, app))
    steady = times[1:] or times  # the first chunk holds the snapshots
    k = 1e6 / SAMPLE
    return tuple(k * median([t[j] for t in steady]) for j in range(3))  # type: ignore[return-value]


def _books_exact(ours: Ours, rec: Recording) -> tuple[int, int]:
    """(markets whose book differs from the engine's or is not synced, markets)."""
    bad = 0
    for ticker, (yes, no) in rec.truth.items():
        state = ours.store.markets.get(ticker)
        if state is None or not state.book.synced or state.book.yes != yes or state.book.no != no:
            bad += 1
    return bad, len(rec.truth)


def _naive_wrong(client: NaiveClient, rec: Recording) -> int:
    """Levels in the naive books whose size is not the truth's (to the 0.01 grid), or
    that should not exist."""
    wrong = 0
    for ticker, truth in rec.truth.items():
        sides = client.books.get(ticker, {"yes": {}, "no": {}})
        for name, exact in zip(("yes", "no"), truth, strict=True):
            levels = sides[name]
            for price, size in levels.items():
                want = exact.get(round(price * 10_000), 0) / 100
                if abs(size - want) >= 0.005:
                    wrong += 1
    return wrong


def run(smoke: bool) -> Result:
    res = Result("ingest", TITLE)
    n = 20_000 if smoke else 250_000
    reps = 1 if smoke else 3
    t = time.perf_counter()
    rec = record(n, markets=500)
    gen_s = time.perf_counter() - t
    frames = rec.frames
    total = len(frames)
    mix = {k: round(v / sum(rec.counts.values()), 3) for k, v in rec.counts.items()}
    log(f"ingest: recorded {total} frames ({rec.nbytes / total:.0f} B avg) in {gen_s:.1f}s, mix {mix}")
    res.extra.update(
        frames=total,
        markets=len(rec.markets),
        avg_frame_bytes=round(rec.nbytes / total),
        mix=mix,
        engine_native_counts=dict(rec.native_counts),
        digest=rec.digest,
        record_seconds=round(gen_s, 2),
    )

    our_rates: list[float] = []
    our_chunks: list[float] = []
    ours = Ours(rec.markets)
    for _ in range(reps):
        ours = Ours(rec.markets)
        gc.collect()
        secs, chunks = _timed_chunks(ours.feed, frames)
        our_rates.append(total / secs)
        our_chunks += chunks[1:]  # the first chunk holds the snapshots: not a steady sample
    naive_rates: list[float] = []
    naive_chunks: list[float] = []
    client = NaiveClient()
    for _ in range(reps):
        client = NaiveClient()
        gc.collect()
        secs, chunks = _timed_chunks(lambda fs, c=client: _naive_feed(c, fs), frames)
        naive_rates.append(total / secs)
        naive_chunks += chunks[1:]

    ours_rate = median(our_rates)
    naive_rate = median(naive_rates)
    log(f"ingest: ours {ours_rate:,.0f} msgs/s, naive {naive_rate:,.0f} msgs/s")
    res.add(
        "ours, whole stream",
        ours_rate,
        "msgs/s",
        naive_rate,
        "naive client",
        target="≥ 500k msgs/s and ≥ 4x naive",
        met=ours_rate >= 500_000 and ours_rate >= 4 * naive_rate,
    )
    res.add("naive client (baseline)", naive_rate, "msgs/s")
    chunk_ours = SAMPLE / median(our_chunks)
    chunk_naive = SAMPLE / median(naive_chunks)
    res.add(
        f"ours, {SAMPLE:,}-msg sample (median of {len(our_chunks)})",
        chunk_ours,
        "msgs/s",
        chunk_naive,
        "naive, same samples",
    )
    slow = percentile(our_chunks, 90)
    res.extra.update(
        ours_rates=[round(r) for r in our_rates],
        naive_rates=[round(r) for r in naive_rates],
        ours_sample_p90_rate=round(SAMPLE / slow) if slow else None,
        ours_us_per_msg=round(1e6 / ours_rate, 3),
        naive_us_per_msg=round(1e6 / naive_rate, 3),
    )

    # Where the time goes: the stages alone, on the same frames.
    t = time.perf_counter()
    msgs = [decode(f) for f in frames]
    decode_rate = total / (time.perf_counter() - t)
    store = Store()
    t = time.perf_counter()
    for msg in msgs:
        if type(msg) in m.DATA_TYPES:
            store.apply(msg)
    apply_rate = total / (time.perf_counter() - t)
    res.add("  decode alone", decode_rate, "msgs/s", ours_rate, "whole path")
    res.add("  store.apply alone", apply_rate, "msgs/s", ours_rate, "whole path")
    del msgs, store
    # The machine's own share (seq and subscription checks, clock, counters, the loop), from
    # the three stages timed chunk by chunk side by side, so the machine's other load hits
    # all three alike; medians over the chunks.
    whole_us, decode_us, apply_us = _stage_medians(frames, rec.markets)
    keeping = whole_us - decode_us - apply_us
    res.add(
        "  per-frame bookkeeping (whole - decode - apply, per chunk)",
        100 * keeping / whole_us,
        "%",
        target="≤ 10 % of the whole path",
        met=keeping <= 0.10 * whole_us,
    )
    res.extra.update(
        whole_us=round(whole_us, 3),
        decode_us=round(decode_us, 3),
        apply_us=round(apply_us, 3),
        bookkeeping_us=round(keeping, 3),
    )

    bad, nmarkets = _books_exact(ours, rec)
    res.add("ours: books differing from the engine's", bad, "books", target="0", met=bad == 0)
    res.add("ours: seq gaps seen", ours.gaps, "", target="0", met=ours.gaps == 0)
    sent = ours.sent + ours.store.metrics.ignored
    res.add("ours: commands sent or frames ignored", sent, "", target="0", met=sent == 0)
    ghosts, levels = client.ghost_levels()
    wrong = _naive_wrong(client, rec)
    res.add("naive: float ghost levels", ghosts, "levels", levels, "naive levels")
    res.add("naive: levels with a wrong size", wrong, "levels", levels, "naive levels")
    res.extra.update(books_checked=nmarkets, naive_gaps=client.gaps)

    if not res.rows[0].met:
        res.extra["profile"] = hot_spots(lambda: Ours(rec.markets).feed(frames[: min(total, 100_000)]))
        res.note("target missed: see extra.profile for where the time goes")
    return res
