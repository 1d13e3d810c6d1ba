//! Which attributes and attribute terms the feed names, and which of them the shop lacks: a pure
//! function of the feed's attributes (in feed order), the shop's global attributes and
//! `[sync] local_attributes` / `attribute_slugs`.
//!
//! An attribute is local when the config says so; else global: the shop's attribute with the
//! slug WooCommerce would give it (`attribute_slugs`, else `wc_sanitize_taxonomy_name(name)`),
//! else the one labelled with the name (any case), else a new one — unless WooCommerce would
//! refuse its slug (28 bytes or more, a reserved word), which makes every row giving it
//! `invalid`. A value of a global attribute is the taxonomy's term with that name as the shop
//! shows it (any case), else a new term. [`Attributes`] is the outcome the planner reads.

use std::collections::HashMap;

use crate::catalog::attributes::{AttributeTerm, ShopAttributes};
use crate::config::AttributePolicy;
use crate::model::AttributeValues;
use crate::woo::attributes::{attribute_slug, implode, attribute_key, slug_refused, Entry};
use crate::woo::terms::{name_key, stored_name};

/// A global attribute to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttribute {
    /// `attribute_label`: the name as the feed gives it.
    pub label: String,
    /// `attribute_name`.
    pub slug: String,
}

/// A term of a `pa_*` taxonomy to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTerm {
    pub taxonomy: String,
    /// As WordPress stores it.
    pub name: String,
    /// The attribute's name, for the report.
    pub attribute: String,
}

/// What an attribute name is on the shop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `label`: the attribute's `attribute_label` (the feed's name for a new one); `key`: its key
    /// in `_product_attributes` (`attribute_key` of the taxonomy).
    Global { taxonomy: String, label: String, key: String },
    /// `key`: `attribute_key` of the name.
    Local { key: String },
    /// Why WooCommerce could not hold it.
    Refused(String),
}

/// What the shop needs so every attribute value of the feed has a home.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributePlan {
    pub attributes: Vec<NewAttribute>,
    pub terms: Vec<NewTerm>,
    kinds: HashMap<String, Kind>,
    /// Existing terms the feed's values are, by (taxonomy, value key).
    found: HashMap<(String, String), AttributeTerm>,
}

impl AttributePlan {
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty() && self.terms.is_empty()
    }
}

/// Resolves the feed's attributes against the shop's.
pub fn plan_attributes<'a>(feed: impl IntoIterator<Item = &'a AttributeValues>, shop: &ShopAttributes, policy: &AttributePolicy) -> AttributePlan {
    let mut plan = AttributePlan::default();
    let mut new_terms: HashMap<(String, String), usize> = HashMap::new();
    for attr in feed {
        let key = name_key(&attr.name);
        let kind = plan.kinds.entry(key).or_insert_with(|| {
            if policy.is_local(&attr.name) {
                return match attribute_key(&attr.name) {
                    k if k.is_empty() => Kind::Refused("its name gives an empty key (sanitize_title); name it with letters or digits".into()),
                    key => Kind::Local { key },
                };
            }
            let slug = attribute_slug(&attr.name, policy.slug(&attr.name));
            if let Some(a) = shop.by_slug(&slug).or_else(|| shop.by_label(&attr.name)) {
                return Kind::Global { key: attribute_key(&a.taxonomy()), taxonomy: a.taxonomy(), label: a.label.clone() };
            }
            if let Some(why) = slug_refused(&slug) {
                return Kind::Refused(format!("attribute {}: {why}", attr.name));
            }
            if !plan.attributes.iter().any(|a| a.slug == slug) {
                plan.attributes.push(NewAttribute { label: attr.name.trim().to_string(), slug: slug.clone() });
            }
            let taxonomy = format!("pa_{slug}");
            Kind::Global { key: attribute_key(&taxonomy), taxonomy, label: attr.name.trim().to_string() }
        });
        let Kind::Global { taxonomy, .. } = kind else { continue };
        for value in &attr.values {
            let vkey = (taxonomy.clone(), name_key(value));
            if plan.found.contains_key(&vkey) || new_terms.contains_key(&vkey) {
                continue;
            }
            match shop.term_named(taxonomy, value) {
                Some(t) => {
                    plan.found.insert(vkey, t.clone());
                }
                None => {
                    new_terms.insert(vkey, plan.terms.len());
                    plan.terms.push(NewTerm { taxonomy: taxonomy.clone(), name: stored_name(value), attribute: attr.name.clone() });
                }
            }
        }
    }
    plan
}

/// The feed's attributes as the shop holds them once the plan is written (or, in a dry run,
/// imagined with stand-in IDs).
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    kinds: HashMap<String, Kind>,
    terms: HashMap<(String, String), AttributeTerm>,
}

/// What a product gets from its attributes: the `_product_attributes` entries, the terms to
/// relate it to, and (taxonomy, term ID) for the attribute lookup table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductAttributes {
    pub entries: Vec<Entry>,
    pub term_taxonomy_ids: Vec<u64>,
    pub lookup: Vec<(String, u64)>,
}

impl Attributes {
    /// `created[i]` is the term made for `plan.terms[i]`.
    pub fn new(plan: &AttributePlan, created: &[AttributeTerm]) -> Attributes {
        let mut terms = plan.found.clone();
        for (t, made) in plan.terms.iter().zip(created) {
            terms.insert((t.taxonomy.clone(), name_key(&t.name)), made.clone());
        }
        Attributes { kinds: plan.kinds.clone(), terms }
    }

