"""LiveGrid: a table for live data that repaints only the rows that changed.

Textual's stock DataTable repaints the whole table on any cell change (measured: a 50x8
table updated 10x/s costs ~65 % of a core and ~200 KB/s over SSH). This widget uses the
Line API instead: each row is rendered once into a cached ``Strip``; ``set_row`` with
new cells drops that row's cache and refreshes one line of the screen, and an unchanged
row costs nothing. Cells are plain ``(text, style)`` pairs; styles are component classes
so colours come from the theme.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kalshi_tui.ui.styles import ComponentStyles

#: (text, style name). Style names: "" plain, or one of STYLE_NAMES.
Cell = tuple[str, str]
STYLE_NAMES = ("up", "down", "bid", "ask", "dim", "stale", "warn", "error", "accent", "bold")
FLASH_UP = "flash-up"
FLASH_DOWN = "flash-down"
#: unchanged cells wider than this between two changed ones are skipped, not re-sent (moving
#: the cursor costs about as many bytes)
REPAINT_GAP = 8


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    #: 0: flexible, takes the room the fixed columns leave. A right-aligned (numeric)
    #: column grows past this to its widest value, so a big number is never cut.
    width: int
    align: Literal["left", "right"] = "right"
    #: columns with a lower priority are hidden first when the terminal is narrow
    priority: int = 5
    min_width: int = 8  # for a flexible column: below this it is hidden
    #: for a flexible column: never wider than this (0: no cap). A wide terminal then leaves
    #: blank room at the right instead of a long padded cell that every changed row re-sends.
    max_width: int = 0


def fit(text: str, width: int, align: str) -> str:
    """Pad or cut ``text`` to exactly ``width`` cells (cut text ends in an ellipsis)."""
    size = cell_len(text)
    if size > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    pad = " " * (width - size)
    return pad + text if align == "right" else text + pad


def _sort_key(value: Any) -> tuple[bool, Any]:
    # Missing values sort last whichever way the column is sorted.
    return (value is None, value if value is not None else 0)


class LiveGrid(ScrollView, can_focus=True):
    """Rows keyed by a string, a header line, a cursor row; cached per-row strips."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "livegrid--header",
        "livegrid--cursor",
        "livegrid--empty",
        *(f"livegrid--{name}" for name in (*STYLE_NAMES, FLASH_UP, FLASH_DOWN)),
    }

    # Standalone defaults; app.tcss restyles these with the theme's $up/$down/$bid/$ask.
    DEFAULT_CSS = """
    LiveGrid { background: $surface; }
    LiveGrid > .livegrid--header { text-style: bold; background: $panel; }
    LiveGrid > .livegrid--cursor { background: $primary 35%; }
    LiveGrid > .livegrid--empty { color: $foreground-muted; }
    LiveGrid > .livegrid--up { color: $success; }
    LiveGrid > .livegrid--down { color: $error; }
    LiveGrid > .livegrid--bid { color: $primary; }
    LiveGrid > .livegrid--ask { color: $warning; }
    LiveGrid > .livegrid--dim { color: $foreground-muted; }
    LiveGrid > .livegrid--stale { color: $foreground-muted; text-style: italic; }
    LiveGrid > .livegrid--warn { color: $warning; }
    LiveGrid > .livegrid--error { color: $error; }
    LiveGrid > .livegrid--accent { color: $accent; }
    LiveGrid > .livegrid--bold { text-style: bold; }
    LiveGrid > .livegrid--flash-up { background: $success; color: $background; }
    LiveGrid > .livegrid--flash-down { background: $error; color: $background; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False, id="grid-down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="grid-up"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="grid-page-down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="grid-page-up"),
        Binding("home", "first", "First row", show=False, id="grid-first"),
        Binding("end,G", "last", "Last row", show=False, id="grid-last"),
        Binding("enter", "select", "Open", show=False, id="grid-open"),
    ]

    class Highlighted(Message):
        """The cursor moved to ``key`` (by the user)."""

        def __init__(self, grid: LiveGrid, key: str) -> None:
            super().__init__()
            self.grid = grid
            self.key = key

        @property
        def control(self) -> LiveGrid:
            return self.grid

    class Selected(Highlighted):
        """Enter was pressed on ``key``."""

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        empty_text: str = "Nothing here yet.",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = list(columns)
        self.empty_text = empty_text
        self._base_order: list[str] = []
        self._order: list[str] = []  # display order (sorted, when a sort is set)
        self._index: dict[str, int] = {}
        self._cells: dict[str, tuple[Cell, ...]] = {}
        self._sort_values: dict[str, tuple[Any, ...]] = {}
        self._cache: dict[tuple[str, bool], Strip] = {}
        self._flashes: dict[str, dict[int, tuple[str, float]]] = {}  # key -> col -> (style, until)
        self._style = ComponentStyles(self, "livegrid")
        self._layout: list[tuple[int, int]] = []  # (column index, width) of shown columns
        self._spans: dict[int, tuple[int, int]] = {}  # column index -> (x, end), if shown
        self._width = 0
        #: per column: the width its widest value needs (fixed columns only; 0 = flexible)
        self._need: list[int] = [c.width for c in self.columns]
        self._grows = [c.width > 0 and c.align == "right" for c in self.columns]
        self._cursor_key: str | None = None
        # Inside ``batch()``: the lines to repaint, and the geometry read once for them.
        self._batch: list[Region] | None = None
        self._geometry: tuple[int, int, int, int] | None = None
        self.sort_column: int | None = None
        self.sort_reverse = False
        self._resort = False
        self.lines_rendered = 0  # rows actually rendered (cache misses): for tests and benches
        # Bumped when the rows' order or the grid's size changes: which rows are on screen
        # may have changed (with ``scroll_y``, which callers read themselves).
        self.arrangement = 0

    # -- data ------------------------------------------------------------------------------

    @property
    def row_keys(self) -> list[str]:
        """Keys in display order."""
        return list(self._order)

    @property
    def row_count(self) -> int:
        return len(self._order)

    def visible_keys(self) -> list[str]:
        """Keys of the rows on screen now."""
        top = int(self.scroll_y)
        body = max(0, self.scrollable_content_region.height - 1)
        return self._order[top : top + body]

    def cells(self, key: str) -> tuple[Cell, ...] | None:
        return self._cells.get(key)

    def set_order(self, keys: Iterable[str]) -> None:
        """Set which rows exist and their natural order; rows not listed are dropped."""
        keys = list(dict.fromkeys(keys))
        if keys == self._base_order:
            return
        keep = set(keys)
        for gone in [k for k in self._cells if k not in keep]:
            self._cells.pop(gone, None)
            self._sort_values.pop(gone, None)
            self._flashes.pop(gone, None)
            self._drop_cache(gone)
        self._base_order = keys
        self._reorder()

    def set_row(self, key: str, cells: Sequence[Cell], sort: Sequence[Any] | None = None) -> bool:
        """Store a row's cells; repaint its line only if something visible changed."""
        new = tuple(cells)
        if key not in self._index and key not in self._base_order:
            self._grow(new)
            self._base_order.append(key)
            self._cells[key] = new
            if sort is not None:
                self._sort_values[key] = tuple(sort)
            self._reorder()
            return True
        if sort is not None:
            values = tuple(sort)
            if (
                self.sort_column is not None
                and self._sort_values.get(key, values)[self.sort_column] != values[self.sort_column]
            ):
                self._resort = True
            self._sort_values[key] = values
        old = self._cells.get(key)
        if old == new:
            return False
        self._cells[key] = new
        self._drop_cache(key)
        # Repaint only the span of shown columns that changed: unchanged cells (and a change
        # in hidden columns alone) cost nothing on the wire (see ui/partial_repaint.py).
        if old is None or len(old) != len(new):
            self._grow(new)
            self._refresh_key(key)
        else:
            changed = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
            self._grow(new, changed)
            self._refresh_columns(key, changed)
        return True

    def flash(self, key: str, column: int, up: bool, until: float) -> None:
        """Paint one cell in the up/down flash colour until ``until`` (the caller's clock)."""
        self._flashes.setdefault(key, {})[column] = (FLASH_UP if up else FLASH_DOWN, until)
        self._drop_cache(key)
        self._refresh_columns(key, (column,))

    def tick(self, now: float) -> None:
        """Once per UI tick: end expired flashes and apply a pending re-sort."""
        if self._flashes:
            for key in list(self._flashes):
                cols = self._flashes[key]
                expired = [c for c, (_, until) in cols.items() if until <= now]
                for c in expired:
                    del cols[c]
                if not cols:
                    del self._flashes[key]
                if expired:
                    self._drop_cache(key)
                    self._refresh_columns(key, expired)
        if self._resort:
            self._resort = False
            self._reorder()

    def clear_flashes(self) -> None:
        for key in list(self._flashes):
            self._drop_cache(key)
        self._flashes.clear()

    def set_column_width(self, index: int, width: int) -> None:
        if self.columns[index].width != width:
            self.columns[index] = replace(self.columns[index], width=width)
            grows = width > 0 and self.columns[index].align == "right"
            widest = max((cell_len(c[index][0]) for c in self._cells.values() if len(c) > index), default=0)
            self._need[index] = max(width, widest) if grows else width
            self._grows[index] = grows
            if self.is_mounted:
                self._relayout()

    def _grow(self, cells: tuple[Cell, ...], columns: Iterable[int] | None = None) -> None:
        """Widen a numeric column that a value no longer fits (it never shrinks back, so the
        table doesn't jitter as numbers come and go). ``columns``: only these changed."""
        need, grows = self._need, self._grows
        grew = False
        n = min(len(cells), len(need))
        for i in range(n) if columns is None else columns:
            if i < n and grows[i] and cell_len(cells[i][0]) > need[i]:
                need[i] = cell_len(cells[i][0])
                grew = True
        if grew and self.is_mounted:
            self._relayout()

    # -- sorting ---------------------------------------------------------------------------

    def sort_by(self, column: int | None, reverse: bool = False) -> None:
        self.sort_column = column
        self.sort_reverse = reverse
        self._cache.clear()  # the header shows the sort arrow
        self._reorder(force=True)

    def cycle_sort(self) -> str:
        """Next sortable column (watchlist order after the last). Returns a label for a toast."""
        n = len(self.columns)
        nxt = 0 if self.sort_column is None else self.sort_column + 1
        if nxt >= n:
            self.sort_by(None)
            return "natural order"
        self.sort_by(nxt, self.sort_reverse)
        return self.columns[nxt].label

    def _reorder(self, force: bool = False) -> None:
        order = list(self._base_order)
        col = self.sort_column
        if col is not None:
            values = self._sort_values
            order.sort(
                key=lambda k: _sort_key(values[k][col] if k in values else None), reverse=self.sort_reverse
            )
            if self.sort_reverse:
                # keep missing values last when reversed too
                order.sort(key=lambda k: values.get(k, (None,) * (col + 1))[col] is None)
        if order == self._order and not force:
            return
        self._order = order
        self._index = {k: i for i, k in enumerate(order)}
        self.arrangement += 1
        self.virtual_size = Size(self._width, len(order) + 1)
        self.refresh()

    # -- cursor ----------------------------------------------------------------------------

    @property
    def cursor_key(self) -> str | None:
        if self._cursor_key in self._index:
            return self._cursor_key
        return self._order[0] if self._order else None

    @property
    def cursor_row(self) -> int:
        key = self.cursor_key
        return self._index.get(key, 0) if key is not None else 0

    def move_cursor_to(self, key: str, *, scroll: bool = True, announce: bool = False) -> bool:
        if key not in self._index:
            return False
        old = self.cursor_key
        self._cursor_key = key
        if old != key:
            if old is not None:
                self._refresh_key(old)
            self._refresh_key(key)
        if scroll:
            self._scroll_cursor_visible()
        if announce:
            self.post_message(self.Highlighted(self, key))
        return True

    def _move(self, delta: int) -> None:
        if not self._order:
            return
        row = max(0, min(len(self._order) - 1, self.cursor_row + delta))
        self.move_cursor_to(self._order[row], announce=True)

    def action_cursor_down(self) -> None:
        self._move(1)

    def action_cursor_up(self) -> None:
        self._move(-1)

    def action_page_down(self) -> None:
        self._move(max(1, self.scrollable_content_region.height - 2))

    def action_page_up(self) -> None:
        self._move(-max(1, self.scrollable_content_region.height - 2))

    def action_first(self) -> None:
        self._move(-len(self._order))

    def action_last(self) -> None:
        self._move(len(self._order))

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def _scroll_cursor_visible(self) -> None:
        body = self.scrollable_content_region.height - 1  # minus the header line
        if body <= 0:
            return
        row = self.cursor_row
        top = int(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + body:
            self.scroll_to(y=row - body + 1, animate=False, immediate=True)

    async def _on_click(self, event: events.Click) -> None:
        # Mouse is optional but should not surprise: a click moves the cursor.
        row = event.y - 1 + int(self.scroll_y)
        if event.y >= 1 and 0 <= row < len(self._order):
            self.move_cursor_to(self._order[row], scroll=False, announce=True)
            if event.chain == 2:
                self.action_select()

    # -- layout and styles -----------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style.clear()
        self._cache.clear()

    def on_resize(self, event: events.Resize) -> None:
        self.arrangement += 1
        self._relayout()

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        # Rows added (or removed) past the height bring (or take away) the scrollbar, which
        # changes the room for the columns without a resize: fit them again once laid out.
        self.call_after_refresh(self._relayout)

    def on_focus(self) -> None:
        self._refresh_cursor()

    def on_blur(self) -> None:
        self._refresh_cursor()

    def _refresh_cursor(self) -> None:
        key = self.cursor_key
        if key is not None:
            self._drop_cache(key)
            self._refresh_key(key)

    def _relayout(self) -> None:
        """Pick the columns that fit, widest-priority last, and size the flexible one."""
        avail = self.scrollable_content_region.width or self.size.width
        shown = list(range(len(self.columns)))
        while True:
            fixed = sum(self._need[i] for i in shown) + max(0, len(shown) - 1)
            flex = [i for i in shown if self._need[i] == 0]
            room = avail - fixed
            if room >= sum(self.columns[i].min_width for i in flex) or len(shown) <= 1:
                break
            drop = min(shown, key=lambda i: (self.columns[i].priority, -i))
            shown.remove(drop)
        share = max(0, room) // len(flex) if flex else 0
        self._layout = [(i, self._need[i] or min(share, self.columns[i].max_width or share)) for i in shown]
        x = 0
        self._spans = {}
        for i, w in self._layout:
            self._spans[i] = (x, x + w)
            x += w + 1
        width = sum(w for _, w in self._layout) + max(0, len(self._layout) - 1)
        # Column widths may change even when the total doesn't: always re-render.
        self._width = max(width, 1)
        self._cache.clear()
        self.virtual_size = Size(self._width, len(self._order) + 1)
        self.refresh()

    # -- rendering -------------------------------------------------------------------------

    def _drop_cache(self, key: str) -> None:
        self._cache.pop((key, False), None)
        self._cache.pop((key, True), None)

    def _refresh_columns(self, key: str, columns: Iterable[int]) -> None:
        """Repaint the part of ``key``'s line from the first to the last of ``columns`` shown.

        Not the row's other cells, the blank room right of the columns, nor the scrollbar.
        """
        spans = sorted(self._spans[i] for i in columns if i in self._spans)
        if not spans:
            return
        # Changed cells far apart (a price and a sparkline) go as separate pieces: the
        # unchanged cells between them cost more than moving the cursor over them.
        start, end = spans[0]
        for x, x2 in spans[1:]:
            if x - end > REPAINT_GAP:
                self._refresh_key(key, start, end)
                start = x
            end = max(end, x2)
        self._refresh_key(key, start, end)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Set many rows at once: the grid's geometry is read once, and their repaints go to
        Textual in one call (a tick that moves fifty rows is fifty cheap steps, not fifty
        round trips through Textual's layout properties)."""
        if self._batch is not None:
            yield
            return
        self._batch = []
        try:
            yield
        finally:
            regions, self._batch, self._geometry = self._batch, None, None
            if regions:
                self.refresh(*regions)

    def _read_geometry(self) -> tuple[int, int, int, int]:
        """(scroll y, height, content width, scroll x) as Textual has them now."""
        width = self.scrollable_content_region.width or self.size.width
        return int(self.scroll_y), self.size.height, width, int(self.scroll_x)

    def _refresh_key(self, key: str, start: int = 0, end: int | None = None) -> None:
        """Repaint the one screen line showing ``key`` (from ``start`` to ``end``), if shown."""
        row = self._index.get(key)
        if row is None:
            return
        geometry = self._geometry
        if geometry is None:
            geometry = self._read_geometry()
            if self._batch is not None:
                self._geometry = geometry
        scroll_y, height, width, scroll_x = geometry
        y = row + 1 - scroll_y
        if 1 <= y < height:
            left = max(0, start - scroll_x)
            right = width if end is None else min(width, end - scroll_x)
            if right > left:
                region = Region(left, y, right - left, 1)
                if self._batch is not None:
                    self._batch.append(region)
                else:
                    self.refresh(region)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        scroll_x = int(self.scroll_x)
        if y == 0:
            strip = self._cache.get(("\0header", False))
            if strip is None:
                strip = self._cache[("\0header", False)] = self._render_header()
            return strip.crop_extend(scroll_x, scroll_x + width, self._style("header"))
        row = y - 1 + int(self.scroll_y)
        if row >= len(self._order):
            if row == 0 and self.empty_text:
                return Strip(
                    [Segment(fit(" " + self.empty_text, width, "left"), self._style("empty"))], width
                )
            return Strip.blank(width, self._style(""))
        key = self._order[row]
        is_cursor = key == self.cursor_key
        strip = self._cache.get((key, is_cursor))
        if strip is None:
            strip = self._cache[(key, is_cursor)] = self._render_row(key, is_cursor)
            self.lines_rendered += 1
        return strip.crop_extend(scroll_x, scroll_x + width, self._style(""))

    def _render_header(self) -> Strip:
        style = self._style("header")
        segments: list[Segment] = []
        for n, (i, w) in enumerate(self._layout):
            col = self.columns[i]
            label = col.label
            if i == self.sort_column:
                label = label + ("▼" if self.sort_reverse else "▲")
            if n:
                segments.append(Segment(" ", style))
            segments.append(Segment(fit(label, w, col.align), style))
        return Strip(segments, self._width)

    def _render_row(self, key: str, is_cursor: bool) -> Strip:
        cells = self._cells.get(key, ())
        flashes = self._flashes.get(key, {})
        cursor: Style | None = None
        if is_cursor:
            # Unfocused: keep the cursor visible but quiet.
            cursor = (
                self.get_component_rich_style("livegrid--cursor", partial=True)
                if self.has_focus
                else Style(underline=True)
            )
        base = self._style("") if cursor is None else self._style("") + cursor
        segments: list[Segment] = []
        for n, (i, w) in enumerate(self._layout):
            text, style_name = cells[i] if i < len(cells) else ("", "")
            flash = flashes.get(i)
            style = self._style(flash[0] if flash is not None else style_name)
            if cursor is not None:
                style = style + cursor
            if n:
                segments.append(Segment(" ", base))
            segments.append(Segment(fit(text, w, self.columns[i].align), style))
        # Runs of one style become one segment: fewer style codes to send over SSH.
        return Strip(Segment.simplify(segments), self._width)
