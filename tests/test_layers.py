"""The core never imports Textual (DESIGN.md): checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

CORE = [
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


def test_core_modules_do_not_import_textual() -> None:
    code = (
        "import sys\n"
        f"for name in {CORE!r}: __import__(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
