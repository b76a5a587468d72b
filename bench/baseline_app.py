"""The SSH-bandwidth baseline: the watchlist drawn with Textual's stock ``DataTable``.

``python -m bench.baseline_app --config PATH`` reads the same profile as ``kalshi-tui``,
runs the same ``Pool`` into the same ``Store``, and shows the same rows (cells from the
app's own ``market_row``) at the same refresh rate, updating only the cells that changed,
with ``DataTable.update_cell``. What differs is only how the grid is drawn.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Static

from kalshi_tui.auth import Signer
from kalshi_tui.config import Profile, load_config
from kalshi_tui.rest import RestClient
from kalshi_tui.store import Store
from kalshi_tui.stream import Pool
from kalshi_tui.ui.watchlist import COLUMNS, market_row

STYLES = {
    "": "",
    "up": "green",
    "down": "red",
    "bid": "green",
    "ask": "red",
    "dim": "dim",
    "stale": "dim italic",
    "warn": "yellow",
    "error": "bold red",
    "accent": "cyan",
    "bold": "bold",
}


class BaselineApp(App[int]):
    CSS = "DataTable { height: 1fr; } #hdr { height: 1; background: $panel; }"
    BINDINGS: ClassVar[list[Any]] = [("q", "quit", "Quit")]

    def __init__(self, profile: Profile, store: Store, pool: Pool) -> None:
        super().__init__()
        self.profile = profile
        self.store = store
        self.pool = pool
        self.tickers = list(profile.tickers)
        self.shown: dict[str, tuple[Any, ...]] = {}
        self._second = -1

    def compose(self) -> ComposeResult:
        yield Static("kalshi-tui (DataTable baseline)", id="hdr")
        yield DataTable(cursor_type="row", zebra_stripes=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for col in COLUMNS:
            table.add_column(col.label, key=col.key, width=col.width or 24)
        for ticker in self.tickers:
            cells = market_row(ticker, self.store.markets.get(ticker), None).cells
            self.shown[ticker] = cells
            table.add_row(*(Text(t, style=STYLES.get(s, "")) for t, s in cells), key=ticker)
        self.run_worker(self.pool.run(), exit_on_error=False)
        self.run_worker(self._titles(), exit_on_error=False)
        self.set_interval(1.0 / (self.profile.refresh_rate or 10.0), self.tick)

    async def _titles(self) -> None:
        """Market titles over REST, as the app loads them (the Title column is not empty)."""
        rest = RestClient(self.profile.rest_url, self.pool.signer)
        try:
            self.store.set_meta(await rest.markets(tickers=self.tickers))
        finally:
            await rest.aclose()

    def tick(self) -> None:
        store = self.store
        now = store.clock()
        changes = store.take_changes()
        todo: set[str] | list[str] = (changes.markets | changes.books) & set(self.tickers)
        if int(now) != self._second:  # ages tick once a second, as in the app
            self._second = int(now)
            todo = self.tickers
        table = self.query_one(DataTable)
        for ticker in todo:
            cells = market_row(ticker, store.markets.get(ticker), store.age(ticker, now)).cells
            old = self.shown.get(ticker, ())
            for i, (col, cell) in enumerate(zip(COLUMNS, cells, strict=True)):
                if i >= len(old) or old[i] != cell:
                    table.update_cell(ticker, col.key, Text(cell[0], style=STYLES.get(cell[1], "")))
            self.shown[ticker] = cells
        self.query_one("#hdr", Static).update(f"kalshi-tui (DataTable baseline)  {store.metrics.state}")

    async def action_quit(self) -> None:
        await self.pool.close()
        self.exit(0)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline_app")
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    profile = load_config(args.config).profile(None)
    assert profile.key_id is not None and profile.key_file is not None
    signer = Signer.from_file(profile.key_id, profile.key_file)
    store = Store()
    pool = Pool(profile.ws_url, signer, store, profile.stream, markets=profile.tickers)
    BaselineApp(profile, store, pool).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
