//! Variable products from the feed against a real MariaDB: a family of rows naming a parent SKU
//! the shop lacks becomes a draft variable product with published variations, row by row as
//! WooCommerce 9.9 writes them (CATALOGUE.md g2, g3): posts, meta in order, `_product_attributes`,
//! terms and counts, lookup rows, attribute lookup rows; the bad inputs of a family; a second run
//! writing nothing.

mod common;

use common::TestShop;
use mysql_async::prelude::*;

async fn post(shop: &mut TestShop, id: u64) -> (String, String, String, String, String, u64, String, String, i64) {
    let row: (String, String, String, String, String, u64, String, String, i64) = shop
        .conn
        .exec_first(
            "SELECT post_title, post_excerpt, post_status, comment_status, post_name, post_parent, guid, post_type, menu_order FROM wp_posts WHERE ID = ?",
            (id,),
        )
        .await
        .unwrap()
        .unwrap();
    row
}

async fn meta_rows(shop: &mut TestShop, id: u64) -> Vec<(String, Option<String>)> {
    shop.conn.exec("SELECT meta_key, meta_value FROM wp_postmeta WHERE post_id = ? ORDER BY meta_id", (id,)).await.unwrap()
}

/// (taxonomy, term slug) of a post's terms.
async fn terms_of(shop: &mut TestShop, id: u64) -> Vec<(String, String)> {
    shop.conn
        .exec(
            "SELECT tt.taxonomy, t.slug FROM wp_term_relationships tr JOIN wp_term_taxonomy tt ON tt.term_taxonomy_id = tr.term_taxonomy_id \
             JOIN wp_terms t ON t.term_id = tt.term_id WHERE tr.object_id = ? ORDER BY tt.taxonomy, t.slug",
            (id,),
        )
        .await
        .unwrap()
}

fn m(k: &str, v: &str) -> (String, Option<String>) {
    (k.to_string(), Some(v.to_string()))
}

const CONFIG: &str = "[source.columns]\ncategory = \"category\"\n\
                      [source.attributes]\n\"Размер\" = \"Размер\"\n\"Цвет\" = \"Цвет\"\n\
                      [sync]\nlocal_attributes = [\"Цвет\"]\nattribute_slugs = { \"Размер\" = \"razmer\" }\n";

