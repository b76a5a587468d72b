"""``python -m bench.one KEY [--smoke] --out FILE``: run one benchmark in this interpreter."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from bench.__main__ import BENCHMARKS
from bench.common import Result


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.one")
    parser.add_argument("key", choices=list(BENCHMARKS))
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    module = importlib.import_module(BENCHMARKS[args.key][0])
    t = time.monotonic()
    res: Result = module.run(args.smoke)
    res.seconds = round(time.monotonic() - t, 1)
    args.out.write_text(json.dumps(res.to_json(), ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
