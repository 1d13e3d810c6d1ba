//! CSV / TSV feeds: encoding (UTF-8 with or without BOM, Windows-1251), delimiter detection
//! among `,` `;` TAB, header mapping to canonical fields. Structural problems of a single row
//! reject that row; problems of the file (unreadable, undecodable, no SKU column, no rows)
//! fail the source.

use std::io::{BufRead, BufReader, Read};

use super::{digest, Each, Field, Hashing, Locate, RawFeed, RawRecord, RowBound, RowTooLong, FIELDS};
use crate::config::{Columns, CsvSource, Encoding};
use crate::error::{Error, Result};

/// Streams the feed file through `each`, row by row, in order (the file is never held whole);
/// returns the feed's provenance.
pub fn read(src: &CsvSource, each: &mut Each<'_>) -> Result<RawFeed> {
    let label = src.path.display().to_string();
    let file = std::fs::File::open(&src.path).map_err(|e| Error::Source(format!("cannot read feed {label}: {e}")))?;
    let name = src.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| label.clone());
    let (input, hasher) = Hashing::new(file);
    parse(input, src, &name, each)?;
    Ok(RawFeed { label, sha256: digest(&hasher) })
}

/// Parses a whole feed into memory (tests).
#[cfg(test)]
pub fn parse_all(bytes: &[u8], src: &CsvSource, label: &str) -> Result<Vec<RawRecord>> {
    let mut records = Vec::new();
    parse(bytes, src, label, &mut |r, _| records.push(r.clone()))?;
    Ok(records)
}

/// Where CSV values are: `file:line:column`.
pub(crate) struct Places {
    pub(crate) file: String,
    /// The 0-based column of each field (the stock's first column), and of each further stock column.
    pub(crate) index: [Option<usize>; FIELDS],
    pub(crate) more_stock: Vec<usize>,
    /// `[source.attributes]`: each attribute's name and 0-based column.
    pub(crate) attributes: Vec<(String, usize)>,
    /// `[source.meta]`: (entry, 0-based column) for each column an entry reads.
    pub(crate) meta: Vec<(usize, usize)>,
}

impl Places {
    /// The 0-based column a value came from (a stock part by its position), if the row has one.
    pub(crate) fn column(&self, field: Option<(Field, usize)>) -> Option<usize> {
        match field {
            Some((Field::Stock, part)) if part > 0 => self.more_stock.get(part - 1).copied(),
            Some((f, _)) => self.index[f as usize],
            None => None,
        }
    }
}

impl Locate for Places {
    fn locate(&self, record: &RawRecord, field: Option<(Field, usize)>) -> String {
        match self.column(field) {
            Some(c) => format!("{}:{}:{}", self.file, record.line, c + 1),
            None => format!("{}:{}", self.file, record.line),
        }
    }
}

