//! `[alerts]` and `[alerts.telegram]`: where the failure streak is kept and which chat hears of
//! it. The bot token comes from `${VAR}` expansion or `WOOSYNC_TELEGRAM_BOT_TOKEN` and lives in a
//! [`Secret`]. Plain data; `crate::alert` sends the messages.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{expand_env, Secret};
use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertsSection {
    state_file: Option<PathBuf>,
    telegram: Option<TelegramSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TelegramSection {
    bot_token: Option<String>,
    chat_id: String,
    #[serde(default = "default_after_failures")]
    after_failures: u32,
    #[serde(default = "default_api_base")]
    api_base: String,
}

fn default_after_failures() -> u32 {
    3
}
fn default_api_base() -> String {
    "https://api.telegram.org".into()
}

/// `[alerts]`: where the failure streak is kept and where to send alerts.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    pub state_file: PathBuf,
    pub after_failures: u32,
    pub telegram: Telegram,
}


/// The Telegram Bot API and the chat to write to.
#[derive(Debug, Clone)]
pub struct Telegram {
    pub api_base: String,
    pub bot_token: Secret,
    pub chat_id: String,
}

/// Default place of the alert state file: beside the config.
pub fn default_state_file(config: &Path) -> PathBuf {
    config.with_extension("alert-state.json")
}

impl AlertsSection {
    /// `None` without a `[alerts.telegram]` table: nobody to alert.
    pub(super) fn settle(self, config: &Path, base: &Path) -> Result<Option<AlertSettings>> {
        let AlertsSection { state_file, telegram: Some(t) } = self else { return Ok(None) };
        let token = match t.bot_token {
            Some(v) => expand_env(&v, "[alerts.telegram] bot_token")?,
            None => std::env::var("WOOSYNC_TELEGRAM_BOT_TOKEN").ok().filter(|v| !v.is_empty()).ok_or_else(|| {
                Error::Config("[alerts.telegram] needs a bot token: set WOOSYNC_TELEGRAM_BOT_TOKEN or bot_token = \"${VAR}\"".into())
            })?,
        };
        let state_file = match state_file {
            Some(p) if p.is_absolute() => p,
            Some(p) => base.join(p),
            None => default_state_file(config),
        };
        Ok(Some(AlertSettings {
            state_file,
            after_failures: t.after_failures.max(1),
            telegram: Telegram { api_base: t.api_base, bot_token: Secret(token), chat_id: t.chat_id },
        }))
    }
}
