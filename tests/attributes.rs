//! Product attributes from the feed against a real MariaDB: global attributes created as
//! `wc_create_attribute()` creates them (CATALOGUE.md g1, g1a: the attribute row, the transient
//! dropped, the rewrite-rules flush scheduled, terms with `order` meta), existing ones found by
//! slug or label and their terms by name, local attributes, `_product_attributes` byte for byte
//! as WooCommerce serializes it (g2, g3), the attribute lookup rows WooCommerce's queued update
//! writes for a simple product, CommerceML properties, refused slugs, a second run writing nothing.

mod common;

use common::TestShop;
use mysql_async::prelude::*;

/// (attribute_name, attribute_label, type, orderby, public) of every global attribute.
async fn attribute_rows(shop: &mut TestShop) -> Vec<(String, String, String, String, i64)> {
    shop.conn
        .query("SELECT attribute_name, attribute_label, attribute_type, attribute_orderby, attribute_public FROM wp_woocommerce_attribute_taxonomies ORDER BY attribute_id")
        .await
        .unwrap()
}

/// (term_id, name, slug) of a taxonomy's terms.
async fn terms_of(shop: &mut TestShop, taxonomy: &str) -> Vec<(u64, String, String)> {
    shop.conn
        .exec(
            "SELECT t.term_id, t.name, t.slug FROM wp_terms t JOIN wp_term_taxonomy tt ON tt.term_id = t.term_id WHERE tt.taxonomy = ? ORDER BY t.term_id",
            (taxonomy,),
        )
        .await
        .unwrap()
}

/// The (taxonomy, term name) pairs of a product's attribute terms.
async fn attribute_terms(shop: &mut TestShop, id: u64) -> Vec<(String, String)> {
    shop.conn
        .exec(
            "SELECT tt.taxonomy, t.name FROM wp_term_relationships tr JOIN wp_term_taxonomy tt ON tt.term_taxonomy_id = tr.term_taxonomy_id \
             JOIN wp_terms t ON t.term_id = tt.term_id WHERE tr.object_id = ? AND tt.taxonomy LIKE 'pa\\_%' ORDER BY tt.taxonomy, t.name",
            (id,),
        )
        .await
        .unwrap()
}

async fn lookup_rows(shop: &mut TestShop, id: u64) -> Vec<(u64, u64, String, u64, i64, i64)> {
    shop.conn
        .exec(
            "SELECT product_id, product_or_parent_id, taxonomy, term_id, is_variation_attribute, in_stock FROM wp_wc_product_attributes_lookup WHERE product_id = ? ORDER BY taxonomy, term_id",
            (id,),
        )
        .await
        .unwrap()
}

/// The shop's `Размер` (slug razmer) with its term `42`, made by hand before the run.
async fn razmer_with_42(shop: &mut TestShop) -> u64 {
    shop.conn
        .query_drop(
            "INSERT INTO wp_woocommerce_attribute_taxonomies (attribute_name, attribute_label, attribute_type, attribute_orderby, attribute_public) VALUES ('razmer', 'Размер', 'select', 'menu_order', 0);
             INSERT INTO wp_terms (term_id, name, slug) VALUES (60, '42', '42');
             INSERT INTO wp_term_taxonomy (term_taxonomy_id, term_id, taxonomy, description, parent, count) VALUES (60, 60, 'pa_razmer', '', 0, 0);
             INSERT INTO wp_options (option_name, option_value, autoload) VALUES ('_transient_wc_attribute_taxonomies', 'a:0:{}', 'on');
             INSERT INTO wp_options (option_name, option_value, autoload) VALUES ('cron', 'a:1:{s:7:\"version\";i:2;}', 'on')",
        )
        .await
        .unwrap();
    60
}

const CONFIG: &str = "[source.attributes]\n\"Размер\" = \"Размер\"\n\"Цвет\" = \"Цвет\"\n\"Материал\" = \"Материал\"\n\"Длина рукава изделия\" = \"Рукав\"\n\
                      [sync]\nlocal_attributes = [\"материал\"]\n";

