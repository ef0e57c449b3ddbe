//! `kevents export`: every matching event streamed page by page into a file, in constant memory.

pub mod csv;
#[cfg(feature = "parquet")]
mod parquet;
mod sink;

use sink::{CsvSink, JsonListSink, NdjsonSink, Sink};

use crate::context::HubArgs;
use crate::error::{CliError, Result};
use crate::filter::FilterArgs;
use crate::list::{decode_raw, Lister};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;

/// File formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One core/v1 Event per line (importable).
    Ndjson,
    /// One core/v1 `EventList` (importable, like `kubectl get events -o json`).
    Json,
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet (zero-copy into DuckDB, pandas, Spark).
    Parquet,
}

/// Flags of `kevents export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// File format (default: from the file's extension, else ndjson).
    #[arg(long, value_enum)]
    format: Option<ExportFormat>,
    /// File to write; `-` is stdout (not for parquet).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
    #[command(flatten)]
    hub: HubArgs,
}

fn format_of(args: &ExportArgs) -> ExportFormat {
    args.format
        .unwrap_or_else(|| match args.output.extension().and_then(|e| e.to_str()) {
            Some("json") => ExportFormat::Json,
            Some("csv") => ExportFormat::Csv,
            Some("parquet") => ExportFormat::Parquet,
            _ => ExportFormat::Ndjson,
        })
}

fn open_sink(format: ExportFormat, output: &PathBuf) -> Result<Box<dyn Sink>> {
    let to_stdout = output.as_os_str() == "-";
    let file_error = |e| CliError::io(format!("creating {}", output.display()), e);
    let writer: Box<dyn Write> = if to_stdout {
        Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout()))
    } else {
        Box::new(BufWriter::with_capacity(
            1 << 16,
            File::create(output).map_err(file_error)?,
        ))
    };
    Ok(match format {
        ExportFormat::Ndjson => Box::new(NdjsonSink(writer)),
        ExportFormat::Json => Box::new(JsonListSink {
            out: writer,
            first: true,
        }),
        ExportFormat::Csv => {
            let mut writer = writer;
            csv::write_header(&mut writer)
                .map_err(|e| CliError::io("writing the CSV header", e))?;
            Box::new(CsvSink(writer))
        }
        #[cfg(feature = "parquet")]
        ExportFormat::Parquet => {
            if to_stdout {
                return Err(CliError::Invalid(
                    "parquet cannot be written to stdout; give -o FILE".into(),
                ));
            }
            drop(writer);
            Box::new(parquet::ParquetSink::create(output)?)
        }
        #[cfg(not(feature = "parquet"))]
        ExportFormat::Parquet => {
            return Err(CliError::Invalid(
                "this kevents was built without parquet support (cargo feature `parquet`)".into(),
            ))
        }
    })
}

/// Runs `kevents export`.
pub async fn run(args: ExportArgs) -> Result<()> {
    let context = args.hub.connect().await?;
    let filter = args.filter.resolve(context.now)?;
    let format = format_of(&args);
    let mut sink = open_sink(format, &args.output)?;
    let progress = progress_bar();
    let decode = sink.needs_record() || !filter.is_server_side_only();
    let mut lister = Lister::new(&filter);
    let mut exported = 0u64;
    let write_error = |e| CliError::io(format!("writing {}", args.output.display()), e);
    while let Some(page) = lister.next_page(&context.hub).await? {
        for raw in &page.items {
            let record = if decode { Some(decode_raw(raw)?) } else { None };
            if record.as_ref().is_some_and(|r| !filter.matches(r)) {
                continue;
            }
            sink.write(raw, record.as_ref()).map_err(write_error)?;
            exported += 1;
        }
        progress.set_position(exported);
    }
    sink.finish().map_err(write_error)?;
    progress.finish_and_clear();
    if args.output.as_os_str() != "-" {
        eprintln!("exported {exported} events to {}", args.output.display());
    }
    Ok(())
}

/// A spinner with a count and rate on stderr when it is a terminal; hidden otherwise.
pub fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {human_pos} events ({per_sec}) {elapsed}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}
