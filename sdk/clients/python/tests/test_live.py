"""The client against a live `warrant serve`: WARRANT_URL, AGENT_TOKEN (an
agent's token), TENANT_KEY (its tenant's API key) and FOREIGN_INTENT
(another tenant's intent) come from the environment."""

import asyncio
import json
import os
import socket
import threading
import unittest
import urllib.request
import uuid
from decimal import Decimal

from warrant_client import ROUTES, AsyncWarrant, TransportError, Warrant, WarrantError

URL = os.environ["WARRANT_URL"]
AGENT = os.environ["AGENT_TOKEN"]
TENANT = os.environ["TENANT_KEY"]


def declare(warrant, amount, **more):
    return warrant.intents.declare(
        purpose=more.pop("purpose", "renew the build server"),
        expected_amount=amount,
        expected_merchant=more.pop("merchant", "hetzner.com"),
        card_name="subscriptions",
        **more,
    )


class TheDocument(unittest.TestCase):
    """The client cannot drift from the API: what it calls and reads is in
    the server's OpenAPI document."""

    def test_every_route_and_intent_field_is_in_the_openapi_document(self):
        with urllib.request.urlopen(f"{URL}/openapi.json") as answer:
            document = json.load(answer)
        for method, path in ROUTES:
            self.assertIn(method.lower(), document["paths"].get(path, {}), f"{method} {path}")
        schema = document["paths"]["/intents/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        name = schema["$ref"].rsplit("/", 1)[-1]
        properties = set(document["components"]["schemas"][name]["properties"])
        read = {"id", "status", "agentId", "purpose", "currency", "expectedAmountEuros", "expectedMerchant",
                "cardId", "cardName", "statusReason", "clientIntentId", "policyId", "policyVersion", "decision",
                "expiresAt", "createdAt", "updatedAt", "history"}
        self.assertEqual(read - properties, set())


class Blocking(unittest.TestCase):
    def test_the_intents_quickstart(self):
        with Warrant(URL, AGENT) as agent, Warrant(URL, TENANT) as tenant:
            small = declare(agent, Decimal("12.30"))
            self.assertTrue(small.approved)
            self.assertEqual(str(small.expected_amount), "12.30")
            self.assertEqual(small.history[0].to_status, "approved")

            big = declare(agent, "86.40")
            self.assertTrue(big.pending)
            self.assertIn("review threshold", big.status_reason)
            self.assertEqual(big.expected_amount, Decimal("86.40"))
            approved = tenant.intents.approve(big.id, reason="the yearly renewal", note="checked")
            self.assertEqual(approved.status, "approved")
            self.assertEqual(agent.intents.wait(big.id, timeout=5, interval=0.1).status, "approved")

            done = agent.intents.complete(small.id, actual_amount="12.30", actual_merchant="hetzner.com")
            self.assertEqual(done.status, "completed")
            self.assertEqual(done.raw["settlement"]["actualAmountEuros"], Decimal("12.30"))
            denied = declare(agent, "250")
            self.assertEqual(denied.status, "denied")
            later = declare(agent, "5")
            self.assertEqual(agent.intents.cancel(later.id, reason="bought elsewhere").status, "cancelled")

            page = agent.intents.list(status="approved")
            self.assertIn(big.id, [i.id for i in page.data])
            agents = tenant.agents.list().data
            self.assertEqual([a.id for a in agents], [small.agent_id])
            usage = tenant.agents.usage(small.agent_id)
            self.assertEqual(usage["agentId"], small.agent_id)

    def test_errors_are_typed_and_money_is_never_a_float(self):
        with Warrant(URL, AGENT) as agent:
            with self.assertRaises(WarrantError) as raised:
                declare(agent, "12.345")
            self.assertEqual((raised.exception.status, raised.exception.code), (400, "E_VALIDATION"))
            self.assertEqual(raised.exception.field, "expectedAmountEuros")
            self.assertTrue(raised.exception.request_id.startswith("req_"))
            with self.assertRaises(TypeError):
                declare(agent, 12.3)
            with self.assertRaises(WarrantError) as raised:
                agent.intents.get(os.environ["FOREIGN_INTENT"])
            self.assertEqual(raised.exception.code, "E_NOT_FOUND")
            with self.assertRaises(WarrantError) as raised, Warrant(URL, "at_nope") as stranger:
                stranger.intents.list()
            self.assertEqual(raised.exception.status, 401)
        with self.assertRaises(TransportError), Warrant("http://127.0.0.1:9", AGENT, retries=1) as nowhere:
            nowhere.intents.list()


class DroppingProxy:
    """A loopback proxy to the server that, for the first `drops` POSTs to
    /intents, passes the request on, waits for the server's answer to
    begin (so the server has acted), and closes the client's connection
    without it. It records each POST's Idempotency-Key."""

    def __init__(self, drops):
        host, port = URL.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.drops = drops
        self.keys = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            client, _ = self.listener.accept()
            threading.Thread(target=self.relay, args=(client,), daemon=True).start()

    def relay(self, client):
        upstream = socket.create_connection(self.upstream)
        dropping = threading.Event()

        def close_both():
            for end in (client, upstream):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()

        def back():
            try:
                while True:
                    data = upstream.recv(65536)
                    if not data or dropping.is_set():
                        # When dropping, the server has answered, so it
                        # has acted; the client never hears of it.
                        return
                    client.sendall(data)
            except OSError:
                return
            finally:
                close_both()

        threading.Thread(target=back, daemon=True).start()
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    return
                if data.startswith(b"POST /intents "):
                    head = data.split(b"\r\n\r\n", 1)[0].decode()
                    for line in head.split("\r\n"):
                        if line.lower().startswith("idempotency-key:"):
                            self.keys.append(line.split(":", 1)[1].strip())
                    if self.drops > 0:
                        self.drops -= 1
                        dropping.set()
                upstream.sendall(data)
        except OSError:
            return


class Retries(unittest.TestCase):
    def test_a_connection_killed_mid_request_is_retried_and_acts_once(self):
        proxy = DroppingProxy(drops=1)
        purpose = f"retried {uuid.uuid4()}"
        with Warrant(proxy.url, AGENT) as agent:
            intent = declare(agent, "9.99", purpose=purpose)
        self.assertEqual(intent.status, "approved")
        self.assertEqual(len(proxy.keys), 2, "one try dropped, one answered")
        self.assertEqual(proxy.keys[0], proxy.keys[1], "both tries carry the same Idempotency-Key")
        with Warrant(URL, AGENT) as agent:
            same = [i for i in agent.intents.list(limit=200).data if i.purpose == purpose]
        self.assertEqual([i.id for i in same], [intent.id], "the server acted once")

    def test_the_async_client_retries_the_same_way(self):
        async def run():
            proxy = DroppingProxy(drops=1)
            purpose = f"async {uuid.uuid4()}"
            async with AsyncWarrant(proxy.url, AGENT) as agent:
                intent = await agent.intents.declare(
                    purpose=purpose, expected_amount=Decimal("86.40"),
                    expected_merchant="hetzner.com", card_name="subscriptions")
                self.assertTrue(intent.pending)
                again = await agent.intents.get(intent.id)
                self.assertEqual(again.expected_amount, Decimal("86.40"))
            async with AsyncWarrant(URL, TENANT) as tenant:
                denied = await tenant.intents.deny(intent.id, note="not this month")
                self.assertEqual(denied.status, "denied")
                self.assertEqual(denied.history[-1].note, "not this month")
            self.assertEqual(proxy.keys[0], proxy.keys[1])
            async with AsyncWarrant(URL, AGENT) as agent:
                page = await agent.intents.list(limit=200)
            self.assertEqual([i.id for i in page.data if i.purpose == purpose], [intent.id])

        asyncio.run(run())


if __name__ == "__main__":
    unittest.main()
