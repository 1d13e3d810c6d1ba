//! The pipeline, end to end, for `sync`, `resume` and `status`:
//! source → normalise → freeze → catalog → plan → apply chunks → finalise → report.
//! Dry runs walk the same path and stop short of every write.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use mysql_async::prelude::*;
use mysql_async::Conn;

use crate::apply::{self, Target};
use crate::catalog::{self, Catalog, Shop};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::journal::{self, RunRecord, VERSION};
use crate::input::{Collector, Input};
use crate::model::Item;
use crate::plan::{self, Rules, Unit};
use crate::report::{summary_line, Counts, Report};
use crate::source;

/// A stop request (Ctrl-C, SIGTERM, or a test). The writer checks it between chunks.
#[derive(Clone, Default)]
pub struct Shutdown(Arc<(AtomicBool, tokio::sync::Notify)>);

impl Shutdown {
    pub fn request(&self) {
        self.0 .0.store(true, Ordering::SeqCst);
        self.0 .1.notify_waiters();
    }
    pub fn requested(&self) -> bool {
        self.0 .0.load(Ordering::SeqCst)
    }
    /// Resolves once a stop is requested.
    pub async fn wait(&self) {
        let notified = self.0 .1.notified();
        if self.requested() {
            return;
        }
        notified.await;
    }
}

/// Where a run is, for a progress display: feed rows planned of the total, products written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub phase: &'static str,
    pub planned: usize,
    pub total: usize,
    pub written: usize,
}

/// Hooks for whoever watches a run (progress, tests). Called after each committed chunk.
pub trait Observer: Send + Sync {
    /// Called when a phase starts and, while planning and writing, a few times a second.
    fn progress(&self, _p: Progress) {}

    /// `more` is 0 when the planner had nothing left after this chunk.
    fn chunk_committed(&self, _run_id: u64, _chunk_no: u32, _more: usize, _attempts: u32) {}
}

pub struct Quiet;
impl Observer for Quiet {}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub run_id: Option<u64>,
    pub counts: Counts,
    pub elapsed: Duration,
    pub dry_run: bool,
    pub resumed: bool,
    pub started_at: chrono::DateTime<Utc>,
    pub source: String,
}

impl Outcome {
    /// The run summary as one JSON object (`sync --json`).
    pub fn to_json(&self) -> serde_json::Value {
        let c = &self.counts;
        serde_json::json!({
            "run_id": self.run_id,
            "outcome": "done",
            "dry_run": self.dry_run,
            "resumed": self.resumed,
            "started_at": self.started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "finished_at": (self.started_at + chrono::Duration::from_std(self.elapsed).unwrap_or_default())
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "elapsed_secs": (self.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            "source": self.source,
            "counts": {
                "rows": c.items, "created": c.created, "updated": c.updated, "unchanged": c.unchanged,
                "conflict": c.conflict, "invalid": c.invalid, "warnings": c.warning,
            },
        })
    }

    pub fn summary(&self) -> String {
        summary_line(self.run_id, self.dry_run, self.resumed, &self.counts, self.elapsed)
    }
}

/// Whether the safety guard looks at this run, and whether it may be overridden.
#[derive(Clone, Copy)]
struct Guard {
    check: bool,
    force: bool,
    /// `woosync doctor`: the feed is the shop itself, derived values recomputed.
    doctor: bool,
}

pub struct SyncOptions<'a> {
    pub dry_run: bool,
    pub report: Option<&'a Path>,
    /// Write even when the safety guard refuses the feed.
    pub force: bool,
}

/// The named lock that keeps two runs from writing to one shop at once (64 characters at most).
pub fn lock_name(database: &str, prefix: &str) -> String {
    let name = format!("woosync:{database}:{prefix}");
    name.chars().take(64).collect()
}

/// The named lock a writing run holds, on a connection of its own.
pub struct RunLock {
    conn: Conn,
    name: String,
}

async fn acquire_lock(settings: &Settings, shop: &Shop) -> Result<RunLock> {
    let name = lock_name(&shop.database, &shop.prefix);
    let conn = take_lock(settings, &name).await?;
    Ok(RunLock { conn, name })
}

/// A fresh connection holding the named lock; `Locked` when another run holds it.
async fn take_lock(settings: &Settings, name: &str) -> Result<Conn> {
    let mut conn = catalog::connect(settings).await?;
    let got: Option<Option<i64>> = conn.exec_first("SELECT GET_LOCK(?, 0)", (name,)).await?;
    match got.flatten() {
        Some(1) => Ok(conn),
        _ => Err(Error::Locked(name.to_string())),
    }
}

