"""``kalshi-tui alerts``: the profile's alert rules evaluated headless, fired alerts printed
as JSON lines (the dashboard's evaluator, the same rules, the same tick).

Each refresh tick (the profile's ``refresh_rate``) takes the store's changes and evaluates
them, as the dashboard does; an alert is printed on the first tick after the frame that made
it. Output goes through ``output.Writer`` (a stopped pipe never stalls the socket; a full
disk is one sentence and exit 5). With ``alert_command`` (or ``--command``) each alert is
also piped to that command; its failure is a line on stderr, never the end of the run.

Exit codes as ``tail``: 0 clean stop, 2 bad arguments or rules, 3 key refused, 4 nothing
subscribed within ``--connect-timeout``, 5 the output could not be written.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from kalshi_tui import endpoint
from kalshi_tui.alerts import Evaluator, Rule, RuleError, parse_rule_text
from kalshi_tui.config import DEFAULT_REFRESH_RATE
from kalshi_tui.errors import AuthRejected, UserError
from kalshi_tui.notify import alert_line, run_command
from kalshi_tui.output import STDOUT, OutputClosed, OutputFailed, Writer, retire_stdout, stop_event
from kalshi_tui.protocol import commands
from kalshi_tui.store import Store
from kalshi_tui.stream import Pool
from kalshi_tui.tail import (
    DEFAULT_CONNECT_TIMEOUT,
    EXIT_NOT_SUBSCRIBED,
    ErrorReporter,
    positive_count,
    positive_seconds,
)

CHANNELS = (
    commands.CHANNEL_ORDERBOOK,
    commands.CHANNEL_TICKER,
    commands.CHANNEL_TRADE,
    commands.CHANNEL_LIFECYCLE,
)


async def watch(
    ep: endpoint.Endpoint,
    rules: list[Rule],
    *,
    count: int | None,
    duration: float | None,
    command: str | None,
    refresh_rate: float = DEFAULT_REFRESH_RATE,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> int:
    store = Store()
    markets = list(dict.fromkeys(r.market for r in rules if r.market))  # only what the rules read
    channels = list(CHANNELS)
    if any(r.when == "position_changed" for r in rules):
        channels.append(commands.CHANNEL_POSITIONS)
    rest = None
    if ep.rest_url:
        from kalshi_tui.rest import RestClient

        rest = RestClient(ep.rest_url, ep.signer)
    pool = Pool(ep.ws_url, ep.signer, store, ep.settings, channels=channels, markets=markets, rest=rest)
    evaluator = Evaluator(store, rules)
    writer = Writer(STDOUT)
    reporter = ErrorReporter(store)
    runner = asyncio.create_task(pool.run())
    stop = stop_event(duration)
    commands_running: set[asyncio.Task[None]] = set()

    async def pipe_to_command(line_alert: object) -> None:
        assert command is not None
        problem = await run_command(command, line_alert)  # type: ignore[arg-type]
        if problem:
            print(f"kalshi-tui: {problem}", file=sys.stderr, flush=True)

    async def tick() -> int:
        """Evaluate every refresh tick until a stop; the exit code."""
        printed = 0
        started = time.monotonic()
        period = 1.0 / refresh_rate
        while True:
            fired = evaluator.evaluate(store.take_changes(), time.monotonic(), time.time())
            if count is not None:
                fired = fired[: count - printed]
            if fired:
                printed += len(fired)
                await writer.write(b"".join(alert_line(a) for a in fired))
                if command:
                    for alert in fired:
                        task = asyncio.create_task(pipe_to_command(alert))
                        commands_running.add(task)
                        task.add_done_callback(commands_running.discard)
            if count is not None and printed >= count:
                return 0
            if reporter.gave_up(time.monotonic() - started, connect_timeout):
                return EXIT_NOT_SUBSCRIBED
            if writer.reader_gone():
                raise OutputClosed
            await asyncio.sleep(period)

    ticker = asyncio.create_task(tick())
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({runner, ticker, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ticker.cancel()
        stopper.cancel()
        await pool.close()
        runner.cancel()
        if rest is not None:
            await rest.aclose()
        if commands_running:  # let the user's commands for the last alerts finish
            await asyncio.wait(commands_running, timeout=5.0)
    reporter.poll()
    if runner.done() and not runner.cancelled() and runner.exception() is not None:
        exc = runner.exception()
        if isinstance(exc, AuthRejected) and str(exc) in reporter.printed:
            return exc.exit_code
        raise exc  # type: ignore[misc]
    if ticker.done() and not ticker.cancelled():
        exc = ticker.exception()
        if isinstance(exc, OutputClosed):
            retire_stdout()
            return 0
        if isinstance(exc, OutputFailed):
            retire_stdout()
            raise exc
        if exc is not None:
            raise exc
        return ticker.result()
    return 0


def run(args: argparse.Namespace) -> int:
    if sys.stdout is None:
        raise OutputFailed("stdout is closed: there is nowhere to write the alerts")
    count = positive_count("--count", args.count)
    duration = positive_seconds("--duration", args.duration)
    connect_timeout = positive_seconds("--connect-timeout", args.connect_timeout)
    extra: list[Rule] = []
    for i, text in enumerate(args.rule or [], 1):
        try:
            extra.append(parse_rule_text(text))
        except RuleError as exc:
            raise UserError(f"--rule #{i}: {exc}") from None
    ep = endpoint.resolve(args)
    profile = ep.profile
    rules = [*(profile.alerts if profile else ()), *extra]
    if not rules:
        raise UserError(
            "no alert rules: add [[profiles.NAME.alerts]] tables to the profile or pass "
            "--rule 'market=T when=bid_above price=0.55'"
        )
    command = args.command_line or (profile.alert_command if profile else None)
    return asyncio.run(
        watch(
            ep,
            rules,
            count=count,
            duration=duration,
            command=command,
            refresh_rate=profile.refresh_rate if profile else DEFAULT_REFRESH_RATE,
            connect_timeout=connect_timeout or DEFAULT_CONNECT_TIMEOUT,
        )
    )
