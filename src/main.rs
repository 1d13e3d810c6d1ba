//! The `woosync` binary: parse the command line, run the command, map the result to an exit code.

use clap::Parser;
use woosync::cli::{Cli, Command};
use woosync::config::{LogSettings, Settings};
use woosync::engine::{self, Quiet, Shutdown, SyncOptions};
use woosync::error::{Error, ExitCode};

fn main() {
    let cli = Cli::parse();
    let config = match &cli.command {
        Command::Sync(a) => &a.config.config,
        Command::Resume(a) => &a.config.config,
        Command::Status(a) => &a.config.config,
        Command::Check(a) => &a.config,
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
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(filter());
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
    let alerting = matches!(cli.command, Command::Sync(_) | Command::Resume(_));
    let alerts = loaded.as_ref().ok().and_then(|s| s.alerts.clone());
    let (code, outcome) = execute(cli, loaded).await;
    if let (true, Some(alerts)) = (alerting, alerts) {
        alert(&alerts, code, outcome.as_deref()).await;
    }
    code
}

/// Feeds the run's outcome to the failure streak and sends what it calls for. A stop request
/// (6) and a held lock (5) are not failures; the streak is left as it was.
async fn alert(settings: &woosync::config::AlertSettings, code: ExitCode, detail: Option<&str>) {
    if matches!(code, ExitCode::Interrupted | ExitCode::Locked) {
        return;
    }
    let mut streak = woosync::alert::load(&settings.state_file);
    let detail = detail.unwrap_or("");
    let outcome = if code == ExitCode::Ok { Ok(detail) } else { Err(detail) };
    let message = woosync::alert::advance(&mut streak, outcome, settings.after_failures, &settings.state_file);
    woosync::alert::save(&settings.state_file, &streak);
    if let Some(m) = message {
        let text = match &m {
            woosync::alert::Message::Failing(t) | woosync::alert::Message::Recovered(t) => t,
        };
        match settings.telegram.send(text).await {
            Ok(()) => tracing::info!("Telegram alert sent ({})", if matches!(m, woosync::alert::Message::Failing(_)) { "failing" } else { "recovered" }),
            Err(e) => tracing::warn!("the Telegram alert could not be sent: {e}"),
        }
    }
}

/// Runs the command; returns its exit code and a one-line outcome (summary or error).
async fn execute(cli: Cli, loaded: woosync::error::Result<Settings>) -> (ExitCode, Option<String>) {
    let mut detail: Option<String> = None;
    let shutdown = Shutdown::default();
    spawn_signal_listener(shutdown.clone());
    let mut json = false;
    let result = match cli.command {
        Command::Sync(args) => {
            json = args.json;
            match loaded {
                Ok(settings) => engine::sync(&settings, SyncOptions { dry_run: args.dry_run, report: args.report.as_deref(), force: args.force }, &shutdown, &Quiet)
                    .await
                    .map(|mut outcomes| {
                        detail = outcomes.last().map(|o| o.summary());
                        if args.json {
                            let last = outcomes.pop().expect("a sync has an outcome");
                            let mut value = last.to_json();
                            if let Some(first) = outcomes.pop() {
                                value["resumed_first"] = first.to_json();
                            }
                            println!("{value}");
                        } else {
                            for o in outcomes {
                                println!("{}", o.summary());
                            }
                        }
                    }),
                Err(e) => Err(e),
            }
        }
        Command::Resume(args) => match loaded {
            Ok(settings) => engine::resume(&settings, args.run, args.report.as_deref(), &shutdown, &Quiet).await.map(|o| {
                detail = Some(o.summary());
                println!("{}", o.summary())
            }),
            Err(e) => Err(e),
        },
        Command::Status(args) => match loaded {
            Ok(settings) => engine::status(&settings, 20).await.map(|runs| {
                if args.json {
                    println!("{}", engine::status_json(&runs));
                } else {
                    print_status(&runs)
                }
            }),
            Err(e) => Err(e),
        },
        Command::Check(_) => match loaded {
            Ok(settings) => {
                let checks = woosync::check::run(&settings).await;
                for c in &checks {
                    println!("{}", c.line());
                }
                return (woosync::check::exit_code(&checks), None);
            }
            Err(e) => {
                println!("FAIL  config       {e}");
                Err(e)
            }
        },
    };
    match result {
        Ok(()) => (ExitCode::Ok, detail),
        Err(e) => {
            eprintln!("woosync: {e}");
            tracing::error!(exit_code = e.exit_code() as i32, "run failed: {e}");
            if json {
                println!("{}", serde_json::json!({ "outcome": "failed", "error": e.to_string(), "exit_code": e.exit_code() as i32 }));
            }
            (e.exit_code(), Some(e.to_string()))
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
