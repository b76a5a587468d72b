"""Starting the app: profiles, demo watchlists, lazy imports (the terminal side: test_ui_signals)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from kalshi_tui.config import ConfigError
from kalshi_tui.run import demo_watchlists, run_app


def test_demo_groups_markets_by_series() -> None:
    tickers = [
        "KXFEDDECISION-26DEC-H0",
        "KXBTCD-26DEC0217-T99499.99",
        "KXHIGHNY-26DEC03-T45",
        "KXNBAGAME-26DEC01GSWBOS-GSW",
        "KXODD-1",
    ]
    groups = demo_watchlists(tickers)
    assert groups["all"] == tuple(tickers)
    assert groups["macro"] == ("KXFEDDECISION-26DEC-H0",)
    assert groups["crypto"] == ("KXBTCD-26DEC0217-T99499.99",)
    assert "KXODD-1" not in {t for name, g in groups.items() if name != "all" for t in g}


def _args(config: Path, profile: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(config=str(config), profile=profile, theme=None)


def test_no_profile_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no profiles yet"):
        run_app(_args(tmp_path / "config.toml"))


def test_a_missing_key_file_is_one_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[profiles.main]\nenvironment = "demo"\nkey_id = "abc"\nkey_file = "{tmp_path / "nope.pem"}"\n'
    )
    with pytest.raises(ConfigError, match="key_file"):
        run_app(_args(config))


def test_launch_and_cli_import_no_textual_until_the_app_starts() -> None:
    code = (
        "import sys, kalshi_tui.cli, kalshi_tui.run\n"
        "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
