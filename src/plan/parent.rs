//! Variable parents follow their variations (WooCommerce's `WC_Product_Variable::sync`): after a
//! variation's price or stock changes, the parent's `_price` rows become the sorted distinct
//! prices of its visible variations, and a parent that does not manage stock itself takes its
//! stock status from its variations.

use std::collections::HashMap;

use super::{set_meta, Draft, Final, MetaOp, Update};
use crate::catalog::{Catalog, Kind, PostType, Status};
use crate::model::Key;
use crate::model::Money;
use crate::report::{Action, ReportRow};
use crate::woo;

pub(super) fn resync(drafts: &mut HashMap<u64, Draft>, order: &mut HashMap<u64, Vec<u64>>, catalog: &Catalog, rules: &super::Rules, extra: Option<&super::FamilyExtra>) {
    let mut families: Vec<u64> = order.keys().copied().collect();
    families.sort_unstable();
    for family in families {
        let Some(parent) = catalog.product(family) else { continue };
        if parent.kind != Kind::Variable {
            continue;
        }
        let children = catalog.children.get(&family).map(Vec::as_slice).unwrap_or(&[]);
        // Variations the unit creates under this parent (published), and what the parent gains.
        let extra = extra.filter(|x| x.family == family);
        // The doctor re-derives every parent; a sync only those whose variations it changes.
        let changed = rules.rederive || extra.is_some() || children.iter().any(|c| drafts.get(c).is_some_and(|d| !d.update.ops.is_empty()));
        if !changed {
            continue;
        }
        let final_of = |id: u64| -> Option<(Option<Money>, String)> {
            let child = catalog.product(id)?;
            Some(match drafts.get(&id) {
                Some(d) => (d.fin.prices.first().cloned(), d.fin.status.clone()),
                None => (
                    child.money(Key::Price),
                    child
                        .lookup
                        .as_ref()
                        .map(|l| l.stock_status().to_string())
                        .or_else(|| child.get(Key::StockStatus).map(str::to_string))
                        .unwrap_or_else(|| woo::INSTOCK.to_string()),
                ),
            })
        };

        let mut visible_prices = Vec::new();
        let mut statuses = Vec::new();
        for &c in children {
            let Some(child) = catalog.product(c) else { continue };
            let Some((price, status)) = final_of(c) else { continue };
            if matches!(child.status, Status::Publish | Status::Private) {
                statuses.push(status.clone());
            }
            if child.status == Status::Publish && !(rules.hide_out_of_stock && status == woo::OUTOFSTOCK) {
                visible_prices.extend(price);
            }
        }
        for (price, status) in extra.iter().flat_map(|x| x.children.iter()) {
            statuses.push(status.to_string());
            if !(rules.hide_out_of_stock && *status == woo::OUTOFSTOCK) {
                visible_prices.extend(*price);
            }
        }
        let new_prices = woo::parent_prices(visible_prices);

        let mut ops = Vec::new();
        let mut rows = Vec::new();
        let row = |field: &str, old: String, new: String| ReportRow {
            action: Action::Update,
            sku: parent.get(Key::Sku).unwrap_or("").to_string(),
            product_id: Some(parent.id),
            post_type: "product",
            field: field.to_string(),
            old,
            new,
            message: "variable parent follows its variations".into(),
        };
        let current: Vec<String> = catalog.rows(family, Key::Price).iter().map(|r| r.value.as_deref().unwrap_or("").to_string()).collect();
        let wanted: Vec<String> = new_prices.iter().map(|m| m.text().to_string()).collect();
        if current != wanted {
            let ids: super::MetaIds = catalog.rows(family, Key::Price).iter().map(|r| r.id).collect();
            if !ids.is_empty() {
                ops.push(MetaOp::Delete { key: "_price", ids });
            }
            for key in [Key::RegularPrice, Key::SalePrice] {
                let ids: super::MetaIds = catalog.rows(family, key).iter().map(|r| r.id).collect();
                if !ids.is_empty() {
                    ops.push(MetaOp::Delete { key: key.meta_key(), ids });
                }
            }
            for price in &wanted {
                ops.push(MetaOp::Insert { key: "_price", value: Some(price.as_str().into()) });
            }
            rows.push(row("_price", current.join("|"), wanted.join("|")));
        }
        let mut new_status = None;
        if !parent.manages_stock() {
            let status = woo::parent_stock_status(statuses.iter().map(String::as_str));
            if parent.get(Key::StockStatus) != Some(status) {
                set_meta(&mut ops, catalog, family, Key::StockStatus, status.to_string());
                rows.push(row("_stock_status", parent.get(Key::StockStatus).unwrap_or("").to_string(), status.to_string()));
            }
            new_status = Some(status);
        }
        if let Some(x) = extra {
            ops.extend(x.ops.iter().cloned());
            rows.extend(x.rows.iter().cloned());
        }
        // The doctor also checks the lookup row of a parent whose rows are right.
        if ops.is_empty() && !rules.rederive && extra.is_none() {
            continue;
        }
        let draft = drafts.entry(family).or_insert_with(|| {
            order.entry(family).or_default().push(family);
            Draft {
                update: Update {
                    id: family,
                    sku: parent.get(Key::Sku).unwrap_or("").to_string(),
                    post_type: PostType::Product,
                    parent: 0,
                    published: parent.is_published(),
                    ops: Vec::new(),
                    lookup: None,
                    term: None,
                    touch: false,
                    categories: None,
                    post: None,
                    pictures: None,
                    rows: Vec::new(),
                    resynced_parent: true,
                    add_terms: Vec::new(),
                    attributes: None,
                    row: None,
                },
                fin: Final::of(parent, catalog),
                counts_as_item: false,
            }
        });
        draft.update.ops.extend(ops);
        draft.update.rows.extend(rows);
        if let Some(x) = extra {
            draft.update.add_terms.extend(x.add_terms.iter().copied());
            draft.update.touch = true;
        }
        draft.fin.prices = new_prices;
        draft.fin.sale = None;
        if let Some(s) = new_status {
            draft.fin.status = s.to_string();
        }
    }
}
