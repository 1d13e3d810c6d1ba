//! `[sync]`: how a run behaves on the shop — the status of new products, chunk sizing and
//! pacing, resume patience, the missing-items policy and the external-ID meta key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::model::{Fractional, Key};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SyncSection {
    #[serde(default = "default_status")]
    new_product_status: String,
    #[serde(default = "default_chunk")]
    chunk_size: usize,
    #[serde(default = "default_resume_within")]
    resume_within: String,
    #[serde(default = "default_author")]
    author_id: u64,
    #[serde(default = "default_lock_wait")]
    lock_wait_timeout_secs: u64,
    #[serde(default = "default_missing")]
    missing: String,
    #[serde(default = "default_external_id_meta")]
    external_id_meta: String,
    #[serde(default = "default_chunk_target")]
    chunk_target_ms: u64,
    #[serde(default = "default_chunk_min")]
    chunk_min: usize,
    #[serde(default = "default_chunk_max")]
    chunk_max: usize,
    #[serde(default)]
    pause_between_chunks_ms: u64,
    #[serde(default)]
    max_threads_running: u64,
    pause_file: Option<PathBuf>,
    stop_file: Option<PathBuf>,
    #[serde(default = "default_fractional")]
    fractional_stock: String,
    #[serde(default)]
    update_content: Vec<String>,
    #[serde(default)]
    local_attributes: Vec<String>,
    #[serde(default)]
    attribute_slugs: std::collections::BTreeMap<String, String>,
    #[serde(default = "default_parent_sku_from")]
    parent_sku_from: String,
    variation_sku: Option<String>,
}

fn default_parent_sku_from() -> String {
    "article".into()
}

fn default_fractional() -> String {
    "floor".into()
}

fn default_chunk_target() -> u64 {
    500
}
fn default_chunk_min() -> usize {
    10
}
fn default_chunk_max() -> usize {
    1000
}

fn default_external_id_meta() -> String {
    "_woosync_external_id".into()
}

fn default_missing() -> String {
    "ignore".into()
}

impl Default for SyncSection {
    fn default() -> Self {
        SyncSection {
            new_product_status: default_status(),
            chunk_size: default_chunk(),
            resume_within: default_resume_within(),
            author_id: default_author(),
            lock_wait_timeout_secs: default_lock_wait(),
            missing: default_missing(),
            external_id_meta: default_external_id_meta(),
            chunk_target_ms: default_chunk_target(),
            chunk_min: default_chunk_min(),
            chunk_max: default_chunk_max(),
            pause_between_chunks_ms: 0,
            max_threads_running: 0,
            pause_file: None,
            stop_file: None,
            fractional_stock: default_fractional(),
            update_content: Vec::new(),
            local_attributes: Vec::new(),
            attribute_slugs: Default::default(),
            parent_sku_from: default_parent_sku_from(),
            variation_sku: None,
        }
    }
}

fn default_status() -> String {
    "draft".into()
}
fn default_chunk() -> usize {
    100
}
fn default_resume_within() -> String {
    "1h".into()
}
fn default_author() -> u64 {
    1
}
fn default_lock_wait() -> u64 {
    5
}

/// How chunks are sized and paced on a live shop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPolicy {
    /// Aim each chunk's transaction at this long (0 = keep `chunk_size`).
    pub target: Duration,
    pub min: usize,
    pub max: usize,
    /// Sleep between chunks.
    pub pause: Duration,
    /// Wait before a chunk while the server's `Threads_running` is above this (0 = never).
    pub max_threads_running: u64,
    /// Present → wait before the next chunk.
    pub pause_file: Option<PathBuf>,
    /// Present → finish the current chunk and stop as interrupted.
    pub stop_file: Option<PathBuf>,
}


