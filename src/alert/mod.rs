//! Alerts when runs keep failing: after `after_failures` failed runs in a row one message, and
//! one recovery message when a run succeeds again — never a message per failure. The streak is
//! kept in a small state file (a database that is down cannot hold it). A failed alert is
//! logged and never fails the run.

pub mod telegram;

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The failure streak, persisted between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Streak {
    pub failures: u32,
    pub alerted: bool,
    pub last_error: String,
}

/// What to send after a run, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Failing(String),
    Recovered(String),
}

/// Advances the streak with a run's outcome and says what to send (pure).
pub fn advance(streak: &mut Streak, outcome: Result<&str, &str>, after_failures: u32, config: &Path) -> Option<Message> {
    match outcome {
        Ok(summary) => {
            let was_alerted = streak.alerted;
            let failures = streak.failures;
            *streak = Streak::default();
            was_alerted.then(|| Message::Recovered(format!("woosync recovered after {failures} failed runs: {summary}")))
        }
        Err(error) => {
            streak.failures += 1;
            streak.last_error = error.to_string();
            if streak.failures >= after_failures.max(1) && !streak.alerted {
                streak.alerted = true;
                Some(Message::Failing(format!(
                    "woosync: {} runs in a row failed.\nLast error: {error}\nCheck: woosync check --config {}\nAn interrupted run continues with: woosync resume --config {}",
                    streak.failures,
                    config.display(),
                    config.display()
                )))
            } else {
                None
            }
        }
    }
}

pub fn load(path: &Path) -> Streak {
    std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
}

pub fn save(path: &Path, streak: &Streak) {
    if let Err(e) = std::fs::write(path, serde_json::to_string(streak).unwrap_or_default()) {
        tracing::warn!("cannot save the alert state {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_alert_per_streak_and_one_recovery() {
        let mut s = Streak::default();
        let cfg = Path::new("/etc/woosync.toml");
        assert_eq!(advance(&mut s, Err("db down"), 3, cfg), None);
        assert_eq!(advance(&mut s, Err("db down"), 3, cfg), None);
        let Some(Message::Failing(m)) = advance(&mut s, Err("db down"), 3, cfg) else { panic!() };
        assert!(m.contains("3 runs in a row") && m.contains("db down") && m.contains("woosync resume --config /etc/woosync.toml"));
        assert_eq!(advance(&mut s, Err("db down"), 3, cfg), None, "no storm");
        let Some(Message::Recovered(m)) = advance(&mut s, Ok("run 9 done"), 3, cfg) else { panic!() };
        assert!(m.contains("after 4 failed runs"));
        assert_eq!(advance(&mut s, Ok("run 10 done"), 3, cfg), None);
        assert_eq!(s, Streak::default());
    }

    #[test]
    fn success_without_an_alert_sends_nothing() {
        let mut s = Streak::default();
        advance(&mut s, Err("x"), 3, Path::new("c"));
        assert_eq!(advance(&mut s, Ok("ok"), 3, Path::new("c")), None);
    }
}
