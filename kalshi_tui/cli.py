"""Command line: parses arguments and hands off to the module that does the work.

Handlers are imported lazily so `kalshi-tui --help` and `tail` never pay for Textual.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from kalshi_tui import __version__
from kalshi_tui.config import REST_SCHEMES, WS_SCHEMES, check_path_text, check_url_option
from kalshi_tui.errors import UserError

# subcommand -> "module:function"; the function takes the parsed args and returns an exit code.
HANDLERS = {
    "run": "kalshi_tui.run:run_app",
    "demo": "kalshi_tui.run:run_demo",
    "init": "kalshi_tui.config_cli:init",
    "config-show": "kalshi_tui.config_cli:show",
    "sim": "kalshi_tui.sim.cli:run",
    "tail": "kalshi_tui.tail:run",
    "check": "kalshi_tui.check:run",
    "export": "kalshi_tui.export:run",
    "alerts": "kalshi_tui.alerts_headless:run",
    "replay": "kalshi_tui.run:run_replay",
}


def _record_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("recording")
    g.add_argument(
        "--record",
        metavar="PATH",
        help="record every frame to PATH (zstd JSON lines; gzip if PATH ends in .gz)",
    )
    g.add_argument("--record-max-mb", metavar="MB", type=float, help="start a new file past MB (default 64)")
    g.add_argument(
        "--record-keep", metavar="N", type=int, help="old files kept: PATH.1 ... PATH.N (default 5)"
    )


def _replay_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = sub.add_parser("replay", help="play a recording (--record) into the dashboard or as JSON lines")
    replay.add_argument("paths", nargs="+", metavar="PATH", help="recording files, oldest first")
    replay.add_argument("--speed", type=float, default=1.0, help="times real time (default 1)")
    replay.add_argument("--paused", action="store_true", help="start paused (space plays, n steps)")
    replay.add_argument("--tail", action="store_true", help="print the events as JSON lines (as tail)")
    replay.add_argument(
        "--books-out", metavar="FILE", help="with --tail: write every book to FILE at the end"
    )


def _sim_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("simulator")
    g.add_argument("--seed", type=int, default=7, help="random seed: same seed, same stream")
    g.add_argument("--rate", type=float, default=50.0, help="data messages per second")
    g.add_argument("--markets", type=int, default=40, metavar="N", help="number of markets")


def _endpoint_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("endpoint (instead of a profile)")
    g.add_argument("--ws-url", help="WebSocket URL, e.g. ws://127.0.0.1:8765/trade-api/ws/v2")
    g.add_argument("--rest-url", help="REST base URL, e.g. http://127.0.0.1:8765/trade-api/v2")
    g.add_argument("--key-id", help="API key id")
    g.add_argument("--key-file", help="path to the PEM private key")


# Options that take a file path: pasted key text in any of them is refused unechoed.
PATH_OPTIONS = {
    "config": "--config",
    "debug_log": "--debug-log",
    "key_file": "--key-file",
    "books_out": "--books-out",
    "record": "--record",
    "public_key": "--public-key",
}
# Options that take a URL: (schemes, example), checked by the one URL check before any command runs.
URL_OPTIONS = {
    "ws_url": ("--ws-url", WS_SCHEMES, "wss://external-api-ws.kalshi.com/trade-api/ws/v2"),
    "rest_url": ("--rest-url", REST_SCHEMES, "https://external-api.kalshi.com/trade-api/v2"),
}
# Subcommands that read the config file also take --config/--profile after their name.
_CONFIG_COMMANDS = ("run", "demo", "init", "tail", "check", "export")


def _config_options(p: argparse.ArgumentParser) -> None:
    # SUPPRESS: when not given after the subcommand, the value given before it (or None) stays.
    p.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="config file")
    p.add_argument("--profile", metavar="NAME", default=argparse.SUPPRESS, help="profile to use")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kalshi-tui",
        description="A terminal dashboard for Kalshi's live markets. "
        "With no command, opens the dashboard on the default profile.",
    )
    parser.add_argument("--version", action="version", version=f"kalshi-tui {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $KALSHI_TUI_CONFIG or the platform config dir); "
        "also accepted after the command",
    )
    parser.add_argument(
        "--profile", metavar="NAME", help="profile to use (default: the default); also after the command"
    )
    parser.add_argument("--theme", metavar="NAME", help="colour theme for the dashboard")
    parser.add_argument("--debug-log", metavar="PATH", help="write a debug log to PATH")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    _record_options(sub.add_parser("run", help="open the dashboard on a profile (the default command)"))

    demo = sub.add_parser("demo", help="open the dashboard on the embedded exchange simulator")
    _sim_options(demo)
    _record_options(demo)
    _replay_parser(sub)

    init = sub.add_parser("init", help="write a profile to the config file")
    init.add_argument("--env", choices=["prod", "demo", "custom"], help="Kalshi environment")
    init.add_argument("--ws-url", help="custom WebSocket URL (env custom)")
    init.add_argument("--rest-url", help="custom REST base URL (env custom)")
    init.add_argument("--key-id", help="API key id")
    init.add_argument("--key-file", help="path to the PEM private key (the path is stored, not the key)")
    init.add_argument(
        "--watchlist",
        action="append",
        default=[],
        metavar="NAME=T1,T2",
        help="a named watchlist group (repeatable)",
    )
    init.add_argument("--refresh-rate", type=float, help="screen updates per second")
    init.add_argument("--default", action="store_true", help="make this the default profile")
    init.add_argument("--yes", "-y", action="store_true", help="don't ask questions: take flags and defaults")
    init.add_argument(
        "--force", action="store_true", help="write the profile even if the key file is missing"
    )

    config = sub.add_parser("config", help="inspect settings")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = config_sub.add_parser("show", help="print the resolved profile (key contents never shown)")
    _config_options(show)

    sim = sub.add_parser("sim", help="run the exchange simulator standalone")
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sim.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    sim.add_argument(
        "--public-key", metavar="PEM", help="accept this public key instead of creating a throwaway key pair"
    )
    sim.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[:ARG][@EVERY]",
        help="inject a fault once at start, or every EVERY seconds (repeatable): "
        "drop, kill, stall:SECONDS, garble, overflow, refuse:SECONDS, "
        "slow:SECONDS, reject:SECONDS; e.g. --fault kill@60 --fault stall:3@45",
    )
    _sim_options(sim)

    tail = sub.add_parser("tail", help="print the live stream as JSON lines (headless)")
    _endpoint_options(tail)
    tail.add_argument("--markets", help="comma-separated market tickers (default: the profile's)")
    tail.add_argument(
        "--channels", default="orderbook_delta,ticker,trade,fill", help="comma-separated channels"
    )
    # Numbers are checked by tail itself, so a bad one gets one sentence (exit 2), not usage.
    tail.add_argument("--count", metavar="N", help="stop after N events")
    tail.add_argument("--duration", metavar="S", help="stop after S seconds")
    tail.add_argument(
        "--connect-timeout",
        metavar="S",
        help="give up (exit 4) if nothing is subscribed after S seconds (default 30)",
    )
    tail.add_argument("--books-out", metavar="FILE", help="write every book to FILE at exit")
    tail.add_argument("--replay", metavar="PATH", nargs="+", help="play recordings instead of connecting")
    _record_options(tail)

    check = sub.add_parser(
        "check",
        help="check a profile: config, key, clock, REST, WebSocket (one line each; exit 1 if one fails)",
    )
    _endpoint_options(check)
    check.add_argument(
        "--market", metavar="T", help="market to subscribe to (default: the watchlist's first)"
    )

    export = sub.add_parser(
        "export",
        help="write fills, positions, settlements or a market's trades as CSV or JSON lines",
        description="Every page from the REST API, exact decimal strings (prices 4 places, "
        "counts 2, money 6), times in UTC; newest first, as the exchange sends them.",
    )
    # Checked by export itself, so a wrong one is one sentence (exit 2), not usage.
    export.add_argument("kind", nargs="?", metavar="fills|positions|settlements|trades")
    _endpoint_options(export)
    export.add_argument("--market", metavar="T", help="one market only (required for trades)")
    export.add_argument(
        "--since",
        metavar="ISO-8601",
        help="only records at or after this time: 2026-11-30, 2026-11-30T14:00, 2026-11-30T14:00:00-05:00; "
        "a time without a zone is UTC (profiles have no time-zone setting yet)",
    )
    export.add_argument(
        "--format", default="csv", metavar="csv|jsonl", help="csv (with a header row) or jsonl"
    )

    for name in _CONFIG_COMMANDS:
        _config_options(sub.choices[name])
    _alerts_parser(sub)
    return parser


def _alerts_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    alerts = sub.add_parser(
        "alerts",
        help="evaluate the profile's alert rules headless and print fired alerts as JSON lines",
        description="The dashboard's alert rules and evaluator without the screen: one JSON object "
        "per fired alert on stdout; alert_command (or --command) also gets each one on stdin.",
    )
    _endpoint_options(alerts)
    alerts.add_argument(
        "--rule",
        action="append",
        metavar="'market=T when=bid_above price=0.55'",
        help="a rule besides the profile's, in the alerts view's key=value form (repeatable)",
    )
    alerts.add_argument(
        "--command", dest="command_line", metavar="CMD", help="run CMD per alert, JSON on stdin"
    )
    # Numbers are checked by the command itself, so a bad one gets one sentence (exit 2).
    alerts.add_argument("--count", metavar="N", help="stop after N alerts")
    alerts.add_argument("--duration", metavar="S", help="stop after S seconds")
    alerts.add_argument(
        "--connect-timeout", metavar="S", help="give up (exit 4) if nothing is subscribed after S seconds"
    )
    _config_options(alerts)


def _handler_name(args: argparse.Namespace) -> str:
    if args.command is None:
        return "run"
    if args.command == "config":
        return f"config-{args.config_command}"
    return str(args.command)


def check_inputs(args: argparse.Namespace) -> None:
    """Checks every command shares, before any work: no pasted key as a path, usable URLs."""
    for attr, option in PATH_OPTIONS.items():
        value = getattr(args, attr, None)
        if isinstance(value, str):
            check_path_text(value, option)
    for attr, (option, schemes, example) in URL_OPTIONS.items():
        value = getattr(args, attr, None)
        if isinstance(value, str):
            check_url_option(value, option, schemes, example)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module_name, func_name = HANDLERS[_handler_name(args)].split(":")
    try:
        check_inputs(args)
        if args.debug_log:
            from kalshi_tui.logs import setup_debug_log

            setup_debug_log(args.debug_log)
        handler = getattr(importlib.import_module(module_name), func_name)
        return int(handler(args) or 0)
    except UserError as exc:
        print(f"kalshi-tui: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
