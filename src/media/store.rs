//! A picture put in the shop's uploads folder as WordPress 6.8 puts an upload
//! (`wp_handle_sideload()` + `wp_generate_attachment_metadata()`, CATALOGUE.md i): the file under
//! `YYYY/MM/` with its sanitized, unique name and the extension of its real format; a JPEG
//! larger than 2,560 pixels a side also gets a `-scaled` copy that stands for it (PNGs are not
//! scaled), and one whose EXIF orientation is not upright a turned copy (`-scaled`, else
//! `-rotated`); then a copy at every registered size ([`crate::woo::media`]), made from the
//! original (turned upright) and named after it, JPEGs at quality 82 (`wp_editor_set_quality()`'s default). Files
//! take the folder's permissions without execute bits and, when woosync runs as root, the
//! folder's owner (the web server's user, as when WordPress writes them).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use fast_image_resize::{images::Image, IntoImageView, ResizeOptions, Resizer};
use image::{DynamicImage, ImageEncoder, ImageFormat};
use sha2::Digest;

use crate::woo::media::{attachment_metadata, constrain, copies, Copy, Size};

use super::names::{sanitize_file_name, split_extension, TakenNames};

/// `big_image_size_threshold`'s default.
pub const BIG_IMAGE: u32 = 2560;

/// JPEG quality of the copies (`wp_editor_set_quality()`'s default).
pub const JPEG_QUALITY: u8 = 82;

/// Why a picture was not stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("it is not a JPEG or PNG picture{0}")]
    NotAPicture(String),
    #[error("it could not be read as a picture: {0}")]
    Undecodable(String),
    #[error("writing it to {path} failed: {error}")]
    Write { path: String, error: std::io::Error },
}

/// A picture stored: what its attachment post and meta rows say of it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// `_wp_attached_file`: the file relative to the uploads folder (`2026/12/x.jpg`; the
    /// `-scaled` copy for a big JPEG).
    pub file: String,
    /// The name the upload was given (`x.jpg`), before any `-scaled`.
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub filesize: u64,
    pub mime: &'static str,
    pub copies: Vec<(Copy, u64)>,
    /// A big or turned JPEG's own file name (`original_image`).
    pub original_image: Option<String>,
    /// Turned upright by its EXIF orientation (`wp_create_image_subsizes()`).
    pub turned: bool,
    /// SHA-256 of the picture's bytes as given, in hex.
    pub hash: String,
    /// Every file made, for removing them when their rows are not written.
    pub files: Vec<PathBuf>,
}

impl Stored {
    /// `_wp_attachment_metadata`.
    pub fn metadata(&self) -> String {
        let row = attachment_metadata(self.width, self.height, &self.file, self.filesize, self.mime, &self.copies, self.turned);
        match &self.original_image {
            // `original_image` comes after `image_meta`: the last key of the outer array.
            Some(original) => {
                let count_at = "a:6:".len();
                let mut row = format!("a:7:{}", &row[count_at..]);
                row.pop();
                row.push_str(&format!("s:14:\"original_image\";s:{}:\"{original}\";}}", original.len()));
                row
            }
            None => row,
        }
    }
}

/// The SHA-256 of a picture's bytes, in hex (kept in its attachment's meta: the same picture is
/// not stored twice).
pub fn content_hash(bytes: &[u8]) -> String {
    crate::config::hex(&sha2::Sha256::digest(bytes))
}

/// Where pictures are stored: `uploads/<month>` (`2026/12`), and the names its files take, read
/// once (on the first picture) and kept up to date as pictures are stored, by any thread.
pub struct Folder {
    uploads: PathBuf,
    month: String,
    names: std::sync::Mutex<Option<TakenNames>>,
}

impl Folder {
    pub fn new(uploads: &Path, month: &str) -> Folder {
        Folder { uploads: uploads.to_path_buf(), month: month.to_string(), names: std::sync::Mutex::new(None) }
    }

