//! The lecture's running RPC example [K L386–470]: an online shop asks a payments service to charge
//! £3.99 to a card. The shop's stub marshals the arguments into message m₁, the service executes
//! `processPayment` and marshals the result into m₂:
//!
//! - m₁ = [`M1`]: `{"request":"processPayment","card":{"number":"1234567887654321",
//!   "expiryDate":"10/2024","CVC":"123"},"amount":3.99,"currency":"GBP"}`
//! - m₂ = [`M2`]: `{"result":"success","id":"XP61hHw2Rvo"}`
//!
//! With [`Format::Json`](super::Format::Json) the types below marshal to exactly those bytes (the
//! golden vectors of the tests); with postcard the same call is a fraction of the size. A declined
//! or malformed payment is a *definite* error ([`ServerError`]): nothing was charged.

use super::{ServerError, Service};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;

/// The lecture's m₁, byte for byte.
pub const M1: &str = r#"{"request":"processPayment","card":{"number":"1234567887654321","expiryDate":"10/2024","CVC":"123"},"amount":3.99,"currency":"GBP"}"#;
/// The lecture's m₂, byte for byte.
pub const M2: &str = r#"{"result":"success","id":"XP61hHw2Rvo"}"#;

/// The method named in m₁.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Method {
    /// Charge a card.
    #[serde(rename = "processPayment")]
    ProcessPayment,
}

/// A card, as the shop's code builds it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Card {
    /// 16 digits.
    pub number: String,
    /// `MM/YYYY`.
    #[serde(rename = "expiryDate")]
    pub expiry_date: String,
    /// 3 digits.
    #[serde(rename = "CVC")]
    pub cvc: String,
}

/// Currencies of the lecture's IDL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    /// Pound sterling.
    #[allow(clippy::upper_case_acronyms)]
    GBP,
    /// US dollar.
    #[allow(clippy::upper_case_acronyms)]
    USD,
}

/// An amount in minor units (pence, cents), marshalled as the decimal number m₁ shows (`3.99`).
/// Unmarshalling rejects negative, non-finite and sub-penny amounts rather than rounding money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Amount {
    /// Minor units.
    pub minor: u64,
}

/// The largest amount accepted: £10 billion, far inside f64's exact integer range.
const AMOUNT_MINOR_MAX: u64 = 1_000_000_000_000;

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.minor as f64 / 100.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let major = f64::deserialize(d)?;
        let minor = major * 100.0;
        if !minor.is_finite() || minor < 0.0 || minor > AMOUNT_MINOR_MAX as f64 {
            return Err(de::Error::custom(format!("amount {major} is not a payable amount")));
        }
        let rounded = minor.round();
        if (minor - rounded).abs() > 1e-6 {
            return Err(de::Error::custom(format!("amount {major} has more than two decimal places")));
        }
        Ok(Self { minor: rounded as u64 })
    }
}

/// m₁: the arguments of `processPayment`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PaymentRequest {
    /// The method.
    pub request: Method,
    /// The card to charge.
    pub card: Card,
    /// How much.
    pub amount: Amount,
    /// In what.
    pub currency: Currency,
}

impl PaymentRequest {
    /// The lecture's call: £3.99 to card 1234 5678 8765 4321, expiring 10/2024, CVC 123.
    pub fn lecture_example() -> Self {
        Self {
            request: Method::ProcessPayment,
            card: Card { number: "1234567887654321".into(), expiry_date: "10/2024".into(), cvc: "123".into() },
            amount: Amount { minor: 399 },
            currency: Currency::GBP,
        }
    }
}

/// m₂'s result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PaymentResult {
    /// Charged.
    #[serde(rename = "success")]
    Success,
}

/// m₂: the result of `processPayment`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PaymentStatus {
    /// What happened.
    pub result: PaymentResult,
    /// The payment's id.
    pub id: String,
}

/// The payments service: charges valid cards and remembers every charge.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payments {
    /// Charges by payment id: (card number, amount, currency).
    pub charges: BTreeMap<String, (String, Amount, Currency)>,
    /// Payments made so far (numbers the next id).
    pub made: u64,
}

