//! Recognisers for the variable parts of a message. Each takes the message and the byte offset
//! of a token start (the previous byte is not an ASCII letter or digit) and returns where the
//! token ends and what it becomes.

use super::{Replacement, DURATION, HEX, ID, IP, NUMBER, POD, REPLICA_SET, SIZE, TIME, UUID};

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

/// Whether `byte` opens a quoted value.
pub(super) fn is_quote(byte: u8) -> bool {
    matches!(byte, b'"' | b'\'' | b'`')
}

/// Whether a token may end before `at`. A `<` after a token would be the start of a
/// placeholder that replaced the rest of a longer word, so it does not end one.
fn ends_token(bytes: &[u8], at: usize) -> bool {
    bytes
        .get(at)
        .is_none_or(|&b| !(b.is_ascii_alphanumeric() || b == b'<'))
}

fn digits_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|b| !b.is_ascii_digit())
        .map_or(bytes.len(), |p| from + p)
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

/// `[2001:db8::1]` or `[2001:db8::1]:443`.
pub(super) fn bracketed_ipv6(message: &str, start: usize) -> Option<usize> {
    let bytes = message.as_bytes();
    let close = start
        + 1
        + bytes[start + 1..]
            .iter()
            .take(46)
            .position(|&b| b == b']')?;
    message[start + 1..close]
        .parse::<std::net::Ipv6Addr>()
        .ok()?;
    let mut end = close + 1;
    let port_follows = bytes.get(end) == Some(&b':')
        && bytes
            .get(end + 1)
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'<');
    if port_follows {
        end = digits_end(bytes, end + 1);
        if end == close + 2 {
            return None;
        }
    }
    ends_token(bytes, end).then_some(end)
}

/// The token starting with the letter or digit at `start`; always returns one (a word without
/// variable parts is [`Replacement::Keep`]).
pub(super) fn word(message: &str, start: usize) -> (usize, Replacement) {
    let bytes = message.as_bytes();
    let end = bytes[start..]
        .iter()
        .position(|b| !b.is_ascii_alphanumeric())
        .map_or(bytes.len(), |p| start + p);
    let word = &bytes[start..end];
    let first = word[0];
    if first.is_ascii_hexdigit() && end - start == 8 {
        if let Some(uuid_end) = uuid(bytes, start) {
            return (uuid_end, Replacement::Fixed(UUID));
        }
    }
    if let Some(token) = pod_suffix(bytes, start, end) {
        return token;
    }
    if first.is_ascii_hexdigit() && bytes.get(end) == Some(&b':') {
        if let Some(ip_end) = ipv6(message, start) {
            return (ip_end, Replacement::Fixed(IP));
        }
    }
    if first.is_ascii_digit() {
        if let Some(token) = structured_number(message, start, end) {
            return token;
        }
    }
    (end, classify_word(word))
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
        let suffix_end = end + 1 + 5;
        let suffix = bytes.get(end + 1..suffix_end)?;
        if suffix.iter().all(|&b| is_suffix_char(b)) && ends_name(suffix_end) {
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

/// Tokens that start with a digit: timestamps, clock times, IPv4 addresses, durations, sizes,
/// numbers. `None` leaves the word to [`classify_word`] (hashes, `3rd`).
fn structured_number(message: &str, start: usize, word_end: usize) -> Option<(usize, Replacement)> {
    let bytes = message.as_bytes();
    if let Some(end) = timestamp(bytes, start) {
        return Some((end, Replacement::Fixed(TIME)));
    }
    if let Some(end) = ipv4(message, start) {
        return Some((end, Replacement::Fixed(IP)));
    }
    let number_end = digits_end(bytes, start);
    let all_digits = number_end == word_end;
    if let Some(end) = duration(bytes, start) {
        return Some((end, Replacement::Fixed(DURATION)));
    }
    if let Some(end) = size(bytes, start) {
        return Some((end, Replacement::Fixed(SIZE)));
    }
    if !all_digits {
        return None;
    }
    if bytes.get(number_end) == Some(&b'.')
        && bytes.get(number_end + 1).is_some_and(u8::is_ascii_digit)
    {
        let fraction_end = digits_end(bytes, number_end + 1);
        if ends_token(bytes, fraction_end) {
            return Some((fraction_end, Replacement::Fixed(NUMBER)));
        }
    }
    Some((number_end, Replacement::Fixed(NUMBER)))
}

/// `2024-01-02`, `2024-01-02T03:04:05.123Z`, `2024-01-02 03:04:05 +0000 UTC`, and the clock
/// time `03:04:05(.123)`.
fn timestamp(bytes: &[u8], start: usize) -> Option<usize> {
    let shape = |from: usize, pattern: &[u8]| {
        bytes.get(from..from + pattern.len()).is_some_and(|got| {
            got.iter().zip(pattern).all(|(b, p)| match p {
                b'9' => b.is_ascii_digit(),
                _ => b == p,
            })
        })
    };
    let mut end;
    if shape(start, b"9999-99-99") {
        end = start + 10;
        if matches!(bytes.get(end), Some(b'T' | b' ')) && shape(end + 1, b"99:99") {
            end = clock_end(bytes, end + 1);
            end = zone_end(bytes, end, &shape);
        }
    } else if shape(start, b"99:99:99") {
        end = clock_end(bytes, start);
    } else {
        return None;
    }
    ends_token(bytes, end).then_some(end)
}

fn clock_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start + 5;
    if bytes.get(end) == Some(&b':') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end = digits_end(bytes, end + 1);
        if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end = digits_end(bytes, end + 1);
        }
    }
    end
}

