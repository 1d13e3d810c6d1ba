//! A picture's file name as WordPress 6.8 gives it on upload: `sanitize_file_name()` (accents off
//! Latin letters, the characters filenames must not hold removed, runs of whitespace and
//! hyphens made one hyphen, dots, hyphens and underscores trimmed off the ends; Cyrillic letters
//! and the case kept: `Боди сзади.jpg` → `Боди-сзади.jpg`), then `wp_unique_filename()` in its
//! folder (`name-1.jpg`, `name-2.jpg`, … while the name, or a sized copy of it, is taken).

use std::collections::HashSet;

/// What `sanitize_file_name()` removes.
const SPECIAL: &[char] = &[
    '?', '[', ']', '/', '\\', '=', '<', '>', ':', ';', ',', '\'', '"', '&', '$', '#', '*', '(', ')', '|', '~', '`', '!', '{', '}', '%', '+',
    '’', '«', '»', '”', '“', '\0',
];

/// Extensions WordPress allows for uploads (`get_allowed_mime_types()`) that a middle part of a
/// name may look like: such a part is kept as it is; another 2–5-letter part gets a `_` (so
/// `shell.php.jpg` is not served as PHP).
const ALLOWED: &[&str] = &[
    "jpg", "jpeg", "jpe", "gif", "png", "bmp", "tiff", "tif", "webp", "avif", "ico", "heic", "heif", "asf", "asx", "wmv", "wmx", "wm",
    "avi", "divx", "flv", "mov", "qt", "mpeg", "mpg", "mpe", "mp4", "m4v", "ogv", "webm", "mkv", "3gp", "3gpp", "3g2", "3gp2", "txt",
    "asc", "c", "cc", "h", "srt", "csv", "tsv", "ics", "rtx", "css", "vtt", "dfxp", "mp3", "m4a", "m4b", "aac", "ra", "ram", "wav",
    "ogg", "oga", "flac", "mid", "midi", "wma", "wax", "mka", "rtf", "pdf", "class", "tar", "zip", "gz", "gzip", "rar", "7z", "psd",
    "xcf", "doc", "pot", "pps", "ppt", "wri", "xla", "xls", "xlt", "xlw", "mdb", "mpp", "docx", "docm", "dotx", "dotm", "xlsx", "xlsm",
    "xlsb", "xltx", "xltm", "xlam", "pptx", "pptm", "ppsx", "ppsm", "potx", "potm", "ppam", "sldx", "sldm", "onetoc", "onetoc2",
    "onetmp", "onepkg", "oxps", "xps", "odt", "odp", "ods", "odg", "odc", "odb", "odf", "wp", "wpd", "key", "numbers", "pages",
];

/// `sanitize_file_name()`.
pub fn sanitize_file_name(name: &str) -> String {
    let name = crate::woo::slug::remove_accents(name);
    let name = name.replace('\u{a0}', " ");
    let name: String = name.chars().filter(|c| !SPECIAL.contains(c)).collect();
    // Runs of dots are one dot; runs of whitespace and hyphens one hyphen.
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                while chars.next_if_eq(&'.').is_some() {}
                out.push('.');
            }
            '\r' | '\n' | '\t' | ' ' | '-' => {
                while chars.next_if(|c| matches!(c, '\r' | '\n' | '\t' | ' ' | '-')).is_some() {}
                out.push('-');
            }
            c => out.push(c),
        }
    }
    let name = out.trim_matches(['.', '-', '_']).to_string();
    if !name.contains('.') {
        // A bare extension is a name of its own.
        return match ALLOWED.contains(&name.to_ascii_lowercase().as_str()) {
            true => format!("unnamed-file.{name}"),
            false => name,
        };
    }
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() <= 2 {
        return name;
    }
    let mut out = parts[0].to_string();
    for part in &parts[1..parts.len() - 1] {
        out.push('.');
        out.push_str(part);
        let looks_like_extension = {
            let letters = part.trim_end_matches(|c: char| c.is_ascii_digit());
            let digits = part.len() - letters.len();
            (2..=5).contains(&letters.len()) && letters.chars().all(|c| c.is_ascii_alphabetic()) && digits <= 1
        };
        if looks_like_extension && !ALLOWED.contains(&part.to_ascii_lowercase().as_str()) {
            out.push('_');
        }
    }
    out.push('.');
    out.push_str(parts[parts.len() - 1]);
    out
}

/// The name and the extension (with its dot) of a file name.
pub fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot) if dot > 0 => (&name[..dot], &name[dot..]),
        _ => (name, ""),
    }
}

