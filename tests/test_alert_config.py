"""Alert rules in the profile: read strictly, written back keeping the user's layout, 0600."""

from __future__ import annotations

import difflib
import stat
from pathlib import Path

import pytest

from kalshi_tui.alerts import Rule
from kalshi_tui.config import ConfigError, Profile, load_config, save_config, write_profile

HAND_WRITTEN = """\
default_profile = "main"

[profiles.main]
environment = "demo"   # practice first
alert_command = "notify-me --loud"

[profiles.main.watchlists]
fed = ["KXFED-A"]

# tell me when the Fed market moves
[[profiles.main.alerts]]
market = "KXFED-A"
when   = "bid_above"
price  = "0.55"        # my entry

[[profiles.main.alerts]]
when = "disconnected"
seconds = 30           # SSH over hotel wifi
repeat = true
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def _changed(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_rules_are_read_from_the_profile(tmp_path: Path) -> None:
    profile = load_config(_write(tmp_path / "c.toml", HAND_WRITTEN)).profile()
    assert profile.alerts == (
        Rule("bid_above", "KXFED-A", price=5500),
        Rule("disconnected", seconds=30, repeat=True),
    )
    assert profile.alert_command == "notify-me --loud"


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (('price  = "0.55"', 'price  = "1.55"'), 'profiles.main.alerts[1].price = "1.55" is out of range'),
        (("seconds = 30", "seconds = -1"), "profiles.main.alerts[2].seconds = -1 is not a whole number"),
        (('when   = "bid_above"', 'when = "bid_over"'), "profiles.main.alerts[1].when = 'bid_over'"),
        (('alert_command = "notify-me --loud"', 'alert_command = "say \'hi"'), "profiles.main.alert_command"),
        (("[[profiles.main.alerts]]\nmarket", "[profiles.main.x]\nmarket"), "profiles.main.x is not a known"),
    ],
)
def test_a_bad_rule_is_one_sentence_naming_the_file_and_setting(
    tmp_path: Path, edit: tuple[str, str], words: str
) -> None:
    text = HAND_WRITTEN.replace(*edit)
    assert text != HAND_WRITTEN
    path = _write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value).replace('"', "'")
    assert words.replace('"', "'") in message and str(path.name) in message and "\n" not in message


def test_alerts_must_be_tables(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.toml", '[profiles.main]\nalerts = "bid_above"\n')
    with pytest.raises(ConfigError, match=r"profiles\.main\.alerts is not a list of tables"):
        load_config(path)


def test_adding_editing_and_deleting_a_rule_keep_the_rest_of_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.toml", HAND_WRITTEN)
    before = path.read_text()
    profile = load_config(path).profile()
    new = Rule("trade_at_least", "KXFED-A", contracts=5000)
    write_profile(path, profile.with_alerts([*profile.alerts, new]))
    after_add = path.read_text()
    added = _changed(before, after_add)
    assert all(line.startswith("+") for line in added) and '+when = "trade_at_least"' in added
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    profile = load_config(path).profile()
    edited = Rule("bid_above", "KXFED-A", price=6000)
    write_profile(path, profile.with_alerts([edited, *profile.alerts[1:]]))
    after_edit = path.read_text()
    assert _changed(after_add, after_edit) == [
        '-price  = "0.55"        # my entry',
        '+price  = "0.60"        # my entry',
    ]

    profile = load_config(path).profile()
    write_profile(path, profile.with_alerts(profile.alerts[:1] + profile.alerts[2:]))
    removed = _changed(after_edit, path.read_text())
    assert removed and all(line.startswith("-") for line in removed)
    assert "# SSH over hotel wifi" not in path.read_text() and "# tell me when" in path.read_text()
    assert load_config(path).profile().alerts == (edited, new)


def test_a_fresh_file_with_rules_reads_back_the_same(tmp_path: Path) -> None:
    rules = (
        Rule("spread_at_least", "A", price=300, repeat=True, hysteresis=100, cooldown=60),
        Rule("volume_at_least", "A", contracts=150, window=60),
        Rule("lifecycle", "A", event="settled"),
    )
    profile = Profile.create("main", alerts=rules, alert_command="cat")
    config = load_config(tmp_path / "new.toml").with_profile(profile)
    path = save_config(config)
    assert load_config(path).profile().alerts == rules
    assert load_config(path).profile().alert_command == "cat"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
