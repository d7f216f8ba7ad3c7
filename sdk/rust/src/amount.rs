//! Exact amounts in major units, as written in a rule's JSON configuration.

use alloc::format;
use core::fmt;

use serde::de::{self, Deserialize, Deserializer};

/// How many decimals an [`Amount`] keeps.
const DECIMALS: u32 = 9;
const SCALE: u128 = 10u128.pow(DECIMALS);

/// A non-negative amount in major units (euros, dollars) from a rule's
/// configuration, such as `"maxAmountEuros": 100.5`, kept exact.
///
/// An `Amount` is read from the number's JSON text itself, never through a
/// binary float, so every digit the configuration's author wrote counts,
/// however large the amount. Up to 9 decimals are kept; more is an error.
///
/// ```
/// use warrant_sdk::Amount;
///
/// let limit: Amount = serde_json::from_str("100.5").unwrap();
/// assert_eq!(limit.to_minor_units(2), Some(10_050));
/// assert_eq!(Amount::parse("0.005").unwrap().to_minor_units(2), None);
/// assert!(serde_json::from_str::<Amount>("-1").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount {
    /// The amount times 10^9.
    scaled: u128,
}

/// Why a text is not an [`Amount`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AmountError {
    /// Not a plain decimal such as `12` or `4.51`.
    NotADecimal,
    /// Below zero.
    Negative,
    /// More than nine decimals.
    TooPrecise,
    /// Too many digits to hold.
    TooLarge,
}

impl fmt::Display for AmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AmountError::NotADecimal => "not a decimal number",
            AmountError::Negative => "must not be negative",
            AmountError::TooPrecise => "has more than 9 decimals",
            AmountError::TooLarge => "is too large",
        })
    }
}

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount { scaled: 0 };

    /// Parses plain decimal text: digits, optionally a point and more
    /// digits (`4.51`, `100`).
    pub fn parse(text: &str) -> Result<Self, AmountError> {
        if text.starts_with('-') {
            return Err(AmountError::Negative);
        }
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(AmountError::NotADecimal);
        }
        if text.contains('.') && fraction.is_empty() {
            return Err(AmountError::NotADecimal);
        }
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > DECIMALS as usize {
            return Err(AmountError::TooPrecise);
        }
        let whole: u128 = whole.parse().map_err(|_| AmountError::TooLarge)?;
        let mut fraction_scaled: u128 = 0;
        for (i, digit) in fraction.bytes().enumerate() {
            fraction_scaled += u128::from(digit - b'0') * 10u128.pow(DECIMALS - 1 - i as u32);
        }
        whole
            .checked_mul(SCALE)
            .and_then(|w| w.checked_add(fraction_scaled))
            .map(|scaled| Amount { scaled })
            .ok_or(AmountError::TooLarge)
    }

    /// An amount given in minor units of a currency with `decimals`
    /// decimals: `from_minor_units(451, 2)` is 4.51.
    pub fn from_minor_units(minor_units: u64, decimals: u32) -> Self {
        let decimals = decimals.min(DECIMALS);
        Amount {
            scaled: u128::from(minor_units) * 10u128.pow(DECIMALS - decimals),
        }
    }

    /// The amount in minor units of a currency with `decimals` decimals
    /// (2 for EUR), or `None` when it has digits below the minor unit or
    /// does not fit in a `u64`.
    pub fn to_minor_units(self, decimals: u32) -> Option<u64> {
        if decimals > DECIMALS {
            return None;
        }
        let unit = 10u128.pow(DECIMALS - decimals);
        if !self.scaled.is_multiple_of(unit) {
            return None;
        }
        u64::try_from(self.scaled / unit).ok()
    }
}

