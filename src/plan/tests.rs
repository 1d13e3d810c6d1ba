use super::*;
use crate::catalog::{MetaRow, Product};
use crate::model::Money;

fn rules() -> Rules {
    Rules { notify_no_stock_amount: 0, hide_out_of_stock: false, now_unix: 1_800_000_000, new_status: "draft".into(), report_rows: true, row_word: "line", external_id_meta: "_woosync_external_id", rederive: false, categories: Default::default(), attributes: Default::default(), content: Default::default(), variation_sku: None, parents: Default::default(), meta: Default::default() }
}

/// A product whose meta rows get ids `id * 100 + key index`.
fn product(cat: &mut Catalog, id: u64, kind: Kind, parent: u64, meta: &[(Key, &str)]) {
    let mut p = Product {
        id,
        post_type: if kind == Kind::Variation { PostType::Variation } else { PostType::Product },
        status: crate::catalog::Status::Publish,
        parent,
        kind,
        meta: Default::default(),
        lookup: None,
        outofstock_term: false,
    };
    for (k, v) in meta {
        if p.meta.id(*k).is_none() {
            p.meta.put(*k, MetaRow { id: id * 100 + *k as u64, value: Some((*v).into()) });
        } else {
            let n = cat.extra.len() as u64;
            cat.extra.entry((id, *k)).or_default().push(MetaRow { id: id * 100 + 50 + n + 1, value: Some((*v).into()) });
        }
    }
    cat.insert(p);
    if parent != 0 {
        cat.children.entry(parent).or_default().push(id);
    }
}

fn simple(cat: &mut Catalog, id: u64, sku: &str, regular: &str, stock: &str) {
    product(cat, id, Kind::Simple, 0, &[
        (Key::Sku, sku), (Key::RegularPrice, regular), (Key::Price, regular), (Key::ManageStock, "yes"),
        (Key::Backorders, "no"), (Key::Stock, stock), (Key::StockStatus, if stock == "0" { "outofstock" } else { "instock" }),
    ]);
    let p = cat.product_mut(id).unwrap();
    let fin = Final::of(p, &Catalog::default());
    let v = LookupValues::for_simple(sku, Some(&Money::from_stored(regular).unwrap()), None, fin.managed_qty, &fin.status);
    p.lookup = Some(crate::catalog::LookupPrint::of_values(&v));
    p.outofstock_term = stock == "0";
}

fn item(line: u64, sku: &str, regular: Option<&str>, sale: Sale, stock: Option<i64>) -> Item {
    Item { line, sku: sku.into(), name: None, regular: regular.map(|r| Money::from_stored(r).unwrap()), sale, stock, external_id: None, content: None, notes: vec![], missing: false }
}

#[test]
fn right_values_plan_no_write() {
    let mut cat = Catalog::default();
    simple(&mut cat, 1, "A", "10.00", "5");
    let plan = build(&[item(2, "a", Some("10"), Sale::Absent, Some(5))], &[], &cat, &rules());
    assert!(plan.units.is_empty());
    assert_eq!(plan.counts.unchanged, 1);
}

#[test]
fn price_and_stock_changes_set_rows_by_meta_id() {
    let mut cat = Catalog::default();
    simple(&mut cat, 1, "A", "10.00", "5");
    let plan = build(&[item(2, "A", Some("12"), Sale::Absent, Some(0))], &[], &cat, &rules());
    let u = &plan.units[0].updates[0];
    assert_eq!(u.ops, vec![
        MetaOp::Set { key: "_regular_price", ids: smallvec::smallvec![101], value: "12".into() },
        MetaOp::Set { key: "_price", ids: smallvec::smallvec![107], value: "12".into() },
        MetaOp::Set { key: "_stock", ids: smallvec::smallvec![105], value: "0".into() },
        MetaOp::Set { key: "_stock_status", ids: smallvec::smallvec![106], value: "outofstock".into() },
    ]);
    assert_eq!(u.term, Some(TermChange::Add));
    assert!(u.touch);
    let (lookup, missing) = u.lookup.clone().unwrap();
    assert!(!missing);
    assert_eq!(lookup.stock_status, "outofstock");
    assert_eq!(plan.counts.updated, 1);
}

