//! Bearer tokens from a file in the apiserver's `--token-auth-file` CSV format:
//! `token,user,uid,"group1,group2"`, reloaded when the file changes.

use super::identity::Identity;
use parking_lot::RwLock;
use std::path::PathBuf;
use std::time::SystemTime;

/// Tokens with their identities.
type Entries = Vec<(Vec<u8>, Identity)>;

/// The token file and its parsed entries.
pub struct TokenFile {
    path: PathBuf,
    entries: RwLock<(Entries, Option<SystemTime>)>,
}

/// Splits one CSV line, honouring double quotes.
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out.into_iter().map(|f| f.trim().to_string()).collect()
}

/// Parses the file's text; errors name the line.
pub fn parse(text: &str) -> Result<Entries, String> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let f = fields(line);
        if f.len() < 3 || f[0].is_empty() || f[1].is_empty() {
            return Err(format!(
                "line {}: expected token,user,uid[,\"group1,group2\"]",
                index + 1
            ));
        }
        let groups = f
            .get(3)
            .map(|g| {
                g.split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        entries.push((
            f[0].as_bytes().to_vec(),
            Identity {
                user: f[1].clone(),
                uid: f[2].clone(),
                groups,
            },
        ));
    }
    Ok(entries)
}

fn modified(path: &PathBuf) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Compares without an early exit, so the time taken does not reveal how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl TokenFile {
    /// Loads the file; an unreadable or malformed file is an error.
    pub fn load(path: PathBuf) -> Result<TokenFile, String> {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let entries = parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let stamp = modified(&path);
        Ok(TokenFile {
            path,
            entries: RwLock::new((entries, stamp)),
        })
    }

    /// Re-reads the file if it changed; a bad edit is logged and the previous tokens stay.
    pub fn reload_if_changed(&self) {
        let stamp = modified(&self.path);
        if self.entries.read().1 == stamp {
            return;
        }
        let result = std::fs::read_to_string(&self.path)
            .map_err(|e| e.to_string())
            .and_then(|text| parse(&text));
        let mut entries = self.entries.write();
        entries.1 = stamp;
        match result {
            Ok(parsed) => {
                tracing::info!(path = %self.path.display(), tokens = parsed.len(), "reloaded tokens");
                entries.0 = parsed;
            }
            Err(e) => {
                tracing::error!(path = %self.path.display(), error = %e, "keeping the previous tokens")
            }
        }
    }

    /// The identity a bearer token belongs to.
    pub fn authenticate(&self, token: &str) -> Option<Identity> {
        let entries = self.entries.read();
        let mut found = None;
        // Every entry is compared, so timing does not reveal which one matched.
        for (candidate, identity) in &entries.0 {
            if constant_time_eq(candidate, token.as_bytes()) {
                found = Some(identity.clone());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apiserver_csv_format_with_quoted_groups() {
        let entries = parse("# comment\nt1,alice,u1,\"ops,dev\"\nt2,bob,u2\n").unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].1.user, "alice");
        assert_eq!(entries[0].1.groups, vec!["ops", "dev"]);
        assert!(entries[1].1.groups.is_empty());
        assert!(parse("only-a-token\n").unwrap_err().contains("line 1"));
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
