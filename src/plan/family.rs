//! New variable families: feed rows naming a parent SKU the shop lacks (and the parent's own
//! row, when the feed has one) become one variable product with its variations, planned
//! together once the family's last row is in and written in one unit.
//!
//! Rules (issue "product cards", decided): the variation attributes are the attributes with two
//! or more distinct values among the family's valid variation rows (when none varies — one
//! variation — those its rows give); the others go on the parent as visible attributes. A
//! variation gives one value per variation attribute, at least one in all; two variations with
//! the same values are both a conflict; the rest of the family is created. The parent's name and
//! categories come from its own row, else from the family's first valid row; its texts and GTIN
//! only from its own row. Titles, `post_excerpt` and `attribute_*` meta are what WooCommerce
//! generates (CATALOGUE.md g2, g3; `generate_product_title()`, `wc_get_formatted_variation()`).

use std::collections::HashMap;

use super::attributes::Kind as AttrKind;
use super::{plan_create, text_print, FamilyExtra, MetaOp, NewKind, NewParent, NewProduct, NewVariation, Planner, Unit};
use crate::model::{AttributeValues, Item};
use crate::report::{Action, ReportRow};
use crate::woo::attributes::{attribute_key, implode};
use crate::woo::terms::name_key;
use crate::woo::{self, LookupValues};

