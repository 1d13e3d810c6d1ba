//! `[guard]`: the safety guard's limits. Plain data; `crate::guard` assesses a feed against them.

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GuardSection {
    #[serde(default = "default_min_items")]
    min_items_percent: f64,
    #[serde(default = "default_max_zero")]
    max_zero_stock_percent: f64,
    #[serde(default = "default_max_price")]
    max_price_change_percent: f64,
    #[serde(default = "default_min_affected")]
    min_affected_products: usize,
}

impl Default for GuardSection {
    fn default() -> Self {
        GuardSection {
            min_items_percent: default_min_items(),
            max_zero_stock_percent: default_max_zero(),
            max_price_change_percent: default_max_price(),
            min_affected_products: default_min_affected(),
        }
    }
}

fn default_min_items() -> f64 {
    50.0
}
fn default_max_zero() -> f64 {
    30.0
}
fn default_max_price() -> f64 {
    20.0
}
fn default_min_affected() -> usize {
    10
}


/// `[guard]` settings; percentages of the feed's products that exist in the shop.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub min_items_percent: f64,
    pub max_zero_stock_percent: f64,
    pub max_price_change_percent: f64,
    /// The share checks only apply once this many products would be affected, so a small
    /// catalogue is not refused for two products running out.
    pub min_affected: usize,
}

impl GuardSection {
    pub(super) fn settle(self) -> Result<Limits> {
        for (key, v) in [
            ("min_items_percent", self.min_items_percent),
            ("max_zero_stock_percent", self.max_zero_stock_percent),
            ("max_price_change_percent", self.max_price_change_percent),
        ] {
            if !(0.0..=100.0).contains(&v) {
                return Err(Error::Config(format!("[guard] {key} = {v}: expected a percentage from 0 to 100")));
            }
        }
        Ok(Limits {
            min_items_percent: self.min_items_percent,
            max_zero_stock_percent: self.max_zero_stock_percent,
            max_price_change_percent: self.max_price_change_percent,
            min_affected: self.min_affected_products,
        })
    }
}
