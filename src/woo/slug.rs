//! WordPress's `sanitize_title()` as used by `wp_insert_post()` for a product's `post_name`
//! (only non-draft products get one): accents removed from Latin letters, lower case,
//! non-ASCII bytes percent-encoded in lower-case hex (at most 200 characters, never splitting
//! an encoded character), a few typographic characters turned into hyphens or dropped,
//! everything else outside `[a-z0-9_-%]` removed, runs of hyphens collapsed.

use unicode_normalization::UnicodeNormalization;

pub fn sanitize_title(title: &str) -> String {
    let stripped = strip_tags(title);
    let unaccented = remove_accents(&stripped);
    // Percent signs that are not part of an octet go.
    let mut text = String::new();
    let chars: Vec<char> = unaccented.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '%' {
            let is_octet = chars.get(i + 1).is_some_and(|c| c.is_ascii_hexdigit())
                && chars.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit());
            if !is_octet {
                continue;
            }
        }
        text.push(c);
    }
    let lowered = text.to_lowercase();
    let mut encoded = String::new();
    for c in lowered.chars() {
        let piece = if c.is_ascii() {
            c.to_string()
        } else {
            let mut buf = [0u8; 4];
            c.encode_utf8(&mut buf).bytes().map(|b| format!("%{b:02x}")).collect()
        };
        if encoded.len() + piece.len() > 200 {
            break;
        }
        encoded.push_str(&piece);
    }
    let mut t = encoded;
    for (from, to) in REPLACE_WITH_HYPHEN.iter().map(|s| (*s, "-")).chain(DROP.iter().map(|s| (*s, ""))) {
        t = t.replace(from, to);
    }
    t = t.replace("%c3%97", "x").replace('/', "-");
    // HTML entities go.
    let mut out = String::new();
    let mut rest = t.as_str();
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        match rest[amp..].find(';') {
            Some(end) if end > 1 => rest = &rest[amp + end + 1..],
            _ => {
                rest = &rest[amp + 1..];
            }
        }
    }
    out.push_str(rest);
    let t = out.replace('.', "-");
    let t: String = t
        .chars()
        // `[^%a-z0-9 _-]` goes first, so a tab or a newline is dropped, not made a hyphen; only
        // the spaces left are (`\s+` → `-`).
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '%' | ' ' | '_' | '-'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect();
    let mut collapsed = String::new();
    for c in t.chars() {
        if c == '-' && collapsed.ends_with('-') {
            continue;
        }
        collapsed.push(c);
    }
    collapsed.trim_matches('-').to_string()
}

const REPLACE_WITH_HYPHEN: &[&str] = &[
    "%c2%a0", "%e2%80%93", "%e2%80%94", "&nbsp;", "&#160;", "&ndash;", "&#8211;", "&mdash;", "&#8212;",
    "%e2%80%80", "%e2%80%81", "%e2%80%82", "%e2%80%83", "%e2%80%84", "%e2%80%85", "%e2%80%86", "%e2%80%87",
    "%e2%80%88", "%e2%80%89", "%e2%80%8a", "%e2%80%a8", "%e2%80%a9", "%e2%80%af",
];

const DROP: &[&str] = &[
    "%c2%ad", "%c2%a1", "%c2%bf", "%c2%ab", "%c2%bb", "%e2%80%b9", "%e2%80%ba", "%e2%80%98", "%e2%80%99",
    "%e2%80%9c", "%e2%80%9d", "%e2%80%9a", "%e2%80%9b", "%e2%80%9e", "%e2%80%9f", "%e2%80%a2", "%c2%a9",
    "%c2%ae", "%c2%b0", "%e2%80%a6", "%e2%84%a2", "%c2%b4", "%cb%8a", "%cc%81", "%cd%81", "%cc%80", "%cc%84",
    "%cc%8c", "%e2%80%8b", "%e2%80%8c", "%e2%80%8d", "%e2%80%8e", "%e2%80%8f", "%e2%80%aa", "%e2%80%ab",
    "%e2%80%ac", "%e2%80%ad", "%e2%80%ae", "%ef%bb%bf",
];

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// WordPress's `remove_accents()` for Latin letters: decomposed, combining marks dropped, and the
/// letters that do not decompose spelled out. Other scripts (Cyrillic, ...) are left as they are.
pub(crate) fn remove_accents(s: &str) -> String {
    if s.is_ascii() {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        let special = match c {
            'ß' => Some("ss"), 'Æ' => Some("AE"), 'æ' => Some("ae"), 'Ø' => Some("O"), 'ø' => Some("o"),
            'Đ' | 'Ð' => Some("D"), 'đ' | 'ð' => Some("d"), 'Ł' => Some("L"), 'ł' => Some("l"),
            'Œ' => Some("OE"), 'œ' => Some("oe"), 'Þ' => Some("TH"), 'þ' => Some("th"), 'ı' => Some("i"),
            _ => None,
        };
        if let Some(r) = special {
            out.push_str(r);
            continue;
        }
        let is_latin = matches!(c as u32, 0x00C0..=0x024F | 0x1E00..=0x1EFF);
        if is_latin {
            out.extend(c.to_string().nfd().filter(|d| !is_combining(*d)));
        } else {
            out.push(c);
        }
    }
    out
}

fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_titles() {
        assert_eq!(sanitize_title("Oracle Widget"), "oracle-widget");
        assert_eq!(sanitize_title("  Hello,   World! 2.0 "), "hello-world-2-0");
        assert_eq!(sanitize_title("<b>Bold</b> tag"), "bold-tag");
        assert_eq!(sanitize_title("Crème brûlée"), "creme-brulee");
        assert_eq!(sanitize_title("A/B 3×4"), "a-b-3x4");
        // WordPress 6.8 drops what is not `[%a-z0-9 _-]` before it turns whitespace into hyphens.
        assert_eq!(sanitize_title("Tea\tpot\nlarge \r\n set"), "teapotlarge-set");
    }

    #[test]
    fn cyrillic_is_percent_encoded_lower_case() {
        assert_eq!(sanitize_title("Фитнес"), "%d1%84%d0%b8%d1%82%d0%bd%d0%b5%d1%81");
        assert_eq!(sanitize_title("Кофе «Арабика»"), "%d0%ba%d0%be%d1%84%d0%b5-%d0%b0%d1%80%d0%b0%d0%b1%d0%b8%d0%ba%d0%b0");
    }

    #[test]
    fn long_titles_stop_at_200_without_splitting_a_character() {
        let s = sanitize_title(&"Я".repeat(100));
        assert_eq!(s.len(), 198);
        assert!(s.ends_with("%d1%8f"), "lower-cased before encoding");
    }
}
