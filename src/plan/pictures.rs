//! A product's pictures as `update_content = ["images"]` keeps them in step with the feed.
//!
//! woosync records on each product what it last put there from the feed (`_woosync_images`):
//! a print of the feed's picture list (with the files' sizes: a picture replaced under the same
//! name mostly changes its size) and the attachments it became. A product whose feed list
//! and featured image/gallery are both as recorded is left alone — nothing is read, fetched or
//! hashed. Otherwise (the feed names other pictures, the record is missing or incomplete, or a
//! person changed the pictures in the admin) its pictures are made ready again before the
//! chunk: those already in the media library (by their bytes) are reused, new ones are stored,
//! and the old attachments stay for a person to delete. The attachment IDs are known only
//! then, so the writes are the chunk's (see `apply::media`); the plan only says which products.

use sha2::{Digest, Sha256};

use crate::catalog::{Catalog, PostType, Product};
use crate::model::Item;

use super::{MetaIds, Rules};

/// woosync's record of a product's pictures: `<print> <id>,<id>,…` — the print of the feed's
/// list it last wrote ([`print`]; `-` when some picture could not be had, so the next run tries
/// again) and the attachment IDs that list became (featured image first).
pub const IMAGES_META: &str = "_woosync_images";

/// The pictures of a feed row a product takes: a variation only its first (WooCommerce keeps a
/// variation's image in `_thumbnail_id` and has no gallery for it).
pub fn wanted(images: &[String], post_type: PostType) -> &[String] {
    match post_type {
        PostType::Variation => &images[..images.len().min(1)],
        PostType::Product => images,
    }
}

/// A row's pictures a product takes ([`wanted`]) and, when read, their files' sizes.
pub fn listed(content: Option<&crate::model::Content>, post_type: PostType) -> (&[String], Option<&[u64]>) {
    let images = content.and_then(|c| c.images.as_deref()).unwrap_or(&[]);
    let taken = wanted(images, post_type);
    let sizes = content.and_then(|c| c.image_sizes.as_deref()).map(|s| &s[..taken.len().min(s.len())]);
    (taken, sizes)
}

/// The print of a picture list: the first 16 hex digits of the SHA-256 of its sources, one a
/// line, and of the files' sizes when they were read (a file replaced under its name).
pub fn print(sources: &[String], sizes: Option<&[u64]>) -> String {
    let mut h = Sha256::new();
    for s in sources {
        h.update(s.trim().as_bytes());
        h.update(b"\n");
    }
    for size in sizes.unwrap_or(&[]) {
        h.update(format!("{size}\n").as_bytes());
    }
    h.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The `_woosync_images` value for a list that became `ids` (`complete`: every picture was had).
pub fn record(print: &str, complete: bool, ids: &[u64]) -> String {
    let ids = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    format!("{} {ids}", if complete { print } else { "-" })
}

/// A `_woosync_images` value read back: (print, attachment IDs).
fn parse_record(value: &str) -> Option<(&str, Vec<u64>)> {
    let (print, ids) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    let ids = ids.split(',').filter(|s| !s.trim().is_empty()).map(|s| s.trim().parse().ok()).collect::<Option<Vec<u64>>>()?;
    Some((print, ids))
}

/// A source as it may be shown in a report or log: a URL without its query or credentials (it
/// may hold a token), a path as it is.
pub fn shown(source: &str) -> String {
    let s = source.trim();
    match url::Url::parse(s) {
        Ok(u) if crate::model::is_picture_url(s) => crate::config::redact_url(&u),
        _ => s.to_string(),
    }
}

/// A product's pictures to make ready and put on it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PictureChange {
    /// The feed's pictures it takes, in order (the first the featured image).
    pub sources: Vec<String>,
    /// Their [`print`].
    pub print: String,
    /// meta_ids of the product's `_thumbnail_id`, `_product_image_gallery` and `_woosync_images` rows.
    pub rows: [MetaIds; 3],
}

