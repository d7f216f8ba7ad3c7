"""An MCP client that no one at Warrant wrote (the official Python SDK,
`mcp` on PyPI) going through an agent's day and a supervisor's, over the
transport named on the command line:

    client.py http URL      Streamable HTTP at URL (`…/mcp`)
    client.py stdio         `$WARRANT_BIN mcp`, over its stdin and stdout

Credentials come from the environment: AGENT_TOKEN (an agent's token),
TENANT_KEY (its tenant's API key), FOREIGN_INTENT (another tenant's
intent), SIBLING_INTENT (another agent's, of the same tenant). For stdio, MCP_ENV_* variables are passed to the server without
the prefix. Prints one JSON object of what it saw; any failed check exits
non-zero with the reason."""

import asyncio
import json
import os
import sys

from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

MODE = sys.argv[1]


def connect(credential):
    if MODE == "http":
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {credential}"})
        return Client(streamable_http_client(sys.argv[2], http_client=http), cache=None)
    env = {k[len("MCP_ENV_"):]: v for k, v in os.environ.items() if k.startswith("MCP_ENV_")}
    env["WARRANT_TOKEN"] = credential
    server = StdioServerParameters(command=os.environ["WARRANT_BIN"], args=["mcp"], env=env)
    return Client(server, cache=None)


def check(condition, what):
    if not condition:
        raise SystemExit(f"check failed: {what}")


def text_of(result):
    return " ".join(block.text for block in result.content if getattr(block, "type", "") == "text")


async def declare(client, amount, merchant="hetzner.com", **more):
    arguments = {
        "cardName": "subscriptions",
        "purpose": "renew the build server",
        "expectedAmountEuros": amount,
        "expectedMerchant": merchant,
        **more,
    }
    return await client.call_tool("declare_intent", arguments)


async def agent_day(seen):
    async with connect(os.environ["AGENT_TOKEN"]) as client:
        tools = sorted(tool.name for tool in (await client.list_tools()).tools)
        seen["agentTools"] = tools
        check(
            tools
            == sorted(
                ["declare_intent", "get_intent", "list_intents", "cancel_intent", "complete_intent", "verify_intent"]
            ),
            f"an agent token lists the agent's tools, got {tools}",
        )
        declare_tool = next(t for t in (await client.list_tools()).tools if t.name == "declare_intent")
        schema = declare_tool.input_schema
        check("purpose" in schema["required"], "the declare schema requires a purpose")
        check(
            "string" in schema["properties"]["expectedAmountEuros"]["type"],
            "the amount may be a decimal string",
        )
        check(schema["properties"]["purpose"].get("description"), "properties are described for a model")

        # One intent per verdict: money as an exact decimal string, and as a number.
        approved = await declare(client, "12.30")
        check(not approved.is_error, f"declared: {text_of(approved)}")
        check(approved.structured_content["status"] == "approved", "12.30 EUR is approved")
        check(approved.structured_content["expectedAmountEuros"] == 12.3, "the amount is kept")
        check(text_of(approved).startswith("approved: 12.30 EUR at hetzner.com"), text_of(approved))

        pending = await declare(client, 86.40)
        check(pending.structured_content["status"] == "pending_approval", "86.40 EUR waits for a person")
        pending_text = text_of(pending)
        check(pending_text.startswith("pending approval: 86.40 EUR is above the review threshold"), pending_text)
        check("get_intent" in pending_text, "a pending answer says how to wait")

        denied = await declare(client, "250.00")
        check(denied.structured_content["status"] == "denied", "250 EUR is denied")
        check(text_of(denied).startswith("denied: "), text_of(denied))
        blocked = await declare(client, "5", merchant="casino.example")
        check(blocked.structured_content["status"] == "denied", "a blocked merchant is denied")

        # Errors are the tool's answer, with the REST error's code and field.
        bad = await declare(client, "12.345")
        check(bad.is_error, "an amount below the cent is refused")
        check(bad.structured_content["error"]["code"] == "E_VALIDATION", str(bad.structured_content))
        check(bad.structured_content["error"].get("field") == "expectedAmountEuros", str(bad.structured_content))
        not_a_number = await declare(client, "twelve")
        check(not_a_number.is_error and "expectedAmountEuros" in text_of(not_a_number), text_of(not_a_number))
        unknown = await client.call_tool("declare_intent", {"purpose": "x", "expectedAmountEuros": 1, "color": 1})
        check(unknown.is_error and "color" in text_of(unknown), text_of(unknown))

        foreign = await client.call_tool("get_intent", {"id": os.environ["FOREIGN_INTENT"]})
        check(foreign.is_error, "another tenant's intent is not there")
        check(foreign.structured_content["error"]["code"] == "E_NOT_FOUND", str(foreign.structured_content))
        foreign_cancel = await client.call_tool("cancel_intent", {"id": os.environ["FOREIGN_INTENT"]})
        check(foreign_cancel.is_error, "another tenant's intent cannot be cancelled")
        sibling = os.environ["SIBLING_INTENT"]
        for tool in ["get_intent", "cancel_intent", "complete_intent"]:
            answer = await client.call_tool(tool, {"id": sibling})
            check(answer.is_error, f"{tool} on another agent's intent is refused")
            check(
                answer.structured_content["error"]["code"] in ("E_AGENT_ISOLATION", "E_NOT_FOUND"),
                str(answer.structured_content),
            )
        listed_all = await client.call_tool("list_intents", {})
        check(
            sibling not in [i["id"] for i in listed_all.structured_content["data"]],
            "another agent's intents are not listed",
        )
        approve_own = await client.call_tool("approve_intent", {"id": pending.structured_content["id"]})
        check(approve_own.is_error, "an agent cannot approve its own intent")
        check(approve_own.structured_content["error"]["code"] == "E_FORBIDDEN", str(approve_own.structured_content))

        got = await client.call_tool("get_intent", {"id": approved.structured_content["id"]})
        check(got.structured_content["history"][0]["to"] == "approved", "get_intent shows the history")
        listed = await client.call_tool("list_intents", {"status": "pending_approval"})
        ids = [i["id"] for i in listed.structured_content["data"]]
        check(ids == [pending.structured_content["id"]], f"list_intents filters by status: {ids}")

        # Resources: the agent's policy and usage, its open intents.
        uris = sorted(str(r.uri) for r in (await client.list_resources()).resources)
        check(uris == ["warrant://agent/intents/open", "warrant://agent/policy"], f"resources: {uris}")
        open_intents = json.loads((await client.read_resource("warrant://agent/intents/open")).contents[0].text)
        open_ids = sorted(i["id"] for i in open_intents["data"])
        check(
            open_ids == sorted([approved.structured_content["id"], pending.structured_content["id"]]),
            f"open intents: {open_ids}",
        )
        policy = json.loads((await client.read_resource("warrant://agent/policy")).contents[0].text)
        check(policy["usage"]["policyId"] == policy["agent"]["policyId"], "the policy resource")

        # Settle: complete the approved one (a string amount), verify it.
        done = await client.call_tool(
            "complete_intent",
            {"id": approved.structured_content["id"], "actualAmountEuros": "12.30", "actualMerchant": "hetzner.com"},
        )
        check(done.structured_content["status"] == "completed", text_of(done))
        verified = await client.call_tool(
            "verify_intent", {"id": approved.structured_content["id"], "actualAmountEuros": 12.3}
        )
        check(not verified.is_error, text_of(verified))
        cancel_me = await declare(client, "7.00")
        cancelled = await client.call_tool(
            "cancel_intent", {"id": cancel_me.structured_content["id"], "reason": "bought elsewhere"}
        )
        check(cancelled.structured_content["status"] == "cancelled", text_of(cancelled))

        seen["approved"] = approved.structured_content["id"]
        seen["pending"] = pending.structured_content["id"]
        seen["denied"] = denied.structured_content["id"]
        seen["cancelled"] = cancel_me.structured_content["id"]


