//! WooCommerce's own rules, as pure functions: how `_price` follows the regular and sale
//! prices, how `_stock_status` follows the stock, what the lookup row holds, how a variable
//! parent follows its children, how WordPress makes a slug, a URL and the sized copies of a picture. Everything here mirrors
//! `../shared/woocommerce/` (WooCommerce 9.9) and is unit-tested; nothing here does I/O.

pub mod attributes;
pub mod media;
pub mod meta;
pub mod permalink;
pub mod slug;
pub mod terms;

use compact_str::CompactString;
use rust_decimal::Decimal;

use crate::model::Money;

pub const INSTOCK: &str = "instock";
pub const OUTOFSTOCK: &str = "outofstock";
pub const ONBACKORDER: &str = "onbackorder";

/// `WC_Product::validate_props()`: with managed stock, more than the
/// `woocommerce_notify_no_stock_amount` option is in stock; otherwise backorders decide.
pub fn stock_status(quantity: i64, backorders: &str, notify_no_stock_amount: i64) -> &'static str {
    if quantity > notify_no_stock_amount.abs() {
        INSTOCK
    } else if !backorders.is_empty() && backorders != "no" {
        ONBACKORDER
    } else {
        OUTOFSTOCK
    }
}

/// `WC_Product::is_on_sale('edit')`: a non-empty sale price below the regular price, inside
/// the schedule when one is set (`_sale_price_dates_from/_to` are Unix timestamps).
pub fn sale_active(regular: Option<&Money>, sale: Option<&Money>, from: Option<i64>, to: Option<i64>, now: i64) -> bool {
    let (Some(r), Some(s)) = (regular, sale) else { return false };
    if r.value <= s.value {
        return false;
    }
    if matches!(from, Some(f) if f > 0 && f > now) {
        return false;
    }
    if matches!(to, Some(t) if t > 0 && t < now) {
        return false;
    }
    true
}

/// The `_price` WooCommerce derives: the sale price while a sale is active, else the regular price.
pub fn active_price(regular: Option<&Money>, sale: Option<&Money>, from: Option<i64>, to: Option<i64>, now: i64) -> Option<Money> {
    if sale_active(regular, sale, from, to, now) {
        sale.cloned()
    } else {
        regular.cloned()
    }
}

/// The columns of `wc_product_meta_lookup` that price and stock decide.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupValues {
    pub sku: CompactString,
    pub min_price: Option<Decimal>,
    pub max_price: Option<Decimal>,
    pub onsale: bool,
    pub stock_quantity: Option<f64>,
    pub stock_status: CompactString,
}

impl LookupValues {
    /// `get_data_for_lookup_table()` for a simple product or variation.
    pub fn for_simple(sku: &str, price: Option<&Money>, sale: Option<&Money>, managed_stock: Option<i64>, stock_status: &str) -> Self {
        let onsale = matches!((sale, price), (Some(s), Some(p)) if s.text() == p.text());
        LookupValues {
            sku: sku.into(),
            min_price: lookup_price(price),
            max_price: lookup_price(price),
            onsale,
            stock_quantity: managed_stock.map(|q| q as f64),
            stock_status: stock_status.into(),
        }
    }
}

/// What the lookup's `min_price`/`max_price` hold for a product whose first/last `_price` row is
/// `price`. WooCommerce stores `reset()`/`end()` of the product's `_price` rows through
/// `$wpdb->replace()` without formats: a product with no `_price` row (saved without a price)
/// sends `false` as `''`, which MySQL's non-strict mode (WordPress turns strict modes off) stores
/// in the DECIMAL column as `0.0000` — never NULL.
pub fn lookup_price(price: Option<&Money>) -> Option<Decimal> {
    Some(price.map_or(Decimal::new(0, 4), |p| p.value))
}

/// Two lookup prices are the same when the table's DECIMAL(19,4) would store them alike.
pub fn same_price(a: Option<Decimal>, b: Option<Decimal>) -> bool {
    let stored = |d: Option<Decimal>| d.map(|v| v.round_dp(4).normalize());
    stored(a) == stored(b)
}

