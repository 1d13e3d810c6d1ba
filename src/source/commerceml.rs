//! 1C CommerceML 2 (`offers.xml`, optionally `import.xml`), read as a stream: memory stays
//! flat whatever the size of the export.
//!
//! An offer (`Предложение`) gives the external ID (`Ид`), the SKU (`Артикул`, else the good's
//! `Артикул` in `import.xml` for an offer of a whole good), the name, prices by price type
//! (`Цены/Цена` with `ИдТипаЦены` and `ЦенаЗаЕдиницу`) and stock: the offer's `Количество`, or
//! per warehouse — `<Склад ИдСклада=".." КоличествоНаСкладе=".."/>` (CommerceML 2.04–2.07) or
//! `Остатки/Остаток/Склад` with `Ид` and `Количество` (2.08 and later). Price types and
//! warehouses are picked by `Ид` or by `Наименование` from the `ТипыЦен` and `Склады` sections.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use quick_xml::encoding::DecodingReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::{digest, Each, Field, Hashing, Locate, RawFeed, RawRecord, SharedHash, MAX_ROW_BYTES};
use crate::config::{CmlSource, MetaKind};
use crate::error::{Error, Result};

/// 1C writes UTF-8 or, in older configurations, Windows-1251 (declared in `<?xml ... ?>`): UTF-8
/// is read as it is, anything else through a decoding reader that turns it into UTF-8.
fn open(path: &Path) -> Result<(Box<dyn BufRead + Send>, SharedHash)> {
    let file = File::open(path).map_err(|e| Error::Source(format!("cannot read {}: {e}", path.display())))?;
    let (hashing, hasher) = Hashing::new(file);
    let mut hashing = BufReader::with_capacity(256 * 1024, hashing);
    let head = hashing.fill_buf().map_err(|e| Error::Source(format!("cannot read {}: {e}", path.display())))?;
    let declared = declared_encoding(head);
    let input: Box<dyn BufRead + Send> = match declared.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("utf-8") | Some("utf8") => Box::new(hashing),
        Some(label) => match encoding_rs::Encoding::for_label(label.as_bytes()) {
            Some(encoding) => {
                let mut decoding = DecodingReader::new(hashing);
                decoding.set_encoding(encoding);
                Box::new(BufReader::with_capacity(256 * 1024, decoding))
            }
            None => {
                return Err(Error::Source(format!(
                    "{}: the XML declares encoding {label:?}, which woosync cannot decode",
                    file_name(path)
                )))
            }
        },
    };
    Ok((input, hasher))
}

/// The decoded document in pieces that end right after a closing tag (`</Предложение>`), so each
/// piece holds whole elements and can be parsed on its own, in memory, by a slice reader (much
/// faster than a streaming one) and on another thread. Memory stays at a few pieces.
struct Pieces {
    input: Box<dyn BufRead + Send>,
    carry: Vec<u8>,
    /// Where the next piece starts in the (decoded) document.
    offset: u64,
    boundary: &'static str,
    done: bool,
    size: usize,
}

/// Bytes read per piece (a piece grows until it holds a boundary).
const PIECE: usize = 4 << 20;

impl Pieces {
    fn new(input: Box<dyn BufRead + Send>, boundary: &'static str, size: usize) -> Pieces {
        Pieces { input, carry: Vec::new(), offset: 0, boundary, done: false, size }
    }

    /// The next piece and where it starts, or `None` at the end.
    fn next(&mut self, file: &str) -> Result<Option<(u64, Vec<u8>)>> {
        let mut buf = std::mem::take(&mut self.carry);
        let mut searched = 0usize;
        loop {
            if !self.done {
                let want = buf.len() + self.size;
                while buf.len() < want {
                    let n = Read::by_ref(&mut self.input)
                        .take((want - buf.len()) as u64)
                        .read_to_end(&mut buf)
                        .map_err(|e| Error::Source(format!("{file}: cannot read: {e}")))?;
                    if n == 0 {
                        self.done = true;
                        break;
                    }
                }
            }
            if self.done {
                if buf.is_empty() {
                    return Ok(None);
                }
                let at = self.offset;
                self.offset += buf.len() as u64;
                return Ok(Some((at, buf)));
            }
            let from = searched.saturating_sub(self.boundary.len());
            if let Some(pos) = memchr::memmem::rfind(&buf[from..], self.boundary.as_bytes()) {
                let end = from + pos + self.boundary.len();
                self.carry = buf.split_off(end);
                let at = self.offset;
                self.offset += buf.len() as u64;
                return Ok(Some((at, buf)));
            }
            searched = buf.len();
            // Before the first boundary is the document's head (the classifier, price types,
            // warehouses): it may be larger than one offer or good.
            let bound = if self.offset == 0 { MAX_HEAD_BYTES } else { MAX_ROW_BYTES };
            if buf.len() as u64 > bound + self.size as u64 {
                return Err(Error::Source(format!(
                    "{file}: no `{}` within {} MiB from byte {}: one element is larger than any real export holds \
                     (is the file broken, or not a CommerceML file?); refusing the feed",
                    self.boundary,
                    bound >> 20,
                    self.offset
                )));
            }
        }
    }
}

/// The most a CommerceML document may hold before its first offer or good.
const MAX_HEAD_BYTES: u64 = 4 * MAX_ROW_BYTES;

/// The `encoding="..."` of an ASCII-compatible XML declaration at the start of `head`.
fn declared_encoding(head: &[u8]) -> Option<String> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    if !decl.starts_with("<?xml") {
        return None;
    }
    let at = decl.find("encoding")? + "encoding".len();
    let rest = decl[at..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_string())
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// The elements woosync reads, named once as they open so paths compare as small numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Tag {
    #[default]
    Other,
    Offers,
    Offer,
    Id,
    Article,
    Name,
    Quantity,
    Store,
    Stores,
    PriceTypeId,
    PerUnit,
    Prices,
    Price,
    PriceTypes,
    PriceType,
    Rests,
    Rest,
    Goods,
    Good,
    Description,
    Barcode,
    Groups,
    Group,
    Properties,
    Property,
    Variants,
    RefValue,
    ValueId,
    Value,
    PropValues,
    PropValue,
    Characteristics,
    Characteristic,
    Requisites,
    Requisite,
    Picture,
}

impl Tag {
    fn of(name: &str) -> Tag {
        match name {
            "Предложения" => Tag::Offers,
            "Предложение" => Tag::Offer,
            "Ид" => Tag::Id,
            "Артикул" => Tag::Article,
            "Наименование" => Tag::Name,
            "Количество" => Tag::Quantity,
            "Склад" => Tag::Store,
            "Склады" => Tag::Stores,
            "ИдТипаЦены" => Tag::PriceTypeId,
            "ЦенаЗаЕдиницу" => Tag::PerUnit,
            "Цены" => Tag::Prices,
            "Цена" => Tag::Price,
            "ТипыЦен" => Tag::PriceTypes,
            "ТипЦены" => Tag::PriceType,
            "Остатки" => Tag::Rests,
            "Остаток" => Tag::Rest,
            "Товары" => Tag::Goods,
            "Товар" => Tag::Good,
            "Описание" => Tag::Description,
            "Штрихкод" => Tag::Barcode,
            "Картинка" => Tag::Picture,
            "Группы" => Tag::Groups,
            "Группа" => Tag::Group,
            "Свойства" => Tag::Properties,
            "Свойство" => Tag::Property,
            "ВариантыЗначений" => Tag::Variants,
            "Справочник" => Tag::RefValue,
            "ИдЗначения" => Tag::ValueId,
            "Значение" => Tag::Value,
            "ЗначенияСвойств" => Tag::PropValues,
            "ЗначенияСвойства" => Tag::PropValue,
            "ХарактеристикиТовара" => Tag::Characteristics,
            "ХарактеристикаТовара" => Tag::Characteristic,
            "ЗначенияРеквизитов" => Tag::Requisites,
            "ЗначениеРеквизита" => Tag::Requisite,
            _ => Tag::Other,
        }
    }
}

