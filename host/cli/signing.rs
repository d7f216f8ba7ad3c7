//! `warrant plugin keygen` and `warrant plugin sign`: a publisher's
//! Ed25519 key pair, and the signature an upload carries
//! (`Warrant-Plugin-Signature`), over the sha256 of a component.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use sha2::{Digest as _, Sha256};

use warrant_domain::receipt::SigningKey;
use warrant_domain::signature::{DigestSignature, SecretJwk};

use crate::Failure;

#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Where to write the secret key (a JWK, readable by its owner alone);
    /// an existing file is never replaced.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
pub struct SignArgs {
    /// The component to sign.
    plugin: PathBuf,
    /// The secret key `warrant plugin keygen` wrote.
    #[arg(long)]
    key: PathBuf,
}

pub fn keygen(args: KeygenArgs) -> Result<(), Failure> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow!("no randomness: {e}"))?;
    let jwk = SecretJwk::of(&SigningKey::from_bytes(&secret));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&args.out)
        .map_err(|e| Failure::Usage(format!("cannot create `{}`: {e}", args.out.display())))?;
    let text = serde_json::to_string_pretty(&jwk).map_err(anyhow::Error::from)?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("cannot write `{}`", args.out.display()))?;
    println!(
        "{}",
        serde_json::json!({"kid": jwk.kid, "publicKey": jwk.x})
    );
    Ok(())
}

pub fn sign(args: SignArgs) -> Result<(), Failure> {
    let text = std::fs::read_to_string(&args.key)
        .map_err(|e| Failure::Usage(format!("cannot read `{}`: {e}", args.key.display())))?;
    let jwk: SecretJwk = serde_json::from_str(&text).map_err(|e| {
        Failure::Usage(format!(
            "`{}` is not a key of `warrant plugin keygen`: {e}",
            args.key.display()
        ))
    })?;
    let key = jwk.signing_key().map_err(Failure::Usage)?;
    let bytes = std::fs::read(&args.plugin)
        .map_err(|e| Failure::Usage(format!("cannot read `{}`: {e}", args.plugin.display())))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let signature = DigestSignature::sign(&sha256, &key).map_err(|e| anyhow!(e))?;
    println!("{}", signature.header());
    Ok(())
}
