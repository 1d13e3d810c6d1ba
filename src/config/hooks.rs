//! `[hooks]`: shell commands run after a run (`after_success`, `on_failure`), killed after
//! `timeout_secs`. Plain data; `crate::hooks` runs them.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HooksSection {
    after_success: Option<String>,
    on_failure: Option<String>,
    #[serde(default = "default_hook_timeout")]
    timeout_secs: u64,
}

fn default_hook_timeout() -> u64 {
    300
}


/// `[hooks]` as settled: blank commands dropped, at least one second to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hooks {
    pub after_success: Option<String>,
    pub on_failure: Option<String>,
    pub timeout: Duration,
}

impl HooksSection {
    pub(super) fn settle(self) -> Hooks {
        Hooks {
            after_success: self.after_success.filter(|c| !c.trim().is_empty()),
            on_failure: self.on_failure.filter(|c| !c.trim().is_empty()),
            timeout: Duration::from_secs(self.timeout_secs.max(1)),
        }
    }
}
