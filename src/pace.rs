//! Live-shop politeness: how many products the next chunk takes, aimed at a transaction time
//! (`[sync] chunk_target_ms`), and whether to write it now (pause and stop files, the server's
//! `Threads_running`). Sizing is pure; the waiting is done by the engine.

use std::time::Duration;

use crate::config::ChunkPolicy;

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
