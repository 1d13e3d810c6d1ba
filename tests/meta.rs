//! `[source.meta]` against a real MariaDB: per-marketplace values (a stock summed over
//! warehouses, a price, a text code) written into post meta keys of the user's own with the
//! same diff, report rows and dry run as WooCommerce's fields; an empty cell leaves a value
//! alone; WooCommerce's and WordPress's own keys refused at config load.

mod common;

use common::TestShop;
use mysql_async::prelude::*;
use woosync::fixture::Spec;

const META: &str = "[source.meta]\n\
                    _woosync_stock_ozon = { stock = [\"ozon_msk\", \"ozon_spb\"] }\n\
                    _woosync_price_ozon = { price = \"price_ozon\" }\n\
                    _woosync_yandex_code = \"code\"\n";

/// Every row of a post's `[source.meta]` keys: (key, value) in meta_id order.
async fn own_meta(shop: &mut TestShop, id: u64) -> Vec<(String, String)> {
    shop.conn
        .exec("SELECT meta_key, meta_value FROM wp_postmeta WHERE post_id = ? AND meta_key LIKE '\\_woosync\\_%' AND meta_key <> '_woosync_external_id' ORDER BY meta_id", (id,))
        .await
        .unwrap()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marketplace_values_are_written_diffed_and_left_alone_when_empty() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("A-1", "100.00", 5), Spec::simple("A-2", "200.00", 5), Spec::simple("A-3", "300.00", 5)]).await;
    let (a1, a2, a3) = (ids[0], ids[1], ids[2]);
    let feed = "sku;name;regular_price;stock;ozon_msk;ozon_spb;price_ozon;code\n\
                A-1;Чайник;100.00;5;3;4;1 234,50;ЦБ-0001\n\
                A-2;Кружка;200.00;5;2,7;;199;\n\
                A-3;Ложка;300.00;5;;;;\n\
                N-1;Новый;50;1;-2;1;55;ЦБ-0009\n";
    let s = shop.settings(feed, META);
    let out = shop.sync(&s).await;
    let report = shop.report();
    assert_eq!((out.counts.created, out.counts.updated, out.counts.unchanged), (1, 2, 1), "{report}");
    // Warehouses summed, the price normalised like prices, the code as given.
    assert_eq!(own_meta(&mut shop, a1).await, pairs(&[("_woosync_stock_ozon", "7"), ("_woosync_price_ozon", "1234.50"), ("_woosync_yandex_code", "ЦБ-0001")]));
    // A fraction made whole like the stock (with a warning); an empty cell writes nothing.
    assert_eq!(own_meta(&mut shop, a2).await, pairs(&[("_woosync_stock_ozon", "2"), ("_woosync_price_ozon", "199")]));
    assert!(report.contains("warning,A-2,,,_woosync_stock_ozon,,,\"line 3: stock 2.7 is not a whole number; 2 written"), "{report}");
    assert!(report.contains("warning,N-1,,,_woosync_stock_ozon,,,line 5: negative stock -1 for _woosync_stock_ozon written as 0"), "{report}");
    assert_eq!(own_meta(&mut shop, a3).await, vec![], "all cells empty: nothing written");
    // A new product gets its rows after WooCommerce's own; a negative stock is written as 0.
    let n1 = shop.id_of("N-1").await.unwrap();
    assert_eq!(own_meta(&mut shop, n1).await, pairs(&[("_woosync_stock_ozon", "0"), ("_woosync_price_ozon", "55"), ("_woosync_yandex_code", "ЦБ-0009")]));
    let keys: Vec<String> = shop.conn.exec("SELECT meta_key FROM wp_postmeta WHERE post_id = ? ORDER BY meta_id", (n1,)).await.unwrap();
    assert_eq!(&keys[keys.len() - 3..], ["_woosync_stock_ozon", "_woosync_price_ozon", "_woosync_yandex_code"], "{keys:?}");
    // The report names the meta key as the field, like WooCommerce's own fields.
    for row in [
        format!("update,A-1,{a1},product,_woosync_stock_ozon,,7,"),
        format!("update,A-1,{a1},product,_woosync_price_ozon,,1234.50,"),
        format!("update,A-1,{a1},product,_woosync_yandex_code,,ЦБ-0001,"),
        format!("create,N-1,{n1},product,_woosync_yandex_code,,ЦБ-0009,"),
    ] {
        assert!(report.contains(&row), "missing\n{row}\nin\n{report}");
    }
    // Nothing else of the products changed: prices and stock were already right.
    assert_eq!(shop.one(a1, "_regular_price").await.as_deref(), Some("100.00"));

    // A re-run writes nothing (1234.50 and 1234,5 are the same price).
    let before = shop.snapshot().await;
    let again = shop.settings(&feed.replace("1 234,50", "1234,5"), META);
    let out = shop.sync(&again).await;
    assert_eq!((out.counts.updated, out.counts.unchanged), (0, 4), "{}", shop.report());
    common::assert_same(&before, &shop.snapshot().await, "a second run");

    // A change sets the existing row in place (same meta_id); empty cells leave values alone.
    let id_before: u64 = shop.scalar(&format!("SELECT meta_id FROM wp_postmeta WHERE post_id = {a1} AND meta_key = '_woosync_stock_ozon'")).await;
    let changed = "sku;name;regular_price;stock;ozon_msk;ozon_spb;price_ozon;code\n\
                   A-1;Чайник;100.00;5;0;1;;\n\
                   A-2;Кружка;200.00;5;;;;ЦБ-0002\n";
    let out = shop.sync(&shop.settings(changed, META)).await;
    assert_eq!(out.counts.updated, 2, "{}", shop.report());
    assert_eq!(own_meta(&mut shop, a1).await, pairs(&[("_woosync_stock_ozon", "1"), ("_woosync_price_ozon", "1234.50"), ("_woosync_yandex_code", "ЦБ-0001")]));
    let id_after: u64 = shop.scalar(&format!("SELECT meta_id FROM wp_postmeta WHERE post_id = {a1} AND meta_key = '_woosync_stock_ozon'")).await;
    assert_eq!(id_before, id_after, "set in place");
    assert_eq!(own_meta(&mut shop, a2).await, pairs(&[("_woosync_stock_ozon", "2"), ("_woosync_price_ozon", "199"), ("_woosync_yandex_code", "ЦБ-0002")]));
    assert!(shop.report().contains(&format!("update,A-1,{a1},product,_woosync_stock_ozon,7,1,")), "{}", shop.report());
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_writes_no_meta_and_a_bad_value_rejects_its_row() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("A-1", "100.00", 5), Spec::simple("A-2", "200.00", 5)]).await;
    let feed = "sku,name,regular_price,stock,ozon_msk,ozon_spb,price_ozon,code\n\
                A-1,Чайник,120.00,5,3,4,abc,X\n\
                A-2,Кружка,200.00,5,1,1,150,\"a\tb\"\n";
    let s = shop.settings(feed, META);
    let before = shop.snapshot().await;
    let out = shop.try_sync(&s, true).await.unwrap();
    let report = shop.report();
    common::assert_same(&before, &shop.snapshot().await, "a dry run");
    assert_eq!(out.counts.invalid, 2, "{report}");
    // The whole row is refused (not its price either), naming the meta key.
    assert!(report.contains("invalid,A-1,,,_woosync_price_ozon,"), "{report}");
    assert!(report.contains("_woosync_price_ozon: "), "{report}");
    assert!(report.contains("invalid,A-2,,,_woosync_yandex_code,") && report.contains("contains control characters"), "{report}");

    let good = "sku,name,regular_price,stock,ozon_msk,ozon_spb,price_ozon,code\nA-1,Чайник,100.00,5,3,4,150,X\n";
    let out = shop.try_sync(&shop.settings(good, META), true).await.unwrap();
    assert_eq!(out.counts.updated, 1);
    assert!(shop.report().contains(&format!("update,A-1,{},product,_woosync_price_ozon,,150,", ids[0])), "{}", shop.report());
    common::assert_same(&before, &shop.snapshot().await, "a dry run");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn woocommerce_and_wordpress_keys_are_refused_at_config_load() {
    let shop = TestShop::new().await;
    let path = |meta: &str| shop.config("sku,price\nA,1\n", &format!("[source.meta]\n{meta}\n"));
    for (meta, expected) in [
        ("_price = \"price\"", "[source.meta] \"_price\": _price is a WooCommerce price: map regular_price and sale_price in [source.columns]"),
        ("_stock = { stock = [\"a\"] }", "_stock is WooCommerce's stock"),
        ("_global_unique_id = \"ean\"", "_global_unique_id is WooCommerce's GTIN field"),
        ("_sku = \"code\"", "_sku is the SKU"),
        ("_wp_old_slug = \"x\"", "WordPress's own bookkeeping"),
        ("attribute_pa_razmer = \"size\"", "a variation's attribute value"),
        ("_woosync_external_id = \"id\"", "woosync's own link to the source's IDs"),
        ("\"my key\" = \"x\"", "expected a post meta key of letters, digits"),
        ("_x = { weight = \"w\" }", "weight = …; expected stock, price or text"),
        ("_x = { price = [\"a\", \"b\"] }", "expected a name"),
        ("_x = 5", "expected a column (text) or one of"),
    ] {
        let err = woosync::config::Settings::load_with(&path(meta), None).unwrap_err().to_string();
        assert!(err.contains(expected), "{meta}: {err}");
    }
    let err = woosync::config::Settings::load_with(&path("_woosync_code = \"nope\""), None).unwrap();
    let out = shop.try_sync(&err, false).await.unwrap_err().to_string();
    assert!(out.contains("the header has no column `nope` (_woosync_code in [source.meta])"), "{out}");
    shop.drop_db().await;
}

