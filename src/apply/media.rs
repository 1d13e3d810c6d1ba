//! The rows of a picture in the media library, as WooCommerce's import writes them
//! (`wc_rest_set_uploaded_image_as_attachment()`: `wp_insert_attachment()` +
//! `wp_update_attachment_metadata()`, CATALOGUE.md i, `observed/i2`): an `attachment` post —
//! `inherit`, comments open, pings closed, titled with the file's name and extension, its slug
//! `sanitize_title()` of that made unique across every post (`wp_unique_post_slug()` for
//! attachments: `-2`, `-3`, …; the feed names `feed`, `rdf`, `rss`, `rss2`, `atom` and `embed`
//! are taken too), the file's URL as its `guid`, the product as its parent — then
//! `_wp_attached_file` and `_wp_attachment_metadata`, and woosync's own two rows: the SHA-256
//! of the picture's bytes (`_woosync_image_hash`: the same picture is never stored twice) and of
//! where the feed said it was (`_woosync_image_source`: a URL may hold a token, so not the URL).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use mysql_async::prelude::*;
use mysql_async::{Conn, Transaction, Value};

use crate::media::gather::{gather, Ready, Wanted};
use crate::media::store::Stored;
use crate::plan::Unit;
use crate::report::{Action, ReportRow};
use crate::woo::slug::sanitize_title;

use super::Target;

/// The pictures of a chunk's new products, made ready before its transaction.
#[derive(Debug, Default)]
pub struct ChunkPictures {
    /// A new product's pictures (by SKU): positions in `ready`, in the feed's order.
    by_sku: HashMap<String, Vec<usize>>,
    /// Each picture made ready (`None`: it could not be had; its warning is in `warnings`).
    ready: Vec<Option<Ready>>,
    /// SHA-256 of each picture's source as the feed gave it.
    sources: Vec<String>,
    /// The pending record of the files made, settled by the chunk's transaction.
    pub pending: Option<u64>,
    /// One warning row per picture that could not be had (the product is created without it).
    pub warnings: Vec<ReportRow>,
    /// Pictures stored for this chunk that the transaction entered, and their attachment IDs
    /// (for the same picture named again); renewed by each attempt at the transaction.
    entered: Mutex<HashMap<usize, u64>>,
}

/// Makes the pictures of a chunk's new products, and of the products whose pictures change,
/// ready (a no-op without `[wordpress]`): read or fetched, found again by their bytes or stored,
/// the files made recorded as pending and made durable.
pub async fn prepare(conn: &mut Conn, target: &Target<'_>, chunk_no: u32, chunk: &[Unit]) -> crate::error::Result<ChunkPictures> {
    let mut out = ChunkPictures::default();
    let Some(pictures) = &target.pictures else { return Ok(out) };
    let mut wanted: Vec<Wanted> = Vec::new();
    // (SKU, feed row) of each picture.
    let mut owners: Vec<(String, u64)> = Vec::new();
    let creates = chunk.iter().flat_map(|u| u.creates.iter()).map(|c| (c.sku.as_str(), c.line, new_pictures(c).0));
    let updates = chunk.iter().flat_map(|u| u.updates.iter()).filter_map(|u| Some((u.sku.as_str(), u.row.as_ref().map_or(0, |r| r.item.line), u.pictures.as_deref()?.sources.as_slice())));
    for (sku, line, images) in creates.chain(updates) {
        if sku.is_empty() || images.is_empty() || out.by_sku.contains_key(sku) {
            continue;
        }
        let sku = sku.to_string();
        for source in images {
            out.by_sku.entry(sku.clone()).or_default().push(wanted.len());
            owners.push((sku.clone(), line));
            wanted.push(Wanted { source: source.clone() });
        }
    }
    if wanted.is_empty() {
        return Ok(out);
    }
    let started = std::time::Instant::now();
    let ready = gather(conn, &target.shop.prefix, &pictures.library, &wanted).await?;
    let gathered = started.elapsed();
    let mut files = Vec::new();
    for ((r, w), (sku, line)) in ready.into_iter().zip(&wanted).zip(&owners) {
        out.sources.push(w.source_hash());
        match r {
            Ok(r) => {
                if let Ready::New(s) = &r {
                    files.extend(s.files.iter().cloned());
                }
                out.ready.push(Some(r));
            }
            Err(why) => {
                let message = format!("{} {line}: picture {} not added: {why}", target.rules.row_word, w.shown());
                out.warnings.push(ReportRow::note(Action::Warning, sku, "images", message));
                out.ready.push(None);
            }
        }
    }
    if !files.is_empty() {
        // Recorded first: files that cannot be made durable are removed by the next run.
        out.pending = Some(crate::media::pending::record(conn, &target.shop.prefix, target.run_id, chunk_no, &files).await?);
        let uploads = pictures.library.uploads_dir.clone();
        tokio::task::spawn_blocking(move || crate::media::store::sync_uploads(&uploads).map_err(|e| (uploads, e)))
            .await
            .map_err(|e| crate::error::Error::Internal(format!("syncing the uploads folder stopped: {e}")))?
            .map_err(|(u, e)| crate::error::Error::Internal(format!("making the new pictures' files under {} durable: {e}", u.display())))?;
    }
    let stored = out.ready.iter().filter(|r| matches!(r, Some(Ready::New(_)))).count();
    tracing::info!(
        chunk = chunk_no,
        pictures = wanted.len(),
        stored,
        files = files.len(),
        gather_ms = gathered.as_millis() as u64,
        sync_ms = (started.elapsed() - gathered).as_millis() as u64,
        "chunk {chunk_no}: {} pictures ready ({stored} stored, {} files) in {} ms, made durable in {} ms",
        wanted.len(),
        files.len(),
        gathered.as_millis(),
        (started.elapsed() - gathered).as_millis()
    );
    Ok(out)
}

