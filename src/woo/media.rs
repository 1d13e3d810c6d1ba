//! Pictures as WordPress 6.8 and WooCommerce 9.9 hold them (CATALOGUE.md i, `observed/i1`,
//! `observed/i2`): which sized copies an uploaded image gets, how big each one is, and the
//! `_wp_attachment_metadata` row that lists them. Pure functions, for the image import.
//!
//! - The sizes are WordPress's `thumbnail`, `medium`, `medium_large`, `large` (from their
//!   options), `1536x1536` and `2048x2048` (registered by core), then WooCommerce's
//!   `woocommerce_thumbnail` (its width and cropping options), `woocommerce_single` (its width,
//!   uncropped) and `woocommerce_gallery_thumbnail` (100×100, cropped) — `wc_get_image_size()`.
//!   A size with neither width nor height is not made. They are made, and listed, in the order
//!   `_wp_make_subsizes()` puts them: `medium`, `large`, `thumbnail`, `medium_large`, then the
//!   others as registered.
//! - A copy's dimensions are `image_resize_dimensions()`'s: cropped to fill the box (centred), or
//!   fitted inside it (`wp_constrain_dimensions()`, with its one-pixel round-up); no copy when the
//!   image is smaller than the box in both directions (in the one direction given, for a box open
//!   in the other), or when the copy would be the image's own size within a pixel.
//! - A copy's file is `name-WxH.ext`: sizes of equal dimensions share one file.
//! - Themes may declare other WooCommerce widths in PHP (`add_theme_support('woocommerce', …)`);
//!   the database does not show them, so the options are what counts here.

use std::collections::HashMap;

/// One registered image size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Size {
    pub name: String,
    /// 0 = not constrained.
    pub width: u32,
    pub height: u32,
    pub crop: bool,
}

/// The registered sizes of a shop, from its options (`option_name` → value), in the order
/// WordPress makes them.
pub fn registered_sizes(options: &HashMap<String, String>) -> Vec<Size> {
    let int = |key: &str, default: u32| -> u32 {
        match options.get(key) {
            // `get_option()` of a stored value: PHP's (int) of a numeric string, 0 for the rest.
            Some(v) => leading_int(v),
            None => default,
        }
    };
    let size = |name: &str, width: u32, height: u32, crop: bool| Size { name: name.into(), width, height, crop };
    // `thumbnail_crop` is stored as '1'; an empty or '0' value means a scaled thumbnail.
    let thumbnail_crop = options.get("thumbnail_crop").is_none_or(|v| leading_int(v) != 0);
    let core = [
        size("thumbnail", int("thumbnail_size_w", 150), int("thumbnail_size_h", 150), thumbnail_crop),
        size("medium", int("medium_size_w", 300), int("medium_size_h", 300), false),
        size("medium_large", int("medium_large_size_w", 768), int("medium_large_size_h", 0), false),
        size("large", int("large_size_w", 1024), int("large_size_h", 1024), false),
        size("1536x1536", 1536, 1536, false),
        size("2048x2048", 2048, 2048, false),
    ];
    let thumb_width = int("woocommerce_thumbnail_image_width", 300);
    let (thumb_height, thumb_crop) = match options.get("woocommerce_thumbnail_cropping").map(String::as_str).unwrap_or("1:1") {
        "uncropped" => (0, false),
        "custom" => {
            let w = leading_float(options.get("woocommerce_thumbnail_cropping_custom_width").map(String::as_str).unwrap_or("4")).max(1.0);
            let h = leading_float(options.get("woocommerce_thumbnail_cropping_custom_height").map(String::as_str).unwrap_or("3")).max(1.0);
            (php_round(f64::from(thumb_width) / w * h), true)
        }
        ratio => {
            let mut parts = ratio.split(':');
            let w = leading_float(parts.next().unwrap_or("")).max(1.0);
            let h = leading_float(ratio.rsplit(':').next().unwrap_or("")).max(1.0);
            (php_round(f64::from(thumb_width) / w * h), true)
        }
    };
    let woo = [
        size("woocommerce_thumbnail", thumb_width, thumb_height, thumb_crop),
        size("woocommerce_single", int("woocommerce_single_image_width", 600), 0, false),
        size("woocommerce_gallery_thumbnail", 100, 100, true),
    ];
    let all: Vec<Size> = core.into_iter().chain(woo).filter(|s| s.width > 0 || s.height > 0).collect();
    // `_wp_make_subsizes()`: these four first, in this order, then the rest as registered.
    let first = ["medium", "large", "thumbnail", "medium_large"];
    let mut ordered: Vec<Size> = first.iter().filter_map(|n| all.iter().find(|s| s.name == *n).cloned()).collect();
    ordered.extend(all.into_iter().filter(|s| !first.contains(&s.name.as_str())));
    ordered
}

