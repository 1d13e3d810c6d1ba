//! The run, phase by phase. Each file here is one phase with one job, and `sync`, `resume` and
//! `doctor` are short compositions of them:
//!
//! ```text
//!  lock ──► freeze ──► (catalog::load) ──► survey ──► planning ──► write ──► finish
//!  (one     (read,      read the shop       (families, (planner     (chunks:   (caches, counts,
//!  writer   normalise,  once, packed)       guard,     thread, fed  pacing,    run record,
//!  a shop)  freeze)                         missing)   by blocks)   lock, checkpoints) outcome)
//! ```
//! `resume` picks the run to continue and checks it can be trusted; `pace` sizes chunks and
//! waits for the writer's turn; `events` is what watchers see. Dry runs walk the same path and
//! stop short of every write.

mod attributes;
mod categories;
mod doctor;
mod events;
mod finish;
mod freeze;
mod history;
mod lock;
mod owed;
mod pace;
mod planning;
mod resume;
mod survey;
mod write;

use std::path::Path;
use std::time::Instant;

use chrono::Utc;
use mysql_async::Conn;

pub use doctor::{cache_sample, doctor, CacheSample};
pub use events::{Observer, Progress, Quiet, Shutdown};
pub use finish::Outcome;
pub use freeze::{read_and_freeze, read_feed, Journal, FETCHING_PAGES};
pub use history::{status, status_json};
pub use lock::{lock_name, RunLock};
pub use pace::{PAUSED, WAITING_FOR_SERVER};

use crate::cache::Cache;
use crate::catalog::{self, Catalog, Shop};
use crate::config::Settings;
use crate::error::Result;
use crate::input::Input;
use crate::journal;
use crate::plan::{self, Rules};
use crate::report::{Counts, Report};
use planning::Planning;

pub struct SyncOptions<'a> {
    pub dry_run: bool,
    pub report: Option<&'a Path>,
    /// Write even when the safety guard refuses the feed.
    pub force: bool,
    /// Abandon an unfinished run instead of finishing it first.
    pub fresh: bool,
}

/// `woosync sync`: finishes an unfinished run first (or abandons it), then reads, freezes and
/// syncs the feed. A dry run takes no lock and writes nothing.
pub async fn sync(settings: &Settings, opts: SyncOptions<'_>, shutdown: &Shutdown, observer: &dyn Observer) -> Result<Vec<Outcome>> {
    let (conn, shop) = open(settings, !opts.dry_run).await?;
    let report = Report::create(opts.report)?;
    let mut run = Run { settings, shop: &shop, shutdown, observer, conn, report, lock: None, cache: None, pictures: None };
    observer.progress(Progress::starting("reading the feed"));
    let mode = Mode::Fresh { force: opts.force };
    if opts.dry_run {
        let feed = read_feed(settings, &shop.widths, observer).await?;
        let outcome = run.execute(None, feed, mode).await?;
        run.report.finish()?;
        return Ok(vec![outcome]);
    }
    run.lock = Some(RunLock::acquire(settings, &shop).await?);
    run.cache = open_cache(settings).await?;
    journal::ensure_tables(&mut run.conn, &shop.prefix).await?;
    owed::settle(&mut run).await?;
    crate::media::pending::clean(&mut run.conn, &shop.prefix).await?;
    run.pictures = crate::media::Pictures::open(&mut run.conn, settings, &shop).await?.map(std::sync::Arc::new);
    let mut outcomes: Vec<Outcome> = resume::finish_pending(&mut run, opts.fresh).await?.into_iter().collect();
    let run_id = journal::start_run(&mut run.conn, &shop.prefix, settings).await?;
    tracing::info!(run = run_id, "run {run_id} started");
    let feed = freeze::into_journal(&mut run, run_id).await?;
    crate::crashpoint::here(format_args!("frozen"));
    outcomes.push(run.execute(Some(run_id), feed, mode).await?);
    run.report.finish()?;
    Ok(outcomes)
}

