"""Warrant's client for agents and operators: declare intents before
paying, wait for a person's approval, settle; list and hold agents.

    from warrant_client import Warrant
    with Warrant("http://127.0.0.1:8080", token) as warrant:
        intent = warrant.intents.declare(purpose="renew the build server",
                                         expected_amount="86.40", expected_merchant="hetzner.com",
                                         card_name="subscriptions")

Money is exact (`decimal.Decimal`) both ways; every write carries an
`Idempotency-Key`, so the client's own retries never act twice."""

from ._core import ROUTES, TransportError, WarrantError
from .client import Agents, AsyncAgents, AsyncIntents, AsyncWarrant, Intents, Warrant
from .models import Agent, HistoryEntry, Intent, Page

__all__ = [
    "ROUTES",
    "Agent",
    "Agents",
    "AsyncAgents",
    "AsyncIntents",
    "AsyncWarrant",
    "HistoryEntry",
    "Intent",
    "Intents",
    "Page",
    "TransportError",
    "Warrant",
    "WarrantError",
]
__version__ = "0.1.0"