#[test]
fn adding_a_sale_inserts_the_row_and_removing_it_deletes_it() {
    let mut cat = Catalog::default();
    simple(&mut cat, 1, "A", "25.00", "5");
    let plan = build(&[item(2, "A", None, Sale::Set(Money::from_stored("19.99").unwrap()), None)], &[], &cat, &rules());
    let ops = &plan.units[0].updates[0].ops;
    assert_eq!(ops[0], MetaOp::Insert { key: "_sale_price", value: Some("19.99".into()) });
    assert_eq!(ops[1], MetaOp::Set { key: "_price", ids: smallvec::smallvec![107], value: "19.99".into() });

    let mut cat = Catalog::default();
    product(&mut cat, 1, Kind::Simple, 0, &[(Key::Sku, "A"), (Key::RegularPrice, "25"), (Key::SalePrice, "19"), (Key::Price, "19")]);
    let plan = build(&[item(2, "A", None, Sale::Clear, None)], &[], &cat, &rules());
    let ops = &plan.units[0].updates[0].ops;
    assert_eq!(ops[0], MetaOp::Delete { key: "_sale_price", ids: smallvec::smallvec![102] });
    assert_eq!(ops[1], MetaOp::Set { key: "_price", ids: smallvec::smallvec![107], value: "25".into() });
}

/// Variable product 10 (`V`, prices 5 and 8) with variations 11 (`V-1` at 5) and 12 (`V-2` at 8),
/// one in stock each.
fn variable_v(cat: &mut Catalog) {
    product(cat, 10, Kind::Variable, 0, &[(Key::Sku, "V"), (Key::StockStatus, "instock"), (Key::Price, "5"), (Key::Price, "8")]);
    for (id, sku, price) in [(11, "V-1", "5"), (12, "V-2", "8")] {
        product(cat, id, Kind::Variation, 10, &[
            (Key::Sku, sku), (Key::RegularPrice, price), (Key::Price, price), (Key::ManageStock, "yes"), (Key::Stock, "1"), (Key::StockStatus, "instock"),
        ]);
    }
}

/// Plans `blocks` one after another with one planner, as a run does; returns what it emitted.
fn plan_blocks(cat: &Catalog, facts: &FeedFacts, ends: FamilyEnds, blocks: &[&[Item]]) -> (Vec<Unit>, Vec<ReportRow>, Counts) {
    let rules = rules();
    let mut planner = Planner::new(cat, &rules, facts).with_family_ends(ends);
    let mut units = Vec::new();
    let mut emit = |u: Unit| {
        units.push(u);
        true
    };
    for block in blocks {
        assert!(planner.plan(block, &mut emit));
    }
    let (notes, counts) = planner.finish(&mut emit);
    (units, notes, counts)
}

#[test]
fn a_variation_and_its_parent_share_one_unit() {
    let mut cat = Catalog::default();
    variable_v(&mut cat);
    let plan = build(&[item(2, "V-1", Some("4"), Sale::Absent, Some(0)), item(3, "V-2", None, Sale::Absent, Some(0))], &[], &cat, &rules());
    assert_eq!(plan.units.len(), 1);
    let unit = &plan.units[0];
    assert_eq!(unit.items(), 2);
    let parent = unit.updates.iter().find(|u| u.id == 10).expect("the parent is re-synced");
    assert!(parent.resynced_parent);
    assert_eq!(parent.ops[0], MetaOp::Delete { key: "_price", ids: smallvec::smallvec![1007, 1051] });
    assert!(parent.ops.contains(&MetaOp::Insert { key: "_price", value: Some("4".into()) }));
    assert!(parent.ops.contains(&MetaOp::Insert { key: "_price", value: Some("8".into()) }));
    assert!(parent.ops.contains(&MetaOp::Set { key: "_stock_status", ids: smallvec::smallvec![1006], value: "outofstock".into() }));
    assert_eq!(parent.term, Some(TermChange::Add));
    assert_eq!(plan.counts.updated, 2);
}

#[test]
fn unknown_skus_become_creates_in_feed_order() {
    let cat = Catalog::default();
    let mut a = item(2, "N-2", Some("5"), Sale::Absent, Some(0));
    a.name = Some("Второй".into());
    let b = item(3, "N-1", None, Sale::Absent, None);
    let plan = build(&[a, b], &[], &cat, &rules());
    assert_eq!(plan.counts.created, 2);
    assert_eq!(plan.units[0].creates[0].sku, "N-2");
    assert_eq!(plan.units[0].creates[0].stock_status, "outofstock");
    assert_eq!(plan.units[1].creates[0].title, "N-1", "no name: the SKU is the title, with a warning");
    assert_eq!(plan.counts.warning, 1);
}

