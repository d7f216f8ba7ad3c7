//! The dashboard in a real browser: headless Chromium (Debian's) driven by
//! Playwright for Python runs `tests/dashboard/browser.py` — signing in,
//! approving with the keyboard and denying with the mouse from the inbox,
//! a new intent arriving by itself, the drawer, every page checked by
//! axe-core, phone width, another tenant's intent, POSTs without the
//! anti-forgery token, signing out — and the REST API then shows what the
//! browser did. With `WARRANT_SCREENSHOTS=DIR` the pages' pictures are
//! written there (`docs/dashboard` holds the README's). Runs on SQLite,
//! and on PostgreSQL with `WARRANT_E2E_DATABASE=postgres`.

mod support;

use std::process::Command;

use serde_json::{Value, json};
use support::{Server, Tenant};

/// A tenant whose agent's policy has limits to show: review above 50,
/// at most 100 per intent, a rate limit and a budget.
fn tenant_with_limits(server: &Server) -> Tenant {
    let key = server.tenant("dashboard");
    let policy = server
        .post(
            "/policies",
            &key,
            json!({"name": "purchasing", "rules": [
                {"plugin": "spend-limit", "config": {"maxAmountEuros": 100, "reviewAboveEuros": 50}},
                {"plugin": "merchant-rules", "config": {"block": ["casino.example"]}},
                {"plugin": "rate-limit", "config": {"perMinute": 20, "perHour": 100, "perDay": 400}},
                {"plugin": "budget", "config": {"maxDailyEuros": 1000, "maxMonthlyEuros": 5000}}
            ]}),
        )
        .expect(201)
        .str("id");
    let agent = server.agent(&key, &policy, "build-server buyer");
    let token = server.token(&key, &agent);
    Tenant {
        key,
        policy,
        agent,
        token,
    }
}

