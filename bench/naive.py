"""The baseline: how a first-draft client would read the same stream.

stdlib ``json``, prices and sizes as floats, books as ``dict[float, float]``, a level
deleted when its size compares equal to 0.0, and one formatted line per message written
to an in-memory sink (what a ``print``-per-message client does, minus the terminal).
It checks seq per sid like ours, so the comparison is like for like.
"""

from __future__ import annotations

import io
import json
from typing import Any


class NaiveClient:
    def __init__(self) -> None:
        self.books: dict[str, dict[str, dict[float, float]]] = {}
        self.tickers: dict[str, dict[str, Any]] = {}
        self.trades: list[dict[str, Any]] = []
        self.last_seq: dict[int, int] = {}
        self.gaps = 0
        self.sink = io.StringIO()

    def on_frame(self, raw: bytes | str) -> None:
        frame = json.loads(raw)
        kind = frame["type"]
        sid = frame.get("sid")
        seq = frame.get("seq")
        if sid is not None and seq is not None:
            last = self.last_seq.get(sid)
            if last is not None and seq != last + 1:
                self.gaps += 1
            self.last_seq[sid] = seq
        msg = frame.get("msg") or {}
        write = self.sink.write
        if kind == "orderbook_delta":
            ticker = msg["market_ticker"]
            side = self.books.setdefault(ticker, {"yes": {}, "no": {}})[msg["side"]]
            price = float(msg["price_dollars"])
            size = side.get(price, 0.0) + float(msg["delta_fp"])
            if size == 0.0:
                side.pop(price, None)
            else:
                side[price] = size
            write(f"{ticker} {msg['side']} {price:.4f} {size:.2f}\n")
        elif kind == "ticker":
            ticker = msg["market_ticker"]
            self.tickers[ticker] = {
                k: float(v) for k, v in msg.items() if k.endswith(("_dollars", "_fp")) and v not in ("", None)
            }
            write(
                f"{ticker} bid {self.tickers[ticker].get('yes_bid_dollars', 0.0):.4f} "
                f"ask {self.tickers[ticker].get('yes_ask_dollars', 0.0):.4f}\n"
            )
        elif kind == "trade":
            self.trades.append(msg)
            write(
                f"{msg['market_ticker']} trade {float(msg['yes_price_dollars']):.4f} "
                f"x {float(msg['count_fp']):.2f}\n"
            )
        elif kind == "orderbook_snapshot":
            ticker = msg["market_ticker"]
            self.books[ticker] = {
                "yes": {float(p): float(s) for p, s in msg.get("yes_dollars_fp", [])},
                "no": {float(p): float(s) for p, s in msg.get("no_dollars_fp", [])},
            }
            write(f"{ticker} snapshot\n")
        else:
            write(f"{kind}\n")

    def ghost_levels(self) -> tuple[int, int]:
        """(levels whose size is float residue that should have been 0, all levels)."""
        ghosts = total = 0
        for sides in self.books.values():
            for levels in sides.values():
                for size in levels.values():
                    total += 1
                    if abs(size) < 0.005:  # below the 0.01-contract grid: residue, not a size
                        ghosts += 1
        return ghosts, total
