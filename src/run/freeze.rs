//! Reading and freezing the input: the source is read and normalised row by row as it streams
//! in, and the rows are frozen into blocks as they fill — into the run journal for a real run
//! (so a resume plans from exactly the same rows), into memory for a dry run. A source that
//! fails part-way fails the whole read: nothing of the shop has been written yet.

use std::time::Instant;

use mysql_async::Conn;

use super::{Observer, Progress, Run};
use crate::config::{Settings, Source};
use crate::error::{Error, Result};
use crate::input::frozen::Block;
use crate::input::{Collector, Input};
use crate::widths::Widths;
use crate::{journal, source};

/// The progress phase of an HTTP source fetching its pages (`planned` = pages so far).
pub const FETCHING_PAGES: &str = "fetching pages";

/// Where a real run freezes its input: the connection, the table prefix and the run.
pub type Journal<'a> = (&'a mut Conn, &'a str, u64);

/// Reads the source and normalises it, keeping the frozen rows in memory (dry runs, `check`).
pub async fn read_feed(settings: &Settings, widths: &Widths, observer: &dyn Observer) -> Result<Input> {
    read_and_freeze(settings, widths, observer, None).await
}

/// Reads and normalises the feed and freezes it, into the run journal for a real run (file
/// sources are parsed on a blocking thread while the frozen blocks are stored as they fill; an
/// HTTP source is stored once its last page is in) or into memory for a dry run. A value the
/// shop's columns (`widths`) cannot hold rejects its row.
pub async fn read_and_freeze(settings: &Settings, widths: &Widths, observer: &dyn Observer, journal: Option<Journal<'_>>) -> Result<Input> {
    let started = Instant::now();
    let (collector, raw, stored, journal) = match &settings.source {
        Source::Http(_) => read_http(settings, widths, observer, journal).await?,
        _ => read_file(settings, widths, journal).await?,
    };
    let mut input = match (stored, &journal) {
        (StoredBlocks::Journal(count), Some((_, prefix, run_id))) => collector.into_journal(prefix, *run_id, count),
        (StoredBlocks::Memory(blocks), _) => collector.into_memory(blocks),
        (StoredBlocks::Journal(_), None) => unreachable!("journal blocks are stored only with a journal"),
    };
    input.label = raw.label;
    input.sha256 = raw.sha256;
    if let Some((conn, prefix, run_id)) = journal {
        journal::seal(conn, prefix, run_id, &input.provenance()).await?;
    }
    tracing::info!(
        source = %input.label,
        items = input.items,
        invalid = input.rejections.len(),
        skipped = input.skipped,
        ms = started.elapsed().as_millis() as u64,
        "read the feed: {} rows to sync, {} rejected{}",
        input.items,
        input.rejections.len(),
        if input.skipped > 0 { format!(", {} skipped (totals and skip_rows)", input.skipped) } else { String::new() }
    );
    Ok(input)
}

/// A real run's feed, frozen into its journal. A source that fails leaves nothing frozen and
/// the run recorded as failed.
pub(super) async fn into_journal(run: &mut Run<'_>, run_id: u64) -> Result<Input> {
    let prefix = &run.shop.prefix;
    match read_and_freeze(run.settings, &run.shop.widths, run.observer, Some((&mut run.conn, prefix, run_id))).await {
        Ok(input) => Ok(input),
        Err(e) => {
            journal::discard_input(&mut run.conn, prefix, run_id).await?;
            journal::set_state(&mut run.conn, prefix, run_id, "failed", Some(&e.to_string())).await?;
            Err(e)
        }
    }
}

/// Where [`read_and_freeze`] put the frozen blocks.
enum StoredBlocks {
    Journal(u32),
    Memory(Vec<Block>),
}

/// What a source's read leaves: the collected rows, the raw feed's provenance, the blocks and
/// the journal handed back.
type Read<'a> = (Collector, source::RawFeed, StoredBlocks, Option<Journal<'a>>);

/// An HTTP source: every page is fetched (progress counts them), then the blocks are stored.
async fn read_http<'a>(settings: &Settings, widths: &Widths, observer: &dyn Observer, journal: Option<Journal<'a>>) -> Result<Read<'a>> {
    let mut collector = Collector::default();
    let mut blocks = Vec::new();
    let rules = crate::normalize::Rules::new(widths.clone(), settings);
    let pages = |n: u32| {
        observer.progress(Progress { phase: FETCHING_PAGES, planned: n as usize, total: 0, written: 0 });
    };
    let raw = source::read(&settings.source, &pages, &mut |record, at| {
        blocks.extend(collector.push(crate::normalize::normalize_row(record, at, &rules)));
    })
    .await?;
    blocks.extend(collector.last_block());
    match journal {
        Some((conn, prefix, run_id)) => {
            for block in &blocks {
                journal::write_block(conn, prefix, run_id, block.no, block.rows, &block.payload).await?;
            }
            Ok((collector, raw, StoredBlocks::Journal(blocks.len() as u32), Some((conn, prefix, run_id))))
        }
        None => Ok((collector, raw, StoredBlocks::Memory(blocks), None)),
    }
}

/// A file source: parsed on a blocking thread while the blocks are stored as they fill.
async fn read_file<'a>(settings: &Settings, widths: &Widths, journal: Option<Journal<'a>>) -> Result<Read<'a>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Block>(2);
    let (owned, rules) = (settings.clone(), crate::normalize::Rules::new(widths.clone(), settings));
    let parse = tokio::task::spawn_blocking(move || -> Result<(Collector, source::RawFeed)> {
        let mut collector = Collector::default();
        let raw = source::read_file(&owned.source, &mut |record, at| {
            // A closed channel means storing failed; that error is reported below.
            if let Some(block) = collector.push(crate::normalize::normalize_row(record, at, &rules)) {
                let _ = tx.blocking_send(block);
            }
        })?;
        if let Some(block) = collector.last_block() {
            let _ = tx.blocking_send(block);
        }
        Ok((collector, raw))
    });
    let (parsed, stored) = tokio::join!(parse, store(rx, journal));
    let (collector, raw) = parsed.map_err(|e| Error::Internal(format!("the feed reader stopped: {e}")))??;
    let (stored, journal) = stored?;
    Ok((collector, raw, stored, journal))
}

/// Stores the blocks as the parser hands them over: into the journal, or kept in memory.
async fn store<'a>(mut rx: tokio::sync::mpsc::Receiver<Block>, journal: Option<Journal<'a>>) -> Result<(StoredBlocks, Option<Journal<'a>>)> {
    match journal {
        Some((conn, prefix, run_id)) => {
            let mut count = 0;
            while let Some(block) = rx.recv().await {
                journal::write_block(conn, prefix, run_id, block.no, block.rows, &block.payload).await?;
                count += 1;
                crate::crashpoint::here(format_args!("frozen-block-{}", block.no + 1));
            }
            Ok((StoredBlocks::Journal(count), Some((conn, prefix, run_id))))
        }
        None => {
            let mut blocks = Vec::new();
            while let Some(block) = rx.recv().await {
                blocks.push(block);
            }
            Ok((StoredBlocks::Memory(blocks), None))
        }
    }
}