/// The element path from the root (`КоммерческаяИнформация/ПакетПредложений/...`) plus the text
/// of the element being read. Names are kept in reused strings (no allocation per element) for
/// messages; paths are matched on their tags.
#[derive(Default, Clone)]
struct Cursor {
    names: Vec<String>,
    tags: Vec<Tag>,
    depth: usize,
    text: String,
    /// The element that closed last.
    closed: Tag,
}

impl Cursor {
    fn stack(&self) -> &[String] {
        &self.names[..self.depth]
    }
    fn push(&mut self, name: &str) {
        if let Some(slot) = self.names.get_mut(self.depth) {
            slot.clear();
            slot.push_str(name);
            self.tags[self.depth] = Tag::of(name);
        } else {
            self.names.push(name.to_string());
            self.tags.push(Tag::of(name));
        }
        self.depth += 1;
    }
    fn pop(&mut self) {
        if self.depth > 0 {
            self.depth -= 1;
            self.closed = self.tags[self.depth];
        }
    }
    /// Whether the innermost open element is one whose text woosync reads.
    fn wants_text(&self) -> bool {
        self.depth > 0
            && matches!(
                self.tags[self.depth - 1],
                Tag::Id
                    | Tag::Article
                    | Tag::Name
                    | Tag::Quantity
                    | Tag::PriceTypeId
                    | Tag::PerUnit
                    | Tag::Description
                    | Tag::Barcode
                    | Tag::Picture
                    | Tag::ValueId
                    | Tag::Value
            )
    }

    /// Whether the open elements end with `tail`.
    fn at(&self, tail: &[Tag]) -> bool {
        self.depth >= tail.len() && self.tags[self.depth - tail.len()..self.depth] == *tail
    }
    fn path(&self) -> String {
        self.stack().join("/")
    }
}

/// The next event with its text resolved, or a located error.
enum Step {
    Open,
    /// An element closed: `Cursor::closed` says which, `Cursor::text` holds its text.
    Close,
    Eof,
}

fn step<'a>(reader: &mut Reader<&'a [u8]>, cur: &mut Cursor, file: &str, base: u64, open: &mut dyn FnMut(&Cursor, &BytesStart<'_>)) -> Result<Step> {
    loop {
        let event = reader.read_event().map_err(|e| {
            Error::Source(format!(
                "{file}: malformed XML at byte {} (in {}): {e}",
                base + reader.error_position(),
                if cur.depth == 0 { "the document".to_string() } else { cur.path() }
            ))
        })?;
        match event {
            Event::Start(e) => {
                cur.push(e.name().as_ref());
                cur.text.clear();
                open(cur, &e);
                return Ok(Step::Open);
            }
            Event::Empty(e) => {
                cur.push(e.name().as_ref());
                cur.text.clear();
                open(cur, &e);
                cur.pop();
                return Ok(Step::Close);
            }
            Event::End(e) => {
                // Matched here, not by quick-xml: the element may have opened in an earlier piece.
                let name = e.name();
                let found: &str = name.as_ref();
                if cur.depth == 0 || cur.names[cur.depth - 1] != found {
                    let expected = if cur.depth == 0 { "no closing tag".to_string() } else { format!("`</{}>`", cur.names[cur.depth - 1]) };
                    return Err(Error::Source(format!(
                        "{file}: malformed XML at byte {} (in {}): ill-formed document: expected {expected}, but `</{found}>` was found",
                        base + reader.buffer_position(),
                        if cur.depth == 0 { "the document".to_string() } else { cur.path() }
                    )));
                }
                cur.pop();
                return Ok(Step::Close);
            }
            // Only the text of the elements woosync reads is kept (not `Представление`, not the
            // indentation between elements); spaces inside a value (between two entity
            // references) are kept.
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if !cur.wants_text() => {}
            Event::Text(t) if cur.text.is_empty() && t.bytes().all(|b| b.is_ascii_whitespace()) => {}
            Event::Text(t) => cur.text.push_str(&t.xml10_content()),
            Event::CData(t) => cur.text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let name: &str = &r;
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    Ok(None) => match name {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                    Err(_) => None,
                };
                let Some(c) = c else {
                    // An undeclared entity (DTDs are never read): writing `&e;` as a value would
                    // rename products by it.
                    return Err(Error::Source(format!(
                        "{file}: malformed XML at byte {} (in {}): `&{name};` is not a character woosync knows; expected text, \
                         `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;` or a character reference like `&#1046;`",
                        base + reader.buffer_position(),
                        cur.path()
                    )));
                };
                cur.text.push(c);
            }
            Event::Eof => return Ok(Step::Eof),
            _ => {}
        }
    }
}

/// A slice reader for one piece: closing tags of elements opened in an earlier piece are
/// expected, so quick-xml's own matching of end tags is off (the cursor keeps the path).
fn piece_reader(piece: &[u8]) -> Reader<&[u8]> {
    let mut reader = Reader::from_reader(piece);
    let config = reader.config_mut();
    // Not trimmed: `Чайник &amp; кружка` arrives in three pieces whose spaces count; values are
    // trimmed whole when their element closes.
    config.trim_text(false);
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    reader
}

/// The error for a document that ends inside an element.
fn truncated(file: &str, cur: &Cursor) -> Error {
    Error::Source(format!("{file}: the XML ends inside {} (truncated file?)", cur.path()))
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| a.normalized_value(XmlVersion::Implicit1_0).ok().map(|v| v.trim().to_string()))
}

/// An `Ид` with its `Наименование` (a price type or a warehouse).
#[derive(Debug, Clone, Default)]
struct Named {
    id: String,
    name: String,
}

/// What `import.xml` says of a good.
#[derive(Debug, Default)]
struct Good {
    article: Option<String>,
    name: Option<String>,
    /// `Описание`: HTML as 1C gives it (entities decoded by the XML reader).
    description: Option<String>,
    barcode: Option<String>,
    /// Every `Картинка`: paths relative to `import.xml`'s folder (`import_files/…`).
    pictures: Vec<String>,
    /// `Группы/Ид`: the classifier groups the good is in.
    groups: Vec<String>,
    /// `ЗначенияСвойств`: (property `Ид`, value as given — text, or a reference value's `ИдЗначения`).
    properties: Vec<(String, String)>,
    /// `ЗначенияРеквизитов`: (Наименование, Значение) of the good's requisites (`Код`, `Полное наименование`, ...).
    requisites: Vec<(String, String)>,
}

/// A property of `Классификатор/Свойства`: its name and, for a reference property, the text of
/// each `ВариантыЗначений/Справочник` by its `ИдЗначения`.
#[derive(Debug, Default, Clone)]
struct Property {
    id: String,
    name: String,
    variants: HashMap<String, String>,
}

/// A group of `Классификатор/Группы` (nested groups are its children).
#[derive(Debug, Default, Clone)]
struct Group {
    name: String,
    parent: Option<String>,
}

