//! Live-shop politeness: how many products the next chunk takes, aimed at a transaction time
//! (`[sync] chunk_target_ms`), and whether to write it now (pause and stop files, the server's
//! `Threads_running`). Sizing and the hold decision are pure; [`wait_for_turn`] does the waiting
//! before each chunk.

use std::time::Duration;

use mysql_async::prelude::*;

use super::{Progress, Run};
use crate::config::ChunkPolicy;
use crate::error::{Error, Result};

/// The progress phase while the writer waits for the pause file to go.
pub const PAUSED: &str = "paused: the pause file is present";
/// The progress phase while the writer waits for the server to calm down.
pub const WAITING_FOR_SERVER: &str = "waiting: the server's Threads_running is above max_threads_running";

/// Before a chunk: waits while the pause file is there or the server is busier than
/// `max_threads_running` allows (polling every second, saying so in the progress line and
/// the log); returns why to stop instead (a signal, the stop file).
pub(super) async fn wait_for_turn(run: &mut Run<'_>, progress: Progress) -> Result<Option<String>> {
    let policy = &run.settings.chunks;
    let mut said: Option<Hold> = None;
    loop {
        if run.shutdown.requested() {
            return Ok(Some("stopped by a signal between chunks".into()));
        }
        if let Some(file) = policy.stop_file.as_ref().filter(|f| f.exists()) {
            return Ok(Some(format!("the stop file {} is present", file.display())));
        }
        let paused = policy.pause_file.as_ref().is_some_and(|f| f.exists());
        let running = if policy.max_threads_running > 0 && !paused {
            let row: Option<(String, String)> = run
                .conn
                .query_first("SHOW GLOBAL STATUS LIKE 'Threads_running'")
                .await
                .map_err(|e| Error::db("reading Threads_running", e))?;
            row.and_then(|(_, v)| v.parse().ok())
        } else {
            None
        };
        let Some(hold) = hold(policy, paused, running) else {
            if said.is_some() {
                tracing::info!("resuming writes");
            }
            return Ok(None);
        };
        if said.as_ref().map(std::mem::discriminant) != Some(std::mem::discriminant(&hold)) {
            match &hold {
                Hold::Paused => tracing::info!(
                    "paused: {} is present; writes continue when it is removed",
                    policy.pause_file.as_ref().map(|f| f.display().to_string()).unwrap_or_default()
                ),
                Hold::Busy { running, max } => {
                    tracing::info!(running, max, "waiting: Threads_running is {running}, above max_threads_running = {max}")
                }
            }
        }
        let phase = match hold {
            Hold::Paused => PAUSED,
            Hold::Busy { .. } => WAITING_FOR_SERVER,
        };
        run.observer.progress(Progress { phase, ..progress });
        said = Some(hold);
        tokio::time::sleep(Duration::from_millis(if cfg!(test) { 50 } else { 1000 })).await;
    }
}

/// The size of the next chunk after one of `products` took `took`: the size that would have taken
/// the target time, moved at most by half or double per chunk (one slow chunk — a lock wait — does
/// not swing it), within `min..=max`. A zero target keeps the size.
pub fn next_size(current: usize, products: usize, took: Duration, policy: &ChunkPolicy) -> usize {
    if policy.target.is_zero() || products == 0 {
        return current;
    }
    let took = took.as_secs_f64().max(0.001);
    let ideal = products as f64 * policy.target.as_secs_f64() / took;
    let bounded = ideal.clamp(current as f64 / 2.0, current as f64 * 2.0);
    (bounded.round() as usize).clamp(policy.min, policy.max)
}

/// Why the writer should not start the next chunk yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// The pause file is there.
    Paused,
    /// `Threads_running` is above the limit.
    Busy { running: u64, max: u64 },
}

/// What to do before the next chunk, from what is known now (files and the server's load).
pub fn hold(policy: &ChunkPolicy, pause_file_present: bool, threads_running: Option<u64>) -> Option<Hold> {
    if pause_file_present {
        return Some(Hold::Paused);
    }
    match threads_running {
        Some(running) if policy.max_threads_running > 0 && running > policy.max_threads_running => {
            Some(Hold::Busy { running, max: policy.max_threads_running })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(target_ms: u64) -> ChunkPolicy {
        ChunkPolicy {
            target: Duration::from_millis(target_ms),
            min: 10,
            max: 5000,
            pause: Duration::ZERO,
            max_threads_running: 20,
            pause_file: None,
            stop_file: None,
        }
    }

    #[test]
    fn chunks_grow_towards_the_target_at_most_doubling() {
        let p = policy(500);
        // 100 products in 50 ms: 1000 would take 500 ms, but a chunk at most doubles.
        assert_eq!(next_size(100, 100, Duration::from_millis(50), &p), 200);
        // 200 products in 400 ms: 250 hits the target.
        assert_eq!(next_size(200, 200, Duration::from_millis(400), &p), 250);
        // Near the target it stays.
        assert_eq!(next_size(250, 250, Duration::from_millis(500), &p), 250);
    }

    #[test]
    fn a_slow_chunk_halves_at_most_and_bounds_hold() {
        let p = policy(500);
        assert_eq!(next_size(400, 400, Duration::from_secs(10), &p), 200);
        assert_eq!(next_size(12, 12, Duration::from_secs(10), &p), 10, "never below min");
        assert_eq!(next_size(4000, 4000, Duration::from_millis(1), &p), 5000, "never above max");
        assert_eq!(next_size(100, 100, Duration::from_millis(1), &policy(0)), 100, "a zero target keeps the size");
    }

    #[test]
    fn pause_file_first_then_server_load() {
        let p = policy(500);
        assert_eq!(hold(&p, true, Some(100)), Some(Hold::Paused));
        assert_eq!(hold(&p, false, Some(21)), Some(Hold::Busy { running: 21, max: 20 }));
        assert_eq!(hold(&p, false, Some(20)), None);
        assert_eq!(hold(&ChunkPolicy { max_threads_running: 0, ..p }, false, Some(500)), None);
    }
}