    /// A unique name for `named` in the folder (made if missing), taken at once so that no
    /// other picture of this run gets it.
    fn reserve(&self, named: &str) -> Result<String, StoreError> {
        let folder = self.uploads.join(&self.month);
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if names.is_none() {
            make_folder(&self.uploads, &folder)?;
            let listing = std::fs::read_dir(&folder).map_err(|error| StoreError::Write { path: folder.display().to_string(), error })?;
            let files: Vec<String> = listing.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
            *names = Some(TakenNames::of(files.iter().map(String::as_str)));
        }
        let taken = names.as_mut().expect("read above");
        let chosen = taken.unique(named);
        taken.insert(&chosen);
        Ok(chosen)
    }
}

/// Stores `bytes` (a picture the feed names `name`) in `folder`.
pub fn store(bytes: &[u8], name: &str, place: &Folder, sizes: &[Size]) -> Result<Stored, StoreError> {
    let (uploads, month) = (place.uploads.as_path(), place.month.as_str());
    let format = image::guess_format(bytes).map_err(|_| StoreError::NotAPicture(String::new()))?;
    let (mime, extension) = match format {
        ImageFormat::Jpeg => ("image/jpeg", "jpg"),
        ImageFormat::Png => ("image/png", "png"),
        other => return Err(StoreError::NotAPicture(format!(" ({other:?})"))),
    };
    let (picture, turned) = decode(bytes, format)?;
    let folder = uploads.join(month);
    // The extension of the real format (`wp_check_filetype_and_ext()` corrects a wrong one).
    let sanitized = sanitize_file_name(name);
    let (stem, given) = split_extension(&sanitized);
    let fits = match format {
        ImageFormat::Jpeg => matches!(given.to_ascii_lowercase().as_str(), ".jpg" | ".jpeg" | ".jpe"),
        _ => given.eq_ignore_ascii_case(".png"),
    };
    let stem = if stem.is_empty() { "unnamed-file" } else { stem };
    let named = if fits { format!("{stem}{given}") } else { format!("{stem}.{extension}") };
    let mut made = Made { files: Vec::new(), permissions: Permissions::of(&folder) };
    // The name is known free from this run's view of the folder; a file someone else made
    // meanwhile under it (an upload in the admin) takes it, and the next name is tried.
    let mut file_name = place.reserve(&named)?;
    for _ in 0..3 {
        match made.write(&folder.join(&file_name), bytes) {
            Err(StoreError::Write { error, .. }) if error.kind() == std::io::ErrorKind::AlreadyExists => file_name = place.reserve(&named)?,
            Err(e) => {
                made.remove();
                return Err(e);
            }
            Ok(()) => break,
        }
    }
    let result = (|| {
        if made.files.is_empty() {
            return Err(StoreError::Write { path: folder.join(&file_name).display().to_string(), error: std::io::ErrorKind::AlreadyExists.into() });
        }
        let (width, height) = (picture.width(), picture.height());
        // A big JPEG: a scaled copy stands for it (turned upright too); a turned one that is not
        // big: a `-rotated` copy. The sized copies are made from the original, turned upright,
        // and named after it ("for best quality", as `_wp_make_subsizes()` makes them).
        let (s, e) = split_extension(&file_name);
        let (stands, w, h, original_image) = match (format == ImageFormat::Jpeg && (width > BIG_IMAGE || height > BIG_IMAGE), turned) {
            (true, _) => {
                let (w, h) = constrain(width, height, BIG_IMAGE, BIG_IMAGE);
                let scaled_name = format!("{s}-scaled{e}");
                made.write(&folder.join(&scaled_name), &encode(&resize(&picture, None, w, h)?, format)?)?;
                (scaled_name, w, h, Some(file_name.clone()))
            }
            (false, true) => {
                let rotated_name = format!("{s}-rotated{e}");
                made.write(&folder.join(&rotated_name), &encode(&picture, format)?)?;
                (rotated_name, width, height, Some(file_name.clone()))
            }
            (false, false) => (file_name.clone(), width, height, None),
        };
        let mut sized: BTreeMap<String, u64> = BTreeMap::new();
        let mut out = Vec::new();
        for copy in copies(&file_name, width, height, sizes) {
            let bytes = match sized.get(&copy.file) {
                Some(b) => *b,
                None => {
                    let r = copy.resize;
                    let img = resize(&picture, Some((r.src_x, r.src_y, r.src_w, r.src_h)), r.width, r.height)?;
                    let encoded = encode(&img, format)?;
                    made.write(&folder.join(&copy.file), &encoded)?;
                    sized.insert(copy.file.clone(), encoded.len() as u64);
                    encoded.len() as u64
                }
            };
            out.push((copy, bytes));
        }
        let stands_size = std::fs::metadata(folder.join(&stands)).map(|m| m.len()).unwrap_or(0);
        Ok(Stored {
            file: format!("{month}/{stands}"),
            name: file_name.clone(),
            width: w,
            height: h,
            filesize: stands_size,
            mime,
            copies: out,
            original_image,
            turned,
            hash: content_hash(bytes),
            files: made.files.clone(),
        })
    })();
    if result.is_err() {
        made.remove();
    }
    result
}

