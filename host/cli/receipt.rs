//! `warrant receipt verify`: checks decision receipts offline against
//! published public keys (`warrant_domain::receipt`).

use anyhow::{Context as _, anyhow, bail};
use serde_json::Value;
use warrant_domain::receipt::{self, Jwks};

use crate::Failure;

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The receipt: a file, or `-` for standard input. It holds a compact
    /// JWS, a JSON object with a `jws` member, or several: a JSON list of
    /// those or one JWS per line, checked as one run of the tenant's
    /// chain, in order; or an intent's receipts as `GET
    /// /intents/:id/receipts` answers them (`{"data": [...]}`), each
    /// checked, in order, though not consecutive links of the chain.
    receipt: String,
    /// The public keys, a JWK Set: a file, or an `http://`/`https://`
    /// address such as a server's `/.well-known/jwks.json`.
    #[arg(long)]
    jwks: String,
}

pub fn verify(args: VerifyArgs) -> Result<(), Failure> {
    let text = if args.receipt == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
    } else {
        std::fs::read_to_string(&args.receipt)
            .map_err(|e| Failure::Usage(format!("cannot read `{}`: {e}", args.receipt)))?
    };
    let of_intent = intent_listing(&text);
    let receipts = match &of_intent {
        Some(listed) => listed.clone(),
        None => receipts_in(&text).map_err(|e| Failure::Usage(format!("{e:#}")))?,
    };
    let keys = jwks(&args.jwks).map_err(|e| Failure::Usage(format!("`--jwks`: {e:#}")))?;
    if of_intent.is_some() {
        return verify_each(&receipts, &keys);
    }
    let links: Vec<&str> = receipts.iter().map(String::as_str).collect();
    match receipt::verify_chain(&links, &keys, None) {
        Ok(count) => {
            let first = receipt::unverified(links[0]).map_err(anyhow::Error::from)?;
            let last = receipt::unverified(links[count - 1]).map_err(anyhow::Error::from)?;
            if count == 1 {
                println!(
                    "verified: receipt {} of tenant {}: {} {} → {}",
                    first.sequence, first.tenant_id, first.intent_id, first.event, first.to
                );
            } else {
                println!(
                    "verified: {count} receipts of tenant {}, {} to {}, each following the one \
                     before it",
                    first.tenant_id, first.sequence, last.sequence
                );
            }
            Ok(())
        }
        Err(broken) => {
            let which = match broken.sequence {
                Some(sequence) => format!("receipt {sequence}"),
                None => "the receipt".to_owned(),
            };
            let position = if links.len() > 1 {
                format!(" (number {} of the file)", broken.index + 1)
            } else {
                String::new()
            };
            Err(Failure::Other(anyhow!(
                "not verified: {which}{position}: {}",
                broken.reason
            )))
        }
    }
}

/// An intent's receipts, checked one by one: each verifies, and all are
/// of one intent, in the order of the chain.
fn verify_each(receipts: &[String], keys: &Jwks) -> Result<(), Failure> {
    let mut before: Option<receipt::Receipt> = None;
    for (index, jws) in receipts.iter().enumerate() {
        let claimed = receipt::verify(jws, keys).map_err(|e| {
            Failure::Other(anyhow!("not verified: receipt number {}: {e}", index + 1))
        })?;
        if let Some(before) = &before
            && (claimed.intent_id != before.intent_id
                || claimed.tenant_id != before.tenant_id
                || claimed.sequence <= before.sequence)
        {
            return Err(Failure::Other(anyhow!(
                "not verified: receipt number {} is not of intent {} after sequence {}",
                index + 1,
                before.intent_id,
                before.sequence
            )));
        }
        before = Some(claimed);
    }
    let Some(last) = before else {
        return Err(Failure::Usage("the list of receipts is empty".into()));
    };
    println!(
        "verified: {} receipts of intent {} (tenant {}), the last {} → {}",
        receipts.len(),
        last.intent_id,
        last.tenant_id,
        last.event,
        last.to
    );
    Ok(())
}

/// The receipts of an intent as `GET /intents/:id/receipts` lists them.
fn intent_listing(text: &str) -> Option<Vec<String>> {
    let value: Value = serde_json::from_str(text.trim()).ok()?;
    value
        .get("data")?
        .as_array()?
        .iter()
        .map(|item| item.get("jws")?.as_str().map(str::to_owned))
        .collect()
}

/// The compact JWSs a file holds, in order.
fn receipts_in(text: &str) -> anyhow::Result<Vec<String>> {
    let text = text.trim();
    if text.is_empty() {
        bail!("the receipt is empty");
    }
    if !text.starts_with(['{', '[', '"']) {
        return Ok(text.split_whitespace().map(str::to_owned).collect());
    }
    let value: Value = serde_json::from_str(text).context("the receipt is not JSON")?;
    let one = |value: &Value| -> anyhow::Result<String> {
        match value {
            Value::String(jws) => Ok(jws.clone()),
            Value::Object(object) => object
                .get("jws")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .context("a receipt object has no `jws` string"),
            _ => bail!("a receipt is a compact JWS or an object with a `jws` member"),
        }
    };
    match &value {
        Value::Array(items) if items.is_empty() => bail!("the list of receipts is empty"),
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

/// The key set at `source`: a file or an HTTP(S) address.
fn jwks(source: &str) -> anyhow::Result<Jwks> {
    let text = if source.starts_with("http://") || source.starts_with("https://") {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let response = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()?
                .get(source)
                .send()
                .await
                .with_context(|| format!("cannot fetch `{source}`"))?;
            let status = response.status();
            if !status.is_success() {
                bail!("`{source}` answered {status}");
            }
            Ok(response.text().await?)
        })?
    } else {
        std::fs::read_to_string(source).with_context(|| format!("cannot read `{source}`"))?
    };
    serde_json::from_str(&text).context("not a JWK Set (`{\"keys\": [...]}`)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_are_read_in_every_form() {
        assert_eq!(receipts_in(" a.b.c\n").unwrap(), ["a.b.c"]);
        assert_eq!(receipts_in("a.b.c\nd.e.f\n").unwrap(), ["a.b.c", "d.e.f"]);
        assert_eq!(
            intent_listing(r#"{"data": [{"jws": "a.b.c"}, {"jws": "d.e.f"}]}"#).unwrap(),
            ["a.b.c", "d.e.f"]
        );
        assert_eq!(intent_listing(r#"[{"jws": "a.b.c"}]"#), None);
        assert_eq!(receipts_in(r#""a.b.c""#).unwrap(), ["a.b.c"]);
        assert_eq!(
            receipts_in(r#"{"sequence": 1, "jws": "a.b.c"}"#).unwrap(),
            ["a.b.c"]
        );
        assert_eq!(
            receipts_in(r#"[{"jws": "a.b.c"}, "d.e.f"]"#).unwrap(),
            ["a.b.c", "d.e.f"]
        );
        for bad in ["", "[]", "{}", "[1]", "{\"jws\": 1}", "{"] {
            assert!(receipts_in(bad).is_err(), "{bad}");
        }
    }
}
