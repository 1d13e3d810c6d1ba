//! Writing chunks: the units the planner hands over are gathered into chunks of an adaptive
//! size, and each chunk is applied in one transaction together with its checkpoint (the
//! applier retries lock waits and reconnects a lost connection). Before each chunk the run
//! waits its turn (pause file, busy server) and checks that it still holds the run lock; a stop
//! request or a chunk that cannot be written leaves the run interrupted, resumable. A dry run
//! only reports what each chunk would write.

use std::time::{Duration, Instant};

use tokio::time::Interval;

use super::pace::{next_size, wait_for_turn};
use super::planning::Planning;
use super::{Observer, Pass, Progress, Run};
use crate::apply::{self, ChunkDone, Target};
use crate::error::{Error, Result};
use crate::plan::{Rules, Unit};
use crate::{catalog, journal};

/// What the chunks wrote, for finishing the run.
#[derive(Default)]
pub(super) struct Written {
    /// Products created or updated in this process.
    pub products: usize,
    /// Variable parents re-synced (their caches go at finalisation).
    pub parents: Vec<u64>,
    /// Whether any chunk moved an `outofstock` term.
    pub term_changes: usize,
    /// Products this source reaches that it had not synced before, the created ones included.
    pub seen: Vec<u64>,
}

/// Takes the planner's units chunk by chunk until it has no more, and writes (or, in a dry run,
/// reports) each chunk. `seen` is the survey's list, extended with every product created.
pub(super) async fn chunks(run: &mut Run<'_>, planning: &mut Planning, pass: &Pass, seen: Vec<u64>) -> Result<Written> {
    let mut writer = Writer::new(run, pass, seen).await?;
    let mut chunk: Vec<Unit> = Vec::new();
    let mut open = true;
    while open {
        open = writer.gather(planning, &mut chunk, run.observer).await;
        if chunk.is_empty() {
            break;
        }
        match pass.run_id {
            None => run.report.rows(&apply::dry_chunk(&chunk).rows)?,
            Some(run_id) => writer.write(run, planning, run_id, &chunk, open).await?,
        }
        chunk.clear();
    }
    Ok(writer.done)
}

/// The chunk loop's state.
struct Writer {
    phase: &'static str,
    total: usize,
    /// Products the next chunk takes.
    size: usize,
    chunk_no: u32,
    /// Chunks committed by this process.
    chunks: usize,
    ticker: Interval,
    /// The planner's rules, for the products a chunk must plan again.
    rules: Rules,
    done: Written,
}

impl Writer {
    async fn new(run: &mut Run<'_>, pass: &Pass, seen: Vec<u64>) -> Result<Writer> {
        let chunk_no = match pass.run_id {
            Some(id) => journal::chunk_totals(&mut run.conn, &run.shop.prefix, id).await?.2,
            None => 1,
        };
        if pass.run_id.is_some() {
            crate::crashpoint::here(format_args!("before-chunks"));
        }
        let settings = run.settings;
        let size = match settings.chunks.target.is_zero() {
            true => settings.chunk_size,
            false => settings.chunk_size.clamp(settings.chunks.min, settings.chunks.max),
        };
        Ok(Writer {
            phase: if pass.run_id.is_some() { "writing" } else { "planning (dry run)" },
            total: pass.total,
            size,
            chunk_no,
            chunks: 0,
            ticker: tokio::time::interval(Duration::from_millis(250)),
            rules: pass.rules.clone(),
            done: Written { seen, ..Written::default() },
        })
    }

    fn progress(&self, planning: &Planning) -> Progress {
        Progress { phase: self.phase, planned: planning.planned(), total: self.total, written: self.done.products }
    }