pub fn parse<R: Read>(input: R, src: &CsvSource, label: &str, each: &mut Each<'_>) -> Result<()> {
    let unreadable = |e: std::io::Error| Error::Source(format!("cannot read feed {label}: {e}"));
    let mut input = BufReader::with_capacity(1 << 20, input);
    let head = input.fill_buf().map_err(unreadable)?;
    match sniff(head) {
        Some(Sniffed::Utf16) => {
            // Excel's "Unicode text": UTF-16 with its byte-order mark, read as UTF-8 from here on.
            tracing::info!("{label} is UTF-16 text (Excel's \"Unicode text\"); reading it as such");
            let utf8: Box<dyn Read + '_> = Box::new(encoding_rs_io::DecodeReaderBytesBuilder::new().bom_sniffing(true).build(input));
            let src = CsvSource { encoding: Encoding::Utf8, ..src.clone() };
            return parse(utf8, &src, label, each);
        }
        Some(other) => return Err(Error::Source(format!("{label}: {}", other.told()))),
        None => {}
    }
    let bom = head.starts_with(b"\xEF\xBB\xBF");
    let head = if bom { &head[3..] } else { head };
    // The header line picks the delimiter (it is in the first megabyte of any sane feed).
    let first_line = match (bom, src.encoding) {
        (false, Encoding::Windows1251) => encoding_rs::WINDOWS_1251.decode_without_bom_handling(head).0.into_owned(),
        _ => String::from_utf8_lossy(head).into_owned(),
    };
    let first_line = first_line.lines().find(|l| !l.trim().is_empty()).unwrap_or("").to_string();
    if first_line.is_empty() {
        return Err(Error::Source(format!("{label}: the feed is empty (expected a header row and data rows)")));
    }
    if !bom && src.encoding == Encoding::Windows1251 && !head.is_ascii() && looks_like_utf8(head) {
        return Err(Error::Source(format!(
            "{label}: the file is valid UTF-8 with non-ASCII text, but [source] encoding = \"windows-1251\" is set; \
             remove that line (or export the file in Windows-1251)"
        )));
    }
    let delimiter = src.delimiter.unwrap_or_else(|| detect_delimiter(&first_line));
    if bom {
        input.consume(3);
    }
    // A BOM means UTF-8 whatever the config says; Windows-1251 is decoded as it streams.
    let decoded: Box<dyn Read> = match (bom, src.encoding) {
        (false, Encoding::Windows1251) => Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding_rs::WINDOWS_1251))
                .build(input),
        ),
        _ => Box::new(input),
    };

    let (bounded, mark) = RowBound::new(decoded);
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .buffer_capacity(1 << 16)
        .from_reader(bounded);
    let csv_error = |e: ::csv::Error| -> Error {
        // The row being read starts here (the reader's own count is off after CRLF).
        let line = mark.borrow().line;
        match e.kind() {
            ::csv::ErrorKind::Utf8 { err, .. } => Error::Source(format!(
                "{label}:{line}: not valid UTF-8 (in field {}, byte {} of it); if this is a 1C/Excel export in Windows-1251, \
                 set [source] encoding = \"windows-1251\"",
                err.field() + 1,
                err.valid_up_to()
            )),
            ::csv::ErrorKind::Io(io) => match io.get_ref().and_then(|e| e.downcast_ref::<RowTooLong>()) {
                Some(long) => Error::Source(format!(
                    "{label}: {long}; refusing the feed (a product row is a few hundred bytes: is the file broken, or a quote left open?)"
                )),
                None => Error::Source(format!("cannot read feed {label}: {io}")),
            },
            _ => Error::Source(format!("{label}:{line}: malformed CSV: {e}")),
        }
    };
    let headers: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    // The file's own line numbers (the reader's are one short after each CRLF, and count the
    // blank lines before a row as its own): a row ends on the line of its last byte and starts
    // as many lines up as its quoted values hold newlines.
    let row_ended = |reader: &::csv::Reader<_>| -> u64 {
        let end = reader.position().byte();
        let mut mark = mark.borrow_mut();
        let last = mark.line_before(end);
        (mark.end, mark.line) = (end, last + 1);
        last
    };
    row_ended(&reader);
    let places = map_columns(&headers, &src.columns, &format!("{label}:1"), false)?;
    let places = Places { file: label.to_string(), ..places };

    let mut rows = 0usize;
    let mut record = ::csv::StringRecord::new();
    loop {
        let line = match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => row_ended(&reader) - record.iter().map(|f| memchr::memchr_iter(b'\n', f.as_bytes()).count() as u64).sum::<u64>(),
            Err(e) => return Err(csv_error(e)),
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut raw = RawRecord { line, ..Default::default() };
        if record.len() != headers.len() {
            raw.reject(None, format!("expected {} columns as in the header, found {}", headers.len(), record.len()));
        }
        for field in Field::ALL {
            if let Some(i) = places.index[field as usize] {
                raw.cells[field as usize] = Some(record.get(i).unwrap_or("").to_string());
            }
        }
        raw.more_stock = places.more_stock.iter().map(|&i| record.get(i).unwrap_or("").to_string()).collect();
        raw.attributes = places.attributes.iter().map(|(name, i)| (name.clone(), record.get(*i).unwrap_or("").to_string())).collect();
        raw.meta = places.meta.iter().map(|&(entry, i)| (entry, record.get(i).unwrap_or("").to_string())).collect();
        rows += 1;
        each(&raw, &places);
    }
    if rows == 0 {
        return Err(Error::Source(format!(
            "{label}: the feed has a header but no data rows; refusing to sync an empty feed"
        )));
    }
    Ok(())
}

/// What a file that is not CSV text turns out to be, by its first bytes.
#[derive(Debug, PartialEq, Eq)]
enum Sniffed {
    Utf16,
    Gzip,
    Zip,
    OldExcel,
    Binary,
}

impl Sniffed {
    fn told(&self) -> &'static str {
        match self {
            Sniffed::Utf16 => "the file is UTF-16 text",
            Sniffed::Gzip => "the file is gzip-compressed, not CSV text; unpack it first (gunzip) and point [source] path at the unpacked file",
            Sniffed::Zip => "the file is a ZIP archive, not CSV text: an .xlsx workbook? Set [source] type = \"xlsx\" (or unpack the archive)",
            Sniffed::OldExcel => "the file is an old Excel workbook (.xls), not CSV text; set [source] type = \"xlsx\" (it reads .xls too)",
            Sniffed::Binary => "the file holds NUL bytes, so it is not CSV text: UTF-16 without its byte-order mark, or a binary file? Save it as \"CSV UTF-8\"",
        }
    }
}

