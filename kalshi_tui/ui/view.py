"""What the panes draw, handed to them by the app: the store, the clocks and the selection.

The app owns the one ``View`` and keeps it current; panes only read it. To change it they
post a message (``ui.pane``) and the app decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kalshi_tui.account import Account
from kalshi_tui.candles import ChartHistory
from kalshi_tui.details import MarketDetails
from kalshi_tui.sparks import Sparks
from kalshi_tui.store import Store


def _nothing() -> None:
    return None


@dataclass(slots=True, eq=False)
class View:
    store: Store
    clock: Callable[[], float]  # monotonic seconds: ages, flashes
    wall_clock: Callable[[], float]  # epoch seconds: rates, uptime
    groups: dict[str, list[str]]  # watchlist group -> tickers, in the user's order
    current_group: str
    selected: str | None = None
    watched: set[str] = field(default_factory=set)  # every ticker in any group
    flash: bool = True  # price flashes on the watchlist
    account: Account = field(default_factory=Account)  # the last REST snapshot of the account
    timezone: str = "local"  # where times are shown: the profile's setting
    details: dict[str, MarketDetails] = field(default_factory=dict)  # by ticker, as fetched
    details_errors: dict[str, str] = field(default_factory=dict)  # why a ticker's details failed
    sparks: Sparks = field(default_factory=Sparks)  # each watched market's last 24 h, by hour
    charts: ChartHistory = field(default_factory=ChartHistory)  # candles, as fetched and extended live
    # Something fetched off the store changed (account, details, candles): show it at the
    # refresh rate even if the app is dozing.
    wake: Callable[[], object] = _nothing
