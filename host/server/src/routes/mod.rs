//! The routes, one file per resource: each parses its request, calls one
//! service of [`warrant_app`] and renders the answer with its views.

pub(crate) mod agents;
pub(crate) mod cards;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod intents;
pub(crate) mod keys;
pub(crate) mod oversight;
pub(crate) mod payments;
pub(crate) mod plugins;
pub(crate) mod policies;
pub(crate) mod receipts;
pub(crate) mod tenants;
pub(crate) mod webhooks;