#[derive(Debug, Default)]
struct Catalogue {
    goods: HashMap<String, Good>,
    /// The classifier's group tree, by `Ид`.
    groups: HashMap<String, Group>,
    /// The classifier's properties, in document order.
    properties: Vec<Property>,
    price_types: Vec<Named>,
    warehouses: Vec<Named>,
    /// The names of the requisites any good has, without case.
    requisite_names: std::collections::HashSet<String>,
}

impl Catalogue {
    /// A group as a category path, root first, each level with its `Ид`.
    fn group_path(&self, id: &str) -> std::result::Result<crate::model::CategoryPath, String> {
        let mut path = Vec::new();
        let mut at = Some(id.to_string());
        while let Some(id) = at {
            let Some(group) = self.groups.get(&id) else {
                return Err(format!("the good's group {id} is not in import.xml's Классификатор/Группы"));
            };
            if path.len() > crate::normalize::MAX_CATEGORY_DEPTH || path.iter().any(|s: &crate::model::Segment| s.id.as_deref() == Some(id.as_str())) {
                return Err(format!("the group {id} of import.xml's Классификатор/Группы is nested deeper than {} levels", crate::normalize::MAX_CATEGORY_DEPTH));
            }
            path.push(crate::model::Segment { name: group.name.trim().to_string(), id: Some(id.clone()) });
            at = group.parent.clone();
        }
        path.reverse();
        Ok(path)
    }
}

/// Articles and names of the goods, plus the price types and warehouses of the classifier.
fn read_import(path: &Path) -> Result<Catalogue> {
    let file = file_name(path);
    let (input, _) = open(path)?;
    let mut pieces = Pieces::new(input, "</Товар>", PIECE);
    let mut cur = Cursor::default();
    let mut cat = Catalogue::default();
    let mut good: Option<(String, Good)> = None;
    let mut named: Option<Named> = None;
    // The classifier groups open around the cursor: (Ид, Наименование), outermost first.
    let mut groups: Vec<(String, String)> = Vec::new();
    let mut property: Option<Property> = None;
    let mut variant: (String, String) = Default::default();
    // A good's `ЗначенияСвойства` being read: the property's Ид and its values.
    let mut prop_value: (String, Vec<String>) = Default::default();
    // A good's `ЗначениеРеквизита` being read: its Наименование and Значение.
    let mut requisite: (String, String) = Default::default();
    let mut seen_root = false;
    while let Some((base, piece)) = pieces.next(&file)? {
        let mut reader = piece_reader(&piece);
        loop {
            match step(&mut reader, &mut cur, &file, base, &mut |_, _| {})? {
                Step::Eof => break,
                Step::Open => {
                    seen_root = true;
                    if cur.at(&[Tag::Goods, Tag::Good]) {
                        good = Some(Default::default());
                    } else if cur.at(&[Tag::Groups, Tag::Group]) && good.is_none() {
                        groups.push(Default::default());
                    } else if cur.at(&[Tag::Properties, Tag::Property]) && good.is_none() {
                        property = Some(Property::default());
                    } else if cur.at(&[Tag::PropValues, Tag::PropValue]) {
                        prop_value = Default::default();
                    } else if cur.at(&[Tag::Requisites, Tag::Requisite]) {
                        requisite = Default::default();
                    } else if cur.at(&[Tag::PriceTypes, Tag::PriceType]) || cur.at(&[Tag::Stores, Tag::Store]) {
                        named = Some(Named::default());
                    }
                }
                Step::Close => {
                    let name = cur.closed;
                    let text = cur.text.trim();
                    if let Some((id, g)) = good.as_mut().filter(|_| cur.at(&[Tag::Goods, Tag::Good])) {
                        match name {
                            Tag::Id => *id = text.to_string(),
                            Tag::Article => g.article = Some(text.to_string()).filter(|s| !s.is_empty()),
                            Tag::Name => g.name = Some(text.to_string()).filter(|s| !s.is_empty()),
                            Tag::Description => g.description = Some(text.to_string()).filter(|s| !s.is_empty()),
                            Tag::Barcode => g.barcode = Some(text.to_string()).filter(|s| !s.is_empty()),
                            Tag::Picture if !text.is_empty() => g.pictures.push(text.to_string()),
                            _ => {}
                        }
                    } else if let Some((_, g)) = good.as_mut().filter(|_| name == Tag::Id && cur.at(&[Tag::Good, Tag::Groups])) {
                        if !text.is_empty() {
                            g.groups.push(text.to_string());
                        }
                    } else if good.is_some() && cur.at(&[Tag::PropValues, Tag::PropValue]) {
                        match name {
                            Tag::Id => prop_value.0 = text.to_string(),
                            Tag::Value if !text.is_empty() => prop_value.1.push(text.to_string()),
                            _ => {}
                        }
                    } else if good.is_some() && cur.at(&[Tag::Requisites, Tag::Requisite]) {
                        match name {
                            Tag::Name => requisite.0 = text.to_string(),
                            Tag::Value => requisite.1 = text.to_string(),
                            _ => {}
                        }
                    } else if let Some((_, g)) = good.as_mut().filter(|_| name == Tag::Requisite && cur.at(&[Tag::Good, Tag::Requisites])) {
                        let (req_name, value) = std::mem::take(&mut requisite);
                        if !req_name.trim().is_empty() {
                            cat.requisite_names.insert(req_name.trim().to_lowercase());
                            g.requisites.push((req_name.trim().to_string(), value));
                        }
                    } else if let Some((_, g)) = good.as_mut().filter(|_| name == Tag::PropValue && cur.at(&[Tag::Good, Tag::PropValues])) {
                        let (id, values) = std::mem::take(&mut prop_value);
                        if !id.is_empty() {
                            g.properties.extend(values.into_iter().map(|v| (id.clone(), v)));
                        }
                    } else if let Some(prop) = property.as_mut().filter(|_| cur.at(&[Tag::Properties, Tag::Property])) {
                        match name {
                            Tag::Id => prop.id = text.to_string(),
                            Tag::Name => prop.name = text.to_string(),
                            _ => {}
                        }
                    } else if property.is_some() && cur.at(&[Tag::Variants, Tag::RefValue]) {
                        match name {
                            Tag::ValueId => variant.0 = text.to_string(),
                            Tag::Value => variant.1 = text.to_string(),
                            _ => {}
                        }
                    } else if let Some(prop) = property.as_mut().filter(|_| name == Tag::RefValue && cur.at(&[Tag::Property, Tag::Variants])) {
                        let (id, value) = std::mem::take(&mut variant);
                        if !id.is_empty() {
                            prop.variants.insert(id, value);
                        }
                    } else if name == Tag::Property && cur.at(&[Tag::Properties]) && good.is_none() {
                        if let Some(prop) = property.take().filter(|p| !p.id.is_empty()) {
                            cat.properties.push(prop);
                        }
                    } else if let Some(open) = groups.last_mut().filter(|_| cur.at(&[Tag::Groups, Tag::Group])) {
                        match name {
                            Tag::Id => open.0 = text.to_string(),
                            Tag::Name => open.1 = text.to_string(),
                            _ => {}
                        }
                    } else if name == Tag::Group && cur.at(&[Tag::Groups]) && good.is_none() {
                        if let Some((id, group_name)) = groups.pop() {
                            let parent = groups.last().map(|(p, _)| p.clone()).filter(|p| !p.is_empty());
                            if !id.is_empty() {
                                cat.groups.insert(id, Group { name: group_name, parent });
                            }
                        }
                    } else if name == Tag::Good && cur.at(&[Tag::Goods]) {
                        if let Some((id, g)) = good.take() {
                            if !id.is_empty() {
                                cat.goods.insert(id, g);
                            }
                        }
                    } else if let Some(n) = named.as_mut().filter(|_| cur.at(&[Tag::PriceTypes, Tag::PriceType]) || cur.at(&[Tag::Stores, Tag::Store])) {
                        match name {
                            Tag::Id => n.id = text.to_string(),
                            Tag::Name => n.name = text.to_string(),
                            _ => {}
                        }
                    } else if (name == Tag::PriceType && cur.at(&[Tag::PriceTypes])) || (name == Tag::Store && cur.at(&[Tag::Stores])) {
                        if let Some(n) = named.take() {
                            if name == Tag::PriceType { cat.price_types.push(n) } else { cat.warehouses.push(n) }
                        }
                    }
                    cur.text.clear();
                }
            }
        }
    }
    if !seen_root {
        return Err(Error::Source(format!("{file}: the file is empty; expected a CommerceML КоммерческаяИнформация document")));
    }
    if cur.depth > 0 {
        return Err(truncated(&file, &cur));
    }
    Ok(cat)
}

