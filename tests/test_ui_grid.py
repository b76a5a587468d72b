"""LiveGrid: the Line-API table repaints only what changed, sorts, moves a cursor."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.geometry import Region

from kalshi_tui.ui.grid import Column, LiveGrid, fit

COLUMNS = [
    Column("name", "Name", 10, "left", priority=10),
    Column("title", "Title", 0, "left", priority=1, min_width=12),
    Column("price", "Price", 6, priority=9),
    Column("size", "Size", 8, priority=5),
]


class GridApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LiveGrid(COLUMNS, id="grid")


def row(name: str, price: int, size: int = 10) -> tuple[tuple[str, str], ...]:
    return ((name, ""), (f"title of {name}", ""), (f"{price}¢", "up"), (str(size), ""))


def text_of(grid: LiveGrid) -> list[str]:
    return [grid.render_line(y).text for y in range(grid.size.height)]


async def test_unchanged_rows_are_not_rendered_again() -> None:
    app = GridApp()
    async with app.run_test(size=(60, 12)) as pilot:
        grid = app.query_one(LiveGrid)
        for i in range(5):
            grid.set_row(f"m{i}", row(f"m{i}", 50 + i))
        await pilot.pause()
        drawn = grid.lines_rendered
        assert drawn >= 5
        # The same cells again: nothing to draw.
        for i in range(5):
            assert grid.set_row(f"m{i}", row(f"m{i}", 50 + i)) is False
        await pilot.pause()
        assert grid.lines_rendered == drawn
        # One changed row: exactly one line is drawn again.
        assert grid.set_row("m3", row("m3", 99)) is True
        await pilot.pause()
        assert grid.lines_rendered == drawn + 1
        assert "99¢" in text_of(grid)[4]


async def test_narrow_terminal_hides_low_priority_columns_first() -> None:
    app = GridApp()
    async with app.run_test(size=(35, 8)) as pilot:
        grid = app.query_one(LiveGrid)
        grid.set_row("a", row("a", 5))
        await pilot.pause()
        header = text_of(grid)[0]
        assert "Name" in header and "Price" in header
        assert "Title" not in header  # priority 1 goes first
    app = GridApp()
    async with app.run_test(size=(80, 8)) as pilot:
        grid = app.query_one(LiveGrid)
        grid.set_row("a", row("a", 5))
        await pilot.pause()
        assert "Title" in text_of(grid)[0]


async def test_sorting_and_the_cursor_follow_the_row() -> None:
    app = GridApp()
    async with app.run_test(size=(60, 12)) as pilot:
        grid = app.query_one(LiveGrid)
        for name, price in (("b", 30), ("a", 10), ("c", 20)):
            grid.set_row(name, row(name, price), sort=(name, "", price, 10))
        grid.focus()
        grid.move_cursor_to("a")
        grid.sort_by(2)
        assert grid.row_keys == ["a", "c", "b"]
        grid.sort_by(2, reverse=True)
        assert grid.row_keys == ["b", "c", "a"]
        assert grid.cursor_key == "a"
        # A live change of the sorted value re-sorts on the next tick, not mid-update.
        grid.set_row("a", row("a", 99), sort=("a", "", 99, 10))
        assert grid.row_keys == ["b", "c", "a"]
        grid.tick(0.0)
        assert grid.row_keys == ["a", "b", "c"]
        assert grid.cursor_row == 0
        await pilot.press("j")
        assert grid.cursor_key == "b"
        await pilot.press("end")
        assert grid.cursor_key == "c"
        await pilot.press("k", "home")
        assert grid.cursor_key == "a"


async def test_missing_values_sort_last_both_ways() -> None:
    app = GridApp()
    async with app.run_test(size=(60, 12)):
        grid = app.query_one(LiveGrid)
        grid.set_row("x", row("x", 1), sort=("x", "", None, 1))
        grid.set_row("y", row("y", 2), sort=("y", "", 5, 1))
        grid.set_row("z", row("z", 3), sort=("z", "", 7, 1))
        grid.sort_by(2)
        assert grid.row_keys[-1] == "x"
        grid.sort_by(2, reverse=True)
        assert grid.row_keys == ["z", "y", "x"]


async def test_flash_ends_on_the_tick_after_it_expires() -> None:
    app = GridApp()
    async with app.run_test(size=(60, 12)) as pilot:
        grid = app.query_one(LiveGrid)
        grid.set_row("a", row("a", 5))
        await pilot.pause()
        plain = grid.render_line(1)
        grid.flash("a", 2, up=True, until=10.0)
        flashed = grid.render_line(1)
        assert flashed.text == plain.text
        assert list(flashed) != list(plain)  # same text, different colours
        grid.tick(9.9)
        assert list(grid.render_line(1)) == list(flashed)
        grid.tick(10.0)
        assert list(grid.render_line(1)) == list(plain)


async def test_enter_posts_selected_with_the_row_key() -> None:
    seen: list[str] = []

    class Recorder(GridApp):
        def on_live_grid_selected(self, event: LiveGrid.Selected) -> None:
            seen.append(event.key)

    app = Recorder()
    async with app.run_test(size=(60, 12)) as pilot:
        grid = app.query_one(LiveGrid)
        for name in "pqr":
            grid.set_row(name, row(name, 1))
        grid.focus()
        await pilot.press("down", "enter")
        assert seen == ["q"]


async def test_set_order_drops_rows_and_shows_the_empty_text() -> None:
    app = GridApp()
    async with app.run_test(size=(60, 8)) as pilot:
        grid = app.query_one(LiveGrid)
        grid.empty_text = "Nothing to see."
        grid.set_row("a", row("a", 1))
        grid.set_order([])
        await pilot.pause()
        assert grid.row_count == 0
        assert "Nothing to see." in text_of(grid)[1]


def test_fit_pads_and_cuts_to_exact_cells() -> None:
    assert fit("56¢", 6, "right") == "   56¢"
    assert fit("abc", 5, "left") == "abc  "
    assert fit("KXFEDDECISION-26DEC-H25", 10, "left") == "KXFEDDECI…"
    assert fit("abc", 1, "left") == "a"


class RecordingGrid(LiveGrid):
    """A LiveGrid that keeps the screen regions it asked to repaint."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.regions: list[tuple[int, int, int]] = []

    def refresh(self, *regions: Region, **kwargs: object) -> RecordingGrid:  # type: ignore[override]
        self.regions.extend((r.x, r.x + r.width, r.y) for r in regions)
        return super().refresh(*regions, **kwargs)  # type: ignore[arg-type,return-value]


