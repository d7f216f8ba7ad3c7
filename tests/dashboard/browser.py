"""The dashboard in a real browser: Debian's Chromium, headless, driven by
Playwright for Python (from PyPI), with axe-core (from npm) checking each
page's accessibility. Signs in, approves one intent with the keyboard and
denies another with the mouse (without a page load), sees a new intent
arrive by itself, opens the drawer, tries another tenant's intent and a
POST without the anti-forgery token, signs out, and takes screenshots.

Environment: BASE (the server), TENANT_KEY, AGENT_TOKEN, PENDING (three
pending intent ids, comma-separated, oldest first), FOREIGN_INTENT,
NEW_INTENT_COMMAND (a shell command that declares one more pending
intent and prints its id), AXE (axe.min.js), SCREENSHOTS (a directory,
optional). Prints one JSON object of what it saw; a failed check exits
non-zero with the reason."""

import json
import os
import subprocess
import sys

from playwright.sync_api import expect, sync_playwright

BASE = os.environ["BASE"]
PENDING = os.environ["PENDING"].split(",")
SHOTS = os.environ.get("SCREENSHOTS")
AXE = open(os.environ["AXE"]).read()


def check(condition, what):
    if not condition:
        raise SystemExit(f"check failed: {what}")


def shot(page, name, **options):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), **options)


