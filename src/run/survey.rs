//! The survey: one look at the whole frozen feed before anything is written. It finds where
//! each variable family's rows end (so the planner can close families early), tallies what the
//! feed would do for the safety guard (and refuses a feed that looks broken), and, with
//! `missing = "zero_stock"`, finds the products this source synced before that the feed no
//! longer names.

use std::collections::HashSet;

use super::{Mode, Pass, Run};
use crate::catalog::{self, Catalog, SkuOwners};
use crate::error::{Error, Result};
use crate::input::Input;
use crate::model::{Item, Key};
use crate::report::{Action, ReportRow};
use crate::{guard, journal, plan};

/// What the survey hands on.
pub(super) struct Surveyed {
    /// Products the feed matches that this source had not synced before.
    pub seen: Vec<u64>,
    /// Where each variable family's last feed row is.
    pub ends: plan::FamilyEnds,
    /// Items setting the stock of products missing from the feed to 0 (planned after the feed).
    pub missing: Vec<Item>,
    /// Every category path the feed names, once each, in feed order.
    pub paths: Vec<crate::model::CategoryPath>,
    /// Every attribute the new products' rows give, with its values, once each, in feed order.
    pub attributes: Vec<crate::model::AttributeValues>,
    /// Where each new variable family's last row is (by the print of its parent's SKU key).
    pub new_family_ends: std::collections::HashMap<u128, u64>,
    /// Variable products the feed adds variations to.
    pub added_parents: Vec<u64>,
}

/// Surveys the feed's blocks (read on the run's own connection) and judges it by the guard.
pub(super) async fn survey(run: &mut Run<'_>, catalog: &Catalog, input: &mut Input, pass: &Pass) -> Result<Surveyed> {
    let zero_missing = run.settings.zero_missing && pass.mode != Mode::Doctor;
    let known = match zero_missing {
        true => Some(journal::load_seen(&mut run.conn, &run.shop.prefix, &journal::source_key(run.settings)).await?),
        false => None,
    };
    let mut survey = Survey::new(catalog, known);
    survey.every_path = run.settings.update_content.categories;
    survey.every_attribute = run.settings.update_content.attributes;
    survey.parent_keys = input.facts.parent_keys.clone();
    for no in 0..input.blocks() {
        let items = input.block(Some(&mut run.conn), no, false).await?;
        survey.look(&items);
    }
    let mut missing = Vec::new();
    if zero_missing {
        missing = survey.missing();
        survey.look(&missing);
        if !missing.is_empty() {
            tracing::info!("{} products this source synced before are missing from the feed: their stock goes to 0", missing.len());
        }
    }
    if let Mode::Fresh { force } = pass.mode {
        judge(run, pass, &survey.tally, input.items, force).await?;
    }
    Ok(Surveyed { seen: survey.seen, ends: survey.ends, missing, paths: survey.paths, attributes: survey.attributes, new_family_ends: survey.new_family_ends, added_parents: survey.added_parents })
}

/// The safety guard's verdict on a fresh run: a real run it refuses is recorded as failed and
/// writes nothing (unless forced); a dry or forced run says what the guard saw.
async fn judge(run: &mut Run<'_>, pass: &Pass, tally: &guard::Tally, items: usize, force: bool) -> Result<()> {
    let last = journal::last_success_items(&mut run.conn, &run.shop.prefix, pass.run_id).await?;
    let reasons = guard::assess(tally, items, last, &run.settings.guard);
    if reasons.is_empty() {
        return Ok(());
    }
    let verdict = reasons.join("; ");
    if let (Some(run_id), false) = (pass.run_id, force) {
        let message = format!("{verdict}. Nothing was written; check the feed, or run with --force if the change is real");
        journal::set_state(&mut run.conn, &run.shop.prefix, run_id, "failed", Some(&message)).await?;
        run.report.finish()?;
        return Err(Error::Guard(message));
    }
    let what = if force { "forced past the safety guard" } else { "a real run would be refused by the safety guard" };
    tracing::warn!("{what}: {verdict}");
    run.report.rows(&[ReportRow::note(Action::Warning, "", "guard", format!("{what}: {verdict}"))])?;
    Ok(())
}

/// One look at the whole feed before anything is written: the safety guard's tally, and which
/// products the feed reaches — for the missing-items pass (`missing = "zero_stock"`).
struct Survey<'a> {
    catalog: &'a Catalog,
    index: catalog::SkuIndex<'a>,
    externals: catalog::ExternalIndex<'a>,
    /// Products this source synced before; `None` unless `missing = "zero_stock"`.
    known: Option<HashSet<u64>>,
    /// Products the feed reaches: matched by external ID or SKU, or holding a SKU the feed names.
    reached: Vec<u64>,
    /// Products the feed matches that this source had not synced before.
    seen: Vec<u64>,
    tally: guard::Tally,
    ends: plan::FamilyEnds,
    /// Rows looked at so far.
    position: u64,
    paths: Vec<crate::model::CategoryPath>,
    known_paths: HashSet<crate::model::CategoryPath>,
    /// Collect the paths of rows for existing products too (`update_content` has categories);
    /// else only new products' paths matter.
    every_path: bool,
    attributes: Vec<crate::model::AttributeValues>,
    /// Collect the attributes of rows for existing products too (`update_content` has attributes).
    every_attribute: bool,
    /// (attribute key, value key) pairs already in `attributes`.
    known_values: HashSet<(String, String)>,
    /// Where each attribute (by name key) is in `attributes`.
    attribute_at: std::collections::HashMap<String, usize>,
    /// The SKUs rows name as their parents (prints of their keys).
    parent_keys: HashSet<u128>,
    new_family_ends: std::collections::HashMap<u128, u64>,
    added_parents: Vec<u64>,
}

