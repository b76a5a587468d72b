"""The key footer: one line of the keys that work here, drawn as text.

Textual's Footer rebuilds a widget per key whenever the focused widget's bindings change,
which is every tab switch, and it keeps a watcher for each removed key (``data_bind``), so
every switch left ~26 dead widgets with their styles and caches behind (0.24 MB a switch,
for ever). This footer is a single widget: a switch re-renders one line and creates none.
Keys that do not fit are dropped whole (never a stray character of a cut one); the palette
key stays on the right. A click runs the key's action, as Textual's footer does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget

GAP = 1  # cells between two keys
PALETTE_EDGE = "▏"


@dataclass(frozen=True)
class Hint:
    key: str  # as shown, e.g. "^p"
    description: str
    action: str
    node: DOMNode
    enabled: bool

    @property
    def width(self) -> int:
        return cell_len(self.key) + 1 + cell_len(self.description)


def fit(widths: list[int], room: int, gap: int = GAP) -> int:
    """How many of the leading items fit in ``room`` cells, ``gap`` cells apart."""
    used = 0
    for count, width in enumerate(widths):
        used += width + (gap if count else 0)
        if used > room:
            return count
    return len(widths)


class KeyFooter(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {"keyfooter--key", "keyfooter--description"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyFooter > .keyfooter--key { color: $footer-key-foreground; text-style: bold; }
    KeyFooter > .keyfooter--description { color: $footer-description-foreground; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int, Hint]] = []  # x from, x to, what is there

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh()

    def hints(self) -> tuple[list[Hint], Hint | None]:
        """The shown keys (one per action, in binding order) and the palette key."""
        shown: list[Hint] = []
        actions: set[str] = set()
        palette: Hint | None = None
        app = self.app
        for node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            hint = Hint(app.get_key_display(binding), binding.description, binding.action, node, enabled)
            if binding.key == app.COMMAND_PALETTE_BINDING and app.ENABLE_COMMAND_PALETTE:
                palette = Hint(hint.key, "Palette", binding.action, node, enabled)
            elif binding.show and binding.action not in actions:
                actions.add(binding.action)
                shown.append(hint)
        return shown, palette

    def render(self) -> Text:
        shown, palette = self.hints()
        width = self.size.width
        key_style = self.get_component_rich_style("keyfooter--key", partial=True)
        text_style = self.get_component_rich_style("keyfooter--description", partial=True)
        tail = (PALETTE_EDGE + palette.key + " " + palette.description) if palette else ""
        room = width - cell_len(tail) - (GAP if tail else 0)
        if room < 0:  # too narrow for the palette key too: keys only
            tail, palette, room = "", None, width
        count = fit([h.width for h in shown], room)
        line = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, Hint]] = []
        for i, hint in enumerate(shown[:count]):
            if i:
                line.append(" " * GAP)
            x = line.cell_len
            dim = Style(dim=not hint.enabled)
            line.append(hint.key, key_style + dim)
            line.append(" " + hint.description, text_style + dim)
            spans.append((x, line.cell_len, hint))
        if palette is not None:
            line.append(" " * (width - line.cell_len - cell_len(tail)))
            x = line.cell_len
            line.append(PALETTE_EDGE, Style(dim=True))
            line.append(palette.key, key_style)
            line.append(" " + palette.description, text_style)
            spans.append((x, line.cell_len, palette))
        self._spans = spans
        return line

    async def on_click(self, event: events.Click) -> None:
        for start, end, hint in self._spans:
            if start <= event.x < end:
                if hint.enabled:
                    await self.app.run_action(hint.action, hint.node)
                else:
                    self.app.bell()
                return
