//! Crash injection for the resume proof (`tests/crash.rs`): with `WOOSYNC_CRASH_AT=<point>` in
//! its environment the process kills itself with SIGKILL on reaching that point — exactly what a
//! `kill -9`, an OOM kill or a power cut does at that instant. Points: `frozen-block-1` (part of the
//! input stored), `frozen` (input complete), `before-chunks`, `chunk-N-mid` and `chunk-N-end`
//! (inside chunk N's transaction), `chunk-N-committed` (between chunks), `finalise-1`..`finalise-3`
//! and `before-done`. Unset (always, outside that test) it costs one cached lookup per point.

use std::fmt;
use std::sync::OnceLock;

static AT: OnceLock<Option<String>> = OnceLock::new();

/// Kills the process with SIGKILL if `point` is the armed crash point.
pub fn here(point: fmt::Arguments<'_>) {
    let armed = AT.get_or_init(|| std::env::var("WOOSYNC_CRASH_AT").ok().filter(|s| !s.is_empty()));
    if let Some(at) = armed {
        if point.to_string() == *at {
            // SAFETY: kill(2) on our own pid; nothing runs after it.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
        }
    }
}