/// PHP's `(int)` of a string: its leading digits (after blanks and a sign), 0 without any.
fn leading_int(v: &str) -> u32 {
    let v = v.trim_start();
    let digits: String = v.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse::<u64>().map(|n| n.min(u64::from(u32::MAX)) as u32).unwrap_or(0)
}

/// PHP's `(float)` of a string, as far as size options go (digits with one dot).
fn leading_float(v: &str) -> f64 {
    let v = v.trim_start();
    let end = v.char_indices().find(|(i, c)| !(c.is_ascii_digit() || (*c == '.' && !v[..*i].contains('.')))).map(|(i, _)| i).unwrap_or(v.len());
    v[..end].parse().unwrap_or(0.0)
}

/// PHP's `round()` (half away from zero) to a whole number, as `absint()` keeps it.
fn php_round(v: f64) -> u32 {
    v.round().abs().min(f64::from(u32::MAX)) as u32
}

/// A sized copy: the part of the image it shows (`src_*`) and its own dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resize {
    pub src_x: u32,
    pub src_y: u32,
    pub src_w: u32,
    pub src_h: u32,
    pub width: u32,
    pub height: u32,
}

/// `wp_constrain_dimensions()`: the size of `(w, h)` fitted inside `(max_w, max_h)` (0 = open).
pub fn constrain(w: u32, h: u32, max_w: u32, max_h: u32) -> (u32, u32) {
    if max_w == 0 && max_h == 0 {
        return (w, h);
    }
    let (mut width_ratio, mut height_ratio) = (1.0f64, 1.0f64);
    let (mut did_width, mut did_height) = (false, false);
    if max_w > 0 && w > 0 && w > max_w {
        width_ratio = f64::from(max_w) / f64::from(w);
        did_width = true;
    }
    if max_h > 0 && h > 0 && h > max_h {
        height_ratio = f64::from(max_h) / f64::from(h);
        did_height = true;
    }
    let smaller = width_ratio.min(height_ratio);
    let larger = width_ratio.max(height_ratio);
    // WordPress compares against the box even where it is open (0): the larger ratio then
    // always overflows and the smaller one is taken.
    let ratio = match (f64::from(w) * larger).round() > f64::from(max_w) || (f64::from(h) * larger).round() > f64::from(max_h) {
        true => smaller,
        false => larger,
    };
    let mut nw = ((f64::from(w) * ratio).round() as u32).max(1);
    let mut nh = ((f64::from(h) * ratio).round() as u32).max(1);
    // One pixel short of the box is rounded up.
    if did_width && nw + 1 == max_w {
        nw = max_w;
    }
    if did_height && nh + 1 == max_h {
        nh = max_h;
    }
    (nw, nh)
}

