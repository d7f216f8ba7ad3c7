"""`Warrant` (blocking) and `AsyncWarrant` (asyncio): the REST API's
intents and agents as methods. Both build the same requests
(`_requests`); each write carries an `Idempotency-Key` made once, so a try
after a broken connection or a 5xx is the same request and the server
answers it at most once."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any, Callable, Dict, Optional, TypeVar, Union

import httpx

from ._core import (
    RETRY_STATUSES,
    Call,
    TransportError,
    WarrantError,
    backoff,
    compact,
    error_of,
    loads,
    money,
)
from .models import Agent, Intent, Page

T = TypeVar("T")
Amount = Union[Decimal, str, int]


def _page(parse: Callable[[Dict[str, Any]], T]) -> Callable[[Any], Page[T]]:
    return lambda body: Page([parse(item) for item in body["data"]], body.get("nextCursor"))


class _Requests:
    """Every call as a request and how to read its answer."""

    @staticmethod
    def declare(
        purpose: str,
        expected_amount: Optional[Amount],
        expected_merchant: Optional[str],
        card_name: Optional[str],
        card_id: Optional[str],
        currency: Optional[str],
        recurring: Optional[Dict[str, Any]],
        client_intent_id: Optional[str],
        ttl_minutes: Optional[int],
        agent_id: Optional[str],
        idempotency_key: Optional[str],
    ) -> Call:
        body = compact(
            {
                "agentId": agent_id,
                "cardId": card_id,
                "cardName": card_name,
                "purpose": purpose,
                "expectedAmountEuros": None if expected_amount is None else money(expected_amount),
                "expectedMerchant": expected_merchant,
                "currency": currency,
                "recurring": recurring,
                "clientIntentId": client_intent_id,
                "ttlMinutes": ttl_minutes,
            }
        )
        return Call("POST", "/intents", body, idempotency_key=idempotency_key)

    @staticmethod
    def move(verb: str, id: str, reason: Optional[str], note: Optional[str]) -> Call:
        return Call("POST", f"/intents/{id}/{verb}", compact({"reason": reason, "note": note}))

    @staticmethod
    def settle(verb: str, id: str, actual_amount: Optional[Amount], actual_merchant: Optional[str]) -> Call:
        body = compact(
            {
                "actualAmountEuros": None if actual_amount is None else money(actual_amount),
                "actualMerchant": actual_merchant,
            }
        )
        return Call("POST", f"/intents/{id}/{verb}", body)

    @staticmethod
    def list_intents(status: Optional[str], agent_id: Optional[str], limit: Optional[int], cursor: Optional[str]) -> Call:
        return Call("GET", "/intents", query={"status": status, "agentId": agent_id, "limit": limit, "cursor": cursor})


class _Base:
    def __init__(self, base_url: str, token: str, *, retries: int = 3) -> None:
        if not token:
            raise ValueError("a token is required: an agent token (at_…) or an API key (sk_…)")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.retries = retries

    def _answer(self, response: httpx.Response, parse: Callable[[Any], T]) -> T:
        if response.status_code >= 400:
            raise error_of(response.status_code, response.text, response.headers.get("request-id"))
        return parse(loads(response.text))


class Warrant(_Base):
    """A blocking client: `Warrant("http://127.0.0.1:8080", token)`."""

    def __init__(self, base_url: str, token: str, *, retries: int = 3, timeout: float = 30.0,
                 http: Optional[httpx.Client] = None) -> None:
        super().__init__(base_url, token, retries=retries)
        self._http = http or httpx.Client(timeout=timeout)
        self.intents = Intents(self)
        self.agents = Agents(self)

    def send(self, call: Call, parse: Callable[[Any], T]) -> T:
        """Sends `call`, trying again (the same request, the same
        idempotency key) after a broken connection, 408, 429 or 5xx."""
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._http.request(
                    call.method, self.base_url + call.path, headers=call.headers(self.token),
                    content=call.content(), params=call.params(),
                )
            except httpx.TransportError as e:
                if last:
                    raise TransportError(f"{call.method} {call.path}: {e}") from e
                time.sleep(backoff(attempt, None))
                continue
            if response.status_code in RETRY_STATUSES and not last:
                time.sleep(backoff(attempt, response.headers.get("retry-after")))
                continue
            return self._answer(response, parse)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Warrant":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


class Intents:
    """`/intents`: declare, read, wait for, move and settle intents."""

    def __init__(self, client: Warrant) -> None:
        self._c = client

    def declare(self, *, purpose: str, expected_amount: Optional[Amount] = None,
                expected_merchant: Optional[str] = None, card_name: Optional[str] = None,
                card_id: Optional[str] = None, currency: Optional[str] = None,
                recurring: Optional[Dict[str, Any]] = None, client_intent_id: Optional[str] = None,
                ttl_minutes: Optional[int] = None, agent_id: Optional[str] = None,
                idempotency_key: Optional[str] = None) -> Intent:
        """Declares an intent before paying; the policy decides at once.
        Amounts are exact: `Decimal("86.40")` or `"86.40"`, never a float."""
        return self._c.send(_Requests.declare(purpose, expected_amount, expected_merchant, card_name, card_id,
                                              currency, recurring, client_intent_id, ttl_minutes, agent_id,
                                              idempotency_key), Intent.of)

    def get(self, id: str) -> Intent:
        return self._c.send(Call("GET", f"/intents/{id}"), Intent.of)

    def list(self, *, status: Optional[str] = None, agent_id: Optional[str] = None,
             limit: Optional[int] = None, cursor: Optional[str] = None) -> Page[Intent]:
        return self._c.send(_Requests.list_intents(status, agent_id, limit, cursor), _page(Intent.of))

    def wait(self, id: str, *, timeout: float = 300.0, interval: float = 2.0) -> Intent:
        """Reads the intent until it is no longer pending approval, or
        `timeout` seconds pass; gives it as it stands then."""
        deadline = time.monotonic() + timeout
        while True:
            intent = self.get(id)
            if not intent.pending or time.monotonic() + interval > deadline:
                return intent
            time.sleep(interval)

    def approve(self, id: str, *, reason: Optional[str] = None, note: Optional[str] = None) -> Intent:
        return self._c.send(_Requests.move("approve", id, reason, note), Intent.of)

    def deny(self, id: str, *, reason: Optional[str] = None, note: Optional[str] = None) -> Intent:
        return self._c.send(_Requests.move("deny", id, reason, note), Intent.of)

    def cancel(self, id: str, *, reason: Optional[str] = None) -> Intent:
        return self._c.send(_Requests.move("cancel", id, reason, None), Intent.of)

    def complete(self, id: str, *, actual_amount: Optional[Amount] = None,
                 actual_merchant: Optional[str] = None) -> Intent:
        return self._c.send(_Requests.settle("complete", id, actual_amount, actual_merchant), Intent.of)

    def verify(self, id: str, *, actual_amount: Amount, actual_merchant: Optional[str] = None) -> Intent:
        return self._c.send(_Requests.settle("verify", id, actual_amount, actual_merchant), Intent.of)


class Agents:
    """`/agents`: list and read agents, hold them, read their usage."""

    def __init__(self, client: Warrant) -> None:
        self._c = client

    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> Page[Agent]:
        return self._c.send(Call("GET", "/agents", query={"limit": limit, "cursor": cursor}), _page(Agent.of))

    def get(self, id: str) -> Agent:
        return self._c.send(Call("GET", f"/agents/{id}"), Agent.of)

    def freeze(self, id: str) -> Agent:
        return self._c.send(Call("POST", f"/agents/{id}/freeze"), Agent.of)

    def unfreeze(self, id: str) -> Agent:
        return self._c.send(Call("POST", f"/agents/{id}/unfreeze"), Agent.of)

    def usage(self, id: str) -> Dict[str, Any]:
        """The agent's usage against its policy's limits, as the API
        shows it (amounts as `Decimal`)."""
        return self._c.send(Call("GET", f"/agents/{id}/usage"), dict)


class AsyncWarrant(_Base):
    """An asyncio client: `async with AsyncWarrant(url, token) as w:`."""

    def __init__(self, base_url: str, token: str, *, retries: int = 3, timeout: float = 30.0,
                 http: Optional[httpx.AsyncClient] = None) -> None:
        super().__init__(base_url, token, retries=retries)
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self.intents = AsyncIntents(self)
        self.agents = AsyncAgents(self)

    async def send(self, call: Call, parse: Callable[[Any], T]) -> T:
        """As `Warrant.send`, without blocking."""
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = await self._http.request(
                    call.method, self.base_url + call.path, headers=call.headers(self.token),
                    content=call.content(), params=call.params(),
                )
            except httpx.TransportError as e:
                if last:
                    raise TransportError(f"{call.method} {call.path}: {e}") from e
                await asyncio.sleep(backoff(attempt, None))
                continue
            if response.status_code in RETRY_STATUSES and not last:
                await asyncio.sleep(backoff(attempt, response.headers.get("retry-after")))
                continue
            return self._answer(response, parse)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncWarrant":
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.close()


class AsyncIntents:
    """`/intents`, without blocking."""

    def __init__(self, client: AsyncWarrant) -> None:
        self._c = client

    async def declare(self, *, purpose: str, expected_amount: Optional[Amount] = None,
                      expected_merchant: Optional[str] = None, card_name: Optional[str] = None,
                      card_id: Optional[str] = None, currency: Optional[str] = None,
                      recurring: Optional[Dict[str, Any]] = None, client_intent_id: Optional[str] = None,
                      ttl_minutes: Optional[int] = None, agent_id: Optional[str] = None,
                      idempotency_key: Optional[str] = None) -> Intent:
        return await self._c.send(_Requests.declare(purpose, expected_amount, expected_merchant, card_name,
                                                    card_id, currency, recurring, client_intent_id, ttl_minutes,
                                                    agent_id, idempotency_key), Intent.of)

    async def get(self, id: str) -> Intent:
        return await self._c.send(Call("GET", f"/intents/{id}"), Intent.of)

    async def list(self, *, status: Optional[str] = None, agent_id: Optional[str] = None,
                   limit: Optional[int] = None, cursor: Optional[str] = None) -> Page[Intent]:
        return await self._c.send(_Requests.list_intents(status, agent_id, limit, cursor), _page(Intent.of))

    async def wait(self, id: str, *, timeout: float = 300.0, interval: float = 2.0) -> Intent:
        deadline = time.monotonic() + timeout
        while True:
            intent = await self.get(id)
            if not intent.pending or time.monotonic() + interval > deadline:
                return intent
            await asyncio.sleep(interval)

    async def approve(self, id: str, *, reason: Optional[str] = None, note: Optional[str] = None) -> Intent:
        return await self._c.send(_Requests.move("approve", id, reason, note), Intent.of)

    async def deny(self, id: str, *, reason: Optional[str] = None, note: Optional[str] = None) -> Intent:
        return await self._c.send(_Requests.move("deny", id, reason, note), Intent.of)

    async def cancel(self, id: str, *, reason: Optional[str] = None) -> Intent:
        return await self._c.send(_Requests.move("cancel", id, reason, None), Intent.of)

    async def complete(self, id: str, *, actual_amount: Optional[Amount] = None,
                       actual_merchant: Optional[str] = None) -> Intent:
        return await self._c.send(_Requests.settle("complete", id, actual_amount, actual_merchant), Intent.of)

    async def verify(self, id: str, *, actual_amount: Amount, actual_merchant: Optional[str] = None) -> Intent:
        return await self._c.send(_Requests.settle("verify", id, actual_amount, actual_merchant), Intent.of)


class AsyncAgents:
    """`/agents`, without blocking."""

    def __init__(self, client: AsyncWarrant) -> None:
        self._c = client

    async def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> Page[Agent]:
        return await self._c.send(Call("GET", "/agents", query={"limit": limit, "cursor": cursor}), _page(Agent.of))

    async def get(self, id: str) -> Agent:
        return await self._c.send(Call("GET", f"/agents/{id}"), Agent.of)

    async def freeze(self, id: str) -> Agent:
        return await self._c.send(Call("POST", f"/agents/{id}/freeze"), Agent.of)

    async def unfreeze(self, id: str) -> Agent:
        return await self._c.send(Call("POST", f"/agents/{id}/unfreeze"), Agent.of)

    async def usage(self, id: str) -> Dict[str, Any]:
        return await self._c.send(Call("GET", f"/agents/{id}/usage"), dict)


__all__ = ["Warrant", "AsyncWarrant", "WarrantError", "TransportError"]
