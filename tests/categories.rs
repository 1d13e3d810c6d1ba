//! Product categories from the feed against a real MariaDB: the tree created once as WordPress
//! 6.8 + WooCommerce 9.9 create it (CATALOGUE.md f1, f1a), new products put in their leaves
//! (f2), published products moved when `update_content` has `categories` (f3), existing
//! categories matched by name, slugs made unique as `wp_unique_term_slug()` makes them, 1C
//! groups kept by their `Ид`, bad paths refused by row.

mod common;

use common::TestShop;
use mysql_async::prelude::*;
use woosync::fixture::Spec;

/// A term's (name, slug, parent term, count) by term ID.
async fn term(shop: &mut TestShop, term_id: u64) -> (String, String, u64, i64) {
    shop.conn
        .exec_first(
            "SELECT t.name, t.slug, tt.parent, tt.count FROM wp_terms t JOIN wp_term_taxonomy tt ON tt.term_id = t.term_id WHERE t.term_id = ? AND tt.taxonomy = 'product_cat'",
            (term_id,),
        )
        .await
        .unwrap()
        .unwrap()
}

/// The product_cat term with this name under this parent.
async fn cat_id(shop: &mut TestShop, name: &str, parent: u64) -> u64 {
    let id: Option<u64> = shop
        .conn
        .exec_first(
            "SELECT t.term_id FROM wp_terms t JOIN wp_term_taxonomy tt ON tt.term_id = t.term_id WHERE tt.taxonomy = 'product_cat' AND t.name = ? AND tt.parent = ?",
            (name, parent),
        )
        .await
        .unwrap();
    id.unwrap_or_else(|| panic!("no category {name:?} under {parent}"))
}

async fn term_meta(shop: &mut TestShop, term_id: u64) -> Vec<(String, String)> {
    shop.conn.exec("SELECT meta_key, meta_value FROM wp_termmeta WHERE term_id = ? ORDER BY meta_id", (term_id,)).await.unwrap()
}

/// The product_cat term IDs a post is in.
async fn categories_of(shop: &mut TestShop, id: u64) -> Vec<u64> {
    shop.conn
        .exec(
            "SELECT tt.term_id FROM wp_term_relationships tr JOIN wp_term_taxonomy tt ON tt.term_taxonomy_id = tr.term_taxonomy_id \
             WHERE tr.object_id = ? AND tt.taxonomy = 'product_cat' ORDER BY tt.term_id",
            (id,),
        )
        .await
        .unwrap()
}

async fn count_meta(shop: &mut TestShop, term_id: u64) -> Vec<String> {
    shop.conn.exec("SELECT meta_value FROM wp_termmeta WHERE term_id = ? AND meta_key = 'product_count_product_cat'", (term_id,)).await.unwrap()
}

