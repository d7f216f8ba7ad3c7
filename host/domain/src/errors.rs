//! Errors of the domain layer.

use std::fmt;

/// Input that does not make a valid request, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The JSON path of the field at fault (`recurring.cadence`), when the
    /// mistake has one.
    pub field: Option<String>,
    /// What is wrong, for the person who wrote the request.
    pub message: String,
}

impl ValidationError {
    /// A mistake in `field`.
    pub fn new(field: impl Into<String>, message: impl fmt::Display) -> Self {
        ValidationError {
            field: Some(field.into()),
            message: message.to_string(),
        }
    }

    /// Turns a JSON error with its path into a validation error. A missing
    /// field is reported at its own path, not its parent's.
    pub fn from_json_path(error: serde_path_to_error::Error<serde_json::Error>) -> Self {
        // A syntax error's path ends where the parser lost track of it
        // (`?`): the field is what comes before, or unknown.
        let full = error.path().to_string();
        let mut path = full.as_str();
        while let Some(known) = path.strip_suffix(".?").or_else(|| path.strip_suffix("?")) {
            path = known;
        }
        let path = if path.is_empty() { "." } else { path }.to_owned();
        let inner = error.into_inner();
        let message = inner.to_string();
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
        let field = match (path.as_str(), missing) {
            (".", Some(name)) => Some(name),
            (".", None) => None,
            (parent, Some(name)) => Some(format!("{parent}.{name}")),
            (path, None) => Some(path.to_owned()),
        };
        ValidationError { field, message }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            // serde's messages often name the field already.
            Some(field) if !self.message.contains(&format!("`{field}`")) => {
                write!(f, "`{field}` {}", self.message)
            }
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ValidationError {}
