//! Money as integers: an amount in a currency's minor units, parsed exactly
//! from decimal text and never held in a float.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ISO 4217 currency that has a defined number of minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// The euro, Warrant's default currency.
    pub const EUR: Currency = Currency(iso_currency::Currency::EUR);

    /// Looks up a currency by its alphabetic code, in any letter case.
    ///
    /// ```
    /// use warrant_domain::money::Currency;
    /// assert_eq!(Currency::from_code("jpy").unwrap().exponent(), 0);
    /// assert!(Currency::from_code("EURO").is_err());
    /// ```
    pub fn from_code(code: &str) -> Result<Self, MoneyError> {
        let currency = iso_currency::Currency::from_code(&code.to_ascii_uppercase())
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))?;
        // Precious metals and testing codes have no minor unit: no amount in
        // them can be written as an integer count of minor units.
        currency
            .exponent()
            .ok_or_else(|| MoneyError::NoMinorUnit(currency.code().to_owned()))?;
        Ok(Currency(currency))
    }

    /// The upper-case alphabetic code, e.g. `EUR`.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// How many decimal places a major unit has: 2 for EUR, 0 for JPY.
    pub fn exponent(&self) -> u32 {
        u32::from(self.0.exponent().unwrap_or(0))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Currency::from_code(code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

/// A non-negative amount of money in a currency's minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// The amount in minor units: 451 is 4.51 EUR.
    pub minor_units: u64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// Builds an amount from minor units.
    pub fn new(minor_units: u64, currency: Currency) -> Self {
        Money {
            minor_units,
            currency,
        }
    }

    /// An amount in euro cents.
    pub fn eur(cents: u64) -> Self {
        Money::new(cents, Currency::EUR)
    }

    /// Parses a decimal amount in major units exactly, as written in JSON
    /// (`4.51`, `100`, `1e2`). Trailing zeros are allowed (`4.510`), but a
    /// digit below the currency's minor unit is an error, never rounded.
    ///
    /// ```
    /// use warrant_domain::money::{Currency, Money};
    /// assert_eq!(Money::parse("4.51", Currency::EUR).unwrap().minor_units, 451);
    /// assert!(Money::parse("4.515", Currency::EUR).is_err());
    /// assert!(Money::parse("-1", Currency::EUR).is_err());
    /// ```
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let minor_units = parse_scaled(text, currency.exponent()).map_err(|e| match e {
            ScaledError::TooPrecise => MoneyError::TooManyDecimals {
                currency: currency.code(),
                exponent: currency.exponent(),
            },
            ScaledError::NotANumber => MoneyError::NotANumber(text.to_owned()),
            ScaledError::Negative => MoneyError::Negative,
            ScaledError::TooLarge => MoneyError::TooLarge,
        })?;
        Ok(Money::new(minor_units, currency))
    }

    /// The amount in major units as decimal text, with exactly as many
    /// decimals as the currency has: `4.51`, `100.00`, `5000` (JPY).
    pub fn major_units_text(&self) -> String {
        format_scaled(self.minor_units, self.currency.exponent())
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.major_units_text(), self.currency)
    }
}

/// Why a text is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The text is not a decimal number.
    #[error("`{0}` is not a decimal number")]
    NotANumber(String),
    /// The amount is below zero.
    #[error("must not be negative")]
    Negative,
    /// The amount has digits below the currency's minor unit.
    #[error("has more decimals than {currency} allows ({exponent})")]
    TooManyDecimals {
        /// The currency's code.
        currency: &'static str,
        /// Its number of decimals.
        exponent: u32,
    },
    /// The amount does not fit in 64 bits of minor units.
    #[error("is too large")]
    TooLarge,
    /// The code is not an ISO 4217 currency.
    #[error("`{0}` is not an ISO 4217 currency code")]
    UnknownCurrency(String),
    /// The currency has no minor unit (gold, testing codes).
    #[error("`{0}` has no minor unit and cannot hold an amount")]
    NoMinorUnit(String),
}

