//! Source adapters: each reads one kind of feed and yields the same [`RawRecord`]s, or fails as a
//! whole (nothing is written when a source fails). Adapters know nothing of WooCommerce; each one
//! also knows how to name where a row or a value came from ([`Locate`]), so every message can
//! point at `file:line:column`, a spreadsheet cell, a JSON page and pointer or an XML path.

pub mod commerceml;
pub mod csv;
pub mod http;
pub mod pointer;
pub mod xlsx;

use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

pub use crate::config::{Field, FIELDS};
use crate::config::Source;
use crate::error::Result;

/// Something wrong with a row as read (a ragged CSV row, an error cell, a JSON object where a
/// value was expected): the row is rejected. `field` is the value concerned, if one is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: Option<(Field, usize)>,
    pub message: String,
}

/// One row as read: for each field, `None` when the feed has no such column, else the cell text.
/// Stock may come from several columns or warehouses: the first is `cells[Field::Stock]`, the
/// others are in `more_stock`, in the configured order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRecord {
    /// Where the row is, in the source's own terms: CSV line, sheet row, item number (across
    /// pages) or offer number; 1-based. Rows are reported and ordered by it.
    pub line: u64,
    /// HTTP sources: the page (1-based) and the item's index in that page's array.
    pub page: u32,
    pub index: u32,
    pub cells: [Option<String>; FIELDS],
    pub more_stock: Vec<String>,
    /// Category paths given as a structure rather than a cell (CommerceML's groups, with their `Ид`).
    pub paths: Option<Vec<crate::model::CategoryPath>>,
    /// Attribute values as read: (attribute name, cell), in `[source.attributes]` order (CommerceML:
    /// the good's properties and the offer's characteristics).
    pub attributes: Vec<(String, String)>,
    /// The source's ID of the row's parent (CommerceML: the good of a characteristic offer).
    pub parent_external: Option<String>,
    /// `[source.meta]` values as read: (the entry's position in `[source.meta]`, cell); a stock
    /// entry has one per column or warehouse, summed by normalisation; none when the row lacks it.
    pub meta: Vec<(usize, String)>,
    pub problem: Option<Problem>,
}

impl RawRecord {
    pub fn get(&self, f: Field) -> Option<&str> {
        self.cells[f as usize].as_deref()
    }

    pub fn set(&mut self, f: Field, value: String) {
        self.cells[f as usize] = Some(value);
    }

    /// Every stock value (one per configured column or warehouse), or none when the feed has no stock.
    pub fn stock_parts(&self) -> impl Iterator<Item = &str> {
        self.get(Field::Stock).into_iter().chain(self.more_stock.iter().map(String::as_str))
    }

    pub fn reject(&mut self, field: Option<(Field, usize)>, message: String) {
        if self.problem.is_none() {
            self.problem = Some(Problem { field, message });
        }
    }
}

/// Names where a row (`field` = None) or one of its values came from, in the source's own
/// terms. Only called for rows that are rejected, so it may take its time.
pub trait Locate: Sync {
    fn locate(&self, record: &RawRecord, field: Option<(Field, usize)>) -> String;
}

/// What a source hands back once every row went through `each`: provenance for the journal.
#[derive(Debug, Clone, Default)]
pub struct RawFeed {
    pub label: String,
    pub sha256: String,
}

/// Called for every row in source order, with the locator for its messages.
pub type Each<'a> = dyn FnMut(&RawRecord, &dyn Locate) + Send + 'a;

/// Called as an HTTP source fetches pages (pages so far).
pub type Pages<'a> = dyn Fn(u32) + Send + Sync + 'a;

/// Reads the configured source, handing each row to `each`. Fails as a whole when the source
/// cannot be read completely.
pub async fn read(source: &Source, pages: &Pages<'_>, each: &mut Each<'_>) -> Result<RawFeed> {
    match source {
        Source::Http(s) => http::read(s, pages, each).await,
        file => read_file(file, each),
    }
}

/// The largest row a feed may have. A product row is a few hundred bytes and the largest value
/// the shop stores from it 64 KiB; a file with a longer row is not a product feed (or is
/// broken), and reading it whole would take the memory a huge row needs.
pub const MAX_ROW_BYTES: u64 = 16 << 20;

/// What a [`RowBound`] reader shares with its parser: where the last whole row ended (in bytes
/// read through it) and the line the next row starts on, set by the parser; the offsets of the
/// newlines read but not yet passed, kept by the reader, so the parser can tell the file's own
/// line of any offset it has reached (whatever the line endings).
#[derive(Debug, Default)]
pub(crate) struct RowMark {
    pub(crate) end: u64,
    pub(crate) line: u64,
    newlines: std::collections::VecDeque<u64>,
    passed: u64,
    last_passed: Option<u64>,
}

