//! The `woosync` binary: parse the command line, run the command, map the result to an exit code.

use clap::Parser;
use woosync::cli::{Cli, Command};
use woosync::config::{LogSettings, Settings};
use woosync::run::{self, Outcome, Quiet, Shutdown, SyncOptions};
use woosync::error::{Error, ExitCode};

fn main() {
    let cli = Cli::parse();
    let config = match &cli.command {
        Command::Sync(a) => &a.config.config,
        Command::Resume(a) => &a.config.config,
        Command::Status(a) => &a.config.config,
        Command::Check(a) => &a.config,
        Command::Doctor(a) => &a.config.config,
        Command::Feed(a) => &a.config.config,
    };
    let loaded = Settings::load(config);
    let log = loaded.as_ref().ok().and_then(|s| s.log.clone());
    let (_guard, log_error) = match init_logging(log.as_ref()) {
        Ok(guard) => (guard, None),
        Err(e) => (init_logging(None).ok().flatten(), Some(e)),
    };
    let code = match log_error {
        Some(e) => {
            eprintln!("woosync: {e}");
            e.exit_code()
        }
        None => {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
            runtime.block_on(run(cli, loaded))
        }
    };
    drop(_guard);
    std::process::exit(code as i32);
}

/// Log lines on stderr, and with `[log] dir` also into a daily file (text or JSON lines).
fn init_logging(file: Option<&LogSettings>) -> Result<Option<tracing_appender::non_blocking::WorkerGuard>, Error> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let filter = || tracing_subscriber::EnvFilter::try_from_env("WOOSYNC_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // On a terminal the progress bar tells the story; stderr shows warnings and errors only
    // (unless WOOSYNC_LOG says otherwise). The log file always gets everything.
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let stderr_filter = match std::env::var("WOOSYNC_LOG") {
        Err(_) if tty => tracing_subscriber::EnvFilter::new("warn"),
        _ => filter(),
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(tty)
        .with_filter(stderr_filter);
    let Some(file) = file else {
        tracing_subscriber::registry().with(stderr).try_init().ok();
        return Ok(None);
    };
    std::fs::create_dir_all(&file.dir)
        .map_err(|e| Error::Config(format!("[log] dir = {}: cannot create it: {e}", file.dir.display())))?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("woosync")
        .filename_suffix("log")
        .max_log_files(file.keep_days)
        .build(&file.dir)
        .map_err(|e| Error::Config(format!("[log] dir = {}: cannot write log files there: {e}", file.dir.display())))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let base = tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(false).with_target(false);
    let file_layer = if file.json { base.json().with_filter(filter()).boxed() } else { base.with_filter(filter()).boxed() };
    tracing_subscriber::registry().with(stderr).with(file_layer).try_init().ok();
    Ok(Some(guard))
}

async fn run(cli: Cli, loaded: woosync::error::Result<Settings>) -> ExitCode {
    let shutdown = Shutdown::default();
    spawn_signal_listener(shutdown.clone());
    let json = matches!(&cli.command, Command::Sync(a) if a.json);
    let settings = match loaded {
        Ok(settings) => settings,
        Err(e) => {
            if matches!(cli.command, Command::Check(_)) {
                println!("FAIL  config       {e}");
            }
            return failed(&e, json);
        }
    };
    match cli.command {
        Command::Sync(args) => {
            let Some(every) = args.every else { return sync_once(&settings, &args, &shutdown).await };
            tracing::info!("running a sync every {}", humantime::format_duration(every));
            loop {
                let started = tokio::time::Instant::now();
                let code = sync_once(&settings, &args, &shutdown).await;
                if shutdown.requested() {
                    return if code == ExitCode::Interrupted { code } else { ExitCode::Ok };
                }
                let next = started + every;
                tracing::info!("next run in {}", humantime::format_duration(next.saturating_duration_since(tokio::time::Instant::now())));
                tokio::select! {
                    _ = tokio::time::sleep_until(next) => {}
                    _ = shutdown.wait() => return ExitCode::Ok,
                }
            }
        }
        Command::Resume(args) if args.abandon.is_some() => match run::abandon(&settings, args.abandon.unwrap_or_default()).await {
            Ok(told) => {
                println!("{told}");
                ExitCode::Ok
            }
            Err(e) => failed(&e, false),
        },
        Command::Resume(args) => {
            let result = run::resume(&settings, args.run, args.report.as_deref(), &shutdown, &Quiet).await;
            let code = match &result {
                Ok(o) => {
                    println!("{}", o.summary());
                    ExitCode::Ok
                }
                Err(e) => failed(e, false),
            };
            after_run(&settings, code, &result, false).await;
            code
        }
        Command::Doctor(args) => match run::doctor(&settings, args.fix, args.report.as_deref(), &shutdown, &Quiet).await {
            Ok((o, count_wrong)) => {
                let c = &o.counts;
                let found = c.updated + c.conflict + count_wrong as usize;
                let verb = if args.fix { "fixed" } else { "inconsistent" };
                println!(
                    "doctor: {} products checked; {} {verb}, {} SKU conflicts{}{}",
                    c.items,
                    c.updated,
                    c.conflict,
                    if count_wrong { "; the outofstock term count was wrong" } else { "" },
                    if found > 0 && !args.fix { " (see --report; repair with --fix)" } else { "" }
                );
                match args.cache_sample {
                    Some(n) => cache_sample(&settings, n).await,
                    None => ExitCode::Ok,
                }
            }
            Err(e) => failed(&e, false),
        },
        Command::Status(args) => match run::status(&settings, 20).await {
            Ok(runs) => {
                let feeds = match settings.feeds {
                    Some(_) => woosync::feed::status(&settings).await.unwrap_or_else(|e| {
                        tracing::warn!("the feed records could not be read: {e}");
                        Vec::new()
                    }),
                    None => Vec::new(),
                };
                if args.json {
                    let mut value = run::status_json(&runs);
                    value["feeds"] = serde_json::to_value(&feeds).unwrap_or_default();
                    println!("{value}");
                } else {
                    print_status(&runs);
                    print_feeds(&feeds);
                }
                ExitCode::Ok
            }
            Err(e) => failed(&e, false),
        },
        Command::Feed(args) => {
            let options = woosync::feed::FeedOptions { name: args.name.as_deref(), dry_run: args.dry_run, force: args.force, ..Default::default() };
            feed_outcome(woosync::feed::write(&settings, options).await)
        }
        Command::Check(_) => {
            let checks = woosync::check::run(&settings).await;
            for c in &checks {
                println!("{}", c.line());
            }
            woosync::check::exit_code(&checks)
        }
    }
}

/// `doctor --cache-sample N`: what the object cache holds for a sample of products.
async fn cache_sample(settings: &Settings, n: usize) -> ExitCode {
    match run::cache_sample(settings, n).await {
        Ok(sample) => {
            let products: std::collections::BTreeSet<u64> = sample.stale.iter().map(|s| s.id).collect();
            println!(
                "doctor: object cache: {} of {} sampled products cached, {} of them disagree with the database{}",
                sample.cached,
                sample.sampled,
                products.len(),
                if products.is_empty() { "" } else { " (flush the cache, or let woosync's next run invalidate them)" }
            );
            for s in sample.stale.iter().take(20) {
                println!("  product {}: {} cached `{}`, database `{}`", s.id, s.key, s.cached, s.stored);
            }
            ExitCode::Ok
        }
        Err(e) => failed(&e, false),
    }
}

/// A progress bar on a terminal: feed rows planned of the total, products written, rate, ETA.
struct Bar(indicatif::ProgressBar);

impl Bar {
    /// A bar when stderr is a terminal, else nothing (cron gets log lines only).
    fn on_terminal() -> Option<Bar> {
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return None;
        }
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} rows, {per_sec}, ETA {eta}  {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Some(Bar(bar))
    }
}

