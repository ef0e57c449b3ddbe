//! Message templates: an event message with its variable parts (numbers, durations, sizes, IP
//! addresses, hashes, UUIDs, timestamps, pod-name suffixes, quoted values) replaced by
//! placeholders, so "Back-off 10s restarting failed container web in pod web-7d9f8b6c5d-x2x4q"
//! and the same message for another pod and another back-off are one template.
//!
//! The scanner works on bytes and writes into one output buffer: [`template_into`] allocates
//! nothing once the buffer has grown to the longest message seen. Only ASCII is interpreted;
//! every other character is copied unchanged.

mod forms;
mod placeholder;
mod scan;
#[cfg(test)]
mod tests;

use placeholder::Replacement;
pub use placeholder::{DURATION, HEX, ID, IP, NUMBER, POD, QUOTED, REPLICA_SET, SIZE, TIME, UUID};

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
