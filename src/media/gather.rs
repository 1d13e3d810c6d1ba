//! The pictures a chunk's products name, made ready before the chunk's transaction: each read
//! (a local file) or fetched (a URL), hashed, and looked up by its hash among the attachments
//! woosync made before (`_woosync_image_hash`: the same picture is never stored twice, whoever
//! names it and however); a picture not there yet is stored ([`super::store`]) on both cores.
//! Pictures go a few at a time, so a chunk never holds more than a handful of them in memory.
//! A picture that cannot be had is a reason (naming it) instead, for the product's warning row;
//! the product itself still syncs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mysql_async::prelude::*;
use mysql_async::Conn;

use crate::error::{Error, Result};
use crate::woo::media::Size;

use super::fetch::Fetcher;
use super::store::{content_hash, store, Folder, Stored};

/// Pictures handled at once: read or fetched together, looked up in one query, stored by two
/// threads.
const AT_ONCE: usize = 16;

/// Where pictures go, and how they are had.
pub struct Library {
    pub uploads_dir: PathBuf,
    /// `uploads_dir`'s folder of the shop's current month (`YYYY/MM`: `wp_upload_bits()` files
    /// uploads there), with the names its files take.
    pub folder: std::sync::Arc<Folder>,
    pub sizes: Vec<Size>,
    pub fetcher: Fetcher,
    /// The largest picture taken, in bytes (`max_image_mb`).
    pub max_bytes: u64,
    /// The pictures woosync stored before, by their bytes' hash: read whole on the first
    /// lookup of a run (the meta table has no index on values: a lookup by value reads every
    /// `_woosync_image_hash` row, so one query a batch grew with the library), then kept up to
    /// date as chunks commit their new attachments.
    pub known: std::sync::Mutex<Option<KnownPictures>>,
}

/// Attachment IDs by the SHA-256 of their picture's bytes (the first one made, when two hold
/// the same bytes).
#[derive(Debug, Default)]
pub struct KnownPictures(HashMap<[u8; 32], u64>);

impl KnownPictures {
    fn key(hash: &str) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hash.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        (hash.len() == 64).then_some(out)
    }

    pub fn get(&self, hash: &str) -> Option<u64> {
        self.0.get(&Self::key(hash)?).copied()
    }

    /// An attachment committed with this picture (an earlier one with the same bytes stays).
    pub fn learn(&mut self, hash: &str, id: u64) {
        if let Some(k) = Self::key(hash) {
            self.0.entry(k).or_insert(id);
        }
    }
}

impl Library {
    /// Records attachments a chunk committed, so later chunks reuse them.
    pub fn learn(&self, committed: impl IntoIterator<Item = (String, u64)>) {
        if let Some(known) = self.known.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            for (hash, id) in committed {
                known.learn(&hash, id);
            }
        }
    }
}

/// A picture made ready.
#[derive(Debug)]
pub enum Ready {
    /// An attachment woosync made before holds these very bytes.
    Existing(u64),
    /// Stored now (the files are made; its rows are the chunk's to write).
    New(Box<Stored>),
    /// Stored now for an earlier source of this batch with the same bytes: that one's entry.
    SameAs(usize),
}

/// One picture as the feed names it.
#[derive(Debug, Clone)]
pub struct Wanted {
    /// A path (absolute: relative ones are resolved where the feed is read) or an http(s) URL.
    pub source: String,
}

impl Wanted {
    pub fn is_url(&self) -> bool {
        crate::model::is_picture_url(&self.source)
    }

    /// SHA-256 of the source as given (kept in the attachment's meta instead of the source:
    /// a URL may hold a token).
    pub fn source_hash(&self) -> String {
        content_hash(self.source.trim().as_bytes())
    }

    /// The source as it may be shown: a URL without query or credentials.
    pub fn shown(&self) -> String {
        crate::plan::pictures::shown(&self.source)
    }
}

/// Makes every wanted picture ready, in order: each its [`Ready`] or why it cannot be had.
/// Every file made is in the `Ready::New` entries (for the pending record and, on failure,
/// removal).
pub async fn gather(conn: &mut Conn, prefix: &str, library: &Library, wanted: &[Wanted]) -> Result<Vec<std::result::Result<Ready, String>>> {
    let mut out: Vec<std::result::Result<Ready, String>> = Vec::with_capacity(wanted.len());
    // Content hash → the entry that stored it, within this call.
    let mut made: HashMap<String, usize> = HashMap::new();
    for (part_no, part) in wanted.chunks(AT_ONCE).enumerate() {
        let base = part_no * AT_ONCE;
        // Read or fetch them together.
        let bytes: Vec<std::result::Result<Vec<u8>, String>> = futures_util::future::join_all(part.iter().map(|w| obtain(library, w))).await;
        let hashes: Vec<Option<String>> = bytes.iter().map(|b| b.as_ref().ok().map(|b| content_hash(b))).collect();
        let known = existing(conn, prefix, library, &hashes.iter().flatten().cloned().collect::<Vec<_>>()).await?;
        // What is left to store: (position in `part`, hash).
        let mut to_store: Vec<(usize, String)> = Vec::new();
        let mut decided: Vec<Option<std::result::Result<Ready, String>>> = Vec::with_capacity(part.len());
        for (i, (b, h)) in bytes.iter().zip(&hashes).enumerate() {
            decided.push(match (b, h) {
                (Err(e), _) => Some(Err(e.clone())),
                (Ok(_), Some(h)) => match (known.get(h), made.get(h)) {
                    (Some(id), _) => Some(Ok(Ready::Existing(*id))),
                    (None, Some(at)) => Some(Ok(Ready::SameAs(*at))),
                    (None, None) => {
                        made.insert(h.clone(), base + i);
                        to_store.push((i, h.clone()));
                        None
                    }
                },
                (Ok(_), None) => Some(Err("no bytes".into())),
            });
        }
        // Store the new ones on two threads.
        let mut bytes = bytes;
        let jobs: Vec<(usize, Vec<u8>, String)> = to_store
            .iter()
            .map(|(i, _)| (*i, bytes[*i].as_mut().map(std::mem::take).unwrap_or_default(), file_name(&part[*i])))
            .collect();
        drop(bytes);
        let (folder, sizes) = (library.folder.clone(), library.sizes.clone());
        let stored: Vec<(usize, std::result::Result<Stored, String>)> = tokio::task::spawn_blocking(move || store_all(jobs, &folder, &sizes))
            .await
            .map_err(|e| Error::Internal(format!("storing pictures stopped: {e}")))?;
        for (i, result) in stored {
            decided[i] = Some(result.map(|s| Ready::New(Box::new(s))));
        }
        for (i, d) in decided.into_iter().enumerate() {
            let d = d.unwrap_or_else(|| Err("not stored".into()));
            // A picture that failed to store is not there for a later source of the same bytes.
            if d.is_err() {
                made.retain(|_, at| *at != base + i);
            }
            out.push(d);
        }
    }
    Ok(out)
}