impl run::Observer for Bar {
    fn progress(&self, p: run::Progress) {
        if p.phase == run::FETCHING_PAGES {
            // An HTTP source: pages so far (their number is not known ahead).
            self.0.set_length(0);
            self.0.set_position(0);
            self.0.set_message(format!("fetching the feed: {} page(s) so far", p.planned));
            return;
        }
        self.0.set_length(p.total as u64);
        self.0.set_position(p.planned as u64);
        self.0.set_message(format!("{}; {} products written", p.phase, p.written));
    }
}

/// One sync, its output, and what follows it (alerts, hooks).
async fn sync_once(settings: &Settings, args: &woosync::cli::SyncArgs, shutdown: &Shutdown) -> ExitCode {
    let options = SyncOptions { dry_run: args.dry_run, report: args.report.as_deref(), force: args.force, fresh: args.fresh };
    let bar = Bar::on_terminal();
    let observer: &dyn run::Observer = match &bar {
        Some(bar) => bar,
        None => &Quiet,
    };
    let result = run::sync(settings, options, shutdown, observer).await;
    if let Some(bar) = &bar {
        bar.0.finish_and_clear();
    }
    let result = result.map(|mut outcomes| {
        if args.json {
            let last = outcomes.last().expect("a sync has an outcome");
            let mut value = last.to_json();
            if outcomes.len() > 1 {
                value["resumed_first"] = outcomes[0].to_json();
            }
            println!("{value}");
        } else {
            for o in &outcomes {
                println!("{}", o.summary());
            }
        }
        // A sync that first finished an interrupted run changed more than its own outcome says.
        let resumed_first = outcomes.len() > 1 && outcomes[0].counts.created + outcomes[0].counts.updated > 0;
        let mut last = outcomes.pop().expect("a sync has an outcome");
        if resumed_first {
            last.changed = None;
        }
        last
    });
    let code = match &result {
        Ok(_) => ExitCode::Ok,
        Err(e) => failed(e, args.json),
    };
    after_run(settings, code, &result, args.dry_run).await;
    match (&result, args.dry_run) {
        (Ok(o), false) => {
            let changed = o.counts.created + o.counts.updated > 0;
            match woosync::feed::after_sync(settings, changed, o.changed.as_deref()).await {
                // Another run took the lock meanwhile: it writes the feeds when it is done.
                Some(Err(e @ Error::Locked(_))) => {
                    tracing::warn!("the feeds were not written after this sync: {e}");
                    code
                }
                Some(feeds) => match feed_outcome(feeds) {
                    ExitCode::Ok => code,
                    failed => failed,
                },
                None => code,
            }
        }
        _ => code,
    }
}

