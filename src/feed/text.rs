//! Text as a marketplace feed holds it: names and texts as the shop shows them (WordPress keeps
//! `&` in term names and the blogname as `&amp;`), without the control characters XML 1.0 and
//! YML refuse (tab, newline and carriage return kept; emoji kept), prices with a dot and no
//! thousands separator, descriptions in CDATA, the generation date in RFC 3339 with the shop's
//! offset, and windows-1251 output with what it cannot hold replaced and counted.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::catalog::shop::TimeZone;

/// A name or text as the shop shows it: WordPress's stored entities decoded, control characters
/// removed.
pub fn shown(stored: &str) -> String {
    clean(&crate::woo::terms::shown_name(stored)).into_owned()
}

/// Without the characters XML 1.0 cannot hold: C0 controls but tab, newline and carriage
/// return, and the non-characters U+FFFE and U+FFFF.
pub fn clean(s: &str) -> Cow<'_, str> {
    let bad = |c: char| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}');
    // A byte scan finds them (U+FFFE and U+FFFF are EF BF BE and EF BF BF); most texts have none.
    let b = s.as_bytes();
    let found = b.iter().enumerate().any(|(i, &x)| (x < 0x20 && !matches!(x, b'\t' | b'\n' | b'\r')) || (x == 0xEF && b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF))));
    if found {
        Cow::Owned(s.chars().filter(|c| !bad(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// A stored price as a feed writes it: a dot, no thousands separator, the digits kept
/// (`1234.50`); `None` for an empty or unreadable value.
pub fn price(stored: &str) -> Option<String> {
    let t: String = stored.trim().chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}').collect::<String>().replace(',', ".");
    if t.is_empty() {
        return None;
    }
    t.parse::<Decimal>().ok().filter(|d| !d.is_sign_negative()).map(|d| d.to_string())
}

/// A description as CDATA sections: one, or several where the text holds `]]>`.
pub fn cdata(text: &str) -> String {
    let text = clean(text);
    let mut out = String::with_capacity(text.len() + 12);
    for part in quick_xml::events::BytesCData::escaped(&text) {
        out.push_str("<![CDATA[");
        out.push_str(&part[..]);
        out.push_str("]]>");
    }
    out
}

/// The `yml_catalog` `date`: RFC 3339 to the second, with the shop's UTC offset.
pub fn date(tz: &TimeZone, now: DateTime<Utc>) -> String {
    match tz {
        TimeZone::Named(z) => now.with_timezone(z).format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        TimeZone::Fixed(off) => now.with_timezone(off).format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
    }
}

/// UTF-8 as windows-1251; a character it cannot hold becomes `?`. Returns the bytes and how many
/// characters were replaced.
pub fn windows1251(text: &str) -> (Vec<u8>, usize) {
    use encoding_rs::EncoderResult;
    let mut encoder = encoding_rs::WINDOWS_1251.new_encoder();
    let mut out = Vec::with_capacity(text.len());
    let mut replaced = 0;
    let mut rest = text;
    loop {
        let mut buf = [0u8; 4096];
        let (result, read, written) = encoder.encode_from_utf8_without_replacement(rest, &mut buf, true);
        out.extend_from_slice(&buf[..written]);
        rest = &rest[read..];
        match result {
            EncoderResult::InputEmpty => break,
            EncoderResult::OutputFull => {}
            EncoderResult::Unmappable(_) => {
                out.push(b'?');
                replaced += 1;
            }
        }
    }
    (out, replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_the_shop_shows_them() {
        assert_eq!(shown("Дом &amp; Сад"), "Дом & Сад");
        assert_eq!(shown("Кружка \u{1}«Утро»\u{7f} ☕\tс ручкой"), "Кружка «Утро»\u{7f} ☕\tс ручкой");
        assert_eq!(clean("ok"), Cow::Borrowed("ok"));
        assert_eq!(clean("a\u{FFFE}b\u{0B}c"), "abc");
    }

    #[test]
    fn prices_with_a_dot() {
        assert_eq!(price("1234.50").as_deref(), Some("1234.50"));
        assert_eq!(price("1 234,5").as_deref(), Some("1234.5"));
        assert_eq!(price("").as_deref(), None);
        assert_eq!(price("abc").as_deref(), None);
        assert_eq!(price("-5").as_deref(), None);
    }

    #[test]
    fn descriptions_in_cdata() {
        assert_eq!(cdata("<p>Боди & «шапка»</p>"), "<![CDATA[<p>Боди & «шапка»</p>]]>");
        assert_eq!(cdata("a]]>b"), "<![CDATA[a]]]]><![CDATA[>b]]>");
    }

    #[test]
    fn the_date_carries_the_shops_offset() {
        let now = DateTime::parse_from_rfc3339("2026-12-06T21:30:05Z").unwrap().with_timezone(&Utc);
        assert_eq!(date(&TimeZone::Named(chrono_tz::Europe::Moscow), now), "2026-12-07T00:30:05+03:00");
        assert_eq!(date(&TimeZone::Fixed(chrono::FixedOffset::east_opt(5 * 3600 + 1800).unwrap()), now), "2026-12-07T03:00:05+05:30");
    }

    #[test]
    fn windows_1251_replaces_and_counts() {
        let (bytes, replaced) = windows1251("Чайник ☕ №5 — 😀");
        assert_eq!(replaced, 2);
        assert_eq!(encoding_rs::WINDOWS_1251.decode(&bytes).0, "Чайник ? №5 — ?");
    }
}
