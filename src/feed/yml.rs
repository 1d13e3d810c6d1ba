//! The YML every marketplace takes, written as a stream: `yml_catalog` with its `date`, `shop`
//! (name, company, url, currencies, the category tree, Megamarket's `shipment-options`), then one
//! `offer` at a time, in each format's own terms: Yandex `count`; Ozon `min_price`,
//! `premium_price`, `outlets/outlet instock warehouse_name`; Megamarket `outlets/outlet id instock`.
//! Text goes through [`quick_xml::escape::escape`]; descriptions as CDATA.

use std::io::Write;

use quick_xml::escape::escape;

use crate::config::{Encoding, FeedFile, FeedFormat};

use super::offer::{Card, Terms};
use super::read::Tree;
use super::text;

/// The `<shop>` header as written.
#[derive(Debug, Clone)]
pub struct Header<'a> {
    pub date: String,
    pub name: String,
    pub company: String,
    pub url: String,
    pub currency: String,
    pub tree: &'a Tree,
}

/// An offer that left the feed: listed once more with zero stock (from what the last feed said).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Farewell {
    pub id: String,
    pub name: String,
    pub url: String,
    pub price: String,
    pub category: Option<u64>,
}

/// Streams one feed into `out`, `FLUSH` bytes at a time, in the file's encoding.
pub struct Yml<W: Write> {
    out: W,
    buf: String,
    format: FeedFormat,
    encoding: Encoding,
    warehouse: String,
    currency: String,
    /// Characters windows-1251 could not hold.
    pub replaced: usize,
}

const FLUSH: usize = 256 * 1024;

impl<W: Write> Yml<W> {
    pub fn new(out: W, file: &FeedFile) -> Yml<W> {
        Yml { out, buf: String::with_capacity(FLUSH + 64 * 1024), format: file.format, encoding: file.encoding, warehouse: file.warehouse.clone().unwrap_or_default(), currency: String::new(), replaced: 0 }
    }

    fn flush_buf(&mut self) -> std::io::Result<()> {
        match self.encoding {
            Encoding::Utf8 => self.out.write_all(self.buf.as_bytes())?,
            Encoding::Windows1251 => {
                let (bytes, replaced) = text::windows1251(&self.buf);
                self.replaced += replaced;
                self.out.write_all(&bytes)?;
            }
        }
        self.buf.clear();
        Ok(())
    }

    /// The bytes the buffer's text from `start` on takes in the file's encoding (windows-1251
    /// holds every character, or its `?`, in one byte).
    fn encoded_len(&self, start: usize) -> u64 {
        match self.encoding {
            Encoding::Utf8 => (self.buf.len() - start) as u64,
            Encoding::Windows1251 => self.buf[start..].chars().count() as u64,
        }
    }

