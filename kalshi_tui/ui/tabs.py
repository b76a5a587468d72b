"""The tab container: Textual's TabbedContent, where only keys (and the tab bar) pick the tab.

Textual's TabbedContent shows whichever pane a widget takes focus in (``TabPane.Focused``).
That message is handled a moment after the focus moves, so a tab key pressed in between
was undone: press 4, and a 5 typed as the Fills table took the keyboard switched back to
Fills ("5 right after Fills drew" did nothing). Here focus never picks the tab; focus that
lands in a hidden pane (e.g. restored when a dialog closes) is reported instead, and the
app gives the keyboard to the visible tab.
"""

from __future__ import annotations

from textual.message import Message
from textual.widgets import TabbedContent, TabPane


class TabSwitcher(TabbedContent):
    class StrayFocus(Message):
        """Focus landed in a pane that is not shown."""

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        event.stop()
        event.prevent_default()  # not TabbedContent's own "show the focused pane"
        if event.tab_pane.id != self.active:
            self.post_message(self.StrayFocus())