/// One offer as read, before it becomes a record.
#[derive(Debug, Default, Clone)]
struct Offer {
    id: String,
    article: Option<String>,
    name: Option<String>,
    barcode: Option<String>,
    /// (`ИдТипаЦены`, `ЦенаЗаЕдиницу`) in document order.
    prices: Vec<(String, String)>,
    quantity: Option<String>,
    /// (warehouse `Ид`, quantity) in document order.
    stocks: Vec<(String, String)>,
    /// The offer has warehouse data at all (so a configured warehouse it lacks holds 0).
    has_warehouses: bool,
    /// `ХарактеристикиТовара`: (Наименование, Значение) of a characteristic offer.
    characteristics: Vec<(String, String)>,
}

impl Offer {
    /// The quantity at a warehouse (by `Ид`): as given, `0` when the offer lists warehouses but
    /// not this one, empty when it lists none.
    fn quantity_at(&self, warehouse: &str) -> String {
        match self.stocks.iter().find(|(id, _)| id == warehouse) {
            Some((_, q)) => q.clone(),
            None if self.has_warehouses => "0".into(),
            None => String::new(),
        }
    }

    /// A `<Склад ИдСклада=".." КоличествоНаСкладе=".."/>` of the offer (its attributes, if given).
    fn add_store(&mut self, (id, qty): (Option<String>, Option<String>)) {
        self.has_warehouses = true;
        if let Some(id) = id {
            self.stocks.push((id, qty.unwrap_or_default()));
        }
    }
}

/// Where CommerceML values are: an element path with the offer's position.
#[derive(Clone)]
struct Places {
    file: String,
    /// The path of the offers' parent, `КоммерческаяИнформация/ПакетПредложений/Предложения`.
    parent: String,
    regular: Option<String>,
    sale: Option<String>,
    /// The configured warehouses' IDs; empty = the offer's own total.
    warehouses: Vec<String>,
    sku_from_import: bool,
    /// `[source.attributes]`: each attribute's name and the `Ид` of the property it reads.
    attributes: Vec<(String, String)>,
    /// `[source.attributes]` entries naming no property: (attribute name, characteristic name).
    renames: Vec<(String, String)>,
    /// `[sync] parent_sku_from = "external_id"`: a good's variable product has the good's Ид as SKU.
    parent_sku_from_id: bool,
    /// `[source.meta]`: each entry's position and where its values are.
    meta: Vec<(usize, MetaFrom)>,
}

/// Where a `[source.meta]` value is in CommerceML.
#[derive(Clone, Debug)]
enum MetaFrom {
    /// The offer's quantities at these warehouses (by `Ид`), summed.
    Warehouses(Vec<String>),
    /// The offer's price of this price type (`Ид`).
    PriceType(String),
    /// The good's value of this classifier property (`Ид`; reference values resolved).
    Property(String),
    /// The good's requisite of this name (`ЗначенияРеквизитов`).
    Requisite(String),
}

impl Locate for Places {
    fn locate(&self, record: &RawRecord, field: Option<(Field, usize)>) -> String {
        let offer = format!("{}: {}/Предложение[{}]", self.file, self.parent, record.line);
        let tail = match field {
            None => String::new(),
            Some((Field::Sku, _)) if self.sku_from_import => "/Артикул (or the good's Артикул in import.xml)".into(),
            Some((Field::Sku, _)) => "/Артикул".into(),
            Some((Field::Name, _)) => "/Наименование".into(),
            Some((Field::ExternalId, _)) => "/Ид".into(),
            Some((Field::Description, _)) | Some((Field::ShortDescription, _)) => " (the good's Описание in import.xml)".into(),
            Some((Field::Gtin, _)) => "/Штрихкод (or the good's Штрихкод in import.xml)".into(),
            Some((Field::Category, _)) => " (the good's Группы in import.xml)".into(),
            Some((Field::ParentSku, _)) => "/Ид (the good of a characteristic)".into(),
            Some((Field::Images, _)) => " (the good's Картинка in import.xml)".into(),
            Some((Field::RegularPrice, _)) => price_path(self.regular.as_deref()),
            Some((Field::SalePrice, _)) => price_path(self.sale.as_deref()),
            Some((Field::Stock, part)) => match self.warehouses.get(part) {
                Some(id) => format!("/Склад[ИдСклада=\"{id}\"]"),
                None => "/Количество".into(),
            },
        };
        format!("{offer}{tail}")
    }
}

fn price_path(id: Option<&str>) -> String {
    format!("/Цены/Цена[ИдТипаЦены=\"{}\"]/ЦенаЗаЕдиницу", id.unwrap_or(""))
}

/// Picks an entry by `Ид` or by `Наименование` (case-insensitive); a value matching neither is
/// taken as an `Ид` when `list` is empty (the export has no such section).
fn pick(list: &[Named], wanted: &str, what: &str, key: &str, file: &str) -> Result<String> {
    if let Some(n) = list.iter().find(|n| n.id == wanted) {
        return Ok(n.id.clone());
    }
    let by_name: Vec<&Named> = list.iter().filter(|n| n.name.to_lowercase() == wanted.to_lowercase()).collect();
    match by_name.as_slice() {
        [one] => Ok(one.id.clone()),
        [] if list.is_empty() => Ok(wanted.to_string()),
        [] => Err(Error::Source(format!(
            "{file}: {key} = {wanted:?} names no {what}; the {what}s are {}",
            listing(list)
        ))),
        _ => Err(Error::Source(format!(
            "{file}: {key} = {wanted:?} names {} {what}s; use the Ид: {}",
            by_name.len(),
            listing(list)
        ))),
    }
}

fn listing(list: &[Named]) -> String {
    list.iter().map(|n| format!("{:?} (Ид {})", n.name, n.id)).collect::<Vec<_>>().join(", ")
}

/// Reading `offers.xml`: the path, the sections before the offers, the offer being read and
/// the offers finished. One parser reads the head of the file (everything before the first
/// offer); each piece of offers after it is read by a copy of that parser, on a worker thread.
#[derive(Default, Clone)]
struct OfferParser {
    cur: Cursor,
    price_types: Vec<Named>,
    warehouses: Vec<Named>,
    named: Option<Named>,
    offer: Option<Offer>,
    /// The warehouse of an `Остатки/Остаток/Склад` being read: (Ид, Количество).
    nested: Option<(String, String)>,
    seen_root: bool,
    done: Vec<Offer>,
    seen_warehouses: std::collections::HashSet<String>,
}

