"""What every tab's content has in common: it draws the app's ``View`` and asks the app for
changes with messages. The app's tick refreshes it only while visible."""

from __future__ import annotations

from typing import Any

from textual.containers import Vertical
from textual.message import Message

from kalshi_tui.store import Changes
from kalshi_tui.ui.view import View


class SelectMarket(Message):
    """Make ``ticker`` the selected market (``show_depth``: and show its depth)."""

    def __init__(self, ticker: str, show_depth: bool = False) -> None:
        super().__init__()
        self.ticker = ticker
        self.show_depth = show_depth


class AskAddMarket(Message):
    """Open the add-a-market palette for the current group."""


class RemoveMarket(Message):
    """Take ``ticker`` out of watchlist ``group``."""

    def __init__(self, ticker: str, group: str) -> None:
        super().__init__()
        self.ticker = ticker
        self.group = group


class StepGroup(Message):
    """Show the next (``step`` 1) or previous (-1) watchlist group."""

    def __init__(self, step: int) -> None:
        super().__init__()
        self.step = step


class Pane(Vertical):
    """A tab's content. ``refresh_view`` is called by the app's single refresh timer."""

    def __init__(self, view: View, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.view = view

    def refresh_view(self, changes: Changes, now: float, full: bool) -> None:
        """Bring the view up to date. ``full``: it was hidden (or the data was replaced),
        so redo everything; otherwise touch only what ``changes`` names."""
        raise NotImplementedError

    def focus_main(self) -> None:
        """Give the keyboard to the pane's main widget when its tab is shown."""