const OFFERS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.05">
  <ПакетПредложений СодержитТолькоИзменения="false">
    <ТипыЦен>
      <ТипЦены><Ид>p-retail</Ид><Наименование>Розничная</Наименование></ТипЦены>
      <ТипЦены><Ид>p-ozon</Ид><Наименование>Цена OZON</Наименование></ТипЦены>
    </ТипыЦен>
    <Склады>
      <Склад><Ид>w-main</Ид><Наименование>Основной</Наименование></Склад>
      <Склад><Ид>w-ozon</Ид><Наименование>OZON</Наименование></Склад>
      <Склад><Ид>w-kgt</Ид><Наименование>OZON КГТ</Наименование></Склад>
    </Склады>
    <Предложения>
      <Предложение>
        <Ид>g-1</Ид><Артикул>C-1</Артикул><Наименование>Чайник</Наименование>
        <Цены>
          <Цена><ИдТипаЦены>p-retail</ИдТипаЦены><ЦенаЗаЕдиницу>1000</ЦенаЗаЕдиницу></Цена>
          <Цена><ИдТипаЦены>p-ozon</ИдТипаЦены><ЦенаЗаЕдиницу>1090.9</ЦенаЗаЕдиницу></Цена>
        </Цены>
        <Склад ИдСклада="w-main" КоличествоНаСкладе="10"/>
        <Склад ИдСклада="w-ozon" КоличествоНаСкладе="3"/>
        <Склад ИдСклада="w-kgt" КоличествоНаСкладе="2"/>
      </Предложение>
      <Предложение>
        <Ид>g-2</Ид><Артикул>C-2</Артикул><Наименование>Кружка</Наименование>
        <Цены><Цена><ИдТипаЦены>p-retail</ИдТипаЦены><ЦенаЗаЕдиницу>300</ЦенаЗаЕдиницу></Цена></Цены>
        <Склад ИдСклада="w-main" КоличествоНаСкладе="4"/>
      </Предложение>
    </Предложения>
  </ПакетПредложений>
