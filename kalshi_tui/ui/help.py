"""The keys screen (``?``): every binding, the key it has now, and its id for remapping."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from kalshi_tui.ui.alerts import ALERTS_VIEW_BINDINGS
from kalshi_tui.ui.keys import (
    APP_BINDINGS,
    DEPTH_BINDINGS,
    REPLAY_BINDINGS,
    TRADES_BINDINGS,
    WATCHLIST_BINDINGS,
)

SECTIONS: list[tuple[str, list[BindingType]]] = [
    ("Anywhere", APP_BINDINGS),
    ("Watchlist", WATCHLIST_BINDINGS),
    ("Depth", DEPTH_BINDINGS),
    ("Trades", TRADES_BINDINGS),
    ("Alerts view (A)", ALERTS_VIEW_BINDINGS),
]


def keys_table(
    keymap: dict[str, str],
    key_display: object,
    extra: list[tuple[str, list[BindingType]]] = (),  # type: ignore[assignment]
) -> Table:
    """``keymap``: the profile's remaps (id -> keys); ``key_display``: App.get_key_display."""
    from kalshi_tui.ui.chart import CHART_BINDINGS
    from kalshi_tui.ui.details import DETAILS_BINDINGS
    from kalshi_tui.ui.grid import LiveGrid

    table = Table(box=None, expand=True, pad_edge=False)
    table.add_column("Key", style="bold", no_wrap=True, min_width=10)
    table.add_column("Does", ratio=2)
    table.add_column(escape("id (for [bindings])"), style="dim", no_wrap=True)
    sections = [
        *extra,
        *SECTIONS,
        ("Details", DETAILS_BINDINGS),
        ("Price chart (c)", CHART_BINDINGS),
        ("Tables", LiveGrid.BINDINGS),
    ]
    if not extra:  # the replay's keys go first in a replay, last elsewhere
        sections.append(("Replay", REPLAY_BINDINGS))
    for title, bindings in sections:
        table.add_row(f"[b u]{title}[/]", "", "")
        for b in bindings:
            if not isinstance(b, Binding):
                continue
            keys = keymap.get(b.id or "", b.key)
            shown = ", ".join(
                key_display(Binding(k.strip(), b.action))  # type: ignore[operator]
                for k in keys.split(",")
            )
            table.add_row(shown, b.description, b.id or "")
    table.add_row("[b u]Also[/]", "", "")
    table.add_row("ctrl+q", "quit", "")
    table.add_row("escape", "close a dialog or the palette", "")
    return table


class KeysScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="keys-close"),
        # The same movement keys as the tables, so the list scrolls the way the app does.
        Binding("j,down", "scroll(1)", "Down", show=False, id="keys-down"),
        Binding("k,up", "scroll(-1)", "Up", show=False, id="keys-up"),
        Binding("pagedown,ctrl+f,space", "page(1)", "Page down", show=False, id="keys-page-down"),
        Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False, id="keys-page-up"),
        Binding("home,g", "edge(0)", "Top", show=False, id="keys-top"),
        Binding("end,G", "edge(1)", "Bottom", show=False, id="keys-bottom"),
    ]

    def __init__(
        self, keymap: dict[str, str], extra: list[tuple[str, list[BindingType]]] | None = None
    ) -> None:
        super().__init__(id="keys-screen")
        self._remaps = keymap
        self._extra = extra or []  # sections first, e.g. the replay's keys

    @property
    def box(self) -> VerticalScroll:
        return self.query_one("#keys-box", VerticalScroll)

    def action_scroll(self, lines: int) -> None:
        self.box.scroll_relative(y=lines, animate=False)

    def action_page(self, pages: int) -> None:
        box = self.box
        box.scroll_relative(y=pages * max(box.scrollable_content_region.height - 1, 1), animate=False)

    def action_edge(self, end: int) -> None:
        box = self.box
        box.scroll_to(y=box.max_scroll_y if end else 0, animate=False)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="keys-box"):
            yield Static(
                "Keys  (remap any of them by id in your profile's [bindings] table; escape closes)",
                id="keys-title",
                markup=False,
            )
            yield Static(keys_table(self._remaps, self.app.get_key_display, self._extra), id="keys-table")
