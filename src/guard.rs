//! The safety guard: before anything is written, compare what the feed would do with the shop
//! and refuse a run that looks like a broken export — far fewer rows than the last successful
//! run, a large share of products set to zero stock, or a large share of prices changed by more
//! than a factor of two. Pure: takes the feed, the catalog and the settings, returns a verdict.

use rust_decimal::Decimal;

use crate::catalog::{Catalog, SkuOwners};
use crate::model::Key;
use crate::model::Item;
use crate::config::Limits;


impl Default for Limits {
    fn default() -> Self {
        Limits { min_items_percent: 50.0, max_zero_stock_percent: 30.0, max_price_change_percent: 20.0, min_affected: 10 }
    }
}

/// What the feed would do to the products it matches by SKU, counted row by row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub matched: usize,
    /// Set to zero stock from above zero.
    pub zeroed: usize,
    /// Regular price changed by more than a factor of two.
    pub repriced: usize,
}

impl Tally {
    /// Counts a row against the one live product holding its SKU (`owners` from the SKU index).
    pub fn add(&mut self, item: &Item, owners: Option<&SkuOwners>, catalog: &Catalog) {
        let Some(SkuOwners::One(id)) = owners else { return };
        let Some(p) = catalog.product(*id) else { return };
        self.matched += 1;
        let current_stock = p.get(Key::Stock).and_then(|s| s.trim().parse::<f64>().ok()).unwrap_or(0.0);
        if item.stock == Some(0) && current_stock > 0.0 {
            self.zeroed += 1;
        }
        if let (Some(new), Some(old)) = (&item.regular, p.money(Key::RegularPrice)) {
            let two = Decimal::from(2);
            if old.value > Decimal::ZERO && (new.value > old.value * two || new.value * two < old.value) {
                self.repriced += 1;
            }
        }
    }
}

/// Why a run is refused: one sentence per tripped limit (empty: the run may go ahead).
/// `tally` may include products missing from the feed that the run would zero; `feed_rows`
/// counts only the feed's own valid rows.
pub fn assess(tally: &Tally, feed_rows: usize, last_run_items: Option<u64>, limits: &Limits) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(last) = last_run_items.filter(|&n| n > 0) {
        let share = feed_rows as f64 * 100.0 / last as f64;
        if share < limits.min_items_percent {
            reasons.push(format!(
                "the feed has {feed_rows} valid rows, {share:.0}% of the {last} of the last successful run (min_items_percent = {})",
                limits.min_items_percent
            ));
        }
    }
    let Tally { matched, zeroed, repriced } = *tally;
    let pct = |n: usize| if matched == 0 { 0.0 } else { n as f64 * 100.0 / matched as f64 };
    if zeroed >= limits.min_affected && pct(zeroed) > limits.max_zero_stock_percent {
        reasons.push(format!(
            "the run would set {zeroed} of {matched} products ({:.0}%) to zero stock (max_zero_stock_percent = {})",
            pct(zeroed),
            limits.max_zero_stock_percent
        ));
    }
    if repriced >= limits.min_affected && pct(repriced) > limits.max_price_change_percent {
        reasons.push(format!(
            "the run would change the regular price of {repriced} of {matched} products ({:.0}%) by more than a factor of 2 (max_price_change_percent = {})",
            pct(repriced),
            limits.max_price_change_percent
        ));
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{MetaRow, PostType, Product, Status};
    use crate::model::{Money, Sale};
    use crate::catalog::Kind;

    fn shop(n: u64) -> Catalog {
        let mut cat = Catalog::default();
        for id in 1..=n {
            let mut p = Product {
                id,
                parent: 0,
                post_type: PostType::Product,
                status: Status::Publish,
                kind: Kind::Simple,
                outofstock_term: false,
                meta: Default::default(),
                lookup: None,
            };
            p.meta.put(Key::Sku, MetaRow { id: id * 10, value: Some(format!("S{id}").into()) });
            p.meta.put(Key::Stock, MetaRow { id: id * 10 + 1, value: Some("5".into()) });
            p.meta.put(Key::RegularPrice, MetaRow { id: id * 10 + 2, value: Some("100".into()) });
            cat.insert(p);
        }
        cat
    }

    /// The guard's verdict on `items` against a shop of `n` products.
    fn judge(items: &[Item], n: u64, last: Option<u64>) -> Vec<String> {
        let shop = shop(n);
        let index = shop.sku_index();
        let mut tally = Tally::default();
        items.iter().for_each(|i| tally.add(i, index.owners(&i.key()).as_ref(), &shop));
        assess(&tally, items.len(), last, &Limits::default())
    }

    fn item(i: u64, stock: Option<i64>, price: &str) -> Item {
        Item { line: i, sku: format!("S{i}").into(), name: None, regular: Money::from_stored(price), sale: Sale::Absent, stock, external_id: None, content: None, notes: vec![], missing: false }
    }

    #[test]
    fn a_normal_feed_passes() {
        let items: Vec<Item> = (1..=100).map(|i| item(i, Some(if i <= 20 { 0 } else { 4 }), "110")).collect();
        assert!(judge(&items, 100, Some(100)).is_empty());
    }

    #[test]
    fn zeroing_most_of_the_shop_is_refused() {
        let items: Vec<Item> = (1..=100).map(|i| item(i, Some(if i <= 40 { 0 } else { 4 }), "100")).collect();
        let reasons = judge(&items, 100, None);
        assert_eq!(reasons.len(), 1);
        assert!(reasons[0].contains("40 of 100 products (40%) to zero stock"), "{reasons:?}");
    }

    #[test]
    fn prices_off_by_a_factor_and_short_feeds_are_refused() {
        let items: Vec<Item> = (1..=40).map(|i| item(i, None, if i <= 30 { "1000" } else { "100" })).collect();
        let reasons = judge(&items, 100, Some(100));
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons[0].contains("40 valid rows, 40% of the 100"));
        assert!(reasons[1].contains("30 of 40 products (75%)"));
    }

    #[test]
    fn small_catalogues_are_not_refused_for_a_few_products() {
        let items: Vec<Item> = (1..=5).map(|i| item(i, Some(0), "1")).collect();
        assert!(judge(&items, 5, None).is_empty());
    }
}
