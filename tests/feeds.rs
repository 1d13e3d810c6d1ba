//! `woosync feed` against a real MariaDB: products synced from a feed (with `[source.meta]`
//! per-marketplace values), published, given pictures, brands, shipping classes and tags, then
//! written as Yandex, Ozon and Megamarket YML and read back with an XML parser: each format's
//! required elements, the filters, offer ids, stock and prices, variations grouped, permalinks,
//! escaping, the zero-stock farewell, the size guard, atomic replacement, the journal.

mod common;

use std::path::{Path, PathBuf};

use common::TestShop;
use mysql_async::prelude::*;
use woosync::config::Settings;
use woosync::feed::{self, FeedOptions, FeedRun};

/// An element of a parsed feed.
#[derive(Debug, Default, Clone)]
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<El>,
}

impl El {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    fn child(&self, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == name)
    }
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
    fn offers(&self) -> Vec<&El> {
        self.child("shop").and_then(|s| s.child("offers")).map(|o| o.all("offer").collect()).unwrap_or_default()
    }
    fn offer(&self, id: &str) -> Option<&El> {
        self.offers().into_iter().find(|o| o.attr("id") == Some(id))
    }
}

/// Parses a whole feed with quick-xml (decoding its declared encoding, gunzipping when asked).
fn parse(path: &Path) -> El {
    let mut bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out).unwrap();
        bytes = out;
    }
    if bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>") {
        bytes = encoding_rs::WINDOWS_1251.decode(&bytes).0.into_owned().into_bytes();
    }
    let mut reader = quick_xml::Reader::from_reader(&bytes[..]);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<El> = vec![El::default()];
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).unwrap_or_else(|e| panic!("{} is not well formed: {e}", path.display())) {
            quick_xml::events::Event::Start(e) => stack.push(element(&e)),
            quick_xml::events::Event::Empty(e) => {
                let el = element(&e);
                stack.last_mut().unwrap().children.push(el);
            }
            quick_xml::events::Event::End(_) => {
                let el = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(el);
            }
            quick_xml::events::Event::Text(t) => {
                let text = t.xml10_content().into_owned();
                stack.last_mut().unwrap().text.push_str(&text);
            }
            quick_xml::events::Event::GeneralRef(r) => {
                let name: String = (*r).to_string();
                let ch = match name.as_str() {
                    "amp" => "&".to_string(),
                    "lt" => "<".into(),
                    "gt" => ">".into(),
                    "quot" => "\"".into(),
                    "apos" => "'".into(),
                    other => panic!("unexpected entity &{other};"),
                };
                stack.last_mut().unwrap().text.push_str(&ch);
            }
            quick_xml::events::Event::CData(c) => {
                let text = c.xml10_content().into_owned();
                stack.last_mut().unwrap().text.push_str(&text);
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut doc = stack.pop().unwrap();
    assert_eq!(doc.children.len(), 1, "one root");
    doc.children.pop().unwrap()
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> El {
    El {
        name: e.name().as_ref().to_string(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (a.key.as_ref().to_string(), a.normalized_value(quick_xml::XmlVersion::Implicit1_0).unwrap().into_owned())
            })
            .collect(),
        ..El::default()
    }
}

/// Each format's required elements (Yandex YML, Ozon's and Megamarket's stock and price feeds).
fn assert_required(doc: &El, format: &str) {
    assert_eq!(doc.name, "yml_catalog");
    let date = doc.attr("date").expect("yml_catalog date");
    assert!(chrono::DateTime::parse_from_rfc3339(date).is_ok(), "date {date} is RFC 3339 with an offset");
    let shop = doc.child("shop").expect("shop");
    for e in ["name", "company", "url"] {
        assert!(!shop.text_of(e).unwrap_or("").trim().is_empty(), "shop/{e}");
    }
    let currency = shop.child("currencies").and_then(|c| c.child("currency")).expect("currencies/currency");
    assert_eq!((currency.attr("id"), currency.attr("rate")), (Some("RUR"), Some("1")));
    let categories: Vec<&El> = shop.child("categories").expect("categories").all("category").collect();
    assert!(!categories.is_empty());
    for c in &categories {
        assert!(c.attr("id").is_some() && !c.text.is_empty());
        if let Some(parent) = c.attr("parentId") {
            assert!(categories.iter().any(|p| p.attr("id") == Some(parent)), "parentId {parent} is a listed category");
        }
    }
    for o in doc.offers() {
        assert!(o.attr("id").is_some_and(|i| !i.is_empty()));
        assert!(matches!(o.attr("available"), Some("true" | "false")));
        for e in ["name", "url", "price", "currencyId"] {
            assert!(!o.text_of(e).unwrap_or("").is_empty(), "offer {:?} lacks {e}", o.attr("id"));
        }
        let price = o.text_of("price").unwrap();
        assert!(price.parse::<f64>().is_ok() && !price.contains(','), "price {price}");
        if let Some(cat) = o.text_of("categoryId") {
            assert!(categories.iter().any(|c| c.attr("id") == Some(cat)), "categoryId {cat} listed");
        }
        match format {
            "yandex" => assert!(o.text_of("count").is_some_and(|c| c.parse::<u64>().is_ok()), "yandex count"),
            "ozon" => {
                let outlet = o.child("outlets").and_then(|x| x.child("outlet")).expect("ozon outlets/outlet");
                assert!(outlet.attr("instock").is_some_and(|c| c.parse::<u64>().is_ok()) && outlet.attr("warehouse_name").is_some());
            }
            "megamarket" => {
                let outlet = o.child("outlets").and_then(|x| x.child("outlet")).expect("megamarket outlets/outlet");
                assert!(outlet.attr("id").is_some() && outlet.attr("instock").is_some_and(|c| c.parse::<u64>().is_ok()));
            }
            other => panic!("{other}"),
        }
    }
}

async fn sql(shop: &mut TestShop, q: &str) {
    shop.conn.query_drop(q.replace("{p}", &shop.prefix)).await.unwrap_or_else(|e| panic!("{q}: {e}"));
}

/// A term of `taxonomy` (created when new); its term_taxonomy_id.
async fn term(shop: &mut TestShop, taxonomy: &str, slug: &str, name: &str, parent: u64) -> u64 {
    let found: Option<u64> = shop
        .conn
        .exec_first("SELECT tt.term_taxonomy_id FROM wp_term_taxonomy tt JOIN wp_terms t ON t.term_id = tt.term_id WHERE tt.taxonomy = ? AND t.slug = ?", (taxonomy, slug))
        .await
        .unwrap();
    if let Some(tt) = found {
        return tt;
    }
    shop.conn.exec_drop("INSERT INTO wp_terms (name, slug, term_group) VALUES (?, ?, 0)", (name, slug)).await.unwrap();
    let id = shop.conn.last_insert_id().unwrap();
    shop.conn.exec_drop("INSERT INTO wp_term_taxonomy (term_id, taxonomy, description, parent, count) VALUES (?, ?, '', ?, 0)", (id, taxonomy, parent)).await.unwrap();
    shop.conn.last_insert_id().unwrap()
}

async fn relate(shop: &mut TestShop, object: u64, tt: u64) {
    shop.conn.exec_drop("INSERT IGNORE INTO wp_term_relationships (object_id, term_taxonomy_id, term_order) VALUES (?, ?, 0)", (object, tt)).await.unwrap();
}

async fn set_meta(shop: &mut TestShop, id: u64, key: &str, value: &str) {
    shop.conn.exec_drop("DELETE FROM wp_postmeta WHERE post_id = ? AND meta_key = ?", (id, key)).await.unwrap();
    shop.conn.exec_drop("INSERT INTO wp_postmeta (post_id, meta_key, meta_value) VALUES (?, ?, ?)", (id, key, value)).await.unwrap();
}

/// An attachment with its file; its ID.
async fn attachment(shop: &mut TestShop, parent: u64, file: &str) -> u64 {
    shop.conn
        .exec_drop(
            "INSERT INTO wp_posts (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, comment_status, ping_status, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, post_parent, guid, menu_order, post_type, post_mime_type) \
             VALUES (1, NOW(), UTC_TIMESTAMP(), '', ?, '', 'inherit', 'open', 'closed', ?, '', '', NOW(), UTC_TIMESTAMP(), '', ?, '', 0, 'attachment', 'image/jpeg')",
            (file, file.replace(['/', '.'], "-"), parent),
        )
        .await
        .unwrap();
    let id = shop.conn.last_insert_id().unwrap();
    set_meta(shop, id, "_wp_attached_file", file).await;
    id
}

async fn publish_all(shop: &mut TestShop) {
    // As the admin screen does on publishing: a draft's empty slug gets one.
    sql(shop, "UPDATE {p}posts SET post_status = 'publish', post_name = IF(post_name = '', CONCAT('product-', ID), post_name) WHERE post_type = 'product'").await;
}

async fn write(settings: &Settings, dry_run: bool, force: bool) -> FeedRun {
    feed::write(settings, FeedOptions { dry_run, force, batch: Some(2), ..FeedOptions::default() }).await.expect("feed run")
}

fn path(shop: &TestShop, name: &str) -> PathBuf {
    shop.dir.path().join(name)
}

const SOURCE: &str = "[source.columns]\ncategory = \"category\"\n\
                      [source.attributes]\n\"Размер\" = \"Размер\"\n\
                      [source.meta]\n_woosync_stock_ozon = { stock = [\"ozon\"] }\n_woosync_price_ozon = { price = \"price_ozon\" }\n_woosync_yandex_code = \"code\"\n\
                      [sync]\nattribute_slugs = { \"Размер\" = \"razmer\" }\n";

const SHOP: &str = "[feeds]\nmin_offers_percent = 50\n[feeds.shop]\nname = \"Бином\"\ncompany = \"ООО «Бином» & Ко\"\n";

const FEED: &str = "sku,name,regular_price,sale_price,stock,category,description,gtin,Размер,parent_sku,ozon,price_ozon,code\n\
    CUP-1,Кружка & блюдце <большая>,500,450,4,Посуда > Кружки,\"<p>Фарфор]]>глазурь</p>\",4600000000017,,,3,480,ЦБ-0001\n\
    POT-1,\"Чайник \"\"Утро\"\" ☕\",2000,,0,Посуда,Чайник,,,,,,\n\
    BODY,Боди,,,,Одежда,Хлопок,,,,,,\n\
    BODY-42,Боди 42,990,,5,,,,42,BODY,2,950,\n\
    BODY-44,Боди 44,990,,0,,,,44,BODY,0,950,\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_format_holds_its_required_elements_with_the_synced_values() {
    let mut shop = TestShop::new().await;
    let (ym, oz, mm) = (path(&shop, "ym.xml"), path(&shop, "ozon.xml"), path(&shop, "mm.xml"));
    let feeds = format!(
        "{SHOP}[[feeds.file]]\nname = \"ym\"\nformat = \"yandex\"\npath = \"ym.xml\"\noffer_id = [\"_woosync_yandex_code\", \"sku\"]\n\
         [[feeds.file]]\nname = \"ozon\"\nformat = \"ozon\"\npath = \"ozon.xml\"\nwarehouse = \"Склад & КГТ\"\nstock = \"_woosync_stock_ozon\"\nprice = \"_woosync_price_ozon\"\nmin_price = \"_woosync_price_ozon\"\n\
         [[feeds.file]]\nname = \"mm\"\nformat = \"megamarket\"\npath = \"mm.xml\"\nwarehouse = \"1234\"\nshipment_days = 2\n"
    );
    let settings = shop.settings(FEED, &format!("{SOURCE}{feeds}"));
    let out = shop.sync(&settings).await;
    assert_eq!(out.counts.created, 5, "{}", shop.report());
    publish_all(&mut shop).await;
    let (cup, pot, body, b42, b44) = (
        shop.id_of("CUP-1").await.unwrap(),
        shop.id_of("POT-1").await.unwrap(),
        shop.id_of("BODY").await.unwrap(),
        shop.id_of("BODY-42").await.unwrap(),
        shop.id_of("BODY-44").await.unwrap(),
    );
    // Pictures (featured then gallery), a brand, a variation without its own SKU.
    let (a, b) = (attachment(&mut shop, cup, "2026/12/cup.jpg").await, attachment(&mut shop, cup, "2026/12/cup-2.jpg").await);
    set_meta(&mut shop, cup, "_thumbnail_id", &a.to_string()).await;
    set_meta(&mut shop, cup, "_product_image_gallery", &b.to_string()).await;
    // A second file row of one attachment: the first counts, as `get_post_meta(…, true)` reads it.
    shop.conn.exec_drop("INSERT INTO wp_postmeta (post_id, meta_key, meta_value) VALUES (?, '_wp_attached_file', '2026/12/other.jpg')", (a,)).await.unwrap();
    let brand = term(&mut shop, "product_brand", "binom", "Бином &amp; сыновья", 0).await;
    relate(&mut shop, cup, brand).await;
    let bare = {
        sql(&mut shop, &format!("INSERT INTO {{p}}posts (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, comment_status, ping_status, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, post_parent, guid, menu_order, post_type) VALUES (1, NOW(), UTC_TIMESTAMP(), '', 'Боди 46', '', 'publish', 'closed', 'closed', 'body-46', '', '', NOW(), UTC_TIMESTAMP(), '', {body}, '', 3, 'product_variation')")).await;
        let id = shop.conn.last_insert_id().unwrap();
        set_meta(&mut shop, id, "_price", "990").await;
        set_meta(&mut shop, id, "attribute_pa_razmer", "46").await;
        id
    };

    let run = write(&settings, false, false).await;
    assert!(run.failed.is_empty(), "{:?}", run.failed);
    assert_eq!(run.skipped.get("variations without their own SKU"), Some(&1), "{:?}", run.skipped);
    let doc = parse(&ym);
    assert_required(&doc, "yandex");
    assert_required(&parse(&oz), "ozon");
    assert_required(&parse(&mm), "megamarket");
    let shop_el = doc.child("shop").unwrap();
    assert_eq!((shop_el.text_of("name"), shop_el.text_of("company"), shop_el.text_of("url")), (Some("Бином"), Some("ООО «Бином» & Ко"), Some("http://shop.example")));

    // The offer id falls back from the 1C code to the SKU.
    let ids: Vec<&str> = doc.offers().iter().map(|o| o.attr("id").unwrap()).collect();
    assert_eq!(ids, ["ЦБ-0001", "POT-1", "BODY-42", "BODY-44"], "variable parent never an offer; the SKU-less variation {bare} skipped");
    let c = doc.offer("ЦБ-0001").unwrap();
    assert_eq!(c.text_of("name"), Some("Кружка & блюдце <большая>"));
    assert_eq!(c.text_of("url"), Some(format!("http://shop.example/?product=product-{cup}").as_str()));
    assert_eq!((c.text_of("price"), c.text_of("oldprice"), c.text_of("currencyId")), (Some("450"), Some("500"), Some("RUR")));
    let pictures: Vec<&str> = c.all("picture").map(|p| p.text.as_str()).collect();
    assert_eq!(pictures, ["http://shop.example/wp-content/uploads/2026/12/cup.jpg", "http://shop.example/wp-content/uploads/2026/12/cup-2.jpg"]);
    assert_eq!((c.text_of("vendor"), c.text_of("barcode"), c.text_of("count")), (Some("Бином & сыновья"), Some("4600000000017"), Some("4")));
    assert_eq!(c.text_of("description"), Some("<p>Фарфор]]>глазурь</p>"), "CDATA split around ]]>");
    let kruzhki: String = shop.scalar("SELECT CAST(t.term_id AS CHAR) FROM {p}terms t JOIN {p}term_taxonomy tt ON tt.term_id = t.term_id WHERE tt.taxonomy = 'product_cat' AND t.name = 'Кружки'").await;
    assert_eq!(c.text_of("categoryId"), Some(kruzhki.as_str()), "the deepest category");
    let pot_el = doc.offer("POT-1").unwrap();
    assert_eq!((pot_el.text_of("name"), pot_el.attr("available"), pot_el.text_of("count"), pot_el.text_of("oldprice")), (Some("Чайник \"Утро\" ☕"), Some("false"), Some("0"), None), "out of stock stays, with zero");
    // Variations grouped by their parent, named by its name and their values, linked with their attributes.
    let v = doc.offer("BODY-42").unwrap();
    assert_eq!(v.attr("group_id"), Some(body.to_string().as_str()));
    assert_eq!(v.text_of("name"), Some("Боди - 42"));
    assert_eq!(v.text_of("url"), Some(format!("http://shop.example/?product=product-{body}&attribute_pa_razmer=42").as_str()));
    assert_eq!(v.all("param").map(|p| (p.attr("name").unwrap(), p.text.as_str())).collect::<Vec<_>>(), [("Размер", "42")]);
    assert_eq!(v.text_of("description"), Some("Хлопок"), "the parent's description");
    assert_eq!(doc.offer("BODY-44").unwrap().attr("available"), Some("false"));

    // Ozon: the per-marketplace stock and price synced into meta, the warehouse, min_price.
    let ozon = parse(&oz);
    let o = ozon.offer("CUP-1").unwrap();
    let outlet = o.child("outlets").unwrap().child("outlet").unwrap();
    assert_eq!((outlet.attr("instock"), outlet.attr("warehouse_name")), (Some("3"), Some("Склад & КГТ")));
    assert_eq!((o.text_of("price"), o.text_of("min_price"), o.text_of("oldprice")), (Some("480"), Some("480"), None));
    assert!(ozon.offer("POT-1").is_none(), "no Ozon price: not in the Ozon feed");
    assert_eq!(ozon.offer("BODY-44").unwrap().child("outlets").unwrap().child("outlet").unwrap().attr("instock"), Some("0"));
    assert_eq!(run.written.iter().find(|w| w.name == "ozon").unwrap().left.get("no price"), Some(&1));
    // Megamarket: the outlet id and the shipment options.
    let mmd = parse(&mm);
    let option = mmd.child("shop").unwrap().child("shipment-options").unwrap().child("option").unwrap();
    assert_eq!((option.attr("days"), option.attr("order-before")), (Some("2"), Some("14")));
    let outlet = mmd.offer("BODY-42").unwrap().child("outlets").unwrap().child("outlet").unwrap();
    assert_eq!((outlet.attr("id"), outlet.attr("instock")), (Some("1234"), Some("5")));

    // Read on one connection, the feed is the same (two connections share one snapshot); and
    // so it is with the pictures read batch by batch instead of every attachment's file at once.
    let two = undated(&ym);
    let one = feed::write(&settings, FeedOptions { one_connection: true, batch: Some(2), files_at_once: Some(0), ..FeedOptions::default() }).await.unwrap();
    assert!(one.failed.is_empty());
    assert_eq!(String::from_utf8_lossy(&undated(&ym)), String::from_utf8_lossy(&two));

    // The journal has each feed; a dry run replaces nothing.
    let rows: Vec<(String, String, u64)> = shop.conn.query("SELECT name, state, offers FROM wp_woosync_feeds WHERE id IN (SELECT MAX(id) FROM wp_woosync_feeds GROUP BY name) ORDER BY name").await.unwrap();
    assert_eq!(rows, [("mm".to_string(), "written".to_string(), 4), ("ozon".into(), "written".into(), 3), ("ym".into(), "written".into(), 4)]);
    let files: u64 = shop.scalar("SELECT COUNT(*) FROM {p}woosync_feeds").await;
    assert_eq!(files, 6, "two runs of three feeds");
    let before = std::fs::read(&ym).unwrap();
    sql(&mut shop, &format!("UPDATE {{p}}postmeta SET meta_value = '777' WHERE post_id = {pot} AND meta_key = '_price'")).await;
    let dry = write(&settings, true, false).await;
    assert!(dry.written.iter().all(|w| w.dry_run) && dry.written.len() == 3);
    assert_eq!(std::fs::read(&ym).unwrap(), before, "a dry run replaces nothing");
    let _ = b42;
    let _ = b44;
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_split_the_ozon_pair_and_pick_by_category_tag_and_meta() {
    let mut shop = TestShop::new().await;
    let feed = "sku,name,regular_price,stock,category\n\
                SOFA,Диван,30000,2,Мебель > Диваны\n\
                CHAIR,Стул,3000,5,Мебель > Стулья\n\
                LAMP,Лампа,900,7,Свет\n\
                BOOK,Книга,300,9,\n";
    let feeds = "[feeds]\n\
        [[feeds.file]]\nname = \"ozon-kgt\"\nformat = \"ozon\"\npath = \"ozon-kgt.xml\"\nwarehouse = \"КГТ\"\nshipping_class = [\"kgt\"]\n\
        [[feeds.file]]\nname = \"ozon\"\nformat = \"ozon\"\npath = \"ozon.xml\"\nwarehouse = \"Основной\"\nexclude_shipping_class = [\"kgt\"]\n\
        [[feeds.file]]\nname = \"furniture\"\nformat = \"yandex\"\npath = \"furniture.xml\"\ncategories = [\"mebel\"]\nexclude_categories = [\"stulya\"]\n\
        [[feeds.file]]\nname = \"tagged\"\nformat = \"yandex\"\npath = \"tagged.xml\"\ntags = [\"hit\"]\nmeta = { _ozon_export = \"yes\" }\n";
    let settings = shop.settings(feed, &format!("[source.columns]\ncategory = \"category\"\n{feeds}"));
    shop.sync(&settings).await;
    publish_all(&mut shop).await;
    sql(&mut shop, "UPDATE {p}terms t JOIN {p}term_taxonomy tt ON tt.term_id = t.term_id SET t.slug = CASE t.name WHEN 'Мебель' THEN 'mebel' WHEN 'Диваны' THEN 'divany' WHEN 'Стулья' THEN 'stulya' ELSE t.slug END WHERE tt.taxonomy = 'product_cat'").await;
    let (sofa, chair, lamp, book) = (shop.id_of("SOFA").await.unwrap(), shop.id_of("CHAIR").await.unwrap(), shop.id_of("LAMP").await.unwrap(), shop.id_of("BOOK").await.unwrap());
    let kgt = term(&mut shop, "product_shipping_class", "kgt", "КГТ", 0).await;
    relate(&mut shop, sofa, kgt).await;
    let hit = term(&mut shop, "product_tag", "hit", "Хит", 0).await;
    relate(&mut shop, lamp, hit).await;
    relate(&mut shop, book, hit).await;
    set_meta(&mut shop, lamp, "_ozon_export", "yes").await;
    set_meta(&mut shop, book, "_ozon_export", "no").await;

    let run = write(&settings, false, false).await;
    assert!(run.failed.is_empty(), "{:?}", run.failed);
    let ids = |name: &str| -> Vec<String> { parse(&path(&shop, name)).offers().iter().map(|o| o.attr("id").unwrap().to_string()).collect() };
    assert_eq!(ids("ozon-kgt.xml"), ["SOFA"]);
    assert_eq!(ids("ozon.xml"), ["CHAIR", "LAMP", "BOOK"]);
    assert_eq!(ids("furniture.xml"), ["SOFA"], "a category with its descendants, less the excluded");
    assert_eq!(ids("tagged.xml"), ["LAMP"], "every given filter must hold");
    let _ = chair;
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_leaving_is_listed_once_with_zero_then_dropped_and_the_guard_keeps_a_shrunken_feed_out() {
    let mut shop = TestShop::new().await;
    let feed: String = std::iter::once("sku,name,regular_price,stock\n".to_string()).chain((1..=6).map(|i| format!("P-{i},Товар {i},{i}00,{i}\n"))).collect();
    let settings = shop.settings(&feed, "[feeds]\nmin_offers_percent = 50\n[[feeds.file]]\nname = \"ym\"\nformat = \"yandex\"\npath = \"ym.xml\"\n");
    shop.sync(&settings).await;
    publish_all(&mut shop).await;
    let ym = path(&shop, "ym.xml");
    let first = write(&settings, false, false).await;
    assert_eq!(first.written[0].offers, 6);

    // P-2 unpublished, P-3 hidden from the catalogue: each listed once more with zero stock.
    let (p2, p3) = (shop.id_of("P-2").await.unwrap(), shop.id_of("P-3").await.unwrap());
    sql(&mut shop, &format!("UPDATE {{p}}posts SET post_status = 'draft' WHERE ID = {p2}")).await;
    let hidden = term(&mut shop, "product_visibility", "exclude-from-catalog", "exclude-from-catalog", 0).await;
    relate(&mut shop, p3, hidden).await;
    let second = write(&settings, false, false).await;
    assert_eq!((second.written[0].offers, second.written[0].farewells), (4, 2));
    let doc = parse(&ym);
    for id in ["P-2", "P-3"] {
        let o = doc.offer(id).unwrap_or_else(|| panic!("{id} listed once more"));
        assert_eq!((o.attr("available"), o.text_of("count"), o.text_of("price")), (Some("false"), Some("0"), Some(if id == "P-2" { "200" } else { "300" })));
    }
    let third = write(&settings, false, false).await;
    assert_eq!((third.written[0].offers, third.written[0].farewells), (4, 0));
    assert!(parse(&ym).offer("P-2").is_none() && parse(&ym).offer("P-3").is_none(), "then dropped");

    // Three of four leave at once: fewer than 50% of the last feed's live offers → refused.
    let before = std::fs::read(&ym).unwrap();
    sql(&mut shop, &format!("UPDATE {{p}}posts SET post_status = 'private' WHERE post_type = 'product' AND ID NOT IN ({p2}, {p3}) AND post_title <> 'Товар 1'")).await;
    let refused = write(&settings, false, false).await;
    assert_eq!(refused.failed.len(), 1);
    let (_, e) = &refused.failed[0];
    assert_eq!(e.exit_code(), woosync::error::ExitCode::Guard, "{e}");
    assert!(e.to_string().contains("1 live offers, fewer than 50% of the previous feed's 4"), "{e}");
    assert_eq!(std::fs::read(&ym).unwrap(), before, "the old file is kept");
    let state: String = shop.scalar("SELECT state FROM {p}woosync_feeds ORDER BY id DESC LIMIT 1").await;
    assert_eq!(state, "refused");
    let forced = write(&settings, false, true).await;
    assert_eq!((forced.written[0].offers, forced.written[0].farewells), (1, 3), "--force writes it");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_follow_the_shops_permalink_settings() {
    let mut shop = TestShop::new().await;
    let feed = "sku,name,regular_price,stock,category\nMUG,Кружка утро,100,1,Посуда > Кружки\n";
    let settings = shop.settings(feed, "[source.columns]\ncategory = \"category\"\n[feeds]\n[[feeds.file]]\nname = \"ym\"\nformat = \"yandex\"\npath = \"ym.xml\"\n");
    shop.sync(&settings).await;
    publish_all(&mut shop).await;
    sql(&mut shop, "UPDATE {p}posts SET post_name = 'kruzhka-utro' WHERE post_type = 'product'").await;
    sql(&mut shop, "UPDATE {p}terms t JOIN {p}term_taxonomy tt ON tt.term_id = t.term_id SET t.slug = IF(t.name = 'Посуда', 'posuda', 'kruzhki') WHERE tt.taxonomy = 'product_cat' AND t.name IN ('Посуда', 'Кружки')").await;
    let url = |shop: &TestShop| parse(&path(shop, "ym.xml")).offer("MUG").unwrap().text_of("url").unwrap().to_string();
    write(&settings, false, false).await;
    assert_eq!(url(&shop), "http://shop.example/?product=kruzhka-utro", "plain permalinks");
    sql(&mut shop, "INSERT INTO {p}options (option_name, option_value, autoload) VALUES ('permalink_structure', '/%postname%/', 'on')").await;
    write(&settings, false, false).await;
    assert_eq!(url(&shop), "http://shop.example/product/kruzhka-utro/");
    sql(&mut shop, r#"INSERT INTO {p}options (option_name, option_value, autoload) VALUES ('woocommerce_permalinks', 'a:2:{s:12:"product_base";s:19:"/shop/%product_cat%";s:13:"category_base";s:0:"";}', 'on')"#).await;
    write(&settings, false, false).await;
    assert_eq!(url(&shop), "http://shop.example/shop/posuda/kruzhki/kruzhka-utro/");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_is_escaped_cleaned_and_encoded_as_asked() {
    let mut shop = TestShop::new().await;
    let feed = "sku,name,regular_price,stock,description\nT-1,Товар 1,100,1,text\n";
    let feeds = "[feeds]\n[[feeds.file]]\nname = \"utf\"\nformat = \"yandex\"\npath = \"utf.xml.gz\"\ngzip = true\n\
                 [[feeds.file]]\nname = \"cp\"\nformat = \"yandex\"\npath = \"cp.xml\"\nencoding = \"windows-1251\"\n";
    let settings = shop.settings(feed, feeds);
    shop.sync(&settings).await;
    publish_all(&mut shop).await;
    let id = shop.id_of("T-1").await.unwrap();
    shop.conn
        .exec_drop("UPDATE wp_posts SET post_title = ?, post_content = ? WHERE ID = ?", ("Кофе &amp; чай <\"крепкий\"> 'с' \u{1}звонком\u{7} 😀", "a]]>b\u{2}", id))
        .await
        .unwrap();
    sql(&mut shop, "INSERT INTO {p}options (option_name, option_value, autoload) VALUES ('blogname', 'Чай &amp; Кофе', 'on')").await;
    let run = write(&settings, false, false).await;
    assert!(run.failed.is_empty(), "{:?}", run.failed);
    let utf = parse(&path(&shop, "utf.xml.gz"));
    assert_eq!(utf.child("shop").unwrap().text_of("name"), Some("Чай & Кофе"), "the blogname as shown");
    let o = utf.offer("T-1").unwrap();
    assert_eq!(o.text_of("name"), Some("Кофе & чай <\"крепкий\"> 'с' звонком 😀"), "entities decoded, controls out, emoji kept");
    assert_eq!(o.text_of("description"), Some("a]]>b"));
    let raw = std::fs::read(path(&shop, "cp.xml")).unwrap();
    assert!(raw.starts_with(b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>"));
    let cp = parse(&path(&shop, "cp.xml"));
    assert_eq!(cp.offer("T-1").unwrap().text_of("name"), Some("Кофе & чай <\"крепкий\"> 'с' звонком ?"));
    assert_eq!(run.written.iter().find(|w| w.name == "cp").unwrap().replaced, 1, "the emoji replaced and counted");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_killed_half_way_leaves_the_old_file_and_a_held_lock_stops_it() {
    let mut shop = TestShop::new().await;
    let feed: String = std::iter::once("sku,name,regular_price,stock\n".to_string()).chain((1..=5).map(|i| format!("K-{i},Товар {i},{i}00,{i}\n"))).collect();
    let config = shop.config(&feed, "[feeds]\n[[feeds.file]]\nname = \"ym\"\nformat = \"yandex\"\npath = \"ym.xml\"\n");
    let settings = Settings::load_with(&config, None).unwrap();
    shop.sync(&settings).await;
    publish_all(&mut shop).await;
    write(&settings, false, false).await;
    let ym = path(&shop, "ym.xml");
    let before = std::fs::read(&ym).unwrap();
    sql(&mut shop, "UPDATE {p}postmeta SET meta_value = '1' WHERE meta_key = '_price'").await;
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_woosync"))
        .args(["feed", "--config"])
        .arg(&config)
        .env("WOOSYNC_CRASH_AT", "feed-half")
        .env("WOOSYNC_DATABASE_URL", &shop.url)
        .status()
        .unwrap();
    assert!(!status.success(), "killed");
    assert_eq!(std::fs::read(&ym).unwrap(), before, "the old file is whole");
    // The lock of a run in progress stops a feed (exit 5), writing nothing.
    let name = woosync::run::lock_name(&shop.db, &shop.prefix);
    let mut holder = mysql_async::Conn::new(mysql_async::Opts::from_url(&shop.url).unwrap()).await.unwrap();
    // The killed run's connection, and its lock, may take the server a moment to let go.
    let got: Option<i64> = holder.exec_first("SELECT GET_LOCK(?, 30)", (&name,)).await.unwrap();
    assert_eq!(got, Some(1), "the test holds the run lock");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_woosync")).args(["feed", "--config"]).arg(&config).env("WOOSYNC_DATABASE_URL", &shop.url).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
    holder.disconnect().await.unwrap();
    // Then it is written whole, and `status` shows it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_woosync")).args(["feed", "--config"]).arg(&config).env("WOOSYNC_DATABASE_URL", &shop.url).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("feed ym: wrote 5 offers"), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(parse(&ym).offers().iter().all(|o| o.text_of("price") == Some("1")));
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_woosync")).args(["status", "--config"]).arg(&config).env("WOOSYNC_DATABASE_URL", &shop.url).output().unwrap();
    let told = String::from_utf8_lossy(&status.stdout);
    assert!(told.lines().any(|l| l.starts_with("ym ") && l.contains("yandex") && l.contains("written") && l.contains(" 5 ")), "{told}");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sync_writes_the_feeds_when_the_sync_changed_something_or_a_file_is_missing() {
    let mut shop = TestShop::new().await;
    let feed = "sku,name,regular_price,stock\nA-1,Товар,100,1\n";
    let config = shop.config(feed, "[sync]\nnew_product_status = \"private\"\n[feeds]\nafter_sync = true\n[[feeds.file]]\nname = \"ym\"\nformat = \"yandex\"\npath = \"ym.xml\"\n");
    let sync = |shop: &TestShop| {
        std::process::Command::new(env!("CARGO_BIN_EXE_woosync")).args(["sync", "--config"]).arg(&config).env("WOOSYNC_DATABASE_URL", &shop.url).output().unwrap()
    };
    let out = sync(&shop);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ym = path(&shop, "ym.xml");
    assert_eq!(parse(&ym).offers().len(), 0, "a private product is no offer");
    publish_all(&mut shop).await;
    // Nothing changed and the file is there: not written again.
    let out = sync(&shop);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("feed ym"), "{}", String::from_utf8_lossy(&out.stdout));
    // A missing file is written even when nothing changed.
    std::fs::remove_file(&ym).unwrap();
    let out = sync(&shop);
    assert!(String::from_utf8_lossy(&out.stdout).contains("feed ym: wrote 1 offers"), "{}", String::from_utf8_lossy(&out.stdout));
    // `check` names the feeds and finds their folder writable.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_woosync")).args(["check", "--config"]).arg(&config).env("WOOSYNC_DATABASE_URL", &shop.url).output().unwrap();
    let told = String::from_utf8_lossy(&out.stdout);
    assert!(told.lines().any(|l| l.starts_with("ok    feeds") && l.contains("ym (yandex)")), "{told}");
    // A change writes it again.
    std::fs::write(shop.dir.path().join("feed.csv"), "sku,name,regular_price,stock\nA-1,Товар,150,1\n").unwrap();
    let out = sync(&shop);
    assert!(out.status.success());
    assert_eq!(parse(&ym).offer("A-1").unwrap().text_of("price"), Some("150"));
    shop.drop_db().await;
}

/// The feed without its generation date (the one line two writes of the same data differ in).
fn undated(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out).unwrap();
        bytes = out;
    }
    let start = bytes.windows(12).position(|w| w == b"<yml_catalog").unwrap();
    let end = start + bytes[start..].iter().position(|b| *b == b'>').unwrap();
    bytes.drain(start..end);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_patches_its_feeds_with_what_it_changed_and_the_patch_equals_a_whole_feed() {
    let mut shop = TestShop::new().await;
    let rows = |round: u32| -> String {
        let mut text = String::from("sku,name,regular_price,stock,ozon,parent_sku,Размер\n");
        for i in 1..=12u32 {
            let price = if i % 4 == 0 { 100 * i + round } else { 100 * i };
            text.push_str(&format!("S-{i:02},Товар «{i}» & Ко,{price},{},{},,\n", i % 3, if i == 5 { round } else { i }));
        }
        text.push_str("V,Платье,,,,,\n");
        for (j, size) in ["42", "44"].iter().enumerate() {
            text.push_str(&format!("V-{size},Платье {size},{},{},1,V,{size}\n", 990 + j as u32 * 10 + round, j + round as usize));
        }
        text
    };
    let feeds = "[source.attributes]\n\"Размер\" = \"Размер\"\n[source.meta]\n_woosync_stock_ozon = { stock = [\"ozon\"] }\n\
                 [sync]\nattribute_slugs = { \"Размер\" = \"razmer\" }\n\
                 [feeds]\nafter_sync = true\n\
                 [[feeds.file]]\nname = \"ym\"\nformat = \"yandex\"\npath = \"ym.xml\"\n\
                 [[feeds.file]]\nname = \"oz\"\nformat = \"ozon\"\npath = \"oz.xml.gz\"\ngzip = true\nencoding = \"windows-1251\"\nwarehouse = \"Склад\"\nstock = \"_woosync_stock_ozon\"\n";
    let config = shop.config(&rows(0), feeds);
    let run = |shop: &TestShop, args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_woosync")).args(args).arg("--config").arg(&config).env("WOOSYNC_DATABASE_URL", &shop.url).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&shop, &["sync"]);
    publish_all(&mut shop).await;
    run(&shop, &["feed"]);
    let (ym, oz) = (path(&shop, "ym.xml"), path(&shop, "oz.xml.gz"));
    assert_eq!(parse(&ym).offers().len(), 14);
    // Three prices, an Ozon stock and both variations change: the sync patches the feeds.
    std::fs::write(shop.dir.path().join("feed.csv"), rows(7)).unwrap();
    let told = run(&shop, &["sync"]);
    assert!(told.contains("updated 7"), "{told}");
    assert!(told.contains("feed ym: wrote 14 offers") && told.contains("the changed offers read again"), "{told}");
    let doc = parse(&ym);
    assert_eq!(doc.offer("S-04").unwrap().text_of("price"), Some("407"));
    assert_eq!(doc.offer("V-44").unwrap().text_of("price"), Some("1007"));
    assert_eq!(doc.offer("S-01").unwrap().text_of("name"), Some("Товар «1» & Ко"), "copied offers intact");
    let ozon = parse(&oz);
    assert_eq!(ozon.offer("S-05").unwrap().child("outlets").unwrap().child("outlet").unwrap().attr("instock"), Some("7"));
    // The patched files are what a whole feed of the same data is, to the byte.
    let (patched_ym, patched_oz) = (undated(&ym), undated(&oz));
    let told = run(&shop, &["feed"]);
    assert!(!told.contains("read again"), "{told}");
    assert_eq!(String::from_utf8_lossy(&undated(&ym)), String::from_utf8_lossy(&patched_ym));
    assert_eq!(undated(&oz), patched_oz);
    // A product unpublished meanwhile and changed by the next sync leaves with its farewell.
    let s4 = shop.id_of("S-04").await.unwrap();
    sql(&mut shop, &format!("UPDATE {{p}}posts SET post_status = 'draft' WHERE ID = {s4}")).await;
    std::fs::write(shop.dir.path().join("feed.csv"), rows(9)).unwrap();
    let told = run(&shop, &["sync"]);
    assert!(told.contains("feed ym: wrote 13 offers + 1 leaving with zero stock"), "{told}");
    let gone = parse(&ym);
    assert_eq!((gone.offer("S-04").unwrap().attr("available"), gone.offer("S-04").unwrap().text_of("count")), (Some("false"), Some("0")));
    assert_eq!(gone.offer("S-08").unwrap().text_of("price"), Some("809"));
    // A feed file replaced by hand no longer matches its state: the patch fails and keeps the
    // file; the next write is a whole one.
    std::fs::write(&ym, "<yml_catalog/>\n").unwrap();
    std::fs::write(shop.dir.path().join("feed.csv"), rows(11)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_woosync")).args(["sync", "--config"]).arg(&config).env("WOOSYNC_DATABASE_URL", &shop.url).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("feed ym"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&ym).unwrap(), "<yml_catalog/>\n");
    std::fs::write(shop.dir.path().join("feed.csv"), rows(12)).unwrap();
    let told = run(&shop, &["sync"]);
    let line = told.lines().find(|l| l.starts_with("feed ym:")).unwrap_or_default();
    assert!(line.contains("wrote 13 offers") && !line.contains("read again"), "{told}");
    // One feed without its state makes every feed of the run a whole one, read back whole.
    let line = told.lines().find(|l| l.starts_with("feed oz:")).unwrap_or_default();
    assert!(line.contains("wrote 13 offers") && !line.contains("read again"), "{told}");
    assert_eq!(parse(&ym).offer("S-12").unwrap().text_of("price"), Some("1212"));
    shop.drop_db().await;
}
