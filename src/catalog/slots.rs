//! A product's first meta row of each slotted key, packed into one exact-size buffer: a
//! million products are read into memory at once, and eight `(meta_id, String)` pairs a
//! product would cost more than the rest of the run together.
//!
//! Each row present is `[key | 0x80 when it has a value][meta_id][length][bytes]`, numbers in
//! LEB128, the meta_id as a zigzag difference from the row before (a product's rows are
//! usually neighbours, so most take one byte).

use compact_str::CompactString;

use super::MetaRow;
use crate::model::Key;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Slots(Box<[u8]>);

/// One decoded row: the key's slot, its meta_id and value (`None`: SQL NULL).
struct Entry<'a> {
    slot: u8,
    id: u64,
    value: Option<&'a str>,
}

fn read_varint(buf: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while let Some(&b) = buf.get(*at) {
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    v
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

impl Slots {
    fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        let buf = &self.0;
        let (mut at, mut prev) = (0, 0u64);
        std::iter::from_fn(move || {
            let head = *buf.get(at)?;
            at += 1;
            let id = prev.wrapping_add(unzigzag(read_varint(buf, &mut at)) as u64);
            prev = id;
            let len = read_varint(buf, &mut at) as usize;
            let bytes = buf.get(at..at + len).unwrap_or_default();
            at += len;
            let value = (head & 0x80 != 0).then(|| std::str::from_utf8(bytes).unwrap_or_default());
            Some(Entry { slot: head & 0x7f, id, value })
        })
    }

    /// The row of a slotted key, if the product has one.
    pub fn row(&self, key: Key) -> Option<MetaRow> {
        self.entries().find(|e| e.slot == key as u8).map(|e| MetaRow { id: e.id, value: e.value.map(CompactString::from) })
    }

    /// The value of a slotted key's row (`None` also for SQL NULL).
    pub fn get(&self, key: Key) -> Option<&str> {
        self.entries().find(|e| e.slot == key as u8).and_then(|e| e.value)
    }

    /// The meta_id of a slotted key's row.
    pub fn id(&self, key: Key) -> Option<u64> {
        self.entries().find(|e| e.slot == key as u8).map(|e| e.id)
    }

    /// Puts a row in the key's slot, returning the row it replaces.
    pub fn put(&mut self, key: Key, row: MetaRow) -> Option<MetaRow> {
        let old = self.row(key);
        let mut out = Vec::with_capacity(self.0.len() + 12 + row.value.as_ref().map_or(0, |v| v.len()));
        let mut prev = 0;
        for e in self.entries().filter(|e| e.slot != key as u8) {
            encode(&mut out, e.slot, e.id.wrapping_sub(prev) as i64, e.value);
            prev = e.id;
        }
        encode(&mut out, key as u8, row.id.wrapping_sub(prev) as i64, row.value.as_deref());
        self.0 = out.into_boxed_slice();
        old
    }

    /// Bytes held (for the memory estimate in tests).
    #[cfg(test)]
    pub fn size(&self) -> usize {
        self.0.len()
    }
}

fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

fn encode(out: &mut Vec<u8>, slot: u8, delta: i64, value: Option<&str>) {
    out.push(slot | if value.is_some() { 0x80 } else { 0 });
    write_varint(out, zigzag(delta));
    let bytes = value.unwrap_or_default().as_bytes();
    write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u64, v: Option<&str>) -> MetaRow {
        MetaRow { id, value: v.map(Into::into) }
    }

    #[test]
    fn rows_go_in_and_come_out_exactly() {
        let mut s = Slots::default();
        assert_eq!(s.get(Key::Sku), None);
        assert_eq!(s.put(Key::Sku, row(21_000_123, Some("SKU-Ünï-0001"))), None);
        s.put(Key::Stock, row(5, Some("")));
        s.put(Key::SalePrice, row(u64::MAX, None));
        let long = "x".repeat(300);
        s.put(Key::StockStatus, row(7, Some(&long)));
        assert_eq!(s.get(Key::Sku), Some("SKU-Ünï-0001"));
        assert_eq!(s.row(Key::Sku), Some(row(21_000_123, Some("SKU-Ünï-0001"))));
        assert_eq!(s.get(Key::Stock), Some(""));
        assert_eq!(s.row(Key::SalePrice), Some(row(u64::MAX, None)));
        assert_eq!(s.get(Key::SalePrice), None);
        assert_eq!(s.get(Key::StockStatus), Some(long.as_str()));
        assert_eq!(s.id(Key::Price), None);
        // Replacing a slot returns the old row and keeps the others.
        assert_eq!(s.put(Key::Sku, row(3, Some("A"))), Some(row(21_000_123, Some("SKU-Ünï-0001"))));
        assert_eq!(s.get(Key::Sku), Some("A"));
        assert_eq!(s.get(Key::Stock), Some(""));
        assert_eq!(s.get(Key::StockStatus), Some(long.as_str()));
    }

    #[test]
    fn a_typical_product_takes_a_few_dozen_bytes() {
        let mut s = Slots::default();
        let values = [
            (Key::Sku, "SKU-0123456"),
            (Key::RegularPrice, "1234.50"),
            (Key::ManageStock, "yes"),
            (Key::Backorders, "no"),
            (Key::Stock, "17"),
            (Key::StockStatus, "instock"),
            (Key::Price, "1234.50"),
        ];
        for (i, (k, v)) in values.iter().enumerate() {
            s.put(*k, row(20_000_000 + i as u64, Some(v)));
        }
        assert!(s.size() < 70, "{} bytes", s.size());
        for (k, v) in values {
            assert_eq!(s.get(k), Some(v));
        }
    }
}
