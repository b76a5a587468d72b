"""Comparing a client's books with the simulator's: the definition of "exact" that the
stream tests, the soak and the fuzzer all check against."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kalshi_tui.sim.simulator import Simulator
    from kalshi_tui.store import Store


def diverged(sim: Simulator, store: Store, tickers: Iterable[str]) -> list[str]:
    """Markets whose book is not synced or differs from the exchange's, level for level."""
    bad = []
    for ticker in tickers:
        truth = sim.book(ticker)
        state = store.markets.get(ticker)
        if state is None or not state.book.synced or state.book.yes != truth.yes or state.book.no != truth.no:
            bad.append(ticker)
    return bad
