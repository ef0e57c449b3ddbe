//! What the miner treats as a token, and which tokens may vary within one pattern.

/// The token that stands for a position whose identifiers differ between a pattern's messages.
pub const WILDCARD: &str = "<*>";

/// Tokens of a masked template: its pieces between single spaces, so joining them with one
/// space gives the template back exactly (two spaces in a row make an empty token).
pub(super) fn split(masked: &str, spans: &mut Vec<(u32, u32)>) {
    spans.clear();
    let mut start = 0;
    for (at, byte) in masked.bytes().enumerate() {
        if byte == b' ' {
            spans.push((offset(start), offset(at)));
            start = at + 1;
        }
    }
    spans.push((offset(start), offset(masked.len())));
}

fn offset(at: usize) -> u32 {
    // Messages are at most a few MiB (the request body limit), far below 4 GiB.
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// Whether a token of a masked template is an identifier the masking rules did not foresee,
/// so two different ones at the same place may become [`WILDCARD`]: it holds a placeholder or
/// a digit, and each of its runs of letters outside placeholders is at most two letters long or
/// made of hex digits only. `(<n>a<n>f<n>-<n>)`, `(<n>aace-<n>)` (from `(1aace-7)`) and
/// `<n>/<n>` are; `web-<pod>`, `node<n>` and every plain word are not, so different words never
/// share a pattern.
pub fn is_variable(token: &str) -> bool {
    if token == WILDCARD {
        return true;
    }
    let bytes = token.as_bytes();
    let mut marked = false;
    let mut letters = 0;
    let mut hex = true;
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if byte == b'<' {
            if let Some(length) = placeholder_length(&bytes[at..]) {
                marked = true;
                letters = 0;
                hex = true;
                at += length;
                continue;
            }
        }
        if byte.is_ascii_alphabetic() {
            letters += 1;
            hex &= byte.is_ascii_hexdigit();
            if letters > 2 && !hex {
                return false;
            }
        } else {
            letters = 0;
            hex = true;
            marked |= byte.is_ascii_digit();
        }
        at += 1;
    }
    marked
}

/// Length of a placeholder (`<n>`, `<pod>`, `<*>`, …) at the start of `bytes`, if there is one.
fn placeholder_length(bytes: &[u8]) -> Option<usize> {
    let close = bytes.iter().take(12).position(|&b| b == b'>')?;
    let inner = &bytes[1..close];
    let known = !inner.is_empty() && (inner == b"*" || inner.iter().all(u8::is_ascii_lowercase));
    known.then_some(close + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_vary_and_words_do_not() {
        for token in [
            "(<n>a<n>f<n>-<n>)",
            "(<n>aace-<n>)",
            "<n>/<n>",
            "<hex>",
            "<*>",
            "x<n>",
            "<n>ab",
        ] {
            assert!(is_variable(token), "{token}");
        }
        for token in [
            "web-<pod>",
            "node<n>",
            "container",
            "\"*\"",
            "v<n>beta<n>",
            "abc",
            "",
            "-",
        ] {
            assert!(!is_variable(token), "{token}");
        }
    }

    #[test]
    fn split_keeps_every_space() {
        let mut spans = Vec::new();
        let text = "a  b c";
        split(text, &mut spans);
        let tokens: Vec<&str> = spans
            .iter()
            .map(|&(s, e)| &text[s as usize..e as usize])
            .collect();
        assert_eq!(tokens, ["a", "", "b", "c"]);
        assert_eq!(tokens.join(" "), text);
    }
}
