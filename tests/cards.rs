//! Product cards from the feed against a real MariaDB: descriptions, short descriptions and
//! GTINs written on new products as WooCommerce 9.9 writes them (CATALOGUE.md h1, h2), GTINs
//! kept unique as WooCommerce keeps them, existing cards left to the people who edit them.

mod common;

use common::TestShop;
use mysql_async::prelude::*;
use woosync::fixture::Spec;

/// A post's content, excerpt and title.
async fn texts(shop: &mut TestShop, id: u64) -> (String, String, String) {
    shop.conn.exec_first("SELECT post_content, post_excerpt, post_title FROM wp_posts WHERE ID = ?", (id,)).await.unwrap().unwrap()
}

async fn lookup_gtin(shop: &mut TestShop, id: u64) -> String {
    shop.scalar(&format!("SELECT global_unique_id FROM {{p}}wc_product_meta_lookup WHERE product_id = {id}")).await
}

/// The meta keys of a post in meta_id order.
async fn meta_keys(shop: &mut TestShop, id: u64) -> Vec<String> {
    shop.conn.exec("SELECT meta_key FROM wp_postmeta WHERE post_id = ? ORDER BY meta_id", (id,)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_products_get_their_descriptions_and_gtin_as_woocommerce_writes_them() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("OLD-1", "10.00", 5)]).await;
    let description = "<p>Боди из <strong>хлопка</strong>, 100%.</p>\n<ul><li>Кнопки &amp; застёжка</li></ul>";
    let feed = format!(
        "sku,name,regular_price,stock,description,short_description,gtin\n\
         B-1,Боди детское,599,4,\"{}\",Мягкий хлопок,4600000000017\n\
         B-2,Боди белое,499,2,,,\"460 0000 00002-4\"\n\
         B-3,Боди серое,499,2,,,н/д\n\
         OLD-1,Старый товар,12.00,5,<p>Новое описание</p>,,4600000000024\n",
        description.replace('"', "\"\"")
    );
    let s = shop.settings(&feed, "");
    let out = shop.sync(&s).await;
    let report = shop.report();
    assert_eq!((out.counts.created, out.counts.updated), (3, 1), "{report}");

    let b1 = shop.id_of("B-1").await.unwrap();
    assert_eq!(texts(&mut shop, b1).await, (description.to_string(), "Мягкий хлопок".to_string(), "Боди детское".to_string()), "HTML kept as given");
    assert_eq!(shop.one(b1, "_global_unique_id").await.as_deref(), Some("4600000000017"));
    let keys = meta_keys(&mut shop, b1).await;
    assert_eq!(&keys[..3], ["_sku", "_global_unique_id", "_regular_price"], "WooCommerce's order: {keys:?}");
    assert_eq!(lookup_gtin(&mut shop, b1).await, "4600000000017");
    for row in [
        format!("create,B-1,{b1},product,short_description,,Мягкий хлопок,"),
        format!("create,B-1,{b1},product,gtin,,4600000000017,"),
        format!("create,B-1,{b1},product,description,,\"{}\",", description.replace('"', "\"\"")),
    ] {
        assert!(report.contains(&row), "missing\n{row}\nin\n{report}");
    }
    // Digits and `-` only, as WooCommerce keeps them.
    let b2 = shop.id_of("B-2").await.unwrap();
    assert_eq!(shop.one(b2, "_global_unique_id").await.as_deref(), Some("460000000002-4"));
    assert_eq!(texts(&mut shop, b2).await.0, "", "no description: none written");
    // No digits at all: left out with a warning, the product still created.
    let b3 = shop.id_of("B-3").await.unwrap();
    assert!(shop.meta(b3, "_global_unique_id").await.is_empty());
    assert_eq!(lookup_gtin(&mut shop, b3).await, "");
    // Line 5: B-1's description spans two lines of the file.
    assert!(report.contains("warning,B-3,,,_global_unique_id,,,line 5: GTIN `н/д` has no digits (WooCommerce keeps digits and `-` only); left alone"), "{report}");
    // An existing card is the shop's: its price follows the feed, its texts and GTIN do not.
    let old = texts(&mut shop, ids[0]).await;
    assert_eq!(old.0, "");
    assert_eq!(shop.one(ids[0], "_regular_price").await.as_deref(), Some("12.00"));
    assert!(shop.meta(ids[0], "_global_unique_id").await.is_empty());
    assert!(!report.contains("OLD-1,100,product,description"), "{report}");

    let again = shop.sync(&s).await;
    assert_eq!((again.counts.created, again.counts.updated, again.counts.unchanged), (0, 0, 4), "{}", shop.report());
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gtin_is_unique_like_woocommerce_keeps_it() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("HAS-1", "10.00", 5), Spec::simple("GONE-1", "10.00", 5)]).await;
    for (id, gtin) in [(ids[0], "4600000000031"), (ids[1], "4600000000048")] {
        shop.conn.exec_drop("INSERT INTO wp_postmeta (post_id, meta_key, meta_value) VALUES (?, '_global_unique_id', ?)", (id, gtin)).await.unwrap();
        shop.conn.exec_drop("UPDATE wp_wc_product_meta_lookup SET global_unique_id = ? WHERE product_id = ?", (gtin, id)).await.unwrap();
    }
    shop.conn.query_drop(format!("UPDATE wp_posts SET post_status = 'trash' WHERE ID = {}", ids[1])).await.unwrap();
    let feed = "sku,name,regular_price,gtin\n\
                N-1,Один,10,4600000000055\n\
                N-2,Два,10,4600000000055\n\
                N-3,Три,10,4600000000031\n\
                N-4,Четыре,10,4600000000048\n\
                N-5,Пять,10,\n";
    let out = shop.sync(&shop.settings(feed, "")).await;
    let report = shop.report();
    assert_eq!((out.counts.created, out.counts.conflict), (2, 3), "{report}");
    assert!(report.contains("conflict,N-1,,,gtin,,,\"line 2: GTIN 4600000000055 appears 2 times in the feed (lines 2, 3); nothing written for it\""), "{report}");
    assert!(report.contains("conflict,N-2,,,gtin,,,\"line 3: GTIN 4600000000055 appears 2 times in the feed (lines 2, 3); nothing written for it\""), "{report}");
    assert!(report.contains(&format!(
        "conflict,N-3,,,gtin,,,\"line 4: GTIN 4600000000031 belongs to product {} (SKU \"\"HAS-1\"\"); WooCommerce keeps GTINs unique; nothing written for it\"",
        ids[0]
    )), "{report}");
    for sku in ["N-1", "N-2", "N-3"] {
        assert!(shop.id_of(sku).await.is_none(), "{sku} is not created");
    }
    let n4 = shop.id_of("N-4").await.expect("a trashed product's GTIN is free, as in WooCommerce");
    assert_eq!(shop.one(n4, "_global_unique_id").await.as_deref(), Some("4600000000048"));
    assert!(shop.id_of("N-5").await.is_some());
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commerceml_descriptions_and_barcodes_come_from_the_goods() {
    let mut shop = TestShop::new().await;
    let import = r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.07" ДатаФормирования="2026-12-04T10:00:00">
	<Каталог СодержитТолькоИзменения="false">
		<Ид>cat-1</Ид>
		<Товары>
			<Товар>
				<Ид>g-1</Ид>
				<Штрихкод>4600000000062</Штрихкод>
				<Артикул>C-1</Артикул>
				<Наименование>Комбинезон флисовый</Наименование>
				<БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт</БазоваяЕдиница>
				<Описание>&lt;p&gt;Тёплый флис &amp;amp; капюшон&lt;/p&gt;</Описание>
				<ЗначенияРеквизитов>
					<ЗначениеРеквизита><Наименование>Полное наименование</Наименование><Значение>Комбинезон флисовый детский</Значение></ЗначениеРеквизита>
				</ЗначенияРеквизитов>
			</Товар>
			<Товар>
				<Ид>g-2</Ид>
				<Артикул>C-2</Артикул>
				<Наименование>Шапка</Наименование>
			</Товар>
		</Товары>
	</Каталог>
</КоммерческаяИнформация>
"#;
    let offers = r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.07">
	<ПакетПредложений>
		<ТипыЦен><ТипЦены><Ид>p</Ид><Наименование>Розничная</Наименование></ТипЦены></ТипыЦен>
		<Предложения>
			<Предложение><Ид>g-1</Ид><Наименование>Комбинезон флисовый</Наименование><Цены><Цена><ИдТипаЦены>p</ИдТипаЦены><ЦенаЗаЕдиницу>1990</ЦенаЗаЕдиницу></Цена></Цены><Количество>3</Количество></Предложение>
			<Предложение><Ид>g-2</Ид><Штрихкод>4600000000079</Штрихкод><Цены><Цена><ИдТипаЦены>p</ИдТипаЦены><ЦенаЗаЕдиницу>490</ЦенаЗаЕдиницу></Цена></Цены><Количество>7</Количество></Предложение>
		</Предложения>
	</ПакетПредложений>
</КоммерческаяИнформация>
"#;
    std::fs::write(shop.dir.path().join("import.xml"), import).unwrap();
    std::fs::write(shop.dir.path().join("offers.xml"), offers).unwrap();
    let source = "[source]\ntype = \"commerceml\"\npath = \"offers.xml\"\nimport_path = \"import.xml\"\n";
    let out = shop.sync(&shop.settings_source(source, "")).await;
    assert_eq!(out.counts.created, 2, "{}", shop.report());
    let c1 = shop.id_of("C-1").await.unwrap();
    assert_eq!(texts(&mut shop, c1).await.0, "<p>Тёплый флис &amp; капюшон</p>", "the XML's entities decoded once: the HTML 1C wrote");
    assert_eq!(shop.one(c1, "_global_unique_id").await.as_deref(), Some("4600000000062"), "the good's Штрихкод");
    let c2 = shop.id_of("C-2").await.unwrap();
    assert_eq!(shop.one(c2, "_global_unique_id").await.as_deref(), Some("4600000000079"), "the offer's own Штрихкод");
    assert_eq!(texts(&mut shop, c2).await.0, "");
    shop.drop_db().await;
}
