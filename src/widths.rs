//! How much the shop's columns hold: the widths of the columns a feed value is written to, as
//! pre-flight reads them from `information_schema`, and the server's `max_allowed_packet`.
//! A value that would not fit is a rejected row before anything is frozen or written, never a
//! database error in the middle of a chunk. Pure: the reading is `catalog::shop`'s.

/// One text column: its name (for messages), its limits and its character set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Width {
    /// `wp_posts.post_title`.
    pub column: String,
    /// `CHARACTER_MAXIMUM_LENGTH`: characters for `VARCHAR`, bytes for the `TEXT` types.
    pub chars: u64,
    /// `CHARACTER_OCTET_LENGTH`.
    pub bytes: u64,
    pub charset: Charset,
}

/// What a column's character set can store, as far as feed text is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// `utf8mb4`: any character.
    Full,
    /// `utf8mb3` (`utf8`): no character beyond U+FFFF (emoji, rare CJK).
    ThreeByte,
    /// `latin1` (Windows-1252) and other one-byte sets: only what Windows-1252 has.
    OneByte,
}

impl Charset {
    pub fn from_name(name: &str) -> Charset {
        match name.to_ascii_lowercase().as_str() {
            "utf8mb4" => Charset::Full,
            "utf8" | "utf8mb3" => Charset::ThreeByte,
            _ => Charset::OneByte,
        }
    }
}

impl Width {
    pub fn new(column: impl Into<String>, chars: u64, bytes: u64, charset: Charset) -> Width {
        Width { column: column.into(), chars, bytes, charset }
    }

    /// Why `value` does not fit this column, if it does not.
    pub fn refuses(&self, value: &str) -> Option<String> {
        let column = &self.column;
        let bytes = match self.charset {
            Charset::OneByte => value.chars().count() as u64,
            _ => value.len() as u64,
        };
        if bytes > self.bytes {
            return Some(format!("is {} bytes long; `{column}` holds at most {} bytes", thousands(bytes), thousands(self.bytes)));
        }
        if bytes > self.chars {
            let chars = value.chars().count() as u64;
            if chars > self.chars {
                return Some(format!("is {} characters long; `{column}` holds at most {}", thousands(chars), thousands(self.chars)));
            }
        }
        let unstorable = match self.charset {
            Charset::Full => None,
            Charset::ThreeByte => value.chars().find(|c| c.len_utf8() == 4),
            Charset::OneByte => value.chars().find(|c| !is_windows_1252(*c)),
        };
        unstorable.map(|c| format!("has the character {c:?} (U+{:04X}), which `{column}`'s character set cannot store", c as u32))
    }
}

fn is_windows_1252(c: char) -> bool {
    let mut buf = [0u8; 4];
    let (_, _, unmappable) = encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buf));
    !unmappable
}

/// The widths a feed row is checked against before it is frozen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widths {
    /// `posts.post_title`: a new product's name.
    pub title: Width,
    /// `wc_product_meta_lookup.sku` (the narrower of it and `postmeta.meta_value`).
    pub sku: Width,
    /// `postmeta.meta_value`: the external ID.
    pub meta: Width,
    /// The lookup's `min_price`/`max_price`: digits before and after the decimal point.
    pub price_column: String,
    pub price_int_digits: u32,
    pub price_scale: u32,
    /// The server's `max_allowed_packet`: no statement (and so no row) may be larger.
    pub packet: u64,
}

impl Widths {
    /// WooCommerce's own schema on a stock MariaDB (`check` before it reaches the shop, tests).
    pub fn stock(prefix: &str) -> Widths {
        Widths {
            title: Width::new(format!("{prefix}posts.post_title"), 65_535, 65_535, Charset::Full),
            sku: Width::new(format!("{prefix}wc_product_meta_lookup.sku"), 100, 400, Charset::Full),
            meta: Width::new(format!("{prefix}postmeta.meta_value"), 4_294_967_295, 4_294_967_295, Charset::Full),
            price_column: format!("{prefix}wc_product_meta_lookup.max_price"),
            price_int_digits: 15,
            price_scale: 4,
            packet: 16 << 20,
        }
    }

    /// The largest row (all its values together) a chunk may carry: half the packet, so a row
    /// always fits a statement with its neighbours' placeholders and a frozen block.
    pub fn max_row_bytes(&self) -> u64 {
        (self.packet / 2).saturating_sub(1024)
    }

    /// Why a price does not fit the lookup table's price columns, if it does not. Extra
    /// decimals are rounded by the database as WooCommerce's own writes are; the digits before
    /// the point are not.
    pub fn refuses_price(&self, value: &rust_decimal::Decimal) -> Option<String> {
        let int = value.trunc().abs();
        let digits = if int.is_zero() { 0 } else { int.to_string().len() as u32 };
        (digits > self.price_int_digits).then(|| {
            format!(
                "has {digits} digits before the decimal point; `{}` (decimal({},{})) holds at most {}",
                self.price_column,
                self.price_int_digits + self.price_scale,
                self.price_scale,
                self.price_int_digits
            )
        })
    }
}

/// `80000` → `80,000`, for byte counts people read.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn text_columns_count_bytes_varchar_columns_count_characters() {
        let w = Widths::stock("wp_");
        assert_eq!(w.title.refuses(&"a".repeat(65_535)), None);
        assert_eq!(
            w.title.refuses(&"я".repeat(40_000)).as_deref(),
            Some("is 80,000 bytes long; `wp_posts.post_title` holds at most 65,535 bytes")
        );
        // 100 Cyrillic letters are 200 bytes: they fit VARCHAR(100) in utf8mb4.
        assert_eq!(w.sku.refuses(&"я".repeat(100)), None);
        assert_eq!(
            w.sku.refuses(&"я".repeat(101)).as_deref(),
            Some("is 101 characters long; `wp_wc_product_meta_lookup.sku` holds at most 100")
        );
    }

    #[test]
    fn narrow_character_sets_refuse_what_they_cannot_store() {
        let mb3 = Width::new("t.c", 100, 300, Charset::from_name("utf8mb3"));
        assert_eq!(mb3.refuses("Чай"), None);
        assert!(mb3.refuses("Чай ☕🍵").unwrap().contains("U+1F375"), "{:?}", mb3.refuses("Чай ☕🍵"));
        let latin1 = Width::new("t.c", 10, 10, Charset::from_name("latin1"));
        assert_eq!(latin1.refuses("Café €5"), None);
        assert!(latin1.refuses("Чай").is_some());
        assert!(latin1.refuses("ééééééééééé").unwrap().contains("11 bytes"));
    }

    #[test]
    fn prices_beyond_the_lookup_columns_are_refused() {
        let w = Widths::stock("wp_");
        let d = |s: &str| rust_decimal::Decimal::from_str(s).unwrap();
        assert_eq!(w.refuses_price(&d("999999999999999.9999")), None);
        assert_eq!(w.refuses_price(&d("0.123456")), None);
        assert_eq!(
            w.refuses_price(&d("1000000000000000")).as_deref(),
            Some("has 16 digits before the decimal point; `wp_wc_product_meta_lookup.max_price` (decimal(19,4)) holds at most 15")
        );
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(16_777_216), "16,777,216");
    }
}