    /// The shop as a dry run sees it: new terms with stand-in IDs no term has.
    pub fn imagined(plan: &AttributePlan) -> Attributes {
        let ids = super::categories::DRY_RUN_IDS - 1_000_000;
        let created: Vec<AttributeTerm> = plan
            .terms
            .iter()
            .enumerate()
            .map(|(i, t)| AttributeTerm { term_id: ids - i as u64, tt_id: ids - i as u64, name: t.name.clone(), slug: crate::woo::slug::sanitize_title(&t.name) })
            .collect();
        Attributes::new(plan, &created)
    }

    pub fn kind(&self, name: &str) -> Option<&Kind> {
        self.kinds.get(&name_key(name))
    }

    /// The label of a global attribute by its taxonomy, when the feed names it.
    pub fn label_of(&self, taxonomy: &str) -> Option<&str> {
        self.kinds.values().find_map(|k| match k {
            Kind::Global { taxonomy: t, label, .. } if t == taxonomy => Some(label.as_str()),
            _ => None,
        })
    }

    /// The term a global attribute's value is.
    pub fn term(&self, taxonomy: &str, value: &str) -> Option<&AttributeTerm> {
        self.terms.get(&(taxonomy.to_string(), name_key(value)))
    }

    /// A row's attributes on a product: entries in the row's order, positions from 0. Err: the
    /// attribute WooCommerce cannot hold, and why.
    pub fn for_product(&self, given: &[AttributeValues]) -> Result<ProductAttributes, (String, String)> {
        let mut out = ProductAttributes::default();
        for attr in given {
            match self.kind(&attr.name) {
                Some(Kind::Global { taxonomy, key, .. }) => {
                    for v in &attr.values {
                        let t = self
                            .terms
                            .get(&(taxonomy.clone(), name_key(v)))
                            .ok_or_else(|| (attr.name.clone(), format!("value {v} of attribute {} has no term", attr.name)))?;
                        if !out.term_taxonomy_ids.contains(&t.tt_id) {
                            out.term_taxonomy_ids.push(t.tt_id);
                            out.lookup.push((taxonomy.clone(), t.term_id));
                        }
                    }
                    out.entries.push(Entry { key: key.clone(), name: taxonomy.clone(), value: String::new(), is_variation: false, is_taxonomy: true, is_visible: true });
                }
                Some(Kind::Local { key }) => {
                    out.entries.push(Entry { key: key.clone(), name: attr.name.clone(), value: implode(&attr.values), is_variation: false, is_taxonomy: false, is_visible: true });
                }
                Some(Kind::Refused(why)) => return Err((attr.name.clone(), why.clone())),
                None => return Err((attr.name.clone(), format!("attribute {} was not surveyed", attr.name))),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::attributes::GlobalAttribute;

    fn values(name: &str, vs: &[&str]) -> AttributeValues {
        AttributeValues { name: name.into(), values: vs.iter().map(|v| v.to_string()).collect() }
    }

    fn shop() -> ShopAttributes {
        let mut shop = ShopAttributes { attributes: vec![GlobalAttribute { id: 1, slug: "razmer".into(), label: "Размер".into() }], ..Default::default() };
        shop.terms.insert("pa_razmer".into(), vec![AttributeTerm { term_id: 19, tt_id: 19, name: "42".into(), slug: "42".into() }]);
        shop
    }

    #[test]
    fn attributes_are_found_by_slug_or_label_and_values_by_name() {
        let feed = [values("размер", &["42", "44"]), values("Цвет", &["Белый", "белый"]), values("Материал изделия", &["Хлопок"]), values("Бренд", &["A & B"])];
        let policy = AttributePolicy { local: vec!["бренд".into()], slugs: vec![] };
        let plan = plan_attributes(&feed, &shop(), &policy);
        assert_eq!(plan.attributes, vec![NewAttribute { label: "Цвет".into(), slug: "цвет".into() }]);
        let made: Vec<(&str, &str)> = plan.terms.iter().map(|t| (t.taxonomy.as_str(), t.name.as_str())).collect();
        assert_eq!(made, [("pa_razmer", "44"), ("pa_цвет", "Белый")], "42 exists; Белый once (any case)");
        let attrs = Attributes::imagined(&plan);
        assert!(matches!(attrs.kind("МАТЕРИАЛ ИЗДЕЛИЯ"), Some(Kind::Refused(why)) if why.contains("31 bytes")));
        let got = attrs.for_product(&[values("Размер", &["42", "44"]), values("Бренд", &["A & B"])]).unwrap();
        assert_eq!(got.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["pa_razmer", "%d0%b1%d1%80%d0%b5%d0%bd%d0%b4"]);
        assert_eq!(got.entries[1].value, "A & B", "a local value is kept raw");
        assert_eq!(got.lookup[0], ("pa_razmer".to_string(), 19));
        assert_eq!(got.term_taxonomy_ids.len(), 2);
        let err = attrs.for_product(&[values("Материал изделия", &["Хлопок"])]).unwrap_err();
        assert_eq!(err.0, "Материал изделия");
    }

    #[test]
    fn a_configured_slug_finds_or_names_the_attribute() {
        let policy = AttributePolicy { local: vec![], slugs: vec![("материал изделия".into(), "material".into())] };
        let plan = plan_attributes(&[values("Материал изделия", &["Хлопок"])], &ShopAttributes::default(), &policy);
        assert_eq!(plan.attributes, vec![NewAttribute { label: "Материал изделия".into(), slug: "material".into() }]);
        assert_eq!(plan.terms[0].taxonomy, "pa_material");
    }
}
