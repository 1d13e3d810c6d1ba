//! Spreadsheets (`.xlsx`, `.xlsm`, `.xls`, `.ods`) through calamine: one sheet (by name or
//! position), a header row (or none), columns by header text or by letter. Cells come back as
//! the text the user sees: numbers Excel typed as numbers lose the `.0` (`123`, not `123.0`),
//! text cells keep their leading zeros, dates read as `2024-05-31`, formulas give their cached
//! value, and an error cell (`#N/A`) rejects its row, naming the cell (`Лист1!C17`).

use std::io::Cursor;

use calamine::{Data, Reader};
use sha2::{Digest, Sha256};

use super::csv::{map_columns, Places};
use super::{column_letters, Each, Field, Locate, RawFeed, RawRecord, FIELDS};
use crate::config::{hex, SheetRef, XlsxSource};
use crate::error::{Error, Result};

/// Where spreadsheet values are, as Excel writes a reference to another workbook:
/// `[prices.xlsx]Лист1!C17`.
struct Cells {
    file: String,
    sheet: String,
    places: Places,
}

impl Locate for Cells {
    fn locate(&self, record: &RawRecord, field: Option<(Field, usize)>) -> String {
        match self.places.column(field) {
            Some(c) => format!("[{}]{}!{}{}", self.file, self.sheet, column_letters(c), record.line),
            None => format!("[{}]{} row {}", self.file, self.sheet, record.line),
        }
    }
}

/// A sheet name as Excel writes it in a reference: quoted when it holds anything but letters,
/// digits and `_`.
fn sheet_ref(name: &str) -> String {
    if name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', "''"))
    }
}

pub fn read(src: &XlsxSource, each: &mut Each<'_>) -> Result<RawFeed> {
    let label = src.path.display().to_string();
    let bytes = std::fs::read(&src.path).map_err(|e| Error::Source(format!("cannot read spreadsheet {label}: {e}")))?;
    let file = src.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| label.clone());
    let sha256 = hex(&Sha256::digest(&bytes));
    parse(bytes, src, &file, each)?;
    Ok(RawFeed { label, sha256 })
}

pub fn parse(bytes: Vec<u8>, src: &XlsxSource, file: &str, each: &mut Each<'_>) -> Result<()> {
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| {
        Error::Source(format!("{file}: not a readable spreadsheet ({e}); expected an .xlsx, .xlsm, .xls or .ods file"))
    })?;
    let names = book.sheet_names();
    let listing = || names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let sheet = match &src.sheet {
        SheetRef::Name(wanted) => names
            .iter()
            .find(|n| *n == wanted)
            .or_else(|| names.iter().find(|n| n.to_lowercase() == wanted.to_lowercase()))
            .cloned()
            .ok_or_else(|| Error::Source(format!("{file}: there is no sheet `{wanted}`; the sheets are {}", listing())))?,
        SheetRef::Index(i) => names.get(i - 1).cloned().ok_or_else(|| {
            Error::Source(format!("{file}: sheet = {i} but the workbook has {} sheet(s): {}", names.len(), listing()))
        })?,
    };
    let range = book
        .worksheet_range(&sheet)
        .map_err(|e| Error::Source(format!("{file}: cannot read sheet `{sheet}`: {e}")))?;
    let shown_sheet = sheet_ref(&sheet);
    let (Some((first_row, _)), Some((last_row, last_col))) = (range.start(), range.end()) else {
        return Err(Error::Source(format!("{file}: sheet `{sheet}` is empty; refusing to sync an empty feed")));
    };

    let header_at = src.header_row.checked_sub(1);
    let headers: Vec<String> = match header_at {
        Some(row) => (0..=last_col).map(|c| text(range.get_value((row, c)).unwrap_or(&Data::Empty)).unwrap_or_default().trim().to_string()).collect(),
        None => Vec::new(),
    };
    if header_at.is_some() && headers.iter().all(String::is_empty) {
        return Err(Error::Source(format!(
            "[{file}]{shown_sheet} row {}: the header row is empty; set [source] header_row to the row with the column titles \
             (or 0 and map columns by letter)",
            src.header_row
        )));
    }
    let at = match header_at {
        Some(_) => format!("[{file}]{shown_sheet} row {}", src.header_row),
        None => format!("[{file}]{shown_sheet}"),
    };
    let places = map_columns(&headers, &src.columns, &at, true)?;
    let cells = Cells { file: file.to_string(), sheet: shown_sheet, places };

    let start = header_at.map(|h| h + 1).unwrap_or(0).max(first_row);
    let mut rows = 0usize;
    let mut wanted: Vec<(Field, usize, usize)> = Vec::with_capacity(FIELDS + cells.places.more_stock.len());
    for f in Field::ALL {
        if let Some(c) = cells.places.index[f as usize] {
            wanted.push((f, 0, c));
        }
    }
    for (part, &c) in cells.places.more_stock.iter().enumerate() {
        wanted.push((Field::Stock, part + 1, c));
    }
    for row in start..=last_row {
        let mut record = RawRecord { line: row as u64 + 1, ..Default::default() };
        let mut filled = false;
        for &(field, part, col) in &wanted {
            let cell = range.get_value((row, col as u32)).unwrap_or(&Data::Empty);
            let value = match text(cell) {
                Ok(v) => v,
                Err(message) => {
                    record.reject(Some((field, part)), message);
                    filled = true;
                    String::new()
                }
            };
            filled |= !value.trim().is_empty();
            if part == 0 {
                record.set(field, value);
            } else {
                record.more_stock.push(value);
            }
        }
        if !filled {
            continue;
        }
        rows += 1;
        each(&record, &cells);
    }
    if rows == 0 {
        return Err(Error::Source(format!(
            "[{file}]{}: the sheet has no data rows; refusing to sync an empty feed",
            cells.sheet
        )));
    }
    Ok(())
}

