"""Benchmark 2: simulator process -> loopback WebSocket -> our Pool -> Store, against a bare
websockets client on the same simulator (the ceiling), with and without permessage-deflate.

Each run is a fresh simulator process (same seed) at a fixed offered rate near the most it
can make (one Python process: ~145k frames/s on the 2-core reference machine, where 85k
steps/s offers ~137k frames/s) and one fresh client process. The simulator and the client
each have a core of their own; the driver only waits. Besides delivered frames/s, each
client's CPU per frame gives its capacity (frames per CPU-second): what it could take from a
faster server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench.common import Result, log, median
from bench.simproc import SimProcess, frames_per_step

TITLE = "End to end: sim process -> WebSocket -> Pool -> Store"
MARKETS = 500
OFFERED_STEPS = 85_000  # engine steps/s asked of the simulator (~1.6 frames per step)


def run_client(
    sim: SimProcess, tickers: list[str], mode: str, compression: str | None, warmup: float, duration: float
) -> dict[str, Any]:
    cfg = {
        "mode": mode,
        "compression": compression,
        "ws_url": sim.ws_url,
        "key_id": sim.key_id,
        "key_file": str(sim.key_file),
        "tickers": tickers,
        "warmup": warmup,
        "duration": duration,
    }
    cpu0 = sim.cpu_seconds() or 0.0
    proc = subprocess.run(
        [sys.executable, "-m", "bench.e2e_client"],
        input=json.dumps(cfg),
        capture_output=True,
        text=True,
        timeout=duration + warmup + 90,
    )
    sim_cpu = (sim.cpu_seconds() or 0.0) - cpu0
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} client failed: {proc.stderr.strip()[-400:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["sim_cpu_share"] = sim_cpu / out["wall"] if out["wall"] else None
    return out


def measure(
    sim: SimProcess, tickers: list[str], mode: str, compression: str | None, warmup: float, duration: float
) -> dict[str, Any]:
    out = run_client(sim, tickers, mode, compression, warmup, duration)
    out["rate"] = out["frames"] / out["seconds"]
    out["cpu_share"] = out["cpu"] / out["seconds"]
    out["us_cpu_per_frame"] = 1e6 * out["cpu"] / out["frames"] if out["frames"] else None
    out["wire_bytes_per_frame"] = out["wire_bytes"] / out["frames"] if out["frames"] else None
    log(
        f"e2e: {mode:4s} {compression or 'none':7s} {out['rate']:>9,.0f} frames/s  "
        f"client CPU {out['cpu_share']:.0%}  sim CPU {out['sim_cpu_share']:.0%}"
    )
    return out


def _merge(total: dict[str, Any] | None, part: dict[str, Any]) -> dict[str, Any]:
    """Add one window's counts to the ones before it (same mode and compression)."""
    if total is None:
        return part
    for key in (
        "frames",
        "seconds",
        "cpu",
        "wire_bytes",
        "gaps",
        "lost_seq_frames",
        "resyncs",
        "unsynced_books",
        "wall",
    ):
        if key in part:
            total[key] += part[key]
    for code, n in part.get("errors_by_code", {}).items():
        total["errors_by_code"][code] = total["errors_by_code"].get(code, 0) + n
    total["first_errors"] = total.get("first_errors", []) + part.get("first_errors", [])
    total["per_second"] += part["per_second"]
    total["sim_cpu_share"] = (total["sim_cpu_share"] + part["sim_cpu_share"]) / 2
    total["lag_last_s"] = part.get("lag_last_s")
    total["rate"] = total["frames"] / total["seconds"]
    total["cpu_share"] = total["cpu"] / total["seconds"]
    total["us_cpu_per_frame"] = 1e6 * total["cpu"] / total["frames"] if total["frames"] else None
    total["wire_bytes_per_frame"] = total["wire_bytes"] / total["frames"] if total["frames"] else None
    return total