/// The picture decoded and, a JPEG, turned upright by its EXIF orientation (WordPress's
/// `maybe_exif_rotate()`: rotated and/or flipped; a PNG's is not read); whether it was turned.
fn decode(bytes: &[u8], format: ImageFormat) -> Result<(DynamicImage, bool), StoreError> {
    use image::metadata::Orientation;
    use image::ImageDecoder;
    let undecodable = |e: image::ImageError| StoreError::Undecodable(e.to_string());
    let mut decoder = image::ImageReader::with_format(std::io::Cursor::new(bytes), format).into_decoder().map_err(undecodable)?;
    let orientation = match format {
        ImageFormat::Jpeg => decoder.orientation().unwrap_or(Orientation::NoTransforms),
        _ => Orientation::NoTransforms,
    };
    let mut picture = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    let turned = orientation != Orientation::NoTransforms;
    if turned {
        picture.apply_orientation(orientation);
    }
    Ok((picture, turned))
}

/// A part of `picture` (`crop`: x, y, width, height) resized to `w` × `h` (Lanczos3).
fn resize(picture: &DynamicImage, crop: Option<(u32, u32, u32, u32)>, w: u32, h: u32) -> Result<DynamicImage, StoreError> {
    // The resizer takes 8-bit grey, RGB and RGBA; other layouts become RGB or RGBA first.
    let picture: std::borrow::Cow<'_, DynamicImage> = match picture {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => std::borrow::Cow::Borrowed(picture),
        p if p.color().has_alpha() => std::borrow::Cow::Owned(DynamicImage::ImageRgba8(p.to_rgba8())),
        p => std::borrow::Cow::Owned(DynamicImage::ImageRgb8(p.to_rgb8())),
    };
    let pixel_type = picture.pixel_type().ok_or_else(|| StoreError::Undecodable("an unsupported pixel layout".into()))?;
    let mut dst = Image::new(w, h, pixel_type);
    let options = match crop {
        Some((x, y, cw, ch)) => ResizeOptions::new().crop(f64::from(x), f64::from(y), f64::from(cw), f64::from(ch)),
        None => ResizeOptions::new(),
    };
    Resizer::new().resize(picture.as_ref(), &mut dst, &options).map_err(|e| StoreError::Undecodable(e.to_string()))?;
    let buffer = dst.into_vec();
    let image = match picture.as_ref() {
        DynamicImage::ImageLuma8(_) => image::GrayImage::from_raw(w, h, buffer).map(DynamicImage::ImageLuma8),
        DynamicImage::ImageRgba8(_) => image::RgbaImage::from_raw(w, h, buffer).map(DynamicImage::ImageRgba8),
        _ => image::RgbImage::from_raw(w, h, buffer).map(DynamicImage::ImageRgb8),
    };
    image.ok_or_else(|| StoreError::Undecodable("a resized copy came out the wrong size".into()))
}

