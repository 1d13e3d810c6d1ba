//! `[database]`: the shop's database URL (or `WOOSYNC_DATABASE_URL`, which wins) and its table
//! prefix.

use std::path::Path;

use serde::Deserialize;

use super::Secret;
use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DatabaseSection {
    url: Option<String>,
    #[serde(default = "default_prefix")]
    table_prefix: String,
}

fn default_prefix() -> String {
    "wp_".into()
}


impl DatabaseSection {
    /// The URL (from the environment first) and the table prefix, both checked.
    pub(super) fn settle(self, env_url: Option<String>, config: &Path) -> Result<(Secret, String)> {
        let url = env_url.or(self.url).ok_or_else(|| {
            Error::Config(format!(
                "{}: no database URL: set [database] url or the WOOSYNC_DATABASE_URL environment variable",
                config.display()
            ))
        })?;
        if !url.starts_with("mysql://") {
            return Err(Error::Config("database url must start with mysql:// (mysql://user:password@host:3306/database)".into()));
        }
        let prefix = self.table_prefix;
        if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::Config(format!(
                "[database] table_prefix = {prefix:?}: expected letters, digits and underscores, like \"wp_\""
            )));
        }
        Ok((Secret(url), prefix))
    }
}