/// `woosync resume [RUN]`: continues an interrupted run from its last committed chunk.
pub async fn resume(settings: &Settings, id: Option<u64>, report: Option<&Path>, shutdown: &Shutdown, observer: &dyn Observer) -> Result<Outcome> {
    let (conn, shop) = open(settings, true).await?;
    let lock = Some(RunLock::acquire(settings, &shop).await?);
    let cache = open_cache(settings).await?;
    let mut run = Run { settings, shop: &shop, shutdown, observer, conn, report: Report::create(None)?, lock, cache, pictures: None };
    owed::settle(&mut run).await?;
    crate::media::pending::clean(&mut run.conn, &shop.prefix).await?;
    run.pictures = crate::media::Pictures::open(&mut run.conn, settings, &shop).await?.map(std::sync::Arc::new);
    let record = resume::chosen(&mut run, id).await?;
    run.report = Report::create(report)?;
    let outcome = resume::resume_chosen(&mut run, &record).await?;
    run.report.finish()?;
    Ok(outcome)
}

/// `woosync resume --abandon RUN`: gives up on an unfinished run (under the run lock); returns
/// what to tell the person.
pub async fn abandon(settings: &Settings, id: u64) -> Result<String> {
    let (conn, shop) = open(settings, true).await?;
    let lock = Some(RunLock::acquire(settings, &shop).await?);
    let (shutdown, report) = (Shutdown::default(), Report::create(None)?);
    let mut run = Run { settings, shop: &shop, shutdown: &shutdown, observer: &Quiet, conn, report, lock, cache: None, pictures: None };
    resume::abandon(&mut run, id).await
}

/// The shop's object cache, when the config names one: connected before anything is written,
/// so a cache that cannot be reached at all stops the run while the database is untouched.
async fn open_cache(settings: &Settings) -> Result<Option<Cache>> {
    match &settings.object_cache {
        None => Ok(None),
        Some(config) => Ok(Some(Cache::connect(config, &settings.table_prefix).await?)),
    }
}

/// A connection to the shop, and what pre-flight found there (`writes`: the run will write).
async fn open(settings: &Settings, writes: bool) -> Result<(Conn, Shop)> {
    let mut conn = catalog::connect(settings).await?;
    let shop = Shop::inspect(&mut conn, settings, writes).await?;
    Ok((conn, shop))
}

/// How a run came to be, which decides what the guard and finalisation do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `sync`: the safety guard judges the feed (`force` writes past a refusal).
    Fresh { force: bool },
    /// `resume`, or `sync` finishing an unfinished run: the guard accepted it when it started.
    Resumed,
    /// `doctor`: the feed is the shop itself, derived values recomputed.
    Doctor,
}

/// What every phase of a run shares: the settings and shop, who watches, and the run's
/// connection, report and lock.
struct Run<'a> {
    settings: &'a Settings,
    shop: &'a Shop,
    shutdown: &'a Shutdown,
    observer: &'a dyn Observer,
    conn: Conn,
    report: Report,
    /// Held by writing runs; `None` for dry runs.
    lock: Option<RunLock>,
    /// The shop's object cache, kept in step by writing runs (`None` without one, and for dry runs).
    cache: Option<Cache>,
    /// The media library the feed's pictures go to (writing runs with `[wordpress]`).
    pictures: Option<std::sync::Arc<crate::media::Pictures>>,
}

/// One pass from a frozen feed to its outcome: what the phases of it need to know.
struct Pass {
    /// `None` for a dry run.
    run_id: Option<u64>,
    mode: Mode,
    started: Instant,
    started_at: chrono::DateTime<Utc>,
    source: String,
    /// Feed rows to plan, for progress.
    total: usize,
    /// The rules the planner plans by; the writer plans again by them what changed meanwhile.
    rules: Rules,
}

impl Pass {
    fn outcome(&self, counts: Counts) -> Outcome {
        Outcome {
            run_id: self.run_id,
            counts,
            elapsed: self.started.elapsed(),
            dry_run: self.run_id.is_none(),
            resumed: self.mode == Mode::Resumed,
            started_at: self.started_at,
            source: self.source.clone(),
            changed: None,
        }
    }
}

