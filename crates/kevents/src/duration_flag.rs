//! The parser of duration flags (Go syntax, positive), shared by the flag groups of `serve`.

use kevents_model::parse_go_duration;

/// A positive Go duration (`30s`, `5m`, `1h30m`) in microseconds.
pub(crate) fn duration_micros(text: &str) -> Result<i64, String> {
    let micros = parse_go_duration(text)?;
    if micros <= 0 {
        return Err(format!("duration must be positive: {text:?}"));
    }
    Ok(micros)
}
