"""Theme files: bundled ones are complete, bad ones are reported and skipped, users can add."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.color import Color

from kalshi_tui.ui.themes import (
    APP_VARIABLES,
    ThemeFileError,
    load_theme_file,
    load_themes,
    theme_dirs,
)
from tests import ui_fixtures as fx

BUNDLED = ("kalshi-dark", "kalshi-light", "kalshi-high-contrast")
REQUIRED = (
    "primary",
    "secondary",
    "accent",
    "background",
    "surface",
    "panel",
    "foreground",
    "success",
    "warning",
    "error",
)


def test_bundled_themes_define_every_colour() -> None:
    loaded = load_themes([fx.REPO_THEMES])
    assert loaded.problems == []
    themes = {t.name: t for t in loaded.themes}
    assert set(BUNDLED) <= set(themes)
    for name in BUNDLED:
        theme = themes[name]
        for field in REQUIRED:
            assert getattr(theme, field), f"{name} lacks {field}"
        assert set(APP_VARIABLES) <= set(theme.variables), name
        # up and down must be told apart at a glance.
        up, down = Color.parse(theme.variables["up"]), Color.parse(theme.variables["down"])
        assert up != down
    assert themes["kalshi-light"].dark is False


def test_a_bad_file_is_reported_and_the_rest_still_load(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text('primary = "#112233"\n[variables]\nup = "green"\n')
    (tmp_path / "typo.toml").write_text('primary = "#112233"\nprimry = "#000"\n')
    (tmp_path / "colour.toml").write_text('primary = "not-a-colour"\n')
    (tmp_path / "syntax.toml").write_text("primary = \n")
    loaded = load_themes([tmp_path])
    assert [t.name for t in loaded.themes] == ["good"]  # named after the file
    assert len(loaded.problems) == 3
    joined = "\n".join(loaded.problems)
    assert "typo.toml: unknown setting 'primry'" in joined
    assert "colour.toml: primary = 'not-a-colour' is not a colour" in joined
    assert "syntax.toml: not valid TOML" in joined


def test_variables_must_be_colours(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text('primary = "#112233"\n[variables]\ndown = 12\n')
    with pytest.raises(ThemeFileError, match=r"variables\.down"):
        load_theme_file(path)


def test_a_user_theme_overrides_a_bundled_one_by_name(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('name = "kalshi-dark"\nprimary = "#ff00ff"\n')
    loaded = load_themes([fx.REPO_THEMES, tmp_path])
    dark = next(t for t in loaded.themes if t.name == "kalshi-dark")
    assert dark.primary == "#ff00ff"


def test_theme_dirs_look_in_the_wheel_the_checkout_and_the_config_dir(tmp_path: Path) -> None:
    dirs = theme_dirs(tmp_path)
    assert dirs[0].name == "_themes" and dirs[0].parent.name == "kalshi_tui"
    assert fx.REPO_THEMES in dirs
    assert dirs[-1] == tmp_path / "themes"


async def test_unknown_theme_name_falls_back_with_a_notification() -> None:
    app = fx.make_app(theme="no-such-theme")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "kalshi-dark"
        assert any("No theme named 'no-such-theme'" in str(n.message) for n in app._notifications)


async def test_invalid_theme_file_is_a_notification_and_the_app_runs(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text("primary = [\n")
    app = fx.make_app(theme_folders=[fx.REPO_THEMES, tmp_path])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "kalshi-dark"
        assert any("broken.toml" in str(n.message) for n in app._notifications)


async def test_switching_themes_keeps_the_app_colours_defined() -> None:
    app = fx.make_app(theme="kalshi-light")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.get_css_variables()["up"] == "#15803d"
        app.theme = "textual-dark"  # a theme without our variables: defaults fill in
        await pilot.pause()
        assert app.get_css_variables()["up"]
        await pilot.press("T")  # the theme picker
        await pilot.pause()
        await pilot.press(*"high-contrast")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == "kalshi-high-contrast"