fn sniff(head: &[u8]) -> Option<Sniffed> {
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        Some(Sniffed::Utf16)
    } else if head.starts_with(b"\x1F\x8B") {
        Some(Sniffed::Gzip)
    } else if head.starts_with(b"PK\x03\x04") {
        Some(Sniffed::Zip)
    } else if head.starts_with(b"\xD0\xCF\x11\xE0") {
        Some(Sniffed::OldExcel)
    } else if head[..head.len().min(4096)].contains(&0) {
        Some(Sniffed::Binary)
    } else {
        None
    }
}

/// Finds each configured column in a header row (case-insensitively). A column named twice in
/// the header, or a configured stock column that is absent, fails the source; so does a
/// missing SKU column. Shared with the spreadsheet reader, which passes `letters` to also
/// accept column letters.
pub(crate) fn map_columns(headers: &[String], columns: &Columns, at: &str, letters: bool) -> Result<Places> {
    let find = |wanted: &str, field: Field| -> Result<Option<usize>> {
        let found: Vec<usize> = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.to_lowercase() == wanted.to_lowercase())
            .map(|(i, _)| i)
            .collect();
        if found.len() > 1 {
            return Err(Error::Source(format!(
                "{at}: column `{wanted}` ({}) appears {} times in the header (columns {}); expected it once",
                field.name(),
                found.len(),
                found.iter().map(|i| (i + 1).to_string()).collect::<Vec<_>>().join(", ")
            )));
        }
        if found.is_empty() && letters {
            return Ok(super::column_index(wanted));
        }
        Ok(found.first().copied())
    };
    let listing = || {
        let shown: Vec<String> = headers.iter().filter(|h| !h.is_empty()).map(|h| format!("`{h}`")).collect();
        if shown.is_empty() { "none".to_string() } else { shown.join(", ") }
    };
    let mut index: [Option<usize>; FIELDS] = [None; FIELDS];
    for field in Field::ALL {
        if field == Field::Stock {
            continue;
        }
        index[field as usize] = find(&columns.name_of(field), field)?;
    }
    if index[Field::Sku as usize].is_none() {
        return Err(Error::Source(format!(
            "{at}: the header has no SKU column `{}`; found columns: {} (map it with [source.columns] sku = \"...\")",
            columns.name_of(Field::Sku),
            listing()
        )));
    }
    let mut more_stock = Vec::new();
    let stock_names = columns.stock_names();
    for (part, name) in stock_names.iter().enumerate() {
        let found = find(name, Field::Stock)?;
        match (part, found) {
            (0, f) => index[Field::Stock as usize] = f,
            (_, Some(i)) => more_stock.push(i),
            (_, None) => {
                return Err(Error::Source(format!(
                    "{at}: the header has no stock column `{name}`; found columns: {}", listing()
                )))
            }
        }
    }
    if columns.stock.is_some() && index[Field::Stock as usize].is_none() {
        return Err(Error::Source(format!(
            "{at}: the header has no stock column `{}`; found columns: {}", stock_names[0], listing()
        )));
    }
    for (field, explicit) in [
        (Field::RegularPrice, &columns.regular_price),
        (Field::SalePrice, &columns.sale_price),
        (Field::Name, &columns.name),
        (Field::ExternalId, &columns.external_id),
        (Field::Description, &columns.description),
        (Field::ShortDescription, &columns.short_description),
        (Field::Gtin, &columns.gtin),
        (Field::Category, &columns.category),
        (Field::ParentSku, &columns.parent_sku),
        (Field::Images, &columns.images),
    ] {
        if let (Some(name), None) = (explicit, index[field as usize]) {
            return Err(Error::Source(format!(
                "{at}: the header has no column `{name}` ({} in [source.columns]); found columns: {}",
                field.name(),
                listing()
            )));
        }
    }
    let mut attributes = Vec::new();
    for (name, column) in &columns.attributes {
        match find(column, Field::Name)? {
            Some(i) => attributes.push((name.clone(), i)),
            None => {
                return Err(Error::Source(format!(
                    "{at}: the header has no column `{column}` (attribute {name} in [source.attributes]); found columns: {}",
                    listing()
                )))
            }
        }
    }
    let mut meta = Vec::new();
    for (entry, m) in columns.meta.iter().enumerate() {
        for column in &m.from {
            match find(column, Field::Name)? {
                Some(i) => meta.push((entry, i)),
                None => {
                    return Err(Error::Source(format!(
                        "{at}: the header has no column `{column}` ({} in [source.meta]); found columns: {}",
                        m.key,
                        listing()
                    )))
                }
            }
        }
    }
    Ok(Places { file: String::new(), index, more_stock, attributes, meta })
}

