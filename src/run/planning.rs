//! Planning: the pure planner runs on a thread of its own, fed the frozen blocks one at a time
//! by a reader task (on a connection of its own for journal blocks), then the missing items,
//! and hands over units as it goes. The bounded channels keep only a little of the feed and of
//! the plan in memory at any time; the writer takes the units from [`Planning::units`].

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::survey::Surveyed;
use super::Run;
use crate::catalog::{self, Catalog};
use crate::error::{Error, Result};
use crate::input::Input;
use crate::model::Item;
use crate::plan::{self, Rules, Unit};
use crate::report::{Counts, ReportRow};

/// The planner at work: its units, how far it got, and the two tasks behind it.
pub(super) struct Planning {
    pub units: mpsc::Receiver<Unit>,
    planned: Arc<AtomicUsize>,
    planner: JoinHandle<Option<(Vec<ReportRow>, Counts)>>,
    feeder: JoinHandle<Result<()>>,
}

impl Planning {
    /// Starts the planner over `catalog` and the reader over `input`, then the survey's missing
    /// items; the planner closes each family where the survey found its last row.
    pub async fn start(run: &Run<'_>, catalog: Catalog, rules: Rules, mut input: Input, survey: &mut Surveyed) -> Result<Planning> {
        let (tx, units) = mpsc::channel::<Unit>(run.settings.chunk_size.max(64) * 2);
        let (block_tx, mut block_rx) = mpsc::channel::<Vec<Item>>(1);
        let planned = Arc::new(AtomicUsize::new(0));
        let feed_failed = Arc::new(AtomicBool::new(false));
        let (facts, rejections) = (std::mem::take(&mut input.facts), input.rejections.len());
        let (planned_by_planner, failed_feed, ends) = (planned.clone(), feed_failed.clone(), std::mem::take(&mut survey.ends));
        let new_family_ends = std::mem::take(&mut survey.new_family_ends);
        let planner = tokio::task::spawn_blocking(move || {
            let mut planner = plan::Planner::new(&catalog, &rules, &facts).with_family_ends(ends).with_new_family_ends(new_family_ends);
            planner.count_rejections(rejections);
            planned_by_planner.fetch_add(rejections, Ordering::Relaxed);
            let mut emit = |unit| tx.blocking_send(unit).is_ok();
            while let Some(items) = block_rx.blocking_recv() {
                let going = planner.plan(&items, &mut emit);
                planned_by_planner.fetch_add(items.len(), Ordering::Relaxed);
                if !going {
                    break;
                }
            }
            // A feed that could not be read to its end leaves the plan unfinished (the run resumes).
            let result = (!failed_feed.load(Ordering::SeqCst)).then(|| planner.finish(&mut emit));
            drop(catalog);
            result
        });
        let conn = if input.in_journal() { Some(catalog::connect(run.settings).await?) } else { None };
        let reader = Reader { conn, settings: run.settings.clone() };
        let feeder = tokio::spawn(feed(input, std::mem::take(&mut survey.missing), reader, block_tx, feed_failed));
        Ok(Planning { units, planned, planner, feeder })
    }

    /// Feed rows planned so far.
    pub fn planned(&self) -> usize {
        self.planned.load(Ordering::Relaxed)
    }

    /// Stops the planner (a run that stops early): no more units are taken.
    pub async fn abandon(&mut self) {
        self.units.close();
        let _ = (&mut self.planner).await;
    }

    /// The planner's notes (conflicts, invalid rows, warnings) and counts, once every unit was
    /// taken. A feed that failed part-way (a lost reader connection) leaves the run interrupted.
    pub async fn finish(self, run: &mut Run<'_>, run_id: Option<u64>) -> Result<(Vec<ReportRow>, Counts)> {
        let planned = self.planner.await.map_err(|e| Error::Internal(format!("the planner failed: {e}")))?;
        let fed = self.feeder.await.map_err(|e| Error::Internal(format!("the feed reader failed: {e}")))?;
        match (fed, planned) {
            (Ok(()), Some(planned)) => Ok(planned),
            (fed, _) => {
                let message = fed.err().map(|e| e.to_string()).unwrap_or_else(|| "the feed stopped before its end".into());
                if let Some(run_id) = run_id {
                    crate::journal::set_state(&mut run.conn, &run.shop.prefix, run_id, "interrupted", Some(&message)).await?;
                }
                Err(Error::Database(format!(
                    "{message}; every committed chunk is whole; continue with: woosync resume --config {}",
                    run.settings.config_path.display()
                )))
            }
        }
    }
}

/// The reader task: every frozen block, then the missing items, to the planner.
async fn feed(mut input: Input, missing: Vec<Item>, mut reader: Reader, blocks: mpsc::Sender<Vec<Item>>, failed: Arc<AtomicBool>) -> Result<()> {
    let result = async {
        for no in 0..input.blocks() {
            let items = reader.block(&mut input, no).await?;
            if blocks.send(items).await.is_err() {
                return Ok(());
            }
        }
        if !missing.is_empty() {
            let _ = blocks.send(missing).await;
        }
        Ok::<_, Error>(())
    }
    .await;
    if result.is_err() {
        failed.store(true, Ordering::SeqCst);
    }
    drop(blocks);
    if let Some(conn) = reader.conn {
        let _ = conn.disconnect().await;
    }
    result
}

/// The reader's own connection to the journal (none for a feed held in memory), and what it
/// needs to open a new one when the old one is lost (killed, a server restart).
struct Reader {
    conn: Option<mysql_async::Conn>,
    settings: crate::config::Settings,
}

impl Reader {
    /// One frozen block; a lost connection is opened again and the block read again, with the
    /// same patience as a chunk's.
    async fn block(&mut self, input: &mut Input, no: u32) -> Result<Vec<Item>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match input.block(self.conn.as_mut(), no, true).await {
                Err(Error::Lost(e)) if attempt < crate::error::RECONNECT_ATTEMPTS => {
                    let wait = crate::error::reconnect_wait(attempt);
                    tracing::warn!(block = no, attempt, "reading frozen block {no}: the connection was lost ({e}); reconnecting in {} ms", wait.as_millis());
                    tokio::time::sleep(wait).await;
                    match catalog::connect(&self.settings).await {
                        Ok(conn) => self.conn = Some(conn),
                        Err(e) => tracing::warn!(block = no, "reconnecting failed: {e}"),
                    }
                }
                other => return other,
            }
        }
    }
}