/// Prints what a feed run wrote; the first failure's exit code (the others are in the log).
fn feed_outcome(result: Result<woosync::feed::FeedRun, Error>) -> ExitCode {
    match result {
        Ok(run) => {
            for w in &run.written {
                println!("{}", w.summary());
            }
            let skipped: Vec<String> = run.skipped.iter().map(|(k, v)| format!("{v} {k}")).collect();
            if !skipped.is_empty() {
                println!("feeds: skipped {}", skipped.join(", "));
            }
            let mut code = ExitCode::Ok;
            for (_, e) in &run.failed {
                let c = failed(e, false);
                if code == ExitCode::Ok {
                    code = c;
                }
            }
            code
        }
        Err(e) => failed(&e, false),
    }
}

fn print_feeds(feeds: &[woosync::journal::FeedRecord]) {
    if feeds.is_empty() {
        return;
    }
    println!();
    println!("{:<20}  {:<10}  {:<19}  {:<8}  {:>8} {:>9} {:>12} {:>8}  path", "feed", "format", "written (UTC)", "state", "offers", "farewells", "bytes", "seconds");
    for f in feeds {
        println!(
            "{:<20}  {:<10}  {:<19}  {:<8}  {:>8} {:>9} {:>12} {:>8.1}  {}",
            f.name,
            f.format,
            f.written_at,
            f.state,
            f.offers,
            f.farewells,
            f.bytes,
            f.millis as f64 / 1000.0,
            f.path
        );
        if let Some(e) = &f.error {
            println!("  {e}");
        }
    }
}

/// Reports an error on stderr, in the log, and (with --json) on stdout; returns its exit code.
fn failed(e: &Error, json: bool) -> ExitCode {
    let told = woosync::report::printable(&e.to_string()).into_owned();
    eprintln!("woosync: {told}");
    tracing::error!(exit_code = e.exit_code() as i32, "run failed: {told}");
    if json {
        println!("{}", serde_json::json!({ "outcome": "failed", "error": e.to_string(), "exit_code": e.exit_code() as i32 }));
    }
    e.exit_code()
}