/// A copy in the picture's own format.
fn encode(picture: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    let encoded = match format {
        ImageFormat::Jpeg => {
            // jpeg-encoder (SIMD) takes grey, RGB and RGBA (its alpha ignored: JPEG holds none).
            let (color, pixels): (jpeg_encoder::ColorType, std::borrow::Cow<'_, [u8]>) = match picture {
                DynamicImage::ImageLuma8(g) => (jpeg_encoder::ColorType::Luma, std::borrow::Cow::Borrowed(g.as_raw().as_slice())),
                DynamicImage::ImageRgb8(c) => (jpeg_encoder::ColorType::Rgb, std::borrow::Cow::Borrowed(c.as_raw().as_slice())),
                DynamicImage::ImageRgba8(c) => (jpeg_encoder::ColorType::Rgba, std::borrow::Cow::Borrowed(c.as_raw().as_slice())),
                other => (jpeg_encoder::ColorType::Rgb, std::borrow::Cow::Owned(other.to_rgb8().into_raw())),
            };
            let (Ok(w), Ok(h)) = (u16::try_from(picture.width()), u16::try_from(picture.height())) else {
                return Err(StoreError::Undecodable(format!("{}x{} is larger than a JPEG may be", picture.width(), picture.height())));
            };
            jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY).encode(&pixels, w, h, color).map_err(|e| StoreError::Undecodable(format!("encoding a copy: {e}")))?;
            return Ok(out);
        }
        _ => image::codecs::png::PngEncoder::new(&mut out).write_image(picture.as_bytes(), picture.width(), picture.height(), picture.color().into()),
    };
    encoded.map_err(|e| StoreError::Undecodable(format!("encoding a copy: {e}")))?;
    Ok(out)
}

/// The folder's permissions and owner, for the files made in it.
#[derive(Debug, Clone, Copy)]
struct Permissions {
    mode: u32,
    owner: Option<(u32, u32)>,
}

impl Permissions {
    fn of(folder: &Path) -> Permissions {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(folder) {
            Ok(m) => Permissions { mode: m.mode() & 0o666, owner: Some((m.uid(), m.gid())) },
            Err(_) => Permissions { mode: 0o644, owner: None },
        }
    }

    fn apply(&self, path: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(self.mode))?;
        // Only root may give a file away; anyone else's files are its own, as they would be.
        if let Some((uid, gid)) = self.owner.filter(|_| is_root()) {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
        }
        Ok(())
    }
}