async fn product_cats(shop: &mut TestShop) -> usize {
    shop.scalar::<usize>("SELECT COUNT(*) FROM {p}term_taxonomy WHERE taxonomy = 'product_cat'").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tree_is_created_once_as_wordpress_creates_it_and_new_products_go_in_their_leaves() {
    let mut shop = TestShop::new().await;
    let old = shop.insert(&[Spec::simple("OLD-1", "10.00", 5)]).await[0];
    let feed = "sku,name,regular_price,stock,category\n\
                B-1,Боди с коротким рукавом,590.00,7,Одежда > Детская > Боди\n\
                B-2,Шапка,300,2,ОДЕЖДА > детская > Шапки|Дом & Сад\n\
                B-3,Без категории,100,1,\n\
                OLD-1,Старый товар,10.00,5,Обувь\n";
    let s = shop.settings(feed, "[source.columns]\ncategory = \"category\"\n");
    let out = shop.sync(&s).await;
    let report = shop.report();
    assert_eq!((out.counts.created, out.counts.updated, out.counts.unchanged), (3, 0, 1), "{report}");

    // f1: one term per level, slugs as sanitize_title() makes them, count 0.
    let clothes = cat_id(&mut shop, "Одежда", 0).await;
    let kids = cat_id(&mut shop, "Детская", clothes).await;
    let body = cat_id(&mut shop, "Боди", kids).await;
    let hats = cat_id(&mut shop, "Шапки", kids).await;
    let home = cat_id(&mut shop, "Дом &amp; Сад", 0).await;
    assert_eq!(term(&mut shop, clothes).await, ("Одежда".into(), "%d0%be%d0%b4%d0%b5%d0%b6%d0%b4%d0%b0".into(), 0, 0));
    assert_eq!(term(&mut shop, kids).await, ("Детская".into(), "%d0%b4%d0%b5%d1%82%d1%81%d0%ba%d0%b0%d1%8f".into(), clothes, 0));
    assert_eq!(term(&mut shop, body).await, ("Боди".into(), "%d0%b1%d0%be%d0%b4%d0%b8".into(), kids, 0));
    assert_eq!(term(&mut shop, home).await.1, "%d0%b4%d0%be%d0%bc-%d1%81%d0%b0%d0%b4", "`&` stored as `&amp;`, gone from the slug");
    assert_eq!((clothes + 1, kids + 1, body + 1), (kids, body, hats), "created in feed order, root to leaf");
    assert_eq!(product_cats(&mut shop).await, 6, "Uncategorized + 5: `Обувь` names an existing product's category and is not created");
    let g: (u64, u64) = shop.scalar("SELECT COUNT(*), SUM(term_group) FROM {p}terms").await;
    assert_eq!(g.1, 0);
    let tt: (String, u64) = shop.scalar(&format!("SELECT description, COUNT(*) FROM {{p}}term_taxonomy WHERE term_id >= {clothes} GROUP BY description")).await;
    assert_eq!(tt, (String::new(), 5));
    // f1a: term meta `order` 0, as WooCommerce's admin importers write it.
    let meta = [("order".to_string(), "0".to_string()), ("product_count_product_cat".to_string(), "0".to_string())];
    assert_eq!(term_meta(&mut shop, clothes).await, meta);
    // The closure table: each term under itself and each ancestor.
    let lookup: Vec<(u64, u64)> = shop.conn.query("SELECT category_tree_id, category_id FROM wp_wc_category_lookup ORDER BY 1, 2").await.unwrap();
    let mut expected = vec![(15, 15), (clothes, clothes), (clothes, kids), (clothes, body), (clothes, hats), (kids, kids), (kids, body), (kids, hats), (body, body), (hats, hats), (home, home)];
    expected.sort_unstable();
    assert_eq!(lookup, expected);
    let children: (String, String) = shop.scalar("SELECT option_value, autoload FROM {p}options WHERE option_name = 'product_cat_children'").await;
    assert_eq!(children, (format!("a:2:{{i:{clothes};a:1:{{i:0;i:{kids};}}i:{kids};a:2:{{i:0;i:{body};i:1;i:{hats};}}}}"), "auto".into()));

    // f2: the leaf only, not the default category; no count moves for a draft; the catalogue
    // count meta made for the leaf and each ancestor.
    let b1 = shop.id_of("B-1").await.unwrap();
    assert_eq!(categories_of(&mut shop, b1).await, vec![body]);
    assert!(shop.has_term(b1, 2).await, "product_type:simple");
    let b2 = shop.id_of("B-2").await.unwrap();
    assert_eq!(categories_of(&mut shop, b2).await, vec![hats, home], "both paths");
    let b3 = shop.id_of("B-3").await.unwrap();
    assert_eq!(categories_of(&mut shop, b3).await, vec![15], "no category: the default one");
    for t in [body, kids, clothes, hats, home] {
        assert_eq!(count_meta(&mut shop, t).await, vec!["0".to_string()], "product_count_product_cat of {t}");
    }
    assert_eq!(categories_of(&mut shop, old).await, vec![15], "an existing product keeps its categories");
    for row in [
        format!("create,,{clothes},product_cat,name,,Одежда,a new category"),
        format!("create,,{body},product_cat,name,,Одежда > Детская > Боди,a new category"),
        format!("create,B-1,{b1},product,categories,,Одежда > Детская > Боди,"),
        format!("create,B-2,{b2},product,categories,,Одежда > Детская > Шапки | Дом & Сад,"),
    ] {
        assert!(report.contains(&row), "missing\n{row}\nin\n{report}");
    }

    // The second run finds every category and writes nothing.
    let before = shop.snapshot().await;
    let again = shop.sync(&s).await;
    assert_eq!((again.counts.created, again.counts.updated, again.counts.unchanged), (0, 0, 4), "{}", shop.report());
    assert_eq!(product_cats(&mut shop).await, 6);
    common::assert_same(&before, &shop.snapshot().await, "a second run");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_categories_are_matched_by_name_and_clashing_slugs_follow_wordpress() {
    let mut shop = TestShop::new().await;
    // Shop-made: a root `Боди`, a root `Дом &amp; Сад`, a root `Bags`, and a tag `sale`.
    shop.conn
        .query_drop(
            "INSERT INTO wp_terms (term_id, name, slug) VALUES (30, 'Боди', '%d0%b1%d0%be%d0%b4%d0%b8'), (31, 'ДОМ &amp; САД', 'dom-sad'), \
             (32, 'Bags', 'bags'), (33, 'Sale', 'sale');
             INSERT INTO wp_term_taxonomy (term_taxonomy_id, term_id, taxonomy, description, parent, count) VALUES \
             (30, 30, 'product_cat', '', 0, 0), (31, 31, 'product_cat', '', 0, 0), (32, 32, 'product_cat', '', 0, 0), (33, 33, 'product_tag', '', 0, 0)",
        )
        .await
        .unwrap();
    let feed = "sku,name,regular_price,stock,category\n\
                N-1,Один,1,1,Одежда > Боди\n\
                N-2,Два,1,1,дом & сад\n\
                N-3,Три,1,1,Bags!\n\
                N-4,Четыре,1,1,Sale\n\
                N-5,Пять,1,1,Одежда > Боди > Боди\n";
    let out = shop.sync(&shop.settings(feed, "[source.columns]\ncategory = \"category\"\n")).await;
    assert_eq!(out.counts.created, 5, "{}", shop.report());
    let clothes = cat_id(&mut shop, "Одежда", 0).await;
    let body = cat_id(&mut shop, "Боди", clothes).await;
    // The slug is taken in product_cat: the parent's slug is appended.
    assert_eq!(term(&mut shop, body).await.1, "%d0%b1%d0%be%d0%b4%d0%b8-%d0%be%d0%b4%d0%b5%d0%b6%d0%b4%d0%b0");
    // Taken by the level above too: parents appended until free.
    let body2 = cat_id(&mut shop, "Боди", body).await;
    assert_eq!(term(&mut shop, body2).await.1, "%d0%b1%d0%be%d0%b4%d0%b8-%d0%b1%d0%be%d0%b4%d0%b8-%d0%be%d0%b4%d0%b5%d0%b6%d0%b4%d0%b0");
    // A root with a taken slug gets a number.
    let bags = cat_id(&mut shop, "Bags!", 0).await;
    assert_eq!(term(&mut shop, bags).await.1, "bags-2");
    // Another taxonomy's slug does not count.
    let sale = cat_id(&mut shop, "Sale", 0).await;
    assert_eq!(term(&mut shop, sale).await.1, "sale");
    // Matched by the name as shown, without regard to case.
    let n2 = shop.id_of("N-2").await.unwrap();
    assert_eq!(categories_of(&mut shop, n2).await, vec![31]);
    assert_eq!(product_cats(&mut shop).await, 4 + 1 + 4, "Uncategorized, the shop's 3, Одежда, Боди ×2, Bags!, Sale");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_content_moves_a_published_product_and_counts_as_wordpress_counts() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("P-1", "10.00", 5), Spec::simple("P-2", "10.00", 5), Spec::simple("D-1", "10.00", 5).status("draft")]).await;
    shop.conn.query_drop("UPDATE wp_termmeta SET meta_value = '2' WHERE term_id = 15 AND meta_key = 'product_count_product_cat'").await.unwrap();
    assert_eq!(shop.term_count(15).await, 2);
    let feed = "sku,name,regular_price,stock,category\n\
                P-1,Футболка,10.00,5,Одежда > Детская > Боди\n\
                D-1,Черновик,10.00,5,Одежда > Детская > Боди\n\
                P-2,Другая,10.00,5,\n";
    // Without update_content the cards stay as they are, and no category is made.
    let off = shop.settings(feed, "[source.columns]\ncategory = \"category\"\n");
    let out = shop.sync(&off).await;
    assert_eq!((out.counts.updated, out.counts.unchanged), (0, 3), "{}", shop.report());
    assert_eq!(product_cats(&mut shop).await, 1);

    let on = shop.settings(feed, "[source.columns]\ncategory = \"category\"\n[sync]\nupdate_content = [\"categories\"]\n");
    let out = shop.sync(&on).await;
    let report = shop.report();
    assert_eq!((out.counts.updated, out.counts.unchanged), (2, 1), "{report}");
    let clothes = cat_id(&mut shop, "Одежда", 0).await;
    let kids = cat_id(&mut shop, "Детская", clothes).await;
    let body = cat_id(&mut shop, "Боди", kids).await;
    // f3: one relationship out, one in; direct counts of published products; the catalogue
    // count of the leaf and its ancestors.
    assert_eq!(categories_of(&mut shop, ids[0]).await, vec![body]);
    assert_eq!(categories_of(&mut shop, ids[2]).await, vec![body], "a draft moves too");
    assert_eq!(categories_of(&mut shop, ids[1]).await, vec![15], "an empty cell leaves it alone");
    assert_eq!(shop.term_count(15).await, 1);
    assert_eq!(term(&mut shop, body).await.3, 1, "the draft is not counted");
    assert_eq!((term(&mut shop, kids).await.3, term(&mut shop, clothes).await.3), (0, 0), "parents count direct products only");
    assert_eq!(count_meta(&mut shop, 15).await, vec!["1".to_string()]);
    for t in [body, kids, clothes] {
        assert_eq!(count_meta(&mut shop, t).await, vec!["1".to_string()], "catalogue count of {t} and below");
    }
    assert!(report.contains(&format!("update,P-1,{},product,categories,Uncategorized,Одежда > Детская > Боди,", ids[0])), "{report}");
    // wc_term_counts goes with every save.
    let counts: usize = shop.scalar("SELECT COUNT(*) FROM {p}options WHERE option_name LIKE '%wc_term_counts'").await;
    assert_eq!(counts, 0);

    let before = shop.snapshot().await;
    let again = shop.sync(&on).await;
    assert_eq!((again.counts.updated, again.counts.unchanged), (0, 3), "{}", shop.report());
    common::assert_same(&before, &shop.snapshot().await, "a second run");
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_paths_reject_their_rows_and_a_dry_run_writes_nothing() {
    let mut shop = TestShop::new().await;
    let deep = (1..=11).map(|i| format!("L{i}")).collect::<Vec<_>>().join(" > ");
    let long = "Я".repeat(201);
    let feed = format!(
        "sku,name,regular_price,stock,category\n\
         X-1,Пусто,1,1,Одежда >  > Боди\n\
         X-2,Глубоко,1,1,{deep}\n\
         X-3,Двойная черта,1,1,Одежда||Обувь\n\
         X-4,Длинно,1,1,{long}\n\
         OK-1,Хорошо,1,1,Одежда > Боди\n"
    );
    let s = shop.settings(&feed, "[source.columns]\ncategory = \"category\"\n");
    let before = shop.snapshot().await;
    let dry = shop.try_sync(&s, true).await.unwrap();
    assert_eq!((dry.counts.created, dry.counts.invalid), (1, 4));
    common::assert_same(&before, &shop.snapshot().await, "a dry run");
    let report = shop.report();
    for row in [
        "invalid,X-1,,,category,,,\"feed.csv:2:5: category an empty level 2 in path `Одежда >  > Боди`; expected names separated by ` > `, paths by `|`\"",
        "invalid,X-2,,,category,,,feed.csv:3:5: category path `L1 > L2 > L3 > L4 > L5 > L6 > L7 > L8 > L9 > L10 > L11` is 11 levels deep; expected at most 10 (is the separator right?)",
        "create,,,product_cat,name,,Одежда,a new category",
        "create,,,product_cat,name,,Одежда > Боди,a new category",
        "create,OK-1,,product,categories,,Одежда > Боди,",
    ] {
        assert!(report.contains(row), "missing\n{row}\nin\n{report}");
    }
    assert!(report.contains("invalid,X-3,,,category,,,\"feed.csv:4:5: category an empty path"), "{report}");
    assert!(report.contains("invalid,X-4,,,category,,,feed.csv:5:5: category name `ЯЯЯ"), "{report}");

    let out = shop.sync(&s).await;
    assert_eq!((out.counts.created, out.counts.invalid), (1, 4));
    assert_eq!(product_cats(&mut shop).await, 3, "Uncategorized, Одежда, Боди: nothing of the rejected rows");
    shop.drop_db().await;
}

const IMPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.07" ДатаФормирования="2026-12-06T10:00:00">
	<Классификатор>
		<Ид>cls-1</Ид>
		<Наименование>Классификатор (Основной каталог товаров)</Наименование>
		<Группы>
			<Группа>
				<Ид>grp-clothes</Ид>
				<Наименование>NAME_CLOTHES</Наименование>
				<Группы>
					<Группа>
						<Ид>grp-kids</Ид>
						<Наименование>Детская</Наименование>
					</Группа>
				</Группы>
			</Группа>
			<Группа>
				<Ид>grp-shoes</Ид>
				<Наименование>Обувь</Наименование>
			</Группа>
		</Группы>
		<Свойства>
			<Свойство><Ид>prop-1</Ид><Наименование>Материал</Наименование><ТипЗначений>Строка</ТипЗначений></Свойство>
		</Свойства>
	</Классификатор>
	<Каталог СодержитТолькоИзменения="false">
		<Ид>cat-1</Ид>
		<ИдКлассификатора>cls-1</ИдКлассификатора>
		<Товары>
			<Товар>
				<Ид>g-1</Ид>
				<Артикул>C-1</Артикул>
				<Наименование>Комбинезон</Наименование>
				<Группы><Ид>grp-kids</Ид></Группы>
			</Товар>
			<Товар>
				<Ид>g-2</Ид>
				<Артикул>C-2</Артикул>
				<Наименование>Ботинки</Наименование>
				<Группы><Ид>grp-shoes</Ид></Группы>
			</Товар>
			<Товар>
				<Ид>g-3</Ид>
				<Артикул>C-3</Артикул>
				<Наименование>Потерянный</Наименование>
				<Группы><Ид>grp-missing</Ид></Группы>
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
			<Предложение><Ид>g-2</Ид><Цены><Цена><ИдТипаЦены>p</ИдТипаЦены><ЦенаЗаЕдиницу>2990</ЦенаЗаЕдиницу></Цена></Цены><Количество>1</Количество></Предложение>
			<Предложение><Ид>g-3</Ид><Цены><Цена><ИдТипаЦены>p</ИдТипаЦены><ЦенаЗаЕдиницу>10</ЦенаЗаЕдиницу></Цена></Цены><Количество>1</Количество></Предложение>
		</Предложения>
	</ПакетПредложений>
</КоммерческаяИнформация>
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commerceml_groups_become_categories_kept_by_their_id_and_renamed_with_update_content() {
    let mut shop = TestShop::new().await;
    // `Обувь` exists in the shop already, made by hand: matched by name and linked to its group.
    shop.conn
        .query_drop(
            "INSERT INTO wp_terms (term_id, name, slug) VALUES (40, 'Обувь', 'obuv');
             INSERT INTO wp_term_taxonomy (term_taxonomy_id, term_id, taxonomy, description, parent, count) VALUES (40, 40, 'product_cat', '', 0, 0)",
        )
        .await
        .unwrap();
    let dir = shop.dir.path().to_path_buf();
    let write = |name: &str| {
        std::fs::write(dir.join("import.xml"), IMPORT.replace("NAME_CLOTHES", name)).unwrap();
        std::fs::write(dir.join("offers.xml"), OFFERS).unwrap();
    };
    write("Одежда");
    let source = "[source]\ntype = \"commerceml\"\npath = \"offers.xml\"\nimport_path = \"import.xml\"\n";
    let out = shop.sync(&shop.settings_source(source, "")).await;
    let report = shop.report();
    assert_eq!((out.counts.created, out.counts.invalid), (2, 1), "{report}");
    assert!(report.contains("invalid,C-3,,,category,,,offers.xml: КоммерческаяИнформация/ПакетПредложений/Предложения/Предложение[3] (the good's Группы in import.xml): the good's group grp-missing is not in import.xml's Классификатор/Группы"), "{report}");
    let clothes = cat_id(&mut shop, "Одежда", 0).await;
    let kids = cat_id(&mut shop, "Детская", clothes).await;
    assert_eq!(term_meta(&mut shop, clothes).await[..2], [("order".into(), "0".into()), ("_woosync_external_id".into(), "grp-clothes".into())]);
    assert_eq!(term_meta(&mut shop, 40).await[0], ("_woosync_external_id".into(), "grp-shoes".into()), "linked by name");
    let c1 = shop.id_of("C-1").await.unwrap();
    assert_eq!(categories_of(&mut shop, c1).await, vec![kids]);
    let c2 = shop.id_of("C-2").await.unwrap();
    assert_eq!(categories_of(&mut shop, c2).await, vec![40]);

    // The group is renamed in 1C: without update_content the category keeps its name, and no
    // second category is made.
    write("Одежда и обувь");
    shop.sync(&shop.settings_source(source, "")).await;
    assert_eq!(term(&mut shop, clothes).await.0, "Одежда");
    assert_eq!(product_cats(&mut shop).await, 4);
    // With categories in update_content it is renamed in place, its slug kept.
    let on = shop.settings_source(source, "[sync]\nupdate_content = [\"categories\"]\n");
    shop.sync(&on).await;
    assert_eq!(term(&mut shop, clothes).await, ("Одежда и обувь".into(), "%d0%be%d0%b4%d0%b5%d0%b6%d0%b4%d0%b0".into(), 0, 0));
    assert_eq!(product_cats(&mut shop).await, 4);
    assert!(shop.report().contains(&format!("update,,{clothes},product_cat,name,Одежда,Одежда и обувь,renamed in the source")), "{}", shop.report());
    assert_eq!(categories_of(&mut shop, c1).await, vec![kids]);
    shop.drop_db().await;
}