    /// Takes units until the chunk holds `size` products (telling the observer how planning goes
    /// a few times a second); false once the planner has no more.
    async fn gather(&mut self, planning: &mut Planning, chunk: &mut Vec<Unit>, observer: &dyn Observer) -> bool {
        let mut products = 0;
        while products < self.size {
            let unit = tokio::select! {
                unit = planning.units.recv() => unit,
                _ = self.ticker.tick() => {
                    observer.progress(self.progress(planning));
                    continue;
                }
            };
            let Some(unit) = unit else { return false };
            products += unit.creates.len() + unit.updates.len();
            chunk.push(unit);
        }
        true
    }

    /// Writes one chunk of a real run: waits its turn, keeps the lock, applies the chunk with
    /// its checkpoint and records what it did. `more`: the planner may have more units.
    async fn write(&mut self, run: &mut Run<'_>, planning: &mut Planning, run_id: u64, chunk: &[Unit], more: bool) -> Result<()> {
        if let Some(why) = wait_for_turn(run, self.progress(planning)).await? {
            planning.abandon().await;
            journal::set_state(&mut run.conn, &run.shop.prefix, run_id, "interrupted", Some(&why)).await?;
            run.report.finish()?;
            return Err(Error::Interrupted(format!(
                "run {run_id} was stopped ({why}) after {} chunks; every committed chunk is whole and nothing is half-written. \
                 Continue it with: woosync resume --config {}",
                self.chunks,
                run.settings.config_path.display()
            )));
        }
        let started = Instant::now();
        let done = match self.apply(run, run_id, chunk).await {
            Ok(done) => done,
            Err(e) => {
                planning.abandon().await;
                return Err(self.stopped(run, run_id, e).await);
            }
        };
        self.chunks += 1;
        let chunk_no = self.chunk_no;
        tracing::info!(
            run = run_id,
            chunk = chunk_no,
            products = done.products,
            created = done.created,
            updated = done.updated,
            ms = started.elapsed().as_millis() as u64,
            size = self.size,
            "chunk {chunk_no} committed: {} created, {} updated",
            done.created,
            done.updated
        );
        self.size = next_size(self.size, done.products, started.elapsed(), &run.settings.chunks);
        run.report.rows(&done.rows)?;
        self.done.seen.extend(&done.created_ids);
        self.done.products += done.created + done.updated;
        run.observer.progress(self.progress(planning));
        self.done.parents.extend(done.parents);
        self.done.term_changes += done.term_changes;
        run.observer.chunk_committed(run_id, chunk_no, if more { 1 } else { 0 }, done.attempts);
        self.chunk_no += 1;
        if more && !run.settings.chunks.pause.is_zero() {
            tokio::time::sleep(run.settings.chunks.pause).await;
        }
        Ok(())
    }

    /// The run lock still ours, the chunk applied with its checkpoint.
    async fn apply(&self, run: &mut Run<'_>, run_id: u64, chunk: &[Unit]) -> Result<ChunkDone> {
        if let Some(lock) = run.lock.as_mut() {
            lock.keep(run.settings).await?;
        }
        let settings = run.settings;
        let target = Target {
            shop: run.shop,
            rules: &self.rules,
            run_id,
            new_status: &settings.new_product_status,
            author_id: settings.author_id,
            external_id_meta: settings.external_id_meta,
        };
        apply::apply_chunk(&mut run.conn, settings, &target, self.chunk_no, chunk).await
    }

    /// A chunk that could not be written: the run is left interrupted (on a fresh connection
    /// when its own is gone) and the error says how to continue.
    async fn stopped(&self, run: &mut Run<'_>, run_id: u64, e: Error) -> Error {
        let (prefix, message) = (&run.shop.prefix, e.to_string());
        if journal::set_state(&mut run.conn, prefix, run_id, "interrupted", Some(&message)).await.is_err() {
            if let Ok(mut fresh) = catalog::connect(run.settings).await {
                let _ = journal::set_state(&mut fresh, prefix, run_id, "interrupted", Some(&message)).await;
            }
        }
        Error::Database(format!(
            "{message}; run {run_id} stopped after {} chunks and can be continued with: woosync resume --config {}",
            self.chunks,
            run.settings.config_path.display()
        ))
    }
}
