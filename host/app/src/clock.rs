//! Time as the services read it: Unix milliseconds.

use time::OffsetDateTime;

/// The current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The RFC 3339 time `text`, given as `field`, in Unix milliseconds.
pub(crate) fn parse_time_ms(field: &str, text: &str) -> crate::Result<i64> {
    let at = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(
        |_| {
            crate::AppError::validation(
                field,
                "must be an RFC 3339 time, e.g. `2026-11-23T10:00:00Z`",
            )
        },
    )?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| crate::AppError::validation(field, "is out of range"))
}

/// A time in Unix milliseconds.
pub fn time_of(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
