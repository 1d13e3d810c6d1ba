//! CSV / TSV feeds: encoding (UTF-8 with or without BOM, Windows-1251), delimiter detection
//! among `,` `;` TAB, header mapping to canonical fields. Structural problems of a single row
//! reject that row; problems of the file (unreadable, undecodable, no SKU column, no rows)
//! fail the source.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use super::{Field, RawFeed, RawRecord};
use crate::config::{hex, CsvSource, Encoding};
use crate::error::{Error, Result};

/// Reads the feed file and hands each row to `each`, in order; returns the feed's provenance.
pub fn read(src: &CsvSource, each: &mut dyn FnMut(RawRecord)) -> Result<RawFeed> {
    let label = src.path.display().to_string();
    let bytes = std::fs::read(&src.path)
        .map_err(|e| Error::Source(format!("cannot read feed {label}: {e}")))?;
    parse(&bytes, src, &label, each)
}

/// Parses a whole feed into memory (tests and small feeds).
pub fn parse_all(bytes: &[u8], src: &CsvSource, label: &str) -> Result<RawFeed> {
    let mut records = Vec::new();
    let mut feed = parse(bytes, src, label, &mut |r| records.push(r))?;
    feed.records = records;
    Ok(feed)
}

pub fn parse(bytes: &[u8], src: &CsvSource, label: &str, each: &mut dyn FnMut(RawRecord)) -> Result<RawFeed> {
    let sha256 = hex(&Sha256::digest(bytes));
    let text = decode(bytes, src.encoding, label)?;
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first_line.is_empty() {
        return Err(Error::Source(format!("{label}: the feed is empty (expected a header row and data rows)")));
    }
    let delimiter = src.delimiter.unwrap_or_else(|| detect_delimiter(first_line));

    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error::Source(format!("{label}: cannot read the header row: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();

    let mut index: [Option<usize>; 5] = [None; 5];
    for field in Field::ALL {
        let wanted = column_name(src, field);
        let found: Vec<usize> = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.to_lowercase() == wanted.to_lowercase())
            .map(|(i, _)| i)
            .collect();
        if found.len() > 1 {
            return Err(Error::Source(format!(
                "{label}:1: column `{wanted}` ({}) appears {} times in the header (columns {}); expected it once",
                field.name(),
                found.len(),
                found.iter().map(|i| (i + 1).to_string()).collect::<Vec<_>>().join(", ")
            )));
        }
        index[field as usize] = found.first().copied();
    }
    if index[Field::Sku as usize].is_none() {
        return Err(Error::Source(format!(
            "{label}:1: the header has no SKU column `{}`; found columns: {} (map it with [source.columns] sku = \"...\")",
            column_name(src, Field::Sku),
            headers.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
        )));
    }

    let mut rows = 0usize;
    let mut record = ::csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(Error::Source(format!("{label}:{line}: malformed CSV: {e}")));
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut raw = RawRecord { line, ..Default::default() };
        if record.len() != headers.len() {
            raw.problem = Some((
                "row".into(),
                format!("expected {} columns as in the header, found {}", headers.len(), record.len()),
            ));
        }
        for field in Field::ALL {
            if let Some(i) = index[field as usize] {
                raw.cells[field as usize] = Some(record.get(i).unwrap_or("").to_string());
            }
        }
        rows += 1;
        each(raw);
    }
    if rows == 0 {
        return Err(Error::Source(format!(
            "{label}: the feed has a header but no data rows; refusing to sync an empty feed"
        )));
    }
    Ok(RawFeed { label: label.to_string(), sha256, records: Vec::new() })
}

fn column_name(src: &CsvSource, field: Field) -> String {
    let c = &src.columns;
    let configured = match field {
        Field::Sku => &c.sku,
        Field::Name => &c.name,
        Field::RegularPrice => &c.regular_price,
        Field::SalePrice => &c.sale_price,
        Field::Stock => &c.stock,
    };
    configured.clone().unwrap_or_else(|| field.name().to_string())
}