/// The attachments a product shows now: its featured image, then its gallery (as
/// `get_post_meta( $id, $key, true )` reads them: the first row of each key).
fn current(id: u64, held: &crate::catalog::CustomMeta, post_type: PostType) -> Vec<u64> {
    let first = |entry: u16| held.rows(id, entry).first().map(|r| r.3.as_str()).unwrap_or("");
    let featured = first(0).trim().parse::<u64>().ok().filter(|id| *id != 0);
    let gallery = match post_type {
        PostType::Product => first(1).split(',').filter_map(|s| s.trim().parse::<u64>().ok()).filter(|id| *id != 0).collect(),
        PostType::Variation => Vec::new(),
    };
    featured.into_iter().chain(gallery).collect()
}

/// Whether the product's pictures must be made ready again, and the report row saying so
/// (old: the attachments it shows now; new: the feed's pictures). `None`: `update_content`
/// leaves pictures alone, the row names none (an empty cell leaves them as they are), it is a
/// 1C characteristic (its good's pictures are its variable product's), or the product shows what woosync last put there from this very list.
pub fn change(item: &Item, p: &Product, catalog: &Catalog, rules: &Rules) -> Option<(Box<PictureChange>, String, String)> {
    if !rules.content.images {
        return None;
    }
    let held = catalog.picture_meta.as_ref()?;
    // A 1C characteristic's pictures are its good's: its variable product's, not its own.
    if item.content.as_deref().is_some_and(|c| c.parent_id.is_some()) {
        return None;
    }
    let (sources, sizes) = listed(item.content.as_deref(), p.post_type);
    if sources.is_empty() {
        return None;
    }
    let print = print(sources, sizes);
    let now = current(p.id, held, p.post_type);
    let recorded = held.rows(p.id, 2).first().and_then(|r| parse_record(&r.3));
    if recorded.is_some_and(|(was, ids)| was == print && ids == now) {
        return None;
    }
    let rows = [0, 1, 2].map(|entry| held.rows(p.id, entry).iter().map(|r| r.2).collect::<MetaIds>());
    let old = match now.is_empty() {
        true => String::new(),
        false => format!("attachments {}", now.iter().map(u64::to_string).collect::<Vec<_>>().join(",")),
    };
    let new = sources.iter().map(|s| shown(s)).collect::<Vec<_>>().join(" | ");
    Some((Box::new(PictureChange { sources: sources.to_vec(), print, rows }), old, new))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_and_prints_follow_the_list() {
        let (a, b) = (vec!["a.jpg".to_string(), "b.jpg".into()], vec!["b.jpg".to_string(), "a.jpg".into()]);
        assert_eq!(print(&a, None).len(), 16);
        assert_ne!(print(&a, None), print(&b, None), "the order is the featured image");
        assert_eq!(print(&a, None), print(&[" a.jpg ".to_string(), "b.jpg".into()], None));
        assert_ne!(print(&a, Some(&[10, 20])), print(&a, Some(&[10, 21])), "a file replaced under its name");
        let r = record(&print(&a, None), true, &[12, 13]);
        assert_eq!(parse_record(&r), Some((print(&a, None).as_str(), vec![12, 13])));
        assert_eq!(parse_record(&record("x", false, &[5])), Some(("-", vec![5])));
        assert_eq!(parse_record("abc "), Some(("abc", vec![])));
        assert_eq!(parse_record("abc 1,x"), None);
    }

    #[test]
    fn urls_are_shown_without_their_query() {
        assert_eq!(shown("https://user:pw@cdn.example/a.jpg?token=s3cret"), "https://cdn.example/a.jpg");
        assert_eq!(shown(" /srv/erp/a b.jpg "), "/srv/erp/a b.jpg");
        assert_eq!(wanted(&["a".into(), "b".into()], PostType::Variation), ["a".to_string()]);
        assert!(crate::model::is_picture_url(" HTTP://cdn/a.jpg") && crate::model::is_picture_url("https://x"));
        assert!(!crate::model::is_picture_url("httpfoo.jpg") && !crate::model::is_picture_url("/srv/http://x.jpg"));
    }
}