</КоммерческаяИнформация>
"#;

const IMPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.05">
  <Классификатор>
    <Ид>cls</Ид><Наименование>Классификатор</Наименование>
    <Свойства>
      <Свойство><Ид>prop-brand</Ид><Наименование>Производитель</Наименование><ТипЗначений>Справочник</ТипЗначений>
        <ВариантыЗначений><Справочник><ИдЗначения>b-1</ИдЗначения><Значение>Bork</Значение></Справочник></ВариантыЗначений>
      </Свойство>
    </Свойства>
  </Классификатор>
  <Каталог>
    <Товары>
      <Товар><Ид>g-1</Ид><Артикул>C-1</Артикул><Наименование>Чайник</Наименование>
        <ЗначенияСвойств><ЗначенияСвойства><Ид>prop-brand</Ид><Значение>b-1</Значение></ЗначенияСвойства></ЗначенияСвойств>
        <ЗначенияРеквизитов>
          <ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование><Значение>Товар</Значение></ЗначениеРеквизита>
          <ЗначениеРеквизита><Наименование>Код</Наименование><Значение>00-00000042</Значение></ЗначениеРеквизита>
        </ЗначенияРеквизитов>
      </Товар>
      <Товар><Ид>g-2</Ид><Артикул>C-2</Артикул><Наименование>Кружка</Наименование></Товар>
    </Товары>
  </Каталог>
