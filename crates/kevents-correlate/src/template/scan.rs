//! Recognisers for the variable parts of a message. Each takes the message and the byte offset
//! of a token start (the previous byte is not an ASCII letter or digit) and returns where the
//! token ends and what it becomes.

use super::forms::{self, ends_token};
use super::placeholder::{Replacement, HEX, ID, IP, POD, REPLICA_SET, UUID};

/// Characters of generated name suffixes (`generateName`, pod names): the apiserver's
/// `bcdfghjklmnpqrstvwxz2456789`, which has no vowels, so words rarely look like one.
fn is_suffix_char(byte: u8) -> bool {
    matches!(byte, b'b'..=b'd' | b'f'..=b'h' | b'j'..=b'n' | b'p'..=b't' | b'v' | b'w' | b'x' | b'z')
        || matches!(byte, b'2' | b'4'..=b'9')
}

/// Characters of a pod-template hash: the decimal digits of a 32-bit hash mapped through the
/// same alphabet, which only ever yields `4`–`9`, `b`, `c`, `d`, `f`.
fn is_template_hash_char(byte: u8) -> bool {
    matches!(byte, b'4'..=b'9' | b'b' | b'c' | b'd' | b'f')
}

/// Whether a byte sticks to its neighbour: a quote next to one is an apostrophe, not a quote.
/// `<` and `>` count so that a placeholder next to a quote keeps it an apostrophe.
fn is_attached(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'<' || byte == b'>' || byte >= 0x80
}

const LETTER: u8 = 1;
const DIGIT: u8 = 2;
const STARTS_TOKEN: u8 = 4;

/// Byte classes, looked up once per byte in the hot loops.
static CLASS: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = if b.is_ascii_digit() {
            DIGIT | STARTS_TOKEN
        } else if b.is_ascii_alphabetic() {
            LETTER | STARTS_TOKEN
        } else if matches!(b, b'"' | b'\'' | b'`' | b'[') {
            STARTS_TOKEN
        } else {
            0
        };
        byte += 1;
    }
    table
}

/// The first offset from `from` where a token could start (a letter, a digit, a quote or
/// `[`), or the end.
pub(super) fn next_token_start(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| CLASS[usize::from(b)] & STARTS_TOKEN != 0)
        .map_or(bytes.len(), |p| from + p)
}

/// Whether `byte` opens a quoted value.
pub(super) fn is_quote(byte: u8) -> bool {
    matches!(byte, b'"' | b'\'' | b'`')
}

/// A quoted value from the quote at `start` to the first matching quote that is not followed by
/// a letter or digit (so `'it's'` is one value); `\"` does not close a double-quoted value.
pub(super) fn quoted(bytes: &[u8], start: usize) -> Option<usize> {
    if start > 0 && is_attached(bytes[start - 1]) {
        return None;
    }
    let quote = bytes[start];
    let mut at = start + 1;
    while at < bytes.len() {
        let byte = bytes[at];
        if byte == b'\\' && quote == b'"' {
            at += 2;
            continue;
        }
        if byte == quote && bytes.get(at + 1).is_none_or(|&b| !is_attached(b)) {
            return Some(at + 1);
        }
        at += 1;
    }
    None
}

/// Whether a word without digits from `start` to `end` may still be (part of) a token: a
/// generated name suffix after `-`, a hex IPv6 address before `:`, a UUID's first group.
pub(super) fn letters_may_vary(bytes: &[u8], start: usize, end: usize) -> bool {
    (start > 0 && bytes[start - 1] == b'-') || bytes.get(end) == Some(&b':') || end - start == 8
}

/// The token that is the word from `start` to `end` (see [`scan_word`]) or starts with it.
pub(super) fn word(
    message: &str,
    start: usize,
    end: usize,
    has_digit: bool,
) -> (usize, Replacement) {
    let bytes = message.as_bytes();
    let first = bytes[start];
    if first.is_ascii_hexdigit() && end - start == 8 {
        if let Some(uuid_end) = uuid(bytes, start) {
            return (uuid_end, Replacement::Fixed(UUID));
        }
    }
    if !has_digit {
        // Most words: only a generated suffix or an IPv6 address in hex letters can vary.
        if let Some(token) = pod_suffix(bytes, start, end) {
            return token;
        }
        if bytes.get(end) == Some(&b':') && first.is_ascii_hexdigit() {
            if let Some(ip_end) = forms::ipv6(message, start) {
                return (ip_end, Replacement::Fixed(IP));
            }
        }
        return (end, Replacement::Keep);
    }
    if let Some(token) = pod_suffix(bytes, start, end) {
        return token;
    }
    if first.is_ascii_hexdigit() && bytes.get(end) == Some(&b':') {
        if let Some(ip_end) = forms::ipv6(message, start) {
            return (ip_end, Replacement::Fixed(IP));
        }
    }
    if first.is_ascii_digit() {
        if let Some(token) = forms::structured_number(message, start, end) {
            return token;
        }
    }
    (end, classify_word(&bytes[start..end]))
}

