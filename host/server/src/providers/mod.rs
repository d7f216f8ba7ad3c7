//! Card issuers' own protocols, beside the REST API: each turns what its
//! issuer sends into the same payment services the REST routes call.

pub(crate) mod stripe;