</КоммерческаяИнформация>
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commerceml_warehouses_price_types_properties_and_requisites_fill_meta() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("C-1", "1000", 10), Spec::simple("C-2", "300", 4)]).await;
    std::fs::write(shop.dir.path().join("offers.xml"), OFFERS).unwrap();
    std::fs::write(shop.dir.path().join("import.xml"), IMPORT).unwrap();
    let source = "[source]\ntype = \"commerceml\"\npath = \"offers.xml\"\nimport_path = \"import.xml\"\n\
                  [source.columns]\nregular_price = \"Розничная\"\nstock = [\"Основной\"]\n\
                  [source.meta]\n\
                  _woosync_stock_ozon = { stock = [\"OZON\", \"w-kgt\"] }\n\
                  _woosync_price_ozon = { price = \"Цена OZON\" }\n\
                  _woosync_yandex_code = { text = \"Код\" }\n\
                  _woosync_vendor = { text = \"производитель\" }\n";
    let s = shop.settings_source(source, "");
    let out = shop.sync(&s).await;
    assert_eq!(out.counts.updated, 2, "{}", shop.report());
    assert_eq!(
        own_meta(&mut shop, ids[0]).await,
        pairs(&[("_woosync_stock_ozon", "5"), ("_woosync_price_ozon", "1090.9"), ("_woosync_yandex_code", "00-00000042"), ("_woosync_vendor", "Bork")])
    );
    // An offer that lists warehouses holds 0 at one it lacks; without the price type or the
    // requisite nothing is written for them.
    assert_eq!(own_meta(&mut shop, ids[1]).await, pairs(&[("_woosync_stock_ozon", "0")]));
    // The shop's own stock comes from its own warehouse only.
    assert_eq!(shop.one(ids[0], "_stock").await.as_deref(), Some("10"));
    assert_eq!(shop.sync(&s).await.counts.updated, 0);

    // A name that is neither a property nor a requisite, a warehouse that is not there: the source fails.
    let bad = source.replace("{ text = \"Код\" }", "{ text = \"Артикул поставщика\" }");
    let err = shop.try_sync(&shop.settings_source(&bad, ""), false).await.unwrap_err().to_string();
    assert!(err.contains("[source.meta] _woosync_yandex_code = \"Артикул поставщика\" is neither a property") && err.contains("код (requisite)"), "{err}");
    let bad = source.replace("[\"OZON\", \"w-kgt\"]", "[\"Яндекс\"]");
    let err = shop.try_sync(&shop.settings_source(&bad, ""), false).await.unwrap_err().to_string();
    assert!(err.contains("[source.meta] _woosync_stock_ozon = \"Яндекс\" names no warehouse"), "{err}");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_missing_from_the_feed_has_its_marketplace_stock_zeroed() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("A-1", "100.00", 5), Spec::simple("A-2", "200.00", 5), Spec::simple("A-3", "300.00", 5)]).await;
    let extra = format!("{META}[sync]\nmissing = \"zero_stock\"\n[guard]\nmax_zero_stock_percent = 100\nmin_items_percent = 0\n");
    let full = "sku,ozon_msk,ozon_spb,price_ozon,code\nA-1,3,0,10,X\nA-2,1,1,20,Y\nA-3,,,30,Z\n";
    shop.sync(&shop.settings(full, &extra)).await;
    let out = shop.sync(&shop.settings("sku,ozon_msk,ozon_spb,price_ozon,code\nA-1,3,0,10,X\n", &extra)).await;
    let report = shop.report();
    assert_eq!(out.counts.updated, 2, "{report}");
    // Zero stock everywhere the feed's stock would be read, prices and codes left alone; a
    // product without the key gets no row (absent reads as 0).
    assert_eq!(own_meta(&mut shop, ids[1]).await, pairs(&[("_woosync_stock_ozon", "0"), ("_woosync_price_ozon", "20"), ("_woosync_yandex_code", "Y")]));
    assert_eq!(own_meta(&mut shop, ids[2]).await, pairs(&[("_woosync_price_ozon", "30"), ("_woosync_yandex_code", "Z")]));
    assert!(report.contains(&format!("update,A-2,{},product,_woosync_stock_ozon,2,0,missing from feed", ids[1])), "{report}");
    shop.drop_db().await;
}

