//! The placeholders that replace a message's variable parts, and how a recognised token is
//! written into a template.

/// Placeholder of a number: `3`, `0.25`, `1700000000`.
pub const NUMBER: &str = "<n>";
/// Placeholder of a Go-style duration: `40s`, `5m30s`, `1.5s`, `300ms`, `2h`.
pub const DURATION: &str = "<duration>";
/// Placeholder of a quantity with a size unit: `512Mi`, `1Gi`, `100Ki`, `2G`, `64MB`.
pub const SIZE: &str = "<size>";
/// Placeholder of an IPv4 or IPv6 address, with its port if it has one.
pub const IP: &str = "<ip>";
/// Placeholder of a UUID (`8-4-4-4-12` hex digits).
pub const UUID: &str = "<uuid>";
/// Placeholder of a date or time: RFC 3339, Go's `time.Time` format, `15:04:05`.
pub const TIME: &str = "<time>";
/// Placeholder of a hex hash or id: six or more hex digits with a digit and a letter, or `0x…`.
pub const HEX: &str = "<hex>";
/// Placeholder of a random-looking word: letters and digits alternating five or more times.
pub const ID: &str = "<id>";
/// Placeholder of a generated pod-name suffix: `web-7d9f8b6c5d-x2x4q` → `web-<pod>`.
pub const POD: &str = "<pod>";
/// Placeholder of a ReplicaSet's pod-template hash: `web-7d9f8b6c5d` → `web-<rs>`.
pub const REPLICA_SET: &str = "<rs>";
/// A quoted value keeps its quote characters around this: `"nginx:1.25"` → `"*"`.
pub const QUOTED: &str = "*";

/// What a recognised token becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Replacement {
    /// The token stays as it is (a word without variable parts).
    Keep,
    /// One placeholder for the whole token.
    Fixed(&'static str),
    /// A quoted value: the quote character, [`QUOTED`], the quote character.
    Quoted(u8),
    /// A word whose digit runs each become [`NUMBER`]: `v1beta1` → `v<n>beta<n>`.
    DigitRuns,
}

impl Replacement {
    pub(super) fn write(self, token: &str, out: &mut String) {
        match self {
            Replacement::Keep => out.push_str(token),
            Replacement::Fixed(placeholder) => out.push_str(placeholder),
            Replacement::Quoted(quote) => {
                out.push(char::from(quote));
                out.push_str(QUOTED);
                out.push(char::from(quote));
            }
            Replacement::DigitRuns => {
                let mut rest = token;
                while !rest.is_empty() {
                    let letters = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
                    out.push_str(&rest[..letters]);
                    rest = &rest[letters..];
                    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                    if digits > 0 {
                        out.push_str(NUMBER);
                        rest = &rest[digits..];
                    }
                }
            }
        }
    }
}