/// The end of the run of ASCII letters and digits at `start`, and whether it has a digit.
#[inline]
pub(super) fn scan_word(bytes: &[u8], start: usize) -> (usize, bool) {
    let rest = &bytes[start..];
    let mut seen = 0;
    let len = rest
        .iter()
        .position(|&byte| {
            let class = CLASS[usize::from(byte)];
            seen |= class;
            class & (LETTER | DIGIT) == 0
        })
        .unwrap_or(rest.len());
    // `seen` may include the class of the byte that ended the word: not a digit.
    (start + len, seen & DIGIT != 0)
}

/// `web-7d9f8b6c5d-x2x4q` (Deployment pod), `fluentd-x2x4q` (generated name) and
/// `web-7d9f8b6c5d` (ReplicaSet): a name segment after `-`, at the end of the name.
fn pod_suffix(bytes: &[u8], start: usize, end: usize) -> Option<(usize, Replacement)> {
    let after_name_segment =
        start >= 2 && bytes[start - 1] == b'-' && bytes[start - 2].is_ascii_alphanumeric();
    if !after_name_segment {
        return None;
    }
    // `<` counts as part of the name: "bcdfg0" becomes "bcdfg<n>", whose "bcdfg" must not
    // then read as a suffix.
    let ends_name = |at: usize| {
        bytes
            .get(at)
            .is_none_or(|&b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'<'))
    };
    let segment = &bytes[start..end];
    let is_hash =
        (6..=10).contains(&segment.len()) && segment.iter().all(|&b| is_template_hash_char(b));
    if is_hash && bytes.get(end) == Some(&b'-') {
        // After a pod-template hash, any five lowercase letters or digits end a pod name:
        // the hash alone already marks it as generated.
        let suffix_end = end + 1 + 5;
        let suffix = bytes.get(end + 1..suffix_end).unwrap_or_default();
        let lowercase = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if suffix.len() == 5 && suffix.iter().all(lowercase) && ends_name(suffix_end) {
            return Some((suffix_end, Replacement::Fixed(POD)));
        }
    }
    if segment.len() == 5 && segment.iter().all(|&b| is_suffix_char(b)) && ends_name(end) {
        return Some((end, Replacement::Fixed(POD)));
    }
    let mixed =
        segment.iter().any(u8::is_ascii_digit) && segment.iter().any(u8::is_ascii_lowercase);
    (is_hash && mixed).then_some((end, Replacement::Fixed(REPLICA_SET)))
}

/// `0b8e3a53-2a2c-4b8e-9f3c-2a1d3c4b5e6f`.
fn uuid(bytes: &[u8], start: usize) -> Option<usize> {
    let candidate = bytes.get(start..start + 36)?;
    let shaped = candidate.iter().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    });
    (shaped && ends_token(bytes, start + 36)).then_some(start + 36)
}

/// A plain word (ASCII letters and digits): hashes, random ids, digits inside words.
fn classify_word(word: &[u8]) -> Replacement {
    if word.len() > 2
        && (word.starts_with(b"0x") || word.starts_with(b"0X"))
        && word[2..].iter().all(u8::is_ascii_hexdigit)
    {
        return Replacement::Fixed(HEX);
    }
    let (mut lower_hex, mut upper_hex, mut has_letter) = (true, true, false);
    let mut runs = 1;
    let mut previous_digit = word[0].is_ascii_digit();
    for &byte in word {
        let digit = byte.is_ascii_digit();
        lower_hex &= digit || matches!(byte, b'a'..=b'f');
        upper_hex &= digit || matches!(byte, b'A'..=b'F');
        has_letter |= !digit;
        runs += usize::from(digit != previous_digit);
        previous_digit = digit;
    }
    if word.len() >= 6 && has_letter && (lower_hex || upper_hex) {
        return Replacement::Fixed(HEX);
    }
    if runs >= 5 {
        return Replacement::Fixed(ID);
    }
    Replacement::DigitRuns
}
