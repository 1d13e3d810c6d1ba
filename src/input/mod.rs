//! The frozen feed a run plans from, block by block. The normalised rows are frozen as they are
//! read (into the run journal for a real run, into memory for a dry run); what stays in memory
//! for the whole run is only what the planner must know of the whole feed up front — the rows
//! normalisation rejected and the SKUs and external IDs given more than once ([`FeedFacts`]).

pub mod frozen;

use mysql_async::Conn;

use crate::error::Result;
use crate::journal;
use crate::model::{Item, Rejection, Skipped};
use crate::normalize::Row;
use crate::plan::{FactsBuilder, FeedFacts};
use frozen::{Block, Freezer};

/// Where the frozen blocks are.
enum Blocks {
    /// Dry runs and `woosync check`: the frozen blocks themselves (about 70 bytes a row).
    Memory(Vec<String>),
    /// Real runs: the journal's `woosync_input` rows, read back one block at a time.
    Journal { prefix: String, run_id: u64, count: u32 },
    /// `woosync doctor`: rows made from the shop itself.
    Items(Vec<Item>),
}

pub struct Input {
    /// Human label of where it came from (a file path), for the journal and logs.
    pub label: String,
    /// SHA-256 of the source bytes, recorded with the run.
    pub sha256: String,
    /// Valid rows.
    pub items: usize,
    pub rejections: Vec<Rejection>,
    /// Rows that are not products (totals, `skip_rows`): counted, not planned.
    pub skipped: usize,
    /// The skipped rows that are reported as warnings.
    pub skip_warnings: Vec<Skipped>,
    pub facts: FeedFacts,
    blocks: Blocks,
}

impl Input {
    /// Rows made in memory (the doctor's rows from the shop).
    pub fn from_items(label: &str, items: Vec<Item>) -> Input {
        let mut facts = FactsBuilder::default();
        items.iter().for_each(|i| facts.add(i));
        Input {
            label: label.into(),
            sha256: String::new(),
            items: items.len(),
            rejections: Vec::new(),
            skipped: 0,
            skip_warnings: Vec::new(),
            facts: facts.finish(),
            blocks: Blocks::Items(items),
        }
    }

    /// What the journal records of the feed when its last block is stored.
    pub fn provenance(&self) -> journal::Provenance<'_> {
        journal::Provenance {
            label: &self.label,
            sha256: &self.sha256,
            rows: (self.items + self.rejections.len()) as u64,
            invalid: self.rejections.len() as u64,
        }
    }

    /// How many blocks [`Input::block`] serves.
    pub fn blocks(&self) -> u32 {
        match &self.blocks {
            Blocks::Memory(b) => b.len() as u32,
            Blocks::Journal { count, .. } => *count,
            Blocks::Items(_) => 1,
        }
    }

    /// Whether reading a block needs a database connection.
    pub fn in_journal(&self) -> bool {
        matches!(self.blocks, Blocks::Journal { .. })
    }

    /// The valid rows of block `no` (0-based), in feed order. `conn` is used for journal blocks.
    /// `last_look`: rows kept in memory are handed over, not copied (no later pass needs them).
    pub async fn block(&mut self, conn: Option<&mut Conn>, no: u32, last_look: bool) -> Result<Vec<Item>> {
        match &mut self.blocks {
            Blocks::Memory(blocks) => {
                let Some(payload) = blocks.get_mut(no as usize) else { return Ok(Vec::new()) };
                let rows = frozen::decode(payload, 0)?.items;
                if last_look {
                    *payload = String::new();
                }
                Ok(rows)
            }
            Blocks::Items(items) if no == 0 && last_look => Ok(std::mem::take(items)),
            Blocks::Items(items) if no == 0 => Ok(items.clone()),
            Blocks::Items(_) => Ok(Vec::new()),
            Blocks::Journal { prefix, run_id, .. } => {
                let conn = conn.ok_or_else(|| crate::error::Error::Internal("a journal block read without a connection".into()))?;
                let payload = journal::read_block(conn, prefix, *run_id, no).await?;
                Ok(frozen::decode(&payload, *run_id)?.items)
            }
        }
    }
}

/// Builds an [`Input`] as rows stream in: freezes them into blocks, collects the facts and the
/// rejections, and hands each full block to the caller to store.
#[derive(Default)]
pub struct Collector {
    freezer: Freezer,
    facts: FactsBuilder,
    items: usize,
    rejections: Vec<Rejection>,
    skipped: usize,
    skip_warnings: Vec<Skipped>,
}

impl Collector {
    /// Takes one normalised row; returns a block when one has filled.
    pub fn push(&mut self, row: Row) -> Option<Block> {
        match row {
            Row::Item(item) => {
                self.facts.add(&item);
                self.items += 1;
                self.freezer.item(&item)
            }
            Row::Rejected(rejection) => {
                self.facts.add_rejected(&rejection);
                let block = self.freezer.rejection(&rejection);
                self.rejections.push(rejection);
                block
            }
            Row::Skipped(skipped) => {
                self.skipped += 1;
                let block = self.freezer.skipped(&skipped);
                if skipped.warning.is_some() {
                    self.skip_warnings.push(skipped);
                }
                block
            }
        }
    }

    /// The last, partly filled block, if any.
    pub fn last_block(&mut self) -> Option<Block> {
        std::mem::take(&mut self.freezer).finish()
    }

    /// The input, its blocks kept in memory (`stored` empty: the blocks went to the journal).
    pub fn into_memory(self, stored: Vec<Block>) -> Input {
        let blocks = Blocks::Memory(stored.into_iter().map(|b| b.payload).collect());
        self.into_input(blocks)
    }

    /// The input, its `count` blocks in run `run_id`'s journal.
    pub fn into_journal(self, prefix: &str, run_id: u64, count: u32) -> Input {
        self.into_input(Blocks::Journal { prefix: prefix.into(), run_id, count })
    }

    fn into_input(self, blocks: Blocks) -> Input {
        Input {
            label: String::new(),
            sha256: String::new(),
            items: self.items,
            rejections: self.rejections,
            skipped: self.skipped,
            skip_warnings: self.skip_warnings,
            facts: self.facts.finish(),
            blocks,
        }
    }
}

/// A run's frozen input as stored in its journal (a resume): one pass over the blocks for the
/// facts and the rejections; the rows themselves are read again block by block while planning.
pub async fn from_journal(conn: &mut Conn, prefix: &str, run: &journal::RunRecord) -> Result<Input> {
    let count = journal::block_count(conn, prefix, run.id).await?;
    let mut facts = FactsBuilder::default();
    let (mut items, mut rejections, mut skipped, mut skip_warnings) = (0, Vec::new(), 0, Vec::new());
    for no in 0..count {
        let payload = journal::read_block(conn, prefix, run.id, no).await?;
        let thawed = frozen::decode(&payload, run.id)?;
        items += thawed.items.len();
        thawed.items.iter().for_each(|i| facts.add(i));
        thawed.rejections.iter().for_each(|r| facts.add_rejected(r));
        rejections.extend(thawed.rejections);
        skipped += thawed.skipped.len();
        skip_warnings.extend(thawed.skipped.into_iter().filter(|s| s.warning.is_some()));
    }
    Ok(Input {
        label: run.source_label.clone(),
        sha256: String::new(),
        items,
        rejections,
        skipped,
        skip_warnings,
        facts: facts.finish(),
        blocks: Blocks::Journal { prefix: prefix.into(), run_id: run.id, count },
    })
}
