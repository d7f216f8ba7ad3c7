//! What every route shares: extractors, answers, idempotent writes.

mod extract;
mod idempotency;
pub mod operate;
mod reply;

pub use extract::{ApiPath, ApiQuery, BodyLimit, PageQuery, Submission, bearer, parse_json};
pub use idempotency::{Ticket, once};
pub use reply::{Listing, ListingPage, Reply, amount, decimal_json, number, rfc3339, rfc3339_of};
