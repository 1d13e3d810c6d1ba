//! What a run tells whoever watches it, and how they can stop it: the stop request
//! ([`Shutdown`]), progress ([`Progress`]) and the [`Observer`] hooks. The run knows nothing of
//! terminals or bars; `main` and the tests subscribe here.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

impl Progress {
    /// A phase that has nothing to count yet.
    pub fn starting(phase: &'static str) -> Progress {
        Progress { phase, planned: 0, total: 0, written: 0 }
    }
}

/// Hooks for whoever watches a run (progress, tests). Called after each committed chunk.
pub trait Observer: Send + Sync {
    /// Called when a phase starts and, while planning and writing, a few times a second.
    fn progress(&self, _p: Progress) {}

    /// `more` is 0 when the planner had nothing left after this chunk.
    fn chunk_committed(&self, _run_id: u64, _chunk_no: u32, _more: usize, _attempts: u32) {}
}

/// An observer that watches nothing.
pub struct Quiet;
impl Observer for Quiet {}
