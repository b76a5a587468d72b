"""RSS of ``kalshi-tui demo`` in a pseudo-terminal before and after many tab switches.

``python -m bench.tab_rss [--switches 1000] [--cols 120] [--rows 40]``

The demo runs in a real pty (as an SSH session would); the keys 1..5 are typed in turn,
one every ``--gap`` seconds, after a warm-up of 50 switches. Prints the child's RSS after the
warm-up and every ``--every`` switches. ``--idle`` is the control: the same run with no keys
typed, to tell the demo's own growth (its trades and fills) from the switching. A switch
that leaks shows here as a steady climb.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench.ssh_bandwidth import LIVE
from bench.term import Terminal

TAB_KEYS = "12345"


def switch(term: Terminal, count: int, gap: float, idle: bool = False) -> None:
    for i in range(count):
        if not idle:
            os.write(term.fd, TAB_KEYS[i % len(TAB_KEYS)].encode())
        time.sleep(gap)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--switches", type=int, default=1000)
    parser.add_argument("--gap", type=float, default=0.03, help="seconds between keys")
    parser.add_argument("--idle", action="store_true", help="control run: the same time, no keys")
    parser.add_argument("--every", type=int, default=250, help="print RSS every N switches")
    parser.add_argument("--cols", type=int, default=120)
    parser.add_argument("--rows", type=int, default=40)
    args = parser.parse_args(argv)
    with Terminal([sys.executable, "-m", "kalshi_tui", "demo"], cols=args.cols, rows=args.rows) as term:
        if term.wait_for(LIVE, 60) is None:
            print("the demo never went live", file=sys.stderr)
            return 1
        switch(term, 50, args.gap)
        time.sleep(2)
        before = term.rss_mb() or 0.0
        print(f"RSS after a warm-up of 50 switches: {before:.1f} MB", flush=True)
        done = 0
        while done < args.switches:
            step = min(args.every, args.switches - done)
            switch(term, step, args.gap, args.idle)
            done += step
            time.sleep(1)
            print(f"after {done:5d} more switches: {term.rss_mb() or 0.0:.1f} MB", flush=True)
        after = term.rss_mb() or 0.0
    print(f"RSS {before:.1f} -> {after:.1f} MB over {args.switches} tab switches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