/// Alerts and hooks after a run. Dry runs change nothing and trigger neither.
async fn after_run(settings: &Settings, code: ExitCode, result: &Result<Outcome, Error>, dry_run: bool) {
    if dry_run {
        return;
    }
    let detail = match result {
        Ok(o) => o.summary(),
        Err(e) => e.to_string(),
    };
    if let Some(alerts) = &settings.alerts {
        alert(alerts, &settings.config_path, code, &detail).await;
    }
    let Some(hooks) = &settings.hooks else { return };
    if matches!(code, ExitCode::Locked) {
        return;
    }
    let command = if code == ExitCode::Ok { &hooks.after_success } else { &hooks.on_failure };
    let Some(command) = command else { return };
    let mut env = vec![
        ("WOOSYNC_OUTCOME".to_string(), if code == ExitCode::Ok { "success" } else { "failure" }.to_string()),
        ("WOOSYNC_EXIT_CODE".to_string(), (code as i32).to_string()),
        ("WOOSYNC_CONFIG".to_string(), settings.config_path.display().to_string()),
    ];
    match result {
        Ok(o) => {
            let c = &o.counts;
            env.push(("WOOSYNC_RUN_ID".into(), o.run_id.map(|id| id.to_string()).unwrap_or_default()));
            for (k, v) in [
                ("ROWS", c.items),
                ("CREATED", c.created),
                ("UPDATED", c.updated),
                ("UNCHANGED", c.unchanged),
                ("CONFLICT", c.conflict),
                ("INVALID", c.invalid),
                ("WARNINGS", c.warning),
            ] {
                env.push((format!("WOOSYNC_{k}"), v.to_string()));
            }
        }
        Err(e) => env.push(("WOOSYNC_ERROR".into(), e.to_string())),
    }
    match woosync::hooks::run(command, &env, hooks.timeout).await {
        Ok(()) => tracing::info!("hook `{command}` done"),
        Err(e) => tracing::warn!("hook failed: {e}"),
    }
}

/// Feeds the run's outcome to the failure streak and sends what it calls for. A stop request
/// (6) and a held lock (5) are not failures; the streak is left as it was.
async fn alert(settings: &woosync::config::AlertSettings, config: &std::path::Path, code: ExitCode, detail: &str) {
    if matches!(code, ExitCode::Interrupted | ExitCode::Locked) {
        return;
    }
    let mut streak = woosync::alert::load(&settings.state_file);
    let outcome = if code == ExitCode::Ok { Ok(detail) } else { Err(detail) };
    let message = woosync::alert::advance(&mut streak, outcome, settings.after_failures, config);
    woosync::alert::save(&settings.state_file, &streak);
    if let Some(m) = message {
        let (text, kind) = match &m {
            woosync::alert::Message::Failing(t) => (t, "failing"),
            woosync::alert::Message::Recovered(t) => (t, "recovered"),
        };
        match settings.telegram.send(text).await {
            Ok(()) => tracing::info!("Telegram alert sent ({kind})"),
            Err(e) => tracing::warn!("the Telegram alert could not be sent: {e}"),
        }
    }
}

fn print_status(runs: &[woosync::journal::RunRecord]) {
    if runs.is_empty() {
        println!("no runs recorded yet");
        return;
    }
    println!(
        "{:>6}  {:<19}  {:<19}  {:<11}  {:>7} {:>7} {:>7} {:>9} {:>8} {:>7} {:>8}",
        "run", "started (UTC)", "finished (UTC)", "state", "rows", "created", "updated", "unchanged", "conflict", "invalid", "warnings"
    );
    for r in runs {
        println!(
            "{:>6}  {:<19}  {:<19}  {:<11}  {:>7} {:>7} {:>7} {:>9} {:>8} {:>7} {:>8}",
            r.id,
            r.started_at,
            r.finished_at.as_deref().unwrap_or("-"),
            r.state,
            r.items,
            r.created,
            r.updated,
            r.unchanged,
            r.conflict,
            r.invalid,
            r.warning
        );
    }
    if let Some(r) = runs.iter().find(|r| matches!(r.state.as_str(), "interrupted" | "running")) {
        println!(
            "run {} is {} after {} chunks{}; `woosync resume` continues it (or the next `sync` does, within resume_within)",
            r.id,
            r.state,
            r.chunks_done,
            r.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
        );
    }
    if let Some(r) = runs.iter().find(|r| r.state == "failed") {
        if let Some(e) = &r.error {
            println!("last failure: run {}: {e}", r.id);
        }
    }
}

fn spawn_signal_listener(shutdown: Shutdown) {
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term_recv = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term_recv => {}
        }
        tracing::warn!("stop requested: finishing the current chunk, then stopping");
        shutdown.request();
    });
}