/// Parses a percentage with up to two decimals (`10`, `2.5`) between 0 and
/// 100 into basis points (1000 = 10 %).
///
/// ```
/// use warrant_domain::money::parse_percent_bps;
/// assert_eq!(parse_percent_bps("2.5"), Ok(250));
/// assert!(parse_percent_bps("100.01").is_err());
/// ```
pub fn parse_percent_bps(text: &str) -> Result<u32, PercentError> {
    let bps = parse_scaled(text, 2).map_err(|e| match e {
        ScaledError::TooPrecise => PercentError::TooPrecise,
        ScaledError::Negative => PercentError::Negative,
        _ => PercentError::NotAPercentage,
    })?;
    if bps > 10_000 {
        return Err(PercentError::OverHundred);
    }
    Ok(bps as u32)
}

/// Why a text is not a percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PercentError {
    /// More than two decimals.
    #[error("must have at most two decimals")]
    TooPrecise,
    /// Below zero.
    #[error("must not be negative")]
    Negative,
    /// Not a number.
    #[error("must be a number between 0 and 100")]
    NotAPercentage,
    /// Over 100.
    #[error("must be at most 100")]
    OverHundred,
}

/// Basis points as a percentage with two decimals: 250 is `2.50`.
pub fn format_percent_bps(bps: u32) -> String {
    format_scaled(bps.into(), 2)
}

/// Why a decimal text cannot be scaled to an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScaledError {
    NotANumber,
    Negative,
    TooPrecise,
    TooLarge,
}

/// Parses non-negative decimal `text` (JSON number syntax) and multiplies it
/// by `10^scale` exactly; digits that would remain after the point are an
/// error.
pub(crate) fn parse_scaled(text: &str, scale: u32) -> Result<u64, ScaledError> {
    let text = text.trim();
    if !is_json_number(text) {
        return Err(ScaledError::NotANumber);
    }
    // Exactly, digit by digit, with or without an exponent: the value is
    // the digits times a power of ten, which is never rounded.
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{integer}{fraction}");
    let digits = digits.trim_start_matches('0');
    let significant = digits.trim_end_matches('0');
    if significant.is_empty() {
        return Ok(0);
    }
    if negative {
        return Err(ScaledError::Negative);
    }
    // An exponent past any i64 is as good as infinite either way.
    let exponent = match exponent {
        None => 0,
        Some(text) => text.parse::<i64>().unwrap_or(if text.starts_with('-') {
            i64::MIN / 2
        } else {
            i64::MAX / 2
        }),
    };
    // value × 10^scale = significant × 10^power
    let power = exponent
        .saturating_sub(fraction.len() as i64)
        .saturating_add((digits.len() - significant.len()) as i64)
        .saturating_add(i64::from(scale));
    if power < 0 {
        return Err(ScaledError::TooPrecise);
    }
    // u64 holds at most 20 digits.
    if (significant.len() as i64).saturating_add(power) > 20 {
        return Err(ScaledError::TooLarge);
    }
    let base: u64 = significant.parse().map_err(|_| ScaledError::TooLarge)?;
    10u64
        .checked_pow(power as u32)
        .and_then(|factor| base.checked_mul(factor))
        .ok_or(ScaledError::TooLarge)
}

/// Formats `value / 10^scale` with exactly `scale` decimals.
pub(crate) fn format_scaled(value: u64, scale: u32) -> String {
    if scale == 0 {
        return value.to_string();
    }
    let factor = 10u64.pow(scale);
    format!(
        "{}.{:0width$}",
        value / factor,
        value % factor,
        width = scale as usize
    )
}

