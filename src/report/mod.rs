//! What a run tells people: the CSV diff report (one row per changed field, conflict, invalid row
//! and warning) and the console summary. The run hands rows here as chunks commit (or, in a
//! dry run, as they would); this module never decides anything.

mod row;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use row::{Action, ReportRow};

use crate::error::{Error, Result};

/// What a run did to the feed's rows, by outcome: counted by the planner, told by the summary
/// line, recorded with the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub items: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub conflict: usize,
    pub invalid: usize,
    pub warning: usize,
    /// Feed rows that are not products (totals, `skip_rows`): not among `items`.
    pub skipped: usize,
}

pub const HEADER: [&str; 8] = ["action", "sku", "product_id", "post_type", "field", "old", "new", "message"];

/// The CSV report file, if one was asked for.
pub struct Report {
    writer: Option<(PathBuf, csv::Writer<BufWriter<File>>)>,
}

impl Report {
    pub fn create(path: Option<&Path>) -> Result<Report> {
        let writer = match path {
            None => None,
            Some(path) => {
                let file = File::create(path)
                    .map_err(|e| Error::Config(format!("cannot write the report {}: {e}", path.display())))?;
                let mut w = csv::Writer::from_writer(BufWriter::new(file));
                w.write_record(HEADER).map_err(|e| Error::Internal(format!("report: {e}")))?;
                Some((path.to_path_buf(), w))
            }
        };
        Ok(Report { writer })
    }

    /// Is a report file being written?
    pub fn is_open(&self) -> bool {
        self.writer.is_some()
    }

    pub fn rows<'a>(&mut self, rows: impl IntoIterator<Item = &'a ReportRow>) -> Result<()> {
        let Some((path, w)) = self.writer.as_mut() else { return Ok(()) };
        for r in rows {
            let id = r.product_id.map(|i| i.to_string()).unwrap_or_default();
            w.write_record([r.action.as_str(), &r.sku, &id, r.post_type, &r.field, &r.old, &r.new, &r.message])
                .map_err(|e| Error::Internal(format!("writing the report {}: {e}", path.display())))?;
        }
        Ok(())
    }

    pub fn finish(&mut self) -> Result<()> {
        if let Some((path, w)) = self.writer.as_mut() {
            w.flush().map_err(|e| Error::Internal(format!("writing the report {}: {e}", path.display())))?;
        }
        Ok(())
    }
}

/// Text from a feed made safe for one log line: control characters (a newline in a SKU would
/// forge a log line) are written as escapes, `\n`, `\r`, `\t` or `\u{1b}`.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// One line a human reads at the end of a run.
pub fn summary_line(run_id: Option<u64>, dry_run: bool, resumed: bool, c: &Counts, elapsed: Duration) -> String {
    let would = if dry_run { "would be " } else { "" };
    let head = match (run_id, dry_run, resumed) {
        (_, true, _) => "dry run (nothing written)".to_string(),
        (Some(id), _, true) => format!("run {id} resumed and done"),
        (Some(id), _, false) => format!("run {id} done"),
        (None, _, _) => "run done".to_string(),
    };
    let skipped = if c.skipped > 0 { format!(", skipped {}", c.skipped) } else { String::new() };
    format!(
        "{head} in {:.1}s: {} rows; {would}created {}, {would}updated {}, unchanged {}, conflict {}, invalid {}, warnings {}{skipped}",
        elapsed.as_secs_f64(),
        c.items,
        c.created,
        c.updated,
        c.unchanged,
        c.conflict,
        c.invalid,
        c.warning
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_for_logs() {
        assert!(matches!(printable("A-1"), std::borrow::Cow::Borrowed("A-1")));
        assert_eq!(printable("A-1\nINFO run 9 done"), "A-1\\nINFO run 9 done");
        assert_eq!(printable("a\tb\r\u{1b}[31m\u{85}"), "a\\tb\\r\\u{1b}[31m\\u{85}");
        assert_eq!(printable("Чай"), "Чай");
    }
}