/// `image_resize_dimensions()` with a centred crop: the copy a size gets, or `None` when the
/// image gets none at that size.
pub fn resize_dimensions(orig_w: u32, orig_h: u32, dest_w: u32, dest_h: u32, crop: bool) -> Option<Resize> {
    if orig_w == 0 || orig_h == 0 || (dest_w == 0 && dest_h == 0) {
        return None;
    }
    // The image is smaller than the box.
    let smaller = match (dest_w, dest_h) {
        (_, 0) => orig_w < dest_w,
        (0, _) => orig_h < dest_h,
        _ => orig_w < dest_w && orig_h < dest_h,
    };
    if smaller {
        return None;
    }
    let (ow, oh) = (f64::from(orig_w), f64::from(orig_h));
    let r = match crop {
        true => {
            let aspect = ow / oh;
            let mut new_w = dest_w.min(orig_w);
            let mut new_h = dest_h.min(orig_h);
            if new_w == 0 {
                new_w = (f64::from(new_h) * aspect).round() as u32;
            }
            if new_h == 0 {
                new_h = (f64::from(new_w) / aspect).round() as u32;
            }
            let size_ratio = (f64::from(new_w) / ow).max(f64::from(new_h) / oh);
            let crop_w = (f64::from(new_w) / size_ratio).round() as u32;
            let crop_h = (f64::from(new_h) / size_ratio).round() as u32;
            Resize {
                src_x: orig_w.saturating_sub(crop_w) / 2,
                src_y: orig_h.saturating_sub(crop_h) / 2,
                src_w: crop_w,
                src_h: crop_h,
                width: new_w,
                height: new_h,
            }
        }
        false => {
            let (width, height) = constrain(orig_w, orig_h, dest_w, dest_h);
            Resize { src_x: 0, src_y: 0, src_w: orig_w, src_h: orig_h, width, height }
        }
    };
    // The copy would be the image itself, within a pixel (`wp_fuzzy_number_match()`).
    if r.width.abs_diff(orig_w) <= 1 && r.height.abs_diff(orig_h) <= 1 {
        return None;
    }
    Some(r)
}

/// A sized copy to make: its size's name, the copy, and its file name (`name-WxH.ext`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub size: String,
    pub resize: Resize,
    pub file: String,
    /// `woocommerce_thumbnail`'s entry says whether it is uncropped.
    pub uncropped: Option<bool>,
}

/// The copies an image of `width` × `height` stored as `file` (its name in its folder) gets, in
/// WordPress's order; copies of equal dimensions name the same file.
pub fn copies(file: &str, width: u32, height: u32, sizes: &[Size]) -> Vec<Copy> {
    let (stem, ext) = match file.rfind('.') {
        Some(dot) if dot > 0 => (&file[..dot], &file[dot..]),
        _ => (file, ""),
    };
    sizes
        .iter()
        .filter_map(|s| {
            let resize = resize_dimensions(width, height, s.width, s.height, s.crop)?;
            Some(Copy {
                size: s.name.clone(),
                file: format!("{stem}-{}x{}{ext}", resize.width, resize.height),
                resize,
                uncropped: (s.name == "woocommerce_thumbnail").then_some(s.height == 0),
            })
        })
        .collect()
}