/// `WC_Product_Variable_Data_Store_CPT::sync_stock_status()`: a parent that does not manage its
/// own stock is in stock if any visible child is, else on backorder if any is, else out of stock.
pub fn parent_stock_status<'a>(child_statuses: impl IntoIterator<Item = &'a str>) -> &'static str {
    let mut backorder = false;
    for s in child_statuses {
        if s == INSTOCK {
            return INSTOCK;
        }
        backorder |= s == ONBACKORDER;
    }
    if backorder {
        ONBACKORDER
    } else {
        OUTOFSTOCK
    }
}

/// `sync_price()`: one `_price` row per distinct child price, ascending (numerically).
pub fn parent_prices(child_prices: impl IntoIterator<Item = Money>) -> Vec<Money> {
    let mut prices: Vec<Money> = Vec::new();
    for p in child_prices {
        if !prices.iter().any(|q| q.text() == p.text()) {
            prices.push(p);
        }
    }
    prices.sort_by_key(|a| a.value);
    prices
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::from_stored(s).unwrap()
    }

    #[test]
    fn stock_status_follows_threshold_and_backorders() {
        assert_eq!(stock_status(1, "no", 0), INSTOCK);
        assert_eq!(stock_status(0, "no", 0), OUTOFSTOCK);
        assert_eq!(stock_status(0, "notify", 0), ONBACKORDER);
        assert_eq!(stock_status(0, "yes", 0), ONBACKORDER);
        assert_eq!(stock_status(2, "no", 2), OUTOFSTOCK);
        assert_eq!(stock_status(3, "no", 2), INSTOCK);
    }

    #[test]
    fn price_is_sale_only_when_active() {
        let now = 1_000_000;
        assert_eq!(active_price(Some(&m("25.00")), Some(&m("19.99")), None, None, now).unwrap().text(), "19.99");
        assert_eq!(active_price(Some(&m("25.00")), Some(&m("25")), None, None, now).unwrap().text(), "25.00");
        assert_eq!(active_price(Some(&m("25.00")), None, None, None, now).unwrap().text(), "25.00");
        assert_eq!(active_price(Some(&m("25")), Some(&m("19")), Some(now + 10), None, now).unwrap().text(), "25");
        assert_eq!(active_price(Some(&m("25")), Some(&m("19")), None, Some(now - 10), now).unwrap().text(), "25");
        assert_eq!(active_price(None, Some(&m("19")), None, None, now), None);
    }

    #[test]
    fn lookup_onsale_and_quantity() {
        let l = LookupValues::for_simple("A", Some(&m("19.99")), Some(&m("19.99")), Some(4), INSTOCK);
        assert!(l.onsale);
        assert_eq!(l.stock_quantity, Some(4.0));
        let l2 = LookupValues::for_simple("A", Some(&m("19.9900")), Some(&m("19.99")), Some(4), INSTOCK);
        assert!(!l2.onsale);
        assert!(same_price(l2.min_price, l.min_price) && same_price(l2.max_price, l.max_price));
        assert!(!same_price(Some(Decimal::new(1999, 2)), Some(Decimal::new(19991, 3))));
        assert!(!same_price(None, l.min_price));
    }

    #[test]
    fn a_priceless_lookup_row_holds_zero_not_null() {
        let l = LookupValues::for_simple("A", None, None, None, INSTOCK);
        assert_eq!((l.min_price, l.max_price), (Some(Decimal::ZERO), Some(Decimal::ZERO)));
        assert!(!l.onsale);
        assert!(same_price(l.min_price, Some(Decimal::new(0, 4))), "0.0000 as read back is the same");
        assert!(!same_price(l.min_price, None), "a NULL left by an earlier run is not");
    }

    #[test]
    fn parent_follows_children() {
        assert_eq!(parent_stock_status([OUTOFSTOCK, INSTOCK]), INSTOCK);
        assert_eq!(parent_stock_status([OUTOFSTOCK, ONBACKORDER]), ONBACKORDER);
        assert_eq!(parent_stock_status([OUTOFSTOCK]), OUTOFSTOCK);
        let p = parent_prices([m("20.73"), m("5.55"), m("13.52"), m("5.55")]);
        assert_eq!(p.iter().map(|p| p.text()).collect::<Vec<_>>(), ["5.55", "13.52", "20.73"]);
        let p = parent_prices([m("9"), m("10")]);
        assert_eq!(p[0].text(), "9");
    }
}
