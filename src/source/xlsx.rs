//! Spreadsheets (`.xlsx`, `.xlsm`, `.xls`, `.ods`) through calamine: one sheet (by name or
//! position), a header row (or none), columns by header text or by letter. Cells come back as
//! the text the user sees: numbers Excel typed as numbers lose the `.0` (`123`, not `123.0`),
//! text cells keep their leading zeros, dates read as `2024-05-31`, formulas give their cached
//! value, and an error cell (`#N/A`) rejects its row, naming the cell (`Лист1!C17`).

use std::io::Cursor;

use calamine::{Data, Reader, Sheets};
use sha2::{Digest, Sha256};

use super::csv::{map_columns, Places};
use super::{column_letters, Each, Field, Locate, RawFeed, RawRecord, FIELDS};
use crate::config::{hex, SheetRef, XlsxSource};
use crate::error::{Error, Result};

/// In the list of columns read, an attribute's column is marked by a part from here up (its
/// index in `[source.attributes]` added).
const ATTRIBUTE_PART: usize = 1 << 24;
/// A `[source.meta]` column's part: from here up (its position in the places' meta list added).
const META_PART: usize = 1 << 25;

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
    let sheet = pick_sheet(&book.sheet_names(), src, file)?;
    let cannot = |e: &dyn std::fmt::Display| Error::Source(format!("{file}: cannot read sheet `{sheet}`: {e}"));
    let mut rows = Rows::new(src, file, &sheet, each);
    match &mut book {
        // Cells as they stream from the sheet's XML: a stray far cell costs nothing.
        Sheets::Xlsx(xlsx) => {
            let mut cells = xlsx.worksheet_cells_reader(&sheet).map_err(|e| cannot(&e))?;
            while let Some(cell) = cells.next_cell().map_err(|e| cannot(&e))? {
                let (row, col) = cell.get_position();
                rows.cell(row, col, cell.get_value().clone().into())?;
            }
        }
        // .xls (at most 65,536 × 256 cells) and .ods are read whole by the crate.
        other => {
            let range = other.worksheet_range(&sheet).map_err(|e| cannot(&e))?;
            if let (Some(start), Some(end)) = (range.start(), range.end()) {
                rows.within_bounds(start, end)?;
                for (r, c, value) in range.used_cells() {
                    rows.cell(start.0 + r as u32, start.1 + c as u32, value.clone())?;
                }
            }
        }
    }
    rows.finish()
}

/// The sheet the config names, by name (exact, then ignoring case) or by position.
fn pick_sheet(names: &[String], src: &XlsxSource, file: &str) -> Result<String> {
    let listing = || names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    match &src.sheet {
        SheetRef::Name(wanted) => names
            .iter()
            .find(|n| *n == wanted)
            .or_else(|| names.iter().find(|n| n.to_lowercase() == wanted.to_lowercase()))
            .cloned()
            .ok_or_else(|| Error::Source(format!("{file}: there is no sheet `{wanted}`; the sheets are {}", listing()))),
        SheetRef::Index(i) => names.get(i - 1).cloned().ok_or_else(|| {
            Error::Source(format!("{file}: sheet = {i} but the workbook has {} sheet(s): {}", names.len(), listing()))
        }),
    }
}

/// The most cells a sheet's used range may span: far beyond any product list (1,048,576 rows of
/// 64 columns), far below what reading a range whole would need for Excel's largest sheet.
const MAX_SHEET_CELLS: u64 = 1 << 26;

/// The mapped columns: where values are, and (field, stock part, column) of each read.
type Mapped = (Cells, Vec<(Field, usize, usize)>);

/// Turns a sheet's non-empty cells, in row order, into records: the header row first (its
/// columns are mapped as soon as the data begins), then one record per row with a value in a
/// mapped column, handed on as soon as the row is complete. Only the mapped columns of one row
/// are held at a time.
struct Rows<'a, 'e> {
    src: &'a XlsxSource,
    file: &'a str,
    sheet: &'a str,
    each: &'a mut Each<'e>,
    /// 0-based index of the header row, if there is one.
    header_at: Option<u32>,
    header: Vec<(u32, String)>,
    /// Once the data begins: the places of the mapped columns and (field, part, column) of each.
    mapped: Option<Mapped>,
    /// The row being read: its index and the values of its mapped columns, by `mapped` order.
    current: Option<(u32, Vec<Data>)>,
    /// The used range so far: first row and column, last row and column.
    bounds: Option<((u32, u32), (u32, u32))>,
    rows: usize,
}

impl<'a, 'e> Rows<'a, 'e> {
    fn new(src: &'a XlsxSource, file: &'a str, sheet: &'a str, each: &'a mut Each<'e>) -> Self {
        let header_at = src.header_row.checked_sub(1);
        Rows { src, file, sheet, each, header_at, header: Vec::new(), mapped: None, current: None, bounds: None, rows: 0 }
    }

