//! Money: a decimal amount with an ISO 4217 currency. Never floating point.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The currency of an amount. Codes on the ISO 4217 list are what this project writes
/// and what it accepts where money is acted on; other codes (the DTD only asks for an
/// NMTOKEN, and template documents carry placeholders like `currency_code`) are kept as
/// written so a document can still be read and shown, and never equal an ISO currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Currency {
    Iso(iso_currency::Currency),
    Unrecognised(Box<str>),
}

impl Currency {
    pub const USD: Currency = Currency::Iso(iso_currency::Currency::USD);
    pub const EUR: Currency = Currency::Iso(iso_currency::Currency::EUR);

    /// Strict: only codes on the ISO 4217 list.
    pub fn iso(code: &str) -> Result<Self, String> {
        let code = code.trim();
        // The codes nearly every document carries, before the lookup in the whole list (a
        // `match` over its 180 codes: some 900 instructions a call, by callgrind).
        let common = match code {
            "USD" => Some(iso_currency::Currency::USD),
            "EUR" => Some(iso_currency::Currency::EUR),
            "GBP" => Some(iso_currency::Currency::GBP),
            _ => None,
        };
        common
            .or_else(|| iso_currency::Currency::from_code(code))
            .map(Currency::Iso)
            .ok_or_else(|| format!("'{code}' is not an ISO 4217 currency code"))
    }

    pub fn is_iso(&self) -> bool {
        matches!(self, Self::Iso(_))
    }

    pub fn code(&self) -> &str {
        match self {
            Self::Iso(c) => c.code(),
            Self::Unrecognised(code) => code,
        }
    }

    /// Digits after the decimal point for this currency (2 for USD, 0 for JPY).
    pub fn minor_units(&self) -> u32 {
        match self {
            Self::Iso(c) => c.exponent().map(u32::from).unwrap_or(2),
            Self::Unrecognised(_) => 2,
        }
    }
}

impl FromStr for Currency {
    type Err = String;
    /// Lenient: an ISO code, or any other single token kept as written.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let code = s.trim();
        if let Ok(iso) = Self::iso(code) {
            return Ok(iso);
        }
        let is_token = !code.is_empty()
            && code.len() <= 32
            && code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if is_token {
            Ok(Self::Unrecognised(code.into()))
        } else {
            Err(format!("'{code}' is not a currency code"))
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// An amount of money. The amount keeps the scale it was written with (`8.1` stays `8.1`),
/// so a document read and written again says what the sender said.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self::new(Decimal::ZERO, currency)
    }

    /// The amount rounded to the currency's minor units (banker's rounding is not what
    /// invoices use: amounts are rounded half away from zero).
    pub fn rounded(&self) -> Money {
        let dp = self.currency.minor_units();
        let mut amount = self
            .amount
            .round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        amount.rescale(dp);
        Money::new(amount, self.currency.clone())
    }

    /// The amount as written in cXML: plain decimal notation, never exponent form.
    pub fn amount_text(&self) -> String {
        self.amount.to_string()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// Parses an amount as senders write it: `8.1`, `1505.0`, `-3.20`, `100`.
pub fn parse_amount(raw: &str) -> Option<Decimal> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 40 {
        return None;
    }
    Decimal::from_str_exact(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn currency_is_checked_against_iso_4217() {
        assert_eq!(Currency::iso("USD").unwrap(), Currency::USD);
        assert!(Currency::iso("usd").is_err());
        assert!(Currency::iso("XYZ").is_err());
        assert_eq!(Currency::iso("JPY").unwrap().minor_units(), 0);
        let placeholder: Currency = "currency_code".parse().unwrap();
        assert!(!placeholder.is_iso());
        assert_ne!(placeholder, Currency::USD);
        assert!("U S D".parse::<Currency>().is_err());
        for code in ["USD", "EUR", "GBP", "CHF", "JPY"] {
            assert_eq!(
                Currency::iso(code).unwrap(),
                Currency::Iso(iso_currency::Currency::from_code(code).unwrap())
            );
        }
    }

    #[test]
    fn amounts_keep_their_scale_and_round_half_away_from_zero() {
        assert_eq!(parse_amount(" 8.1 "), Some(dec!(8.1)));
        assert_eq!(parse_amount("1e3"), None);
        assert_eq!(parse_amount("abc"), None);
        let m = Money::new(dec!(10.005), Currency::USD).rounded();
        assert_eq!(m.amount_text(), "10.01");
        assert_eq!(
            Money::new(dec!(7), Currency::USD).rounded().amount_text(),
            "7.00"
        );
    }
}
