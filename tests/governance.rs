//! Governance end to end over REST with the built-in plugins: rate limits,
//! budgets with alerts and auto-suspension, time windows, risk thresholds
//! per agent type, anomalies against a baseline, charges of recurring
//! intents, usage and dry runs.

mod support;

use serde_json::{Value, json};
use support::{Answer, Server};

/// A tenant with one agent of `agent_type` on a policy made of `policy`.
struct Setup {
    key: String,
    policy: String,
    agent: String,
}

fn setup(server: &Server, policy: Value, agent_type: &str) -> Setup {
    let key = server.tenant("governed");
    let policy = server.post("/policies", &key, policy).expect(201).str("id");
    let agent = server
        .post(
            "/agents",
            &key,
            json!({"name": "buyer", "policyId": policy, "agentType": agent_type,
                   "profile": {"purpose": "buys things"}}),
        )
        .expect(201)
        .str("id");
    for card in ["main", "subscriptions"] {
        server.card(&key, &agent, card);
    }
    Setup { key, policy, agent }
}

fn intent(server: &Server, s: &Setup, euros: &str, merchant: &str) -> Answer {
    server.post_text(
        "/intents",
        &s.key,
        &format!(
            r#"{{"agentId":"{}","cardName":"main","purpose":"buy","expectedAmountEuros":{euros},"expectedMerchant":"{merchant}"}}"#,
            s.agent
        ),
    )
}

