//! Message templates: an event message with its variable parts (numbers, durations, sizes, IP
//! addresses, hashes, UUIDs, timestamps, pod-name suffixes, quoted values) replaced by
//! placeholders, so "Back-off 10s restarting failed container web in pod web-7d9f8b6c5d-x2x4q"
//! and the same message for another pod and another back-off are one template.
//!
//! The scanner works on bytes and writes into one output buffer: [`template_into`] allocates
//! nothing once the buffer has grown to the longest message seen. Only ASCII is interpreted;
//! every other character is copied unchanged.

mod forms;
mod scan;
#[cfg(test)]
mod tests;

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

/// The template of `message` (see the module documentation); allocates once.
pub fn template(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 8);
    template_into(message, &mut out);
    out
}

/// Writes the template of `message` into `out`, replacing its content; reusing `out` across
/// calls avoids allocating.
pub fn template_into(message: &str, out: &mut String) {
    out.clear();
    let bytes = message.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        i = scan::next_token_start(bytes, i);
        let Some(&byte) = bytes.get(i) else {
            break;
        };
        // A token starts after a byte that is not a letter or digit, nor the end of a
        // placeholder: what follows a placeholder is the rest of a word already templated.
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'>') {
            i += 1;
            continue;
        }
        let token = if scan::is_quote(byte) {
            scan::quoted(bytes, i).map(|end| (end, Replacement::Quoted(byte)))
        } else if byte == b'[' {
            forms::bracketed_ipv6(message, i).map(|end| (end, Replacement::Fixed(IP)))
        } else if byte.is_ascii_alphanumeric() {
            let (end, has_digit) = scan::scan_word(bytes, i);
            if !has_digit && !scan::letters_may_vary(bytes, i, end) {
                // Most words are plain words: skip them without further checks.
                i = end;
                continue;
            }
            Some(scan::word(message, i, end, has_digit))
        } else {
            None
        };
        match token {
            Some((end, Replacement::Keep)) => i = end,
            Some((end, replacement)) => {
                out.push_str(&message[copied..i]);
                replacement.write(&message[i..end], out);
                i = end;
                copied = end;
            }
            None => i += 1,
        }
    }
    out.push_str(&message[copied..]);
}

/// What a recognised token becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Replacement {
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
    fn write(self, token: &str, out: &mut String) {
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