/// `[sync]` as settled; [`super::Settings`] carries these fields as its own.
pub(super) struct SyncSettings {
    pub external_id_meta: &'static str,
    pub new_product_status: String,
    pub chunk_size: usize,
    pub chunks: ChunkPolicy,
    pub resume_within: Duration,
    pub author_id: u64,
    pub lock_wait_timeout_secs: u64,
    pub zero_missing: bool,
    pub fractional_stock: Fractional,
    pub update_content: ContentPolicy,
    pub attributes: AttributePolicy,
    /// `[sync] parent_sku_from = "external_id"`.
    pub parent_sku_from_id: bool,
    /// `[sync] variation_sku`: the SKU template of variations created without one.
    pub variation_sku: Option<String>,
}

/// `[sync] local_attributes` and `attribute_slugs`: which attributes stay local to the product
/// (no terms), and the slugs of global ones WooCommerce would otherwise derive from the name.
/// Names are kept as WooCommerce tells them apart (`terms::name_key`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributePolicy {
    pub local: Vec<String>,
    pub slugs: Vec<(String, String)>,
}

impl AttributePolicy {
    pub fn is_local(&self, name: &str) -> bool {
        self.local.contains(&crate::woo::terms::name_key(name))
    }

    /// The configured slug of a global attribute, if any.
    pub fn slug(&self, name: &str) -> Option<&str> {
        let key = crate::woo::terms::name_key(name);
        self.slugs.iter().find(|(k, _)| *k == key).map(|(_, s)| s.as_str())
    }

    fn parse(local: &[String], slugs: &std::collections::BTreeMap<String, String>) -> Result<AttributePolicy> {
        use crate::woo::attributes::{attribute_slug, slug_refused};
        let mut policy = AttributePolicy { local: local.iter().map(|n| crate::woo::terms::name_key(n)).collect(), slugs: Vec::new() };
        for (name, slug) in slugs {
            let made = attribute_slug(name, Some(slug));
            if let Some(why) = slug_refused(&made) {
                return Err(Error::Config(format!("[sync] attribute_slugs {name:?} = {slug:?}: {why}")));
            }
            if policy.is_local(name) {
                return Err(Error::Config(format!("[sync] attribute_slugs {name:?}: the attribute is in local_attributes, which have no slug")));
            }
            policy.slugs.push((crate::woo::terms::name_key(name), made));
        }
        Ok(policy)
    }
}

/// `[sync] update_content`: the card fields the ERP owns on products that already exist (a
/// person edits the rest of the card after the first import).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContentPolicy {
    /// The product's categories follow the feed (and a renamed 1C group renames its category).
    pub categories: bool,
    /// `post_title` follows the feed's name.
    pub name: bool,
    /// `post_content` follows the feed's description.
    pub description: bool,
    /// `post_excerpt` follows the feed's short description.
    pub short_description: bool,
    /// `_global_unique_id` (and the lookup's `global_unique_id`) follows the feed's GTIN.
    pub gtin: bool,
    /// The attributes the feed gives follow it (`_product_attributes`, terms, lookup rows).
    pub attributes: bool,
    /// The pictures the feed gives follow it (`_thumbnail_id`, `_product_image_gallery`).
    pub images: bool,
}

impl ContentPolicy {
    /// Whether the products' titles and texts are read (and compared).
    pub fn texts(&self) -> bool {
        self.name || self.description || self.short_description
    }
}

/// The fields `update_content` names.
pub const UPDATE_CONTENT_FIELDS: [&str; 7] = ["categories", "attributes", "description", "short_description", "gtin", "name", "images"];

impl ContentPolicy {
    fn parse(fields: &[String]) -> Result<ContentPolicy> {
        let mut policy = ContentPolicy::default();
        for f in fields {
            match f.as_str() {
                "categories" => policy.categories = true,
                "name" => policy.name = true,
                "description" => policy.description = true,
                "short_description" => policy.short_description = true,
                "gtin" => policy.gtin = true,
                "attributes" => policy.attributes = true,
                "images" => policy.images = true,
                other => {
                    return Err(Error::Config(format!(
                        "[sync] update_content: {other:?} is not a card field; expected some of {}",
                        UPDATE_CONTENT_FIELDS.map(|f| format!("{f:?}")).join(", ")
                    )))
                }
            }
        }
        Ok(policy)
    }
}