impl Run<'_> {
    /// Everything after the feed is frozen: read the shop, survey the feed, plan and write the
    /// chunks, finish. `run_id` is `None` for a dry run.
    async fn execute(&mut self, run_id: Option<u64>, mut input: Input, mode: Mode) -> Result<Outcome> {
        let mut pass = Pass {
            run_id,
            mode,
            started: Instant::now(),
            started_at: Utc::now(),
            source: input.label.clone(),
            total: input.items + input.rejections.len(),
            rules: self.rules(mode),
        };
        self.observer.progress(Progress { total: pass.total, ..Progress::starting("reading the shop") });
        // The card fields `update_content` keeps in step and the feed gives are read; not by the doctor.
        let cards = if mode == Mode::Doctor { Default::default() } else { input.facts.card_reads(&self.settings.update_content) };
        let catalog = self.read_shop(&pass, input.facts.has_gtins, cards).await?;
        if mode == Mode::Doctor {
            input = Input::from_items(doctor::DOCTOR_LABEL, crate::doctor::items(&catalog));
            pass.total = input.items;
        }
        let rejected = plan::rejection_rows(&input.rejections);
        self.report.rows(&rejected)?;
        finish::log_problems(&rejected);
        let skipped = plan::skip_rows(&input.skip_warnings);
        self.report.rows(&skipped)?;
        let (skip_count, skip_warnings) = (input.skipped, skipped.len());

        let mut surveyed = survey::survey(self, &catalog, &mut input, &pass).await?;
        pass.total += surveyed.missing.len();
        pass.rules.categories = std::sync::Arc::new(categories::settle(self, &pass, &surveyed.paths).await?);
        pass.rules.attributes = std::sync::Arc::new(attributes::settle(self, &pass, &surveyed.attributes).await?);
        if !surveyed.added_parents.is_empty() {
            let cards = crate::catalog::attributes::ParentCard::load(&mut self.conn, &self.shop.prefix, &surveyed.added_parents, &catalog.children).await?;
            pass.rules.parents = std::sync::Arc::new(cards);
        }
        let mut planning = Planning::start(self, catalog, pass.rules.clone(), input, &mut surveyed).await?;
        let written = write::chunks(self, &mut planning, &pass, std::mem::take(&mut surveyed.seen)).await?;
        let (notes, mut counts) = planning.finish(self, run_id).await?;
        counts.skipped = skip_count;
        counts.warning += skip_warnings;
        self.observer.progress(Progress { phase: "finishing", planned: pass.total, total: pass.total, written: written.products });
        self.report.rows(&notes)?;
        finish::log_problems(&notes);
        tracing::info!(
            create = counts.created,
            update = counts.updated,
            unchanged = counts.unchanged,
            "planned: {} to create, {} to update, {} unchanged",
            counts.created,
            counts.updated,
            counts.unchanged
        );
        match run_id {
            None => Ok(pass.outcome(counts)),
            Some(run_id) => finish::finish(self, &pass, run_id, counts, written).await,
        }
    }

    /// The shop as it is now, in one pass (every row the doctor compares, for `doctor`; the
    /// GTINs when the feed gives some).
    async fn read_shop(&mut self, pass: &Pass, gtins: bool, cards: crate::config::ContentPolicy) -> Result<Catalog> {
        let catalog = Catalog::load(&mut self.conn, self.settings, self.shop, pass.mode == Mode::Doctor, gtins, cards).await?;
        tracing::info!(
            products = catalog.len(),
            ms = pass.started.elapsed().as_millis() as u64,
            "read the shop: {} products and variations",
            catalog.len()
        );
        Ok(catalog)
    }

    /// WooCommerce's rules as this shop and run apply them.
    fn rules(&self, mode: Mode) -> Rules {
        let (shop, settings) = (self.shop, self.settings);
        Rules {
            notify_no_stock_amount: shop.notify_no_stock_amount,
            hide_out_of_stock: shop.hide_out_of_stock,
            now_unix: Utc::now().timestamp(),
            new_status: settings.new_product_status.clone(),
            report_rows: self.report.is_open(),
            row_word: if mode == Mode::Doctor { "product" } else { settings.source.row_word() },
            external_id_meta: settings.external_id_meta,
            rederive: mode == Mode::Doctor,
            categories: Default::default(),
            attributes: Default::default(),
            content: settings.update_content,
            variation_sku: settings.variation_sku.clone(),
            parents: Default::default(),
            meta: std::sync::Arc::new(settings.source.columns().meta.clone()),
        }
    }
}
