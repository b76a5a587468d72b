"""A recorded simulator stream: what one client subscribed to N markets would receive.

The frames come from the simulator's own engine and wire encoder (``kalshi_tui.sim``) with a
fixed seed, so every run replays the same bytes (the digest is reported). Envelopes are the
server's: one ``subscribed`` per channel, a snapshot per market, then deltas and trades on
their sid's seq counter, tickers without seq.

The engine's native mix is about 61 % deltas / 28 % tickers / 9 % trades. The issue asks
for ~80 / 15 / 5, so tickers and trades are thinned with a separate seeded generator (as if
fewer markets were on those channels). Deltas are never dropped: the books stay exact and
the engine's own books at the end are the truth to compare with.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field

from kalshi_tui.sim import frames as sim_frames
from kalshi_tui.sim.engine import DELTA, TICKER, TRADE, Engine, Output

SEED = 20_261_126
ORDERBOOK_SID, TICKER_SID, TRADE_SID = 1, 2, 3
MIX = {DELTA: 0.80, TICKER: 0.15, TRADE: 0.05}
_T0_MS = 1_796_000_000_000  # Dec 2026; the engine never reads the clock, we stamp it


@dataclass
class Recording:
    frames: list[bytes]
    markets: list[str]
    truth: dict[str, tuple[dict[int, int], dict[int, int]]]  # ticker -> (yes, no) exact books
    counts: Counter[str] = field(default_factory=Counter)
    native_counts: Counter[str] = field(default_factory=Counter)
    digest: str = ""

    @property
    def nbytes(self) -> int:
        return sum(len(f) for f in self.frames)


def _keep_share(native: Counter[str]) -> dict[str, float]:
    """Fraction of each kind to keep so the kept stream has ``MIX`` (all deltas kept)."""
    deltas = native[DELTA]
    total = deltas / MIX[DELTA]
    return {
        kind: min(1.0, MIX[kind] * total / native[kind]) if native[kind] else 1.0 for kind in (TICKER, TRADE)
    }


def record(frames: int, markets: int = 500, seed: int = SEED) -> Recording:
    """At least ``frames`` frames (data frames; the handful of control frames on top)."""
    engine = Engine(seed, markets, lifecycle_rate=0.0, user_share=0.0)
    subscribed = [st.market.ticker for st in engine.active]
    wanted = set(subscribed)
    out: list[bytes] = [
        sim_frames.subscribed(1, "orderbook_delta", ORDERBOOK_SID),
        sim_frames.subscribed(2, "ticker", TICKER_SID),
        sim_frames.subscribed(3, "trade", TRADE_SID),
    ]
    seq = {ORDERBOOK_SID: 0, TRADE_SID: 0}
    for ticker in subscribed:
        seq[ORDERBOOK_SID] += 1
        body = sim_frames.snapshot_msg(engine.state(ticker), False)
        out.append(sim_frames.snapshot_frame(ORDERBOOK_SID, seq[ORDERBOOK_SID], body))

    # A short run at the engine's native mix sets how much of each kind to keep.
    probe = Engine(seed + 1, markets, lifecycle_rate=0.0, user_share=0.0)
    native = Counter(o.kind for o in probe.run(20_000))
    keep = _keep_share(native)

    thin = random.Random(seed ^ 0x5EED)
    counts: Counter[str] = Counter()
    native_counts: Counter[str] = Counter()
    batch: list[Output] = []
    step = 0
    while sum(counts.values()) < frames:
        engine.ts_ms = _T0_MS + step // 20  # ~20 steps per ms: a busy exchange
        step += 1
        batch.clear()
        engine.step(batch)
        for o in batch:
            native_counts[o.kind] += 1
            if o.ticker not in wanted or o.kind not in MIX:
                continue
            if o.kind != DELTA and thin.random() >= keep[o.kind]:
                continue
            counts[o.kind] += 1
            if o.kind == TICKER:
                out.append(sim_frames.data_frame(TICKER, TICKER_SID, None, sim_frames.body(o)))
            else:
                sid = ORDERBOOK_SID if o.kind == DELTA else TRADE_SID
                seq[sid] += 1
                out.append(sim_frames.data_frame(o.kind, sid, seq[sid], sim_frames.body(o)))
    truth = {t: (dict(engine.state(t).yes), dict(engine.state(t).no)) for t in subscribed}
    h = hashlib.sha256()
    for f in out:
        h.update(f)
    return Recording(out, subscribed, truth, counts, native_counts, h.hexdigest()[:16])