async def supervisor(seen):
    async with connect(os.environ["TENANT_KEY"]) as client:
        tools = sorted(tool.name for tool in (await client.list_tools()).tools)
        seen["tenantTools"] = tools
        for name in ["list_agents", "freeze_agent", "approve_intent", "deny_intent", "agent_usage"]:
            check(name in tools, f"a tenant key lists {name}")
        agents = await client.call_tool("list_agents", {})
        names = {a["name"]: a["id"] for a in agents.structured_content["data"]}
        check(len(names) == 2 and "sibling" in names, f"the tenant's two agents: {names}")
        agent_id = next(id for name, id in names.items() if name != "sibling")
        usage = await client.call_tool("agent_usage", {"agentId": agent_id})
        check(usage.structured_content["agentId"] == agent_id, text_of(usage))
        pending = json.loads((await client.read_resource("warrant://intents/pending")).contents[0].text)
        inbox = [i["id"] for i in pending["data"]]
        check(seen["pending"] in inbox and os.environ["SIBLING_INTENT"] in inbox, f"the approvals inbox: {inbox}")
        foreign = await client.call_tool("approve_intent", {"id": os.environ["FOREIGN_INTENT"]})
        check(foreign.is_error and foreign.structured_content["error"]["code"] == "E_NOT_FOUND", text_of(foreign))
        approved = await client.call_tool(
            "approve_intent", {"id": seen["pending"], "reason": "the yearly renewal", "note": "checked"}
        )
        check(approved.structured_content["status"] == "approved", text_of(approved))
        again = await client.call_tool("deny_intent", {"id": seen["pending"]})
        check(again.is_error and again.structured_content["error"]["code"] == "E_INVALID_TRANSITION", text_of(again))
        frozen = await client.call_tool("freeze_agent", {"agentId": agent_id})
        check(frozen.structured_content["status"] == "frozen", text_of(frozen))
        unfrozen = await client.call_tool("unfreeze_agent", {"agentId": agent_id})
        check(unfrozen.structured_content["status"] == "active", text_of(unfrozen))
        seen["agent"] = agent_id


async def refused(seen):
    try:
        async with connect("at_not_a_token") as client:
            await client.list_tools()
    except BaseException as e:  # noqa: BLE001 - the SDK raises its own kinds
        seen["refused"] = type(e).__name__
        return
    raise SystemExit("check failed: a wrong token is refused")


async def main():
    seen = {}
    await agent_day(seen)
    await supervisor(seen)
    await refused(seen)
    print(json.dumps(seen))


asyncio.run(main())