impl OfferParser {
    /// Reads every element of one piece that starts at `base` in the document.
    fn run(&mut self, piece: &[u8], base: u64, file: &str) -> Result<()> {
        let mut reader = piece_reader(piece);
        loop {
            let mut opened_store: Option<(Option<String>, Option<String>)> = None;
            let step = step(&mut reader, &mut self.cur, file, base, &mut |cur, e| {
                if cur.at(&[Tag::Offer, Tag::Store]) {
                    opened_store = Some((attr(e, "ИдСклада"), attr(e, "КоличествоНаСкладе")));
                }
            })?;
            match step {
                Step::Eof => return Ok(()),
                Step::Open => self.open(opened_store),
                Step::Close => self.close(opened_store),
            }
        }
    }

    fn open(&mut self, opened_store: Option<(Option<String>, Option<String>)>) {
        let cur = &self.cur;
        self.seen_root = true;
        if let (Some(o), Some(store)) = (self.offer.as_mut(), opened_store) {
            o.add_store(store);
        }
        if cur.at(&[Tag::Offers, Tag::Offer]) {
            self.offer = Some(Offer::default());
        } else if self.offer.is_none() && (cur.at(&[Tag::PriceTypes, Tag::PriceType]) || cur.at(&[Tag::Stores, Tag::Store])) {
            self.named = Some(Named::default());
        } else if self.offer.is_some() && cur.at(&[Tag::Rests, Tag::Rest, Tag::Store]) {
            self.nested = Some(Default::default());
        } else if let Some(o) = self.offer.as_mut() {
            if cur.at(&[Tag::Offer, Tag::Prices, Tag::Price]) {
                o.prices.push(Default::default());
            } else if cur.at(&[Tag::Offer, Tag::Characteristics, Tag::Characteristic]) {
                o.characteristics.push(Default::default());
            }
        }
    }

    fn close(&mut self, opened_store: Option<(Option<String>, Option<String>)>) {
        let cur = &self.cur;
        let name = cur.closed;
        // Borrowed: only the values woosync keeps are copied.
        let text = cur.text.trim();
        if let Some(o) = self.offer.as_mut() {
            // `cur` no longer holds `name`: the tail is the element's parent path.
            if cur.at(&[Tag::Offers, Tag::Offer]) {
                match name {
                    Tag::Id => o.id = text.to_string(),
                    Tag::Article => o.article = Some(text.to_string()).filter(|s| !s.is_empty()),
                    Tag::Name => o.name = Some(text.to_string()).filter(|s| !s.is_empty()),
                    Tag::Barcode => o.barcode = Some(text.to_string()).filter(|s| !s.is_empty()),
                    Tag::Quantity => o.quantity = Some(text.to_string()),
                    Tag::Store => {
                        if let Some(store) = opened_store {
                            o.add_store(store);
                        }
                    }
                    _ => {}
                }
            } else if cur.at(&[Tag::Offer, Tag::Characteristics, Tag::Characteristic]) {
                if let Some(c) = o.characteristics.last_mut() {
                    match name {
                        Tag::Name => c.0 = text.to_string(),
                        Tag::Value => c.1 = text.to_string(),
                        _ => {}
                    }
                }
            } else if cur.at(&[Tag::Offer, Tag::Prices, Tag::Price]) {
                if let Some(p) = o.prices.last_mut() {
                    match name {
                        Tag::PriceTypeId => p.0 = text.to_string(),
                        Tag::PerUnit => p.1 = text.to_string(),
                        _ => {}
                    }
                }
            } else if cur.at(&[Tag::Rests, Tag::Rest, Tag::Store]) {
                if let Some(n) = self.nested.as_mut() {
                    match name {
                        Tag::Id => n.0 = text.to_string(),
                        Tag::Quantity => n.1 = text.to_string(),
                        _ => {}
                    }
                }
            } else if cur.at(&[Tag::Rests, Tag::Rest]) {
                if name == Tag::Store {
                    if let Some((id, qty)) = self.nested.take() {
                        o.has_warehouses = true;
                        o.stocks.push((id, qty));
                    }
                } else if name == Tag::Quantity && o.quantity.is_none() {
                    o.quantity = Some(text.to_string());
                }
            } else if name == Tag::Offer && cur.at(&[Tag::Offers]) {
                let done = self.offer.take().expect("an offer is open");
                for (id, _) in &done.stocks {
                    if !self.seen_warehouses.contains(id) {
                        self.seen_warehouses.insert(id.clone());
                    }
                }
                self.done.push(done);
            }
        } else if let Some(n) = self.named.as_mut().filter(|_| cur.at(&[Tag::PriceTypes, Tag::PriceType]) || cur.at(&[Tag::Stores, Tag::Store])) {
            match name {
                Tag::Id => n.id = text.to_string(),
                Tag::Name => n.name = text.to_string(),
                _ => {}
            }
        } else if name == Tag::PriceType && cur.at(&[Tag::PriceTypes]) {
            self.price_types.extend(self.named.take());
        } else if name == Tag::Store && cur.at(&[Tag::Stores]) {
            self.warehouses.extend(self.named.take());
        }
        self.cur.text.clear();
    }
}

/// What a worker hands back for one piece: its offers, the warehouses they name, and the
/// cursor where the piece ended (the path, to check the document is complete).
type PieceResult = Result<(Vec<Offer>, std::collections::HashSet<String>, Cursor)>;

/// The start of an offer element (`<Предложение>`, `<Предложение ...>`), not `<Предложения>`.
fn first_offer(piece: &[u8]) -> Option<usize> {
    let tag = "<Предложение".as_bytes();
    let mut from = 0;
    while let Some(pos) = memchr::memmem::find(&piece[from..], tag) {
        let at = from + pos;
        match piece.get(at + tag.len()) {
            Some(b'>') | Some(b' ') | Some(b'\t') | Some(b'\r') | Some(b'\n') | Some(b'/') => return Some(at),
            _ => from = at + tag.len(),
        }
    }
    None
}

/// Reads `offers.xml`: the head (types, warehouses) on this thread, then the offers in pieces,
/// parsed by two worker threads while this one turns offers into records in document order (and
/// the caller normalises and freezes them).
pub fn read(src: &CmlSource, each: &mut Each<'_>) -> Result<RawFeed> {
    read_in_pieces(src, each, PIECE)
}

