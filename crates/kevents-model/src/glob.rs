//! Shell-style globs (`*` any run, `?` one character), used by rules, policies and patterns.

/// True when `text` matches `pattern`. Allocates nothing: rules match every event they see.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return pattern == text;
    }
    // Byte positions; `?` and a retry after `*` move over whole characters of `text`, and a
    // literal run matches byte for byte (UTF-8 keeps character boundaries aligned: a pattern
    // character's first byte can only match a text character's first byte).
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    let char_len = |at: usize| text[at..].chars().next().map_or(1, char::len_utf8);
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'?' {
            ti += char_len(ti);
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += char_len(mark);
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("web-*", "web-0"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("web-*", "api-0"));
        assert!(glob_match("*-db-*", "prod-db-1"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXbY"));
    }

    /// The matcher before it stopped allocating: characters collected, then the same walk.
    fn by_chars(pattern: &str, text: &str) -> bool {
        let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
        let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
        while ti < t.len() {
            if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
                pi += 1;
                ti += 1;
            } else if pi < p.len() && p[pi] == '*' {
                star = Some(pi);
                mark = ti;
                pi += 1;
            } else if let Some(s) = star {
                pi = s + 1;
                mark += 1;
                ti = mark;
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|c| *c == '*')
    }

    #[test]
    fn matches_as_the_character_walk_did_on_every_short_pattern_and_text() {
        let alphabet = ["a", "b", "é", "日", "*", "?"];
        let strings = |max: usize| {
            let mut all = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..max {
                last = last
                    .iter()
                    .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                    .collect();
                all.extend(last.iter().cloned());
            }
            all
        };
        let (patterns, texts) = (strings(4), strings(4));
        for pattern in &patterns {
            for text in &texts {
                assert_eq!(
                    glob_match(pattern, text),
                    by_chars(pattern, text),
                    "{pattern:?} against {text:?}"
                );
            }
        }
    }
}