#[test]
fn duplicates_in_feed_or_shop_are_conflicts() {
    let mut cat = Catalog::default();
    simple(&mut cat, 1, "D", "1", "1");
    simple(&mut cat, 2, "d", "1", "1");
    let plan = build(&[item(2, "D", Some("2"), Sale::Absent, None), item(3, "X", None, Sale::Absent, None), item(4, "x", None, Sale::Absent, None)], &[], &cat, &rules());
    assert!(plan.units.is_empty());
    assert_eq!(plan.counts.conflict, 3);
    assert!(plan.notes.iter().all(|n| n.action == Action::Conflict));
}

#[test]
fn trashed_owners_do_not_count() {
    let mut cat = Catalog::default();
    simple(&mut cat, 1, "T", "1", "1");
    cat.product_mut(1).unwrap().status = crate::catalog::Status::Trash;
    let plan = build(&[item(2, "T", Some("2"), Sale::Absent, None)], &[], &cat, &rules());
    assert_eq!(plan.counts.created, 1);
}


fn linked(cat: &mut Catalog, id: u64, external: &str) {
    cat.external.entry(id).or_default().push(MetaRow { id: id * 100 + 99, value: Some(external.into()) });
}

fn with_external(mut it: Item, external: &str) -> Item {
    it.external_id = Some(external.into());
    it
}

#[test]
fn external_id_match_follows_a_changed_sku_into_meta_and_lookup() {
    let mut cat = Catalog::default();
    simple(&mut cat, 1, "OLD-1", "10", "5");
    linked(&mut cat, 1, "guid-1");
    let plan = build(&[with_external(item(2, "NEW-1", Some("10"), Sale::Absent, Some(5)), "guid-1")], &[], &cat, &rules());
    let u = &plan.units[0].updates[0];
    assert_eq!(u.ops, vec![MetaOp::Set { key: "_sku", ids: smallvec::smallvec![100], value: "NEW-1".into() }]);
    assert_eq!(u.lookup.as_ref().map(|(v, missing)| (v.sku.as_str(), *missing)), Some(("NEW-1", false)));
    assert!(u.touch);
    assert_eq!((plan.counts.updated, plan.counts.created), (1, 0));
}

#[test]
fn a_changed_sku_that_another_product_holds_is_a_conflict() {
    let mut cat = Catalog::default();
    simple(&mut cat, 1, "OLD-1", "10", "5");
    linked(&mut cat, 1, "guid-1");
    simple(&mut cat, 2, "NEW-1", "10", "5");
    let plan = build(&[with_external(item(2, "NEW-1", Some("12"), Sale::Absent, None), "guid-1")], &[], &cat, &rules());
    assert!(plan.units.is_empty());
    assert_eq!(plan.counts.conflict, 1);
    assert!(plan.notes[0].message.contains("belongs to another live product (ID 2)"), "{}", plan.notes[0].message);
}

#[test]
fn sku_match_links_an_unlinked_product_without_touching_it() {
    let mut cat = Catalog::default();
    simple(&mut cat, 1, "A-1", "10", "5");
    let plan = build(&[with_external(item(2, "a-1", Some("10"), Sale::Absent, Some(5)), "guid-9")], &[], &cat, &rules());
    let u = &plan.units[0].updates[0];
    assert_eq!(u.ops, vec![MetaOp::Insert { key: "_woosync_external_id", value: Some("guid-9".into()) }]);
    assert!(!u.touch && u.lookup.is_none(), "linking is not a product save");

    // Linked to another ID: never silently re-linked.
    linked(&mut cat, 1, "guid-1");
    let plan = build(&[with_external(item(2, "A-1", Some("11"), Sale::Absent, None), "guid-9")], &[], &cat, &rules());
    assert!(plan.units.is_empty());
    assert!(plan.notes[0].message.contains("linked to external ID guid-1, not guid-9"), "{}", plan.notes[0].message);
}

#[test]
fn a_repeated_external_id_in_the_feed_writes_nothing_for_either_row() {
    let cat = Catalog::default();
    let items = [
        with_external(item(2, "A", Some("1"), Sale::Absent, None), "g"),
        with_external(item(3, "B", Some("1"), Sale::Absent, None), "g"),
        with_external(item(4, "C", Some("1"), Sale::Absent, None), "h"),
    ];
    let plan = build(&items, &[], &cat, &rules());
    assert_eq!((plan.counts.conflict, plan.counts.created), (2, 1));
    assert_eq!(plan.units[0].creates[0].external_id.as_deref(), Some("h"));
    assert!(plan.notes[0].message.contains("external ID g appears 2 times in the feed (lines 2, 3)"));
}