WIDE = [
    Column("name", "Name", 10, "left", priority=10),
    Column("price", "Price", 6, priority=9),
    Column("title", "Title", 30, "left", priority=8),
    Column("size", "Size", 6, priority=5),
]


class WideApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RecordingGrid(WIDE, id="grid")


async def test_changed_cells_far_apart_are_repainted_as_separate_pieces() -> None:
    app = WideApp()
    async with app.run_test(size=(80, 8)) as pilot:
        grid = app.query_one(RecordingGrid)
        cells = (("a", ""), ("5¢", ""), ("a long unchanged title", ""), ("10", ""))
        grid.set_row("a", cells)
        await pilot.pause()
        grid.regions.clear()
        # Price and size change, the 30-cell title between them doesn't: it is not re-sent.
        grid.set_row("a", (cells[0], ("6¢", ""), cells[2], ("11", "")))
        assert grid.regions == [(11, 17, 1), (49, 55, 1)]


async def test_a_batch_repaints_the_same_pieces_in_one_call() -> None:
    app = WideApp()
    async with app.run_test(size=(80, 8)) as pilot:
        grid = app.query_one(RecordingGrid)
        rows = {k: ((k, ""), ("5¢", ""), ("title", ""), ("10", "")) for k in "abc"}
        for key, cells in rows.items():
            grid.set_row(key, cells)
        await pilot.pause()
        grid.regions.clear()
        calls: list[int] = []
        refresh = grid.refresh

        def counting(*regions: Region, **kwargs: object) -> RecordingGrid:
            calls.append(len(regions))
            return refresh(*regions, **kwargs)

        grid.refresh = counting  # type: ignore[method-assign]
        with grid.batch():
            for key in "ac":
                grid.set_row(key, (rows[key][0], ("6¢", ""), rows[key][2], ("11", "")))
            assert calls == []  # nothing goes to Textual until the batch ends
        assert calls == [4]
        assert grid.regions == [(11, 17, 1), (49, 55, 1), (11, 17, 3), (49, 55, 3)]
        await pilot.pause()
        assert [grid.cells(k)[1][0] for k in "abc"] == ["6¢", "5¢", "6¢"]  # type: ignore[index]
