//! An agent as a tenant describes it, in the JSON shape of `POST /agents`
//! and `PATCH /agents/:id`, and the checks it must pass.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::ValidationError;
use crate::context::{AgentProfile, AgentStatus, AgentType};
use crate::intent::{MAX_PURPOSE_CHARS, checked_text};

/// The longest agent name, in characters.
pub const MAX_AGENT_NAME_CHARS: usize = 200;
/// The most tags (or capabilities) of an agent.
pub const MAX_TAGS: usize = 50;
/// The longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 100;
/// The largest metadata, in bytes of JSON.
pub const MAX_METADATA_BYTES: usize = 16 << 10;

/// The body of `POST /agents`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentRequest {
    /// Its name.
    pub name: String,
    /// The policy that decides its intents.
    pub policy_id: String,
    /// What it is for.
    pub profile: AgentProfile,
    /// How it is supervised.
    #[serde(default)]
    pub agent_type: AgentType,
    /// Free labels.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Free JSON.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
}

/// The body of `PATCH /agents/:id`: what changes.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentUpdate {
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// Another policy.
    #[serde(default)]
    pub policy_id: Option<String>,
    /// A new profile.
    #[serde(default)]
    pub profile: Option<AgentProfile>,
    /// Another type.
    #[serde(default)]
    pub agent_type: Option<AgentType>,
    /// New tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// New metadata.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
    /// `active` or `frozen`.
    #[serde(default)]
    pub status: Option<AgentStatus>,
}

/// Checks and trims an agent's name.
pub fn check_name(name: &str) -> Result<String, ValidationError> {
    checked_text("name", name, MAX_AGENT_NAME_CHARS)
}

/// Checks and trims what a tenant says about an agent.
pub fn check_profile(profile: AgentProfile) -> Result<AgentProfile, ValidationError> {
    let optional =
        |field: &str, value: Option<String>| -> Result<Option<String>, ValidationError> {
            value
                .map(|v| checked_text(field, &v, MAX_PURPOSE_CHARS))
                .transpose()
        };
    Ok(AgentProfile {
        purpose: checked_text("profile.purpose", &profile.purpose, MAX_PURPOSE_CHARS)?,
        framework: optional("profile.framework", profile.framework)?,
        capabilities: check_list("profile.capabilities", profile.capabilities)?,
        description: optional("profile.description", profile.description)?,
        department: optional("profile.department", profile.department)?,
        owner_contact: optional("profile.ownerContact", profile.owner_contact)?,
    })
}

/// Checks a list of tags (or capabilities).
pub fn check_list(field: &str, items: Vec<String>) -> Result<Vec<String>, ValidationError> {
    if items.len() > MAX_TAGS {
        return Err(ValidationError::new(
            field,
            format!("must have at most {MAX_TAGS} entries"),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| checked_text(&format!("{field}[{i}]"), item, MAX_TAG_CHARS))
        .collect()
}

/// Checks an agent's metadata.
pub fn check_metadata(metadata: Map<String, Value>) -> Result<Map<String, Value>, ValidationError> {
    let size = serde_json::to_string(&metadata)
        .map(|text| text.len())
        .unwrap_or(usize::MAX);
    if size > MAX_METADATA_BYTES {
        return Err(ValidationError::new(
            "metadata",
            format!("must be at most {MAX_METADATA_BYTES} bytes of JSON"),
        ));
    }
    Ok(metadata)
}

impl AgentUpdate {
    /// Checks the status a `PATCH` asks for, given the agent's: only
    /// between active and frozen (archiving, suspending and activating
    /// have their own requests).
    pub fn check_status(&self, id: &str, current: AgentStatus) -> Result<(), StatusRefusal> {
        let Some(wanted) = self.status else {
            return Ok(());
        };
        let suspended = AgentStatus::Suspended;
        if wanted == AgentStatus::Archived {
            return Err(StatusRefusal::Invalid(ValidationError::new(
                "status",
                "archive an agent with `DELETE /agents/{id}`",
            )));
        }
        if crosses_suspension(current, wanted) {
            return Err(if current == suspended {
                StatusRefusal::Suspended(format!(
                    "agent `{id}` is suspended: only `POST /agents/{id}/activate` ends that"
                ))
            } else {
                StatusRefusal::Invalid(ValidationError::new(
                    "status",
                    "suspend an agent with `POST /agents/{id}/emergency-suspend`",
                ))
            });
        }
        Ok(())
    }
}

/// Whether moving an agent from `from` to `to` enters or ends a
/// suspension: only the kill switch and an activation do that.
pub fn crosses_suspension(from: AgentStatus, to: AgentStatus) -> bool {
    from != to && (from == AgentStatus::Suspended || to == AgentStatus::Suspended)
}

/// Why a `PATCH` may not move an agent's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusRefusal {
    /// A status a `PATCH` never sets.
    Invalid(ValidationError),
    /// The agent is suspended.
    Suspended(String),
}
