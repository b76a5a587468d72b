"""How a fired alert reaches the user: the bell, OSC 9 / OSC 777, and the user's command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kalshi_tui.alerts import Alert, Rule
from kalshi_tui.notify import alert_line, desktop_sequences, run_command

ALERT = Alert(
    Rule("bid_above", "KX-A", price=5500), "KX-A bid crossed above 55¢: 56¢", 3, 1_780_000_000.5, "0.5600"
)


def test_bell_then_osc_9_and_osc_777() -> None:
    seq = desktop_sequences(ALERT, tmux=False)
    assert seq == (
        "\a"
        "\x1b]9;Alert: KX-A: KX-A bid crossed above 55¢: 56¢\a"
        "\x1b]777;notify;Alert: KX-A;KX-A bid crossed above 55¢: 56¢\a"
    )


def test_inside_tmux_they_are_wrapped_for_passthrough() -> None:
    seq = desktop_sequences(ALERT, tmux=True)
    assert seq.startswith("\a\x1bPtmux;\x1b\x1b]9;")
    assert seq.count("\x1bPtmux;") == 2 and seq.endswith("\a\x1b\\")


def test_text_from_the_exchange_cannot_end_the_sequence_early() -> None:
    hostile = Alert(Rule("bid_above", "KX-A", price=5500), "evil\x1b]0;title\a;x\nnext", 1, 0.0)
    seq = desktop_sequences(hostile, tmux=False)
    body = seq[1:]
    assert body.count("\x1b") == 2 and body.count("\a") == 2  # only our own two sequences
    assert "\n" not in seq


def test_the_json_line_is_the_alert_and_nothing_secret() -> None:
    obj = json.loads(alert_line(ALERT))
    assert obj == {
        "time": "2026-05-28T20:26:40.500Z",
        "market": "KX-A",
        "when": "bid_above",
        "rule": "KX-A bid crosses above 55¢",
        "message": "KX-A bid crossed above 55¢: 56¢",
        "value": "0.5600",
        "while_disconnected": False,
        "note": None,
        "settings": {"market": "KX-A", "when": "bid_above", "price": "0.55"},
    }


async def test_the_command_gets_the_alert_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "got.json"
    code = f"import sys; open({str(out)!r}, 'w').write(sys.stdin.read())"
    assert await run_command(f"{sys.executable} -c {json.dumps(code)}", ALERT) is None
    assert json.loads(out.read_text())["message"] == ALERT.message


async def test_a_command_failure_is_a_sentence_not_an_exception() -> None:
    missing = await run_command("/nonexistent/notifier --x", ALERT)
    assert missing == "alert command '/nonexistent/notifier' was not found"
    failed = await run_command(f"{sys.executable} -c \"import sys; sys.exit('no display')\"", ALERT)
    assert failed is not None and failed.endswith("exited with 1: no display")
    assert (
        await run_command("'unclosed", ALERT) == "alert_command is not a command line (No closing quotation)"
    )
    hung = await run_command(f"{sys.executable} -c 'import time; time.sleep(60)'", ALERT, timeout=0.2)
    assert hung is not None and "was stopped" in hung
