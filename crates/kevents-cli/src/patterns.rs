//! Message patterns for `top patterns`: variable parts of a message (numbers, hex ids, UUIDs,
//! IP addresses, quoted values, random name suffixes) masked so similar messages group together.

/// The message with its variable parts replaced by `<n>`, `<hex>`, `<id>`, `<uuid>`, `<ip>`, `"*"`.
pub fn mask(message: &str) -> String {
    let chars: Vec<char> = message.chars().collect();
    let mut out = String::with_capacity(message.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '"' | '\'' | '`') {
            if let Some(close) = chars[i + 1..].iter().position(|&d| d == c) {
                out.push(c);
                out.push('*');
                out.push(c);
                i += close + 2;
                continue;
            }
        }
        if is_uuid_at(&chars[i..]) {
            out.push_str("<uuid>");
            i += 36;
            continue;
        }
        if c.is_alphanumeric() {
            let end = chars[i..]
                .iter()
                .position(|&d| !(d.is_alphanumeric() || d == '.' || d == ':'))
                .map_or(chars.len(), |p| i + p);
            let word: String = chars[i..end].iter().collect();
            let trimmed = word.trim_end_matches(['.', ':']);
            out.push_str(&mask_word(trimmed));
            out.push_str(&word[trimmed.len()..]);
            i = end;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn is_uuid_at(chars: &[char]) -> bool {
    chars.len() >= 36
        && chars[..36].iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == '-',
            _ => c.is_ascii_hexdigit(),
        })
        && chars.get(36).is_none_or(|c| !c.is_alphanumeric())
}

fn is_ip(word: &str) -> bool {
    let address = match word.rsplit_once(':') {
        Some((address, port))
            if word.matches(':').count() == 1 && port.chars().all(|c| c.is_ascii_digit()) =>
        {
            address
        }
        _ => word,
    };
    address.parse::<std::net::Ipv4Addr>().is_ok()
        || (word.contains(':') && word.parse::<std::net::Ipv6Addr>().is_ok())
}

fn mask_word(word: &str) -> String {
    let has_digit = word.chars().any(|c| c.is_ascii_digit());
    if !has_digit {
        return word.to_string();
    }
    if is_ip(word) {
        return "<ip>".into();
    }
    let has_letter = word.chars().any(char::is_alphabetic);
    if word.len() >= 6 && word.chars().all(|c| c.is_ascii_hexdigit()) && has_letter {
        return "<hex>".into();
    }
    if word.starts_with(|c: char| c.is_ascii_digit()) {
        // A number with its unit or version suffix: `40s`, `5m0s`, `512Mi`, `1.25`.
        return "<n>".into();
    }
    if word.len() >= 5 && has_letter && word.chars().all(|c| c.is_ascii_alphanumeric()) {
        return "<id>".into();
    }
    // Digits inside a short word: `v1` → `v<n>`.
    let mut out = String::new();
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|d| d.is_ascii_digit() || (*d == '.'))
            {
                chars.next();
            }
            out.push_str("<n>");
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_parts_are_masked() {
        assert_eq!(
            mask("Readiness probe failed: Get \"http://10.244.1.7:8080/healthz\": dial tcp 10.244.1.7:8080: connect: connection refused"),
            "Readiness probe failed: Get \"*\": dial tcp <ip>: connect: connection refused"
        );
        assert_eq!(
            mask("Created pod: web-7d4b9c8f6-x2k4q"),
            "Created pod: web-<hex>-<id>"
        );
        assert_eq!(
            mask("0/5 nodes are available: 3 Insufficient memory"),
            "<n>/<n> nodes are available: <n> Insufficient memory"
        );
        assert_eq!(
            mask("volume 0b8e3a53-2a2c-4b8e-9f3c-2a1d3c4b5e6f not found"),
            "volume <uuid> not found"
        );
        assert_eq!(
            mask("Memory limit 512Mi exceeded after 30s"),
            "Memory limit <n> exceeded after <n>"
        );
        assert_eq!(mask("Pulling image 'nginx:1.25'"), "Pulling image '*'");
    }

    #[test]
    fn messages_differing_only_in_numbers_share_a_pattern() {
        assert_eq!(
            mask("Back-off 40s restarting failed container"),
            mask("Back-off 5m0s restarting failed container")
        );
    }
}
