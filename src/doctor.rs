//! `woosync doctor`: what in the shop breaks WooCommerce's own rules. Every product is planned
//! against itself — its own regular price, sale and stock as the "feed" — with derived values
//! recomputed, so the planner's writes are exactly the inconsistencies: a `_price` that breaks
//! the sale/regular rule, a stock status that breaks the threshold rule, `outofstock` terms that
//! disagree with the status, lookup rows missing or disagreeing with the meta, variable parents
//! whose price rows or stock status disagree with their children, and (as conflicts) SKUs held
//! by two live products. `--fix` writes them through the same chunked writer. Pure.

use crate::catalog::{Catalog, PostType};
use crate::model::Key;
use crate::model::{Item, Sale};

/// One item per live product or variation with a SKU, holding what it holds now.
pub fn items(catalog: &Catalog) -> Vec<Item> {
    let mut items = Vec::new();
    for p in catalog.products() {
        if !p.is_live() {
            continue;
        }
        let Some(sku) = p.get(Key::Sku).map(str::trim).filter(|s| !s.is_empty()) else { continue };
        let priced = p.takes_prices();
        let stocked = p.takes_stock() && p.manages_stock();
        if !priced && !stocked && p.post_type != PostType::Variation {
            // A variable parent without stock of its own: its variations bring it in.
            continue;
        }
        let stock = stocked.then(|| crate::plan::stock_amount(p.get(Key::Stock)));
        items.push(Item {
            line: p.id,
            sku: sku.into(),
            name: None,
            regular: if priced { p.money(Key::RegularPrice) } else { None },
            sale: match (priced, p.money(Key::SalePrice)) {
                (false, _) => Sale::Absent,
                (true, Some(s)) => Sale::Set(s),
                (true, None) => Sale::Clear,
            },
            stock,
            external_id: None,
            content: None,
            notes: Vec::new(),
            missing: false,
        });
    }
    items
}