fn read_in_pieces(src: &CmlSource, each: &mut Each<'_>, piece_size: usize) -> Result<RawFeed> {
    let import = match &src.import {
        Some(path) => Some(read_import(path)?),
        None => None,
    };
    let label = src.offers.display().to_string();
    let file = file_name(&src.offers);
    let (input, hasher) = open(&src.offers)?;
    let mut pieces = Pieces::new(input, "</Предложение>", piece_size);

    let mut head = OfferParser::default();
    if let Some(c) = &import {
        head.price_types = c.price_types.clone();
        head.warehouses = c.warehouses.clone();
    }
    // The head: everything before the first offer (its pieces hold no offer).
    let mut first: Option<(u64, Vec<u8>)> = None;
    while let Some((base, piece)) = pieces.next(&file)? {
        match first_offer(&piece) {
            Some(at) => {
                head.run(&piece[..at], base, &file)?;
                first = Some((base + at as u64, piece[at..].to_vec()));
                break;
            }
            None => head.run(&piece, base, &file)?,
        }
    }
    if !head.seen_root {
        return Err(Error::Source(format!("{file}: the file is empty; expected a CommerceML КоммерческаяИнформация document")));
    }
    let Some(first) = first else {
        if head.cur.depth > 0 {
            return Err(truncated(&file, &head.cur));
        }
        return Err(Error::Source(format!(
            "{file}: no Предложение elements (expected КоммерческаяИнформация/ПакетПредложений/Предложения/Предложение); \
             refusing to sync an empty feed"
        )));
    };
    let mut at_offer = head.cur.clone();
    at_offer.push("Предложение");
    if !at_offer.at(&[Tag::Offers, Tag::Offer]) {
        return Err(Error::Source(format!(
            "{file}: an offer at {}; expected offers in КоммерческаяИнформация/ПакетПредложений/Предложения",
            at_offer.path()
        )));
    }
    let mut places = resolve(src, &file, &at_offer, &head.price_types, &head.warehouses)?;
    (places.attributes, places.renames) = properties(src, import.as_ref())?;
    meta_texts(src, &mut places, import.as_ref(), &file)?;
    let mut characteristics_seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let seed = OfferParser { cur: head.cur.clone(), seen_root: true, ..Default::default() };

    let mut offers = 0u64;
    let mut seen_warehouses = head.seen_warehouses.clone();
    let mut last = head.cur.clone();
    std::thread::scope(|scope| -> Result<()> {
        let (to_workers, outs): (Vec<_>, Vec<_>) = (0..2)
            .map(|_| {
                let (to, from) = std::sync::mpsc::sync_channel::<(u64, Vec<u8>)>(1);
                let (done, out) = std::sync::mpsc::sync_channel::<PieceResult>(2);
                let seed = &seed;
                let file = &file;
                scope.spawn(move || {
                    for (base, piece) in from {
                        let mut parser = seed.clone();
                        let result = parser.run(&piece, base, file).map(|()| (parser.done, parser.seen_warehouses, parser.cur));
                        if done.send(result).is_err() {
                            break;
                        }
                    }
                });
                (to, out)
            })
            .unzip();
        let file_ref = &file;
        let reader = scope.spawn(move || -> Result<()> {
            let mut n = 0usize;
            let mut next = Some(first);
            while let Some(piece) = next.take() {
                if to_workers[n % 2].send(piece).is_err() {
                    return Ok(());
                }
                n += 1;
                next = pieces.next(file_ref)?;
            }
            Ok(())
        });
        let mut n = 0usize;
        while let Ok(result) = outs[n % 2].recv() {
            let (done, seen, cur) = result?;
            for offer in done {
                offers += 1;
                characteristics_seen.extend(offer.characteristics.iter().map(|(n, _)| n.trim().to_lowercase()));
                let record = record(offer, offers, &places, import.as_ref());
                each(&record, &places);
            }
            seen_warehouses.extend(seen);
            last = cur;
            n += 1;
        }
        drop(outs);
        reader.join().unwrap_or_else(|_| Err(Error::Internal("the XML reader thread panicked".into())))
    })?;
    if last.depth > 0 {
        return Err(truncated(&file, &last));
    }
    if let Some((name, source)) = places.renames.iter().find(|(_, c)| !characteristics_seen.contains(&c.to_lowercase())) {
        let known: Vec<String> = import.iter().flat_map(|c| c.properties.iter().map(|p| format!("{} ({})", p.name, p.id))).collect();
        return Err(Error::Source(format!(
            "{file}: `{source}` (attribute {name} in [source.attributes]) is neither a property of import.xml's Классификатор/Свойства nor a characteristic (ХарактеристикаТовара) of any offer; the properties are: {}",
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        )));
    }
    let known: std::collections::HashSet<&str> = head.warehouses.iter().map(|w| w.id.as_str()).collect();
    let meta_warehouses = places.meta.iter().flat_map(|(_, from)| match from {
        MetaFrom::Warehouses(ids) => ids.as_slice(),
        _ => &[],
    });
    for id in places.warehouses.iter().chain(meta_warehouses) {
        if !known.contains(id.as_str()) && !seen_warehouses.contains(id) {
            let mut seen: Vec<&String> = seen_warehouses.iter().collect();
            seen.sort();
            return Err(Error::Source(format!(
                "{file}: warehouse {id:?} from [source.columns] stock or [source.meta] appears in no offer and in no Склады section; \
                 the warehouses seen are {}",
                seen.iter().map(|w| format!("{w:?}")).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(RawFeed { label, sha256: digest(&hasher) })
}

/// Turns the configured price types and warehouses into IDs, once the sections before the
/// first offer have been read.
fn resolve(src: &CmlSource, file: &str, cur: &Cursor, price_types: &[Named], warehouses: &[Named]) -> Result<Places> {
    let columns = &src.columns;
    let regular = match &columns.regular_price {
        Some(wanted) => Some(pick(price_types, wanted, "price type", "[source.columns] regular_price", file)?),
        None => match price_types {
            [one] => Some(one.id.clone()),
            [] => {
                tracing::warn!("{file} names no price types (no ТипыЦен section): prices are not read; set [source.columns] regular_price to a price type's Ид to read them");
                None
            }
            many => {
                return Err(Error::Source(format!(
                    "{file}: the export has {} price types; choose the regular one with [source.columns] regular_price = \"<Ид or Наименование>\": {}",
                    many.len(),
                    listing(many)
                )))
            }
        },
    };
    let sale = columns.sale_price.as_deref().map(|w| pick(price_types, w, "price type", "[source.columns] sale_price", file)).transpose()?;
    let stock_ids = match &columns.stock {
        None => Vec::new(),
        Some(list) => list.names().iter().map(|w| pick(warehouses, w, "warehouse", "[source.columns] stock", file)).collect::<Result<_>>()?,
    };
    let stack = cur.stack();
    let parent = stack[..stack.len().saturating_sub(1)].join("/");
    let mut meta = Vec::new();
    for (entry, m) in columns.meta.iter().enumerate() {
        let key = format!("[source.meta] {}", m.key);
        let from = match m.kind {
            MetaKind::Stock => MetaFrom::Warehouses(m.from.iter().map(|w| pick(warehouses, w, "warehouse", &key, file)).collect::<Result<_>>()?),
            MetaKind::Price => MetaFrom::PriceType(pick(price_types, &m.from[0], "price type", &key, file)?),
            // A property or requisite of import.xml's goods: resolved with import.xml.
            MetaKind::Text => MetaFrom::Requisite(m.from[0].clone()),
        };
        meta.push((entry, from));
    }
    Ok(Places { file: file.to_string(), parent, regular, sale, warehouses: stock_ids, sku_from_import: src.import.is_some(), attributes: Vec::new(), renames: Vec::new(), parent_sku_from_id: src.parent_sku_from_id, meta })
}

/// The text entries of `[source.meta]` as a property of `import.xml`'s classifier (by `Ид` or
/// `Наименование`, without case) or else a requisite of its goods (`ЗначенияРеквизитов`, by
/// `Наименование`); one that is neither fails the source.
fn meta_texts(src: &CmlSource, places: &mut Places, import: Option<&Catalogue>, file: &str) -> Result<()> {
    for (entry, from) in &mut places.meta {
        let MetaFrom::Requisite(wanted) = from else { continue };
        let key = src.columns.meta[*entry].key;
        let Some(c) = import else {
            return Err(Error::Source(format!(
                "{file}: [source.meta] {key} = {wanted:?} is a good's property or requisite, which import.xml holds; set [source] import_path"
            )));
        };
        let lower = wanted.to_lowercase();
        if let Some(p) = c.properties.iter().find(|p| p.id == *wanted).or_else(|| c.properties.iter().find(|p| p.name.trim().to_lowercase() == lower)) {
            *from = MetaFrom::Property(p.id.clone());
        } else if !c.requisite_names.contains(&lower) {
            let mut known: Vec<String> = c.properties.iter().map(|p| format!("{} ({})", p.name, p.id)).collect();
            let mut requisites: Vec<&String> = c.requisite_names.iter().collect();
            requisites.sort();
            known.extend(requisites.into_iter().map(|r| format!("{r} (requisite)")));
            return Err(Error::Source(format!(
                "{file}: [source.meta] {key} = {wanted:?} is neither a property of import.xml's Классификатор/Свойства nor a requisite (ЗначенияРеквизитов) of any good; found: {}",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            )));
        }
    }
    Ok(())
}

/// `[source.attributes]` as properties of `import.xml`'s classifier, each by its `Ид` or
/// `Наименование` (without case); an entry naming no property renames the characteristic of
/// that name (checked once every offer is read).
#[allow(clippy::type_complexity)]
fn properties(src: &CmlSource, import: Option<&Catalogue>) -> Result<(Vec<(String, String)>, Vec<(String, String)>)> {
    let (mut props, mut renames) = (Vec::new(), Vec::new());
    for (name, property) in &src.columns.attributes {
        let key = property.to_lowercase();
        let found = import.and_then(|c| c.properties.iter().find(|p| p.id == *property).or_else(|| c.properties.iter().find(|p| p.name.trim().to_lowercase() == key)));
        match found {
            Some(p) => props.push((name.clone(), p.id.clone())),
            None => renames.push((name.clone(), property.clone())),
        }
    }
    Ok((props, renames))
}

fn record(mut o: Offer, n: u64, p: &Places, import: Option<&Catalogue>) -> RawRecord {
    let mut r = RawRecord { line: n, ..Default::default() };
    // `good#characteristic`: a variation of the good, whose variable product it is.
    let good_of = o.id.split_once('#').filter(|(g, c)| !g.is_empty() && !c.is_empty()).map(|(g, _)| g.to_string());
    if let Some(good_id) = good_of {
        let good = import.and_then(|c| c.goods.get(&good_id));
        characteristic(&mut r, &mut o, &good_id, good, p, import);
        return finish_record(r, o, p);
    }
    let good = import.and_then(|c| c.goods.get(&o.id));
    let article = o.article.take().or_else(|| good.and_then(|g| g.article.clone()));
    let name = o.name.take().or_else(|| good.and_then(|g| g.name.clone()));
    match article {
        Some(a) => r.set(Field::Sku, a),
        None => {
            r.set(Field::Sku, String::new());
            let hint = if import.is_some() {
                "neither the offer nor its good in import.xml has one"
            } else {
                "set [source] import_path to import.xml if the articles are there"
            };
            r.reject(Some((Field::Sku, 0)), format!("the offer (Ид {}) has no Артикул; {hint}", o.id));
        }
    }
    if let Some(name) = name {
        r.set(Field::Name, name);
    }
    if let Some(d) = good.and_then(|g| g.description.clone()) {
        r.set(Field::Description, d);
    }
    if let Some(b) = o.barcode.take().or_else(|| good.and_then(|g| g.barcode.clone())) {
        r.set(Field::Gtin, b);
    }
    good_pictures(&mut r, good);
    good_groups(&mut r, good, import);
    good_properties(&mut r, good, p, import);
    good_meta(&mut r, good, p, import);
    finish_record(r, o, p)
}

/// A characteristic offer: no SKU of its own unless its Артикул differs from its good's (at
/// creation `[sync] variation_sku` may make one); its parent's SKU is the good's Артикул (or the
/// good's Ид with `parent_sku_from = "external_id"`); the good's name, description, groups and
/// mapped properties are its parent's; its characteristics are its attributes.
fn characteristic(r: &mut RawRecord, o: &mut Offer, good_id: &str, good: Option<&Good>, p: &Places, import: Option<&Catalogue>) {
    let good_article = good.and_then(|g| g.article.clone());
    let own = o.article.take();
    let parent = if p.parent_sku_from_id { Some(good_id.to_string()) } else { good_article.clone().or_else(|| own.clone()) };
    let sku = own.filter(|a| good_article.as_deref().is_some_and(|g| g.trim() != a.trim()));
    r.set(Field::Sku, sku.unwrap_or_default());
    match parent {
        Some(a) => r.set(Field::ParentSku, a),
        None => r.reject(
            Some((Field::Sku, 0)),
            format!("the characteristic offer (Ид {}) and its good have no Артикул, the SKU of the good's variable product; set [sync] parent_sku_from = \"external_id\" to use the good's Ид", o.id),
        ),
    }
    r.parent_external = Some(good_id.to_string());
    if let Some(name) = good.and_then(|g| g.name.clone()).or_else(|| o.name.take()) {
        r.set(Field::Name, name);
    }
    if let Some(d) = good.and_then(|g| g.description.clone()) {
        r.set(Field::Description, d);
    }
    if let Some(b) = o.barcode.take() {
        r.set(Field::Gtin, b);
    }
    good_pictures(r, good);
    good_groups(r, good, import);
    good_properties(r, good, p, import);
    good_meta(r, good, p, import);
    for (name, value) in std::mem::take(&mut o.characteristics) {
        let name = name.trim();
        let renamed = p.renames.iter().find(|(_, c)| c.trim().to_lowercase() == name.to_lowercase()).map(|(a, _)| a.as_str()).unwrap_or(name);
        if !renamed.is_empty() {
            r.attributes.push((renamed.to_string(), value));
        }
    }
}

/// The good's pictures (every `Картинка`, `|`-separated as the images field takes them; read
/// only with `[wordpress]`). A characteristic offer's are its variable product's.
fn good_pictures(r: &mut RawRecord, good: Option<&Good>) {
    if let Some(g) = good.filter(|g| !g.pictures.is_empty()) {
        r.set(Field::Images, g.pictures.join("|"));
    }
}

/// The good's groups as category paths (`Группы/Ид` through `Классификатор/Группы`).
fn good_groups(r: &mut RawRecord, good: Option<&Good>, import: Option<&Catalogue>) {
    if let (Some(g), Some(c)) = (good, import) {
        if !g.groups.is_empty() && !c.groups.is_empty() {
            match g.groups.iter().map(|id| c.group_path(id)).collect::<std::result::Result<Vec<_>, _>>() {
                Ok(paths) => r.paths = Some(paths),
                Err(why) => r.reject(Some((Field::Category, 0)), why),
            }
        }
    }
}

/// The good's mapped properties (`ЗначенияСвойств`), reference values resolved.
fn good_properties(r: &mut RawRecord, good: Option<&Good>, p: &Places, import: Option<&Catalogue>) {
    if let (Some(g), Some(c)) = (good, import) {
        for (name, property) in &p.attributes {
            if let Some(values) = property_values(g, c, property) {
                r.attributes.push((name.clone(), values));
            }
        }
    }
}

/// The good's values of a classifier property (by `Ид`), reference values resolved through
/// `ВариантыЗначений`, several joined by `|`; `None` when it has none.
fn property_values(g: &Good, c: &Catalogue, property: &str) -> Option<String> {
    let variants = c.properties.iter().find(|p| p.id == property).map(|p| &p.variants);
    let values: Vec<&str> = g.properties.iter().filter(|(id, _)| id == property).map(|(_, v)| variants.and_then(|vs| vs.get(v)).map(String::as_str).unwrap_or(v)).collect();
    (!values.is_empty()).then(|| values.join("|"))
}

/// The good's `[source.meta]` texts: a property's values (reference values resolved, several
/// joined by `|`) or a requisite's value.
fn good_meta(r: &mut RawRecord, good: Option<&Good>, p: &Places, import: Option<&Catalogue>) {
    let (Some(g), Some(c)) = (good, import) else { return };
    for (entry, from) in &p.meta {
        let value = match from {
            MetaFrom::Property(id) => property_values(g, c, id),
            MetaFrom::Requisite(name) => g.requisites.iter().find(|(n, _)| n.to_lowercase() == name.to_lowercase()).map(|(_, v)| v.clone()),
            _ => None,
        };
        if let Some(v) = value {
            r.meta.push((*entry, v));
        }
    }
}

/// The offer's `[source.meta]` quantities and prices: a configured warehouse the offer lacks
/// holds 0 when it lists warehouses at all; an offer without the price type leaves it alone.
fn offer_meta(r: &mut RawRecord, o: &Offer, p: &Places) {
    for (entry, from) in &p.meta {
        match from {
            MetaFrom::Warehouses(ids) if o.has_warehouses => r.meta.extend(ids.iter().map(|w| (*entry, o.quantity_at(w)))),
            MetaFrom::PriceType(id) => {
                if let Some((_, v)) = o.prices.iter().find(|(t, _)| t == id) {
                    r.meta.push((*entry, v.clone()));
                }
            }
            _ => {}
        }
    }
}

/// The ID, prices and stock of any offer.
fn finish_record(mut r: RawRecord, mut o: Offer, p: &Places) -> RawRecord {
    offer_meta(&mut r, &o, p);
    if o.id.is_empty() {
        r.reject(Some((Field::ExternalId, 0)), "the offer has no Ид".into());
    }
    r.set(Field::ExternalId, std::mem::take(&mut o.id));
    let mut price = |id: &Option<String>| -> Option<String> {
        let id = id.as_ref()?;
        Some(o.prices.iter_mut().find(|(t, _)| t == id).map(|(_, v)| std::mem::take(v)).unwrap_or_default())
    };
    if let Some(v) = price(&p.regular) {
        r.set(Field::RegularPrice, v);
    }
    if let Some(v) = price(&p.sale) {
        r.set(Field::SalePrice, v);
    }
    if p.warehouses.is_empty() {
        let total = match (o.quantity.take(), o.has_warehouses) {
            (Some(q), _) => Some(q),
            (None, true) => {
                // No total: the sum of every warehouse, written out so normalisation adds it up.
                let mut parts = o.stocks.drain(..).map(|(_, q)| q);
                let first = parts.next().unwrap_or_default();
                r.more_stock = parts.collect();
                Some(first)
            }
            (None, false) => None,
        };
        if let Some(t) = total {
            r.set(Field::Stock, t);
        }
    } else {
        let mut parts = p.warehouses.iter().map(|w| o.quantity_at(w));
        r.set(Field::Stock, parts.next().unwrap_or_default());
        r.more_stock = parts.collect();
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many small pieces read exactly like one: records, order, places, errors.
    #[test]
    fn pieces_of_any_size_read_the_same() {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация><ПакетПредложений>\
            <ТипыЦен><ТипЦены><Ид>p</Ид><Наименование>Розничная</Наименование></ТипЦены></ТипыЦен><Предложения>\n");
        for i in 0..60 {
            let price = if i == 41 { "x".to_string() } else { format!("{i}.50") };
            xml.push_str(&format!(
                "<Предложение><Ид>g-{i}</Ид><Артикул>A&amp;{i}</Артикул><Цены><Цена><ИдТипаЦены>p</ИдТипаЦены>\
                 <ЦенаЗаЕдиницу>{price}</ЦенаЗаЕдиницу></Цена></Цены><Остатки><Остаток><Склад><Ид>w</Ид><Количество>{i}</Количество></Склад></Остаток></Остатки></Предложение>\n"
            ));
        }
        xml.push_str("</Предложения></ПакетПредложений></КоммерческаяИнформация>\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offers.xml");
        std::fs::write(&path, &xml).unwrap();
        let src = CmlSource { offers: path.clone(), import: None, columns: Default::default(), parent_sku_from_id: false };
        let read = |size: usize| {
            let mut rows = Vec::new();
            let feed = read_in_pieces(&src, &mut |r, at| rows.push((r.clone(), at.locate(r, Some((Field::RegularPrice, 0))))), size).unwrap();
            (rows, feed.sha256)
        };
        let (whole, sha) = read(PIECE);
        assert_eq!(whole.len(), 60);
        assert_eq!(whole[7].0.get(Field::Sku), Some("A&7"));
        assert_eq!(whole[7].0.get(Field::Stock), Some("7"));
        assert!(whole[41].1.ends_with("Предложение[42]/Цены/Цена[ИдТипаЦены=\"p\"]/ЦенаЗаЕдиницу"), "{}", whole[41].1);
        for size in [64, 300, 1000] {
            let (pieces, piece_sha) = read(size);
            assert_eq!(pieces, whole, "piece size {size}");
            assert_eq!(piece_sha, sha);
        }
        // A document cut inside an offer fails whatever the piece size.
        std::fs::write(&path, &xml[..xml.len() - 200]).unwrap();
        for size in [64, PIECE] {
            let err = read_in_pieces(&src, &mut |_, _| {}, size).unwrap_err().to_string();
            assert!(err.contains("the XML ends inside") || err.contains("malformed XML"), "{size}: {err}");
        }
    }

    #[test]
    fn an_offer_over_16_mib_is_refused_with_bounded_memory() {
        let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация><ПакетПредложений><Предложения>\n\
            <Предложение><Ид>g-1</Ид><Артикул>A-1</Артикул></Предложение>\n<Предложение><Ид>g-2</Ид><Наименование>";
        let mut xml = head.as_bytes().to_vec();
        xml.extend(std::iter::repeat_n(b'x', (MAX_ROW_BYTES as usize) + 2 * PIECE));
        xml.extend("</Наименование></Предложение></Предложения></ПакетПредложений></КоммерческаяИнформация>\n".as_bytes());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offers.xml");
        std::fs::write(&path, &xml).unwrap();
        let src = CmlSource { offers: path, import: None, columns: Default::default(), parent_sku_from_id: false };
        let mut rows = 0;
        let err = read_in_pieces(&src, &mut |_, _| rows += 1, PIECE).unwrap_err().to_string();
        assert!(err.contains("offers.xml: no `</Предложение>` within 16 MiB from byte"), "{err}");
    }

    #[test]
    fn the_declared_encoding_is_found() {
        assert_eq!(declared_encoding(b"<?xml version=\"1.0\" encoding=\"windows-1251\"?><a/>").as_deref(), Some("windows-1251"));
        assert_eq!(declared_encoding(b"\xEF\xBB\xBF<?xml version='1.0' encoding = 'UTF-8' ?>").as_deref(), Some("UTF-8"));
        assert_eq!(declared_encoding(b"<?xml version=\"1.0\"?><a/>"), None);
        assert_eq!(declared_encoding(b"<a/>"), None);
    }

    #[test]
    fn pick_by_id_or_name() {
        let list = vec![Named { id: "p1".into(), name: "Розничная".into() }, Named { id: "p2".into(), name: "Оптовая".into() }];
        assert_eq!(pick(&list, "p2", "price type", "k", "f").unwrap(), "p2");
        assert_eq!(pick(&list, "розничная", "price type", "k", "f").unwrap(), "p1");
        let err = pick(&list, "Акция", "price type", "regular_price", "offers.xml").unwrap_err().to_string();
        assert!(err.contains("\"Розничная\" (Ид p1)") && err.contains("regular_price"), "{err}");
        assert_eq!(pick(&[], "x-1", "warehouse", "stock", "f").unwrap(), "x-1");
    }
}