/// `_wp_attachment_metadata` of an image, as WordPress serializes it: its EXIF/IPTC fields
/// empty (`wp_read_image_metadata()` of an image without them) except, for one turned upright
/// by its EXIF orientation (`turned`), the orientation WordPress then sets to the integer 1.
/// `sizes`: each copy with its file's size in bytes.
pub fn attachment_metadata(width: u32, height: u32, file: &str, filesize: u64, mime: &str, sizes: &[(Copy, u64)], turned: bool) -> String {
    use serde::ser::{SerializeMap, Serializer};
    use serde::Serialize;

    #[derive(Serialize)]
    struct Meta<'a> {
        width: u32,
        height: u32,
        file: &'a str,
        filesize: u64,
        sizes: Sizes<'a>,
        image_meta: ImageMeta,
    }
    struct Sizes<'a>(&'a [(Copy, u64)], &'a str);
    impl Serialize for Sizes<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (copy, bytes) in self.0 {
                map.serialize_entry(
                    &copy.size,
                    &Entry { file: &copy.file, width: copy.resize.width, height: copy.resize.height, mime_type: self.1, filesize: *bytes, uncropped: copy.uncropped },
                )?;
            }
            map.end()
        }
    }
    #[derive(Serialize)]
    struct Entry<'a> {
        file: &'a str,
        width: u32,
        height: u32,
        #[serde(rename = "mime-type")]
        mime_type: &'a str,
        filesize: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        uncropped: Option<bool>,
    }
    /// `wp_read_image_metadata()` of an image without EXIF or IPTC data.
    #[derive(Serialize, Default)]
    struct ImageMeta {
        aperture: &'static str,
        credit: &'static str,
        camera: &'static str,
        caption: &'static str,
        created_timestamp: &'static str,
        copyright: &'static str,
        focal_length: &'static str,
        iso: &'static str,
        shutter_speed: &'static str,
        title: &'static str,
        orientation: Orientation,
        keywords: [u8; 0],
    }
    /// `"0"` as read, or `1` as `wp_create_image_subsizes()` sets it after turning the image.
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Orientation {
        Read(&'static str),
        Upright(u8),
    }
    impl Default for Orientation {
        fn default() -> Orientation {
            Orientation::Read("0")
        }
    }
    let orientation = if turned { Orientation::Upright(1) } else { Orientation::Read("0") };
    let zero = ImageMeta { aperture: "0", created_timestamp: "0", focal_length: "0", iso: "0", shutter_speed: "0", orientation, ..ImageMeta::default() };
    let meta = Meta { width, height, file, filesize, sizes: Sizes(sizes, mime), image_meta: zero };
    let bytes = php_serde::to_vec(&meta).expect("attachment metadata serializes");
    String::from_utf8(bytes).expect("serialized from UTF-8 text")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stock() -> Vec<Size> {
        registered_sizes(&HashMap::new())
    }

    /// (name, file, width, height) of each copy.
    fn made(file: &str, w: u32, h: u32) -> Vec<(String, String, u32, u32)> {
        copies(file, w, h, &stock()).into_iter().map(|c| (c.size, c.file, c.resize.width, c.resize.height)).collect()
    }

    fn row(name: &str, file: &str, w: u32, h: u32) -> (String, String, u32, u32) {
        (name.into(), file.into(), w, h)
    }

    #[test]
    fn the_stock_sizes_in_the_order_wordpress_makes_them() {
        let names: Vec<String> = stock().into_iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            ["medium", "large", "thumbnail", "medium_large", "1536x1536", "2048x2048", "woocommerce_thumbnail", "woocommerce_single", "woocommerce_gallery_thumbnail"]
        );
    }

    #[test]
    fn copies_as_observed() {
        // i1: 1200x900.
        assert_eq!(
            made("body-front.jpg", 1200, 900),
            [
                row("medium", "body-front-300x225.jpg", 300, 225),
                row("large", "body-front-1024x768.jpg", 1024, 768),
                row("thumbnail", "body-front-150x150.jpg", 150, 150),
                row("medium_large", "body-front-768x576.jpg", 768, 576),
                row("woocommerce_thumbnail", "body-front-300x300.jpg", 300, 300),
                row("woocommerce_single", "body-front-600x450.jpg", 600, 450),
                row("woocommerce_gallery_thumbnail", "body-front-100x100.jpg", 100, 100),
            ]
        );
        // i2: 900x1200 (portrait) and 800x800 (no `large`; medium and the wc thumbnail share a file).
        let portrait: Vec<String> = made("Боди-сзади.jpg", 900, 1200).into_iter().map(|r| r.1).collect();
        assert_eq!(
            portrait,
            ["Боди-сзади-225x300.jpg", "Боди-сзади-768x1024.jpg", "Боди-сзади-150x150.jpg", "Боди-сзади-768x1024.jpg", "Боди-сзади-300x300.jpg", "Боди-сзади-600x800.jpg", "Боди-сзади-100x100.jpg"]
        );
        assert_eq!(
            made("body-detail.jpg", 800, 800),
            [
                row("medium", "body-detail-300x300.jpg", 300, 300),
                row("thumbnail", "body-detail-150x150.jpg", 150, 150),
                row("medium_large", "body-detail-768x768.jpg", 768, 768),
                row("woocommerce_thumbnail", "body-detail-300x300.jpg", 300, 300),
                row("woocommerce_single", "body-detail-600x600.jpg", 600, 600),
                row("woocommerce_gallery_thumbnail", "body-detail-100x100.jpg", 100, 100),
            ]
        );
        // 1600x1200 (the bench's pictures) also gets `1536x1536`.
        assert!(made("p.jpg", 1600, 1200).contains(&row("1536x1536", "p-1536x1152.jpg", 1536, 1152)));
    }

    #[test]
    fn resize_rules() {
        // Cropped: the centre of the image.
        assert_eq!(resize_dimensions(1200, 900, 300, 300, true), Some(Resize { src_x: 150, src_y: 0, src_w: 900, src_h: 900, width: 300, height: 300 }));
        // An image narrower than a cropped box keeps its width.
        assert_eq!(resize_dimensions(600, 300, 400, 400, true).map(|r| (r.width, r.height)), Some((400, 300)));
        // Smaller than the box both ways: no copy; the same size within a pixel: no copy.
        assert_eq!(resize_dimensions(100, 80, 150, 150, true), None);
        assert_eq!(resize_dimensions(1025, 700, 1024, 1024, false), None);
        // A box open in height: only the width counts.
        assert_eq!(resize_dimensions(700, 5000, 768, 0, false), None);
        assert_eq!(resize_dimensions(800, 5000, 768, 0, false).map(|r| (r.width, r.height)), Some((768, 4800)));
        // `wp_constrain_dimensions()`'s example: 465x700 in 177x177 is 118x177, not 117x176.
        assert_eq!(constrain(465, 700, 177, 177), (118, 177));
        assert_eq!(constrain(10, 3000, 300, 300), (1, 300));
    }

    #[test]
    fn sizes_follow_the_options() {
        let options: HashMap<String, String> = [
            ("thumbnail_size_w", "200"),
            ("thumbnail_size_h", "200"),
            ("thumbnail_crop", ""),
            ("large_size_w", "0"),
            ("large_size_h", "0"),
            ("woocommerce_thumbnail_image_width", "400"),
            ("woocommerce_thumbnail_cropping", "custom"),
            ("woocommerce_thumbnail_cropping_custom_width", "4"),
            ("woocommerce_thumbnail_cropping_custom_height", "3"),
            ("woocommerce_single_image_width", "800"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let sizes = registered_sizes(&options);
        let find = |n: &str| sizes.iter().find(|s| s.name == n).cloned();
        assert_eq!(find("thumbnail"), Some(Size { name: "thumbnail".into(), width: 200, height: 200, crop: false }));
        assert_eq!(find("large"), None, "a size of 0x0 is not made");
        assert_eq!(find("woocommerce_thumbnail"), Some(Size { name: "woocommerce_thumbnail".into(), width: 400, height: 300, crop: true }));
        assert_eq!(find("woocommerce_single").map(|s| (s.width, s.height, s.crop)), Some((800, 0, false)));
        let uncropped: HashMap<String, String> = [("woocommerce_thumbnail_cropping".to_string(), "uncropped".to_string())].into();
        let thumb = registered_sizes(&uncropped).into_iter().find(|s| s.name == "woocommerce_thumbnail").unwrap();
        assert_eq!((thumb.height, thumb.crop), (0, false));
        let copy = copies("a.jpg", 1200, 900, &registered_sizes(&uncropped)).into_iter().find(|c| c.size == "woocommerce_thumbnail").unwrap();
        assert_eq!((copy.file.as_str(), copy.uncropped), ("a-300x225.jpg", Some(true)));
        let ratio: HashMap<String, String> = [("woocommerce_thumbnail_cropping".to_string(), "3:4".to_string())].into();
        assert_eq!(registered_sizes(&ratio).into_iter().find(|s| s.name == "woocommerce_thumbnail").map(|s| s.height), Some(400));
    }

    #[test]
    fn the_metadata_row_is_what_wordpress_wrote() {
        // i1's row, byte for byte (its file sizes are GD's; the import records its own).
        let bytes = [4753, 25896, 2419, 16850, 5305, 12020, 1741];
        let sizes: Vec<(Copy, u64)> = copies("body-front.jpg", 1200, 900, &stock()).into_iter().zip(bytes).collect();
        let observed = r#"a:6:{s:5:"width";i:1200;s:6:"height";i:900;s:4:"file";s:22:"2026/12/body-front.jpg";s:8:"filesize";i:65845;s:5:"sizes";a:7:{s:6:"medium";a:5:{s:4:"file";s:22:"body-front-300x225.jpg";s:5:"width";i:300;s:6:"height";i:225;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:4753;}s:5:"large";a:5:{s:4:"file";s:23:"body-front-1024x768.jpg";s:5:"width";i:1024;s:6:"height";i:768;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:25896;}s:9:"thumbnail";a:5:{s:4:"file";s:22:"body-front-150x150.jpg";s:5:"width";i:150;s:6:"height";i:150;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:2419;}s:12:"medium_large";a:5:{s:4:"file";s:22:"body-front-768x576.jpg";s:5:"width";i:768;s:6:"height";i:576;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:16850;}s:21:"woocommerce_thumbnail";a:6:{s:4:"file";s:22:"body-front-300x300.jpg";s:5:"width";i:300;s:6:"height";i:300;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:5305;s:9:"uncropped";b:0;}s:18:"woocommerce_single";a:5:{s:4:"file";s:22:"body-front-600x450.jpg";s:5:"width";i:600;s:6:"height";i:450;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:12020;}s:29:"woocommerce_gallery_thumbnail";a:5:{s:4:"file";s:22:"body-front-100x100.jpg";s:5:"width";i:100;s:6:"height";i:100;s:9:"mime-type";s:10:"image/jpeg";s:8:"filesize";i:1741;}}s:10:"image_meta";a:12:{s:8:"aperture";s:1:"0";s:6:"credit";s:0:"";s:6:"camera";s:0:"";s:7:"caption";s:0:"";s:17:"created_timestamp";s:1:"0";s:9:"copyright";s:0:"";s:12:"focal_length";s:1:"0";s:3:"iso";s:1:"0";s:13:"shutter_speed";s:1:"0";s:5:"title";s:0:"";s:11:"orientation";s:1:"0";s:8:"keywords";a:0:{}}}"#;
        assert_eq!(attachment_metadata(1200, 900, "2026/12/body-front.jpg", 65845, "image/jpeg", &sizes, false), observed);
        // Multibyte names count bytes, as PHP's strings do.
        let one: Vec<(Copy, u64)> = copies("Боди.jpg", 200, 200, &stock()).into_iter().take(1).map(|c| (c, 10)).collect();
        assert!(attachment_metadata(200, 200, "2026/12/Боди.jpg", 99, "image/jpeg", &one, false).contains(r#"s:4:"file";s:20:"2026/12/Боди.jpg""#));
        assert!(attachment_metadata(200, 200, "2026/12/a-rotated.jpg", 99, "image/jpeg", &one, true).contains(r#"s:11:"orientation";i:1;s:8:"keywords";a:0:{}"#));
    }
}