fn decode<'a>(bytes: &'a [u8], encoding: Encoding, label: &str) -> Result<Cow<'a, str>> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest, label);
    }
    match encoding {
        Encoding::Utf8 => utf8(bytes, label),
        Encoding::Windows1251 => Ok(encoding_rs::WINDOWS_1251.decode_without_bom_handling(bytes).0),
    }
}

fn utf8<'a>(bytes: &'a [u8], label: &str) -> Result<Cow<'a, str>> {
    std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
        let at = e.valid_up_to();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        Error::Source(format!(
            "{label}:{line}: not valid UTF-8 (byte offset {at}); if this is a 1C/Excel export in Windows-1251, set [source] encoding = \"windows-1251\""
        ))
    })
}

/// Picks the delimiter that occurs most often in the header line, outside quotes.
fn detect_delimiter(header: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in header.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for c in counts.iter_mut() {
                if c.0 == b {
                    c.1 += 1;
                }
            }
        }
    }
    counts.iter().max_by_key(|c| c.1).filter(|c| c.1 > 0).map(|c| c.0).unwrap_or(b',')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Columns;
    use std::path::PathBuf;

    fn src(encoding: Encoding, columns: Columns) -> CsvSource {
        CsvSource { path: PathBuf::from("feed.csv"), delimiter: None, encoding, columns }
    }

    #[test]
    fn detects_semicolon_and_maps_columns_case_insensitively() {
        let feed = parse_all(b"SKU;Stock\nA-1;5\n", &src(Encoding::Utf8, Columns::default()), "f.csv").unwrap();
        assert_eq!(feed.records.len(), 1);
        assert_eq!(feed.records[0].get(Field::Sku), Some("A-1"));
        assert_eq!(feed.records[0].get(Field::Stock), Some("5"));
        assert_eq!(feed.records[0].get(Field::Name), None);
        assert_eq!(feed.records[0].line, 2);
    }

    #[test]
    fn windows_1251_with_russian_headers() {
        let cols = Columns { sku: Some("Артикул".into()), stock: Some("Остаток".into()), ..Default::default() };
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("Артикул;Остаток\nКР-1;3\n");
        let feed = parse_all(&bytes, &src(Encoding::Windows1251, cols), "f.csv").unwrap();
        assert_eq!(feed.records[0].get(Field::Sku), Some("КР-1"));
    }

    #[test]
    fn utf8_error_names_line_and_hint() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("sku\nКР-1\n");
        let err = parse_all(&bytes, &src(Encoding::Utf8, Columns::default()), "f.csv").unwrap_err().to_string();
        assert!(err.contains("f.csv:2") && err.contains("windows-1251"), "{err}");
    }

    #[test]
    fn bom_is_accepted() {
        let feed = parse_all(b"\xEF\xBB\xBFsku,stock\nA,1\n", &src(Encoding::Utf8, Columns::default()), "f").unwrap();
        assert_eq!(feed.records[0].get(Field::Sku), Some("A"));
    }

    #[test]
    fn missing_sku_column_lists_found_columns() {
        let err = parse_all(b"article,stock\nA,1\n", &src(Encoding::Utf8, Columns::default()), "f.csv").unwrap_err().to_string();
        assert!(err.contains("no SKU column `sku`") && err.contains("`article`"), "{err}");
    }

    #[test]
    fn ragged_row_is_a_row_problem_and_header_only_fails() {
        let feed = parse_all(b"sku,stock\nA,1,9\nB,2\n", &src(Encoding::Utf8, Columns::default()), "f").unwrap();
        assert!(feed.records[0].problem.is_some());
        assert!(feed.records[1].problem.is_none());
        assert!(parse_all(b"sku,stock\n", &src(Encoding::Utf8, Columns::default()), "f").is_err());
        assert!(parse_all(b"", &src(Encoding::Utf8, Columns::default()), "f").is_err());
    }

    #[test]
    fn quoted_field_with_newline_keeps_line_numbers() {
        let feed = parse_all(b"sku,name\nA,\"two\nlines\"\nB,x\n", &src(Encoding::Utf8, Columns::default()), "f").unwrap();
        assert_eq!(feed.records[0].get(Field::Name), Some("two\nlines"));
        assert_eq!(feed.records[1].line, 4);
    }
}
