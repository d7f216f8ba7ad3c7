"""Contexts for unit tests of a plugin, with a plain Python: the records of
WIT 0.3.0 (`wit/0.3.0/warrant.wit`) as dataclasses with the names and
fields of the bindings componentize-py generates, and `context()`, a
context to start a test from::

    from warrant_sdk import testing

    cx = testing.context()
    cx.intent.amount = testing.Money(15_000, "EUR")
    decision = evaluate(cx, '{"maxAmountEuros": 100}')
    assert decision.verdict == "deny"

The enums compare unequal to the generated ones: a plugin that runs under
both compares their `name`s, or uses `warrant_sdk.enum_name`.

This module is for tests only: a plugin that imports it carries its
imports (`dataclasses`, `enum`) into the component for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Optional, Union

__all__ = [
    "NOW",
    "Agent",
    "AgentProfile",
    "AgentStatus",
    "AgentType",
    "Baseline",
    "Cadence",
    "Card",
    "Card_Id",
    "Card_Name",
    "Charge",
    "Context",
    "Intent",
    "Money",
    "RecurringTerms",
    "RiskSummary",
    "Signal",
    "Timestamp",
    "Usage",
    "WindowUsage",
    "context",
]


@dataclass
class Timestamp:
    seconds: int
    nanoseconds: int = 0


@dataclass
class Money:
    minor_units: int
    currency: str


class Cadence(Enum):
    DAILY = 0
    WEEKLY = 1
    MONTHLY = 2
    YEARLY = 3


@dataclass
class RecurringTerms:
    cadence: Cadence
    window_start_days_before: int
    window_end_days_after: int
    amount_tolerance_bps: int
    merchant_match: bool


@dataclass
class Card_Id:
    value: str


@dataclass
class Card_Name:
    value: str


Card = Union[Card_Id, Card_Name]


@dataclass
class Intent:
    id: str
    amount: Optional[Money]
    merchant: Optional[str]
    card: Card
    purpose: str
    recurring: Optional[RecurringTerms]
    client_intent_id: Optional[str]
    ttl_minutes: int


class AgentStatus(Enum):
    ACTIVE = 0
    FROZEN = 1
    SUSPENDED = 2
    ARCHIVED = 3


class AgentType(Enum):
    AUTONOMOUS = 0
    SUPERVISED = 1
    ADVISORY = 2
    MCP_SERVER = 3


@dataclass
class AgentProfile:
    purpose: str
    framework: Optional[str] = None
    capabilities: list[str] = field(default_factory=list)
    description: Optional[str] = None
    department: Optional[str] = None
    owner_contact: Optional[str] = None


@dataclass
class Baseline:
    currency: str
    amount_mean: int
    amount_std_dev: int
    intents_per_day: int
    active_hours: bytes
    merchants: list[str]
    set_at: Timestamp


@dataclass
class Agent:
    id: str
    name: str
    status: AgentStatus
    agent_type: AgentType
    profile: AgentProfile
    tags: list[str]
    metadata: str
    baseline: Optional[Baseline]


@dataclass
class WindowUsage:
    count: int = 0
    spend: int = 0
    flagged_count: int = 0
    flagged_spend: int = 0


@dataclass
class Usage:
    currency: str
    timezone: str
    last_minute: WindowUsage
    last_hour: WindowUsage
    last_day: WindowUsage
    last_week: WindowUsage
    last_month: WindowUsage
    calendar_day: WindowUsage
    calendar_month: WindowUsage
    merchant_last_month: WindowUsage


@dataclass
class Signal:
    name: str
    score: int
    detail: str = ""


@dataclass
class RiskSummary:
    score: int
    signals: list[Signal] = field(default_factory=list)


@dataclass
class Charge:
    amount: Money
    merchant: str
    at: Timestamp
    series_start: Timestamp
    previous: list[Timestamp] = field(default_factory=list)


@dataclass
class Context:
    intent: Intent
    agent: Agent
    usage: Usage
    risk: Optional[RiskSummary]
    now: Timestamp
    charge: Optional[Charge]


#: 2026-01-01T00:00:00Z, the `now` of `context()`.
NOW = Timestamp(1_767_225_600, 0)


def context() -> Context:
    """A new context to start a test from, as in the Rust SDK: an intent
    with no amount and no merchant, paid with the card named `main`, from
    an active supervised agent with no baseline and no history (every
    window zero, flagged counts included), usage counted in EUR in the time
    zone `UTC`, no risk summary and no charge, at `NOW`."""
    return Context(
        intent=Intent(
            id="int_test",
            amount=None,
            merchant=None,
            card=Card_Name("main"),
            purpose="test",
            recurring=None,
            client_intent_id=None,
            ttl_minutes=1440,
        ),
        agent=Agent(
            id="ag_test",
            name="test agent",
            status=AgentStatus.ACTIVE,
            agent_type=AgentType.SUPERVISED,
            profile=AgentProfile(purpose="testing"),
            tags=[],
            metadata="{}",
            baseline=None,
        ),
        usage=Usage(
            currency="EUR",
            timezone="UTC",
            last_minute=WindowUsage(),
            last_hour=WindowUsage(),
            last_day=WindowUsage(),
            last_week=WindowUsage(),
            last_month=WindowUsage(),
            calendar_day=WindowUsage(),
            calendar_month=WindowUsage(),
            merchant_last_month=WindowUsage(),
        ),
        risk=None,
        now=Timestamp(NOW.seconds, NOW.nanoseconds),
        charge=None,
    )