/// Makes every file written under `uploads` durable — one `syncfs()` of its filesystem, the
/// files and their folder entries — before the rows that name them commit (one call a chunk
/// instead of an fsync for each of a picture's ten files).
pub fn sync_uploads(uploads: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let dir = std::fs::File::open(uploads)?;
    // SAFETY: the descriptor is open for the call's length.
    match unsafe { libc::syncfs(dir.as_raw_fd()) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The files made so far, removed again when the picture cannot be stored whole.
struct Made {
    files: Vec<PathBuf>,
    permissions: Permissions,
}

impl Made {
    fn write(&mut self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let failed = |error: std::io::Error| StoreError::Write { path: path.display().to_string(), error };
        // A name taken meanwhile (another process) is not overwritten.
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(failed)?;
        self.files.push(path.to_path_buf());
        // Not synced one by one: [`sync_uploads`] makes a chunk's files durable at once.
        f.write_all(bytes).map_err(failed)?;
        self.permissions.apply(path).map_err(failed)
    }

    fn remove(&self) {
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// `wp_mkdir_p()`: the folders from `uploads` down to `folder`, each with its parent's permissions.
fn make_folder(uploads: &Path, folder: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let failed = |path: &Path, error: std::io::Error| StoreError::Write { path: path.display().to_string(), error };
    let mut missing = Vec::new();
    let mut at = folder;
    while !at.is_dir() {
        missing.push(at.to_path_buf());
        match at.parent() {
            Some(p) if at != uploads => at = p,
            _ => break,
        }
    }
    let parent = std::fs::metadata(at).map_err(|e| failed(at, e))?;
    for dir in missing.into_iter().rev() {
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(failed(&dir, e)),
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(parent.mode() & 0o7777)).map_err(|e| failed(&dir, e))?;
        if is_root() {
            std::os::unix::fs::chown(&dir, Some(parent.uid()), Some(parent.gid())).map_err(|e| failed(&dir, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
        encode(&DynamicImage::ImageRgb8(img), ImageFormat::Jpeg).unwrap()
    }

    fn dimensions(path: &Path) -> (u32, u32) {
        image::image_dimensions(path).unwrap()
    }

    #[test]
    fn a_picture_is_stored_as_wordpress_stores_an_upload() {
        let uploads = tempfile::tempdir().unwrap();
        let sizes = crate::woo::media::registered_sizes(&HashMap::new());
        let bytes = jpeg(1200, 900);
        let s = store(&bytes, "body front.JPG", &Folder::new(uploads.path(), "2026/12"), &sizes).unwrap();
        assert_eq!((s.file.as_str(), s.width, s.height, s.mime, s.filesize), ("2026/12/body-front.JPG", 1200, 900, "image/jpeg", bytes.len() as u64));
        let folder = uploads.path().join("2026/12");
        assert_eq!(std::fs::read(folder.join("body-front.JPG")).unwrap(), bytes, "the upload itself is kept as given");
        let mut names: Vec<String> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(
            names,
            ["body-front-100x100.JPG", "body-front-1024x768.JPG", "body-front-150x150.JPG", "body-front-300x225.JPG", "body-front-300x300.JPG", "body-front-600x450.JPG", "body-front-768x576.JPG", "body-front.JPG"]
        );
        for (copy, filesize) in &s.copies {
            let path = folder.join(&copy.file);
            assert_eq!(dimensions(&path), (copy.resize.width, copy.resize.height), "{}", copy.file);
            assert_eq!(std::fs::metadata(&path).unwrap().len(), *filesize);
        }
        assert_eq!(s.hash, content_hash(&bytes));
        assert!(s.metadata().starts_with(r#"a:6:{s:5:"width";i:1200;s:6:"height";i:900;s:4:"file";s:22:"2026/12/body-front.JPG";"#), "{}", s.metadata());
        // The same name again is made unique, copies and all; a wrong extension is corrected.
        let again = store(&bytes, "body-front.png", &Folder::new(uploads.path(), "2026/12"), &sizes).unwrap();
        assert_eq!(again.file, "2026/12/body-front-1.jpg");
        let third = store(&bytes, "body-front.jpg", &Folder::new(uploads.path(), "2026/12"), &sizes).unwrap();
        assert_eq!(third.file, "2026/12/body-front-2.jpg");
        assert!(folder.join("body-front-2-150x150.jpg").exists());
    }

    #[test]
    fn a_big_jpeg_is_scaled_and_a_png_is_not() {
        let uploads = tempfile::tempdir().unwrap();
        let sizes = crate::woo::media::registered_sizes(&HashMap::new());
        // (A thin picture: big enough to be scaled, small enough for an unoptimised test build.)
        let s = store(&jpeg(2700, 90), "big.jpg", &Folder::new(uploads.path(), "2026/12"), &sizes).unwrap();
        assert_eq!((s.file.as_str(), s.width, s.height, s.original_image.as_deref()), ("2026/12/big-scaled.jpg", 2560, 85, Some("big.jpg")));
        assert_eq!(dimensions(&uploads.path().join("2026/12/big-scaled.jpg")), (2560, 85));
        assert_eq!(dimensions(&uploads.path().join("2026/12/big.jpg")), (2700, 90));
        assert!(s.copies.iter().any(|(c, _)| c.file == "big-2048x68.jpg"), "copies are made from the original and named after it");
        assert_eq!(dimensions(&uploads.path().join("2026/12/big-2048x68.jpg")), (2048, 68));
        let meta = s.metadata();
        assert!(meta.starts_with("a:7:{") && meta.ends_with(r#"s:14:"original_image";s:7:"big.jpg";}"#), "{meta}");
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png).write_image(&vec![200u8; 2600 * 10 * 4], 2600, 10, image::ExtendedColorType::Rgba8).unwrap();
        let p = store(&png, "wide", &Folder::new(uploads.path(), "2026/12"), &sizes).unwrap();
        assert_eq!((p.file.as_str(), p.width, p.mime, p.original_image), ("2026/12/wide.png", 2600, "image/png", None));
    }

    /// A JPEG with an EXIF orientation (APP1 after the start marker): 6 is "turn 90° clockwise".
    fn with_orientation(jpeg: &[u8], orientation: u8) -> Vec<u8> {
        let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0".to_vec();
        exif.extend_from_slice(&[orientation, 0, 0, 0, 0, 0, 0]);
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&exif);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn a_jpeg_taken_turned_is_stored_upright() {
        let uploads = tempfile::tempdir().unwrap();
        let sizes = crate::woo::media::registered_sizes(&HashMap::new());
        // 300x200, its left 60 columns red: turned 90° clockwise they are its top 60 rows.
        let img = image::RgbImage::from_fn(300, 200, |x, _| if x < 60 { image::Rgb([250, 0, 0]) } else { image::Rgb([0, 0, 250]) });
        let bytes = with_orientation(&encode(&DynamicImage::ImageRgb8(img), ImageFormat::Jpeg).unwrap(), 6);
        let s = store(&bytes, "turn.jpg", &Folder::new(uploads.path(), "2026/12"), &sizes).unwrap();
        assert_eq!((s.file.as_str(), s.width, s.height, s.original_image.as_deref(), s.turned), ("2026/12/turn-rotated.jpg", 200, 300, Some("turn.jpg"), true));
        let folder = uploads.path().join("2026/12");
        assert_eq!(std::fs::read(folder.join("turn.jpg")).unwrap(), bytes, "the upload itself is kept as given");
        let upright = image::open(folder.join("turn-rotated.jpg")).unwrap().to_rgb8();
        assert_eq!(upright.dimensions(), (200, 300));
        assert!(upright.get_pixel(100, 20)[0] > 200 && upright.get_pixel(100, 280)[2] > 200, "turned clockwise");
        let thumb = image::open(folder.join("turn-150x150.jpg")).unwrap().to_rgb8();
        assert!(thumb.get_pixel(75, 5)[0] > 200 && thumb.get_pixel(75, 145)[2] > 200, "copies are upright too");
        let meta = s.metadata();
        assert!(meta.contains(r#"s:11:"orientation";i:1;"#) && meta.ends_with(r#"s:14:"original_image";s:8:"turn.jpg";}"#), "{meta}");
        // Orientation 1 is upright already: nothing turned.
        let plain = store(&with_orientation(&jpeg(300, 200), 1), "plain.jpg", &Folder::new(uploads.path(), "2026/12"), &sizes).unwrap();
        assert_eq!((plain.file.as_str(), plain.turned), ("2026/12/plain.jpg", false));
    }

    #[test]
    fn one_folder_is_read_once_and_a_name_taken_meanwhile_is_passed_over() {
        let uploads = tempfile::tempdir().unwrap();
        let sizes = crate::woo::media::registered_sizes(&HashMap::new());
        let folder = Folder::new(uploads.path(), "2026/12");
        assert_eq!(store(&jpeg(200, 200), "cup.jpg", &folder, &sizes).unwrap().file, "2026/12/cup.jpg");
        assert_eq!(store(&jpeg(200, 200), "cup.jpg", &folder, &sizes).unwrap().file, "2026/12/cup-1.jpg");
        // Someone uploads cup-2.jpg behind the run's back: the run's next cup takes cup-3.
        std::fs::write(uploads.path().join("2026/12/cup-2.jpg"), b"theirs").unwrap();
        assert_eq!(store(&jpeg(200, 200), "cup.jpg", &folder, &sizes).unwrap().file, "2026/12/cup-3.jpg");
        assert_eq!(std::fs::read(uploads.path().join("2026/12/cup-2.jpg")).unwrap(), b"theirs");
    }

    #[test]
    fn what_is_not_a_picture_is_refused_and_leaves_no_file() {
        let uploads = tempfile::tempdir().unwrap();
        let sizes = crate::woo::media::registered_sizes(&HashMap::new());
        let e = store(b"<html><body>Not found</body></html>", "x.jpg", &Folder::new(uploads.path(), "2026/12"), &sizes).unwrap_err();
        assert!(e.to_string().contains("not a JPEG or PNG"), "{e}");
        let mut cut = jpeg(400, 300);
        cut.truncate(200);
        let e = store(&cut, "cut.jpg", &Folder::new(uploads.path(), "2026/12"), &sizes).unwrap_err();
        assert!(matches!(e, StoreError::Undecodable(_)), "{e}");
        let left: Vec<_> = std::fs::read_dir(uploads.path().join("2026/12")).map(|d| d.flatten().collect()).unwrap_or_default();
        assert!(left.is_empty(), "{left:?}");
    }
}