/// The names a folder's files take, for [`TakenNames::unique`]: each file's own name, and the
/// name of the picture a sized, scaled or rotated copy belongs to (`cup-150x150.jpg`,
/// `cup-scaled.jpg` and `cup-rotated.jpg` take `cup.jpg`: its copies would overwrite them) —
/// without letter case, so that a folder copied to a case-insensitive disk keeps every file
/// (WordPress compares the exact name case-sensitively on Linux). Kept in memory for a run, so
/// that naming a picture does not read a folder of 100,000 files again.
#[derive(Debug, Default, Clone)]
pub struct TakenNames(HashSet<String>);

impl TakenNames {
    pub fn of<'a>(existing: impl IntoIterator<Item = &'a str>) -> TakenNames {
        let mut taken = TakenNames::default();
        for f in existing {
            taken.insert(f);
        }
        taken
    }

    /// A file made (or about to be) in the folder.
    pub fn insert(&mut self, file: &str) {
        let lower = file.to_lowercase();
        let (stem, ext) = split_extension(&lower);
        if let Some((base, rest)) = stem.rsplit_once('-') {
            let sized = rest.split_once('x').is_some_and(|(w, h)| !w.is_empty() && !h.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) && h.bytes().all(|b| b.is_ascii_digit()));
            if rest == "scaled" || rest == "rotated" || sized {
                self.0.insert(format!("{base}{ext}"));
            }
        }
        self.0.insert(lower);
    }

    /// `wp_unique_filename()`: the name, or `name-N.ext` with the first N from 1 that is free.
    pub fn unique(&self, name: &str) -> String {
        let (stem, ext) = split_extension(name);
        let taken = |candidate_stem: &str| self.0.contains(&format!("{candidate_stem}{ext}").to_lowercase());
        if !taken(stem) {
            return name.to_string();
        }
        (1u64..).map(|n| format!("{stem}-{n}")).find(|s| !taken(s)).map(|s| format!("{s}{ext}")).expect("some number is free")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_wordpress_sanitizes_them() {
        // Observed (i2): Cyrillic and case kept, the space a hyphen.
        assert_eq!(sanitize_file_name("Боди сзади.jpg"), "Боди-сзади.jpg");
        assert_eq!(sanitize_file_name("body-detail.jpg"), "body-detail.jpg");
        assert_eq!(sanitize_file_name("  Crème   brûlée (2)!.JPG "), "Creme-brulee-2.JPG");
        assert_eq!(sanitize_file_name("a -- b\t\nc.png"), "a-b-c.png");
        assert_eq!(sanitize_file_name("..photo...jpg.."), "photo.jpg");
        assert_eq!(sanitize_file_name("«Кружка» №5 100%.jpeg"), "Кружка-№5-100.jpeg");
        assert_eq!(sanitize_file_name("jpg"), "unnamed-file.jpg");
        assert_eq!(sanitize_file_name("shell.php.jpg"), "shell.php_.jpg");
        assert_eq!(sanitize_file_name("photo.v2.final.jpg"), "photo.v2.final_.jpg");
        assert_eq!(sanitize_file_name("archive.tar.gz"), "archive.tar.gz");
        assert_eq!(sanitize_file_name("2024.05.01.jpg"), "2024.05.01.jpg");
    }

    /// `wp_unique_filename()` of `name` in a folder holding `existing`.
    fn unique_file_name(name: &str, existing: &[String]) -> String {
        TakenNames::of(existing.iter().map(String::as_str)).unique(name)
    }

    #[test]
    fn names_are_made_unique_in_their_folder() {
        let files = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(unique_file_name("cup.jpg", &[]), "cup.jpg");
        assert_eq!(unique_file_name("cup.jpg", &files(&["Cup.JPG"])), "cup-1.jpg");
        assert_eq!(unique_file_name("cup.jpg", &files(&["cup.jpg", "cup-1.jpg", "cup-1-150x150.jpg"])), "cup-2.jpg");
        // A sized or scaled copy of an earlier picture takes its name too.
        assert_eq!(unique_file_name("cup.jpg", &files(&["cup-300x200.jpg"])), "cup-1.jpg");
        assert_eq!(unique_file_name("cup.jpg", &files(&["cup-scaled.jpg"])), "cup-1.jpg");
        assert_eq!(unique_file_name("cup.jpg", &files(&["cup-large.jpg", "cup.png"])), "cup.jpg");
    }
}
