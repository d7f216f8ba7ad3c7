"""What the sync and async clients share: requests as values, exact JSON
money, errors, and when to try again."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Dict, Mapping, Optional, Tuple

#: Every operation the clients call, as (method, path template); the live
#: tests check each against the server's OpenAPI document.
ROUTES: Tuple[Tuple[str, str], ...] = (
    ("POST", "/intents"),
    ("GET", "/intents"),
    ("GET", "/intents/{id}"),
    ("POST", "/intents/{id}/approve"),
    ("POST", "/intents/{id}/deny"),
    ("POST", "/intents/{id}/cancel"),
    ("POST", "/intents/{id}/complete"),
    ("POST", "/intents/{id}/verify"),
    ("GET", "/agents"),
    ("GET", "/agents/{id}"),
    ("POST", "/agents/{id}/freeze"),
    ("POST", "/agents/{id}/unfreeze"),
    ("GET", "/agents/{id}/usage"),
)

#: Statuses after which the same request may succeed.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class WarrantError(Exception):
    """An error answer of the API: its status, stable code (`E_…`),
    message, the field at fault and the request's id."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: Optional[str] = None,
        request_id: Optional[str] = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.request_id = request_id


class TransportError(WarrantError):
    """The server could not be reached, or the connection broke, after
    every try."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "E_TRANSPORT", message)


def dumps(value: Any) -> str:
    """JSON text in which a `Decimal` is written as the exact number it is
    (`86.40`, never `86.4000000001`)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not an amount")
        return format(value, "f")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, float):
        raise TypeError("give amounts as Decimal or str, not float: a float is not exact")
    return json.dumps(value)


def loads(text: str) -> Any:
    """JSON with every fractional number read as an exact `Decimal`."""
    return json.loads(text, parse_float=Decimal)


def money(value: Any) -> Decimal:
    """An amount as given (`Decimal`, `str` or `int`), exactly."""
    if isinstance(value, float):
        raise TypeError("give amounts as Decimal or str, not float: a float is not exact")
    amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount")
    return amount


def compact(fields: Mapping[str, Any]) -> Dict[str, Any]:
    """The fields that were given."""
    return {k: v for k, v in fields.items() if v is not None}


@dataclass
class Call:
    """One API request, before it is sent. A write carries an idempotency
    key, made once, so that every try of it is the same request to the
    server."""

    method: str
    path: str
    body: Optional[Dict[str, Any]] = None
    query: Dict[str, Any] = field(default_factory=dict)
    idempotency_key: Optional[str] = None

    def __post_init__(self) -> None:
        if self.method == "POST" and self.idempotency_key is None:
            self.idempotency_key = str(uuid.uuid4())

    def headers(self, token: str) -> Dict[str, str]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        if self.idempotency_key is not None:
            headers["Idempotency-Key"] = self.idempotency_key
        return headers

    def content(self) -> Optional[bytes]:
        return None if self.body is None else dumps(self.body).encode()

    def params(self) -> Dict[str, str]:
        return {k: str(v) for k, v in self.query.items() if v is not None}


def error_of(status: int, text: str, request_id: Optional[str]) -> WarrantError:
    try:
        error = loads(text)["error"]
        return WarrantError(
            status,
            error.get("code", "E_UNKNOWN"),
            error.get("message", text),
            error.get("field"),
            error.get("requestId", request_id),
        )
    except (ValueError, KeyError, TypeError):
        return WarrantError(status, "E_UNKNOWN", text[:500] or f"HTTP {status}", None, request_id)


def backoff(attempt: int, retry_after: Optional[str]) -> float:
    """Seconds to wait before try `attempt + 1`: the server's
    `Retry-After` when it says, else 0.2 s doubling, at most 5 s."""
    if retry_after is not None:
        try:
            return min(float(retry_after), 30.0)
        except ValueError:
            pass
    return min(0.2 * (2**attempt), 5.0)
