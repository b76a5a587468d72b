"""Colour themes: TOML files turned into Textual ``Theme`` objects.

A theme file holds Textual's theme fields plus the app's own colours under
``[variables]`` (up, down, bid, ask, stale), which TCSS uses as ``$up`` etc::

    name = "kalshi-dark"          # optional: defaults to the file name
    dark = true
    primary = "#3b82f6"
    background = "#0b0f14"
    ...
    [variables]
    up = "#22c55e"
    down = "#ef4444"

Bundled themes live in the package (``_themes`` in a wheel, ``themes/`` in a checkout);
users add their own in ``<config dir>/themes``. A bad file is reported and skipped,
never fatal.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

DEFAULT_THEME = "kalshi-dark"
COLOUR_FIELDS = (
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
    "boost",
)
APP_VARIABLES = ("up", "down", "bid", "ask", "stale")
#: For themes that don't set them (Textual's own, or a minimal user theme).
VARIABLE_DEFAULTS = {
    "up": "#22c55e",
    "down": "#ef4444",
    "bid": "#38bdf8",
    "ask": "#f59e0b",
    "stale": "#8b8b8b",
}
_KNOWN = {"name", "dark", "luminosity_spread", "text_alpha", "variables", *COLOUR_FIELDS}


class ThemeFileError(ValueError):
    """One line: the file and what is wrong with it."""


@dataclass(frozen=True, slots=True)
class LoadedThemes:
    themes: list[Theme]
    problems: list[str]  # one line per file that was skipped


def theme_dirs(config_dir: Path | None = None) -> list[Path]:
    """Where theme files are looked for, later folders overriding earlier ones by name."""
    import kalshi_tui

    package = Path(kalshi_tui.__file__).parent
    dirs = [package / "_themes", package.parent / "themes"]
    if config_dir is None:
        import platformdirs  # lazy: only when the app starts

        config_dir = Path(platformdirs.user_config_dir("kalshi-tui"))
    dirs.append(config_dir / "themes")
    return dirs


def _colour(value: object, where: str, path: Path) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(f'{path}: {where} must be a colour string like "#22c55e"')
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(
            f"{path}: {where} = {value!r} is not a colour (use #rrggbb, rgb(...) or a colour name)"
        ) from None
    return value


def parse_theme(data: dict[str, object], path: Path) -> Theme:
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise ThemeFileError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(_KNOWN))})")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise ThemeFileError(f"{path}: name must be a non-empty string")
    if "primary" not in data:
        raise ThemeFileError(f"{path}: primary is required (the main accent colour)")
    colours = {k: _colour(data[k], k, path) for k in COLOUR_FIELDS if k in data}
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeFileError(f"{path}: dark must be true or false")
    variables_raw = data.get("variables", {})
    if not isinstance(variables_raw, dict):
        raise ThemeFileError(f"{path}: [variables] must be a table")
    variables: dict[str, str] = {}
    for key, value in variables_raw.items():
        if key in APP_VARIABLES:
            variables[key] = _colour(value, f"variables.{key}", path)
        elif isinstance(value, str):
            variables[key] = value  # a Textual variable override, e.g. "footer-key-foreground"
        else:
            raise ThemeFileError(f"{path}: variables.{key} must be a string")
    extra: dict[str, float] = {}
    for key in ("luminosity_spread", "text_alpha"):
        if key in data:
            value = data[key]
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ThemeFileError(f"{path}: {key} must be a number")
            extra[key] = float(value)
    return Theme(name=name.strip(), dark=dark, variables=variables, **colours, **extra)


def load_theme_file(path: Path) -> Theme:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThemeFileError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ThemeFileError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"{path}: not valid TOML ({exc})") from None
    return parse_theme(data, path)


def load_themes(dirs: Iterable[Path]) -> LoadedThemes:
    """Every ``*.toml`` in ``dirs``; a later theme of the same name replaces an earlier one."""
    found: dict[str, Theme] = {}
    problems: list[str] = []
    for folder in dirs:
        try:
            files = sorted(folder.glob("*.toml"))
        except OSError:
            continue
        for path in files:
            try:
                theme = load_theme_file(path)
            except ThemeFileError as exc:
                problems.append(str(exc))
                continue
            found[theme.name] = theme
    return LoadedThemes(list(found.values()), problems)
