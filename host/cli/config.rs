//! `warrant serve --config FILE` (env `WARRANT_CONFIG`): settings from a
//! TOML file, one key per flag (`listen = "0.0.0.0:8080"`,
//! `request-timeout-ms = 60000`, `log-format = "json"`). The command line
//! wins over the environment, which wins over the file, which wins over
//! the defaults.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command};

/// The command line, with what `--config` names added as flags for every
/// setting neither the command line nor the environment gave.
pub fn with_config_file(command: &Command, args: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let matches = command.clone().get_matches_from(args.clone());
    let path = match matches.subcommand() {
        Some(("serve", serve)) => serve.get_one::<PathBuf>("config"),
        _ => None,
    };
    let Some(path) = path else {
        return Ok(args);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the config file `{}`: {e}", path.display()))?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| format!("the config file `{}` is not TOML: {e}", path.display()))?;
    let (sub_name, sub_matches) = matches
        .subcommand()
        .ok_or_else(|| "the config file needs a command".to_owned())?;
    let sub = command
        .find_subcommand(sub_name)
        .expect("the command just parsed");
    let mut args = args;
    for (key, value) in &table {
        // A setting of the command, or one of every command (the logs).
        let (owner, owner_matches) = if has_flag(sub, key) {
            (sub, sub_matches)
        } else if has_flag(command, key) {
            (command, &matches)
        } else {
            return Err(format!(
                "`{key}` in the config file `{}` is not a setting of `warrant {sub_name}`; \
                 it has: {}",
                path.display(),
                settings(sub).join(", ")
            ));
        };
        if given(owner, owner_matches, key) {
            continue;
        }
        if is_switch(owner, key) {
            // A switch (`allow-insecure-webhooks = true`) is on or off.
            match value {
                toml::Value::Boolean(true) => args.push(format!("--{key}").into()),
                toml::Value::Boolean(false) => {}
                other => {
                    return Err(format!(
                        "`{key}` in the config file `{}` must be true or false, not {}",
                        path.display(),
                        other.type_str()
                    ));
                }
            }
            continue;
        }
        let value = match value {
            toml::Value::String(text) => text.clone(),
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(x) => x.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(format!(
                    "`{key}` in the config file `{}` must be a string, number or boolean, not {}",
                    path.display(),
                    other.type_str()
                ));
            }
        };
        args.push(format!("--{key}").into());
        args.push(value.into());
    }
    Ok(args)
}

/// The settings a config file may give to `command`: its flags that take
/// a value and its switches, but `--config` itself.
fn settings(command: &Command) -> Vec<String> {
    command
        .get_arguments()
        .filter(|arg| {
            (arg.get_action().takes_values() || matches!(arg.get_action(), ArgAction::SetTrue))
                && arg.get_id() != "config"
        })
        .filter_map(|arg| arg.get_long().map(str::to_owned))
        .collect()
}

/// Whether `key` is a switch of `command`: on when given, taking no value.
fn is_switch(command: &Command, key: &str) -> bool {
    command
        .get_arguments()
        .any(|arg| arg.get_long() == Some(key) && matches!(arg.get_action(), ArgAction::SetTrue))
}

fn has_flag(command: &Command, key: &str) -> bool {
    settings(command).iter().any(|long| long == key)
}

/// Whether the command line or the environment gave `key`.
fn given(command: &Command, matches: &ArgMatches, key: &str) -> bool {
    let Some(arg) = command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(key))
    else {
        return false;
    };
    matches!(
        matches.value_source(arg.get_id().as_str()),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}
