//! `[wordpress]`: where the shop's media library lives on this host, for the pictures a feed
//! names (`images`): `uploads_dir` (the shop's `wp-content/uploads`), `uploads_url` (default:
//! the `upload_url_path` option, else `siteurl` + `/wp-content/uploads`), `max_image_mb` (the
//! largest picture taken, 20 by default) and `allow_http_images` (plain-http picture URLs; off).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WordPressSection {
    uploads_dir: Option<PathBuf>,
    uploads_url: Option<String>,
    max_image_mb: Option<u64>,
    #[serde(default)]
    allow_http_images: bool,
}

/// `[wordpress]` as settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordPress {
    /// The uploads folder, absolute (relative to the config file's folder when written so).
    pub uploads_dir: PathBuf,
    /// Without a trailing slash; `None`: from the shop's options.
    pub uploads_url: Option<String>,
    pub max_image_bytes: u64,
    pub allow_http_images: bool,
}

impl WordPressSection {
    pub(super) fn settle(self, base: &Path) -> Result<Option<WordPress>> {
        let Some(dir) = self.uploads_dir else {
            if self.uploads_url.is_some() || self.max_image_mb.is_some() || self.allow_http_images {
                return Err(Error::Config("[wordpress] uploads_dir is required: the folder of the shop's wp-content/uploads on this host".into()));
            }
            return Ok(None);
        };
        let uploads_dir = if dir.is_absolute() { dir } else { base.join(dir) };
        let uploads_url = match self.uploads_url.map(|u| u.trim().trim_end_matches('/').to_string()) {
            Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => {
                return Err(Error::Config(format!("[wordpress] uploads_url = {u:?}: expected the uploads folder's http(s) URL")))
            }
            other => other,
        };
        let mb = self.max_image_mb.unwrap_or(20);
        if !(1..=1024).contains(&mb) {
            return Err(Error::Config(format!("[wordpress] max_image_mb = {mb}: expected 1 to 1024")));
        }
        Ok(Some(WordPress { uploads_dir, uploads_url, max_image_bytes: mb << 20, allow_http_images: self.allow_http_images }))
    }
}
