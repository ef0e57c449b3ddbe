//! Terminal conventions: colour only on a TTY and never with `NO_COLOR`, widths that fit the
//! terminal, kubectl-style ages, and aligned tables.

use crate::error::{CliError, Result};
use kevents_model::{human_duration, Micros};
use std::io::{IsTerminal, Write};

/// How stdout is printed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours allowed.
    pub color: bool,
    /// Terminal width, when stdout is a terminal (lines are cut to it).
    pub width: Option<usize>,
}

impl Style {
    /// Detects the style of this process's stdout.
    pub fn stdout() -> Style {
        let tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let width = tty
            .then(|| {
                console::Term::stdout()
                    .size_checked()
                    .map(|(_, w)| w as usize)
            })
            .flatten();
        Style {
            color: tty && !no_color,
            width,
        }
    }

    /// Plain output: no colour, no width limit (pipes, files, tests).
    pub fn plain() -> Style {
        Style {
            color: false,
            width: None,
        }
    }

    /// `text` in the colour of an event type: Warning yellow, Normal unchanged.
    pub fn event_type(&self, text: &str, event_type: &str) -> String {
        if self.color && event_type == "Warning" {
            format!("\x1b[33m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// `text` dimmed (secondary information).
    pub fn dim(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[2m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// `line` cut to the terminal width with an ellipsis (unchanged when not on a terminal).
    pub fn fit(&self, line: &str) -> String {
        match self.width {
            Some(width) if console::measure_text_width(line) > width => {
                console::truncate_str(line, width, "…").into_owned()
            }
            _ => line.to_string(),
        }
    }
}

/// kubectl's age of `time` at `now` (`5m`, `3h12m`, `2d`); `<unknown>` without a time.
pub fn age(now: Micros, time: Option<Micros>) -> String {
    match time {
        Some(time) if time.0 > 0 => human_duration(now.0 - time.0),
        _ => "<unknown>".to_string(),
    }
}

/// `2026-01-02 15:04:05` in UTC.
pub fn clock(time: Micros) -> String {
    let text = time.to_time_string();
    text.trim_end_matches('Z').replacen('T', " ", 1)
}

/// Lays out rows under headers, columns separated by three spaces like kubectl; the last column
/// is not padded. Cells may hold colour codes (`colour` applies to whole rows by type).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = headers
        .iter()
        .map(|h| console::measure_text_width(h))
        .collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(console::measure_text_width(cell));
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        let cells: Vec<&str> = cells.collect();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                let pad = widths[i] - console::measure_text_width(cell) + 3;
                out.push_str(&" ".repeat(pad));
            }
        }
        out.trim_end().to_string()
    };
    let mut lines = vec![line(&mut headers.iter().copied())];
    for row in rows {
        lines.push(line(&mut row.iter().map(String::as_str)));
    }
    lines
}

/// Writes lines to stdout, each fitted to the terminal.
pub fn print_lines(style: &Style, lines: &[String]) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in lines {
        writeln!(out, "{}", style.fit(line)).map_err(|e| CliError::io("writing to stdout", e))?;
    }
    out.flush()
        .map_err(|e| CliError::io("writing to stdout", e))
}

/// Messages on one line: newlines and tabs become spaces.
pub fn one_line(text: &str) -> String {
    text.split(['\n', '\r', '\t'])
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Output format of `kevents clusters` and `kevents doctor`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Output {
    /// A table.
    Table,
    /// JSON.
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_with_three_spaces_and_no_trailing_blanks() {
        let lines = table(
            &["A", "LONGER"],
            &[vec!["xyz".into(), "1".into()], vec!["é".into(), "".into()]],
        );
        assert_eq!(lines, vec!["A     LONGER", "xyz   1", "é"]);
    }

    #[test]
    fn lines_fit_the_terminal_only_when_there_is_one() {
        let narrow = Style {
            color: false,
            width: Some(8),
        };
        assert_eq!(narrow.fit("0123456789"), "0123456…");
        assert_eq!(Style::plain().fit("0123456789"), "0123456789");
    }

    #[test]
    fn colour_is_only_for_warnings_and_only_when_allowed() {
        let colour = Style {
            color: true,
            width: None,
        };
        assert_eq!(
            colour.event_type("Warning", "Warning"),
            "\x1b[33mWarning\x1b[0m"
        );
        assert_eq!(colour.event_type("Normal", "Normal"), "Normal");
        assert_eq!(Style::plain().event_type("Warning", "Warning"), "Warning");
    }

    #[test]
    fn ages_follow_kubectl() {
        let now = Micros(10_000 * 1_000_000);
        assert_eq!(age(now, Some(Micros(now.0 - 300 * 1_000_000))), "5m");
        assert_eq!(age(now, None), "<unknown>");
        assert_eq!(one_line("a\nb\tc"), "a b c");
    }
}
