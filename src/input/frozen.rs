//! The frozen block format: feed rows as JSON lines, a block of at most [`BLOCK_ROWS`] rows (and
//! little more than [`BLOCK_BYTES`]) at a time, as they are stored in the run journal (or kept in memory for a dry run). Freezing and
//! thawing live here together; the journal only stores and fetches the blocks.

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::model::{Content, Item, Money, Note, Rejection, Sale, Skipped};

/// One frozen feed row: an item (`k` = "i"), a rejected row (`k` = "x", with its reason in `e`)
/// or a skipped one (`k` = "s", with its warning, if any, in `e`).
#[derive(serde::Serialize, serde::Deserialize)]
struct Frozen {
    k: char,
    l: u64,
    s: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    r: Option<String>,
    /// Sale: absent = leave alone, "" = no sale, text = the sale price.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    p: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    q: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    e: Vec<Note>,
    /// The external ID of an item; the location of a rejected row.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    x: Option<String>,
    /// The card's content, when the row gives any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    c: Option<Box<Content>>,
}

/// One frozen row as written: [`Frozen`] borrowing from the item, so freezing copies nothing.
#[derive(serde::Serialize)]
struct FrozenRef<'a> {
    k: char,
    l: u64,
    s: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    r: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    q: Option<i64>,
    #[serde(skip_serializing_if = "<[Note]>::is_empty")]
    e: &'a [Note],
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    c: Option<&'a Content>,
}

/// Rows per frozen block.
const BLOCK_ROWS: usize = 5000;
/// A block is closed once it is this large: with a row at most half of `max_allowed_packet`
/// (normalisation refuses larger ones) a block always fits one statement on a server with the
/// smallest packet any real shop has (1 MiB), and long names cannot pile up into one huge block.
const BLOCK_BYTES: usize = 512 << 10;

/// A block of frozen rows, ready to be stored.
#[derive(Debug)]
pub struct Block {
    pub no: u32,
    pub rows: usize,
    pub payload: String,
}

/// Turns feed rows into frozen blocks as they arrive, so the input can be stored while the
/// source is still being read.
#[derive(Debug, Default)]
pub struct Freezer {
    next: u32,
    rows: usize,
    payload: Vec<u8>,
}

impl Freezer {
    pub fn item(&mut self, item: &Item) -> Option<Block> {
        let frozen = FrozenRef {
            k: 'i',
            l: item.line,
            s: &item.sku,
            n: item.name.as_deref(),
            r: item.regular.as_ref().map(|m| m.text()),
            p: match &item.sale {
                Sale::Absent => None,
                Sale::Clear => Some(String::new()),
                Sale::Set(m) => Some(m.text()),
            },
            q: item.stock,
            e: &item.notes,
            x: item.external_id.as_deref(),
            c: item.content.as_deref(),
        };
        self.push(&frozen)
    }

    pub fn rejection(&mut self, r: &Rejection) -> Option<Block> {
        let note = [Note { field: r.field.clone(), message: r.message.clone() }];
        let frozen = FrozenRef { k: 'x', l: r.line, s: &r.sku, n: None, r: None, p: None, q: None, e: &note, x: Some(&r.location), c: None };
        self.push(&frozen)
    }

    pub fn skipped(&mut self, skipped: &Skipped) -> Option<Block> {
        let note: Vec<Note> = skipped.warning.iter().map(|w| Note { field: "row".into(), message: w.clone() }).collect();
        let location = (!skipped.location.is_empty()).then_some(skipped.location.as_str());
        let frozen = FrozenRef { k: 's', l: skipped.line, s: &skipped.sku, n: None, r: None, p: None, q: None, e: &note, x: location, c: None };
        self.push(&frozen)
    }

    fn push(&mut self, frozen: &FrozenRef<'_>) -> Option<Block> {
        serde_json::to_writer(&mut self.payload, frozen).expect("frozen rows serialise");
        self.payload.push(b'\n');
        self.rows += 1;
        (self.rows == BLOCK_ROWS || self.payload.len() >= BLOCK_BYTES).then(|| self.take())
    }

    /// The last, partly filled block, if any.
    pub fn finish(mut self) -> Option<Block> {
        (self.rows > 0).then(|| self.take())
    }

