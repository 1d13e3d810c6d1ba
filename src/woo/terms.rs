//! How WordPress keeps a term's name, and how woosync tells two names apart. `wp_insert_term()`
//! runs the name through the `pre_term_name` filters — `sanitize_text_field()` (tags and
//! percent-encoded octets removed, whitespace runs made one space, trimmed), `wp_filter_kses`
//! and `_wp_specialchars()` (`&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`, entities already
//! there kept) — so `Дом & Сад` is stored as `Дом &amp; Сад`. A category is matched by the
//! name as the shop shows it (entities decoded), without regard to case. Pure.

/// The name as `wp_insert_term()` stores it.
pub fn stored_name(name: &str) -> String {
    // sanitize_text_field(): a lone `<` is kept as `&lt;`; tags go.
    let mut text = String::new();
    let chars: Vec<char> = name.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '<' {
            let opens_tag = chars.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'));
            let closes = chars[i..].iter().position(|&c| c == '>');
            if let (true, Some(len)) = (opens_tag, closes) {
                i += len + 1;
                continue;
            }
            text.push_str("&lt;");
        } else {
            text.push(c);
        }
        i += 1;
    }
    // Percent-encoded octets go, until none is left.
    loop {
        let bytes = text.as_bytes();
        let at = (0..bytes.len().saturating_sub(2)).find(|&i| bytes[i] == b'%' && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit());
        match at {
            Some(i) => text.replace_range(i..i + 3, ""),
            None => break,
        }
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    specialchars(&collapsed)
}

/// `_wp_specialchars($s, ENT_NOQUOTES, false, false)`: `&` (unless it starts an entity), `<`, `>`.
fn specialchars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        match c {
            '&' if !starts_entity(&s[i..]) => out.push_str("&amp;"),
            '>' => out.push_str("&gt;"),
            '<' if !s[i..].starts_with("&lt;") => out.push_str("&lt;"),
            _ => out.push(c),
        }
    }
    out
}

/// Whether the text starts with an HTML entity: `&name;`, `&#123;` or `&#x1F;`.
fn starts_entity(s: &str) -> bool {
    let Some(end) = s[1..].find(';').map(|e| e + 1) else { return false };
    let body = &s[1..end];
    if let Some(num) = body.strip_prefix('#') {
        return match num.strip_prefix(['x', 'X']) {
            Some(hex) => !hex.is_empty() && hex.len() <= 6 && hex.chars().all(|c| c.is_ascii_hexdigit()),
            None => !num.is_empty() && num.len() <= 7 && num.chars().all(|c| c.is_ascii_digit()),
        };
    }
    !body.is_empty() && body.len() <= 32 && body.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The name as the shop shows it: the entities WordPress wrote decoded.
pub fn shown_name(stored: &str) -> String {
    if !stored.contains('&') {
        return stored.to_string();
    }
    stored
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The key two names are compared by: as shown, whitespace runs as one space, lower case.
pub fn name_key(name: &str) -> String {
    shown_name(name).split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stored_as_wordpress_stores_them() {
        assert_eq!(stored_name("Одежда"), "Одежда");
        assert_eq!(stored_name("Дом & Сад"), "Дом &amp; Сад");
        assert_eq!(stored_name("Дом &amp; Сад"), "Дом &amp; Сад");
        assert_eq!(stored_name("  Обувь \t для  детей "), "Обувь для детей");
        assert_eq!(stored_name("<b>Жирный</b> шрифт"), "Жирный шрифт");
        assert_eq!(stored_name("меньше < больше > 3"), "меньше &lt; больше &gt; 3");
        assert_eq!(stored_name("Скидки 50%"), "Скидки 50%");
        assert_eq!(stored_name("a%20b"), "ab");
    }

    #[test]
    fn names_compare_as_shown_without_case() {
        assert_eq!(name_key("Дом &amp; Сад"), name_key("дом & сад"));
        assert_eq!(name_key("ОДЕЖДА"), name_key("одежда"));
        assert_ne!(name_key("Одежда"), name_key("Одежда детская"));
        assert_eq!(shown_name("Tom&#039;s &lt;best&gt;"), "Tom's <best>");
    }
}
