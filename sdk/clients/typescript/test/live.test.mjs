// The client against a live `warrant serve`, as a project that installed
// it (`npm install …/sdk/clients/typescript`) uses it: WARRANT_URL,
// AGENT_TOKEN, TENANT_KEY and FOREIGN_INTENT come from the environment.
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";

import { ROUTES, Warrant, WarrantError } from "warrant-client";

const URL = process.env.WARRANT_URL;
const agent = new Warrant({ baseUrl: URL, token: process.env.AGENT_TOKEN });
const tenant = new Warrant({ baseUrl: URL, token: process.env.TENANT_KEY });

const declare = (client, amount, more = {}) =>
  client.intents.declare({
    purpose: "renew the build server",
    expectedAmountEuros: amount,
    expectedMerchant: "hetzner.com",
    cardName: "subscriptions",
    ...more,
  });

test("every route and intent field is in the OpenAPI document", async () => {
  const document = await (await fetch(`${URL}/openapi.json`)).json();
  for (const [method, path] of ROUTES) {
    assert.ok(document.paths[path]?.[method.toLowerCase()], `${method} ${path}`);
  }
  const ref = document.paths["/intents/{id}"].get.responses["200"].content["application/json"].schema.$ref;
  const properties = Object.keys(document.components.schemas[ref.split("/").pop()].properties);
  for (const field of ["id", "status", "agentId", "purpose", "currency", "expectedAmountEuros", "expectedMerchant",
    "cardId", "cardName", "statusReason", "clientIntentId", "ttlMinutes", "policyId", "policyVersion", "decision",
    "settlement", "approvePath", "expiresAt", "createdAt", "updatedAt", "history"]) {
    assert.ok(properties.includes(field), field);
  }
});

test("the intents quickstart, with exact money", async () => {
  const small = await declare(agent, "12.30");
  assert.equal(small.status, "approved");
  assert.equal(small.expectedAmountEuros, "12.30");

  const big = await declare(agent, "86.40");
  assert.equal(big.status, "pending_approval");
  assert.equal(big.expectedAmountEuros, "86.40");
  assert.match(big.statusReason, /review threshold/);
  const approved = await tenant.intents.approve(big.id, { reason: "the yearly renewal", note: "checked" });
  assert.equal(approved.status, "approved");
  assert.equal((await agent.intents.wait(big.id, { timeoutMs: 5000, intervalMs: 100 })).status, "approved");

  const done = await agent.intents.complete(small.id, { actualAmountEuros: "12.30", actualMerchant: "hetzner.com" });
  assert.equal(done.status, "completed");
  assert.equal(done.settlement.actualAmountEuros, "12.30");
  assert.equal((await declare(agent, "250")).status, "denied");
  const later = await declare(agent, "5");
  assert.equal((await agent.intents.cancel(later.id, { reason: "bought elsewhere" })).status, "cancelled");

  const page = await agent.intents.list({ status: "approved" });
  assert.ok(page.data.some((i) => i.id === big.id));
  const agents = await tenant.agents.list();
  assert.deepEqual(agents.data.map((a) => a.id), [small.agentId]);
  const usage = await tenant.agents.usage(small.agentId);
  assert.equal(usage.agentId, small.agentId);
});

test("errors are typed and money is never a number", async () => {
  await assert.rejects(declare(agent, "12.345"), (e) =>
    e instanceof WarrantError && e.status === 400 && e.code === "E_VALIDATION" &&
    e.field === "expectedAmountEuros" && e.requestId.startsWith("req_"));
  await assert.rejects(declare(agent, 12.3), TypeError);
  await assert.rejects(agent.intents.get(process.env.FOREIGN_INTENT), (e) => e.code === "E_NOT_FOUND");
  const stranger = new Warrant({ baseUrl: URL, token: "at_nope" });
  await assert.rejects(stranger.intents.list(), (e) => e.status === 401);
  const nowhere = new Warrant({ baseUrl: "http://127.0.0.1:9", token: "at_x", retries: 1 });
  await assert.rejects(nowhere.intents.list(), (e) => e.code === "E_TRANSPORT");
});

// A loopback proxy to the server that, for the first POST to /intents,
// passes the request on, waits for the server's answer to begin (the
// server has acted) and closes the client's connection without it.
function droppingProxy() {
  const upstream = new globalThis.URL(URL);
  const keys = [];
  let drops = 1;
  const server = net.createServer((client) => {
    const origin = net.connect(Number(upstream.port), upstream.hostname);
    let dropping = false;
    client.on("data", (data) => {
      const text = data.toString("latin1");
      if (text.startsWith("POST /intents ")) {
        const key = /\r\nidempotency-key: *([^\r\n]+)/i.exec(text);
        if (key) keys.push(key[1]);
        if (drops > 0) {
          drops -= 1;
          dropping = true;
        }
      }
      origin.write(data);
    });
    origin.on("data", (data) => {
      if (dropping) {
        client.destroy();
        origin.destroy();
      } else {
        client.write(data);
      }
    });
    const end = () => {
      client.destroy();
      origin.destroy();
    };
    client.on("error", end);
    origin.on("error", end);
    client.on("close", end);
    origin.on("close", end);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, keys, url: `http://127.0.0.1:${server.address().port}` })));
}

test("a connection killed mid-request is retried with the same key and acts once", async () => {
  const proxy = await droppingProxy();
  try {
    const purpose = `retried ${globalThis.crypto.randomUUID()}`;
    const through = new Warrant({ baseUrl: proxy.url, token: process.env.AGENT_TOKEN });
    const intent = await declare(through, "9.99", { purpose });
    assert.equal(intent.status, "approved");
    assert.equal(proxy.keys.length, 2, "one try dropped, one answered");
    assert.equal(proxy.keys[0], proxy.keys[1], "both tries carry the same Idempotency-Key");
    const same = (await agent.intents.list({ limit: 200 })).data.filter((i) => i.purpose === purpose);
    assert.deepEqual(same.map((i) => i.id), [intent.id], "the server acted once");
  } finally {
    proxy.server.close();
  }
});