impl Planner<'_> {
    /// Takes a row of a family whose parent the shop lacks; plans the family at its last row.
    pub(super) fn hold_new(&mut self, key: String, item: &Item, position: u64, emit: &mut dyn FnMut(Unit) -> bool) -> bool {
        let last = self.new_family_ends.get(&text_print(&key)) == Some(&position);
        match self.new_families.get_mut(&key) {
            Some(rows) => rows.push(item.clone()),
            None => {
                self.new_family_order.push(key.clone());
                self.new_families.insert(key.clone(), vec![item.clone()]);
            }
        }
        !last || self.close_new(&key, emit)
    }

    /// Plans the new family held under `key` and hands its unit on.
    pub(super) fn close_new(&mut self, key: &str, emit: &mut dyn FnMut(Unit) -> bool) -> bool {
        let Some(rows) = self.new_families.remove(key) else { return true };
        match self.plan_new_family(rows) {
            Some(creates) => emit(Unit { creates, ..Unit::default() }),
            None => true,
        }
    }

    /// Whether a new row's GTIN is free and the shop can hold its attributes (else it is reported).
    fn fits(&mut self, v: &Item) -> bool {
        if let Some(why) = self.gtin_conflict(v, None) {
            self.note(v, Action::Conflict, "gtin", why);
            return false;
        }
        if let Err((name, why)) = self.rules.attributes.for_product(v.attributes()) {
            self.note(v, Action::Invalid, &format!("attribute:{name}"), format!("{why}; nothing written for it"));
            return false;
        }
        true
    }

    fn note(&mut self, item: &Item, action: Action, field: &str, message: String) {
        let w = self.rules.row_word;
        // A row without a SKU of its own (a 1C characteristic) is named by its Ид.
        let named = match (item.sku.is_empty(), item.external_id.as_deref()) {
            (true, Some(x)) => format!("{w} {} (Ид {x})", item.line),
            _ => format!("{w} {}", item.line),
        };
        self.notes.push((item.line, ReportRow::note(action, &item.sku, field, format!("{named}: {message}"))));
        match action {
            Action::Conflict => self.counts.conflict += 1,
            _ => self.counts.invalid += 1,
        }
    }

    /// The parent and its variations, or `None` when no variation can be created (every row of
    /// the family is then reported).
    fn plan_new_family(&mut self, rows: Vec<Item>) -> Option<Vec<NewProduct>> {
        let rules = self.rules;
        let (parents, variations): (Vec<Item>, Vec<Item>) = rows.into_iter().partition(|i| i.parent_sku().is_none());
        let parent_row = parents.into_iter().next();
        let parent_sku = variations.first().and_then(|v| v.parent_sku()).map(|s| s.trim().to_string())?;

        // One article on offers of two different 1C goods is a conflict, not a family.
        let good_of = |i: &Item| i.content.as_ref().and_then(|c| c.parent_id.clone());
        let mut goods: Vec<String> = variations.iter().filter_map(good_of).collect();
        if let (Some(p), false) = (&parent_row, goods.is_empty()) {
            goods.extend(p.external_id.as_ref().map(|x| x.to_string()));
        }
        goods.sort();
        goods.dedup();
        if goods.len() > 1 {
            let why = format!("article {parent_sku} is on offers of {} different goods ({}); a family is one good's; nothing written for it", goods.len(), goods.join(", "));
            for row in parent_row.iter().chain(&variations) {
                self.note(row, Action::Conflict, "_sku", why.clone());
            }
            return None;
        }
        let good = goods.into_iter().next();

        // Rows that cannot be variations at all.
        let mut valid: Vec<Item> = Vec::new();
        for v in variations {
            if let Some(owner) = self.owners.owners(&v.key()) {
                let ids = owner.ids().iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
                self.note(&v, Action::Conflict, "_sku", format!("SKU belongs to product {ids}, so it cannot be a new variation of {parent_sku}; nothing written for it"));
                continue;
            }
            if let Some(x) = v.external_id.as_deref().filter(|x| self.externals.owners(x).is_some()) {
                self.note(&v, Action::Conflict, rules.external_id_meta, format!("external ID {x} is linked to another product; nothing written for it"));
                continue;
            }
            if !self.fits(&v) {
                continue;
            }
            valid.push(v);
        }

        // The variation attributes: those whose values differ between the variations.
        let mut names: Vec<String> = Vec::new();
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        for v in &valid {
            for a in v.attributes() {
                let k = name_key(&a.name);
                if !values.contains_key(&k) {
                    names.push(a.name.clone());
                }
                let seen = values.entry(k).or_default();
                for value in &a.values {
                    if !seen.iter().any(|s| name_key(s) == name_key(value)) {
                        seen.push(value.clone());
                    }
                }
            }
        }
        let mut varying: Vec<String> = names.iter().filter(|n| values[&name_key(n)].len() > 1).cloned().collect();
        if varying.is_empty() {
            varying = names.clone();
        }
        let is_varying = |name: &str| varying.iter().any(|n| name_key(n) == name_key(name));

        // Each variation: one value per variation attribute, at least one in all.
        let mut kept: Vec<(Item, Vec<(String, Option<String>)>)> = Vec::new();
        for v in valid {
            let mut own: Vec<(String, Option<String>)> = Vec::new();
            let mut bad = None;
            for n in &varying {
                let given = v.attributes().iter().find(|a| name_key(&a.name) == name_key(n));
                match given.map(|a| a.values.as_slice()) {
                    Some([one]) => own.push((n.clone(), Some(one.clone()))),
                    Some(many) if many.len() > 1 => {
                        bad = Some((n.clone(), format!("a variation takes one value of attribute {n}; found {}", implode(many))));
                        break;
                    }
                    _ => own.push((n.clone(), None)),
                }
            }
            if let Some((name, why)) = bad {
                self.note(&v, Action::Invalid, &format!("attribute:{name}"), format!("{why}; nothing written for it"));
                continue;
            }
            if own.iter().all(|(_, value)| value.is_none()) {
                let why = match varying.is_empty() {
                    true => "the variation has no attribute to tell it from its family's other variations (no characteristics, no attribute mapped in [source.attributes])".to_string(),
                    false => format!("the variation gives no value of its family's variation attributes ({})", varying.join(", ")),
                };
                self.note(&v, Action::Invalid, "attributes", format!("{why}; nothing written for it"));
                continue;
            }
            kept.push((v, own));
        }
        // Two variations with the same values: both are conflicts.
        let signature = |own: &[(String, Option<String>)]| own.iter().map(|(_, v)| v.as_deref().map(name_key).unwrap_or_default()).collect::<Vec<_>>().join("\u{1}");
        let mut lines_of: HashMap<String, Vec<u64>> = HashMap::new();
        for (v, own) in &kept {
            lines_of.entry(signature(own)).or_default().push(v.line);
        }
        let mut variations: Vec<(Item, Vec<(String, Option<String>)>)> = Vec::new();
        for (v, own) in kept {
            let lines = &lines_of[&signature(&own)];
            if lines.len() > 1 {
                let shown = own.iter().filter_map(|(n, v)| v.as_ref().map(|v| format!("{n}: {v}"))).collect::<Vec<_>>().join(", ");
                let list = lines.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
                let w = rules.row_word;
                self.note(&v, Action::Conflict, "attributes", format!("variations of {parent_sku} at {w}s {list} have the same attribute values ({shown}); nothing written for them"));
                continue;
            }
            variations.push((v, own));
        }

        let parent_ok = match &parent_row {
            Some(p) => self.fits(p),
            None => true,
        };
        if variations.is_empty() || !parent_ok {
            let why = if parent_ok {
                format!("no variation of {parent_sku} can be created (see its rows); nothing written for it")
            } else {
                format!("its parent's row cannot be written; nothing written for variation of {parent_sku}")
            };
            if let (Some(p), true) = (&parent_row, parent_ok) {
                self.note(p, Action::Invalid, "parent_sku", why);
            } else {
                for (v, _) in &variations {
                    self.note(v, Action::Invalid, "parent_sku", why.clone());
                }
            }
            return None;
        }

        // The parent's attributes: every attribute of its row and its variations, in order of
        // first appearance; the varying ones used for variations.
        let mut parent_attrs: Vec<AttributeValues> = Vec::new();
        let rows_in_order = parent_row.iter().chain(variations.iter().map(|(v, _)| v));
        for row in rows_in_order {
            for a in row.attributes() {
                let at = match parent_attrs.iter().position(|p| name_key(&p.name) == name_key(&a.name)) {
                    Some(at) => at,
                    None => {
                        parent_attrs.push(AttributeValues { name: a.name.clone(), values: Vec::new() });
                        parent_attrs.len() - 1
                    }
                };
                for value in &a.values {
                    if !parent_attrs[at].values.iter().any(|s| name_key(s) == name_key(value)) {
                        parent_attrs[at].values.push(value.clone());
                    }
                }
            }
        }
        let mut product_attrs = rules.attributes.for_product(&parent_attrs).ok()?;
        for (entry, a) in product_attrs.entries.iter_mut().zip(&parent_attrs) {
            entry.is_variation = is_varying(&a.name);
        }
        // The parent's lookup rows are its non-variation taxonomy attributes only.
        let variation_taxonomies: Vec<String> = parent_attrs
            .iter()
            .filter(|a| is_varying(&a.name))
            .filter_map(|a| match rules.attributes.kind(&a.name) {
                Some(AttrKind::Global { taxonomy, .. }) => Some(taxonomy.clone()),
                _ => None,
            })
            .collect();
        product_attrs.lookup.retain(|(taxonomy, _)| !variation_taxonomies.contains(taxonomy));

        // The variations, each as a product first, then made a variation.
        let first = &variations[0].0;
        let source = parent_row.as_ref().unwrap_or(first);
        let title = parent_row.as_ref().and_then(|p| p.name.as_deref()).or(first.name.as_deref()).unwrap_or(&parent_sku).to_string();
        let include_values = varying.len() < 3 && (varying.len() < 2 || !varying.iter().any(|n| self.variation_key(n).contains('-')));
        let mut children: Vec<NewProduct> = Vec::new();
        for (v, own) in &variations {
            let mut values: Vec<VarValue> = Vec::new();
            for (name, value) in own {
                let taxonomy = match rules.attributes.kind(name) {
                    Some(AttrKind::Global { taxonomy, label, .. }) => Some((taxonomy.clone(), label.clone())),
                    _ => None,
                };
                // "Any" value of a global attribute: every value of the parent's.
                let any = match (&taxonomy, value) {
                    (Some((t, _)), None) => parent_attrs
                        .iter()
                        .find(|a| name_key(&a.name) == name_key(name))
                        .map(|a| a.values.iter().filter_map(|v| rules.attributes.term(t, v)).map(|t| t.term_id).collect())
                        .unwrap_or_default(),
                    _ => Vec::new(),
                };
                values.push(VarValue { name: name.clone(), key: self.variation_key(name), taxonomy, value: value.clone(), any });
            }
            if let Some(child) = self.make_variation(v, &parent_sku, &title, &values, include_values, 0) {
                children.push(child);
            }
        }

        // The parent, following its variations.
        let visible: Vec<&NewProduct> = children.iter().filter(|c| !(rules.hide_out_of_stock && c.stock_status == woo::OUTOFSTOCK)).collect();
        let prices = woo::parent_prices(visible.iter().filter_map(|c| c.price));
        let onsale = visible.iter().any(|c| c.sale.is_some() && c.sale == c.price);
        let stock_status = woo::parent_stock_status(children.iter().map(|c| c.stock_status));
        let lookup = LookupValues {
            sku: parent_sku.as_str().into(),
            min_price: woo::lookup_price(prices.first()),
            max_price: woo::lookup_price(prices.last()),
            onsale,
            stock_quantity: None,
            stock_status: stock_status.into(),
        };
        let mut parent_item = source.clone();
        parent_item.sku = parent_sku.as_str().into();
        parent_item.name = Some(title.as_str().into());
        parent_item.regular = None;
        parent_item.sale = crate::model::Sale::Absent;
        parent_item.stock = None;
        if parent_row.is_none() {
            // Texts and the GTIN come only from the parent's own row; the name and categories
            // from the family's first row — and, from a 1C good, its texts and its Ид.
            parent_item.external_id = good.as_deref().map(Into::into);
            parent_item.content = first.content.as_ref().map(|c| {
                let from_good = good.is_some();
                Box::new(crate::model::Content {
                    categories: c.categories.clone(),
                    description: c.description.clone().filter(|_| from_good),
                    short_description: c.short_description.clone().filter(|_| from_good),
                    images: c.images.clone().filter(|_| from_good),
                    image_sizes: c.image_sizes.clone().filter(|_| from_good),
                    ..Default::default()
                })
            });
        }
        if let Some(c) = parent_item.content.as_mut() {
            c.parent_sku = None;
            c.attributes = (!parent_attrs.is_empty()).then(|| parent_attrs.clone());
        }
        let (mut parent, warnings) = plan_create(&parent_item, rules);
        if let Some(p) = &parent_row {
            if p.regular.is_some() || p.stock.is_some() {
                self.notes.push((p.line, ReportRow::note(Action::Warning, &p.sku, "_price", format!(
                    "{} {}: {parent_sku} is a variable product: its prices and stock are its variations'; the row's own are not written",
                    rules.row_word, p.line
                ))));
            }
            self.notes.extend(warnings.into_iter().map(|w| (p.line, w)));
            self.counts.created += 1;
        }
        parent.stock_status = stock_status;
        parent.price = None;
        parent.attributes = Some(Box::new(product_attrs));
        parent.rows.retain(|r| !matches!(r.field.as_str(), "_manage_stock" | "_stock_status" | "_price"));
        if rules.report_rows {
            let at = parent.rows.iter().position(|r| r.field == "_sku").map_or(parent.rows.len(), |i| i + 1);
            parent.rows.insert(at, ReportRow { field: "product_type".into(), new: "variable".into(), ..parent.rows[0].clone() });
            if parent_row.is_none() {
                for r in parent.rows.iter_mut() {
                    r.message = format!("the variable product of {}", variations.iter().map(|(v, _)| v.sku.as_str()).collect::<Vec<_>>().join(", "));
                }
            }
        }
        parent.kind = NewKind::Variable(Box::new(NewParent { from_row: parent_row.is_some(), prices, lookup }));
        let mut creates = vec![parent];
        creates.extend(children);
        Some(creates)
    }

    /// New variations of the variable product `family` the shop has (WooCommerce's admin "add
    /// variation", CATALOGUE.md g4): each row gives a value of the parent's variation attributes
    /// (as its `_product_attributes` says); a value the parent lacks is added to it (the term
    /// related, or a local attribute's options rewritten); a variation alike an existing one, or
    /// another new one, is a conflict. The parent follows its new variations like its others.
    #[allow(clippy::type_complexity)]
    pub(super) fn plan_added(&mut self, family: u64, mut rows: Vec<Item>) -> (Vec<NewProduct>, Option<FamilyExtra>, Vec<(u64, Item)>) {
        let (rules, catalog) = (self.rules, self.catalog);
        rows.sort_by_key(|r| r.line);
        let parent_sku = catalog.product(family).and_then(|p| p.get(crate::model::Key::Sku)).unwrap_or("").to_string();
        let card = rules.parents.get(&family).cloned();
        let entries = match card.as_ref().map(|c| c.entries.clone()) {
            Some(Some(e)) if e.iter().any(|e| e.is_variation) => e,
            found => {
                let why = match found {
                    None => format!("the variable product {family} was not read"),
                    Some(None) => format!("the variable product {family} has a _product_attributes value woosync cannot read"),
                    Some(Some(_)) => format!("the variable product {family} has no attribute used for variations"),
                };
                for r in &rows {
                    self.note(r, Action::Invalid, "parent_sku", format!("{why}; nothing written for it"));
                }
                return (Vec::new(), None, Vec::new());
            }
        };
        let card = card.unwrap_or_default();
        let mut entries = entries;
        let variation_entries: Vec<usize> = (0..entries.len()).filter(|&i| entries[i].is_variation).collect();
        let signature = |values: &[(usize, String)]| {
            let mut parts: Vec<String> = values.iter().map(|(i, v)| format!("{i}={}", name_key(&rawurldecode(v)))).collect();
            parts.sort();
            parts.join("\u{1}")
        };
        // The variations it has: their values of the variation attributes.
        let mut taken: HashMap<String, String> = HashMap::new();
        // Variations made by hand or by another plugin, not linked to a source ID yet.
        let mut unlinked: HashMap<String, u64> = HashMap::new();
        let mut matched: Vec<(u64, Item)> = Vec::new();
        for child in catalog.children.get(&family).into_iter().flatten() {
            let values: Vec<(usize, String)> = variation_entries
                .iter()
                .filter_map(|&i| card.children.iter().find(|(c, k, _)| c == child && *k == entries[i].key).map(|(_, _, v)| (i, v.clone())))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            taken.insert(signature(&values), format!("variation {child}"));
            if catalog.external_id(*child).is_none() && catalog.product(*child).is_some_and(|p| p.is_live()) {
                unlinked.insert(signature(&values), *child);
            }
        }
        let include_values = variation_entries.len() < 3 && (variation_entries.len() < 2 || !variation_entries.iter().any(|&i| entries[i].key.contains('-')));
        let mut extra = FamilyExtra { family, ..FamilyExtra::default() };
        let mut local_changed = false;
        let mut creates = Vec::new();
        for v in rows {
            if !self.fits(&v) {
                continue;
            }
            // The row's value of each of the parent's variation attributes.
            let mut values: Vec<VarValue> = Vec::new();
            let mut own: Vec<(usize, String)> = Vec::new();
            let mut bad = None;
            for &i in &variation_entries {
                let e = &entries[i];
                let given = v.attributes().iter().find(|a| match rules.attributes.kind(&a.name) {
                    Some(AttrKind::Global { taxonomy, .. }) => e.is_taxonomy && *taxonomy == e.name,
                    _ => !e.is_taxonomy && name_key(&a.name) == name_key(&e.name),
                });
                let taxonomy = match given.and_then(|a| rules.attributes.kind(&a.name)) {
                    Some(AttrKind::Global { taxonomy, label, .. }) => Some((taxonomy.clone(), label.clone())),
                    _ if e.is_taxonomy => Some((e.name.clone(), e.name.clone())),
                    _ => None,
                };
                let value = match given.map(|a| a.values.as_slice()) {
                    Some([one]) => Some(one.clone()),
                    Some(many) if many.len() > 1 => {
                        bad = Some((given.map(|a| a.name.clone()).unwrap_or_default(), format!("a variation takes one value; found {}", implode(many))));
                        break;
                    }
                    _ => None,
                };
                let name = given.map(|a| a.name.clone()).unwrap_or_else(|| e.name.clone());
                if let Some(value) = &value {
                    let stored = match &taxonomy {
                        Some((t, _)) => rules.attributes.term(t, value).map(|t| t.slug.clone()).unwrap_or_default(),
                        None => value.clone(),
                    };
                    own.push((i, stored));
                }
                values.push(VarValue { name, key: e.key.clone(), taxonomy, value, any: Vec::new() });
            }
            if let Some((name, why)) = bad {
                self.note(&v, Action::Invalid, &format!("attribute:{name}"), format!("{why}; nothing written for it"));
                continue;
            }
            if own.is_empty() {
                let names: Vec<String> = variation_entries
                    .iter()
                    .map(|&i| match entries[i].is_taxonomy {
                        true => rules.attributes.label_of(&entries[i].name).unwrap_or(&entries[i].name).to_string(),
                        false => entries[i].name.clone(),
                    })
                    .collect();
                self.note(&v, Action::Invalid, "attributes", format!("the variation gives no value of {parent_sku}'s variation attributes ({}); nothing written for it", names.join(", ")));
                continue;
            }
            // A 1C characteristic whose values are an unlinked variation's is that variation.
            if let (Some(_), Some(child)) = (&v.external_id, unlinked.remove(&signature(&own))) {
                taken.insert(signature(&own), format!("variation {child}"));
                matched.push((child, v));
                continue;
            }
            if let Some(other) = taken.get(&signature(&own)) {
                self.note(&v, Action::Conflict, "attributes", format!("{parent_sku} has {other} with the same attribute values; nothing written for it"));
                continue;
            }
            let Some(child) = self.make_variation(&v, &parent_sku, &card.title, &values, include_values, family) else { continue };
            taken.insert(signature(&own), format!("the variation of {} {}", rules.row_word, v.line));
            // Values the parent lacks are added to it.
            let gained = |name: &str, old: String, new: String| ReportRow {
                action: Action::Update,
                sku: parent_sku.clone(),
                product_id: Some(family),
                post_type: "product",
                field: format!("attribute:{name}"),
                old,
                new,
                message: "a value of its new variation".into(),
            };
            for x in &values {
                let Some(value) = &x.value else { continue };
                match &x.taxonomy {
                    Some((t, _)) => {
                        if let Some(term) = rules.attributes.term(t, value) {
                            if !card.terms.contains(&term.tt_id) && !extra.add_terms.contains(&term.tt_id) {
                                extra.add_terms.push(term.tt_id);
                                extra.rows.push(gained(&x.name, String::new(), value.clone()));
                            }
                        }
                    }
                    None => {
                        if let Some(e) = entries.iter_mut().find(|e| e.key == x.key) {
                            let mut options: Vec<String> = e.value.split('|').map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect();
                            if !options.iter().any(|o| name_key(o) == name_key(value)) {
                                let old = e.value.clone();
                                options.push(value.clone());
                                e.value = implode(&options);
                                local_changed = true;
                                extra.rows.push(gained(&x.name, old, e.value.clone()));
                            }
                        }
                    }
                }
            }
            extra.children.push((child.price, child.stock_status));
            creates.push(child);
        }
        if local_changed {
            let value: compact_str::CompactString = crate::woo::attributes::product_attributes(&entries).into();
            extra.ops.push(match card.attributes_meta {
                Some(id) => MetaOp::Set { key: "_product_attributes", ids: smallvec::smallvec![id], value },
                None => MetaOp::Insert { key: "_product_attributes", value: Some(value) },
            });
        }
        if !rules.report_rows {
            extra.rows.clear();
        }
        let extra = (!extra.children.is_empty()).then_some(extra);
        (creates, extra, matched)
    }

    /// A variation as WooCommerce creates it from its row and its variation attributes' values:
    /// title, summary, `attribute_*` meta, lookup rows, and a SKU from `[sync] variation_sku`
    /// when it has none. `None` (reported) when its made SKU is taken. `parent`: an existing
    /// parent's ID, or 0 for the variable product created before it in its unit.
    fn make_variation(&mut self, v: &Item, parent_sku: &str, parent_title: &str, values: &[VarValue], include_values: bool, parent: u64) -> Option<NewProduct> {
        let rules = self.rules;
        let (mut child, warnings) = plan_create(v, rules);
        self.notes.extend(warnings.into_iter().filter(|w| w.field != "post_title").map(|w| (v.line, w)));
        let mut shown: Vec<String> = Vec::new();
        let mut summary: Vec<String> = Vec::new();
        let mut meta: Vec<(String, String)> = Vec::new();
        let mut lookup: Vec<(String, u64)> = Vec::new();
        for x in values {
            match (&x.taxonomy, &x.value) {
                (Some((taxonomy, label)), Some(value)) => {
                    let Some(term) = rules.attributes.term(taxonomy, value) else {
                        self.note(v, Action::Invalid, &format!("attribute:{}", x.name), format!("value {value} of attribute {} has no term in the shop; nothing written for it", x.name));
                        return None;
                    };
                    // WooCommerce finds the term only when the key is the taxonomy itself (an ASCII slug).
                    let display = if x.key == *taxonomy { term.name.clone() } else { rawurldecode(&term.slug) };
                    let label = if x.key == *taxonomy { label.clone() } else { taxonomy.clone() };
                    summary.push(format!("{label}: {display}"));
                    shown.push(display);
                    meta.push((format!("attribute_{}", x.key), term.slug.clone()));
                    lookup.push((taxonomy.clone(), term.term_id));
                }
                (Some((taxonomy, _)), None) => lookup.extend(x.any.iter().map(|t| (taxonomy.clone(), *t))),
                (None, Some(value)) => {
                    let display = rawurldecode(value);
                    summary.push(format!("{}: {display}", x.name));
                    shown.push(display);
                    meta.push((format!("attribute_{}", x.key), value.clone()));
                }
                (None, None) => {}
            }
        }
        child.title = if include_values && !shown.is_empty() { format!("{parent_title} - {}", shown.join(", ")) } else { parent_title.to_string() };
        child.categories = Vec::new();
        child.attributes = None;
        for row in child.rows.iter_mut() {
            row.post_type = "product_variation";
            if row.field == "post_title" {
                row.new = child.title.clone();
            }
            if row.field == "post_status" {
                row.new = "publish".into();
            }
        }
        child.rows.retain(|r| r.field != "categories");
        let content = child.content.take().map(|mut c| {
            // A 1C good's pictures are its variable product's, not each characteristic's.
            if c.parent_id.is_some() {
                (c.images, c.image_sizes) = (None, None);
            }
            c.description = None;
            c.short_description = None;
            c.categories = None;
            c.attributes = None;
            c.parent_sku = None;
            c.parent_id = None;
            c
        });
        child.content = content.filter(|c| !c.is_empty());
        if child.content.as_ref().is_none_or(|c| c.images.is_none()) {
            child.rows.retain(|r| r.field != "images");
        }
        if child.sku.is_empty() {
            if let Some(template) = &rules.variation_sku {
                let parts: Vec<String> = values.iter().filter_map(|x| x.value.as_deref().map(sku_slug)).collect();
                let sku = template.replace("{parent_sku}", parent_sku).replace("{values}", &parts.join("-"));
                let key = crate::model::sku_key(&sku);
                if let Some(owner) = self.owners.owners(&key) {
                    let ids = owner.ids().iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
                    self.note(v, Action::Conflict, "_sku", format!("the variation's SKU {sku} ([sync] variation_sku) belongs to product {ids}; nothing written for it"));
                    return None;
                }
                if self.facts.has_sku(&key) {
                    self.note(v, Action::Conflict, "_sku", format!("the variation's SKU {sku} ([sync] variation_sku) is the SKU of another row of the feed; nothing written for it"));
                    return None;
                }
                if !self.generated_skus.insert(key) {
                    self.note(v, Action::Conflict, "_sku", format!("the variation's SKU {sku} ([sync] variation_sku) is made for another variation too; nothing written for it"));
                    return None;
                }
                for row in child.rows.iter_mut() {
                    row.sku = sku.clone();
                }
                if let Some(at) = child.rows.iter().position(|r| r.field == "_sku") {
                    child.rows[at].new = sku.clone();
                }
                child.sku = sku;
            }
        }
        child.kind = NewKind::Variation(Box::new(NewVariation { excerpt: summary.join(", "), attributes: meta, lookup, parent }));
        self.counts.created += 1;
        Some(child)
    }

    /// The key of a variation attribute in `_product_attributes` and after `attribute_`.
    fn variation_key(&self, name: &str) -> String {
        match self.rules.attributes.kind(name) {
            Some(AttrKind::Global { key, .. }) | Some(AttrKind::Local { key }) => key.clone(),
            _ => attribute_key(name),
        }
    }
}

/// One variation attribute's value on a variation being made.
struct VarValue {
    /// The attribute's name as the feed gives it.
    name: String,
    /// Its key in `_product_attributes` (and after `attribute_`).
    key: String,
    /// (taxonomy, label) of a global attribute.
    taxonomy: Option<(String, String)>,
    /// `None`: "any" value.
    value: Option<String>,
    /// Term IDs of every value an "any" global attribute stands for.
    any: Vec<u64>,
}

/// A value as part of a SKU: lower case, letters and digits kept, anything else one `-`.
fn sku_slug(value: &str) -> String {
    let mut out = String::new();
    for c in value.trim().to_lowercase().chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// PHP's `rawurldecode()`: `%xx` octets decoded (`+` kept).
fn rawurldecode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}
