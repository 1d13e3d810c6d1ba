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
    /// Feed rows the database refused to write (reported `invalid`).
    pub refused: usize,
    /// Products and variations updated, and the variable parents re-synced, in this process.
    pub updated: Vec<u64>,
    /// Warning rows the chunks added (pictures that could not be had).
    pub warnings: usize,
}

/// A refused chunk's two halves, the first last (it is taken first); one unit stays whole.
fn halves(units: &[Unit]) -> Vec<&[Unit]> {
    match units.len() {
        0 | 1 => vec![units],
        n => {
            let (left, right) = units.split_at(n / 2);
            vec![right, left]
        }
    }
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
        let result = match self.commit(run, planning, run_id, chunk, more).await {
            Err(Error::Refused { .. }) => self.isolate(run, planning, run_id, chunk, more).await,
            other => other,
        };
        if let Err(e) = result {
            planning.abandon().await;
            return Err(self.stopped(run, run_id, e).await);
        }
        if more && !run.settings.chunks.pause.is_zero() {
            tokio::time::sleep(run.settings.chunks.pause).await;
        }
        Ok(())
    }

    /// Applies units as one chunk with its checkpoint and records what it did.
    async fn commit(&mut self, run: &mut Run<'_>, planning: &Planning, run_id: u64, units: &[Unit], more: bool) -> Result<()> {
        let started = Instant::now();
        let done = self.apply(run, run_id, units).await?;
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
        self.done.warnings += done.warnings;
        run.observer.progress(self.progress(planning));
        if let Some(cache) = run.cache.as_mut() {
            let term = (done.term_changes > 0).then_some(run.shop.outofstock_term);
            if let Some(paid) = cache.after_chunk(&done.updated_ids, &done.parents, term, chunk_no).await {
                journal::cache_paid(&mut run.conn, &run.shop.prefix, run_id, paid).await?;
            }
            cache.categories_changed(&done.category_terms, false).await;
        }
        self.done.updated.extend(&done.updated_ids);
        self.done.updated.extend(&done.parents);
        self.done.parents.extend(done.parents);
        self.done.term_changes += done.term_changes;
        run.observer.chunk_committed(run_id, chunk_no, if more { 1 } else { 0 }, done.attempts);
        self.chunk_no += 1;
        Ok(())
    }

    /// A chunk the database refused with a data error: unless its bookkeeping alone is refused
    /// too (then the error is no row's and the run stops), the chunk is halved until the unit
    /// the database refuses is alone; that unit is reported `invalid` and every other part
    /// commits as a chunk of its own.
    async fn isolate(&mut self, run: &mut Run<'_>, planning: &Planning, run_id: u64, chunk: &[Unit], more: bool) -> Result<()> {
        let target = self.target(run, run_id);
        if let Err(Error::Refused { signature, detail, message }) = apply::probe(&mut run.conn, &target, self.chunk_no).await {
            let message = format!("{message}; the run's bookkeeping alone is refused too, so the error is no feed row's (a trigger or a changed table?)");
            return Err(Error::Refused { signature, detail, message });
        }
        tracing::warn!(run = run_id, chunk = self.chunk_no, units = chunk.len(), "chunk {}: the database refused a value; halving the chunk to find the row", self.chunk_no);
        let mut parts: Vec<&[Unit]> = halves(chunk);
        while let Some(part) = parts.pop() {
            match self.commit(run, planning, run_id, part, more || !parts.is_empty()).await {
                Err(Error::Refused { .. }) if part.len() > 1 => parts.extend(halves(part)),
                Err(Error::Refused { detail, .. }) => self.refuse(run, &part[0], &detail)?,
                other => other?,
            }
        }
        Ok(())
    }

    /// Reports a unit the database refused as `invalid`; nothing of it is written.
    fn refuse(&mut self, run: &mut Run<'_>, unit: &Unit, detail: &str) -> Result<()> {
        let rows = unit.refused(&format!("the database refused to write this row ({detail}); nothing of it was written, the rest of its chunk was"));
        super::finish::log_problems(&rows);
        run.report.rows(&rows)?;
        self.done.refused += unit.items();
        Ok(())
    }

    /// The run lock still ours, the chunk applied with its checkpoint.
    async fn apply(&self, run: &mut Run<'_>, run_id: u64, chunk: &[Unit]) -> Result<ChunkDone> {
        if let Some(lock) = run.lock.as_mut() {
            lock.keep(run.settings).await?;
        }
        let target = self.target(run, run_id);
        apply::apply_chunk(&mut run.conn, run.settings, &target, self.chunk_no, chunk).await
    }

    /// What the applier writes to: this shop and run, by the planner's rules.
    fn target<'t>(&'t self, run: &Run<'t>, run_id: u64) -> Target<'t> {
        let settings = run.settings;
        Target {
            shop: run.shop,
            rules: &self.rules,
            run_id,
            new_status: &settings.new_product_status,
            author_id: settings.author_id,
            external_id_meta: settings.external_id_meta,
            owe_cache: run.cache.is_some(),
            pictures: run.pictures.clone(),
        }
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
        let message = format!(
            "{}; run {run_id} stopped after {} chunks and can be continued with: woosync resume --config {}",
            message.strip_prefix("database: ").unwrap_or(&message),
            self.chunks,
            run.settings.config_path.display()
        );
        match e {
            // A refusal stays one, so a resume that meets it again can tell.
            Error::Refused { signature, detail, .. } => Error::Refused { signature, detail, message },
            _ => Error::Database(message),
        }
    }
}