/// The text a cell shows; `Err` for an error cell.
fn text(cell: &Data) -> std::result::Result<String, String> {
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(d) => match d.as_datetime() {
            Some(dt) if d.is_datetime() => {
                if dt.time() == chrono::NaiveTime::MIN {
                    dt.format("%Y-%m-%d").to_string()
                } else {
                    dt.format("%Y-%m-%d %H:%M:%S").to_string()
                }
            }
            _ => number_text(d.as_f64()),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => return Err(format!("the cell holds the error {e}; expected a value")),
    })
}

/// A number as Excel shows it in a General cell: whole numbers without `.0`, at most 15
/// significant digits (so `0.1 + 0.2` reads `0.3`).
pub fn number_text(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    let shortest = format!("{f}");
    let significant = shortest.trim_start_matches(['-', '0', '.']).chars().filter(char::is_ascii_digit).count();
    if significant <= 15 || shortest.contains('e') {
        return shortest;
    }
    let magnitude = f.abs().log10().floor() as i32;
    let decimals = (14 - magnitude).clamp(0, 30) as usize;
    let fixed = format!("{f:.decimals$}");
    if fixed.contains('.') {
        fixed.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        fixed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_excel_shows_them() {
        assert_eq!(number_text(123.0), "123");
        assert_eq!(number_text(-5.0), "-5");
        assert_eq!(number_text(19.99), "19.99");
        assert_eq!(number_text(0.1 + 0.2), "0.3");
        assert_eq!(number_text(1234.5), "1234.5");
        assert_eq!(number_text(1e9), "1000000000");
        assert_eq!(number_text(4_607_001_234_567.0), "4607001234567");
    }

    #[test]
    fn sheet_names_are_quoted_like_excel() {
        assert_eq!(sheet_ref("Лист1"), "Лист1");
        assert_eq!(sheet_ref("My prices"), "'My prices'");
        assert_eq!(sheet_ref("O'Brien"), "'O''Brien'");
    }

    #[test]
    fn cells_become_text() {
        assert_eq!(text(&Data::String("00123".into())).unwrap(), "00123");
        assert_eq!(text(&Data::Float(123.0)).unwrap(), "123");
        assert_eq!(text(&Data::Int(7)).unwrap(), "7");
        assert!(text(&Data::Error(calamine::CellErrorType::NA)).unwrap_err().contains("#N/A"));
    }
}
