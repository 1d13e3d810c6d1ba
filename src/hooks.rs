//! `[hooks]`: a shell command after each run — `after_success` (e.g. `wp cache flush` for shops
//! with Redis/Memcached object caches) or `on_failure` — with the run's id, outcome and counts
//! in `WOOSYNC_*` environment variables, killed after `timeout_secs`. A hook that fails or times
//! out is logged; it never changes the run's exit code.

use std::time::Duration;

/// Runs one hook command through `sh -c`; `Err` describes a failure or a timeout.
pub async fn run(command: &str, env: &[(String, String)], timeout: Duration) -> Result<(), String> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .kill_on_drop(true)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start `{command}`: {e}"))?;
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("`{command}` exited with {status}")),
        Ok(Err(e)) => Err(format!("`{command}` could not be waited for: {e}")),
        Err(_) => {
            // The hook's own process group: whatever it started goes with it.
            if let Some(pid) = child.id() {
                // SAFETY: kill(2) with a negative pid signals that process group; no memory is involved.
                unsafe {
                    libc::kill(-(pid as i32), libc::SIGKILL);
                }
            }
            let _ = child.kill().await;
            Err(format!("`{command}` did not finish within {} s and was killed", timeout.as_secs()))
        }
    }
}