/// Whether a buffer is UTF-8 (allowing a character cut at its end). Russian text in
/// Windows-1251 practically never is: its letters are not followed by UTF-8 continuation bytes.
fn looks_like_utf8(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
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
    use crate::config::{Columns, OneOrMany};
    use crate::source::MAX_ROW_BYTES;
    use std::path::PathBuf;

    fn src(encoding: Encoding, columns: Columns) -> CsvSource {
        CsvSource { path: PathBuf::from("feed.csv"), delimiter: None, encoding, columns }
    }

    #[test]
    fn detects_semicolon_and_maps_columns_case_insensitively() {
        let records = parse_all(b"SKU;Stock\nA-1;5\n", &src(Encoding::Utf8, Columns::default()), "f.csv").unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].get(Field::Sku), Some("A-1"));
        assert_eq!(records[0].get(Field::Stock), Some("5"));
        assert_eq!(records[0].get(Field::Name), None);
        assert_eq!(records[0].line, 2);
    }

    #[test]
    fn a_row_over_16_mib_is_refused_and_rows_up_to_it_are_read() {
        let cols = Columns::default();
        let mut feed = b"sku,name\nA-1,Tea\nA-2,".to_vec();
        feed.extend(std::iter::repeat_n(b'x', (MAX_ROW_BYTES as usize) + (1 << 20)));
        feed.extend(b"\nA-3,Tea\n");
        let err = parse_all(&feed, &src(Encoding::Utf8, cols.clone()), "f.csv").unwrap_err().to_string();
        assert!(err.contains("f.csv: the row starting on line 3 is over 16 MiB; refusing the feed"), "{err}");
        // An open quote swallows the rest of the file: the same.
        let mut open = b"sku,name\nA-1,\"Tea\n".to_vec();
        open.extend(std::iter::repeat_n(b"A-2,Tea\n".as_slice(), 2_200_000).flatten());
        let err = parse_all(&open, &src(Encoding::Utf8, cols.clone()), "f.csv").unwrap_err().to_string();
        assert!(err.contains("line 2 is over 16 MiB"), "{err}");
        // Many ordinary rows adding up to far more than the bound are fine.
        let many: Vec<u8> = b"sku,name\n".iter().copied().chain(std::iter::repeat_n(b"A-2,Tea\n".as_slice(), 2_200_000).flatten().copied()).collect();
        let mut rows = 0;
        parse(many.as_slice(), &src(Encoding::Utf8, cols), "f.csv", &mut |_, _| rows += 1).unwrap();
        assert_eq!(rows, 2_200_000);
    }

    #[test]
    fn line_numbers_are_the_files_for_lf_and_crlf() {
        for eol in ["\n", "\r\n"] {
            let feed = ["sku,name", "A-1,Tea", "", "A-2,\"Two", "lines\"", "A-3,Cup"].join(eol) + eol;
            let records = parse_all(feed.as_bytes(), &src(Encoding::Utf8, Columns::default()), "f.csv").unwrap();
            let lines: Vec<u64> = records.iter().map(|r| r.line).collect();
            assert_eq!(lines, [2, 4, 6], "{eol:?}");
        }
    }

    #[test]
    fn utf16_is_read_and_other_files_are_named() {
        let text = "sku\tname\r\nА-1\tЧай\r\n";
        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
        let records = parse_all(&le, &src(Encoding::Windows1251, Columns::default()), "f.txt").unwrap();
        assert_eq!((records[0].get(Field::Sku), records[0].get(Field::Name), records[0].line), (Some("А-1"), Some("Чай"), 2));
        let mut be = vec![0xFE, 0xFF];
        be.extend(text.encode_utf16().flat_map(|u| u.to_be_bytes()));
        assert_eq!(parse_all(&be, &src(Encoding::Utf8, Columns::default()), "f.txt").unwrap().len(), 1);

        let told = |bytes: &[u8]| parse_all(bytes, &src(Encoding::Utf8, Columns::default()), "f.csv").unwrap_err().to_string();
        assert!(told(b"\x1F\x8B\x08\x00rest").contains("f.csv: the file is gzip-compressed"));
        assert!(told(b"PK\x03\x04rest").contains("a ZIP archive, not CSV text: an .xlsx workbook?"));
        assert!(told(b"\xD0\xCF\x11\xE0rest").contains("an old Excel workbook (.xls)"));
        assert!(told(b"s\0k\0u\0\n\0").contains("UTF-16 without its byte-order mark"));
    }

    #[test]
    fn windows_1251_with_russian_headers() {
        let cols = Columns { sku: Some("Артикул".into()), stock: Some(OneOrMany::One("Остаток".into())), ..Default::default() };
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("Артикул;Остаток\nКР-1;3\n");
        let records = parse_all(&bytes, &src(Encoding::Windows1251, cols), "f.csv").unwrap();
        assert_eq!(records[0].get(Field::Sku), Some("КР-1"));
    }

    #[test]
    fn utf8_error_names_line_and_hint() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("sku\nКР-1\n");
        let err = parse_all(&bytes, &src(Encoding::Utf8, Columns::default()), "f.csv").unwrap_err().to_string();
        assert!(err.contains("f.csv:2") && err.contains("windows-1251"), "{err}");
    }

    #[test]
    fn bom_is_accepted() {
        let records = parse_all(b"\xEF\xBB\xBFsku,stock\nA,1\n", &src(Encoding::Utf8, Columns::default()), "f").unwrap();
        assert_eq!(records[0].get(Field::Sku), Some("A"));
    }

    #[test]
    fn missing_sku_column_lists_found_columns() {
        let err = parse_all(b"article,stock\nA,1\n", &src(Encoding::Utf8, Columns::default()), "f.csv").unwrap_err().to_string();
        assert!(err.contains("no SKU column `sku`") && err.contains("`article`"), "{err}");
    }

    #[test]
    fn ragged_row_is_a_row_problem_and_header_only_fails() {
        let records = parse_all(b"sku,stock\nA,1,9\nB,2\n", &src(Encoding::Utf8, Columns::default()), "f").unwrap();
        assert!(records[0].problem.is_some());
        assert_eq!(Places { file: "f".into(), index: [Some(0); FIELDS], more_stock: vec![], attributes: vec![], meta: vec![] }.locate(&records[0], None), "f:2");
        assert!(records[1].problem.is_none());
        assert!(parse_all(b"sku,stock\n", &src(Encoding::Utf8, Columns::default()), "f").is_err());
        assert!(parse_all(b"", &src(Encoding::Utf8, Columns::default()), "f").is_err());
    }

    #[test]
    fn quoted_field_with_newline_keeps_line_numbers() {
        let records = parse_all(b"sku,name\nA,\"two\nlines\"\nB,x\n", &src(Encoding::Utf8, Columns::default()), "f").unwrap();
        assert_eq!(records[0].get(Field::Name), Some("two\nlines"));
        assert_eq!(records[1].line, 4);
    }

    #[test]
    fn several_stock_columns_and_their_places() {
        let cols = Columns {
            stock: Some(OneOrMany::Many(vec!["Склад Москва".into(), "Склад СПб".into()])),
            external_id: Some("guid".into()),
            ..Default::default()
        };
        let bytes = "sku,guid,Склад Москва,Склад СПб\nA,g-1,3,\n".as_bytes();
        let mut seen = Vec::new();
        parse(bytes, &src(Encoding::Utf8, cols.clone()), "f.csv", &mut |r, at| {
            seen.push((r.clone(), at.locate(r, Some((Field::Stock, 1))), at.locate(r, Some((Field::ExternalId, 0)))))
        })
        .unwrap();
        let (r, second_stock, guid) = &seen[0];
        assert_eq!(r.stock_parts().collect::<Vec<_>>(), vec!["3", ""]);
        assert_eq!(r.get(Field::ExternalId), Some("g-1"));
        assert_eq!((second_stock.as_str(), guid.as_str()), ("f.csv:2:4", "f.csv:2:2"));

        let err = parse_all("sku,guid,Склад Москва\nA,g,1\n".as_bytes(), &src(Encoding::Utf8, cols), "f.csv").unwrap_err().to_string();
        assert!(err.contains("no stock column `Склад СПб`"), "{err}");
    }

    #[test]
    fn a_configured_column_that_is_absent_fails_the_source() {
        let cols = Columns { regular_price: Some("Цена".into()), ..Default::default() };
        let err = parse_all(b"sku,price\nA,1\n", &src(Encoding::Utf8, cols), "f.csv").unwrap_err().to_string();
        assert!(err.contains("no column `Цена` (regular_price"), "{err}");
    }
}