const FEED: &str = "sku,name,regular_price,stock,parent_sku,Размер,Цвет,category\n\
                    BODY-VAR,Боди детское,,,,,,Одежда > Боди\n\
                    BODY-VAR-42,Боди детское 42,990.00,5,BODY-VAR,42,Белый,\n\
                    BODY-VAR-44,Боди детское 44,990.00,3,BODY-VAR,44,Белый,\n\
                    BODY-VAR-46,Боди детское 46,1090.00,0,BODY-VAR,46,Белый,\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_family_becomes_a_variable_product_as_woocommerce_creates_it() {
    let mut shop = TestShop::new().await;
    let outofstock_before = shop.scalar::<i64>("SELECT count FROM {p}term_taxonomy WHERE taxonomy = 'product_visibility' AND term_taxonomy_id = (SELECT term_taxonomy_id FROM (SELECT tt.term_taxonomy_id FROM {p}term_taxonomy tt JOIN {p}terms t ON t.term_id = tt.term_id WHERE t.slug = 'outofstock') x)").await;
    let settings = shop.settings(FEED, CONFIG);
    let out = shop.sync(&settings).await;
    let report = shop.report();
    assert_eq!((out.counts.created, out.counts.invalid, out.counts.conflict), (4, 0, 0), "{report}");

    let parent = shop.id_of("BODY-VAR").await.unwrap();
    let v: Vec<u64> = [shop.id_of("BODY-VAR-42").await, shop.id_of("BODY-VAR-44").await, shop.id_of("BODY-VAR-46").await].into_iter().map(Option::unwrap).collect();
    let site: String = shop.scalar("SELECT option_value FROM {p}options WHERE option_name = 'siteurl'").await;

    // g2: the parent is a draft product; the variations are published under it.
    let p = post(&mut shop, parent).await;
    assert_eq!((p.0.as_str(), p.1.as_str(), p.2.as_str(), p.3.as_str(), p.4.as_str(), p.5), ("Боди детское", "", "draft", "open", "", 0));
    assert_eq!((p.6, p.7.as_str()), (format!("{site}/?post_type=product&p={parent}"), "product"));
    let slug42 = "%d0%b1%d0%be%d0%b4%d0%b8-%d0%b4%d0%b5%d1%82%d1%81%d0%ba%d0%be%d0%b5-42";
    let first = post(&mut shop, v[0]).await;
    assert_eq!(
        first,
        (
            "Боди детское - 42".to_string(),
            "Размер: 42".to_string(),
            "publish".to_string(),
            "closed".to_string(),
            slug42.to_string(),
            parent,
            format!("{site}/?post_type=product_variation&p={}", v[0]),
            "product_variation".to_string(),
            0
        )
    );
    assert_eq!(post(&mut shop, v[2]).await.0, "Боди детское - 46");

    // The parent's meta in WooCommerce's order, its `_price` rows last (the deferred sync).
    let wc: String = shop.scalar("SELECT option_value FROM {p}options WHERE option_name = 'woocommerce_version'").await;
    let attributes = concat!(
        r#"a:2:{s:9:"pa_razmer";a:6:{s:4:"name";s:9:"pa_razmer";s:5:"value";s:0:"";s:8:"position";i:0;s:10:"is_visible";i:1;s:12:"is_variation";i:1;s:11:"is_taxonomy";i:1;}"#,
        r#"s:24:"%d1%86%d0%b2%d0%b5%d1%82";a:6:{s:4:"name";s:8:"Цвет";s:5:"value";s:10:"Белый";s:8:"position";i:1;s:10:"is_visible";i:1;s:12:"is_variation";i:0;s:11:"is_taxonomy";i:0;}}"#
    );
    assert_eq!(
        meta_rows(&mut shop, parent).await,
        vec![
            m("_sku", "BODY-VAR"),
            m("total_sales", "0"),
            m("_tax_status", "taxable"),
            m("_tax_class", ""),
            m("_manage_stock", "no"),
            m("_backorders", "no"),
            m("_sold_individually", "no"),
            m("_virtual", "no"),
            m("_downloadable", "no"),
            m("_download_limit", "-1"),
            m("_download_expiry", "-1"),
            ("_stock".to_string(), None),
            m("_stock_status", "instock"),
            m("_wc_average_rating", "0"),
            m("_wc_review_count", "0"),
            m("_product_attributes", attributes),
            m("_product_version", &wc),
            m("_price", "990.00"),
            m("_price", "1090.00"),
        ]
    );
    // g2: the 20 rows of a variation.
    assert_eq!(
        meta_rows(&mut shop, v[2]).await,
        vec![
            m("_variation_description", ""),
            m("_sku", "BODY-VAR-46"),
            m("_regular_price", "1090.00"),
            m("total_sales", "0"),
            m("_tax_status", "taxable"),
            m("_tax_class", "parent"),
            m("_manage_stock", "yes"),
            m("_backorders", "no"),
            m("_sold_individually", "no"),
            m("_virtual", "no"),
            m("_downloadable", "no"),
            m("_download_limit", "-1"),
            m("_download_expiry", "-1"),
            m("_stock", "0"),
            m("_stock_status", "outofstock"),
            m("_wc_average_rating", "0"),
            m("_wc_review_count", "0"),
            m("attribute_pa_razmer", "46"),
            m("_price", "1090.00"),
            m("_product_version", &wc),
        ]
    );

    // Terms: the parent's category, sizes and type; only the out-of-stock variation has a term,
    // and that count rises although the parent is a draft.
    let boди = "%d0%b1%d0%be%d0%b4%d0%b8";
    assert_eq!(
        terms_of(&mut shop, parent).await,
        [
            ("pa_razmer".to_string(), "42".to_string()),
            ("pa_razmer".into(), "44".into()),
            ("pa_razmer".into(), "46".into()),
            ("product_cat".into(), boди.into()),
            ("product_type".into(), "variable".into())
        ]
    );
    assert_eq!(terms_of(&mut shop, v[0]).await, []);
    assert_eq!(terms_of(&mut shop, v[2]).await, [("product_visibility".to_string(), "outofstock".to_string())]);
    let outofstock_after = shop.scalar::<i64>("SELECT count FROM {p}term_taxonomy WHERE taxonomy = 'product_visibility' AND term_taxonomy_id = (SELECT term_taxonomy_id FROM (SELECT tt.term_taxonomy_id FROM {p}term_taxonomy tt JOIN {p}terms t ON t.term_id = tt.term_id WHERE t.slug = 'outofstock') x)").await;
    assert_eq!(outofstock_after, outofstock_before + 1);

    // Lookup rows: the parent spans its variations' prices; variations have tax_class parent.
    let lookup = |id: u64| format!("SELECT CONCAT_WS('|', sku, min_price, max_price, onsale, IFNULL(stock_quantity, 'NULL'), stock_status, tax_class) FROM {{p}}wc_product_meta_lookup WHERE product_id = {id}");
    assert_eq!(shop.scalar::<String>(&lookup(parent)).await, "BODY-VAR|990.0000|1090.0000|0|NULL|instock|");
    assert_eq!(shop.scalar::<String>(&lookup(v[2])).await, "BODY-VAR-46|1090.0000|1090.0000|0|0|outofstock|parent");
    // The attribute lookup: one row per variation (none for the parent: Цвет is local).
    let rows: Vec<(u64, u64, String, i64, i64)> = shop
        .conn
        .query("SELECT product_id, product_or_parent_id, taxonomy, is_variation_attribute, in_stock FROM wp_wc_product_attributes_lookup ORDER BY product_id")
        .await
        .unwrap();
    assert_eq!(rows, [(v[0], parent, "pa_razmer".to_string(), 1, 1), (v[1], parent, "pa_razmer".into(), 1, 1), (v[2], parent, "pa_razmer".into(), 1, 0)]);

    // The report: the parent's type and the variations' attributes.
    assert!(report.contains(&format!("create,BODY-VAR,{parent},product,product_type,,variable,")), "{report}");
    assert!(report.contains(&format!("create,BODY-VAR-42,{},product_variation,post_title,,Боди детское - 42,", v[0])), "{report}");
    assert!(report.contains(&format!("create,BODY-VAR-42,{},product_variation,attribute:Размер,,42,", v[0])), "{report}");

    // A second run finds the family and writes nothing.
    shop.second_run_writes_nothing(&settings, 4).await;
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_family_without_a_parent_row_takes_its_first_row_and_bad_rows_are_named() {
    let mut shop = TestShop::new().await;
    shop.insert(&[woosync::fixture::Spec::simple("SIMPLE-1", "10.00", 5)]).await;
    let feed = "sku,name,regular_price,stock,parent_sku,Цвет,Размер\n\
                K-1,Кофта,500,2,KOFTA,Белый,S\n\
                K-2,Кофта,500,2,KOFTA,Синий,S\n\
                K-3,Кофта,520,0,KOFTA,Белый,S\n\
                K-4,Кофта,500,1,KOFTA,,\n\
                K-5,Кофта,500,1,KOFTA,Красный|Синий,S\n\
                X-1,Чужая,100,1,SIMPLE-1,Белый,\n\
                H-1,Шапка,300,1,HAT,Серый,\n";
    let config = "[source.attributes]\n\"Цвет\" = \"Цвет\"\n\"Размер\" = \"Размер\"\n";
    let out = shop.sync(&shop.settings(feed, config)).await;
    let report = shop.report();
    assert_eq!((out.counts.created, out.counts.invalid, out.counts.conflict), (2, 3, 2), "{report}");
    assert!(report.contains("conflict,K-1,,,attributes,,,\"line 2: variations of KOFTA at lines 2, 4 have the same attribute values (Цвет: Белый)"), "{report}");
    assert!(report.contains("conflict,K-3,,,attributes,,,\"line 4: variations of KOFTA at lines 2, 4"), "{report}");
    assert!(report.contains("invalid,K-4,,,attributes,,,line 5: the variation gives no value of its family's variation attributes (Цвет)"), "{report}");
    assert!(report.contains("invalid,K-5,,,attribute:Цвет,,,line 6: a variation takes one value of attribute Цвет; found Красный | Синий"), "{report}");
    assert!(report.contains("invalid,X-1,,,parent_sku,,,\"line 7: parent SKU SIMPLE-1 belongs to product"), "{report}");
    assert!(report.contains("which is not a variable product"), "{report}");

    // KOFTA: made from its first valid row (K-2, the only variation left); Размер (S on every
    // row) is the parent's visible, non-variation attribute.
    let kofta = shop.id_of("KOFTA").await.unwrap();
    let k2 = shop.id_of("K-2").await.unwrap();
    assert_eq!(shop.title(kofta).await, "Кофта");
    // Цвет has a Cyrillic slug: WooCommerce titles and summarises the variation with the term
    // slug (it looks the taxonomy up under its sanitized key, which is not registered).
    let p = post(&mut shop, k2).await;
    assert_eq!((p.0.as_str(), p.1.as_str()), ("Кофта - синий", "pa_цвет: синий"));
    let attrs: Vec<(String, Option<String>)> = meta_rows(&mut shop, k2).await.into_iter().filter(|(k, _)| k.starts_with("attribute_")).collect();
    assert_eq!(attrs, [m("attribute_pa_%d1%86%d0%b2%d0%b5%d1%82", "%d1%81%d0%b8%d0%bd%d0%b8%d0%b9")]);
    let parent_attrs = shop.one(kofta, "_product_attributes").await.unwrap();
    assert!(parent_attrs.contains(r#"s:27:"pa_%d1%86%d0%b2%d0%b5%d1%82";a:6:{s:4:"name";s:11:"pa_цвет";s:5:"value";s:0:"";s:8:"position";i:0;s:10:"is_visible";i:1;s:12:"is_variation";i:1;"#), "{parent_attrs}");
    assert!(parent_attrs.contains(r#"s:15:"pa_размер";s:5:"value";s:0:"";s:8:"position";i:1;s:10:"is_visible";i:1;s:12:"is_variation";i:0;"#), "{parent_attrs}");
    // The parent's non-variation taxonomy attribute has its own lookup row.
    let rows: Vec<(u64, u64, i64)> = shop
        .conn
        .exec("SELECT product_id, product_or_parent_id, is_variation_attribute FROM wp_wc_product_attributes_lookup WHERE product_or_parent_id = ? ORDER BY product_id", (kofta,))
        .await
        .unwrap();
    assert_eq!(rows, [(kofta, kofta, 0), (k2, kofta, 1)]);
    assert!(report.contains(&format!("create,KOFTA,{kofta},product,post_title,,Кофта,the variable product of K-2")), "{report}");

    // HAT: a family of one variation: its attribute is the variation attribute.
    let hat = shop.id_of("HAT").await.unwrap();
    let h1 = shop.id_of("H-1").await.unwrap();
    assert_eq!(post(&mut shop, h1).await.5, hat);
    assert_eq!(shop.id_of("K-1").await, None);
    shop.drop_db().await;
}

const IMPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.07">
	<Классификатор>
		<Ид>cls-1</Ид>
		<Группы><Группа><Ид>grp-body</Ид><Наименование>Боди</Наименование></Группа></Группы>
	</Классификатор>
	<Каталог>
		<Товары>
			<Товар><Ид>g-body</Ид><Артикул>BODY-1C</Артикул><Наименование>Боди детское</Наименование><Описание>&lt;p&gt;Мягкий хлопок&lt;/p&gt;</Описание><Группы><Ид>grp-body</Ид></Группы></Товар>
			<Товар><Ид>g-cap</Ид><Артикул>CAP-1</Артикул><Наименование>Шапка</Наименование></Товар>
			<Товар><Ид>g-hat</Ид><Артикул>HAT-1C</Артикул><Наименование>Панама</Наименование></Товар>
			<Товар><Ид>g-other</Ид><Артикул>HAT-1C</Артикул><Наименование>Другая панама</Наименование></Товар>
		</Товары>
	</Каталог>
</КоммерческаяИнформация>
"#;

fn offer(id: &str, article: &str, size: Option<&str>, price: u32, qty: u32) -> String {
    let chars = size.map(|s| format!("<ХарактеристикиТовара><ХарактеристикаТовара><Наименование>Размер</Наименование><Значение>{s}</Значение></ХарактеристикаТовара></ХарактеристикиТовара>")).unwrap_or_default();
    format!("<Предложение><Ид>{id}</Ид><Артикул>{article}</Артикул><Наименование>x</Наименование>{chars}<Цены><Цена><ИдТипаЦены>p</ИдТипаЦены><ЦенаЗаЕдиницу>{price}</ЦенаЗаЕдиницу></Цена></Цены><Количество>{qty}</Количество></Предложение>")
}

fn offers(list: &[String]) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.07"><ПакетПредложений><ТипыЦен><ТипЦены><Ид>p</Ид><Наименование>Розничная</Наименование></ТипЦены></ТипыЦен><Предложения>{}</Предложения></ПакетПредложений></КоммерческаяИнформация>"#,
        list.join("")
    )
}

const CML: &str = "[source]\ntype = \"commerceml\"\npath = \"offers.xml\"\nimport_path = \"import.xml\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commerceml_characteristics_sharing_their_goods_article_are_one_family() {
    let mut shop = TestShop::new().await;
    std::fs::write(shop.dir.path().join("import.xml"), IMPORT).unwrap();
    let feed = offers(&[offer("g-body#c42", "BODY-1C", Some("42"), 990, 5), offer("g-body#c44", "BODY-1C", Some("44"), 990, 3), offer("g-cap", "CAP-1", None, 300, 2)]);
    std::fs::write(shop.dir.path().join("offers.xml"), feed).unwrap();
    let config = format!("{CML}[sync]\nattribute_slugs = {{ \"Размер\" = \"razmer\" }}\nvariation_sku = \"{{parent_sku}}-{{values}}\"\n");
    let settings = shop.settings_source(&config, "");
    let out = shop.sync(&settings).await;
    let report = shop.report();
    assert_eq!((out.counts.created, out.counts.conflict, out.counts.invalid), (3, 0, 0), "two variations and the cap: {report}");

    let parent = shop.id_of("BODY-1C").await.unwrap();
    assert_eq!(shop.one(parent, "_woosync_external_id").await.as_deref(), Some("g-body"), "the good's Ид");
    let content: String = shop.scalar(&format!("SELECT post_content FROM {{p}}posts WHERE ID = {parent}")).await;
    assert_eq!(content, "<p>Мягкий хлопок</p>", "the good's description is its product's");
    assert_eq!(terms_of(&mut shop, parent).await.iter().filter(|(t, _)| t == "product_cat").count(), 1);
    let v42 = shop.id_of("BODY-1C-42").await.unwrap();
    assert_eq!(shop.one(v42, "_woosync_external_id").await.as_deref(), Some("g-body#c42"));
    let p = post(&mut shop, v42).await;
    assert_eq!((p.0.as_str(), p.1.as_str(), p.5), ("Боди детское - 42", "Размер: 42", parent));
    assert!(report.contains(&format!("create,BODY-1C-42,{v42},product_variation,_sku,,BODY-1C-42,")), "{report}");
    assert!(shop.id_of("CAP-1").await.is_some());

    // A second run matches the variations by their Ид and writes nothing.
    shop.second_run_writes_nothing(&settings, 3).await;
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_made_variation_sku_that_another_feed_row_holds_is_a_conflict() {
    let mut shop = TestShop::new().await;
    std::fs::write(shop.dir.path().join("import.xml"), IMPORT).unwrap();
    // The cap's own article is what the template would make for the size-44 body.
    let feed = offers(&[offer("g-body#c42", "BODY-1C", Some("42"), 990, 5), offer("g-body#c44", "BODY-1C", Some("44"), 990, 3), offer("g-cap", "BODY-1C-44", None, 300, 2)]);
    std::fs::write(shop.dir.path().join("offers.xml"), feed).unwrap();
    let config = format!("{CML}[sync]\nattribute_slugs = {{ \"Размер\" = \"razmer\" }}\nvariation_sku = \"{{parent_sku}}-{{values}}\"\n");
    let out = shop.sync(&shop.settings_source(&config, "")).await;
    let report = shop.report();
    assert_eq!((out.counts.created, out.counts.conflict), (2, 1), "the 42 and the cap: {report}");
    assert!(report.contains("the variation's SKU BODY-1C-44 ([sync] variation_sku) is the SKU of another row of the feed; nothing written for it"), "{report}");
    let cap = shop.id_of("BODY-1C-44").await.unwrap();
    let cap_type: String = shop.scalar(&format!("SELECT post_type FROM {{p}}posts WHERE ID = {cap}")).await;
    assert_eq!(cap_type, "product", "the SKU stays the cap's");
    assert!(shop.id_of("BODY-1C-42").await.is_some());
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variations_without_a_sku_and_one_article_on_two_goods() {
    let mut shop = TestShop::new().await;
    std::fs::write(shop.dir.path().join("import.xml"), IMPORT).unwrap();
    let feed = offers(&[
        offer("g-body#c42", "BODY-1C", Some("42"), 990, 5),
        offer("g-body#c44", "BODY-1C", Some("44"), 990, 3),
        offer("g-hat#s", "HAT-1C", Some("S"), 500, 1),
        offer("g-other#m", "HAT-1C", Some("M"), 500, 1),
    ]);
    std::fs::write(shop.dir.path().join("offers.xml"), feed).unwrap();
    let out = shop.sync(&shop.settings_source(CML, "")).await;
    let report = shop.report();
    assert_eq!((out.counts.created, out.counts.conflict), (2, 2), "{report}");
    assert!(report.contains("article HAT-1C is on offers of 2 different goods (g-hat, g-other)"), "{report}");
    assert_eq!(shop.id_of("HAT-1C").await, None);

    // Without [sync] variation_sku a new variation has no SKU (and no `_sku` row), only its Ид.
    let parent = shop.id_of("BODY-1C").await.unwrap();
    let children: Vec<u64> = shop.conn.exec("SELECT ID FROM wp_posts WHERE post_parent = ? ORDER BY ID", (parent,)).await.unwrap();
    assert_eq!(children.len(), 2);
    assert_eq!(shop.meta(children[0], "_sku").await, Vec::<Option<String>>::new());
    assert_eq!(shop.one(children[0], "_woosync_external_id").await.as_deref(), Some("g-body#c42"));
    assert_eq!(shop.lookup_sku(children[0]).await.as_deref(), Some(""));

    // The next run finds them by Ид: nothing written.
    let out = shop.sync(&shop.settings_source(CML, "")).await;
    assert_eq!((out.counts.created, out.counts.updated, out.counts.unchanged), (0, 0, 2), "{}", shop.report());
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_variation_is_added_to_the_variable_product_the_shop_has() {
    let mut shop = TestShop::new().await;
    let settings = shop.settings(FEED, CONFIG);
    shop.sync(&settings).await;
    let parent = shop.id_of("BODY-VAR").await.unwrap();
    let before: String = shop.scalar(&format!("SELECT post_modified FROM {{p}}posts WHERE ID = {parent}")).await;
    shop.conn.exec_drop("UPDATE wp_posts SET post_modified = '2020-01-01 00:00:00' WHERE ID = ?", (parent,)).await.unwrap();
    let attributes_before = shop.one(parent, "_product_attributes").await;

    // g4: a fourth size; one row repeats an existing size; one names no size at all.
    let feed = format!(
        "{FEED}BODY-VAR-48,Боди детское 48,1190.00,2,BODY-VAR,48,Белый,\n\
         BODY-VAR-44B,Боди детское 44,990.00,1,BODY-VAR,44,Белый,\n\
         BODY-VAR-X,Боди без размера,990.00,1,BODY-VAR,,Белый,\n"
    );
    let out = shop.sync(&shop.settings(&feed, CONFIG)).await;
    let report = shop.report();
    // The parent's own row counts as updated: its prices follow its new variation.
    assert_eq!((out.counts.created, out.counts.conflict, out.counts.invalid, out.counts.updated, out.counts.unchanged), (1, 1, 1, 1, 3), "{report}");
    assert!(report.contains(&format!("conflict,BODY-VAR-44B,,,attributes,,,line 7: BODY-VAR has variation {} with the same attribute values", shop.id_of("BODY-VAR-44").await.unwrap())), "{report}");
    assert!(report.contains("invalid,BODY-VAR-X,,,attributes,,,line 8: the variation gives no value of BODY-VAR's variation attributes (Размер)"), "{report}");

    let v48 = shop.id_of("BODY-VAR-48").await.unwrap();
    let p = post(&mut shop, v48).await;
    assert_eq!((p.0.as_str(), p.1.as_str(), p.2.as_str(), p.5), ("Боди детское - 48", "Размер: 48", "publish", parent));
    assert_eq!(meta_rows(&mut shop, v48).await.iter().filter(|(k, _)| k.starts_with("attribute_")).cloned().collect::<Vec<_>>(), [m("attribute_pa_razmer", "48")]);
    // The parent: the new term related, its attributes unchanged, its prices follow, touched.
    assert!(terms_of(&mut shop, parent).await.contains(&("pa_razmer".to_string(), "48".to_string())));
    assert_eq!(shop.one(parent, "_product_attributes").await, attributes_before);
    assert_eq!(shop.meta(parent, "_price").await, [Some("990.00".to_string()), Some("1090.00".into()), Some("1190.00".into())]);
    let lookup: String = shop.scalar(&format!("SELECT CONCAT_WS('|', min_price, max_price) FROM {{p}}wc_product_meta_lookup WHERE product_id = {parent}")).await;
    assert_eq!(lookup, "990.0000|1190.0000");
    let modified: String = shop.scalar(&format!("SELECT post_modified FROM {{p}}posts WHERE ID = {parent}")).await;
    assert!(modified.as_str() > "2020-01-01 00:00:00" && !before.is_empty(), "{modified}");
    assert!(report.contains(&format!("update,BODY-VAR,{parent},product,attribute:Размер,,48,a value of its new variation")), "{report}");
    let rows: Vec<(u64, String, i64)> = shop.conn.exec("SELECT product_or_parent_id, taxonomy, is_variation_attribute FROM wp_wc_product_attributes_lookup WHERE product_id = ?", (v48,)).await.unwrap();
    assert_eq!(rows, [(parent, "pa_razmer".to_string(), 1)]);

    // Nothing more to write on the next run (the conflicting and invalid rows stay reported).
    let snapshot = shop.snapshot().await;
    let out = shop.sync(&shop.settings(&feed, CONFIG)).await;
    assert_eq!((out.counts.created, out.counts.updated), (0, 0), "{}", shop.report());
    common::assert_same(&common::without_clock(&snapshot), &common::without_clock(&shop.snapshot().await), "a second run");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1c_characteristic_finds_an_unlinked_variation_by_its_values() {
    let mut shop = TestShop::new().await;
    // Variations made without any source ID (here from a CSV feed; by hand alike).
    shop.sync(&shop.settings(FEED, CONFIG)).await;
    let parent = shop.id_of("BODY-VAR").await.unwrap();
    let v42 = shop.id_of("BODY-VAR-42").await.unwrap();
    assert_eq!(shop.one(v42, "_woosync_external_id").await, None);

    let import = IMPORT.replace("<Артикул>BODY-1C</Артикул>", "<Артикул>BODY-VAR</Артикул>");
    std::fs::write(shop.dir.path().join("import.xml"), import).unwrap();
    let feed = offers(&[offer("g-body#c42", "BODY-VAR", Some("42"), 995, 5), offer("g-body#c48", "BODY-VAR", Some("48"), 1190, 2)]);
    std::fs::write(shop.dir.path().join("offers.xml"), feed).unwrap();
    let out = shop.sync(&shop.settings_source(CML, "")).await;
    let report = shop.report();
    assert_eq!((out.counts.created, out.counts.updated, out.counts.conflict, out.counts.invalid), (1, 1, 0, 0), "{report}");
    // c42 is the variation with size 42: linked to its Ид and synced; its SKU is kept.
    assert_eq!(shop.one(v42, "_woosync_external_id").await.as_deref(), Some("g-body#c42"));
    assert_eq!(shop.one(v42, "_regular_price").await.as_deref(), Some("995"));
    assert_eq!(shop.one(v42, "_sku").await.as_deref(), Some("BODY-VAR-42"));
    // c48 is new: a variation of the same parent, without a SKU of its own.
    let children: Vec<u64> = shop.conn.exec("SELECT ID FROM wp_posts WHERE post_parent = ? ORDER BY ID", (parent,)).await.unwrap();
    assert_eq!(children.len(), 4);
    let v48 = children[3];
    assert_eq!(shop.one(v48, "_woosync_external_id").await.as_deref(), Some("g-body#c48"));
    assert_eq!(post(&mut shop, v48).await.0, "Боди детское - 48");
    // 44 (990.00) and 46 (1090.00) are not in this feed and keep their prices.
    assert_eq!(shop.meta(parent, "_price").await, [Some("990.00".to_string()), Some("995".into()), Some("1090.00".into()), Some("1190".into())]);

    let out = shop.sync(&shop.settings_source(CML, "")).await;
    assert_eq!((out.counts.created, out.counts.updated, out.counts.unchanged), (0, 0, 2), "{}", shop.report());
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_content_keeps_names_texts_and_gtins_in_step() {
    let mut shop = TestShop::new().await;
    let first = "sku,name,regular_price,stock,description,short_description,gtin\n\
                 A-1,Футболка,500,3,<p>Старое</p>,Кратко,4600000000017\n\
                 B-1,Шорты,400,2,<p>Шорты</p>,,\n";
    shop.sync(&shop.settings(first, "")).await;
    let variable = shop.settings(FEED, CONFIG);
    shop.sync(&variable).await;
    let (a1, b1) = (shop.id_of("A-1").await.unwrap(), shop.id_of("B-1").await.unwrap());

    // Without update_content the card is the shop's: nothing changes.
    let second = "sku,name,regular_price,stock,description,short_description,gtin\n\
                  A-1,Футболка хлопок,500,3,<p>Новое</p>,Ещё короче,4600000000024\n\
                  B-1,Шорты,400,2,,,\n";
    let out = shop.sync(&shop.settings(second, "")).await;
    assert_eq!((out.counts.updated, out.counts.unchanged), (0, 2), "{}", shop.report());
    assert_eq!(shop.title(a1).await, "Футболка");

    let content = "[sync]\nupdate_content = [\"name\", \"description\", \"short_description\", \"gtin\"]\n";
    let out = shop.sync(&shop.settings(second, content)).await;
    let report = shop.report();
    assert_eq!((out.counts.updated, out.counts.unchanged), (1, 1), "empty cells leave B-1 alone: {report}");
    let (title, body, excerpt): (String, String, String) = shop.conn.exec_first("SELECT post_title, post_content, post_excerpt FROM wp_posts WHERE ID = ?", (a1,)).await.unwrap().unwrap();
    assert_eq!((title.as_str(), body.as_str(), excerpt.as_str()), ("Футболка хлопок", "<p>Новое</p>", "Ещё короче"));
    assert_eq!(shop.meta(a1, "_global_unique_id").await, [Some("4600000000024".to_string())]);
    let lookup: String = shop.scalar(&format!("SELECT global_unique_id FROM {{p}}wc_product_meta_lookup WHERE product_id = {a1}")).await;
    assert_eq!(lookup, "4600000000024");
    assert!(report.contains(&format!("update,A-1,{a1},product,name,Футболка,Футболка хлопок,")), "{report}");
    assert!(report.contains(&format!("update,A-1,{a1},product,description,(13 characters),<p>Новое</p>,")), "{report}");
    assert!(report.contains(&format!("update,A-1,{a1},product,gtin,4600000000017,4600000000024,")), "{report}");
    assert_eq!(shop.title(b1).await, "Шорты");

    // A variable product renamed: its variations' titles follow (sync_variation_names()).
    let renamed = FEED.replace("BODY-VAR,Боди детское,", "BODY-VAR,Боди новое,");
    let config = format!("{CONFIG}update_content = [\"name\"]\n");
    let out = shop.sync(&shop.settings(&renamed, &config)).await;
    assert_eq!(out.counts.updated, 1, "{}", shop.report());
    let v42 = shop.id_of("BODY-VAR-42").await.unwrap();
    assert_eq!(shop.title(v42).await, "Боди новое - 42");

    // In step now: nothing to write.
    let before = shop.snapshot().await;
    let out = shop.sync(&shop.settings(second, content)).await;
    assert_eq!((out.counts.updated, out.counts.unchanged), (0, 2), "{}", shop.report());
    common::assert_same(&common::without_clock(&before), &common::without_clock(&shop.snapshot().await), "in step");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1c_export_with_groups_properties_and_characteristics_becomes_whole_cards() {
    let mut shop = TestShop::new().await;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cml-cards");
    for f in ["import.xml", "offers.xml"] {
        std::fs::copy(format!("{fixtures}/{f}"), shop.dir.path().join(f)).unwrap();
    }
    let config = format!(
        "{CML}[source.attributes]\n\"Бренд\" = \"Бренд\"\n\"Состав\" = \"Состав\"\n\
         [sync]\nlocal_attributes = [\"Состав\"]\nattribute_slugs = {{ \"Бренд\" = \"brand\", \"Размер\" = \"razmer\" }}\nvariation_sku = \"{{parent_sku}}-{{values}}\"\n"
    );
    let settings = shop.settings_source(&config, "");
    let out = shop.sync(&settings).await;
    let report = shop.report();
    assert_eq!((out.counts.created, out.counts.conflict, out.counts.invalid), (4, 0, 0), "{report}");

    let body = shop.id_of("БД-100").await.unwrap();
    assert_eq!(shop.title(body).await, "Боди с длинным рукавом");
    assert_eq!(shop.one(body, "_woosync_external_id").await.as_deref(), Some("a1b2c3d4-8c20-11e6-80c3-00155d00a516"));
    // The good's properties are the parent's (non-variation) attributes; Размер varies.
    let attrs = shop.one(body, "_product_attributes").await.unwrap();
    let parsed = woosync::catalog::attributes::parse_product_attributes(&attrs).unwrap();
    let summary: Vec<(&str, &str, bool, bool)> = parsed.iter().map(|e| (e.name.as_str(), e.value.as_str(), e.is_variation, e.is_taxonomy)).collect();
    assert_eq!(summary, [("pa_brand", "", false, true), ("Состав", "Хлопок 100%", false, false), ("pa_razmer", "", true, true)]);
    assert!(terms_of(&mut shop, body).await.contains(&("pa_brand".to_string(), "%d0%bc%d0%b0%d0%bc%d0%b8%d0%bd%d0%be-%d0%bf%d0%b0%d0%bf%d0%b8%d0%bd%d0%be".to_string())), "{:?}", terms_of(&mut shop, body).await);
    let v68 = shop.id_of("БД-100-68").await.unwrap();
    let p = post(&mut shop, v68).await;
    assert_eq!((p.0.as_str(), p.1.as_str(), p.5), ("Боди с длинным рукавом - 68", "Размер: 68", body));
    assert_eq!(shop.one(v68, "_stock_status").await.as_deref(), Some("outofstock"));
    assert_eq!(shop.meta(body, "_price").await, [Some("590".to_string()), Some("650".into())]);
    let hat = shop.id_of("ШП-200").await.unwrap();
    assert!(terms_of(&mut shop, hat).await.contains(&("product_type".to_string(), "simple".to_string())));

    shop.second_run_writes_nothing(&settings, 4).await;
    shop.drop_db().await;
}