    fn take(&mut self) -> Block {
        let payload = String::from_utf8(std::mem::take(&mut self.payload)).expect("serde_json writes UTF-8");
        let block = Block { no: self.next, rows: self.rows, payload };
        self.next += 1;
        self.rows = 0;
        block
    }
}

/// A frozen block thawed: its rows by kind, each in feed order.
#[derive(Debug, Default)]
pub struct Thawed {
    pub items: Vec<Item>,
    pub rejections: Vec<Rejection>,
    pub skipped: Vec<Skipped>,
}

/// A frozen block back as the rows it was.
pub fn decode(payload: &str, run_id: u64) -> Result<Thawed> {
    let (mut items, mut rejections, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    let unreadable = |what: &str| Error::ResumeRefused(format!("run {run_id}: its frozen input is unreadable ({what})"));
    let money = |s: String| -> Result<Money> {
        let value = Decimal::from_str(&s).map_err(|_| unreadable(&format!("price `{s}`")))?;
        Ok(Money { value })
    };
    for line in payload.lines() {
        let f: Frozen = serde_json::from_str(line).map_err(|e| unreadable(&e.to_string()))?;
        if f.k == 'x' {
            let note = f.e.into_iter().next().unwrap_or(Note { field: String::new(), message: String::new() });
            rejections.push(Rejection { line: f.l, sku: f.s, field: note.field, location: f.x.unwrap_or_default(), message: note.message });
            continue;
        }
        if f.k == 's' {
            let warning = f.e.into_iter().next().map(|n| n.message);
            skipped.push(Skipped { line: f.l, sku: f.s, location: f.x.unwrap_or_default(), warning });
            continue;
        }
        items.push(Item {
            line: f.l,
            sku: f.s.into(),
            name: f.n.map(Into::into),
            regular: f.r.map(money).transpose()?,
            sale: match f.p {
                None => Sale::Absent,
                Some(s) if s.is_empty() => Sale::Clear,
                Some(s) => Sale::Set(money(s)?),
            },
            stock: f.q,
            external_id: f.x.map(Into::into),
            content: f.c,
            notes: f.e,
            missing: false,
        });
    }
    Ok(Thawed { items, rejections, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(line: u64, name: &str) -> Item {
        Item {
            line,
            sku: format!("SKU-{line}").into(),
            name: Some(name.into()),
            regular: None,
            sale: Sale::Absent,
            stock: Some(1),
            external_id: None,
            content: None,
            notes: vec![],
            missing: false,
        }
    }

    #[test]
    fn blocks_close_at_a_row_count_or_a_size_and_thaw_as_they_were() {
        let mut short = Freezer::default();
        let mut blocks: Vec<Block> = (1..=12_000).filter_map(|i| short.item(&item(i, "Tea"))).collect();
        blocks.extend(short.finish());
        assert_eq!(blocks.iter().map(|b| b.rows).collect::<Vec<_>>(), [5000, 5000, 2000]);

        let long = "Ж".repeat(30_000);
        let mut freezer = Freezer::default();
        let mut blocks: Vec<Block> = (1..=40).filter_map(|i| freezer.item(&item(i, &long))).collect();
        blocks.extend(freezer.finish());
        assert!(blocks.len() >= 4, "{} blocks", blocks.len());
        assert!(blocks.iter().all(|b| b.payload.len() < BLOCK_BYTES + 70_000), "a block is at most one row over the size");
        let items = decode(&blocks[1].payload, 1).unwrap().items;
        assert_eq!(items[0].name.as_deref(), Some(long.as_str()));
        assert_eq!(blocks.iter().map(|b| b.rows).sum::<usize>(), 40);
    }

    #[test]
    fn skipped_rows_thaw_with_their_warning() {
        let mut freezer = Freezer::default();
        assert!(freezer.item(&item(1, "Tea")).is_none());
        let total = Skipped { line: 9, sku: "Итого".into(), location: "feed.csv:9:1".into(), warning: Some("a totals row".into()) };
        let group = Skipped { line: 4, sku: String::new(), location: String::new(), warning: None };
        assert!(freezer.skipped(&group).is_none() && freezer.skipped(&total).is_none());
        let block = freezer.finish().unwrap();
        assert_eq!(block.rows, 3);
        let thawed = decode(&block.payload, 1).unwrap();
        assert_eq!((thawed.items.len(), thawed.rejections.len()), (1, 0));
        assert_eq!(thawed.skipped, [group, total]);
    }
}