impl SyncSection {
    pub(super) fn settle(self, base: &Path) -> Result<SyncSettings> {
        let external_id_meta = self.external_id_meta.trim().to_string();
        if !super::is_meta_key(&external_id_meta)
            || Key::ALL.iter().any(|k| k.meta_key() == external_id_meta)
        {
            return Err(Error::Config(format!(
                "[sync] external_id_meta = {external_id_meta:?}: expected a meta key of letters, digits, `_` and `-` \
                 that WooCommerce does not use itself, like \"_woosync_external_id\""
            )));
        }
        if !matches!(self.new_product_status.as_str(), "draft" | "pending" | "private") {
            return Err(Error::Config(format!(
                "[sync] new_product_status = {:?}: expected \"draft\", \"pending\" or \"private\"",
                self.new_product_status
            )));
        }
        if self.chunk_size == 0 || self.chunk_size > 10_000 {
            return Err(Error::Config(format!(
                "[sync] chunk_size = {}: expected 1 to 10000",
                self.chunk_size
            )));
        }
        if self.chunk_min == 0 || self.chunk_min > self.chunk_max || self.chunk_max > 10_000 {
            return Err(Error::Config(format!(
                "[sync] chunk_min = {}, chunk_max = {}: expected 1 ≤ chunk_min ≤ chunk_max ≤ 10000",
                self.chunk_min, self.chunk_max
            )));
        }
        let in_base = |p: Option<PathBuf>| p.map(|p| if p.is_absolute() { p } else { base.join(p) });
        let resume_within = humantime::parse_duration(&self.resume_within).map_err(|e| {
            Error::Config(format!(
                "[sync] resume_within = {:?}: {e}; expected a duration like \"1h\" or \"30m\"",
                self.resume_within
            ))
        })?;
        let zero_missing = match self.missing.as_str() {
            "ignore" => false,
            "zero_stock" => true,
            other => return Err(Error::Config(format!("[sync] missing = {other:?}: expected \"ignore\" or \"zero_stock\""))),
        };
        let fractional_stock = match self.fractional_stock.as_str() {
            "floor" => Fractional::Floor,
            "round" => Fractional::Round,
            "reject" => Fractional::Reject,
            other => return Err(Error::Config(format!("[sync] fractional_stock = {other:?}: expected \"floor\", \"round\" or \"reject\""))),
        };
        let update_content = ContentPolicy::parse(&self.update_content)?;
        let attributes = AttributePolicy::parse(&self.local_attributes, &self.attribute_slugs)?;
        let parent_sku_from_id = match self.parent_sku_from.as_str() {
            "article" => false,
            "external_id" => true,
            other => return Err(Error::Config(format!("[sync] parent_sku_from = {other:?}: expected \"article\" (the good's Артикул) or \"external_id\" (the good's Ид)"))),
        };
        if let Some(t) = &self.variation_sku {
            if !t.contains("{values}") || t.replace("{parent_sku}", "").replace("{values}", "").contains(['{', '}']) {
                return Err(Error::Config(format!(
                    "[sync] variation_sku = {t:?}: expected a template with {{values}} (and optionally {{parent_sku}}), like \"{{parent_sku}}-{{values}}\""
                )));
            }
        }
        Ok(SyncSettings {
            update_content,
            attributes,
            parent_sku_from_id,
            variation_sku: self.variation_sku,
            external_id_meta: Box::leak(external_id_meta.into_boxed_str()),
            new_product_status: self.new_product_status,
            chunk_size: self.chunk_size,
            chunks: ChunkPolicy {
                target: Duration::from_millis(self.chunk_target_ms),
                min: self.chunk_min,
                max: self.chunk_max,
                pause: Duration::from_millis(self.pause_between_chunks_ms),
                max_threads_running: self.max_threads_running,
                pause_file: in_base(self.pause_file),
                stop_file: in_base(self.stop_file),
            },
            resume_within,
            author_id: self.author_id,
            lock_wait_timeout_secs: self.lock_wait_timeout_secs.clamp(1, 3600),
            zero_missing,
            fractional_stock,
        })
    }
}
