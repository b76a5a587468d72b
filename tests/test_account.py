"""The account over REST: Kalshi's shapes read from fixtures in the repository (written from
the published spec), and the REST client against the simulator over a real socket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kalshi_tui.account import (
    balance_from_rest,
    iso_seconds,
    order_from_rest,
    settlement_from_rest,
)
from kalshi_tui.numbers import SIZE_SCALE
from kalshi_tui.portfolio import NO, YES, Ledger, holding_from_rest
from kalshi_tui.rest import RestClient

FIXTURES = Path(__file__).parent / "fixtures" / "rest" / "account"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_balance_prefers_six_decimal_dollars_over_cents() -> None:
    bal = balance_from_rest(load("balance"))
    assert bal.balance == 12_345_670_001
    assert bal.portfolio_value == 523_100_000  # 52310¢
    assert bal.updated_ts == 1767225600
    assert balance_from_rest({"balance": 150}).balance == 1_500_000  # an older server: cents only
    with pytest.raises(ValueError):
        balance_from_rest({})


def test_rest_positions_negative_is_no() -> None:
    yes, no = (holding_from_rest(p) for p in load("positions")["market_positions"])
    assert (yes.side, yes.contracts, yes.cost, yes.realized_pnl, yes.fees) == (
        YES,
        1550,
        8_370_000,
        1_250_000,
        271_234,
    )
    assert (no.side, no.contracts, no.cost, no.fees) == (NO, 325, 1_462_500, 20_001)
    assert no.avg_cost == 4500  # $1.4625 / 3.25 contracts = 45¢


def test_settlements_revenue_in_cents_becomes_money() -> None:
    won, lost = (settlement_from_rest(s) for s in load("settlements")["settlements"])
    assert won.revenue == 10_000_000 and won.cost == 4_200_000 and won.fees == 70_000
    assert won.net == 10_000_000 - 4_200_000 - 70_000
    assert lost.no_count == 250 and lost.revenue == 0 and lost.net == -1_625_000 - 11_375
    assert won.settled_at == iso_seconds("2026-11-30T05:00:00Z")


def test_resting_orders_keep_their_own_side_price() -> None:
    a, b = (order_from_rest(o) for o in load("orders")["orders"])
    assert (a.side, a.book_side, a.yes_price, a.price, a.remaining, a.initial) == (
        YES,
        "bid",
        5400,
        5400,
        950,
        1050,
    )
    assert (b.side, b.price, b.remaining) == (NO, 4450, 400)
    with pytest.raises(ValueError):
        order_from_rest({"outcome_side": "maybe", "yes_price_dollars": "0.5"})


def test_user_data_timestamp_shape() -> None:
    assert iso_seconds(load("user_data_timestamp")["as_of_time"]) == iso_seconds("2026-11-30T10:05:02+00:00")
    assert iso_seconds("yesterday") is None and iso_seconds(None) is None


async def test_rest_client_reads_the_demo_account(make_sim: Any) -> None:
    """Balance and positions from the simulator's REST; a position equals what our ledger
    makes of the account's fills; an endpoint the simulator lacks is absent, not a crash."""
    async with make_sim(markets=6, rate=0, user_share=0.5) as sim:
        sim.step(2000)
        rest = RestClient(sim.rest_url, sim.signer)
        try:
            account = await rest.account(now=1.0)
            fills = await rest.fills()
        finally:
            await rest.aclose()
        truth = sim.positions
        open_truth = {t: p for t, p in truth.items() if p.position}
        assert open_truth and set(account.holdings) == set(open_truth)
        for ticker, h in account.holdings.items():
            p = open_truth[ticker]
            assert (h.position, h.cost, h.realized_pnl, h.fees) == (
                p.position,
                p.cost,
                p.realized_pnl,
                p.fees,
            )
        assert account.balance is not None and account.balance.balance == sim.engine.balance
        assert any(h.contracts % SIZE_SCALE for h in account.holdings.values())  # fractional sizes
        # Our own ledger over the account's fills (REST, oldest first) agrees with the exchange.
        ledger = Ledger()
        for fill in sorted(reversed(fills), key=lambda f: f.ts_ms or 0):
            ledger.apply(fill)
        for ticker, p in truth.items():
            mine = ledger.holding(ticker)
            assert mine is not None
            assert (mine.position, mine.cost, mine.realized_pnl, mine.fees) == (
                p.position,
                p.cost,
                p.realized_pnl,
                p.fees,
            )
        # This simulator serves settlements, resting orders and the as-of time: every record reads.
        assert account.as_of is not None
        rest = RestClient(sim.rest_url, sim.signer)
        try:
            raw_settled = await rest._get("/portfolio/settlements", {"limit": 1000}, signed=True)
            raw_orders = await rest._get(
                "/portfolio/orders", {"status": "resting", "limit": 1000}, signed=True
            )
        finally:
            await rest.aclose()
        assert account.settlements is not None and account.orders is not None
        assert len(account.settlements) == len(raw_settled["settlements"]) > 0
        assert len(account.orders) == len(raw_orders["orders"])


async def test_missing_endpoint_is_absent_not_an_error(make_sim: Any) -> None:
    async with make_sim(markets=2, rate=0) as sim:
        rest = RestClient(sim.rest_url, sim.signer)
        try:
            # Paths no simulator serves: the 404 guard, exercised whatever the simulator has.
            rest_any: Any = rest
            assert await rest_any._optional_list("/portfolio/no-such-thing", "items") is None
        finally:
            await rest.aclose()


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.json")))
def test_account_fixtures_have_the_documented_shape(name: str) -> None:
    """These hold edge cases (NO positions, losses, cents-only fields); their shape is still the
    one tests/fixtures/rest/NAME.json documents, so the two sets can never drift apart."""
    from tests.test_sim_shapes import REST_FIXTURES, shape_errors

    errors = shape_errors(load(name), json.loads((REST_FIXTURES / f"{name}.json").read_text()))
    # A settlement's `value` is "cents or null" in the spec; the reference file shows the cents.
    assert [e for e in errors if not e.endswith(".value: NoneType where the reference has int")] == []
