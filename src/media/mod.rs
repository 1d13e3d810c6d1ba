//! Pictures from the ERP put in the shop's media library: the pictures a chunk names made ready
//! ([`gather`]) — fetched from URLs ([`fetch`]), named as WordPress names uploads ([`names`]),
//! stored as an upload is in `wp-content/uploads` ([`store`]) — and the files made for a chunk
//! that never committed ([`pending`]). The sizes and the metadata row are WordPress's rules in
//! [`crate::woo::media`]; the attachment rows are written by `apply::media`, and which products'
//! pictures change is the plan's (`plan::pictures`).

pub mod fetch;
pub mod gather;
pub mod names;
pub mod pending;
pub mod store;

use std::collections::HashMap;

use mysql_async::prelude::*;
use mysql_async::Conn;

use crate::config::Settings;
use crate::error::{Error, Result};

/// What a writing run needs for the pictures a feed names (`[wordpress]` set).
pub struct Pictures {
    pub library: gather::Library,
    /// The uploads folder's URL, without a trailing slash (attachments' `guid`).
    pub uploads_url: String,
}

impl Pictures {
    /// From `[wordpress]` and the shop's options: the sizes (`thumbnail_size_w`, …,
    /// `woocommerce_thumbnail_cropping`), the uploads URL (`[wordpress] uploads_url`, else
    /// `upload_url_path`, else `siteurl` + `/wp-content/uploads`) and the current month's folder.
    /// `None` without `[wordpress]`.
    pub async fn open(conn: &mut Conn, settings: &Settings, shop: &crate::catalog::Shop) -> Result<Option<Pictures>> {
        let Some(wp) = &settings.wordpress else { return Ok(None) };
        if !wp.uploads_dir.is_dir() {
            return Err(Error::Config(format!("[wordpress] uploads_dir = {}: no such folder", wp.uploads_dir.display())));
        }
        let p = &settings.table_prefix;
        let options: HashMap<String, String> = conn
            .query::<(String, Option<Vec<u8>>), _>(format!(
                "SELECT option_name, option_value FROM `{p}options` WHERE option_name IN ('thumbnail_size_w','thumbnail_size_h','thumbnail_crop',\
                 'medium_size_w','medium_size_h','medium_large_size_w','medium_large_size_h','large_size_w','large_size_h',\
                 'woocommerce_thumbnail_image_width','woocommerce_single_image_width','woocommerce_thumbnail_cropping',\
                 'woocommerce_thumbnail_cropping_custom_width','woocommerce_thumbnail_cropping_custom_height','upload_url_path')"
            ))
            .await
            .map_err(|e| Error::db("reading the shop's image sizes", e))?
            .into_iter()
            .map(|(k, v)| (k, v.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()))
            .collect();
        let uploads_url = match (&wp.uploads_url, options.get("upload_url_path").map(|u| u.trim().trim_end_matches('/')).filter(|u| !u.is_empty())) {
            (Some(u), _) => u.clone(),
            (None, Some(u)) => u.to_string(),
            (None, None) => format!("{}/wp-content/uploads", shop.siteurl.trim_end_matches('/')),
        };
        let fetcher = fetch::Fetcher::new(fetch::FetchOptions { max_bytes: wp.max_image_bytes, allow_http: wp.allow_http_images, ..fetch::FetchOptions::default() })
            .map_err(Error::Internal)?;
        let month = shop.utc_offset.local(chrono::Utc::now()).format("%Y/%m").to_string();
        Ok(Some(Pictures {
            library: gather::Library { uploads_dir: wp.uploads_dir.clone(), folder: std::sync::Arc::new(store::Folder::new(&wp.uploads_dir, &month)), sizes: crate::woo::media::registered_sizes(&options), fetcher, max_bytes: wp.max_image_bytes, known: Default::default() },
            uploads_url,
        }))
    }
}