#[test]
fn a_feed_planned_in_blocks_gives_the_plan_of_one_block() {
    let mut cat = Catalog::default();
    simple(&mut cat, 1, "A", "10", "5");
    simple(&mut cat, 2, "B", "10", "5");
    variable_v(&mut cat);
    // A variation in the first block and its sibling in the last; a SKU repeated across blocks.
    let items = [
        item(2, "V-1", Some("4"), Sale::Absent, Some(0)),
        item(3, "A", Some("11"), Sale::Absent, None),
        item(4, "N-1", Some("3"), Sale::Absent, Some(2)),
        item(5, "b", Some("12"), Sale::Absent, None),
        item(6, "B", Some("13"), Sale::Absent, None),
        item(7, "V-2", None, Sale::Absent, Some(0)),
    ];
    let whole = build(&items, &[], &cat, &rules());

    let mut facts = FactsBuilder::default();
    items.iter().for_each(|i| facts.add(i));
    let blocks: Vec<&[Item]> = items.chunks(2).collect();
    let (units, notes, counts) = plan_blocks(&cat, &facts.finish(), FamilyEnds::new(), &blocks);

    assert_eq!(counts, whole.counts);
    assert_eq!((counts.updated, counts.created, counts.conflict), (3, 1, 2));
    let describe = |units: &[Unit]| units.iter().map(|u| format!("{:?}", (u.creates.iter().map(|c| &c.sku).collect::<Vec<_>>(), u.updates.iter().map(|u| (u.id, &u.ops)).collect::<Vec<_>>()))).collect::<Vec<_>>();
    assert_eq!(describe(&units), describe(&whole.units));
    assert_eq!(notes.iter().map(|n| n.message.clone()).collect::<Vec<_>>(), whole.notes.iter().map(|n| n.message.clone()).collect::<Vec<_>>());
    let repeated = notes.iter().filter(|n| n.message.contains("SKU appears 2 times in the feed (lines 5, 6)")).count();
    assert_eq!(repeated, 2, "{notes:?}");
}

#[test]
fn a_family_is_planned_as_soon_as_its_last_row_is_in() {
    let mut cat = Catalog::default();
    simple(&mut cat, 1, "A", "10", "5");
    variable_v(&mut cat);
    let items = [
        item(2, "V-1", Some("4"), Sale::Absent, Some(0)),
        item(3, "A", Some("11"), Sale::Absent, None),
        item(4, "V-2", None, Sale::Absent, Some(0)),
        item(5, "N-1", Some("3"), Sale::Absent, Some(2)),
    ];
    let whole = build(&items, &[], &cat, &rules());
    let (units, _, counts) = plan_blocks(&cat, &FeedFacts::default(), FamilyEnds::from([(10, 2)]), &[&items]);
    assert_eq!(counts, whole.counts);
    let ids = |u: &Unit| u.updates.iter().map(|u| u.id).collect::<Vec<_>>();
    // The family comes right after its last row, before the create that follows it.
    assert_eq!(units.iter().map(ids).collect::<Vec<_>>(), vec![vec![1], vec![11, 12, 10], vec![]]);
    assert_eq!(units[2].creates[0].sku, "N-1");
    let family = whole.units.iter().find(|u| ids(u).contains(&10)).unwrap();
    assert_eq!(format!("{:?}", units[1].updates.iter().map(|u| &u.ops).collect::<Vec<_>>()), format!("{:?}", family.updates.iter().map(|u| &u.ops).collect::<Vec<_>>()));
}

#[test]
fn a_unit_records_the_prints_of_every_product_its_plan_depends_on() {
    let mut cat = Catalog::default();
    simple(&mut cat, 1, "A", "10", "5");
    variable_v(&mut cat);
    let plan = build(&[item(2, "A", Some("12"), Sale::Absent, None), item(3, "V-1", Some("6"), Sale::Absent, None)], &[], &cat, &rules());
    assert_eq!(plan.units[0].deps, vec![Dep { id: 1, print: cat.stock_print(1).unwrap(), rows: vec![105] }]);
    // A variation's unit depends on its parent and every sibling: the parent follows them all.
    let ids: Vec<u64> = plan.units[1].deps.iter().map(|d| d.id).collect();
    assert_eq!(ids, vec![10, 11, 12]);
    assert!(plan.units[1].deps.iter().all(|d| cat.stock_print(d.id) == Some(d.print)));
}

