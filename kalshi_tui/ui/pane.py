"""What every tab's content has in common: the app's tick refreshes it only while visible."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.containers import Vertical

from kalshi_tui.store import Changes

if TYPE_CHECKING:
    from kalshi_tui.ui.app import KalshiApp


class Pane(Vertical):
    """A tab's content. ``refresh_view`` is called by the app's single refresh timer."""

    @property
    def kapp(self) -> KalshiApp:
        return cast("KalshiApp", self.app)

    def refresh_view(self, changes: Changes, now: float, full: bool) -> None:
        """Bring the view up to date. ``full``: it was hidden (or the data was replaced),
        so redo everything; otherwise touch only what ``changes`` names."""
        raise NotImplementedError

    def focus_main(self) -> None:
        """Give the keyboard to the pane's main widget when its tab is shown."""
