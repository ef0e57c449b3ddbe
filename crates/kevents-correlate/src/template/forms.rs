//! Recognisers of structured values: timestamps, clock times, IP addresses (v4, v6, with
//! ports), durations, sizes and numbers.

use super::placeholder::{Replacement, DURATION, IP, NUMBER, SIZE, TIME};

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

/// Tokens that start with a digit: timestamps, clock times, IPv4 addresses, durations, sizes,
/// numbers. `None` leaves the word to the word rules (hashes, `3rd`).
pub(super) fn structured_number(
    message: &str,
    start: usize,
    word_end: usize,
) -> Option<(usize, Replacement)> {
    let bytes = message.as_bytes();
    let number_end = digits_end(bytes, start);
    // Each form is tried only when the byte after the leading digits allows it.
    match bytes.get(number_end) {
        Some(b'-' | b':') => {
            if let Some(end) = timestamp(bytes, start) {
                return Some((end, Replacement::Fixed(TIME)));
            }
        }
        Some(b'.') => {
            if let Some(end) = ipv4(message, start) {
                return Some((end, Replacement::Fixed(IP)));
            }
        }
        _ => {}
    }
    let unit_at = decimal_end(bytes, start);
    match bytes.get(unit_at) {
        Some(b'n' | b'u' | 0xC2 | b'm' | b's' | b'h' | b'd') => {
            if let Some(end) = duration(bytes, start) {
                return Some((end, Replacement::Fixed(DURATION)));
            }
        }
        Some(b'K' | b'M' | b'G' | b'T' | b'P' | b'E' | b'k' | b'B') => {
            if let Some(end) = size(bytes, start) {
                return Some((end, Replacement::Fixed(SIZE)));
            }
        }
        _ => {}
    }
    if number_end != word_end {
        return None;
    }
    if unit_at > number_end && ends_token(bytes, unit_at) {
        return Some((unit_at, Replacement::Fixed(NUMBER)));
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
pub(super) fn ipv6(message: &str, start: usize) -> Option<usize> {
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

/// Whether a token may end before `at`. A `<` after a token would be the start of a
/// placeholder that replaced the rest of a longer word, so it does not end one.
pub(super) fn ends_token(bytes: &[u8], at: usize) -> bool {
    bytes
        .get(at)
        .is_none_or(|&b| !(b.is_ascii_alphanumeric() || b == b'<'))
}

pub(super) fn digits_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|b| !b.is_ascii_digit())
        .map_or(bytes.len(), |p| from + p)
}