#[test]
fn replanning_derives_everything_from_the_rows_as_they_are_now() {
    let mut cat = Catalog::default();
    simple(&mut cat, 1, "A", "10", "5");
    let plan = build(&[item(2, "A", Some("12"), Sale::Absent, None)], &[], &cat, &rules());
    let unit = &plan.units[0];
    assert_eq!(unit.updates[0].lookup.as_ref().unwrap().0.stock_quantity, Some(5.0));

    // An order sold the last five meanwhile: stock 0, out of stock, the term.
    let mut fresh = Catalog::default();
    simple(&mut fresh, 1, "A", "10", "0");
    assert_ne!(fresh.stock_print(1), Some(unit.deps[0].print));
    let again = replan(unit, &fresh, &rules());
    let u = &again.updates[0];
    assert_eq!(u.ops, vec![
        MetaOp::Set { key: "_regular_price", ids: smallvec::smallvec![101], value: "12".into() },
        MetaOp::Set { key: "_price", ids: smallvec::smallvec![107], value: "12".into() },
    ]);
    let (lookup, _) = u.lookup.clone().unwrap();
    assert_eq!((lookup.stock_quantity, lookup.stock_status.as_str()), (Some(0.0), "outofstock"));
    assert_eq!(u.term, None, "the order added the term already");
    assert!(u.rows.iter().all(|r| r.message.contains("stock went from 5 to 0 after the run read it")), "{:?}", u.rows);
    assert_eq!(again.deps, unit.deps, "the prints stay those the plan was first made from");

    // The feed's stock still wins, and the term the order added goes.
    let plan = build(&[item(2, "A", None, Sale::Absent, Some(4))], &[], &cat, &rules());
    let again = replan(&plan.units[0], &fresh, &rules());
    let u = &again.updates[0];
    assert!(u.ops.contains(&MetaOp::Set { key: "_stock", ids: smallvec::smallvec![105], value: "4".into() }));
    assert!(u.ops.contains(&MetaOp::Set { key: "_stock_status", ids: smallvec::smallvec![106], value: "instock".into() }));
    assert_eq!(u.term, Some(TermChange::Remove));

    // A product deleted meanwhile is left alone.
    assert!(replan(&plan.units[0], &Catalog::default(), &rules()).updates.is_empty());
}

#[test]
fn replanning_a_family_resyncs_the_parent_from_every_variation_as_it_is_now() {
    let mut cat = Catalog::default();
    variable_v(&mut cat);
    let plan = build(&[item(2, "V-1", Some("6"), Sale::Absent, None)], &[], &cat, &rules());
    // Meanwhile V-2 (not in the feed) went to 9.
    let mut fresh = Catalog::default();
    variable_v(&mut fresh);
    let v2 = fresh.product(12).unwrap().meta.row(Key::Price).unwrap();
    fresh.product_mut(12).unwrap().meta.put(Key::Price, MetaRow { id: v2.id, value: Some("9".into()) });
    let again = replan(&plan.units[0], &fresh, &rules());
    let parent = again.updates.iter().find(|u| u.resynced_parent).expect("the parent follows");
    let inserted: Vec<_> = parent.ops.iter().filter_map(|op| match op {
        MetaOp::Insert { key: "_price", value } => value.clone(),
        _ => None,
    }).collect();
    assert_eq!(inserted, vec![compact_str::CompactString::from("6"), "9".into()]);
}

#[test]
fn the_shop_is_read_only_for_card_fields_kept_in_step_that_the_feed_gives() {
    use crate::config::ContentPolicy;
    let every = ContentPolicy { categories: true, name: true, description: true, short_description: true, gtin: true, attributes: true, images: true };
    let mut named = item(2, "A", Some("10"), Sale::Absent, None);
    named.name = Some("Боди".into());
    let mut described = item(3, "B", Some("10"), Sale::Absent, None);
    described.content = Some(Box::new(crate::model::Content { description: Some("<p>Хлопок</p>".into()), ..Default::default() }));
    let mut facts = FactsBuilder::default();
    facts.add(&named);
    facts.add(&described);
    let facts = facts.finish();
    // A price feed with names and one description: titles and the description prints, nothing else.
    assert_eq!(facts.card_reads(&every), ContentPolicy { name: true, description: true, ..Default::default() });
    // What update_content leaves out is never read, whatever the feed gives.
    assert_eq!(facts.card_reads(&ContentPolicy { categories: true, short_description: true, ..Default::default() }), ContentPolicy::default());
}