fn codes(answer: &Answer) -> Vec<String> {
    answer.body["decision"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rule| rule["codes"].as_array().cloned().unwrap_or_default())
        .map(|code| code.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_budget_alerts_at_its_threshold_and_suspends_the_agent_when_exceeded() {
    let server = Server::start();
    let s = setup(
        &server,
        json!({"name": "budget", "timezone": "Europe/Berlin", "rules": [
            {"plugin": "budget", "config": {"maxDailyEuros": 100, "alertThresholdPercent": 50,
                                            "autoSuspendOnExceeded": true}}]}),
        "autonomous",
    );
    let first = intent(&server, &s, "40", "shop.example").expect(201);
    assert_eq!(first.str("status"), "approved");
    assert!(
        first.body["decision"].get("actions").is_none(),
        "{}",
        first.text
    );

    let crossing = intent(&server, &s, "20", "shop.example").expect(201);
    assert_eq!(crossing.str("status"), "approved");
    assert_eq!(crossing.body["decision"]["actions"][0]["kind"], "alert");
    assert_eq!(codes(&crossing), ["budget-alert-threshold"]);

    let usage = server
        .get(&format!("/agents/{}/usage", s.agent), &s.key)
        .expect(200);
    assert_eq!(usage.body["timezone"], "Europe/Berlin");
    assert_eq!(usage.body["budget"]["daily"]["limitEuros"], json!(100.00));
    assert_eq!(usage.body["budget"]["daily"]["currentEuros"], json!(60.00));
    assert_eq!(
        usage.body["budget"]["daily"]["remainingEuros"],
        json!(40.00)
    );
    assert_eq!(usage.body["budget"]["alertSent"], true);
    assert_eq!(usage.body["windows"]["calendarDay"]["count"], 2);

    let over = intent(&server, &s, "50", "shop.example").expect(201);
    assert_eq!(over.str("status"), "denied");
    assert_eq!(codes(&over), ["budget-daily-exceeded"]);
    assert_eq!(over.body["decision"]["actions"][0]["kind"], "suspend-agent");
    let agent = server
        .get(&format!("/agents/{}", s.agent), &s.key)
        .expect(200);
    assert_eq!(agent.str("status"), "suspended");
    intent(&server, &s, "1", "shop.example").expect_error(409, "E_AGENT_NOT_ACTIVE");

    // Suspended, the agent has nothing left to pay, as after the kill
    // switch: its approved intents are cancelled, saying why.
    for approved in [&first, &crossing] {
        let read = server
            .get(&format!("/intents/{}", approved.str("id")), &s.key)
            .expect(200);
        assert_eq!(read.str("status"), "cancelled");
        let reason = read.str("statusReason");
        assert!(
            reason.starts_with("agent suspended by policy:budget: "),
            "{reason}"
        );
        let last = read.body["history"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(
            (
                last["from"].clone(),
                last["to"].clone(),
                last["actor"].clone()
            ),
            (
                json!("approved"),
                json!("cancelled"),
                json!("policy:budget")
            )
        );
    }
    // Neither the cancelled intents nor the denied one spend anything.
    let usage = server
        .get(&format!("/agents/{}/usage", s.agent), &s.key)
        .expect(200);
    assert_eq!(usage.body["budget"]["daily"]["currentEuros"], json!(0.00));
}

#[test]
fn a_rate_limit_denies_the_intent_past_the_limit_naming_its_window() {
    let server = Server::start();
    let s = setup(
        &server,
        json!({"name": "rate", "rules": [
            {"plugin": "rate-limit", "config": {"perMinute": 2, "perDay": 100}}]}),
        "supervised",
    );
    for _ in 0..2 {
        let answer = intent(&server, &s, "1", "shop.example").expect(201);
        assert_eq!(answer.str("status"), "approved");
    }
    let third = intent(&server, &s, "1", "shop.example").expect(201);
    assert_eq!(third.str("status"), "denied");
    assert_eq!(codes(&third), ["rate-limit-per-minute"]);
    assert!(
        third.str("statusReason").contains("minute"),
        "{}",
        third.text
    );

    let usage = server
        .get(&format!("/agents/{}/usage", s.agent), &s.key)
        .expect(200);
    assert_eq!(
        usage.body["rateLimits"]["perMinute"],
        json!({"limit": 2, "current": 3, "remaining": 0})
    );
    assert_eq!(
        usage.body["rateLimits"]["perDay"],
        json!({"limit": 100, "current": 3, "remaining": 97})
    );
    assert!(usage.body["rateLimits"].get("perHour").is_none());
    assert_eq!(usage.body["budget"], Value::Null);
}

/// `HH:MM` in UTC, `minutes` from now.
fn utc_clock(minutes: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes);
    format!("{:02}:{:02}", at.hour(), at.minute())
}

#[test]
fn a_time_window_approves_inside_and_denies_outside() {
    let server = Server::start();
    let open = setup(
        &server,
        json!({"name": "open", "rules": [{"plugin": "time-window", "config": {
            "start": utc_clock(-90), "end": utc_clock(90), "timezone": "UTC"}}]}),
        "supervised",
    );
    assert_eq!(
        intent(&server, &open, "5", "shop.example")
            .expect(201)
            .str("status"),
        "approved"
    );
    let closed = setup(
        &server,
        json!({"name": "closed", "rules": [{"plugin": "time-window", "config": {
            "start": utc_clock(120), "end": utc_clock(180), "timezone": "UTC"}}]}),
        "supervised",
    );
    let denied = intent(&server, &closed, "5", "shop.example").expect(201);
    assert_eq!(denied.str("status"), "denied");
    assert_eq!(codes(&denied), ["outside-time-window"]);
    // A zone that does not exist is refused when the policy is made.
    let key = server.tenant("tz");
    server
        .post(
            "/policies",
            &key,
            json!({"name": "bad", "rules": [{"plugin": "time-window", "config": {
                "start": "09:00", "end": "17:00", "timezone": "Mars/Olympus"}}]}),
        )
        .expect_error(400, "E_VALIDATION");
    server
        .post(
            "/policies",
            &key,
            json!({"name": "bad", "timezone": "Mars/Olympus",
                   "rules": [{"plugin": "spend-limit", "config": {"maxAmountEuros": 1}}]}),
        )
        .expect_error(400, "E_VALIDATION");
}

fn anomaly_policy() -> Value {
    json!({"name": "risk", "risk": [{"plugin": "anomaly"}],
           "rules": [{"plugin": "risk-threshold"}]})
}

#[test]
fn risk_thresholds_follow_the_agent_type_and_anomalies_are_scored_against_the_baseline() {
    let server = Server::start();
    let s = setup(&server, anomaly_policy(), "supervised");
    let baseline = server
        .post(
            &format!("/agents/{}/set-baselines", s.agent),
            &s.key,
            json!({"amountMeanEuros": 10, "amountStdDevEuros": 2, "intentsPerDay": 500,
                   "activeHours": (0..24).collect::<Vec<_>>(), "merchants": ["Usual.example"]}),
        )
        .expect(200);
    assert!(
        baseline
            .text
            .contains(r#""amountMeanEuros":10.00,"amountStdDevEuros":2.00"#),
        "{}",
        baseline.text
    );
    assert_eq!(
        baseline.body["baseline"]["merchants"],
        json!(["usual.example"])
    );

    let usual = intent(&server, &s, "11", "usual.example").expect(201);
    assert_eq!(usual.str("status"), "approved", "{}", usual.text);
    assert_eq!(usual.body["decision"]["riskScore"], 0);

    let huge = intent(&server, &s, "500", "usual.example").expect(201);
    assert_eq!(huge.str("status"), "denied");
    assert_eq!(codes(&huge), ["risk-above-max"]);
    assert_eq!(
        huge.body["decision"]["signals"][0]["name"],
        "amount-deviation"
    );

    // A merchant never seen scores 30: review for a supervised agent
    // (approve below 30), approval for an advisory one (below 50).
    let new = intent(&server, &s, "10", "new.example").expect(201);
    assert_eq!(new.str("status"), "pending_approval");
    assert_eq!(new.body["decision"]["riskScore"], 30);
    server
        .patch(
            &format!("/agents/{}", s.agent),
            &s.key,
            json!({"agentType": "advisory"}),
        )
        .expect(200);
    let advisory = intent(&server, &s, "10", "other.example").expect(201);
    assert_eq!(advisory.str("status"), "approved");

    let anomalies = server
        .get(&format!("/agents/{}/anomalies", s.agent), &s.key)
        .expect(200);
    let listed: Vec<&str> = anomalies.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["intentId"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 3, "{}", anomalies.text);
    assert!(listed.contains(&huge.str("id").as_str()));
    assert!(!listed.contains(&usual.str("id").as_str()));
    let usage = server
        .get(&format!("/agents/{}/usage", s.agent), &s.key)
        .expect(200);
    assert_eq!(usage.body["anomalyDetection"]["enabled"], true);
    assert_eq!(usage.body["anomalyDetection"]["count24h"], 3);

    // Learnt from history: the four intents that were not denied.
    let learnt = server
        .post(
            &format!("/agents/{}/set-baselines", s.agent),
            &s.key,
            json!({"days": 7}),
        )
        .expect(200);
    assert_eq!(learnt.body["baseline"]["intentsPerDay"], 1);
    assert_eq!(
        learnt.body["baseline"]["merchants"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Nothing to learn from: a conflict, not an empty baseline.
    let fresh = setup(&server, anomaly_policy(), "supervised");
    server
        .post(
            &format!("/agents/{}/set-baselines", fresh.agent),
            &fresh.key,
            json!({}),
        )
        .expect_error(409, "E_CONFLICT");
}

#[test]
fn charges_of_a_recurring_intent_are_accepted_or_flagged_by_the_series_terms() {
    let server = Server::start();
    let s = setup(
        &server,
        json!({"name": "subscriptions",
               "rules": [{"plugin": "spend-limit", "config": {"maxAmountEuros": 100}}]}),
        "supervised",
    );
    let declared = server
        .post_text(
            "/intents",
            &s.key,
            &format!(
                r#"{{"agentId":"{}","cardName":"subscriptions","purpose":"hosting","expectedAmountEuros":20,
                    "expectedMerchant":"hetzner.com","recurring":{{"cadence":"monthly",
                    "windowStartDaysBefore":3,"windowEndDaysAfter":3,"amountTolerancePercent":10}}}}"#,
                s.agent
            ),
        )
        .expect(201);
    assert_eq!(declared.str("status"), "approved");
    let id = declared.str("id");
    let charges = format!("/intents/{id}/charges");

    let first = server
        .post(
            &charges,
            &s.key,
            json!({"amountEuros": 21, "merchant": "Hetzner.com"}),
        )
        .expect(201);
    assert_eq!(first.str("status"), "accepted", "{}", first.text);
    // A second charge in the same period, at another merchant, too large.
    let second = server
        .post(
            &charges,
            &s.key,
            json!({"amountEuros": 30, "merchant": "other.example"}),
        )
        .expect(201);
    assert_eq!(second.str("status"), "flagged");
    assert_eq!(
        second.body["codes"],
        json!([
            "duplicate-charge",
            "amount-beyond-tolerance",
            "merchant-mismatch"
        ])
    );
    // Before the series began.
    let early = (time::OffsetDateTime::now_utc() - time::Duration::days(10))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let outside = server
        .post(
            &charges,
            &s.key,
            json!({"amountEuros": 20, "merchant": "hetzner.com", "at": early}),
        )
        .expect(201);
    assert_eq!(outside.body["codes"], json!(["outside-window"]));

    let listed = server.get(&charges, &s.key).expect(200);
    let statuses: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["flagged", "accepted", "flagged"]);

    // Bad input is a 4xx and stores nothing.
    server
        .post(
            &charges,
            &s.key,
            json!({"amountEuros": "x", "merchant": "hetzner.com"}),
        )
        .expect_error(400, "E_VALIDATION");
    // A charge beyond any amount Warrant records (ten trillion euros).
    let huge = server.post(
        &charges,
        &s.key,
        json!({"amountEuros": 100_000_000_000_000_u64, "merchant": "hetzner.com"}),
    );
    assert_eq!(
        huge.expect_error(400, "E_VALIDATION").body["error"]["field"],
        "amountEuros"
    );
    server
        .post(
            &charges,
            &s.key,
            json!({"amountEuros": 1, "merchant": "h.com", "at": "2999-01-01T00:00:00Z"}),
        )
        .expect_error(400, "E_VALIDATION");
    let plain = intent(&server, &s, "5", "hetzner.com")
        .expect(201)
        .str("id");
    server
        .post(
            &format!("/intents/{plain}/charges"),
            &s.key,
            json!({"amountEuros": 5, "merchant": "hetzner.com"}),
        )
        .expect_error(409, "E_CONFLICT");
    assert_eq!(
        server.get(&charges, &s.key).body["data"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // With the default windows (no days before or after the due date), a
    // charge on the day the series began is in its first window.
    let default_windows = server
        .post_text(
            "/intents",
            &s.key,
            &format!(
                r#"{{"agentId":"{}","cardName":"subscriptions","purpose":"hosting","expectedAmountEuros":20,
                    "expectedMerchant":"hetzner.com","recurring":{{"cadence":"monthly"}}}}"#,
                s.agent
            ),
        )
        .expect(201)
        .str("id");
    let charge = server
        .post(
            &format!("/intents/{default_windows}/charges"),
            &s.key,
            json!({"amountEuros": 20, "merchant": "hetzner.com"}),
        )
        .expect(201);
    assert_eq!(charge.str("status"), "accepted", "{}", charge.text);
}

#[test]
fn dry_runs_decide_without_storing_anything_or_moving_counters() {
    let server = Server::start();
    let s = setup(
        &server,
        json!({"name": "budget", "rules": [
            {"plugin": "budget", "config": {"maxDailyEuros": 50, "autoSuspendOnExceeded": true}}]}),
        "supervised",
    );
    intent(&server, &s, "30", "shop.example").expect(201);
    let body = json!({"cardName": "main", "purpose": "try", "expectedAmountEuros": 30});
    let dry = server
        .post(
            &format!("/agents/{}/evaluate", s.agent),
            &s.key,
            body.clone(),
        )
        .expect(200);
    assert_eq!(dry.body["dryRun"], true);
    assert_eq!(dry.str("status"), "denied");
    assert_eq!(dry.body["decision"]["actions"][0]["kind"], "suspend-agent");
    assert!(
        dry.text
            .contains(r#""calendarDay":{"count":1,"spendEuros":30.00,"#),
        "{}",
        dry.text
    );
    // Nothing happened: the agent is active, one intent, 30 EUR spent.
    let agent = server
        .get(&format!("/agents/{}", s.agent), &s.key)
        .expect(200);
    assert_eq!(agent.str("status"), "active");
    let listed = server
        .get(&format!("/intents?agentId={}", s.agent), &s.key)
        .expect(200);
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);

    // The policy alone, as a sample agent with no history.
    let alone = server
        .post(&format!("/policies/{}/evaluate", s.policy), &s.key, body)
        .expect(200);
    assert_eq!(alone.str("status"), "approved");
    assert_eq!(alone.body["usage"]["calendarDay"]["spendEuros"], 0.0);
    server
        .post(
            &format!("/policies/{}/evaluate", s.policy),
            &s.key,
            json!({"purpose": "x"}),
        )
        .expect_error(400, "E_VALIDATION");
}

/// Every amount the API writes is a decimal in major units named `…Euros`
/// beside its `currency`, with the currency's decimals: the usage report,
/// the dry run's usage, the baseline and the intent agree.
#[test]
fn amounts_are_written_in_one_unit_and_one_format_everywhere() {
    let server = Server::start();
    let s = setup(
        &server,
        json!({"name": "budgeted",
               "rules": [{"plugin": "budget", "config": {"maxDailyEuros": 1000}}]}),
        "supervised",
    );
    let ten = intent(&server, &s, "10", "a.example").expect(201);
    assert!(
        ten.text.contains(r#""expectedAmountEuros":10.00,"#),
        "{}",
        ten.text
    );
    let half = intent(&server, &s, "10.5", "a.example").expect(201);
    assert!(
        half.text.contains(r#""expectedAmountEuros":10.50,"#),
        "{}",
        half.text
    );

    let usage = server
        .get(&format!("/agents/{}/usage", s.agent), &s.key)
        .expect(200);
    for expected in [
        r#""currency":"EUR""#,
        r#""daily":{"limitEuros":1000.00,"currentEuros":20.50,"remainingEuros":979.50}"#,
        r#""calendarDay":{"count":2,"spendEuros":20.50,"flaggedCount":0,"flaggedSpendEuros":0.00}"#,
    ] {
        assert!(
            usage.text.contains(expected),
            "{expected} in {}",
            usage.text
        );
    }
    let dry = server
        .post(
            &format!("/agents/{}/evaluate", s.agent),
            &s.key,
            json!({"cardName": "main", "purpose": "try", "expectedAmountEuros": 1}),
        )
        .expect(200);
    assert!(
        dry.text
            .contains(r#""calendarDay":{"count":2,"spendEuros":20.50,"#),
        "{}",
        dry.text
    );
    assert!(dry.text.contains(r#""currency":"EUR""#), "{}", dry.text);

    let baseline = server
        .post(
            &format!("/agents/{}/set-baselines", s.agent),
            &s.key,
            json!({"amountMeanEuros": 40, "amountStdDevEuros": 10.5, "intentsPerDay": 20}),
        )
        .expect(200);
    let shown = server
        .get(&format!("/agents/{}", s.agent), &s.key)
        .expect(200);
    for answer in [&baseline, &shown] {
        assert!(
            answer.text.contains(
                r#""baseline":{"currency":"EUR","amountMeanEuros":40.00,"amountStdDevEuros":10.50,"#
            ),
            "{}",
            answer.text
        );
    }

    // A currency without decimals is written without them.
    let yen = server
        .post(
            "/intents",
            &s.key,
            json!({"agentId": s.agent, "cardName": "main", "purpose": "buy",
                   "expectedAmountEuros": 5000, "currency": "JPY"}),
        )
        .expect(201);
    assert!(
        yen.text
            .contains(r#""expectedAmountEuros":5000,"currency":"JPY""#),
        "{}",
        yen.text
    );
}