#[test]
fn an_approver_works_through_the_dashboard_in_a_browser() {
    let server = Server::start();
    let tenant = tenant_with_limits(&server);
    let other = Tenant::new(&server, "someone else");
    let foreign = server
        .intent(&other.token, &other.agent, "60")
        .expect(201)
        .str("id");
    server
        .intent(&tenant.token, &tenant.agent, "12.30")
        .expect(201);
    let pending: Vec<String> = ["60", "70.50", "86.40"]
        .iter()
        .map(|amount| {
            let intent = server
                .intent(&tenant.token, &tenant.agent, amount)
                .expect(201);
            assert_eq!(intent.str("status"), "pending_approval");
            intent.str("id")
        })
        .collect();
    let new_intent = format!(
        "curl -sf {}/intents -H 'Authorization: Bearer {}' -d '{{\"cardName\":\"subscriptions\",\
         \"purpose\":\"a new disk\",\"expectedAmountEuros\":55,\"expectedMerchant\":\"hetzner.com\"}}' \
         | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"id\"])'",
        server.base, tenant.token
    );
    let screenshots = std::env::var("WARRANT_SCREENSHOTS").ok();
    let output = Command::new("python3")
        .arg("tests/dashboard/browser.py")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PYTHONPATH", support::python_tool("tools_playwright"))
        .env("AXE", support::python_tool("tools_axe_core"))
        .env("BASE", &server.base)
        .env("TENANT_KEY", &tenant.key)
        .env("AGENT_TOKEN", &tenant.token)
        .env("PENDING", pending.join(","))
        .env("FOREIGN_INTENT", &foreign)
        .env("NEW_INTENT_COMMAND", &new_intent)
        .env("SCREENSHOTS", screenshots.unwrap_or_default())
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "the browser's run failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).expect("the run's report");

    // What the browser did, as the API shows it.
    let intent = |id: &str| {
        server
            .get(&format!("/intents/{id}"), &tenant.key)
            .expect(200)
    };
    let approved = intent(seen["approved"].as_str().unwrap());
    assert_eq!(approved.str("status"), "approved");
    let decided = approved.body["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(decided["note"], "matches the invoice");
    assert!(decided["actor"].as_str().unwrap().starts_with("key:ak_"));
    let denied = intent(seen["denied"].as_str().unwrap());
    assert_eq!(denied.str("status"), "denied");
    assert_eq!(
        denied.body["history"].as_array().unwrap().last().unwrap()["note"],
        "not this month"
    );
    // The POSTs without a token changed nothing; the new one waits.
    assert_eq!(
        intent(seen["untouched"].as_str().unwrap()).str("status"),
        "pending_approval"
    );
    assert_eq!(
        intent(seen["new"].as_str().unwrap()).str("status"),
        "pending_approval"
    );
    let untouched = server
        .get(&format!("/intents/{foreign}"), &other.key)
        .expect(200);
    assert_eq!(untouched.str("status"), "pending_approval");
    assert_eq!(untouched.body["history"].as_array().unwrap().len(), 1);
}

/// Signs in to the dashboard as a browser would (the form's token and
/// its cookie): the session cookie (`name=value`) and the forms' token.
fn sign_in(server: &Server, key: &str) -> (String, String) {
    let form = server.send("GET", "/dashboard/login", None, &[], None);
    assert_eq!(form.status, 200);
    let login_cookie = form
        .set_cookies
        .iter()
        .find(|c| c.starts_with("warrant_login="))
        .expect("the form's cookie");
    let token = login_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1;
    let body = format!("csrf={token}&key={key}");
    let cookie = format!("warrant_login={token}");
    let signed = server.send(
        "POST",
        "/dashboard/login",
        None,
        &[FORM, ("cookie", &cookie)],
        Some(body.as_bytes()),
    );
    assert_eq!(signed.status, 303, "{}", signed.text);
    let session = signed
        .set_cookies
        .iter()
        .find(|c| c.starts_with("warrant_session="))
        .expect("a session");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    assert!(!session.contains(key));
    // The same sign-in without the form's cookie is refused.
    let forged = server.send(
        "POST",
        "/dashboard/login",
        None,
        &[FORM],
        Some(body.as_bytes()),
    );
    assert_eq!(forged.status, 403);
    let session = session.split(';').next().unwrap().to_owned();
    let page = server.send(
        "GET",
        "/dashboard/approvals",
        None,
        &[("cookie", &session)],
        None,
    );
    assert_eq!(page.status, 200);
    let csrf = page
        .text
        .split("data-csrf=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    (session, csrf.to_owned())
}

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

/// Without a browser: a POST that carries the session cookie but not the
/// form's token is refused; a key whose role may not approve is refused by
/// the service even with the token; a page without a session sends to
/// sign-in.
#[test]
fn a_post_without_the_forms_token_or_the_role_is_refused() {
    let server = Server::start();
    let tenant = Tenant::new(&server, "forms");
    let pending = server
        .intent(&tenant.token, &tenant.agent, "60")
        .expect(201)
        .str("id");
    let signed_out = server.send("GET", "/dashboard/approvals", None, &[], None);
    assert_eq!(signed_out.status, 303);

    let (session, csrf) = sign_in(&server, &tenant.key);
    let page = server.send(
        "GET",
        "/dashboard/approvals",
        None,
        &[("cookie", &session)],
        None,
    );
    assert!(page.text.contains(&pending));
    let approve = format!("/dashboard/intents/{pending}/approve");
    for body in ["note=x", "csrf=&note=x", "csrf=0000&note=x"] {
        let refused = server.send(
            "POST",
            &approve,
            None,
            &[FORM, ("cookie", &session)],
            Some(body.as_bytes()),
        );
        assert_eq!(refused.status, 403, "{body}");
    }

    // A viewer sees the inbox without the forms, and its POST is refused
    // by the service's role check.
    let viewer = server
        .post(
            "/api-keys",
            &tenant.key,
            json!({"name": "auditor", "role": "viewer"}),
        )
        .expect(201)
        .str("key");
    let (viewer_session, viewer_csrf) = sign_in(&server, &viewer);
    let page = server.send(
        "GET",
        "/dashboard/approvals",
        None,
        &[("cookie", &viewer_session)],
        None,
    );
    assert!(page.text.contains("cannot approve"), "{}", page.text);
    let refused = server.send(
        "POST",
        &approve,
        None,
        &[
            FORM,
            ("cookie", &viewer_session),
            ("x-requested-with", "fetch"),
        ],
        Some(format!("csrf={viewer_csrf}").as_bytes()),
    );
    assert_eq!(refused.status, 403, "{}", refused.text);
    // Another session's token is not this one's.
    let crossed = server.send(
        "POST",
        &approve,
        None,
        &[FORM, ("cookie", &session)],
        Some(format!("csrf={viewer_csrf}").as_bytes()),
    );
    assert_eq!(crossed.status, 403);
    let intent = server
        .get(&format!("/intents/{pending}"), &tenant.key)
        .expect(200);
    assert_eq!(intent.str("status"), "pending_approval");

    // With its own token, the tenant's key approves (and is sent back to
    // the inbox).
    let approved = server.send(
        "POST",
        &approve,
        None,
        &[FORM, ("cookie", &session)],
        Some(format!("csrf={csrf}&note=fine").as_bytes()),
    );
    assert_eq!(approved.status, 303);
    let intent = server
        .get(&format!("/intents/{pending}"), &tenant.key)
        .expect(200);
    assert_eq!(intent.str("status"), "approved");

    // A revoked key's session ends at once.
    let keys = server.get("/api-keys", &tenant.key).expect(200);
    let viewer_id = keys.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "auditor")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .delete(&format!("/api-keys/{viewer_id}"), &tenant.key)
        .expect(200);
    let ended = server.send(
        "GET",
        "/dashboard/approvals",
        None,
        &[("cookie", &viewer_session)],
        None,
    );
    assert_eq!(ended.status, 303);
}