impl fmt::Display for Amount {
    /// The shortest exact decimal: `100`, `4.51`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.scaled / SCALE;
        let fraction = self.scaled % SCALE;
        if fraction == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{fraction:09}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl Amount {
    /// Parses the text of a JSON number exactly, exponent included
    /// (`4.51`, `1e2`, `2.5E-1`).
    fn from_json_number(text: &str) -> Result<Self, AmountError> {
        if text.starts_with('-') {
            return Err(AmountError::Negative);
        }
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(at) => {
                let exponent = &text[at + 1..];
                let (negative, magnitude) = match exponent.strip_prefix('-') {
                    Some(magnitude) => (true, magnitude),
                    None => (false, exponent.strip_prefix('+').unwrap_or(exponent)),
                };
                if magnitude.is_empty() || !magnitude.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(AmountError::NotADecimal);
                }
                // Beyond an i64 only the sign matters: the amount is zero,
                // too large or too precise, as it would be at i64::MAX.
                let magnitude: i64 = magnitude.parse().unwrap_or(i64::MAX);
                (&text[..at], if negative { -magnitude } else { magnitude })
            }
            None => (text, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || (mantissa.contains('.') && fraction.is_empty())
        {
            return Err(AmountError::NotADecimal);
        }
        // The value is digits × 10^power / 10^DECIMALS.
        let mut digits = format!("{whole}{fraction}");
        let mut power = exponent
            .saturating_sub(fraction.len() as i64)
            .saturating_add(i64::from(DECIMALS));
        while power < 0 && digits.ends_with('0') {
            digits.pop();
            power += 1;
        }
        let digits = digits.trim_start_matches('0');
        if digits.is_empty() {
            return Ok(Amount::ZERO);
        }
        if power < 0 {
            return Err(AmountError::TooPrecise);
        }
        // u128 holds 38 decimal digits.
        if (digits.len() as i64).saturating_add(power) > 38 {
            return Err(AmountError::TooLarge);
        }
        let digits: u128 = digits.parse().map_err(|_| AmountError::TooLarge)?;
        digits
            .checked_mul(10u128.pow(power as u32))
            .map(|scaled| Amount { scaled })
            .ok_or(AmountError::TooLarge)
    }
}

impl<'de> Deserialize<'de> for Amount {
    /// Reads the number's JSON text itself, so that no amount passes
    /// through a binary float: `92233720368547758.07` stays exact.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = alloc::boxed::Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        Amount::from_json_number(raw.get().trim()).map_err(|e| match e {
            AmountError::NotADecimal => de::Error::invalid_value(
                de::Unexpected::Other(raw.get()),
                &"a non-negative decimal number",
            ),
            other => de::Error::custom(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;

    #[test]
    fn reads_json_numbers_exactly() {
        let read = |json: &str| serde_json::from_str::<Amount>(json).map(|a| a.to_minor_units(2));
        assert_eq!(read("100").unwrap(), Some(10_000));
        assert_eq!(read("100.5").unwrap(), Some(10_050));
        assert_eq!(read("4.51").unwrap(), Some(451));
        assert_eq!(read("0.1").unwrap(), Some(10));
        assert_eq!(read("1e2").unwrap(), Some(10_000));
        assert_eq!(read("0.005").unwrap(), None);
        assert!(read("-0.5").is_err());
        assert!(read("-3").is_err());
        assert!(read("\"4.51\"").is_err());
        assert!(read("null").is_err());
        assert_eq!(read("2.5E-1").unwrap(), Some(25));
        assert_eq!(read("0.10e1").unwrap(), Some(100));
        assert_eq!(read("1e-9").unwrap(), None);
        assert!(read("1e-10").is_err());
        assert!(read("1e40").is_err());
        assert_eq!(read("0e999999").unwrap(), Some(0));
    }

    #[test]
    fn reads_exponents_beyond_an_i64_by_their_sign() {
        let read = |text: &str| Amount::from_json_number(text);
        assert_eq!(read("0e99999999999999999999"), Ok(Amount::ZERO));
        assert_eq!(read("0e-99999999999999999999"), Ok(Amount::ZERO));
        assert_eq!(read("1e99999999999999999999"), Err(AmountError::TooLarge));
        assert_eq!(
            read("1e-99999999999999999999"),
            Err(AmountError::TooPrecise)
        );
        assert_eq!(read("1e+2").map(|a| a.to_minor_units(2)), Ok(Some(10_000)));
        assert_eq!(read("1e"), Err(AmountError::NotADecimal));
    }

    #[test]
    fn reads_amounts_beyond_a_floats_precision() {
        let read = |json: &str| serde_json::from_str::<Amount>(json).map(|a| a.to_minor_units(2));
        assert_eq!(read("92233720368547758.07").unwrap(), Some(i64::MAX as u64));
        assert_eq!(read("184467440737095516.15").unwrap(), Some(u64::MAX));
        assert_eq!(read("90071992547409.93").unwrap(), Some((1 << 53) + 1));
    }

    #[test]
    fn keeps_u64_sized_amounts() {
        let max = Amount::parse("184467440737095516.15").unwrap();
        assert_eq!(max.to_minor_units(2), Some(u64::MAX));
        let over = Amount::parse("184467440737095516.16").unwrap();
        assert_eq!(over.to_minor_units(2), None);
    }

    #[test]
    fn parses_and_prints_plain_decimals() {
        assert_eq!(Amount::parse("4.510").unwrap().to_string(), "4.51");
        assert_eq!(Amount::parse("7").unwrap().to_string(), "7");
        assert_eq!(Amount::from_minor_units(5, 2).to_string(), "0.05");
        for bad in ["", ".5", "5.", "1e3", "+1", "abc", "1.2.3"] {
            assert!(Amount::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Amount::parse("0.0000000001"), Err(AmountError::TooPrecise));
        assert!(Amount::parse("1.5").unwrap() > Amount::parse("1.49").unwrap());
    }
}
