"""Reliability: soak with faults, fuzzing, watchlist churn. ``python -m bench.reliability [--full]``.

The client (``Pool`` + ``Store``, exactly as the app and ``tail`` run them) talks to the
simulator over real loopback sockets with a real RSA key; every fault is injected on the
exchange side and the client has to notice and recover by itself.

* **soak** (``bench/soak.py``): a steady market with abrupt disconnects, dropped frames (seq gaps), error-25
  subscription drops, stalls (dead links) and a 401 window. After every recovery the
  exchange is paused for a moment and every book must equal its true book level for level;
  at the end the fills the client holds must be exactly the fills the exchange made (live or
  backfilled over REST). Resident memory and event-loop lag are sampled throughout.
* **fuzz** (``bench/fuzz.py``): thousands of malformed and hostile frames through the real
  session; each must be counted and the books must still be exact.
* **load** (``bench/soak.py``): 200 watchlist changes a second through ``update_subscription`` over a pool of
  five connections, one of them killed again and again; the event loop must stay
  responsive and the books exact.

The default is the short mode the test suite runs (seconds); ``--full`` is the release run
(ten minutes of soak at over 2,000 msgs/s on 200 markets, 10,000 fuzz frames, a minute of
churn). Figures go to stdout; the exit code is 0 only when every check held.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from bench import fuzz
from bench.soak import FULL_LOAD, FULL_SOAK, LoadPlan, SoakPlan, run_load, run_soak, schedule

# -- command line -----------------------------------------------------------------------------


def _print(line: str) -> None:
    print(line, flush=True)


async def _main(full: bool, only: set[str], seed: int | None) -> bool:
    ok = True
    if "fuzz" in only:
        plan = fuzz.FULL_FUZZ if full else fuzz.FuzzPlan()
        if seed is not None:
            plan.seed = seed
        _print(f"== fuzz: {plan.frames:,} hostile frames")
        fr = await fuzz.run_fuzz(plan)
        for line in fr.lines():
            _print(line)
        ok &= fr.ok
    if "load" in only:
        lplan = FULL_LOAD if full else LoadPlan()
        _print(f"== load: {lplan.seconds:g} s of {lplan.changes_per_second:g} watchlist changes/s")
        lr = await run_load(lplan, _print)
        for line in lr.lines():
            _print(line)
        ok &= lr.ok
    if "soak" in only:
        splan = FULL_SOAK if full else SoakPlan()
        if seed is not None:
            splan.seed = seed
        _print(f"== soak: {splan.seconds:g} s, {len(schedule(splan, 0, 0))} faults")
        sr = await run_soak(splan, _print)
        for line in sr.lines():
            _print(line)
        ok &= sr.ok
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--full", action="store_true", help="the release run: 10 min soak, 10,000 fuzz frames, 1 min of churn"
    )
    parser.add_argument("--only", default="fuzz,load,soak", help="comma list of fuzz, load, soak")
    parser.add_argument("--seed", type=int, help="override the soak and fuzz seeds")
    args = parser.parse_args(argv)
    only = {p.strip() for p in args.only.split(",") if p.strip()}
    unknown = only - {"fuzz", "load", "soak"}
    if unknown:
        parser.error(f"unknown part {sorted(unknown)[0]!r}")
    started = time.monotonic()
    ok = asyncio.run(_main(args.full, only, args.seed))
    _print(f"reliability: {'PASS' if ok else 'FAIL'} in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