/// The name a picture is stored under: the last part of its path or URL (its query left out).
fn file_name(w: &Wanted) -> String {
    let s = w.source.trim();
    let path = match url::Url::parse(s) {
        Ok(u) if w.is_url() => u.path_segments().and_then(|mut p| p.next_back().map(str::to_string)).unwrap_or_default(),
        _ => Path::new(s).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    // A URL's path is percent-encoded; the file is named as people wrote it.
    let decoded = percent_decode(&path);
    if decoded.trim().is_empty() {
        "image".into()
    } else {
        decoded
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// A picture's bytes: a file read, or a URL fetched.
async fn obtain(library: &Library, w: &Wanted) -> std::result::Result<Vec<u8>, String> {
    if w.is_url() {
        return library.fetcher.get(w.source.trim()).await.map_err(|e| e.to_string());
    }
    let path = PathBuf::from(w.source.trim());
    let limit = library.max_bytes;
    tokio::task::spawn_blocking(move || -> std::result::Result<Vec<u8>, String> {
        let meta = std::fs::metadata(&path).map_err(|e| format!("{}: {}", path.display(), io_reason(&e)))?;
        if !meta.is_file() {
            return Err(format!("{}: not a file", path.display()));
        }
        if meta.len() > limit {
            return Err(format!("{}: larger than {} MiB (max_image_mb)", path.display(), limit >> 20));
        }
        std::fs::read(&path).map_err(|e| format!("{}: {}", path.display(), io_reason(&e)))
    })
    .await
    .map_err(|e| format!("reading {}: {e}", w.source))?
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "not readable (permission denied)".into(),
        _ => e.to_string(),
    }
}

/// The attachments holding these content hashes: hash → attachment ID (the oldest).
async fn existing(conn: &mut Conn, prefix: &str, library: &Library, hashes: &[String]) -> Result<HashMap<String, u64>> {
    if hashes.is_empty() {
        return Ok(HashMap::new());
    }
    let loaded = library.known.lock().unwrap_or_else(|e| e.into_inner()).is_some();
    if !loaded {
        let mut known = KnownPictures::default();
        let mut rows = conn
            .exec_iter(
                format!(
                    "SELECT pm.meta_value, pm.post_id FROM `{prefix}postmeta` pm JOIN `{prefix}posts` p ON p.ID = pm.post_id AND p.post_type = 'attachment' \
                     WHERE pm.meta_key = ? ORDER BY pm.post_id"
                ),
                (crate::apply::media::HASH_META,),
            )
            .await
            .map_err(|e| Error::db("reading the pictures stored before", e))?;
        rows.for_each(|row| {
            let (hash, id): (String, u64) = mysql_async::from_row(row);
            known.learn(&hash, id);
        })
        .await
        .map_err(|e| Error::db("reading the pictures stored before", e))?;
        *library.known.lock().unwrap_or_else(|e| e.into_inner()) = Some(known);
    }
    let known = library.known.lock().unwrap_or_else(|e| e.into_inner());
    let known = known.as_ref().expect("read above");
    Ok(hashes.iter().filter_map(|h| Some((h.clone(), known.get(h)?))).collect())
}

/// Stores the jobs on two threads: (position, picture bytes, name) → (position, result).
fn store_all(jobs: Vec<(usize, Vec<u8>, String)>, folder: &Folder, sizes: &[Size]) -> Vec<(usize, std::result::Result<Stored, String>)> {
    let queue = std::sync::Mutex::new(jobs.into_iter());
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some((i, bytes, name)) = queue.lock().unwrap_or_else(|e| e.into_inner()).next() else { break };
                let r = store(&bytes, &name, folder, sizes).map_err(|e| format!("{name}: {e}"));
                results.lock().unwrap_or_else(|e| e.into_inner()).push((i, r));
            });
        }
    });
    results.into_inner().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_pictures_are_found_by_their_hash_and_the_first_stays() {
        let a = content_hash(b"a");
        let mut known = KnownPictures::default();
        known.learn(&a, 7);
        known.learn(&a, 9);
        known.learn("not a hash", 3);
        assert_eq!((known.get(&a), known.get(&content_hash(b"b")), known.get("zz")), (Some(7), None, None));
        assert_eq!(known.0.len(), 1);
    }
}