/// Notices when the run holds before a chunk because of the pause file.
#[derive(Default)]
struct Paused(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl woosync::run::Observer for Paused {
    fn progress(&self, p: woosync::run::Progress) {
        if p.phase == woosync::run::PAUSED {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_during_the_run_keeps_the_planned_meta_writes_once() {
    use woosync::run::{self, Shutdown, SyncOptions};
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("A-1", "100.00", 5)]).await;
    let a1 = ids[0];
    shop.sync(&shop.settings("sku,ozon_msk,ozon_spb,price_ozon,code\nA-1,1,1,10,X\n", META)).await;
    let pause = shop.dir.path().join("woosync.pause");
    std::fs::write(&pause, "").unwrap();
    let feed = "sku,regular_price,ozon_msk,ozon_spb,price_ozon,code\nA-1,120.00,3,4,11,Y\n";
    let settings = shop.settings(feed, &format!("{META}[sync]\nchunk_target_ms = 0\npause_file = \"woosync.pause\"\n[guard]\nmax_price_change_percent = 100\n"));
    let paused = Paused::default();
    let seen = paused.0.clone();
    let report = shop.report_path();
    let run = tokio::spawn(async move { run::sync(&settings, SyncOptions { dry_run: false, report: Some(&report), force: false, fresh: false }, &Shutdown::default(), &paused).await });
    while !seen.load(std::sync::atomic::Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // An order takes one item while the run waits: the chunk is planned again from the rows as they are.
    shop.conn.exec_drop("UPDATE wp_postmeta SET meta_value = meta_value - 1 WHERE post_id = ? AND meta_key = '_stock'", (a1,)).await.unwrap();
    shop.conn.exec_drop("UPDATE wp_wc_product_meta_lookup SET stock_quantity = stock_quantity - 1 WHERE product_id = ?", (a1,)).await.unwrap();
    std::fs::remove_file(&pause).unwrap();
    run.await.unwrap().unwrap();
    assert_eq!(own_meta(&mut shop, a1).await, pairs(&[("_woosync_stock_ozon", "7"), ("_woosync_price_ozon", "11"), ("_woosync_yandex_code", "Y")]), "each key once");
    assert_eq!(shop.one(a1, "_stock").await.as_deref(), Some("4"), "the order's stock stands");
    let r = shop.report();
    // The chunk was planned again (the race is told), and the meta rows kept as first planned.
    let line = r.lines().find(|l| l.starts_with(&format!("update,A-1,{a1},product,_woosync_stock_ozon,2,7,"))).unwrap_or_else(|| panic!("{r}"));
    assert!(line.contains("after the run read it (an order?)"), "{line}");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spreadsheet_fills_meta_from_its_columns() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("X-1", "100.00", 5)]).await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, title) in ["sku", "ozon_msk", "ozon_spb", "price_ozon", "code"].iter().enumerate() {
        sheet.write_string(0, c as u16, *title).unwrap();
    }
    sheet.write_string(1, 0, "X-1").unwrap();
    sheet.write_number(1, 1, 2.0).unwrap();
    sheet.write_number(1, 2, 5.0).unwrap();
    sheet.write_number(1, 3, 1299.9).unwrap();
    sheet.write_string(1, 4, "ЦБ-77").unwrap();
    book.save(shop.dir.path().join("book.xlsx")).unwrap();
    let s = shop.settings_source(&format!("[source]\ntype = \"xlsx\"\npath = \"book.xlsx\"\n{META}"), "");
    assert_eq!(shop.sync(&s).await.counts.updated, 1, "{}", shop.report());
    assert_eq!(own_meta(&mut shop, ids[0]).await, pairs(&[("_woosync_stock_ozon", "7"), ("_woosync_price_ozon", "1299.9"), ("_woosync_yandex_code", "ЦБ-77")]));
    shop.drop_db().await;
}
