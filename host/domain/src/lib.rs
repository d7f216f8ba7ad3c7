//! Warrant's domain: what a plugin sees when it decides, what it answers,
//! and how the rules of a policy combine into one outcome.
//!
//! Nothing here knows about WebAssembly, storage or HTTP. Plugins are
//! reached through the [`plugin::Plugin`] trait, which the runtime
//! implements.
#![deny(missing_docs)]

pub mod agent;
pub mod authorization;
pub mod baseline;
pub mod card;
pub mod context;
pub mod decision;
mod errors;
pub mod intent;
pub mod lifecycle;
pub mod money;
pub mod plan;
pub mod plugin;
pub mod policy;
pub mod receipt;
pub mod settlement;
pub mod signature;
pub mod webhook;

pub use errors::ValidationError;