impl RunLock {
    /// Before each chunk: the lock is still ours. A server restart or a killed connection
    /// releases it; it is then taken again, unless another run took it meanwhile (that run
    /// goes on, this one stops resumably).
    async fn keep(&mut self, settings: &Settings) -> Result<()> {
        let ours: std::result::Result<Option<Option<i64>>, _> =
            self.conn.exec_first("SELECT IS_USED_LOCK(?) = CONNECTION_ID()", (&self.name,)).await;
        if let Ok(Some(Some(1))) = ours {
            return Ok(());
        }
        tracing::warn!("the run lock {} was lost (connection dropped or server restarted); taking it again", self.name);
        // A server that is restarting gets the same patience as a chunk's reconnect.
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match take_lock(settings, &self.name).await {
                Ok(conn) => {
                    self.conn = conn;
                    return Ok(());
                }
                Err(e @ Error::Locked(_)) => return Err(e),
                Err(e) if attempt < crate::error::RECONNECT_ATTEMPTS => {
                    let wait = crate::error::reconnect_wait(attempt);
                    tracing::warn!(attempt, "taking the run lock again failed ({e}); retrying in {} ms", wait.as_millis());
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The progress phase while the writer waits for the pause file to go.
pub const PAUSED: &str = "paused: the pause file is present";
/// The progress phase while the writer waits for the server to calm down.
pub const WAITING_FOR_SERVER: &str = "waiting: the server's Threads_running is above max_threads_running";

/// Before a chunk: waits while the pause file is there or the server is busier than
/// `max_threads_running` allows (polling every second, saying so in the progress line and
/// the log); returns why to stop instead (a signal, the stop file).
async fn wait_for_turn(
    conn: &mut Conn,
    policy: &crate::config::ChunkPolicy,
    shutdown: &Shutdown,
    observer: &dyn Observer,
    progress: Progress,
) -> Result<Option<String>> {
    let mut said: Option<crate::pace::Hold> = None;
    loop {
        if shutdown.requested() {
            return Ok(Some("stopped by a signal between chunks".into()));
        }
        if let Some(file) = policy.stop_file.as_ref().filter(|f| f.exists()) {
            return Ok(Some(format!("the stop file {} is present", file.display())));
        }
        let paused = policy.pause_file.as_ref().is_some_and(|f| f.exists());
        let running = if policy.max_threads_running > 0 && !paused {
            let row: Option<(String, String)> = conn
                .query_first("SHOW GLOBAL STATUS LIKE 'Threads_running'")
                .await
                .map_err(|e| Error::db("reading Threads_running", e))?;
            row.and_then(|(_, v)| v.parse().ok())
        } else {
            None
        };
        let Some(hold) = crate::pace::hold(policy, paused, running) else {
            if said.is_some() {
                tracing::info!("resuming writes");
            }
            return Ok(None);
        };
        if said.as_ref().map(std::mem::discriminant) != Some(std::mem::discriminant(&hold)) {
            match &hold {
                crate::pace::Hold::Paused => tracing::info!(
                    "paused: {} is present; writes continue when it is removed",
                    policy.pause_file.as_ref().map(|f| f.display().to_string()).unwrap_or_default()
                ),
                crate::pace::Hold::Busy { running, max } => {
                    tracing::info!(running, max, "waiting: Threads_running is {running}, above max_threads_running = {max}")
                }
            }
        }
        let phase = match hold {
            crate::pace::Hold::Paused => PAUSED,
            crate::pace::Hold::Busy { .. } => WAITING_FOR_SERVER,
        };
        observer.progress(Progress { phase, ..progress });
        said = Some(hold);
        tokio::time::sleep(Duration::from_millis(if cfg!(test) { 50 } else { 1000 })).await;
    }
}

/// The progress phase of an HTTP source fetching its pages (`planned` = pages so far).
pub const FETCHING_PAGES: &str = "fetching pages";

/// Reads the source and normalises it row by row as it streams in, keeping the frozen rows in
/// memory. A source that fails part-way fails the whole read: nothing has been written yet.
pub async fn read_feed(settings: &Settings, observer: &dyn Observer) -> Result<Input> {
    read_and_freeze(settings, observer, None).await
}

/// Where a real run freezes its input: the connection, the table prefix and the run.
pub type Journal<'a> = (&'a mut Conn, &'a str, u64);

/// Reads and normalises the feed and freezes it, into the run journal for a real run (file
/// sources are parsed on a blocking thread while the frozen blocks are stored as they fill; an
/// HTTP source is stored once its last page is in) or into memory for a dry run.
pub async fn read_and_freeze(settings: &Settings, observer: &dyn Observer, journal: Option<Journal<'_>>) -> Result<Input> {
    let started = Instant::now();
    let (collector, raw, stored, journal) = match &settings.source {
        crate::config::Source::Http(_) => {
            let mut collector = Collector::default();
            let mut blocks = Vec::new();
            let pages = |n: u32| {
                observer.progress(Progress { phase: FETCHING_PAGES, planned: n as usize, total: 0, written: 0 });
            };
            let raw = source::read(&settings.source, &pages, &mut |record, at| {
                blocks.extend(collector.push(crate::normalize::normalize_record(record, at)));
            })
            .await?;
            blocks.extend(collector.last_block());
            match journal {
                Some((conn, prefix, run_id)) => {
                    for block in &blocks {
                        journal::write_block(conn, prefix, run_id, block.no, block.rows, &block.payload).await?;
                    }
                    (collector, raw, StoredBlocks::Journal(blocks.len() as u32), Some((conn, prefix, run_id)))
                }
                None => (collector, raw, StoredBlocks::Memory(blocks), None),
            }
        }
        _ => {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<crate::input::frozen::Block>(2);
            let owned = settings.clone();
            let parse = tokio::task::spawn_blocking(move || -> Result<(Collector, source::RawFeed)> {
                let mut collector = Collector::default();
                let raw = source::read_file(&owned.source, &mut |record, at| {
                    // A closed channel means storing failed; that error is reported below.
                    if let Some(block) = collector.push(crate::normalize::normalize_record(record, at)) {
                        let _ = tx.blocking_send(block);
                    }
                })?;
                if let Some(block) = collector.last_block() {
                    let _ = tx.blocking_send(block);
                }
                Ok((collector, raw))
            });
            let store = async {
                match journal {
                    Some((conn, prefix, run_id)) => {
                        let mut count = 0;
                        while let Some(block) = rx.recv().await {
                            journal::write_block(conn, prefix, run_id, block.no, block.rows, &block.payload).await?;
                            count += 1;
                            crate::crashpoint::here(format_args!("frozen-block-{}", block.no + 1));
                        }
                        Ok::<_, Error>((StoredBlocks::Journal(count), Some((conn, prefix, run_id))))
                    }
                    None => {
                        let mut blocks = Vec::new();
                        while let Some(block) = rx.recv().await {
                            blocks.push(block);
                        }
                        Ok((StoredBlocks::Memory(blocks), None))
                    }
                }
            };
            let (parsed, stored) = tokio::join!(parse, store);
            let (collector, raw) = parsed.map_err(|e| Error::Internal(format!("the feed reader stopped: {e}")))??;
            let (stored, journal) = stored?;
            (collector, raw, stored, journal)
        }
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
        ms = started.elapsed().as_millis() as u64,
        "read the feed: {} rows to sync, {} rejected",
        input.items,
        input.rejections.len()
    );
    Ok(input)
}

/// Where [`read_and_freeze`] put the frozen blocks.
enum StoredBlocks {
    Journal(u32),
    Memory(Vec<crate::input::frozen::Block>),
}

pub async fn sync(settings: &Settings, opts: SyncOptions<'_>, shutdown: &Shutdown, observer: &dyn Observer) -> Result<Vec<Outcome>> {
    let mut conn = catalog::connect(settings).await?;
    let shop = Shop::inspect(&mut conn, settings).await?;
    let mut report = Report::create(opts.report)?;
    observer.progress(Progress { phase: "reading the feed", planned: 0, total: 0, written: 0 });
    if opts.dry_run {
        let feed = read_feed(settings, observer).await?;
        let guard = Guard { force: opts.force, check: true, doctor: false };
        let outcome = execute(&mut conn, &shop, settings, None, feed, &mut report, shutdown, observer, guard, None).await?;
        report.finish()?;
        return Ok(vec![outcome]);
    }

    let mut lock = acquire_lock(settings, &shop).await?;
    journal::ensure_tables(&mut conn, &shop.prefix).await?;
    let mut outcomes = Vec::new();
    if let Some(run) = journal::pending(&mut conn, &shop.prefix).await? {
        match trust(&run, settings) {
            Ok(()) if run.age_secs >= 0 && Duration::from_secs(run.age_secs as u64) <= settings.resume_within => {
                tracing::info!(run = run.id, "run {} did not finish; resuming it before the new run", run.id);
                outcomes.push(continue_run(&mut conn, &shop, settings, &run, &mut report, shutdown, observer, &mut lock).await?);
            }
            verdict => {
                let why = match verdict {
                    Err(reason) => reason,
                    Ok(()) => format!("it started {} s ago, more than resume_within allows", run.age_secs),
                };
                tracing::warn!(run = run.id, "run {} did not finish and is abandoned ({why}); a fresh run follows", run.id);
                journal::set_state(&mut conn, &shop.prefix, run.id, "abandoned", Some(&why)).await?;
            }
        }
    }

    let run_id = journal::start_run(&mut conn, &shop.prefix, settings).await?;
    tracing::info!(run = run_id, "run {run_id} started");
    let feed = match read_and_freeze(settings, observer, Some((&mut conn, &shop.prefix, run_id))).await {
        Ok(input) => input,
        Err(e) => {
            journal::discard_input(&mut conn, &shop.prefix, run_id).await?;
            journal::set_state(&mut conn, &shop.prefix, run_id, "failed", Some(&e.to_string())).await?;
            return Err(e);
        }
    };
    crate::crashpoint::here(format_args!("frozen"));
    let guard = Guard { force: opts.force, check: true, doctor: false };
    let outcome = execute(&mut conn, &shop, settings, Some(run_id), feed, &mut report, shutdown, observer, guard, Some(&mut lock)).await?;
    report.finish()?;
    outcomes.push(outcome);
    Ok(outcomes)
}

/// Why a run's frozen plan cannot be trusted by this binary and config, if it cannot.
fn trust(run: &RunRecord, settings: &Settings) -> std::result::Result<(), String> {
    if run.config_fingerprint == journal::DOCTOR_FINGERPRINT {
        return Err("it was a `woosync doctor --fix` run; run the doctor again instead".into());
    }
    if !run.sealed {
        return Err("it stopped while its feed was being read, so its frozen input is incomplete".into());
    }
    if run.tool_version != VERSION {
        return Err(format!("it was started by woosync {}, this is {VERSION}", run.tool_version));
    }
    if run.config_fingerprint != settings.fingerprint() {
        return Err("the config changed since it started (table prefix, new_product_status, author_id or column mapping)".into());
    }
    Ok(())
}

/// `woosync doctor`: reports — and with `fix` repairs, in chunks through the same writer — what
/// in the shop breaks WooCommerce's own rules (see [`crate::doctor`]), plus an `outofstock` term
/// count that disagrees with the products carrying the term.
pub async fn doctor(settings: &Settings, fix: bool, report: Option<&Path>, shutdown: &Shutdown, observer: &dyn Observer) -> Result<(Outcome, bool)> {
    let mut conn = catalog::connect(settings).await?;
    let shop = Shop::inspect(&mut conn, settings).await?;
    let mut report = Report::create(report)?;
    let feed = Input::from_items(DOCTOR_LABEL, Vec::new());
    let guard = Guard { check: false, force: true, doctor: true };
    let mut lock = None;
    let run_id = if fix {
        lock = Some(acquire_lock(settings, &shop).await?);
        journal::ensure_tables(&mut conn, &shop.prefix).await?;
        let run_id = journal::start_run(&mut conn, &shop.prefix, settings).await?;
        journal::mark_doctor(&mut conn, &shop.prefix, run_id).await?;
        Some(run_id)
    } else {
        None
    };
    let p = &shop.prefix;
    // The count as found: a --fix run recounts it during finalisation.
    let stored: Option<i64> = conn
        .exec_first(format!("SELECT count FROM `{p}term_taxonomy` WHERE term_taxonomy_id = ?"), (shop.outofstock_tt,))
        .await
        .map_err(|e| Error::db("reading the outofstock term count", e))?;
    let outcome = execute(&mut conn, &shop, settings, run_id, feed, &mut report, shutdown, observer, guard, lock.as_mut()).await?;
    let actual: Option<i64> = conn
        .exec_first(
            format!(
                "SELECT COUNT(*) FROM `{p}term_relationships` tr JOIN `{p}posts` po ON po.ID = tr.object_id \
                 WHERE tr.term_taxonomy_id = ? AND po.post_status = 'publish' AND po.post_type IN ('product', 'product_variation')"
            ),
            (shop.outofstock_tt,),
        )
        .await
        .map_err(|e| Error::db("counting outofstock products", e))?;
    let count_wrong = stored != actual;
    if count_wrong {
        let mut row = crate::report::ReportRow::note(
            crate::report::Action::Update,
            "",
            "term_taxonomy.count",
            "the outofstock term's count disagrees with the published products carrying it".into(),
        );
        row.old = stored.map(|c| c.to_string()).unwrap_or_default();
        row.new = actual.map(|c| c.to_string()).unwrap_or_default();
        report.rows(&[row])?;
        tracing::warn!(stored, actual, "the outofstock term count is {stored:?}, the products say {actual:?}");
        if fix {
            let sql = include_str!("../sql/recount_term.sql").replace("{prefix}", p);
            conn.exec_drop(sql, (shop.outofstock_tt, shop.outofstock_tt)).await.map_err(|e| Error::db("recounting the outofstock term", e))?;
        }
    }
    report.finish()?;
    Ok((outcome, count_wrong))
}

pub async fn resume(settings: &Settings, run: Option<u64>, report: Option<&Path>, shutdown: &Shutdown, observer: &dyn Observer) -> Result<Outcome> {
    let mut conn = catalog::connect(settings).await?;
    let shop = Shop::inspect(&mut conn, settings).await?;
    let mut lock = acquire_lock(settings, &shop).await?;
    if !journal::tables_exist(&mut conn, &shop.prefix).await? {
        return Err(Error::ResumeRefused("this shop has no woosync run journal yet: nothing to resume".into()));
    }
    let record = match run {
        Some(id) => {
            let r = journal::get(&mut conn, &shop.prefix, id).await?.ok_or_else(|| Error::ResumeRefused(format!("there is no run {id}")))?;
            if !matches!(r.state.as_str(), "running" | "interrupted") {
                return Err(Error::ResumeRefused(format!("run {id} is {}; only an interrupted run can be resumed", r.state)));
            }
            r
        }
        None => journal::pending(&mut conn, &shop.prefix)
            .await?
            .ok_or_else(|| Error::ResumeRefused("no interrupted run to resume; start a fresh one with `woosync sync`".into()))?,
    };
    trust(&record, settings).map_err(|why| {
        Error::ResumeRefused(format!("run {} cannot be resumed: {why}; start a fresh run with `woosync sync`", record.id))
    })?;
    let mut report = Report::create(report)?;
    let outcome = continue_run(&mut conn, &shop, settings, &record, &mut report, shutdown, observer, &mut lock).await?;
    report.finish()?;
    Ok(outcome)
}

#[allow(clippy::too_many_arguments)]
async fn continue_run(
    conn: &mut Conn,
    shop: &Shop,
    settings: &Settings,
    run: &RunRecord,
    report: &mut Report,
    shutdown: &Shutdown,
    observer: &dyn Observer,
    lock: &mut RunLock,
) -> Result<Outcome> {
    let feed = crate::input::from_journal(conn, &shop.prefix, run).await?;
    journal::set_state(conn, &shop.prefix, run.id, "running", None).await?;
    tracing::info!(run = run.id, chunks_done = run.chunks_done, "resuming run {} after {} committed chunks", run.id, run.chunks_done);
    // The guard let this run start; a resume finishes what was accepted.
    execute(conn, shop, settings, Some(run.id), feed, report, shutdown, observer, Guard { force: true, check: false, doctor: false }, Some(lock)).await
}

/// The feed label of `woosync doctor`'s rows.
const DOCTOR_LABEL: &str = "the shop itself (doctor)";

#[allow(clippy::too_many_arguments)]
async fn execute(
    conn: &mut Conn,
    shop: &Shop,
    settings: &Settings,
    run_id: Option<u64>,
    mut input: Input,
    report: &mut Report,
    shutdown: &Shutdown,
    observer: &dyn Observer,
    guard: Guard,
    mut lock: Option<&mut RunLock>,
) -> Result<Outcome> {
    let resumed = !guard.check && !guard.doctor;
    let started = Instant::now();
    let started_at = Utc::now();
    let source = input.label.clone();
    let mut total = input.items + input.rejections.len();
    observer.progress(Progress { phase: "reading the shop", planned: 0, total, written: 0 });
    let catalog = Catalog::load(conn, settings, shop, guard.doctor).await?;
    tracing::info!(
        products = catalog.len(),
        ms = started.elapsed().as_millis() as u64,
        "read the shop: {} products and variations",
        catalog.len()
    );
    let rules = Rules {
        notify_no_stock_amount: shop.notify_no_stock_amount,
        hide_out_of_stock: shop.hide_out_of_stock,
        now_unix: Utc::now().timestamp(),
        new_status: settings.new_product_status.clone(),
        report_rows: report.is_open(),
        row_word: if guard.doctor { "product" } else { settings.source.row_word() },
        external_id_meta: settings.external_id_meta,
        rederive: guard.doctor,
    };
    if guard.doctor {
        input = Input::from_items(DOCTOR_LABEL, crate::doctor::items(&catalog));
        total = input.items;
    }
    let rejected = plan::rejection_rows(&input.rejections);
    report.rows(&rejected)?;
    log_problems(&rejected);

    let source_key = journal::source_key(settings);
    let zero_missing = settings.zero_missing && !guard.doctor;
    let mut missing: Vec<Item> = Vec::new();
    // One look at the whole feed before anything is written: where each variable family's rows
    // end, the safety guard's tally and the products this source synced before that the feed
    // no longer names.
    let (mut seen_now, family_ends) = {
        let known = match zero_missing {
            true => Some(journal::load_seen(conn, &shop.prefix, &source_key).await?),
            false => None,
        };
        let mut survey = Survey::new(&catalog, known);
        for no in 0..input.blocks() {
            let items = input.block(Some(&mut *conn), no, false).await?;
            survey.look(&items);
        }
        if zero_missing {
            missing = survey.missing();
            survey.look(&missing);
            if !missing.is_empty() {
                tracing::info!("{} products this source synced before are missing from the feed: their stock goes to 0", missing.len());
            }
        }
        if guard.check {
            let tally = survey.tally;
            let last = journal::last_success_items(conn, &shop.prefix, run_id).await?;
            let reasons = crate::guard::assess(&tally, input.items, last, &settings.guard);
            if !reasons.is_empty() {
                let verdict = reasons.join("; ");
                if let (Some(run_id), false) = (run_id, guard.force) {
                    let message = format!("{verdict}. Nothing was written; check the feed, or run with --force if the change is real");
                    journal::set_state(conn, &shop.prefix, run_id, "failed", Some(&message)).await?;
                    report.finish()?;
                    return Err(Error::Guard(message));
                }
                let what = if guard.force { "forced past the safety guard" } else { "a real run would be refused by the safety guard" };
                tracing::warn!("{what}: {verdict}");
                report.rows(&[crate::report::ReportRow::note(crate::report::Action::Warning, "", "guard", format!("{what}: {verdict}"))])?;
            }
        }
        (survey.seen, survey.ends)
    };
    total += missing.len();

    // The planner runs on its own thread, fed the frozen blocks one at a time by a reader task,
    // and hands over units as it goes; the writer below turns them into chunks. The channels
    // bound how much of the feed and of the plan is ever in memory.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Unit>(settings.chunk_size.max(64) * 2);
    let (block_tx, mut block_rx) = tokio::sync::mpsc::channel::<Vec<Item>>(1);
    let planned = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let planned_by_planner = planned.clone();
    let feed_failed = Arc::new(AtomicBool::new(false));
    let facts = std::mem::take(&mut input.facts);
    let rejections = input.rejections.len();
    let failed_feed = feed_failed.clone();
    let planner = tokio::task::spawn_blocking(move || {
        let mut planner = plan::Planner::new(&catalog, &rules, &facts).with_family_ends(family_ends);
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
    let mut reader = if input.in_journal() { Some(catalog::connect(settings).await?) } else { None };
    let feeder = tokio::spawn(async move {
        let result = async {
            for no in 0..input.blocks() {
                let items = input.block(reader.as_mut(), no, true).await?;
                if block_tx.send(items).await.is_err() {
                    return Ok(());
                }
            }
            if !missing.is_empty() {
                let _ = block_tx.send(missing).await;
            }
            Ok::<_, Error>(())
        }
        .await;
        if result.is_err() {
            feed_failed.store(true, Ordering::SeqCst);
        }
        drop(block_tx);
        if let Some(reader) = reader {
            let _ = reader.disconnect().await;
        }
        result
    });
    let mut written = 0usize;
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    let phase = if run_id.is_some() { "writing" } else { "planning (dry run)" };

    let p = &shop.prefix;
    let mut chunk_no = match run_id {
        Some(id) => journal::chunk_totals(conn, p, id).await?.2,
        None => 1,
    };
    let target = run_id.map(|run_id| Target {
        shop,
        run_id,
        new_status: &settings.new_product_status,
        author_id: settings.author_id,
        external_id_meta: settings.external_id_meta,
    });
    let mut parents = Vec::new();
    let mut term_changes = 0;
    let mut chunks = 0usize;
    if run_id.is_some() {
        crate::crashpoint::here(format_args!("before-chunks"));
    }
    let mut chunk: Vec<Unit> = Vec::new();
    let mut open = true;
    let mut size = match settings.chunks.target.is_zero() {
        true => settings.chunk_size,
        false => settings.chunk_size.clamp(settings.chunks.min, settings.chunks.max),
    };
    while open {
        let mut products = 0;
        while products < size {
            let unit = tokio::select! {
                unit = rx.recv() => unit,
                _ = ticker.tick() => {
                    observer.progress(Progress { phase, planned: planned.load(Ordering::Relaxed), total, written });
                    continue;
                }
            };
            match unit {
                Some(unit) => {
                    products += unit.creates.len() + unit.updates.len();
                    chunk.push(unit);
                }
                None => {
                    open = false;
                    break;
                }
            }
        }
        if chunk.is_empty() {
            break;
        }
        let (Some(target), Some(run_id)) = (&target, run_id) else {
            report.rows(&apply::dry_chunk(&chunk).rows)?;
            chunk.clear();
            continue;
        };
        if let Some(why) = wait_for_turn(conn, &settings.chunks, shutdown, observer, Progress { phase, planned: planned.load(Ordering::Relaxed), total, written }).await? {
            drop(rx);
            let _ = planner.await;
            journal::set_state(conn, p, run_id, "interrupted", Some(&why)).await?;
            report.finish()?;
            return Err(Error::Interrupted(format!(
                "run {run_id} was stopped ({why}) after {chunks} chunks; every committed chunk is whole and nothing is half-written. \
                 Continue it with: woosync resume --config {}",
                settings.config_path.display()
            )));
        }
        let chunk_started = Instant::now();
        let kept = match lock.as_deref_mut() {
            Some(lock) => lock.keep(settings).await,
            None => Ok(()),
        };
        let applied = match kept {
            Ok(()) => apply::apply_chunk(conn, settings, target, chunk_no, &chunk).await,
            Err(e) => Err(e),
        };
        let done = match applied {
            Ok(done) => done,
            Err(e) => {
                drop(rx);
                let _ = planner.await;
                let message = e.to_string();
                if journal::set_state(conn, p, run_id, "interrupted", Some(&message)).await.is_err() {
                    if let Ok(mut fresh) = catalog::connect(settings).await {
                        let _ = journal::set_state(&mut fresh, p, run_id, "interrupted", Some(&message)).await;
                    }
                }
                return Err(Error::Database(format!(
                    "{message}; run {run_id} stopped after {chunks} chunks and can be continued with: woosync resume --config {}",
                    settings.config_path.display()
                )));
            }
        };
        chunks += 1;
        tracing::info!(
            run = run_id,
            chunk = chunk_no,
            products = done.products,
            created = done.created,
            updated = done.updated,
            ms = chunk_started.elapsed().as_millis() as u64,
            size,
            "chunk {chunk_no} committed: {} created, {} updated",
            done.created,
            done.updated
        );
        size = crate::pace::next_size(size, done.products, chunk_started.elapsed(), &settings.chunks);
        report.rows(&done.rows)?;
        seen_now.extend(&done.created_ids);
        written += done.created + done.updated;
        observer.progress(Progress { phase, planned: planned.load(Ordering::Relaxed), total, written });
        parents.extend(done.parents);
        term_changes += done.term_changes;
        observer.chunk_committed(run_id, chunk_no, if open { 1 } else { 0 }, done.attempts);
        chunk_no += 1;
        chunk.clear();
        if open && !settings.chunks.pause.is_zero() {
            tokio::time::sleep(settings.chunks.pause).await;
        }
    }
    let planned_all = planner.await.map_err(|e| Error::Internal(format!("the planner failed: {e}")))?;
    let fed = feeder.await.map_err(|e| Error::Internal(format!("the feed reader failed: {e}")))?;
    let (notes, mut counts) = match (fed, planned_all) {
        (Ok(()), Some(planned)) => planned,
        (fed, _) => {
            let message = fed.err().map(|e| e.to_string()).unwrap_or_else(|| "the feed stopped before its end".into());
            if let Some(run_id) = run_id {
                journal::set_state(conn, p, run_id, "interrupted", Some(&message)).await?;
            }
            return Err(Error::Database(format!(
                "{message}; every committed chunk is whole; continue with: woosync resume --config {}",
                settings.config_path.display()
            )));
        }
    };
    observer.progress(Progress { phase: "finishing", planned: total, total, written });
    report.rows(&notes)?;
    log_problems(&notes);
    tracing::info!(
        create = counts.created,
        update = counts.updated,
        unchanged = counts.unchanged,
        "planned: {} to create, {} to update, {} unchanged",
        counts.created,
        counts.updated,
        counts.unchanged
    );

    let Some(run_id) = run_id else {
        return Ok(Outcome { run_id: None, counts, elapsed: started.elapsed(), dry_run: true, resumed, started_at, source });
    };
    let (created, updated, _) = journal::chunk_totals(conn, p, run_id).await?;
    if created + updated > 0 {
        let finalising = Instant::now();
        // Every parent the run re-synced, in this process or before a crash it was resumed from.
        parents.extend(journal::touched_parents(conn, p, run_id).await?);
        parents.sort_unstable();
        parents.dedup();
        // A resumed run may have moved terms before the crash: recount whenever it wrote.
        crate::finalise::run(conn, shop, &parents, term_changes > 0 || resumed || guard.doctor).await?;
        tracing::info!(ms = finalising.elapsed().as_millis() as u64, parents = parents.len(), "caches invalidated");
    }
    counts.created = created as usize;
    counts.updated = updated as usize;
    counts.unchanged = counts.items.saturating_sub(counts.created + counts.updated + counts.conflict + counts.invalid);
    journal::record_counts(conn, p, run_id, &counts).await?;
    if settings.zero_missing {
        journal::record_seen(conn, p, &source_key, &seen_now).await?;
    }
    crate::crashpoint::here(format_args!("before-done"));
    journal::set_state(conn, p, run_id, "done", None).await?;
    let outcome = Outcome { run_id: Some(run_id), counts, elapsed: started.elapsed(), dry_run: false, resumed, started_at, source };
    log_summary(&outcome);
    Ok(outcome)
}

pub async fn status(settings: &Settings, limit: u32) -> Result<Vec<RunRecord>> {
    let mut conn = catalog::connect(settings).await?;
    let prefix = &settings.table_prefix;
    if !journal::tables_exist(&mut conn, prefix).await? {
        return Ok(Vec::new());
    }
    journal::recent(&mut conn, prefix, limit).await
}

/// One look at the whole feed before anything is written: the safety guard's tally, and which
/// products the feed reaches — for the missing-items pass (`missing = "zero_stock"`).
struct Survey<'a> {
    catalog: &'a Catalog,
    index: crate::catalog::SkuIndex<'a>,
    externals: crate::catalog::ExternalIndex<'a>,
    /// Products this source synced before; `None` unless `missing = "zero_stock"`.
    known: Option<std::collections::HashSet<u64>>,
    /// Products the feed reaches: matched by external ID or SKU, or holding a SKU the feed names.
    reached: Vec<u64>,
    /// Products the feed matches that this source had not synced before.
    seen: Vec<u64>,
    tally: crate::guard::Tally,
    ends: plan::FamilyEnds,
    /// Rows looked at so far.
    position: u64,
}

impl<'a> Survey<'a> {
    fn new(catalog: &'a Catalog, known: Option<std::collections::HashSet<u64>>) -> Survey<'a> {
        Survey {
            catalog,
            index: catalog.sku_index(),
            externals: catalog.external_index(),
            known,
            reached: Vec::new(),
            seen: Vec::new(),
            tally: Default::default(),
            ends: Default::default(),
            position: 0,
        }
    }

    fn look(&mut self, items: &[Item]) {
        use crate::catalog::SkuOwners;
        for item in items {
            let position = self.position;
            self.position += 1;
            let key = item.key();
            let by_sku = self.index.owners(&key);
            let by_external = item.external_id.as_deref().and_then(|x| self.externals.owners(x));
            // Every product the row may be planned against: its family ends here at the earliest.
            for &id in by_sku.iter().chain(&by_external).flat_map(SkuOwners::ids) {
                if let Some(family) = self.catalog.product(id).and_then(plan::family_of) {
                    self.ends.insert(family, position);
                }
            }
            self.tally.add(item, by_sku.as_ref(), self.catalog);
            let Some(known) = self.known.as_ref().filter(|_| !item.missing) else { continue };
            if let Some(SkuOwners::One(id)) = by_external.or_else(|| by_sku.clone()) {
                if !known.contains(&id) {
                    self.seen.push(id);
                }
                self.reached.push(id);
            }
            self.reached.extend(by_sku.iter().flat_map(SkuOwners::ids));
        }
    }

    /// Products this source synced before that are live, still have their SKU and that the
    /// feed no longer reaches: one item each setting stock to 0. Products without stock of
    /// their own are left out.
    fn missing(&mut self) -> Vec<Item> {
        use crate::model::Key;
        self.reached.sort_unstable();
        self.reached.dedup();
        let known = self.known.iter().flatten().copied();
        let mut ids: Vec<u64> = known.filter(|id| self.reached.binary_search(id).is_err()).collect();
        ids.sort_unstable();
        ids.into_iter()
            .filter_map(|id| self.catalog.product(id))
            .filter(|p| p.is_live())
            .filter(|p| p.takes_stock())
            .filter_map(|p| {
                let sku = p.get(Key::Sku)?.trim();
                (!sku.is_empty()).then(|| Item {
                    line: 0,
                    sku: sku.into(),
                    name: None,
                    regular: None,
                    sale: crate::model::Sale::Absent,
                    stock: Some(0),
                    external_id: None,
                    notes: Vec::new(),
                    missing: true,
                })
            })
            .collect()
    }
}

/// The run's one summary line, with every count as a field (for JSON logs and log search).
fn log_summary(o: &Outcome) {
    let c = &o.counts;
    let finished = o.started_at + chrono::Duration::from_std(o.elapsed).unwrap_or_default();
    tracing::info!(
        run = o.run_id,
        outcome = "done",
        started = %o.started_at.format("%Y-%m-%dT%H:%M:%SZ"),
        finished = %finished.format("%Y-%m-%dT%H:%M:%SZ"),
        duration_secs = (o.elapsed.as_secs_f64() * 10.0).round() / 10.0,
        source = %o.source,
        rows = c.items,
        created = c.created,
        updated = c.updated,
        unchanged = c.unchanged,
        conflict = c.conflict,
        invalid = c.invalid,
        warnings = c.warning,
        "{}",
        o.summary()
    );
}

/// Conflicts and invalid rows by SKU, the first 20 of each run (the report has them all).
fn log_problems(rows: &[crate::report::ReportRow]) {
    use crate::report::Action;
    let problems: Vec<_> = rows.iter().filter(|r| matches!(r.action, Action::Conflict | Action::Invalid)).collect();
    for r in problems.iter().take(20) {
        tracing::warn!(sku = %r.sku, field = %r.field, "{} {}: {}", r.action, if r.sku.is_empty() { "(no SKU)" } else { &r.sku }, r.message);
    }
    if problems.len() > 20 {
        tracing::warn!("... and {} more conflicts or invalid rows (see the report)", problems.len() - 20);
    }
}

/// `status --json`: the recent runs, the run waiting for a resume, and the current failure streak.
pub fn status_json(runs: &[RunRecord]) -> serde_json::Value {
    let waiting = runs.iter().find(|r| matches!(r.state.as_str(), "interrupted" | "running")).map(|r| r.id);
    let failures = runs.iter().filter(|r| r.state != "abandoned").take_while(|r| r.state == "failed").count();
    serde_json::json!({ "runs": runs, "waiting_for_resume": waiting, "consecutive_failures": failures })
}