const FEED: &str = "sku,name,regular_price,stock,Размер,Цвет,Материал,Рукав\n\
                    A-1,Футболка,500,3,42|44,Белый,Хлопок,\n\
                    A-2,Майка,400,0,44,белый,,\n\
                    A-3,Без атрибутов,100,1,,,,\n\
                    A-4,Рубашка,900,1,44,,,Короткий\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_are_created_as_woocommerce_creates_them_and_found_again() {
    let mut shop = TestShop::new().await;
    let t42 = razmer_with_42(&mut shop).await;
    let settings = shop.settings(FEED, CONFIG);
    let out = shop.sync(&settings).await;
    let report = shop.report();
    assert_eq!((out.counts.created, out.counts.invalid), (3, 1), "{report}");

    // g1: one new global attribute (Размер was found by its slug), as wc_create_attribute() writes it.
    assert_eq!(
        attribute_rows(&mut shop).await,
        [
            ("razmer".to_string(), "Размер".to_string(), "select".to_string(), "menu_order".to_string(), 0),
            ("цвет".into(), "Цвет".into(), "select".into(), "menu_order".into(), 0)
        ]
    );
    assert_eq!(shop.scalar::<usize>("SELECT COUNT(*) FROM {p}options WHERE option_name LIKE '%wc_attribute_taxonomies'").await, 0, "the transient goes");
    let cron: String = shop.scalar("SELECT option_value FROM {p}options WHERE option_name = 'cron'").await;
    assert!(cron.starts_with("a:2:{i:") && cron.contains(r#";a:1:{s:31:"woocommerce_flush_rewrite_rules";a:1:{s:32:"40cd750bba9870f18aada2478b24840a";a:2:{s:8:"schedule";b:0;s:4:"args";a:0:{}}}}s:7:"version";i:2;}"#), "{cron}");

    // Terms: 42 reused, 44 and Белый (once, whatever the case) made with order = 0 (g1a).
    let razmer = terms_of(&mut shop, "pa_razmer").await;
    assert_eq!(razmer.iter().map(|(_, n, s)| (n.as_str(), s.as_str())).collect::<Vec<_>>(), [("42", "42"), ("44", "44")]);
    let colour = terms_of(&mut shop, "pa_цвет").await;
    assert_eq!(colour.iter().map(|(_, n, s)| (n.as_str(), s.as_str())).collect::<Vec<_>>(), [("Белый", "%d0%b1%d0%b5%d0%bb%d1%8b%d0%b9")]);
    let (t44, white) = (razmer[1].0, colour[0].0);
    for t in [t44, white] {
        let meta: Vec<(String, String)> = shop.conn.exec("SELECT meta_key, meta_value FROM wp_termmeta WHERE term_id = ?", (t,)).await.unwrap();
        assert_eq!(meta, [("order".to_string(), "0".to_string())]);
    }
    let counts: Vec<i64> = shop.conn.query("SELECT count FROM wp_term_taxonomy WHERE taxonomy LIKE 'pa\\_%'").await.unwrap();
    assert!(counts.iter().all(|c| *c == 0), "drafts count nowhere");

    // g2/g3: _product_attributes byte for byte, right before _product_version.
    let a1 = shop.id_of("A-1").await.unwrap();
    let expected = concat!(
        r#"a:3:{s:9:"pa_razmer";a:6:{s:4:"name";s:9:"pa_razmer";s:5:"value";s:0:"";s:8:"position";i:0;s:10:"is_visible";i:1;s:12:"is_variation";i:0;s:11:"is_taxonomy";i:1;}"#,
        r#"s:27:"pa_%d1%86%d0%b2%d0%b5%d1%82";a:6:{s:4:"name";s:11:"pa_цвет";s:5:"value";s:0:"";s:8:"position";i:1;s:10:"is_visible";i:1;s:12:"is_variation";i:0;s:11:"is_taxonomy";i:1;}"#,
        r#"s:48:"%d0%bc%d0%b0%d1%82%d0%b5%d1%80%d0%b8%d0%b0%d0%bb";a:6:{s:4:"name";s:16:"Материал";s:5:"value";s:12:"Хлопок";s:8:"position";i:2;s:10:"is_visible";i:1;s:12:"is_variation";i:0;s:11:"is_taxonomy";i:0;}}"#
    );
    assert_eq!(shop.one(a1, "_product_attributes").await.as_deref(), Some(expected));
    let keys: Vec<String> = shop.conn.exec("SELECT meta_key FROM wp_postmeta WHERE post_id = ? ORDER BY meta_id", (a1,)).await.unwrap();
    let at = keys.iter().position(|k| k == "_product_attributes").unwrap();
    assert_eq!((keys[at - 1].as_str(), keys[at + 1].as_str()), ("_wc_review_count", "_product_version"), "{keys:?}");
    assert_eq!(
        attribute_terms(&mut shop, a1).await,
        [("pa_razmer".to_string(), "42".to_string()), ("pa_razmer".into(), "44".into()), ("pa_цвет".into(), "Белый".into())]
    );
    // The lookup rows WooCommerce's queued update writes (LookupDataStore, simple product).
    assert_eq!(
        lookup_rows(&mut shop, a1).await,
        [(a1, a1, "pa_razmer".to_string(), t42, 0, 1), (a1, a1, "pa_razmer".into(), t44, 0, 1), (a1, a1, "pa_цвет".into(), white, 0, 1)]
    );
    let a2 = shop.id_of("A-2").await.unwrap();
    assert_eq!(lookup_rows(&mut shop, a2).await, [(a2, a2, "pa_razmer".to_string(), t44, 0, 0), (a2, a2, "pa_цвет".into(), white, 0, 0)], "out of stock");
    let a3 = shop.id_of("A-3").await.unwrap();
    assert_eq!(shop.one(a3, "_product_attributes").await, None, "no attributes, no row");

    // The report names every attribute of a create and the refused one.
    assert!(report.contains(&format!("create,A-1,{a1},product,attribute:Размер,,42 | 44,")), "{report}");
    assert!(report.contains(&format!("create,A-1,{a1},product,attribute:Материал,,Хлопок,")), "{report}");
    assert!(report.contains("create,,,attribute,name,,Цвет,\"a new global attribute, taxonomy pa_цвет\""), "{report}");
    assert!(report.contains(&format!("create,,{t44},attribute_term,name,,44,a new value of attribute Размер (pa_razmer)")), "{report}");
    assert!(
        report.contains("invalid,A-4,,,attribute:Длина рукава изделия,,,line 5: attribute Длина рукава изделия: its slug `длина-рукава-изделия` is 38 bytes; WooCommerce takes at most 27"),
        "{report}"
    );
    assert_eq!(shop.id_of("A-4").await, None);

    // A second run finds everything and writes nothing.
    let before = shop.snapshot().await;
    let out = shop.sync(&settings).await;
    assert_eq!((out.counts.created, out.counts.unchanged, out.counts.invalid), (0, 3, 1), "{}", shop.report());
    assert_eq!(attribute_rows(&mut shop).await.len(), 2);
    assert_eq!(terms_of(&mut shop, "pa_razmer").await.len(), 2);
    common::assert_same(&common::without_clock(&before), &common::without_clock(&shop.snapshot().await), "a second run");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_reports_the_attributes_and_writes_none() {
    let mut shop = TestShop::new().await;
    let before = shop.snapshot().await;
    let settings = shop.settings(FEED, CONFIG);
    let out = shop.try_sync(&settings, true).await.unwrap();
    assert_eq!((out.counts.created, out.counts.invalid), (3, 1));
    let report = shop.report();
    assert!(report.contains("create,,,attribute,name,,Размер,\"a new global attribute, taxonomy pa_размер\""), "{report}");
    assert!(report.contains("create,,,attribute_term,name,,Белый,a new value of attribute Цвет (pa_цвет)"), "{report}");
    assert!(report.contains("create,A-2,,product,attribute:Цвет,,белый,"), "{report}");
    assert_eq!(attribute_rows(&mut shop).await.len(), 0);
    common::assert_same(&before, &shop.snapshot().await, "a dry run");
    shop.drop_db().await;
}

const IMPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.07">
	<Классификатор>
		<Ид>cls-1</Ид>
		<Свойства>
			<Свойство><Ид>prop-brand</Ид><Наименование>Производитель</Наименование><ТипЗначений>Справочник</ТипЗначений>
				<ВариантыЗначений>
					<Справочник><ИдЗначения>v-1</ИдЗначения><Значение>Мамино &amp; Папино</Значение></Справочник>
					<Справочник><ИдЗначения>v-2</ИдЗначения><Значение>Зайка</Значение></Справочник>
				</ВариантыЗначений>
			</Свойство>
			<Свойство><Ид>prop-fabric</Ид><Наименование>Ткань</Наименование><ТипЗначений>Строка</ТипЗначений></Свойство>
		</Свойства>
	</Классификатор>
	<Каталог>
		<Товары>
			<Товар><Ид>g-1</Ид><Артикул>C-1</Артикул><Наименование>Комбинезон</Наименование>
				<ЗначенияСвойств>
					<ЗначенияСвойства><Ид>prop-brand</Ид><Значение>v-1</Значение></ЗначенияСвойства>
					<ЗначенияСвойства><Ид>prop-fabric</Ид><Значение>Футер</Значение></ЗначенияСвойства>
				</ЗначенияСвойств>
			</Товар>
			<Товар><Ид>g-2</Ид><Артикул>C-2</Артикул><Наименование>Шапка</Наименование>
				<ЗначенияСвойств><ЗначенияСвойства><Ид>prop-brand</Ид><Значение>v-2</Значение></ЗначенияСвойства></ЗначенияСвойств>
			</Товар>
		</Товары>
	</Каталог>
</КоммерческаяИнформация>
"#;

const OFFERS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.07">
	<ПакетПредложений>
		<ТипыЦен><ТипЦены><Ид>p</Ид><Наименование>Розничная</Наименование></ТипЦены></ТипыЦен>
		<Предложения>
			<Предложение><Ид>g-1</Ид><Цены><Цена><ИдТипаЦены>p</ИдТипаЦены><ЦенаЗаЕдиницу>1990</ЦенаЗаЕдиницу></Цена></Цены><Количество>3</Количество></Предложение>
			<Предложение><Ид>g-2</Ид><Цены><Цена><ИдТипаЦены>p</ИдТипаЦены><ЦенаЗаЕдиницу>590</ЦенаЗаЕдиницу></Цена></Цены><Количество>2</Количество></Предложение>
		</Предложения>
	</ПакетПредложений>
</КоммерческаяИнформация>
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commerceml_properties_become_attributes_with_reference_values_resolved() {
    let mut shop = TestShop::new().await;
    std::fs::write(shop.dir.path().join("import.xml"), IMPORT).unwrap();
    std::fs::write(shop.dir.path().join("offers.xml"), OFFERS).unwrap();
    let source = "[source]\ntype = \"commerceml\"\npath = \"offers.xml\"\nimport_path = \"import.xml\"\n\
                  [source.attributes]\n\"Бренд\" = \"Производитель\"\n\"Ткань\" = \"prop-fabric\"\n\
                  [sync]\nattribute_slugs = { \"Бренд\" = \"brand\" }\n";
    let out = shop.sync(&shop.settings_source(source, "")).await;
    assert_eq!(out.counts.created, 2, "{}", shop.report());
    let brands = terms_of(&mut shop, "pa_brand").await;
    assert_eq!(brands.iter().map(|(_, n, _)| n.as_str()).collect::<Vec<_>>(), ["Мамино &amp; Папино", "Зайка"], "names as WordPress stores them");
    let c1 = shop.id_of("C-1").await.unwrap();
    assert_eq!(
        attribute_terms(&mut shop, c1).await,
        [("pa_brand".to_string(), "Мамино &amp; Папино".to_string()), ("pa_ткань".into(), "Футер".into())]
    );
    let c2 = shop.id_of("C-2").await.unwrap();
    assert_eq!(attribute_terms(&mut shop, c2).await, [("pa_brand".to_string(), "Зайка".to_string())]);

    // A name that is neither a property nor a characteristic fails the source before anything is written.
    let before = shop.snapshot().await;
    let bad = source.replace("prop-fabric", "Состав");
    let err = shop.try_sync(&shop.settings_source(&bad, ""), false).await.unwrap_err().to_string();
    assert!(
        err.contains("`Состав` (attribute Ткань in [source.attributes]) is neither a property of import.xml's Классификатор/Свойства nor a characteristic (ХарактеристикаТовара) of any offer; the properties are: Производитель (prop-brand), Ткань (prop-fabric)"),
        "{err}"
    );
    common::assert_same(&before, &shop.snapshot().await, "a failed source");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_content_keeps_the_attributes_the_feed_gives_in_step() {
    let mut shop = TestShop::new().await;
    razmer_with_42(&mut shop).await;
    shop.sync(&shop.settings(FEED, CONFIG)).await;
    let a1 = shop.id_of("A-1").await.unwrap();
    // Someone publishes A-1 (WordPress counts its terms then).
    shop.conn
        .exec_drop("UPDATE wp_posts SET post_status = 'publish' WHERE ID = ?", (a1,))
        .await
        .unwrap();
    shop.conn
        .query_drop(format!("UPDATE wp_term_taxonomy SET count = 1 WHERE term_taxonomy_id IN (SELECT term_taxonomy_id FROM (SELECT term_taxonomy_id FROM wp_term_relationships WHERE object_id = {a1}) x) AND taxonomy LIKE 'pa\\_%'"))
        .await
        .unwrap();
    let feed = "sku,name,regular_price,stock,Размер,Цвет,Материал,Рукав\n\
                A-1,Футболка,500,3,44|46,,Лён,\n\
                A-2,Майка,400,0,44,белый,,\n\
                A-3,Без атрибутов,100,1,,,,\n";
    // Without update_content the attributes are the shop's.
    let out = shop.sync(&shop.settings(feed, CONFIG)).await;
    assert_eq!(out.counts.updated, 0, "{}", shop.report());

    let config = format!("{CONFIG}update_content = [\"attributes\"]\n");
    let out = shop.sync(&shop.settings(feed, &config)).await;
    let report = shop.report();
    assert_eq!(out.counts.updated, 1, "{report}");
    assert!(report.contains(&format!("update,A-1,{a1},product,attribute:Размер,42 | 44,44 | 46,")), "{report}");
    assert!(report.contains(&format!("update,A-1,{a1},product,attribute:Материал,Хлопок,Лён,")), "{report}");
    assert!(!report.contains("attribute:Цвет"), "an empty cell leaves it alone: {report}");
    assert_eq!(
        attribute_terms(&mut shop, a1).await,
        [("pa_razmer".to_string(), "44".to_string()), ("pa_razmer".into(), "46".into()), ("pa_цвет".into(), "Белый".into())]
    );
    let attrs = shop.one(a1, "_product_attributes").await.unwrap();
    assert!(attrs.contains(r#"s:5:"value";s:6:"Лён";s:8:"position";i:2;"#), "{attrs}");
    // Counted as WordPress counts a published product's terms.
    let counts: Vec<(String, i64)> = shop
        .conn
        .query("SELECT t.name, tt.count FROM wp_term_taxonomy tt JOIN wp_terms t ON t.term_id = tt.term_id WHERE tt.taxonomy = 'pa_razmer' ORDER BY t.name")
        .await
        .unwrap();
    assert_eq!(counts, [("42".to_string(), 0), ("44".into(), 1), ("46".into(), 1)]);
    let lookup: Vec<(String, u64)> = shop.conn.exec("SELECT taxonomy, term_id FROM wp_wc_product_attributes_lookup WHERE product_id = ? ORDER BY taxonomy, term_id", (a1,)).await.unwrap();
    let t46: u64 = shop.scalar("SELECT t.term_id FROM {p}terms t JOIN {p}term_taxonomy tt ON tt.term_id = t.term_id WHERE tt.taxonomy = 'pa_razmer' AND t.name = '46'").await;
    assert_eq!(lookup.iter().filter(|(t, _)| t == "pa_razmer").map(|(_, id)| *id).collect::<Vec<_>>().contains(&t46), true, "{lookup:?}");
    assert_eq!(lookup.len(), 3, "44, 46 and Белый: {lookup:?}");

    // In step: nothing written.
    let before = shop.snapshot().await;
    let out = shop.sync(&shop.settings(feed, &config)).await;
    assert_eq!(out.counts.updated, 0, "{}", shop.report());
    common::assert_same(&common::without_clock(&before), &common::without_clock(&shop.snapshot().await), "in step");
    shop.drop_db().await;
}