impl<'a> Survey<'a> {
    fn new(catalog: &'a Catalog, known: Option<HashSet<u64>>) -> Survey<'a> {
        Survey {
            catalog,
            index: catalog.sku_index(),
            externals: catalog.external_index(),
            known,
            reached: Vec::new(),
            seen: Vec::new(),
            tally: Default::default(),
            ends: Default::default(),
            position: 0,
            paths: Vec::new(),
            known_paths: HashSet::new(),
            every_path: false,
            attributes: Vec::new(),
            every_attribute: false,
            known_values: HashSet::new(),
            attribute_at: Default::default(),
            parent_keys: HashSet::new(),
            new_family_ends: Default::default(),
            added_parents: Vec::new(),
        }
    }

    fn look(&mut self, items: &[Item]) {
        for item in items {
            let position = self.position;
            self.position += 1;
            let key = item.key();
            let by_sku = self.index.owners(&key);
            let by_external = item.external_id.as_deref().and_then(|x| self.externals.owners(x));
            if self.every_attribute || (by_sku.is_none() && by_external.is_none()) {
                self.add_attributes(item);
            }
            if let Some(family) = plan::family_key(item, &self.parent_keys) {
                match self.index.owners(&family) {
                    None => {
                        self.new_family_ends.insert(plan::text_print(&family), position);
                    }
                    // A new variation of a variable product the shop has: its family ends here at the earliest.
                    Some(SkuOwners::One(parent)) if item.parent_sku().is_some() && by_sku.is_none() && by_external.is_none() => {
                        if self.catalog.product(parent).is_some_and(|p| p.kind == catalog::Kind::Variable) {
                            self.ends.insert(parent, position);
                            if !self.added_parents.contains(&parent) {
                                self.added_parents.push(parent);
                            }
                        }
                    }
                    _ => {}
                }
            }
            if self.every_path || (by_sku.is_none() && by_external.is_none()) {
                for path in item.categories() {
                    if !self.known_paths.contains(path) {
                        self.known_paths.insert(path.clone());
                        self.paths.push(path.clone());
                    }
                }
            }
            // Every product the row may be planned against: its family ends here at the earliest.
            for &id in by_sku.iter().chain(&by_external).flat_map(SkuOwners::ids) {
                if let Some(family) = self.catalog.product(id).and_then(plan::family_of) {
                    self.ends.insert(family, position);
                }
            }
            self.tally.add(item, by_sku.as_ref(), self.catalog);
            let Some(known) = self.known.as_ref().filter(|_| !item.missing) else { continue };
            if let Some(SkuOwners::One(id)) = by_external.or_else(|| by_sku.clone()) {
                if !known.contains(&id) {
                    self.seen.push(id);
                }
                self.reached.push(id);
            }
            self.reached.extend(by_sku.iter().flat_map(SkuOwners::ids));
        }
    }

    /// Adds a row's attributes and values not seen yet.
    fn add_attributes(&mut self, item: &Item) {
        use crate::woo::terms::name_key;
        for a in item.attributes() {
            let key = name_key(&a.name);
            let at = match self.attribute_at.get(&key) {
                Some(&at) => at,
                None => {
                    self.attributes.push(crate::model::AttributeValues { name: a.name.clone(), values: Vec::new() });
                    self.attribute_at.insert(key.clone(), self.attributes.len() - 1);
                    self.attributes.len() - 1
                }
            };
            for v in &a.values {
                if self.known_values.insert((key.clone(), name_key(v))) {
                    self.attributes[at].values.push(v.clone());
                }
            }
        }
    }

    /// Products this source synced before that are live, still have their SKU and that the
    /// feed no longer reaches: one item each setting stock to 0. Products without stock of
    /// their own are left out.
    fn missing(&mut self) -> Vec<Item> {
        self.reached.sort_unstable();
        self.reached.dedup();
        let known = self.known.iter().flatten().copied();
        let mut ids: Vec<u64> = known.filter(|id| self.reached.binary_search(id).is_err()).collect();
        ids.sort_unstable();
        ids.into_iter()
            .filter_map(|id| self.catalog.product(id))
            .filter(|p| p.is_live())
            .filter(|p| p.takes_stock())
            .filter_map(|p| {
                let sku = p.get(Key::Sku)?.trim();
                (!sku.is_empty()).then(|| Item {
                    line: 0,
                    sku: sku.into(),
                    name: None,
                    regular: None,
                    sale: crate::model::Sale::Absent,
                    stock: Some(0),
                    external_id: None,
                    content: None,
                    notes: Vec::new(),
                    missing: true,
                })
            })
            .collect()
    }
}