def accessible(page, where):
    """No serious or critical axe-core finding (labels, contrast, names,
    landmarks, …) on the page as it is."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the pages'
        # Content-Security-Policy (scripts from the server only) allows.
        page.evaluate(AXE)
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))"
    )
    check(not found, f"accessibility of {where}: {found}")


def main():
    seen = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 860}, timezone_id="Europe/Berlin", locale="de-DE")
        page = context.new_page()
        page.set_default_timeout(15000)

        # Signing in: the pages send the visitor to the form; an agent
        # token does not sign in; the tenant's key does.
        page.goto(f"{BASE}/dashboard/approvals")
        check(page.url.endswith("/dashboard/login"), f"signed out, the inbox sends to sign-in: {page.url}")
        accessible(page, "the sign-in page")
        shot(page, "sign-in")
        page.get_by_label("API key").fill(os.environ["AGENT_TOKEN"])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("API key")
        page.get_by_label("API key").fill(os.environ["TENANT_KEY"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/dashboard/approvals")
        cookies = {c["name"]: c for c in context.cookies()}
        session = cookies["warrant_session"]
        check(session["httpOnly"] and session["sameSite"] == "Strict", f"the session cookie: {session}")
        check(os.environ["TENANT_KEY"] not in json.dumps(context.cookies()), "no key in the cookies")
        check(
            page.evaluate("document.cookie").find("warrant_session") < 0,
            "the page's scripts cannot read the session",
        )
        stored = page.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)")
        check(os.environ["TENANT_KEY"] not in stored, "no key in the browser's storage")

        # The inbox, oldest first, with what an approver needs.
        cards = page.locator("li.card[data-id]")
        expect(cards).to_have_count(3)
        ids = cards.evaluate_all("cards => cards.map(c => c.dataset.id)")
        check(ids == PENDING, f"oldest first: {ids} != {PENDING}")
        first = page.locator(f"li.card[data-id='{PENDING[0]}']")
        expect(first).to_contain_text("hetzner.com")
        expect(first).to_contain_text("review threshold")
        expect(first.locator(".amount")).to_contain_text("€")  # formatted for de-DE
        expect(first.locator("time[data-countdown]")).to_contain_text("left")
        accessible(page, "the approvals inbox")
        shot(page, "approvals")
        loads = []
        page.on("load", lambda: loads.append(page.url))

        # Approve the first with the keyboard: a note, Tab to Approve, Enter.
        note = first.get_by_label("Note (kept in the history)")
        note.fill("matches the invoice")
        note.press("Tab")
        check(page.evaluate("document.activeElement.textContent") == "Approve", "Tab reaches Approve")
        page.keyboard.press("Enter")
        done = page.locator(f"li.card[data-id='{PENDING[0]}'][data-done]")
        expect(done).to_contain_text("Approved")
        # Deny the second with the mouse.
        second = page.locator(f"li.card[data-id='{PENDING[1]}']")
        second.get_by_label("Note (kept in the history)").fill("not this month")
        second.get_by_role("button", name="Deny").click()
        expect(page.locator(f"li.card[data-id='{PENDING[1]}'][data-done]")).to_contain_text("Denied")
        check(loads == [], f"deciding reloads nothing: {loads}")

        # A new intent arrives while the page is open.
        new_id = subprocess.run(
            os.environ["NEW_INTENT_COMMAND"], shell=True, check=True, capture_output=True, text=True
        ).stdout.strip()
        expect(page.locator(f"li.card[data-id='{new_id}']")).to_be_visible(timeout=15000)
        expect(page.locator("#status")).to_contain_text("new intent")
        check(loads == [], f"the inbox refreshes without a page load: {loads}")
        seen["new"] = new_id

        # The drawer: the full decision trace and history.
        page.locator(f"li.card[data-id='{PENDING[2]}']").get_by_role("link", name="Details").click()
        drawer = page.locator("dialog#drawer")
        expect(drawer).to_be_visible()
        expect(drawer).to_contain_text("spend-limit")
        expect(drawer).to_contain_text("History")
        accessible(page, "the drawer")
        shot(page, "drawer")
        page.keyboard.press("Escape")
        expect(drawer).to_be_hidden()

        # Another tenant's intent is not there, by page or by form.
        foreign = os.environ["FOREIGN_INTENT"]
        answer = page.goto(f"{BASE}/dashboard/intents/{foreign}")
        check(answer.status == 404, f"another tenant's intent: {answer.status}")
        page.goto(f"{BASE}/dashboard/approvals")
        csrf = page.locator("body").get_attribute("data-csrf")
        status = page.evaluate(
            """async ([id, csrf]) => (await fetch(`/dashboard/intents/${id}/approve`, {method: 'POST',
                 headers: {'X-Requested-With': 'fetch'}, body: new URLSearchParams({csrf})})).status""",
            [foreign, csrf],
        )
        check(status == 404, f"approving another tenant's intent: {status}")
        # A POST without the anti-forgery token is refused (the cookie alone is not enough).
        refused = page.evaluate(
            """async (id) => (await fetch(`/dashboard/intents/${id}/approve`, {method: 'POST',
                 headers: {'X-Requested-With': 'fetch'}, body: new URLSearchParams({note: 'x'})})).status""",
            PENDING[2],
        )
        check(refused == 403, f"a POST without the token: {refused}")
        wrong = page.evaluate(
            """async (id) => (await fetch(`/dashboard/intents/${id}/deny`, {method: 'POST',
                 headers: {'X-Requested-With': 'fetch'}, body: new URLSearchParams({csrf: 'f'.repeat(64)})})).status""",
            PENDING[2],
        )
        check(wrong == 403, f"a POST with a wrong token: {wrong}")

        # The other pages, each checked and pictured.
        page.goto(f"{BASE}/dashboard/intents")
        expect(page.locator("table")).to_contain_text("hetzner.com")
        page.get_by_label("Status").select_option("denied")
        page.get_by_role("button", name="Filter").click()
        rows = page.locator("tbody tr")
        expect(rows).to_have_count(1)
        page.get_by_label("Status").select_option("")
        page.get_by_role("button", name="Filter").click()
        accessible(page, "the intents page")
        shot(page, "intents")
        page.goto(f"{BASE}/dashboard/agents")
        expect(page.locator("li.card").first).to_contain_text("active")
        expect(page.locator("progress").first).to_be_visible()
        accessible(page, "the agents page")
        shot(page, "agents")
        page.get_by_role("button", name="Freeze").click()
        expect(page.locator("li.card .badge").first).to_have_text("frozen")
        page.get_by_role("button", name="Unfreeze").click()
        expect(page.locator("li.card .badge").first).to_have_text("active")
        page.goto(f"{BASE}/dashboard/policies")
        expect(page.locator("table").first).to_contain_text("spend-limit")
        page.get_by_label("Amount").fill("60.00")
        page.get_by_label("Merchant").fill("hetzner.com")
        page.get_by_label("Purpose").fill("a bigger server")
        page.get_by_label("Card").fill("subscriptions")
        page.get_by_role("button", name="Try it").click()
        expect(page.locator(".result")).to_contain_text("pending approval")
        accessible(page, "the policies page")
        shot(page, "policies", full_page=True)
        page.goto(f"{BASE}/dashboard/events")
        expect(page.locator("table")).to_contain_text("intent.approved")
        accessible(page, "the audit log")
        shot(page, "events")

        # At phone width the inbox still works.
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        phone.add_cookies([{k: session[k] for k in ("name", "value", "domain", "path", "httpOnly", "sameSite")}])
        small = phone.new_page()
        small.goto(f"{BASE}/dashboard/approvals")
        expect(small.locator("li.card").first).to_be_visible()
        width = small.evaluate("document.documentElement.scrollWidth")
        check(width <= 390, f"nothing wider than the phone: {width}px")
        shot(small, "approvals-phone", full_page=True)
        phone.close()

        # Signing out ends the session.
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/dashboard/login")
        page.goto(f"{BASE}/dashboard/approvals")
        check(page.url.endswith("/dashboard/login"), "signed out")
        browser.close()
    seen["approved"] = PENDING[0]
    seen["denied"] = PENDING[1]
    seen["untouched"] = PENDING[2]
    print(json.dumps(seen))


main()
