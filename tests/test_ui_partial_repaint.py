"""Partial repaints: only the changed cells go to the terminal, and the screen stays right.

A tiny terminal model replays what Textual would write (``ChopsUpdate.render_segments``,
patched by ``kalshi_tui.ui.partial_repaint``) over the previous screen and is compared with a full
render of the new screen.
"""

from __future__ import annotations

import re

from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.strip import Strip

from kalshi_tui.ui import partial_repaint
from kalshi_tui.ui.grid import Column, LiveGrid

_TOKEN = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])|\x1b\][^\x1b]*\x1b\\|(\r)|(\n)|([^\x1b\r\n])")


class Term:
    """Cells of (character, SGR parameters); understands CUP, SGR, CR, LF and text."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.cells = [[(" ", "")] * width for _ in range(height)]
        self.x = self.y = 0
        self.sgr = ""

    def feed(self, data: str) -> None:
        for m in _TOKEN.finditer(data):
            params, final, cr, lf, ch = m.groups()
            if final == "H":
                y, _, x = (params or "1;1").partition(";")
                self.y, self.x = int(y or 1) - 1, int(x or 1) - 1
            elif final == "m":
                self.sgr = "" if params in ("", "0") else params
            elif cr:
                self.x = 0
            elif lf:
                self.y += 1
            elif ch:
                if 0 <= self.y < self.height and 0 <= self.x < self.width:
                    self.cells[self.y][self.x] = (ch, self.sgr)
                self.x += max(1, cell_len(ch))

    def feed_strips(self, strips: list[Strip], console: object) -> None:
        for y, strip in enumerate(strips):
            self.feed(f"\x1b[{y + 1};1H" + strip.render(console))  # type: ignore[arg-type]

    def text(self) -> list[str]:
        return ["".join(c for c, _ in row) for row in self.cells]


COLUMNS = [
    Column("name", "Name", 8, "left", priority=10),
    Column("title", "Title", 0, "left", priority=1, min_width=8, max_width=20),
    Column("price", "Price", 6, priority=9),
    Column("size", "Size", 8, priority=5),
    Column("age", "Age", 5, priority=8),
]


class GridApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LiveGrid(COLUMNS, id="grid")


def cells(
    name: str, price: int, size: int, age: str = "<1s", flashy: bool = False
) -> tuple[tuple[str, str], ...]:
    return (
        (name, "bold"),
        (f"title of {name} 中文", ""),
        (f"{price}¢", "up" if flashy else ""),
        (str(size), "dim"),
        (age, ""),
    )


async def test_partial_repaints_send_only_changed_cells_and_keep_the_screen_right() -> None:
    assert partial_repaint.install()
    app = GridApp()
    async with app.run_test(size=(80, 12)) as pilot:
        grid = app.query_one(LiveGrid)
        for i in range(8):
            grid.set_row(f"m{i}", cells(f"m{i}", 50 + i, 10 * i))
        await pilot.pause()
        grid.focus()
        await pilot.pause()
        compositor = app.screen._compositor
        term = Term(80, 12)
        term.feed_strips(compositor.render_strips(), app.console)
        written: list[str] = []
        original = compositor.render_partial_update

        def spy():  # type: ignore[no-untyped-def]
            update = original()
            if update is not None:
                out = update.render_segments(app.console)
                written.append(out)
                term.feed(out)
            return update

        compositor.render_partial_update = spy  # type: ignore[method-assign]
        steps = [
            lambda: grid.set_row("m2", cells("m2", 99, 20)),  # price only
            lambda: grid.set_row("m3", cells("m3", 53, 31337)),  # size only
            lambda: grid.set_row("m4", cells("m4", 54, 40, "3s")),  # age only
            lambda: grid.set_row("m5", cells("m5", 7, 1, "9s", flashy=True)),
            lambda: grid.flash("m6", 2, True, 1e9),
            lambda: grid.tick(2e9),  # the flash ends
            lambda: grid.move_cursor_to("m1"),
        ]
        for step in steps:
            step()
            await pilot.pause()
            expected = Term(80, 12)
            expected.feed_strips(compositor.render_strips(), app.console)
            assert term.cells == expected.cells, "\n".join(term.text())
        # A price change sends the price cell, not the row's name and title before it.
        first = written[0]
        assert "99¢" in first and "m2" not in first and "title" not in first
        # A size change alone: no price, no title.
        assert any("31337" in w and "title" not in w and "53¢" not in w for w in written)


def test_skip_to_never_cuts_a_wide_character() -> None:
    from rich.segment import Segment

    strip = Strip([Segment("ab中文cd", None), Segment("xyz", None)])
    rest, x = partial_repaint._skip_to(strip, 10, 13)  # 13 falls inside 中 (cells 12-13)
    assert x == 10 and rest.text == "ab中文cdxyz"  # whole segment kept
    rest, x = partial_repaint._skip_to(strip, 10, 14)  # just after 中
    assert x == 14 and rest.text == "文cdxyz"
    rest, x = partial_repaint._skip_to(strip, 10, 19)
    assert x == 19 and rest.text == "yz"
