//! Answers: JSON bodies kept as text (so that the same bytes can be
//! remembered for an idempotency key), pages of listings, exact numbers
//! and times as the API writes them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use warrant_app::time_of;
use warrant_store::Page;

use crate::errors::{ApiError, Result};

/// A page of a listing as the API writes it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListingPage<'c, U> {
    /// The items, in the listing's order.
    data: Vec<U>,
    /// The cursor of the next page (`?cursor=`); null on the last page.
    next_cursor: &'c Option<String>,
}

/// One page of a listing: `{"data": […], "nextCursor": "…" | null}`.
pub struct Listing<T> {
    data: Vec<T>,
    next_cursor: Option<String>,
}

impl<T> Listing<T> {
    /// Cuts the extra row the store returned past the page, which says
    /// that there is a next page; `id` gives an item's cursor.
    pub fn new(mut items: Vec<T>, page: &Page, id: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(id)
        } else {
            None
        };
        Listing {
            data: items,
            next_cursor,
        }
    }

    /// The page's items.
    pub fn items(&self) -> &[T] {
        &self.data
    }

    /// The page's items, owned.
    pub fn into_items(self) -> Vec<T> {
        self.data
    }

    /// The cursor of the next page; none on the last page.
    pub fn next_cursor(&self) -> Option<&str> {
        self.next_cursor.as_deref()
    }

    /// Answers 200 with the page, each item turned into its view by `f`.
    pub fn reply<'a, U: Serialize>(&'a self, f: impl FnMut(&'a T) -> Result<U>) -> Result<Reply> {
        Reply::ok(&ListingPage {
            data: self.data.iter().map(f).collect::<Result<Vec<U>>>()?,
            next_cursor: &self.next_cursor,
        })
    }
}

/// A JSON answer whose body is already text, so that the same bytes can be
/// remembered for an idempotency key.
pub struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: String,
    pub(crate) replayed: bool,
}

impl Reply {
    /// `value` as JSON with `status`.
    pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Self> {
        let body = serde_json::to_string(value).map_err(ApiError::internal)?;
        Ok(Reply {
            status,
            body,
            replayed: false,
        })
    }

    /// 200 with `value` as JSON.
    pub fn ok<T: Serialize>(value: &T) -> Result<Self> {
        Self::json(StatusCode::OK, value)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body,
        )
            .into_response();
        if self.replayed {
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }
}

/// A decimal given as text (`"86.40"`, from a form or a tool's
/// arguments) as JSON: the exact number when it is plain digits with at
/// most one point, else the text as a JSON string, which the request's
/// type then refuses, naming its field.
pub fn decimal_json(text: &str) -> String {
    let trimmed = text.trim();
    let (whole, fraction) = trimmed.split_once('.').unwrap_or((trimmed, "0"));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if digits(whole) && digits(fraction) {
        trimmed.to_owned()
    } else {
        serde_json::Value::String(text.to_owned()).to_string()
    }
}

/// A number written exactly as JSON text, e.g. an amount's decimal text.
pub fn number(text: String) -> Result<Box<serde_json::value::RawValue>> {
    serde_json::value::RawValue::from_string(text).map_err(ApiError::internal)
}

/// An amount as the API writes it: a decimal in major units with the
/// currency's decimals (`10.00`, `10.50`, `5000` JPY), never through a float.
pub fn amount(money: warrant_domain::money::Money) -> Result<Box<serde_json::value::RawValue>> {
    number(money.major_units_text())
}

/// How every time is written: RFC 3339 in UTC with exactly three decimals
/// (`2026-12-05T13:27:53.480Z`), so that times sort as text as they do in
/// time.
const TIME_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

/// A time in Unix milliseconds as RFC 3339 text.
pub fn rfc3339(ms: i64) -> String {
    time_of(ms)
        .format(TIME_FORMAT)
        .unwrap_or_else(|_| ms.to_string())
}

/// A time as [`rfc3339`] writes it.
pub fn rfc3339_of(at: time::OffsetDateTime) -> String {
    rfc3339((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn times_have_three_decimals_and_sort_as_text() {
        assert_eq!(rfc3339(1_796_477_273_480), "2026-12-05T13:27:53.480Z");
        assert_eq!(rfc3339(1_796_477_273_000), "2026-12-05T13:27:53.000Z");
        // Trimmed decimals (`53.48Z`) would sort after `53.487Z`.
        assert!(rfc3339(1_796_477_273_480) > rfc3339(1_796_477_273_479));
        assert!(rfc3339(1_796_477_273_480) < rfc3339(1_796_477_273_487));
    }
}