/// Whether `text` has the grammar of a JSON number. The decimal parser is
/// more lenient (`+1`, `.5`, `1_000`); an API that takes JSON must not be.
fn is_json_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < bytes.len() && bytes[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if bytes.first() == Some(&b'-') {
        i += 1;
    }
    let int_start = i;
    let int_digits = digits(&mut i);
    if int_digits == 0 || (int_digits > 1 && bytes[int_start] == b'0') {
        return false;
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(text: &str) -> Result<u64, MoneyError> {
        Money::parse(text, Currency::EUR).map(|m| m.minor_units)
    }

    #[test]
    fn parses_decimal_euros_exactly() {
        assert_eq!(eur("4.51"), Ok(451));
        assert_eq!(eur("0.1"), Ok(10));
        assert_eq!(eur("100"), Ok(10_000));
        assert_eq!(eur("0"), Ok(0));
        assert_eq!(eur("4.510"), Ok(451));
        assert_eq!(eur("1e2"), Ok(10_000));
        assert_eq!(eur("4.51E0"), Ok(451));
        // 0.1 + 0.2 is the classic float trap; here it is simply 30 cents.
        assert_eq!(eur("0.30"), Ok(30));
    }

    #[test]
    fn refuses_digits_below_the_minor_unit() {
        assert!(matches!(
            eur("4.515"),
            Err(MoneyError::TooManyDecimals {
                currency: "EUR",
                exponent: 2
            })
        ));
        let jpy = Currency::from_code("JPY").unwrap();
        assert_eq!(Money::parse("5000", jpy).unwrap().minor_units, 5000);
        assert!(Money::parse("5000.5", jpy).is_err());
        let bhd = Currency::from_code("BHD").unwrap();
        assert_eq!(Money::parse("1.234", bhd).unwrap().minor_units, 1234);
    }

    #[test]
    fn refuses_what_is_not_a_json_number() {
        for text in [
            "", "abc", "+1", ".5", "1.", "01", "1_000", "NaN", "1e", "0x10",
        ] {
            assert_eq!(
                eur(text),
                Err(MoneyError::NotANumber(text.into())),
                "{text}"
            );
        }
    }

    /// An exponent changes nothing about exactness: the digits are never
    /// rounded, however many there are.
    #[test]
    fn exponents_are_exact_too() {
        assert!(matches!(
            eur("4.5099999999999999999999999999999e0"),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert!(matches!(
            eur("4.5099999999999999999999999999999"),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert_eq!(eur("4.5100000000000000000000000000000e0"), Ok(451));
        assert_eq!(eur("451e-2"), Ok(451));
        assert_eq!(eur("0.0451E+2"), Ok(451));
        assert_eq!(eur("1e99999999999999999999"), Err(MoneyError::TooLarge));
        assert_eq!(eur("0e99999999999999999999"), Ok(0));
        assert!(matches!(
            eur("1e-99999999999999999999"),
            Err(MoneyError::TooManyDecimals { .. })
        ));
    }

    #[test]
    fn refuses_negative_and_huge_amounts() {
        assert_eq!(eur("-0.01"), Err(MoneyError::Negative));
        assert_eq!(eur("-0"), Ok(0));
        assert_eq!(eur("184467440737095516.15"), Ok(u64::MAX));
        assert_eq!(eur("184467440737095516.16"), Err(MoneyError::TooLarge));
        assert_eq!(eur("1e40"), Err(MoneyError::TooLarge));
        assert!(matches!(
            eur("0.000000000000000000000000000001"),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert!(matches!(
            eur("1e-40"),
            Err(MoneyError::TooManyDecimals { .. })
        ));
    }

    #[test]
    fn formats_with_the_currency_decimals() {
        assert_eq!(Money::new(451, Currency::EUR).to_string(), "4.51 EUR");
        assert_eq!(Money::new(5, Currency::EUR).major_units_text(), "0.05");
        let jpy = Currency::from_code("JPY").unwrap();
        assert_eq!(Money::new(5000, jpy).to_string(), "5000 JPY");
    }

    #[test]
    fn knows_currencies_by_code() {
        assert_eq!(Currency::from_code("eur").unwrap(), Currency::EUR);
        assert!(matches!(
            Currency::from_code("XAU"),
            Err(MoneyError::NoMinorUnit(_))
        ));
        assert!(matches!(
            Currency::from_code("ABC"),
            Err(MoneyError::UnknownCurrency(_))
        ));
    }
}