def run(smoke: bool) -> Result:
    res = Result("e2e", TITLE)
    warmup, duration = (0.2, 0.6) if smoke else (2.0, 20.0)
    deflate_duration = duration if smoke else 10.0
    rounds = 1 if smoke else 2  # bare, ours, bare, ours: other load on the machine hits both alike
    runs: dict[tuple[str, str | None], dict[str, Any]] = {}
    for compression, secs in ((None, duration), ("deflate", deflate_duration)):
        for _ in range(rounds):
            for mode in ("bare", "ours"):
                # A fresh simulator each time: the same seed replays the same market. (A long-lived
                # one closes subscribed markets as it goes and offers less and less.)
                with SimProcess(seed=7, rate=OFFERED_STEPS, markets=MARKETS) as sim:
                    part = measure(sim, sim.tickers()[:MARKETS], mode, compression, warmup, secs / rounds)
                runs[(mode, compression)] = _merge(runs.get((mode, compression)), part)
    res.extra["runs"] = {f"{k[0]}/{k[1] or 'none'}": v for k, v in runs.items()}
    res.extra.update(
        markets=MARKETS,
        offered_steps_per_s=OFFERED_STEPS,
        offered_frames_per_s=round(OFFERED_STEPS * frames_per_step(MARKETS)),
        window_s=duration,
        deflate_window_s=deflate_duration,
    )

    for compression in (None, "deflate"):
        name = compression or "no compression"
        bare, ours = runs[("bare", compression)], runs[("ours", compression)]
        ratio = ours["rate"] / bare["rate"] if bare["rate"] else None
        steady = min(ours["per_second"]) / median(bare["per_second"]) if ours["per_second"] else None
        res.add(
            f"ours, {name}",
            ours["rate"],
            "frames/s",
            bare["rate"],
            "bare client, same sim",
            target="≥ 80% of ceiling",
            met=ratio is not None and ratio >= 0.8,
        )
        res.add(f"  ours, slowest second / ceiling median ({name})", steady, "")
        res.add(
            f"  client CPU per frame ({name})",
            ours["us_cpu_per_frame"],
            "µs",
            bare["us_cpu_per_frame"],
            "bare client",
        )
        cap_ours = 1e6 / ours["us_cpu_per_frame"] if ours["us_cpu_per_frame"] else None
        cap_bare = 1e6 / bare["us_cpu_per_frame"] if bare["us_cpu_per_frame"] else None
        res.add(f"  capacity: frames per CPU-second ({name})", cap_ours, "frames/s", cap_bare, "bare client")
        if ours.get("lag_last_s") is not None:
            res.add(
                f"  lag behind the sim, end of window ({name})",
                1000 * ours["lag_last_s"],
                "ms",
                1000 * (ours["lag_first_s"] or 0),
                "start of window",
            )
        res.add(
            f"  client CPU, share of a core ({name})",
            100 * ours["cpu_share"],
            "%",
            100 * bare["cpu_share"],
            "bare client",
        )
        res.add(
            f"  sim CPU, share of a core ({name})",
            100 * ours["sim_cpu_share"],
            "%",
            100 * bare["sim_cpu_share"],
            "with bare client",
        )
        lost = ours["gaps"] + ours["lost_seq_frames"] + ours["resyncs"] + ours["unsynced_books"]
        res.add(f"  frames lost / gaps / resyncs ({name})", lost, "", target="0", met=lost == 0)
        dropped = ours.get("errors_by_code", {}).get("25", 0)
        res.add(
            f"  dropped by the exchange for reading too slowly, error 25 ({name})",
            dropped,
            "",
            target="0",
            met=dropped == 0,
        )
        res.add(f"  wire bytes per frame ({name})", ours["wire_bytes_per_frame"], "B")
    plain, packed = runs[("ours", None)], runs[("ours", "deflate")]
    cpu_cost = (packed["us_cpu_per_frame"] or 0) - (plain["us_cpu_per_frame"] or 0)
    shrink = (plain["wire_bytes_per_frame"] or 0) / (packed["wire_bytes_per_frame"] or 1)
    res.extra["deflate"] = {
        "extra_client_us_per_frame": round(cpu_cost, 2),
        "wire_bytes_shrink": round(shrink, 2),
        "ceiling_drop": round(runs[("bare", "deflate")]["rate"] / runs[("bare", None)]["rate"], 3),
    }
    res.note(
        f"deflate: {shrink:.1f}x fewer wire bytes for {cpu_cost:+.1f} µs client CPU per frame; "
        f"the simulator's ceiling falls to {res.extra['deflate']['ceiling_drop']:.0%}"
    )
    # The default follows the binding constraint: client CPU (the app's budget is per core),
    # unless deflate costs next to nothing; bandwidth-starved links can still opt in.
    per_1k = cpu_cost * 1000 / 1e6  # share of a core per 1,000 msgs/s
    default = "deflate" if cpu_cost <= 1.0 else "none"
    res.extra["recommended_default"] = default
    saved = (plain["wire_bytes_per_frame"] or 0) - (packed["wire_bytes_per_frame"] or 0)
    res.note(
        f"recommended default compression: {default} (deflate costs {100 * per_1k:.2f}% of a core "
        f"per 1k msgs/s and saves {saved:.0f} B per frame; offer it as a setting for slow links)"
    )
    return res