impl Payments {
    /// Minor units charged to `card` in `currency`.
    pub fn charged(&self, card: &str, currency: Currency) -> u64 {
        self.charges.values().filter(|(c, _, cur)| c == card && *cur == currency).map(|(_, a, _)| a.minor).sum()
    }
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

fn valid_expiry(s: &str) -> bool {
    let Some((mm, yyyy)) = s.split_once('/') else { return false };
    digits(mm, 2) && digits(yyyy, 4) && matches!(mm.parse::<u8>(), Ok(1..=12))
}

/// An 11-character payment id, like m₂'s, derived from the payment's number (distinct numbers give
/// distinct ids: the mix is a bijection on u64 and 62¹¹ > 2⁶⁴).
fn payment_id(n: u64) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    // splitmix64's finaliser.
    let mut x = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    (0..11)
        .map(|_| {
            let c = ALPHABET[(x % 62) as usize] as char;
            x /= 62;
            c
        })
        .collect()
}

impl Service for Payments {
    type Request = PaymentRequest;
    type Response = PaymentStatus;

    fn handle(&mut self, req: &PaymentRequest) -> Result<PaymentStatus, ServerError> {
        let card = &req.card;
        let invalid = |what: &str| ServerError { status: 400, message: format!("invalid {what}") };
        if !digits(&card.number, 16) {
            return Err(invalid("card number: 16 digits expected"));
        }
        if !valid_expiry(&card.expiry_date) {
            return Err(invalid("expiryDate: MM/YYYY expected"));
        }
        if !digits(&card.cvc, 3) {
            return Err(invalid("CVC: 3 digits expected"));
        }
        if req.amount.minor == 0 {
            return Err(ServerError { status: 402, message: "declined: nothing to charge".into() });
        }
        let id = payment_id(self.made);
        self.made += 1;
        self.charges.insert(id.clone(), (card.number.clone(), req.amount, req.currency));
        Ok(PaymentStatus { result: PaymentResult::Success, id })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Format;
    use super::*;

    #[test]
    fn m1_and_m2_are_the_lectures_bytes() {
        let m1 = PaymentRequest::lecture_example();
        assert_eq!(String::from_utf8(Format::Json.marshal(&m1)).unwrap(), M1);
        assert_eq!(Format::Json.unmarshal::<PaymentRequest>(M1.as_bytes()), Ok(m1.clone()));
        let m2 = PaymentStatus { result: PaymentResult::Success, id: "XP61hHw2Rvo".into() };
        assert_eq!(String::from_utf8(Format::Json.marshal(&m2)).unwrap(), M2);
        assert_eq!(Format::Json.unmarshal::<PaymentStatus>(M2.as_bytes()), Ok(m2.clone()));
        // The same values round-trip through postcard, in far fewer bytes.
        let bin = Format::Postcard.marshal(&m1);
        assert!(bin.len() < M1.len() / 2, "{} bytes", bin.len());
        assert_eq!(Format::Postcard.unmarshal::<PaymentRequest>(&bin), Ok(m1));
    }

    #[test]
    fn money_is_not_rounded() {
        let with = |amount: &str| M1.replace("3.99", amount);
        assert!(Format::Json.unmarshal::<PaymentRequest>(with("3.999").as_bytes()).unwrap_err().contains("decimal"));
        assert!(Format::Json.unmarshal::<PaymentRequest>(with("-1").as_bytes()).is_err());
        assert_eq!(Format::Json.unmarshal::<PaymentRequest>(with("0.1").as_bytes()).unwrap().amount.minor, 10);
    }

    #[test]
    fn charges_valid_cards_once_per_call_and_rejects_bad_ones_definitely() {
        let mut p = Payments::default();
        let ok = p.handle(&PaymentRequest::lecture_example()).unwrap();
        assert_eq!((ok.result, ok.id.len()), (PaymentResult::Success, 11));
        let again = p.handle(&PaymentRequest::lecture_example()).unwrap();
        assert_ne!(ok.id, again.id, "not idempotent: a retry charges twice");
        assert_eq!(p.charged("1234567887654321", Currency::GBP), 798);
        let mut bad = PaymentRequest::lecture_example();
        bad.card.cvc = "12".into();
        assert_eq!(p.handle(&bad).unwrap_err().status, 400);
        bad = PaymentRequest::lecture_example();
        bad.card.expiry_date = "13/2024".into();
        assert_eq!(p.handle(&bad).unwrap_err().status, 400);
        assert_eq!(p.made, 2, "a definite error changed nothing");
    }
}