    fn cell(&mut self, row: u32, col: u32, value: Data) -> Result<()> {
        if value == Data::Empty {
            return Ok(());
        }
        let ((r0, c0), (r1, c1)) = self.bounds.unwrap_or(((row, col), (row, col)));
        let bounds = ((r0.min(row), c0.min(col)), (r1.max(row), c1.max(col)));
        self.bounds = Some(bounds);
        self.within_bounds(bounds.0, bounds.1)?;
        match self.header_at {
            Some(h) if row < h => return Ok(()),
            Some(h) if row == h => {
                self.header.push((col, text(&value).unwrap_or_default().trim().to_string()));
                return Ok(());
            }
            _ => {}
        }
        if self.mapped.is_none() {
            self.mapped = Some(self.map()?);
        }
        let Some((_, wanted)) = &self.mapped else { return Ok(()) };
        let Some(slot) = wanted.iter().position(|&(_, _, c)| c == col as usize) else { return Ok(()) };
        let slots = wanted.len();
        match &self.current {
            Some((r, _)) if *r == row => {}
            Some((r, _)) if *r > row => {
                return Err(Error::Source(format!(
                    "[{}]{}: row {} comes after row {} in the file; re-save the sheet in Excel or LibreOffice",
                    self.file,
                    sheet_ref(self.sheet),
                    row + 1,
                    r + 1
                )))
            }
            _ => {
                self.flush();
                self.current = Some((row, vec![Data::Empty; slots]));
            }
        }
        if let Some((_, values)) = &mut self.current {
            // The same column twice in a row (a broken file): the first value counts.
            if values[slot] == Data::Empty {
                values[slot] = value;
            }
        }
        Ok(())
    }

    /// Refuses a used range no product list has, naming it and its far corner.
    fn within_bounds(&self, (r0, c0): (u32, u32), (r1, c1): (u32, u32)) -> Result<()> {
        let cells = (r1 - r0 + 1) as u64 * (c1 - c0 + 1) as u64;
        if cells <= MAX_SHEET_CELLS {
            return Ok(());
        }
        let at = |r: u32, c: u32| format!("{}{}", column_letters(c as usize), r + 1);
        Err(Error::Source(format!(
            "[{}]{}: the sheet's used range {}:{} spans {} cells, far beyond any product list (at most {} are read); \
             a stray value at {}? Delete the rows and columns past the data (Ctrl+End shows the last used cell) and save again",
            self.file,
            sheet_ref(self.sheet),
            at(r0, c0),
            at(r1, c1),
            crate::widths::thousands(cells),
            crate::widths::thousands(MAX_SHEET_CELLS),
            at(r1, c1)
        )))
    }

    /// The header's columns mapped to fields (also letters, or letters only without a header).
    fn map(&mut self) -> Result<Mapped> {
        let shown_sheet = sheet_ref(self.sheet);
        let mut headers: Vec<String> = Vec::new();
        for (col, title) in std::mem::take(&mut self.header) {
            let col = col as usize;
            if headers.len() <= col {
                headers.resize(col + 1, String::new());
            }
            headers[col] = title;
        }
        if self.header_at.is_some() && headers.iter().all(String::is_empty) {
            return Err(Error::Source(format!(
                "[{}]{shown_sheet} row {}: the header row is empty; set [source] header_row to the row with the column titles \
                 (or 0 and map columns by letter)",
                self.file, self.src.header_row
            )));
        }
        let at = match self.header_at {
            Some(_) => format!("[{}]{shown_sheet} row {}", self.file, self.src.header_row),
            None => format!("[{}]{shown_sheet}", self.file),
        };
        let places = map_columns(&headers, &self.src.columns, &at, true)?;
        let mut wanted: Vec<(Field, usize, usize)> = Vec::with_capacity(FIELDS + places.more_stock.len());
        for f in Field::ALL {
            if let Some(c) = places.index[f as usize] {
                wanted.push((f, 0, c));
            }
        }
        for (part, &c) in places.more_stock.iter().enumerate() {
            wanted.push((Field::Stock, part + 1, c));
        }
        for (i, (_, c)) in places.attributes.iter().enumerate() {
            wanted.push((Field::Name, ATTRIBUTE_PART + i, *c));
        }
        for (i, (_, c)) in places.meta.iter().enumerate() {
            wanted.push((Field::Name, META_PART + i, *c));
        }
        Ok((Cells { file: self.file.to_string(), sheet: shown_sheet, places }, wanted))
    }

    /// Hands the row being read on as a record.
    fn flush(&mut self) {
        let (Some((row, values)), Some((cells, wanted))) = (self.current.take(), &self.mapped) else { return };
        let mut record = RawRecord { line: row as u64 + 1, ..Default::default() };
        let mut filled = false;
        for (&(field, part, _), cell) in wanted.iter().zip(&values) {
            let value = match text(cell) {
                Ok(v) => v,
                Err(message) => {
                    record.reject((part < ATTRIBUTE_PART).then_some((field, part)), message);
                    filled = true;
                    String::new()
                }
            };
            filled |= !value.trim().is_empty();
            if part >= META_PART {
                record.meta.push((cells.places.meta[part - META_PART].0, value));
            } else if part >= ATTRIBUTE_PART {
                record.attributes.push((cells.places.attributes[part - ATTRIBUTE_PART].0.clone(), value));
            } else if part == 0 {
                record.set(field, value);
            } else {
                record.more_stock.push(value);
            }
        }
        if filled {
            self.rows += 1;
            (self.each)(&record, cells);
        }
    }

    fn finish(mut self) -> Result<()> {
        if self.bounds.is_none() {
            return Err(Error::Source(format!("{}: sheet `{}` is empty; refusing to sync an empty feed", self.file, self.sheet)));
        }
        if self.mapped.is_none() {
            // A header and nothing below it: still check the header maps.
            self.mapped = Some(self.map()?);
        }
        self.flush();
        if self.rows == 0 {
            return Err(Error::Source(format!("[{}]{}: the sheet has no data rows; refusing to sync an empty feed", self.file, sheet_ref(self.sheet))));
        }
        Ok(())
    }
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
