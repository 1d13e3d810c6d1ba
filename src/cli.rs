//! The command-line tree: every command, flag and environment twin lives here and only here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "woosync", version, about = "Keep a WooCommerce catalogue in step with an ERP feed, writing straight into the shop database")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one sync: read the feed, diff it against the shop, apply the changes in chunks.
    Sync(SyncArgs),
    /// Continue the latest interrupted run (or the one named with --run), or give one up
    /// (--abandon RUN).
    Resume(ResumeArgs),
    /// Show recent runs from the run journal.
    Status(StatusArgs),
    /// Run every pre-flight check (config, feed, database, privileges, WooCommerce, lock,
    /// journal) and print one line each; writes nothing.
    Check(ConfigArg),
    /// Report what in the shop breaks WooCommerce's own rules (lookup rows, `_price`, stock
    /// status, out-of-stock terms, variable parents, duplicate SKUs, the term count); writes
    /// nothing unless --fix.
    Doctor(DoctorArgs),
    /// Write the marketplace feeds of [[feeds.file]] (or the one named) from the shop's
    /// database; a feed file is replaced only when the new one is complete.
    Feed(FeedArgs),
}

#[derive(Debug, Args)]
pub struct FeedArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Only the feed with this name.
    #[arg(long)]
    pub name: Option<String>,
    /// Build and check the feeds, replace none.
    #[arg(long)]
    pub dry_run: bool,
    /// Write a feed even when it has fewer offers than [feeds] min_offers_percent of the last one.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Repair what was found, in chunks through the same writer as sync.
    #[arg(long)]
    pub fix: bool,
    /// One CSV row per inconsistent field (the same columns as sync's report).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Also compare N products at random, as the object cache holds them, with the database.
    #[arg(long, value_name = "N")]
    pub cache_sample: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The TOML config file.
    #[arg(long, env = "WOOSYNC_CONFIG")]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Write nothing; report what would change.
    #[arg(long, env = "WOOSYNC_DRY_RUN")]
    pub dry_run: bool,
    /// Write one CSV row per changed field (and per conflict, invalid row and warning) here.
    #[arg(long, env = "WOOSYNC_REPORT")]
    pub report: Option<PathBuf>,
    /// Write even when the safety guard would refuse the feed.
    #[arg(long, env = "WOOSYNC_FORCE")]
    pub force: bool,
    /// Abandon an unfinished run instead of finishing it first, and read the feed afresh.
    #[arg(long, conflicts_with_all = ["dry_run", "every"])]
    pub fresh: bool,
    /// Print the run summary as one JSON object on stdout (logs stay on stderr).
    #[arg(long)]
    pub json: bool,
    /// Keep running: one sync per interval (e.g. `10m`), never overlapping; SIGTERM stops it
    /// between runs (or after the current chunk).
    #[arg(long, env = "WOOSYNC_EVERY", value_parser = humantime::parse_duration)]
    pub every: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Print the runs as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The run to resume; default: the latest interrupted one.
    #[arg(long = "run")]
    pub run: Option<u64>,
    /// Give up on unfinished run RUN instead: it is marked abandoned and its frozen input
    /// dropped; the next sync reads the feed afresh.
    #[arg(long, value_name = "RUN", conflicts_with_all = ["run", "report"])]
    pub abandon: Option<u64>,
    /// Write the CSV report of what this resume applies here.
    #[arg(long, env = "WOOSYNC_REPORT")]
    pub report: Option<PathBuf>,
}
