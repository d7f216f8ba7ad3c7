"""The API's objects as typed values. Each keeps the object as the server
sent it in `raw`, so nothing the server adds is lost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Dict, Generic, List, Optional, TypeVar

T = TypeVar("T")


def _time(text: Optional[str]) -> Optional[datetime]:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _amount(value: Any) -> Optional[Decimal]:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass
class HistoryEntry:
    """A change of an intent's status."""

    from_status: Optional[str]
    to_status: str
    actor: str
    actor_name: Optional[str]
    reason: Optional[str]
    note: Optional[str]
    at: datetime

    @classmethod
    def of(cls, raw: Dict[str, Any]) -> "HistoryEntry":
        return cls(
            from_status=raw.get("from"),
            to_status=raw["to"],
            actor=raw["actor"],
            actor_name=raw.get("actorName"),
            reason=raw.get("reason"),
            note=raw.get("note"),
            at=_time(raw["at"]),  # type: ignore[arg-type]
        )


@dataclass
class Intent:
    """An intent: what an agent declared, its status and its decision."""

    id: str
    status: str
    agent_id: str
    purpose: str
    currency: str
    expected_amount: Optional[Decimal]
    expected_merchant: Optional[str]
    card_id: Optional[str]
    card_name: Optional[str]
    status_reason: Optional[str]
    client_intent_id: Optional[str]
    policy_id: str
    policy_version: int
    decision: Dict[str, Any]
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    history: Optional[List[HistoryEntry]]
    raw: Dict[str, Any]

    #: The statuses an intent no longer leaves.
    FINAL = frozenset({"denied", "cancelled", "expired", "completed", "failed"})

    @property
    def approved(self) -> bool:
        """Whether the agent may pay now."""
        return self.status == "approved"

    @property
    def pending(self) -> bool:
        """Whether a person must decide first."""
        return self.status == "pending_approval"

    @classmethod
    def of(cls, raw: Dict[str, Any]) -> "Intent":
        history = raw.get("history")
        return cls(
            id=raw["id"],
            status=raw["status"],
            agent_id=raw["agentId"],
            purpose=raw["purpose"],
            currency=raw["currency"],
            expected_amount=_amount(raw.get("expectedAmountEuros")),
            expected_merchant=raw.get("expectedMerchant"),
            card_id=raw.get("cardId"),
            card_name=raw.get("cardName"),
            status_reason=raw.get("statusReason"),
            client_intent_id=raw.get("clientIntentId"),
            policy_id=raw["policyId"],
            policy_version=int(raw["policyVersion"]),
            decision=raw["decision"],
            expires_at=_time(raw["expiresAt"]),  # type: ignore[arg-type]
            created_at=_time(raw["createdAt"]),  # type: ignore[arg-type]
            updated_at=_time(raw["updatedAt"]),  # type: ignore[arg-type]
            history=None if history is None else [HistoryEntry.of(h) for h in history],
            raw=raw,
        )


@dataclass
class Agent:
    """An agent: its status, type and policy."""

    id: str
    name: str
    status: str
    agent_type: str
    policy_id: str
    raw: Dict[str, Any]

    @classmethod
    def of(cls, raw: Dict[str, Any]) -> "Agent":
        return cls(
            id=raw["id"],
            name=raw["name"],
            status=raw["status"],
            agent_type=raw["agentType"],
            policy_id=raw["policyId"],
            raw=raw,
        )


@dataclass
class Page(Generic[T]):
    """A page of a listing; `next_cursor` asks for the next one."""

    data: List[T]
    next_cursor: Optional[str]