impl RowMark {
    /// The 1-based line the byte just before `offset` is on (`offset` at or after every offset
    /// asked before): the line a row ending at `offset` ends on.
    pub(crate) fn line_before(&mut self, offset: u64) -> u64 {
        while self.newlines.front().is_some_and(|&n| n < offset) {
            self.last_passed = self.newlines.pop_front();
            self.passed += 1;
        }
        // A row's own terminating newline belongs to its line.
        match self.last_passed {
            Some(n) if offset > 0 && n == offset - 1 => self.passed,
            _ => self.passed + 1,
        }
    }
}

pub(crate) type SharedMark = std::rc::Rc<std::cell::RefCell<RowMark>>;

/// Refuses to read more than [`MAX_ROW_BYTES`] (plus one buffer) past the end of the last row
/// its parser marked, so a row that never ends costs bounded memory, not the file's size; and
/// notes where the newlines are, for line numbers.
pub(crate) struct RowBound<R> {
    inner: R,
    read: u64,
    mark: SharedMark,
}

impl<R> RowBound<R> {
    pub(crate) fn new(inner: R) -> (RowBound<R>, SharedMark) {
        let mark = SharedMark::default();
        mark.borrow_mut().line = 1;
        (RowBound { inner, read: 0, mark: mark.clone() }, mark)
    }
}

/// The I/O error a [`RowBound`] reader fails with: the line the long row starts on.
#[derive(Debug)]
pub(crate) struct RowTooLong(pub u64);

impl std::fmt::Display for RowTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the row starting on line {} is over {} MiB", self.0, MAX_ROW_BYTES >> 20)
    }
}

impl std::error::Error for RowTooLong {}

impl<R: std::io::Read> std::io::Read for RowBound<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut mark = self.mark.borrow_mut();
        if self.read.saturating_sub(mark.end) > MAX_ROW_BYTES {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, RowTooLong(mark.line)));
        }
        let n = self.inner.read(buf)?;
        let at = self.read;
        mark.newlines.extend(memchr::memchr_iter(b'\n', &buf[..n]).map(|i| at + i as u64));
        self.read += n as u64;
        Ok(n)
    }
}

/// Reads through to a hasher, so a feed's SHA-256 costs no second pass. The hasher is shared
/// with the caller, who finishes it with [`digest`] once the reader is done.
pub(crate) struct Hashing<R> {
    pub(crate) inner: R,
    pub(crate) hasher: Arc<Mutex<Sha256>>,
}

impl<R> Hashing<R> {
    pub(crate) fn new(inner: R) -> (Hashing<R>, Arc<Mutex<Sha256>>) {
        let hasher = Arc::new(Mutex::new(Sha256::new()));
        (Hashing { inner, hasher: hasher.clone() }, hasher)
    }
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.lock().expect("hasher").update(&buf[..n]);
        Ok(n)
    }
}

/// The running hash shared between a [`Hashing`] reader and its caller.
pub(crate) type SharedHash = Arc<Mutex<Sha256>>;

/// The hex SHA-256 of everything read through a [`Hashing`] reader.
pub(crate) fn digest(hasher: &Arc<Mutex<Sha256>>) -> String {
    crate::config::hex(&std::mem::take(&mut *hasher.lock().expect("hasher")).finalize())
}

/// Reads a file source (CSV, spreadsheet, CommerceML) synchronously, for a blocking thread.
pub fn read_file(source: &Source, each: &mut Each<'_>) -> Result<RawFeed> {
    match source {
        Source::Csv(s) => csv::read(s, each),
        Source::Xlsx(s) => xlsx::read(s, each),
        Source::CommerceMl(s) => commerceml::read(s, each),
        Source::Http(_) => Err(crate::error::Error::Internal("an HTTP source is read with source::read".into())),
    }
}

/// A spreadsheet-style column name: 0 → `A`, 25 → `Z`, 26 → `AA`.
pub fn column_letters(mut index: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII")
}

/// The inverse of [`column_letters`] for `A`..`XFD` (Excel's last column), else `None`.
pub fn column_index(letters: &str) -> Option<usize> {
    if letters.is_empty() || letters.len() > 3 || !letters.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let n = letters.bytes().fold(0usize, |n, b| n * 26 + (b - b'A' + 1) as usize) - 1;
    (n < 16_384).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_round_trip() {
        for (i, s) in [(0, "A"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ"), (702, "AAA"), (16_383, "XFD")] {
            assert_eq!(column_letters(i), s);
            assert_eq!(column_index(s), Some(i));
        }
        assert_eq!(column_index("XFE"), None);
        assert_eq!(column_index("sku"), None);
        assert_eq!(column_index("SKUS"), None);
    }
}
