"""The layers hold (docs/design.md, "Layers"): the import-linter contracts in pyproject.toml,
checked here so that ``pytest`` alone enforces them, plus the imports that really happen."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

import kalshi_tui

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
PACKAGE = Path(kalshi_tui.__file__).resolve().parent

CORE = [
    "kalshi_tui.alerts",
    "kalshi_tui.config",
    "kalshi_tui.auth",
    "kalshi_tui.protocol",
    "kalshi_tui.book",
    "kalshi_tui.store",
    "kalshi_tui.stream",
    "kalshi_tui.rest",
    "kalshi_tui.tail",
    "kalshi_tui.cli",
]


def _contracts() -> list[dict]:
    return tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]


def _package_modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _layer_modules() -> set[str]:
    modules = set()
    for contract in _contracts():
        if contract["type"] != "layers":
            continue
        for container in contract["containers"]:
            for layer in contract["layers"]:
                for tail in layer.replace(":", "|").split("|"):
                    modules.add(f"{container}.{tail.strip().strip('()')}")
    return modules


def test_import_contracts_hold(capsys: pytest.CaptureFixture[str]) -> None:
    code = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert code == 0, report


def test_every_module_of_the_package_is_in_a_layer() -> None:
    layers = _layer_modules()
    assert layers, "no layers contract in pyproject.toml"
    # The package's own __init__ is the container the layers live in.
    outside = [
        name
        for name in _package_modules()
        if name != "kalshi_tui" and not any(name == m or name.startswith(m + ".") for m in layers)
    ]
    assert outside == [], f"modules in no layer of the import contracts: {outside}"


def test_core_modules_do_not_import_textual() -> None:
    code = (
        "import sys\n"
        f"for name in {CORE!r}: __import__(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