    /// Bytes already in the file's encoding (an offer copied from the last feed).
    pub fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.flush_buf()?;
        self.out.write_all(bytes)
    }

    fn maybe_flush(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= FLUSH {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn element(&mut self, name: &str, value: &str) {
        element(&mut self.buf, name, value);
    }

    fn attribute(&mut self, name: &str, value: &str) {
        attribute(&mut self.buf, name, value);
    }

    /// The XML declaration, `yml_catalog`, `shop` up to `<offers>`; its length in the file.
    pub fn header(&mut self, h: &Header<'_>, shipment: Option<(u32, u32)>) -> std::io::Result<u64> {
        let mut len = 0;
        let declared = match self.encoding {
            Encoding::Utf8 => "UTF-8",
            Encoding::Windows1251 => "windows-1251",
        };
        self.buf.push_str(&format!("<?xml version=\"1.0\" encoding=\"{declared}\"?>\n<yml_catalog"));
        self.attribute("date", &h.date);
        self.buf.push_str(">\n<shop>\n");
        self.element("name", &h.name);
        self.element("company", &h.company);
        self.element("url", &h.url);
        self.buf.push_str("<currencies>\n<currency");
        self.attribute("id", &h.currency);
        self.buf.push_str(" rate=\"1\"/>\n</currencies>\n<categories>\n");
        self.currency = h.currency.clone();
        for c in &h.tree.categories {
            self.buf.push_str(&format!("<category id=\"{}\"", c.id));
            if c.parent != 0 && h.tree.get(c.parent).is_some() {
                self.buf.push_str(&format!(" parentId=\"{}\"", c.parent));
            }
            self.buf.push('>');
            self.buf.push_str(&escape(text::shown(&c.name).as_str()));
            self.buf.push_str("</category>\n");
            if self.buf.len() >= FLUSH {
                len += self.encoded_len(0);
                self.flush_buf()?;
            }
        }
        self.buf.push_str("</categories>\n");
        if let (FeedFormat::Megamarket, Some((days, before))) = (self.format, shipment) {
            self.buf.push_str(&format!("<shipment-options>\n<option days=\"{days}\" order-before=\"{before}\"/>\n</shipment-options>\n"));
        }
        self.buf.push_str("<offers>\n");
        len += self.encoded_len(0);
        self.flush_buf()?;
        Ok(len)
    }

    fn stock(&mut self, stock: u64) {
        match self.format {
            FeedFormat::Yandex => self.buf.push_str(&format!("<count>{stock}</count>\n")),
            FeedFormat::Ozon => {
                self.buf.push_str(&format!("<outlets>\n<outlet instock=\"{stock}\""));
                attribute(&mut self.buf, "warehouse_name", &self.warehouse);
                self.buf.push_str("/>\n</outlets>\n");
            }
            FeedFormat::Megamarket => {
                self.buf.push_str("<outlets>\n<outlet");
                attribute(&mut self.buf, "id", &self.warehouse);
                self.buf.push_str(&format!(" instock=\"{stock}\"/>\n</outlets>\n"));
            }
        }
    }

    fn opening(&mut self, id: &str, available: bool, group: Option<u64>) {
        self.buf.push_str("<offer");
        self.attribute("id", id);
        self.buf.push_str(if available { " available=\"true\"" } else { " available=\"false\"" });
        if let Some(g) = group {
            self.buf.push_str(&format!(" group_id=\"{g}\""));
        }
        self.buf.push_str(">\n");
    }

    fn common(&mut self, name: &str, url: &str, price: &str, oldprice: Option<&str>, category: Option<u64>) {
        self.element("name", name);
        self.element("url", url);
        self.element("price", price);
        if let Some(o) = oldprice {
            self.element("oldprice", o);
        }
        element(&mut self.buf, "currencyId", &self.currency);
        if let Some(c) = category {
            self.buf.push_str(&format!("<categoryId>{c}</categoryId>\n"));
        }
    }

    /// One live offer; its length in the file.
    pub fn offer(&mut self, card: &Card, t: &Terms) -> std::io::Result<u64> {
        let start = self.buf.len();
        self.opening(&t.id, t.available, card.group);
        self.common(&card.name, &card.url, &t.price, t.oldprice.as_deref(), card.category);
        for p in &card.pictures {
            self.element("picture", p);
        }
        if let Some(v) = &card.vendor {
            self.element("vendor", v);
        }
        if let Some(b) = &card.barcode {
            self.element("barcode", b);
        }
        if !card.description.is_empty() {
            self.buf.push_str("<description>");
            self.buf.push_str(&text::cdata(&card.description));
            self.buf.push_str("</description>\n");
        }
        for (name, value) in &card.params {
            self.buf.push_str("<param");
            self.attribute("name", name);
            self.buf.push('>');
            self.buf.push_str(&escape(text::clean(value).as_ref()));
            self.buf.push_str("</param>\n");
        }
        if self.format == FeedFormat::Ozon {
            if let Some(m) = &t.min_price {
                self.element("min_price", m);
            }
            if let Some(m) = &t.premium_price {
                self.element("premium_price", m);
            }
        }
        self.stock(t.stock);
        self.buf.push_str("</offer>\n");
        let len = self.encoded_len(start);
        self.maybe_flush()?;
        Ok(len)
    }

    /// An offer that left the feed, with zero stock; its length in the file.
    pub fn farewell(&mut self, f: &Farewell) -> std::io::Result<u64> {
        let start = self.buf.len();
        self.opening(&f.id, false, None);
        self.common(&f.name, &f.url, &f.price, None, f.category);
        self.stock(0);
        self.buf.push_str("</offer>\n");
        let len = self.encoded_len(start);
        self.maybe_flush()?;
        Ok(len)
    }

    /// Closes the document and hands the writer back.
    pub fn finish(mut self) -> std::io::Result<(W, usize)> {
        self.buf.push_str("</offers>\n</shop>\n</yml_catalog>\n");
        self.flush_buf()?;
        Ok((self.out, self.replaced))
    }
}

/// `<name>value</name>`, the value cleaned and escaped.
fn element(buf: &mut String, name: &str, value: &str) {
    buf.push('<');
    buf.push_str(name);
    buf.push('>');
    buf.push_str(&escape(text::clean(value).as_ref()));
    buf.push_str("</");
    buf.push_str(name);
    buf.push_str(">\n");
}

/// ` name="value"`, the value cleaned and escaped.
fn attribute(buf: &mut String, name: &str, value: &str) {
    buf.push(' ');
    buf.push_str(name);
    buf.push_str("=\"");
    buf.push_str(&escape(text::clean(value).as_ref()));
    buf.push('"');
}
