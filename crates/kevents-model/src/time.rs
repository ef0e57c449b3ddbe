//! Timestamps as stored (microseconds since the Unix epoch) and the two Kubernetes wire formats.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// An instant with microsecond precision, stored as microseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Micros(pub i64);

impl Micros {
    /// The current wall-clock time.
    pub fn now() -> Micros {
        Micros(jiff::Timestamp::now().as_microsecond())
    }

    /// Whole seconds since the epoch.
    pub fn as_seconds(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    /// This instant with the sub-second part dropped, as `metav1.Time` keeps it.
    pub fn truncate_to_seconds(self) -> Micros {
        Micros(self.as_seconds() * 1_000_000)
    }

    fn timestamp(self) -> jiff::Timestamp {
        jiff::Timestamp::from_microsecond(self.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    /// RFC 3339 with second precision, the `metav1.Time` wire form: `2024-01-01T00:00:00Z`.
    pub fn to_time_string(self) -> String {
        let mut out = String::with_capacity(20);
        let _ = write!(out, "{:.0}", self.timestamp());
        out
    }

    /// RFC 3339 with exactly six fractional digits, the `metav1.MicroTime` wire form.
    pub fn to_micro_time_string(self) -> String {
        let mut out = String::with_capacity(27);
        let _ = write!(out, "{:.6}", self.timestamp());
        out
    }

    /// Parses any RFC 3339 timestamp.
    pub fn parse(text: &str) -> Option<Micros> {
        text.parse::<jiff::Timestamp>()
            .ok()
            .map(|ts| Micros(ts.as_microsecond()))
    }

    /// Parses an RFC 3339 time that bounds a window of times. RFC 3339 reaches
    /// `9999-12-31T23:59:59Z`; the instants past the last one kevents represents (jiff's range
    /// ends a day earlier, to leave room for UTC offsets) are clamped to it, as are those before
    /// the first, so that "from the end of time" is a valid, empty window.
    pub fn parse_window_bound(text: &str) -> Option<Micros> {
        if let Some(micros) = Micros::parse(text) {
            return Some(micros);
        }
        let pieces = jiff::fmt::temporal::Pieces::parse(text).ok()?;
        pieces.time()?;
        pieces.offset()?;
        let bound = if pieces.date().year() > 0 {
            jiff::Timestamp::MAX
        } else {
            jiff::Timestamp::MIN
        };
        Some(Micros(bound.as_microsecond()))
    }

    /// Converts from the time type used by k8s-openapi.
    pub fn from_jiff(ts: jiff::Timestamp) -> Micros {
        Micros(ts.as_microsecond())
    }
}

/// Formats a duration like the apiserver's `duration.HumanDuration` (`5m`, `3h12m`, `2d`, `<invalid>`).
pub fn human_duration(micros: i64) -> String {
    let seconds = micros.div_euclid(1_000_000);
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        return format!("{hours}h{m}m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        return format!("{}d{}h", hours / 24, h);
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = hours / 24 % 365;
        if days == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        return format!("{}y{}d", hours / 24 / 365, days);
    }
    format!("{}y", hours / 24 / 365)
}

/// Parses a Go duration (`168h`, `1h30m`, `90s`, `1.5h`, `500ms`) into microseconds.
pub fn parse_go_duration(text: &str) -> Result<i64, String> {
    let err = || format!("invalid duration {text:?}");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(err());
    }
    let negative = rest.starts_with('-');
    rest = rest.trim_start_matches(['-', '+']);
    if rest == "0" {
        return Ok(0);
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        if number_len == 0 {
            return Err(err());
        }
        let value: f64 = rest[..number_len].parse().map_err(|_| err())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 0.001,
            "us" | "µs" | "μs" => 1.0,
            "ms" => 1_000.0,
            "s" => 1_000_000.0,
            "m" => 60_000_000.0,
            "h" => 3_600_000_000.0,
            _ => return Err(err()),
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    let micros = total.round() as i64;
    Ok(if negative { -micros } else { micros })
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    #[test]
    fn human_duration_matches_apiserver_buckets() {
        assert_eq!(human_duration(-5 * S), "<invalid>");
        assert_eq!(human_duration(-S / 2), "0s");
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(119 * S), "119s");
        assert_eq!(human_duration(120 * S), "2m");
        assert_eq!(human_duration(125 * S), "2m5s");
        assert_eq!(human_duration(10 * 60 * S), "10m");
        assert_eq!(human_duration(179 * 60 * S), "179m");
        assert_eq!(human_duration(3 * 3600 * S), "3h");
        assert_eq!(human_duration((3 * 3600 + 12 * 60) * S), "3h12m");
        assert_eq!(human_duration(47 * 3600 * S), "47h");
        assert_eq!(human_duration(48 * 3600 * S), "2d");
        assert_eq!(human_duration(50 * 3600 * S), "2d2h");
        assert_eq!(human_duration(10 * 24 * 3600 * S), "10d");
        assert_eq!(human_duration(3 * 365 * 24 * 3600 * S), "3y");
        assert_eq!(human_duration((3 * 365 + 4) * 24 * 3600 * S), "3y4d");
        assert_eq!(human_duration(9 * 365 * 24 * 3600 * S), "9y");
    }

    #[test]
    fn wire_formats_have_go_precision() {
        let t = Micros(1_704_067_200_123_456);
        assert_eq!(t.to_time_string(), "2024-01-01T00:00:00Z");
        assert_eq!(t.to_micro_time_string(), "2024-01-01T00:00:00.123456Z");
        assert_eq!(
            Micros(1_704_067_200_000_000).to_micro_time_string(),
            "2024-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            Micros::parse("2024-01-01T01:00:00+01:00"),
            Some(Micros(1_704_067_200_000_000))
        );
        assert_eq!(Micros::parse("2024-01-01"), None);
    }

    #[test]
    fn the_last_rfc3339_second_parses_as_a_window_bound() {
        let end = Micros::parse_window_bound("9999-12-31T23:59:59Z").unwrap();
        assert_eq!(end, Micros(jiff::Timestamp::MAX.as_microsecond()));
        assert!(end > Micros::parse("9999-12-30T00:00:00Z").unwrap());
        let start = Micros::parse_window_bound("-009999-01-01T00:00:00Z").unwrap();
        assert_eq!(start, Micros(jiff::Timestamp::MIN.as_microsecond()));
        assert_eq!(
            Micros::parse_window_bound("2026-01-02T15:04:05Z"),
            Micros::parse("2026-01-02T15:04:05Z")
        );
        for bad in [
            "9999-12-31",
            "9999-12-31T23:59:59",
            "tomorrow",
            "9999-13-01T00:00:00Z",
        ] {
            assert_eq!(Micros::parse_window_bound(bad), None, "{bad}");
        }
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_go_duration("168h"), Ok(168 * 3600 * S));
        assert_eq!(parse_go_duration("1h30m"), Ok(5400 * S));
        assert_eq!(parse_go_duration("1.5h"), Ok(5400 * S));
        assert_eq!(parse_go_duration("250ms"), Ok(250_000));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert!(parse_go_duration("10").is_err());
        assert!(parse_go_duration("h").is_err());
        assert!(parse_go_duration("5d").is_err());
    }
}