/// `Z`, `+01:00`, ` +0000 UTC`, ` +0000 UTC m=+0.001` after a time.
fn zone_end(bytes: &[u8], mut end: usize, shape: &dyn Fn(usize, &[u8]) -> bool) -> usize {
    if bytes.get(end) == Some(&b'Z') {
        return end + 1;
    }
    let spaced = usize::from(bytes.get(end) == Some(&b' '));
    let sign = end + spaced;
    if !matches!(bytes.get(sign), Some(b'+' | b'-')) {
        return end;
    }
    if shape(sign + 1, b"99:99") {
        end = sign + 6;
    } else if shape(sign + 1, b"9999") {
        end = sign + 5;
    } else {
        return end;
    }
    let letters = bytes[(end + 1).min(bytes.len())..]
        .iter()
        .take_while(|b| b.is_ascii_uppercase())
        .count();
    if bytes.get(end) == Some(&b' ') && (2..=5).contains(&letters) {
        end += 1 + letters;
    }
    if bytes.get(end..end + 4) == Some(b" m=+") || bytes.get(end..end + 4) == Some(b" m=-") {
        let digits = digits_end(bytes, end + 4);
        if bytes.get(digits) == Some(&b'.') {
            end = digits_end(bytes, digits + 1);
        }
    }
    end
}

/// `10.244.1.7` or `10.244.1.7:8080`.
fn ipv4(message: &str, start: usize) -> Option<usize> {
    let bytes = message.as_bytes();
    let mut end = start;
    for group in 0..4 {
        if group > 0 {
            if bytes.get(end) != Some(&b'.') {
                return None;
            }
            end += 1;
        }
        let group_end = digits_end(bytes, end);
        if group_end == end || group_end - end > 3 {
            return None;
        }
        end = group_end;
    }
    message[start..end].parse::<std::net::Ipv4Addr>().ok()?;
    if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    if bytes.get(end) == Some(&b':') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        let port_end = digits_end(bytes, end + 1);
        if port_end - end <= 6 {
            end = port_end;
        }
    }
    ends_token(bytes, end).then_some(end)
}

/// `2001:db8::1`, `fe80::1`, `::ffff:10.0.0.1` written from a hex digit on.
fn ipv6(message: &str, start: usize) -> Option<usize> {
    let bytes = message.as_bytes();
    let run = bytes[start..]
        .iter()
        .take(45)
        .position(|&b| !(b.is_ascii_hexdigit() || b == b':' || b == b'.'))
        .map_or((bytes.len() - start).min(45), |p| p);
    let mut end = start + run;
    if !ends_token(bytes, end) {
        return None;
    }
    // A sentence may go on right after the address: "fe80::1: connection refused".
    while end > start && matches!(bytes[end - 1], b':' | b'.') {
        end -= 1;
    }
    let candidate = &message[start..end];
    if candidate.bytes().filter(|&b| b == b':').count() < 2 {
        return None;
    }
    candidate.parse::<std::net::Ipv6Addr>().ok().map(|_| end)
}

/// A Go duration: one or more `<number><unit>` with units `ns`, `us`, `µs`, `ms`, `s`, `m`,
/// `h` (and `d`, which people write too).
fn duration(bytes: &[u8], start: usize) -> Option<usize> {
    const UNITS: [&[u8]; 8] = [b"ns", b"us", "µs".as_bytes(), b"ms", b"s", b"m", b"h", b"d"];
    let mut end = start;
    while bytes.get(end).is_some_and(u8::is_ascii_digit) {
        end = decimal_end(bytes, end);
        let unit = UNITS.iter().find(|unit| bytes[end..].starts_with(unit))?;
        end += unit.len();
    }
    (end > start && ends_token(bytes, end)).then_some(end)
}

/// A quantity with a binary or decimal size unit: `512Mi`, `1.5Gi`, `100Ki`, `2G`, `64MB`.
fn size(bytes: &[u8], start: usize) -> Option<usize> {
    const UNITS: [&[u8]; 23] = [
        b"KiB", b"MiB", b"GiB", b"TiB", b"PiB", b"Ki", b"Mi", b"Gi", b"Ti", b"Pi", b"Ei", b"kB",
        b"KB", b"MB", b"GB", b"TB", b"PB", b"k", b"K", b"M", b"G", b"T", b"B",
    ];
    let end = decimal_end(bytes, start);
    let unit = UNITS.iter().find(|unit| bytes[end..].starts_with(unit))?;
    let end = end + unit.len();
    ends_token(bytes, end).then_some(end)
}

/// The end of `123` or `1.25` from a digit at `start`.
fn decimal_end(bytes: &[u8], start: usize) -> usize {
    let end = digits_end(bytes, start);
    if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        return digits_end(bytes, end + 1);
    }
    end
}

/// A plain word (ASCII letters and digits): hashes, random ids, digits inside words.
fn classify_word(word: &[u8]) -> Replacement {
    if !word.iter().any(u8::is_ascii_digit) {
        return Replacement::Keep;
    }
    if word.len() > 2
        && (word.starts_with(b"0x") || word.starts_with(b"0X"))
        && word[2..].iter().all(u8::is_ascii_hexdigit)
    {
        return Replacement::Fixed(HEX);
    }
    let lower_hex = word.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let upper_hex = word.iter().all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F'));
    let has_letter = word.iter().any(u8::is_ascii_alphabetic);
    if word.len() >= 6 && has_letter && (lower_hex || upper_hex) {
        return Replacement::Fixed(HEX);
    }
    let runs = 1 + word
        .windows(2)
        .filter(|pair| pair[0].is_ascii_digit() != pair[1].is_ascii_digit())
        .count();
    if runs >= 5 {
        return Replacement::Fixed(ID);
    }
    Replacement::DigitRuns
}
