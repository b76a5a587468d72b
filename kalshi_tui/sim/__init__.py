"""A local Kalshi exchange: WebSocket + REST on loopback, seeded, with fault injection.

Never imports Textual. Public API: ``Simulator`` (see its docstring), ``Faults``
(``sim.faults``), ``parse_fault``/``FaultSpec`` (the ``--fault`` flag).
"""

from kalshi_tui.sim.engine import Position, TradeRecord, UserFill
from kalshi_tui.sim.faults import Faults, FaultSpec, parse_fault
from kalshi_tui.sim.simulator import Simulator

__all__ = ["FaultSpec", "Faults", "Position", "Simulator", "TradeRecord", "UserFill", "parse_fault"]