/// The pictures a new product takes (a variation only its first), and their files' sizes when
/// read.
pub fn new_pictures(c: &crate::plan::NewProduct) -> (&[String], Option<&[u64]>) {
    let post_type = match c.kind {
        crate::plan::NewKind::Variation(_) => crate::catalog::PostType::Variation,
        _ => crate::catalog::PostType::Product,
    };
    crate::plan::pictures::listed(c.content.as_deref(), post_type)
}

impl ChunkPictures {
    /// A new attempt at the chunk's transaction: what an earlier one entered was rolled back.
    pub fn begin(&self) {
        self.entered.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Whether every picture of the product (by SKU) could be had.
    pub fn complete(&self, sku: &str) -> bool {
        self.by_sku.get(sku).is_none_or(|at| at.iter().all(|&i| self.ready[i].is_some()))
    }

    /// The attachments of a product's pictures, in order, entering the ones stored for this
    /// chunk in the media library with the product as their parent (once: the same picture
    /// named again is the attachment entered first).
    pub async fn attach(&self, tx: &mut Transaction<'_>, target: &Target<'_>, sku: &str, product: u64, local: &str, gmt: &str) -> Result<Vec<u64>, mysql_async::Error> {
        let (Some(positions), Some(pictures)) = (self.by_sku.get(sku), &target.pictures) else { return Ok(Vec::new()) };
        let mut ids: Vec<u64> = Vec::new();
        for &at in positions {
            let entered = |at: &usize| self.entered.lock().unwrap_or_else(|e| e.into_inner()).get(at).copied();
            let id = match &self.ready[at] {
                None => None,
                Some(Ready::Existing(id)) => Some(*id),
                Some(Ready::SameAs(first)) => entered(first),
                Some(Ready::New(stored)) => match entered(&at) {
                    Some(id) => Some(id),
                    None => {
                        let new = [NewAttachment { parent: product, stored, source: self.sources[at].clone() }];
                        let id = insert_attachments(tx, &target.shop.prefix, target.author_id, &pictures.uploads_url, &new, local, gmt).await?[0];
                        self.entered.lock().unwrap_or_else(|e| e.into_inner()).insert(at, id);
                        Some(id)
                    }
                },
            };
            if let Some(id) = id.filter(|id| !ids.contains(id)) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// An existing product's pictures put on it as WooCommerce's data store saves them: the
    /// featured image in `_thumbnail_id`, the rest in `_product_image_gallery` (a product's
    /// only), and woosync's record of the list in `_woosync_images`. When none of the pictures
    /// could be had the product keeps the ones it has (their warnings say why).
    #[allow(clippy::too_many_arguments)]
    pub async fn put(
        &self,
        tx: &mut Transaction<'_>,
        target: &Target<'_>,
        product: u64,
        sku: &str,
        post_type: crate::catalog::PostType,
        change: &crate::plan::pictures::PictureChange,
        local: &str,
        gmt: &str,
    ) -> Result<(), mysql_async::Error> {
        let ids = self.attach(tx, target, sku, product, local, gmt).await?;
        let Some((featured, gallery)) = ids.split_first() else { return Ok(()) };
        let p = &target.shop.prefix;
        let gallery = match post_type {
            crate::catalog::PostType::Product => Some(gallery.iter().map(u64::to_string).collect::<Vec<_>>().join(",")),
            crate::catalog::PostType::Variation => None,
        };
        let record = crate::plan::pictures::record(&change.print, self.complete(sku), &ids);
        let keys = crate::catalog::PICTURE_KEYS;
        let values = [Some(featured.to_string()), gallery, Some(record)];
        for ((key, rows), value) in keys.iter().zip(&change.rows).zip(values) {
            let Some(value) = value else { continue };
            match rows.is_empty() {
                // `update_post_meta()` adds no row for an empty gallery a product never had.
                true if value.is_empty() => {}
                true => tx.exec_drop(format!("INSERT INTO `{p}postmeta` (post_id, meta_key, meta_value) VALUES (?, ?, ?)"), (product, *key, value)).await?,
                false => {
                    let list = rows.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
                    tx.exec_drop(format!("UPDATE `{p}postmeta` SET meta_value = ? WHERE meta_id IN ({list}) AND post_id = ?"), (value, product)).await?;
                }
            }
        }
        Ok(())
    }

    /// After the chunk committed: its picture warnings join its report rows; the pictures it
    /// entered are known to later chunks by their bytes; the files of pictures stored for
    /// products it did not write after all (one made meanwhile became an update) are removed.
    pub fn committed(&self, target: &Target<'_>, done: &mut super::ChunkDone) {
        done.rows.extend(self.warnings.iter().cloned());
        done.warnings = self.warnings.len();
        let Some(pictures) = &target.pictures else { return };
        let entered = self.entered.lock().unwrap_or_else(|e| e.into_inner());
        pictures.library.learn(entered.iter().filter_map(|(at, id)| match &self.ready[*at] {
            Some(Ready::New(stored)) => Some((stored.hash.clone(), *id)),
            _ => None,
        }));
        for (at, r) in self.ready.iter().enumerate() {
            if let (Some(Ready::New(s)), false) = (r, entered.contains_key(&at)) {
                for f in &s.files {
                    let _ = std::fs::remove_file(f);
                }
            }
        }
    }
}

pub const HASH_META: &str = "_woosync_image_hash";
pub const SOURCE_META: &str = "_woosync_image_source";

/// A stored picture to enter in the media library.
#[derive(Debug, Clone)]
pub struct NewAttachment<'a> {
    /// The product (or variation) it was uploaded for.
    pub parent: u64,
    pub stored: &'a Stored,
    /// SHA-256 (hex) of the path or URL the feed gave.
    pub source: String,
}

/// Slugs an attachment may not have: WordPress's feed names and `embed`.
const RESERVED: &[&str] = &["feed", "rdf", "rss", "rss2", "atom", "embed"];

/// Inserts the attachments' posts and meta rows; their IDs, in order.
/// `uploads_url`: the uploads folder's URL, without a trailing slash.
pub async fn insert_attachments(
    tx: &mut Transaction<'_>,
    prefix: &str,
    author: u64,
    uploads_url: &str,
    attachments: &[NewAttachment<'_>],
    local: &str,
    gmt: &str,
) -> Result<Vec<u64>, mysql_async::Error> {
    let p = prefix;
    let mut taken_here: HashSet<String> = HashSet::new();
    let mut ids = Vec::with_capacity(attachments.len());
    for a in attachments {
        let title = a.stored.name.as_str();
        let slug = unique_slug(tx, p, &sanitize_title(title), &mut taken_here).await?;
        let guid = format!("{uploads_url}/{}", a.stored.file);
        tx.exec_drop(
            format!(
                "INSERT INTO `{p}posts` (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, \
                 comment_status, ping_status, post_password, post_name, to_ping, pinged, post_modified, post_modified_gmt, \
                 post_content_filtered, post_parent, guid, menu_order, post_type, post_mime_type, comment_count) \
                 VALUES (?, ?, ?, '', ?, '', 'inherit', 'open', 'closed', '', ?, '', '', ?, ?, '', ?, ?, 0, 'attachment', ?, 0)"
            ),
            vec![
                Value::from(author),
                Value::from(local),
                Value::from(gmt),
                Value::from(title),
                Value::from(slug.as_str()),
                Value::from(local),
                Value::from(gmt),
                Value::from(a.parent),
                Value::from(guid.as_str()),
                Value::from(a.stored.mime),
            ],
        )
        .await?;
        let id = tx.last_insert_id().ok_or_else(|| mysql_async::Error::Other("a new attachment's ID could not be read back".into()))?;
        let metadata = a.stored.metadata();
        tx.exec_drop(
            format!("INSERT INTO `{p}postmeta` (post_id, meta_key, meta_value) VALUES (?, '_wp_attached_file', ?), (?, '_wp_attachment_metadata', ?), (?, ?, ?), (?, ?, ?)"),
            vec![
                Value::from(id),
                Value::from(a.stored.file.as_str()),
                Value::from(id),
                Value::from(metadata.as_str()),
                Value::from(id),
                Value::from(HASH_META),
                Value::from(a.stored.hash.as_str()),
                Value::from(id),
                Value::from(SOURCE_META),
                Value::from(a.source.as_str()),
            ],
        )
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// `wp_unique_post_slug()` of an attachment: `slug`, else `slug-2`, `slug-3`, … — the first no
/// post has (nor an attachment made earlier in this transaction).
async fn unique_slug(tx: &mut Transaction<'_>, p: &str, slug: &str, taken_here: &mut HashSet<String>) -> Result<String, mysql_async::Error> {
    let base: String = if slug.is_empty() { "attachment".into() } else { slug.to_string() };
    let like = format!("{}-%", base.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let used: Vec<String> = tx
        .exec(format!("SELECT post_name FROM `{p}posts` WHERE post_name = ? OR post_name LIKE ?"), (base.as_str(), like.as_str()))
        .await?;
    let used: HashSet<String> = used.into_iter().collect();
    let free = |s: &str| !used.contains(s) && !taken_here.contains(s) && !RESERVED.contains(&s);
    let chosen = match free(&base) {
        true => base.clone(),
        false => (2u64..)
            .map(|n| {
                // `_truncate_post_slug()`: the slug cut (at a whole encoded character) to leave room for the suffix.
                let suffix = format!("-{n}");
                format!("{}{suffix}", truncate_slug(&base, 200 - suffix.len()))
            })
            .find(|s| free(s))
            .expect("some suffix is free"),
    };
    taken_here.insert(chosen.clone());
    Ok(chosen)
}

/// `_truncate_post_slug()`: at most `length` bytes, never cutting a character (a Cyrillic
/// letter is two `%XX` octets), then trailing hyphens off.
fn truncate_slug(slug: &str, length: usize) -> &str {
    if slug.len() <= length {
        return slug;
    }
    let bytes = slug.as_bytes();
    let octet = |at: usize| -> Option<u8> {
        (bytes.get(at) == Some(&b'%')).then(|| std::str::from_utf8(bytes.get(at + 1..at + 3)?).ok().and_then(|h| u8::from_str_radix(h, 16).ok()))?
    };
    let (mut at, mut end) = (0, 0);
    while at < bytes.len() {
        // One character: a plain byte, or the `%XX` octets of one UTF-8 sequence.
        let next = match octet(at) {
            Some(lead) => {
                let n = match lead {
                    0xF0..=0xF7 => 4,
                    0xE0..=0xEF => 3,
                    0xC0..=0xDF => 2,
                    _ => 1,
                };
                at + 3 * n
            }
            None => at + 1,
        };
        if next > length || next > bytes.len() {
            break;
        }
        (at, end) = (next, next);
    }
    slug[..end].trim_end_matches('-')
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_cut_at_whole_octets() {
        assert_eq!(super::truncate_slug("abc", 10), "abc");
        // `б` is `%d0%b1`: all of it or nothing.
        assert_eq!(super::truncate_slug("ab%d0%b1", 7), "ab");
        assert_eq!(super::truncate_slug("ab%d0%b1c", 8), "ab%d0%b1");
        assert_eq!(super::truncate_slug("abc-def", 4), "abc");
    }
}
