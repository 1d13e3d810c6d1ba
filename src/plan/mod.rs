//! The pure diff: frozen feed items + a snapshot of the shop → units of writes ([`Planner`]).
//!
//! Invariants: the planner never touches the database; the same inputs give the same plan
//! (units in feed order); a product whose values are already right gets no write at all;
//! writes set values, never deltas, so re-applying a plan after a crash is harmless.
//! Units group a variable parent with its variations so a chunk always commits a whole family.

pub mod attributes;
pub mod categories;
mod family;
mod parent;
pub mod pictures;

use std::collections::HashMap;

use compact_str::CompactString;

use crate::catalog::{sku_hash, Catalog, Kind, PostType, Product, SkuOwners};
use crate::config::ContentPolicy;
use crate::model::Key;
use crate::model::{Item, Money, Rejection, Sale};
use crate::report::{Action, Counts, ReportRow};
use crate::woo::{self, LookupValues};

/// Shop settings that change the rules, and the clock.
#[derive(Debug, Clone)]
pub struct Rules {
    pub notify_no_stock_amount: i64,
    pub hide_out_of_stock: bool,
    pub now_unix: i64,
    pub new_status: String,
    /// Build the per-field report rows of creates and updates (only when a report is written:
    /// at 100k changes they are the largest thing a run holds).
    pub report_rows: bool,
    /// How the source counts rows in messages ("line", "row", "item", "offer").
    pub row_word: &'static str,
    /// The meta key linking a product to the source's external ID.
    pub external_id_meta: &'static str,
    /// Recompute derived values (`_price`) even when the inputs did not change: `woosync doctor`.
    pub rederive: bool,
    /// The feed's categories as terms of the shop's tree (empty when the feed names none).
    pub categories: std::sync::Arc<categories::Categories>,
    /// `[sync] update_content`: the card fields kept in step on existing products.
    pub content: ContentPolicy,
    /// The variable products that get new variations, as the shop holds them.
    pub parents: std::sync::Arc<HashMap<u64, crate::catalog::attributes::ParentCard>>,
    /// `[sync] variation_sku`: the SKU template of variations created without one.
    pub variation_sku: Option<String>,
    /// The feed's attributes as the shop holds them (empty when the feed gives none).
    pub attributes: std::sync::Arc<attributes::Attributes>,
    /// `[source.meta]`: the post meta keys the feed fills, in order.
    pub meta: std::sync::Arc<Vec<crate::config::MetaField>>,
}

/// The meta_ids of one key's rows: nearly always one, so kept inline.
pub type MetaIds = smallvec::SmallVec<[u64; 1]>;

/// One meta write. Values are the exact strings stored.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaOp {
    /// Set every existing row of the key (by meta_id) to the value.
    Set { key: &'static str, ids: MetaIds, value: CompactString },
    /// Add a row (a key the product lacks, or one of a parent's `_price` rows).
    Insert { key: &'static str, value: Option<CompactString> },
    /// Delete rows by meta_id.
    Delete { key: &'static str, ids: MetaIds },
}

impl MetaOp {
    pub fn key(&self) -> &'static str {
        match self {
            MetaOp::Set { key, .. } | MetaOp::Insert { key, .. } | MetaOp::Delete { key, .. } => key,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermChange {
    Add,
    Remove,
}

/// The writes for one existing product or variation (or a re-synced variable parent).
#[derive(Debug, Clone)]
pub struct Update {
    pub id: u64,
    pub sku: String,
    pub post_type: PostType,
    /// The variable parent of a variation, else 0.
    pub parent: u64,
    pub published: bool,
    pub ops: Vec<MetaOp>,
    /// The lookup row to upsert (`missing` when the shop has none for this product).
    pub lookup: Option<(LookupValues, bool)>,
    pub term: Option<TermChange>,
    /// `post_modified` is set (WooCommerce touches every product it saves).
    pub touch: bool,
    /// The product's categories change (`update_content` has `categories`).
    pub categories: Option<Box<CategoryMove>>,
    /// Its title, texts or GTIN change (`update_content`).
    pub post: Option<Box<PostChange>>,
    /// Its pictures are made ready again and put on it (`update_content` has `images`).
    pub pictures: Option<Box<pictures::PictureChange>>,
    pub rows: Vec<ReportRow>,
    /// A variable parent whose prices/stock status follow its variations.
    pub resynced_parent: bool,
    /// term_taxonomy IDs of attribute terms the product joins (a parent gaining a new
    /// variation's value, attributes kept in step).
    pub add_terms: Vec<u64>,
    /// ... and leaves (attributes kept in step), with its attribute lookup rows renewed.
    pub attributes: Option<Box<AttributeChange>>,
    /// The feed row the update was planned from (`None` for a re-synced parent), to plan it
    /// again if the product changes before its chunk commits.
    pub row: Option<Box<FeedRow>>,
}

/// A product's attributes as `update_content` changes them (beyond `_product_attributes`, which
/// is an op): the terms it leaves, and its attribute lookup rows for the taxonomies that changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttributeChange {
    pub remove_terms: Vec<u64>,
    /// Taxonomies whose lookup rows are replaced by `lookup`.
    pub taxonomies: Vec<String>,
    /// (taxonomy, term ID) rows, `is_variation_attribute` 0.
    pub lookup: Vec<(String, u64)>,
    pub in_stock: bool,
}

/// A product's card as `update_content` changes it. `None` fields stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostChange {
    pub title: Option<String>,
    pub content: Option<String>,
    pub excerpt: Option<String>,
    /// `_global_unique_id` (and the lookup's column).
    pub gtin: Option<String>,
    /// The title it had: a variable parent's variations have it replaced in theirs
    /// (`WC_Product_Variable_Data_Store_CPT::sync_variation_names()`).
    pub old_title: Option<String>,
    /// Those variations (their cached posts go too).
    pub children: Vec<u64>,
}

/// A product's categories as they change: `wp_set_object_terms()` with the feed's leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryMove {
    /// (term ID, term_taxonomy ID) of the categories it joins.
    pub add: Vec<(u64, u64)>,
    /// ... and of those it leaves.
    pub remove: Vec<(u64, u64)>,
}

/// A feed row as matched to its product: what [`replan`] needs to plan the product again.
#[derive(Debug, Clone)]
pub struct FeedRow {
    pub item: Item,
    pub change_sku: bool,
    pub link: bool,
    /// The product's `_stock` when the run read the shop (to tell a user an order moved it).
    pub stock_then: Option<CompactString>,
}

/// A product to create, with every value WooCommerce would write for it.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub sku: String,
    /// The feed row it comes from (its line, row or offer number).
    pub line: u64,
    pub title: String,
    pub regular: Option<Money>,
    pub sale: Option<Money>,
    pub price: Option<Money>,
    pub stock: Option<i64>,
    pub stock_status: &'static str,
    /// Stored under `Rules::external_id_meta` after WooCommerce's own rows.
    pub external_id: Option<String>,
    /// Description, short description and GTIN, when the feed gives any.
    pub content: Option<Box<crate::model::Content>>,
    /// (term ID, term_taxonomy ID) of its categories; none: the shop's default category.
    pub categories: Vec<(u64, u64)>,
    /// Its attributes (`_product_attributes`, terms, lookup rows), when the feed gives any.
    pub attributes: Option<Box<attributes::ProductAttributes>>,
    /// A simple product, a variable parent, or a variation of one.
    pub kind: NewKind,
    pub rows: Vec<ReportRow>,
}

/// What kind of product a create makes.
#[derive(Debug, Clone, Default)]
pub enum NewKind {
    #[default]
    Simple,
    /// A variable parent, created in the same unit as its variations (which follow it).
    Variable(Box<NewParent>),
    /// A variation of the variable parent created in the same unit.
    Variation(Box<NewVariation>),
}

/// What a new variable parent takes from its variations (`WC_Product_Variable::sync()`).
#[derive(Debug, Clone)]
pub struct NewParent {
    /// A feed row names it; else its name came from its family's first row (not a feed item).
    pub from_row: bool,
    /// Its `_price` rows: the distinct prices of its visible variations, ascending.
    pub prices: Vec<Money>,
    pub lookup: LookupValues,
}

/// A new variation's own values beyond a product's.
#[derive(Debug, Clone)]
pub struct NewVariation {
    /// `post_excerpt`: `Размер: 42`.
    pub excerpt: String,
    /// Its `attribute_*` meta: (key, value), in the parent's attribute order.
    pub attributes: Vec<(String, String)>,
    /// (taxonomy, term ID) of its attribute lookup rows.
    pub lookup: Vec<(String, u64)>,
    /// The existing variable product it is added to; 0: the one created before it in its unit.
    pub parent: u64,
}

impl NewProduct {
    /// Whether a feed row asked for it (a parent made from its family's first row did not).
    pub fn from_row(&self) -> bool {
        !matches!(&self.kind, NewKind::Variable(p) if !p.from_row)
    }

    pub fn post_type(&self) -> &'static str {
        match self.kind {
            NewKind::Variation(_) => "product_variation",
            _ => "product",
        }
    }
}

/// What an existing variable parent gains with new variations: their prices and stock statuses
/// (it follows them like its other variations), and its own writes (new attribute terms, a
/// rewritten `_product_attributes`, report rows).
#[derive(Debug, Clone, Default)]
pub struct FamilyExtra {
    pub family: u64,
    pub children: Vec<(Option<Money>, &'static str)>,
    pub ops: Vec<MetaOp>,
    pub add_terms: Vec<u64>,
    pub rows: Vec<ReportRow>,
}

/// What commits together: one product, or a variable parent with its variations.
#[derive(Debug, Clone, Default)]
pub struct Unit {
    pub creates: Vec<NewProduct>,
    pub updates: Vec<Update>,
    /// New variations of an existing parent: what its re-sync must count in (kept to plan the
    /// unit again).
    pub extra: Option<Box<FamilyExtra>>,
    /// Every product the updates were planned from (a family: the parent and all its
    /// variations), as the plan saw it. The writer compares them with the rows at commit and
    /// plans the unit again where they differ.
    pub deps: Vec<Dep>,
}

/// A product a unit's plan depends on: its [`Catalog::stock_print`] and the rows it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    pub id: u64,
    pub print: u64,
    pub rows: Vec<u64>,
}

impl Unit {
    /// Updates planned from `catalog`, with the products they depend on and their prints.
    fn of_updates(updates: Vec<Update>, catalog: &Catalog) -> Unit {
        let mut ids = Vec::new();
        for u in &updates {
            ids.push(u.id);
            let family = if u.resynced_parent { u.id } else { u.parent };
            if family != 0 {
                ids.push(family);
                ids.extend(catalog.children.get(&family).into_iter().flatten());
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let deps = ids.into_iter().map(|id| Dep { id, print: catalog.stock_print(id).unwrap_or(0), rows: catalog.stock_rows(id) }).collect();
        Unit { creates: Vec::new(), updates, deps, extra: None }
    }

    /// Feed items this unit counts for (a re-synced parent is a consequence, not an item).
    pub fn items(&self) -> usize {
        self.creates.iter().filter(|c| c.from_row()).count() + self.updates.iter().filter(|u| !u.resynced_parent).count()
    }

    /// The report's `invalid` rows for a unit the database refused to write: one per feed item
    /// (a family is refused whole, its variations and their parent stay as they were).
    pub fn refused(&self, message: &str) -> Vec<ReportRow> {
        let created = self.creates.iter().filter(|c| c.from_row()).map(|c| (c.sku.as_str(), None, c.post_type()));
        let updated = self.updates.iter().filter(|u| !u.resynced_parent).map(|u| (u.sku.as_str(), Some(u.id), post_type_name(u.post_type)));
        created
            .chain(updated)
            .map(|(sku, product_id, post_type)| ReportRow { product_id, post_type, ..ReportRow::note(Action::Invalid, sku, "row", message.to_string()) })
            .collect()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub units: Vec<Unit>,
    /// Conflicts, invalid rows and warnings, in feed order.
    pub notes: Vec<ReportRow>,
    pub counts: Counts,
}

/// The values a product will hold after the plan, starting from what it holds now.
#[derive(Debug, Clone)]
struct Final {
    /// The SKU when the source changed it (a product matched by external ID).
    sku: Option<String>,
    prices: Vec<Money>,
    sale: Option<Money>,
    managed_qty: Option<i64>,
    status: String,
}

impl Final {
    fn of(p: &Product, catalog: &Catalog) -> Final {
        let prices = catalog.rows(p.id, Key::Price).iter().filter_map(|r| r.value.as_deref().and_then(Money::from_stored)).collect();
        Final {
            sku: None,
            prices,
            sale: p.money(Key::SalePrice),
            managed_qty: if p.manages_stock() { Some(stock_amount(p.get(Key::Stock))) } else { None },
            status: p.get(Key::StockStatus).unwrap_or(woo::INSTOCK).to_string(),
        }
    }
}

/// `wc_stock_amount()`: the integer part of a stored stock value.
pub(crate) fn stock_amount(v: Option<&str>) -> i64 {
    v.and_then(|s| s.trim().parse::<f64>().ok()).map(|f| f.trunc() as i64).unwrap_or(0)
}

fn post_type_name(t: PostType) -> &'static str {
    match t {
        PostType::Product => "product",
        PostType::Variation => "product_variation",
    }
}

struct Draft {
    update: Update,
    fin: Final,
    counts_as_item: bool,
}

/// The whole plan at once (tests and small feeds): a [`Planner`] given every row in one block.
pub fn build(items: &[Item], rejections: &[Rejection], catalog: &Catalog, rules: &Rules) -> Plan {
    let mut units = Vec::new();
    let mut facts = FactsBuilder::default();
    items.iter().for_each(|i| facts.add(i));
    rejections.iter().for_each(|r| facts.add_rejected(r));
    let facts = facts.finish();
    let mut planner = Planner::new(catalog, rules, &facts);
    planner.count_rejections(rejections.len());
    let mut emit = |unit| {
        units.push(unit);
        true
    };
    planner.plan(items, &mut emit);
    let (notes, counts) = planner.finish(&mut emit);
    let mut all = rejection_rows(rejections);
    all.extend(notes);
    Plan { units, notes: all, counts }
}

/// Report rows of the rows normalisation rejected, in feed order.
pub fn rejection_rows(rejections: &[Rejection]) -> Vec<ReportRow> {
    rejections
        .iter()
        .map(|r| ReportRow::note(Action::Invalid, &r.sku, &r.field, format!("{}: {}", r.location, r.message)))
        .collect()
}

/// Warning rows of the feed rows skipped as totals, in feed order.
pub fn skip_rows(skipped: &[crate::model::Skipped]) -> Vec<ReportRow> {
    skipped
        .iter()
        .filter_map(|s| Some(ReportRow::note(Action::Warning, &s.sku, "row", format!("{}: {}", s.location, s.warning.as_deref()?))))
        .collect()
}

/// A 128-bit print of a SKU key or external ID: what the whole-feed facts keep instead of the
/// text (two different texts with the same print are not a practical concern).
pub fn text_print(text: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (0x5eed_u16, text).hash(&mut h);
    (u128::from(sku_hash(text)) << 64) | u128::from(h.finish())
}

/// What the planner must know of the whole feed before its first row: the SKUs and external IDs
/// given to more than one row (with those rows), which are conflicts wherever they appear.
#[derive(Debug, Default, Clone)]
pub struct FeedFacts {
    repeated_skus: HashMap<u128, Vec<u64>>,
    repeated_externals: HashMap<u128, Vec<u64>>,
    /// GTINs on more than one row: a conflict for every copy that would write it.
    repeated_gtins: HashMap<u128, Vec<u64>>,
    /// Whether any row gives a GTIN (the shop's GTINs are read only then).
    pub has_gtins: bool,
    /// Which card fields any row gives (the shop's are read only for those): categories,
    /// name, description, short description, attributes.
    gives: ContentPolicy,
    /// The parent SKUs rows name (prints of their keys): a row with one of these SKUs is a
    /// variable family's parent.
    pub parent_keys: std::collections::HashSet<u128>,
    /// The lines among `repeated_skus` that normalisation rejected (they still make the SKU repeated).
    rejected_copies: std::collections::HashSet<u64>,
    /// Every SKU print of the feed, sorted, when some row is a variation without a SKU of its
    /// own (`[sync] variation_sku` must not make one another row holds); else empty.
    feed_skus: Vec<u128>,
}

/// Collects [`FeedFacts`] as the feed streams by: 48 bytes a row until [`FactsBuilder::finish`].
#[derive(Debug, Default)]
pub struct FactsBuilder {
    skus: Vec<(u128, u64)>,
    externals: Vec<(u128, u64)>,
    gtins: Vec<(u128, u64)>,
    rejected: Vec<u64>,
    gives: ContentPolicy,
    parents: std::collections::HashSet<u128>,
    skuless_variations: bool,
}

impl FactsBuilder {
    pub fn add(&mut self, item: &Item) {
        // A variation of a 1C good may have no SKU of its own.
        let key = item.key();
        if !key.is_empty() {
            self.skus.push((text_print(&key), item.line));
        } else if item.parent_sku().is_some() {
            self.skuless_variations = true;
        }
        if let Some(x) = item.external_id.as_deref() {
            self.externals.push((text_print(x), item.line));
        }
        if let Some(g) = item.gtin() {
            self.gtins.push((text_print(g), item.line));
        }
        let gives = &mut self.gives;
        gives.categories |= !item.categories().is_empty();
        gives.name |= item.name.is_some();
        gives.attributes |= !item.attributes().is_empty();
        gives.images |= !item.images().is_empty();
        if let Some(c) = item.content.as_deref() {
            gives.description |= c.description.is_some();
            gives.short_description |= c.short_description.is_some();
        }
        if let Some(parent) = item.parent_sku() {
            self.parents.insert(text_print(&crate::model::sku_key(parent)));
        }
    }

    /// A rejected row with a SKU: another row with that SKU is a conflict all the same (which
    /// copy the ERP meant is not known).
    pub fn add_rejected(&mut self, r: &Rejection) {
        let key = crate::model::sku_key(&r.sku);
        if !key.is_empty() {
            self.skus.push((text_print(&key), r.line));
            self.rejected.push(r.line);
        }
    }

    pub fn finish(self) -> FeedFacts {
        fn repeated(mut pairs: Vec<(u128, u64)>) -> HashMap<u128, Vec<u64>> {
            pairs.sort_unstable();
            pairs
                .chunk_by(|a, b| a.0 == b.0)
                .filter(|run| run.len() > 1)
                .map(|run| (run[0].0, run.iter().map(|p| p.1).collect()))
                .collect()
        }
        let mut skus = self.skus;
        skus.sort_unstable();
        let mut feed_skus: Vec<u128> = if self.skuless_variations { skus.iter().map(|(print, _)| *print).collect() } else { Vec::new() };
        feed_skus.dedup();
        let repeated_skus = repeated(skus);
        let rejected: std::collections::HashSet<u64> = self.rejected.into_iter().collect();
        let rejected_copies = repeated_skus.values().flatten().copied().filter(|l| rejected.contains(l)).collect();
        let has_gtins = !self.gtins.is_empty();
        FeedFacts {
            repeated_skus,
            repeated_externals: repeated(self.externals),
            repeated_gtins: repeated(self.gtins),
            has_gtins,
            gives: self.gives,
            parent_keys: self.parents,
            rejected_copies,
            feed_skus,
        }
    }
}

impl FeedFacts {
    /// Whether a row of the feed has this SKU key (known only when the feed has variations
    /// without a SKU of their own: see `feed_skus`).
    pub fn has_sku(&self, key: &str) -> bool {
        self.feed_skus.binary_search(&text_print(key)).is_ok()
    }

    /// The card fields to read of every product in the shop: those `update_content` keeps in
    /// step that some row gives (an absent column costs nothing).
    pub fn card_reads(&self, policy: &ContentPolicy) -> ContentPolicy {
        let g = &self.gives;
        ContentPolicy {
            categories: policy.categories && g.categories,
            name: policy.name && g.name,
            description: policy.description && g.description,
            short_description: policy.short_description && g.short_description,
            gtin: policy.gtin && self.has_gtins,
            attributes: policy.attributes && g.attributes,
            images: policy.images && g.images,
        }
    }
}

/// The variable family a product belongs to: its own ID for a variable parent, its parent's
/// for a variation; `None` for everything else.
pub fn family_of(p: &Product) -> Option<u64> {
    match (p.kind, p.post_type) {
        (Kind::Variable, _) => Some(p.id),
        (_, PostType::Variation) if p.parent != 0 => Some(p.parent),
        _ => None,
    }
}

/// Where each variable family's last feed row is: family → the 0-based position, in the order
/// rows reach the planner, of the last row that may belong to it. Lets the planner finish a
/// family as soon as its last row is planned instead of holding every family to the end.
pub type FamilyEnds = HashMap<u64, u64>;

/// Plans block by block of feed rows and hands each unit to `emit` as soon as it is known
/// (simple products and creates at once, a variable family after its last row — or from
/// [`Planner::finish`] when its end is not known), so neither the feed nor the plan ever sits
/// whole in memory and writing can start while planning goes on. `emit` returns false to stop.
pub struct Planner<'a> {
    catalog: &'a Catalog,
    rules: &'a Rules,
    facts: &'a FeedFacts,
    owners: crate::catalog::SkuIndex<'a>,
    externals: crate::catalog::ExternalIndex<'a>,
    counts: Counts,
    notes: Vec<(u64, ReportRow)>,
    // A simple product is finished at once; a variable family waits until all its variations
    // are planned, so its parent can follow them.
    families: Vec<u64>,
    drafts: HashMap<u64, Draft>,
    draft_order: HashMap<u64, Vec<u64>>,
    ends: FamilyEnds,
    /// Rows of new variable families (parents the shop lacks), by the parent's SKU key, until
    /// their last row; in the order the families first appeared.
    new_families: HashMap<String, Vec<Item>>,
    new_family_order: Vec<String>,
    /// Where each new family's last row is (by the print of its parent's SKU key).
    new_family_ends: HashMap<u128, u64>,
    /// Rows of new variations of existing variable parents, by parent, until the family closes.
    added: HashMap<u64, Vec<Item>>,
    /// SKU keys `[sync] variation_sku` made for new variations so far.
    generated_skus: std::collections::HashSet<String>,
    /// Rows planned so far (the position of the next row).
    position: u64,
    stopped: bool,
}

impl<'a> Planner<'a> {
    pub fn new(catalog: &'a Catalog, rules: &'a Rules, facts: &'a FeedFacts) -> Planner<'a> {
        Planner {
            catalog,
            rules,
            facts,
            owners: catalog.sku_index(),
            externals: catalog.external_index(),
            counts: Counts::default(),
            notes: Vec::new(),
            families: Vec::new(),
            drafts: HashMap::new(),
            draft_order: HashMap::new(),
            ends: FamilyEnds::new(),
            new_families: HashMap::new(),
            new_family_order: Vec::new(),
            new_family_ends: HashMap::new(),
            generated_skus: Default::default(),
            added: HashMap::new(),
            position: 0,
            stopped: false,
        }
    }

    /// Where the families' last rows are (see [`FamilyEnds`]); without it every family waits
    /// for [`Planner::finish`].
    pub fn with_family_ends(mut self, ends: FamilyEnds) -> Self {
        self.ends = ends;
        self
    }

    /// Where the new variable families' last rows are (see [`family_key`]); without it they
    /// wait for [`Planner::finish`].
    pub fn with_new_family_ends(mut self, ends: HashMap<u128, u64>) -> Self {
        self.new_family_ends = ends;
        self
    }

    /// Rows normalisation rejected count as rows of the feed, and as invalid.
    pub fn count_rejections(&mut self, n: usize) {
        self.counts.items += n;
        self.counts.invalid += n;
    }

    /// Plans a block of feed rows; false once `emit` asked to stop.
    pub fn plan(&mut self, items: &[Item], emit: &mut dyn FnMut(Unit) -> bool) -> bool {
        let (catalog, rules) = (self.catalog, self.rules);
        for item in items {
            if self.stopped {
                return false;
            }
            self.counts.items += 1;
            let position = self.position;
            self.position += 1;
            let key = item.key();
            if let Some(lines) = self.facts.repeated_skus.get(&text_print(&key)) {
                let list = lines
                    .iter()
                    .map(|l| if self.facts.rejected_copies.contains(l) { format!("{l} (rejected)") } else { l.to_string() })
                    .collect::<Vec<_>>()
                    .join(", ");
                self.notes.push((item.line, ReportRow::note(Action::Conflict, &item.sku, "_sku", format!(
                    "{w} {}: SKU appears {} times in the feed ({w}s {list}); nothing written for it", item.line, lines.len(), w = rules.row_word
                ))));
                self.counts.conflict += 1;
                continue;
            }
            if let Some(lines) = item.external_id.as_deref().and_then(|x| self.facts.repeated_externals.get(&text_print(x))) {
                let list = lines.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
                self.notes.push((item.line, ReportRow::note(Action::Conflict, &item.sku, rules.external_id_meta, format!(
                    "{w} {}: external ID {} appears {} times in the feed ({w}s {list}); nothing written for it",
                    item.line, item.external_id.as_deref().unwrap_or(""), lines.len(), w = rules.row_word
                ))));
                self.counts.conflict += 1;
                continue;
            }
            for note in &item.notes {
                self.notes.push((item.line, ReportRow::note(Action::Warning, &item.sku, &note.field, format!("{} {}: {}", rules.row_word, item.line, note.message))));
            }
            if let Some(family) = family_key(item, &self.facts.parent_keys) {
                // The parent: the product with the parent SKU, else the one linked to the 1C good.
                let by_good = || item.content.as_ref().and_then(|c| c.parent_id.as_deref()).and_then(|g| self.externals.owners(g));
                match self.owners.owners(&family).or_else(by_good) {
                    // A parent the shop lacks: the family is planned whole at its last row.
                    None => {
                        self.stopped = !self.hold_new(family, item, position, emit);
                        continue;
                    }
                    Some(SkuOwners::One(parent)) if item.parent_sku().is_some() => {
                        let product = catalog.product(parent).expect("owners come from the catalog");
                        if product.kind != Kind::Variable {
                            self.notes.push((item.line, ReportRow::note(Action::Invalid, &item.sku, "parent_sku", format!(
                                "{} {}: parent SKU {} belongs to product {parent}, which is not a variable product; a variation needs a variable parent; nothing written for it",
                                rules.row_word, item.line, item.parent_sku().unwrap_or_default()
                            ))));
                            self.counts.invalid += 1;
                            continue;
                        }
                        if self.owners.owners(&key).is_none() && item.external_id.as_deref().and_then(|x| self.externals.owners(x)).is_none() {
                            // A new variation of an existing variable product: planned with its family.
                            if !self.draft_order.contains_key(&parent) && !self.added.contains_key(&parent) {
                                self.families.push(parent);
                            }
                            self.added.entry(parent).or_default().push(item.clone());
                            if self.ends.get(&parent) == Some(&position) {
                                self.stopped = !self.close(parent, emit);
                            }
                            continue;
                        }
                    }
                    Some(SkuOwners::Many(ids)) if item.parent_sku().is_some() => {
                        self.notes.push((item.line, ReportRow::note(Action::Conflict, &item.sku, "parent_sku", format!(
                            "{} {}: parent SKU {} is used by {} live products (IDs {}); nothing written for it",
                            rules.row_word, item.line, item.parent_sku().unwrap_or_default(), ids.len(), ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
                        ))));
                        self.counts.conflict += 1;
                        continue;
                    }
                    _ => {}
                }
            }
            match target(item, &key, &self.owners, &self.externals, catalog, rules) {
                Target::Existing { id, change_sku, link } => {
                    if rules.content.gtin {
                        if let Some(why) = self.gtin_conflict(item, Some(id)) {
                            self.notes.push((item.line, ReportRow::note(Action::Conflict, &item.sku, "gtin", format!("{} {}: {why}", rules.row_word, item.line))));
                            self.counts.conflict += 1;
                            continue;
                        }
                    }
                    let product = catalog.product(id).expect("owners come from the catalog");
                    let (update, fin, warnings) = plan_update(item, product, catalog, rules, change_sku, link);
                    self.notes.extend(warnings.into_iter().map(|w| (item.line, w)));
                    let Some(family) = family_of(product) else {
                        let draft = Draft { update, fin, counts_as_item: true };
                        if let Some(update) = settle(draft, product, catalog, rules, &mut self.counts) {
                            self.stopped = !emit(Unit::of_updates(vec![update], catalog));
                        }
                        continue;
                    };
                    if !self.draft_order.contains_key(&family) {
                        self.families.push(family);
                    }
                    self.draft_order.entry(family).or_default().push(product.id);
                    self.drafts.insert(product.id, Draft { update, fin, counts_as_item: true });
                    if self.ends.get(&family) == Some(&position) {
                        self.stopped = !self.close(family, emit);
                    }
                }
                Target::Conflict(message) => {
                    self.notes.push((item.line, ReportRow::note(Action::Conflict, &item.sku, "_sku", format!("{} {}: {message}", rules.row_word, item.line))));
                    self.counts.conflict += 1;
                }
                Target::New => {
                    if let Err((name, why)) = rules.attributes.for_product(item.attributes()) {
                        self.notes.push((item.line, ReportRow::note(Action::Invalid, &item.sku, &format!("attribute:{name}"), format!("{} {}: {why}; nothing written for it", rules.row_word, item.line))));
                        self.counts.invalid += 1;
                        continue;
                    }
                    if let Some(why) = self.gtin_conflict(item, None) {
                        self.notes.push((item.line, ReportRow::note(Action::Conflict, &item.sku, "gtin", format!("{} {}: {why}", rules.row_word, item.line))));
                        self.counts.conflict += 1;
                        continue;
                    }
                    let (new, warnings) = plan_create(item, rules);
                    self.notes.extend(warnings.into_iter().map(|w| (item.line, w)));
                    self.counts.created += 1;
                    self.stopped = !emit(Unit { creates: vec![new], ..Unit::default() });
                }
            }
        }
        !self.stopped
    }

    /// Why the row's GTIN may not be written for product `own` (`None`: a new product): it is on
    /// another feed row too, or another live product holds it (WooCommerce's
    /// `wc_product_has_global_unique_id`).
    fn gtin_conflict(&self, item: &Item, own: Option<u64>) -> Option<String> {
        let gtin = item.gtin()?;
        let w = self.rules.row_word;
        if let Some(lines) = self.facts.repeated_gtins.get(&text_print(gtin)) {
            let list = lines.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
            return Some(format!("GTIN {gtin} appears {} times in the feed ({w}s {list}); nothing written for it", lines.len()));
        }
        let other = self.catalog.gtin_owners(gtin).into_iter().find(|id| Some(*id) != own)?;
        let sku = self.catalog.product(other).and_then(|p| p.get(Key::Sku)).unwrap_or("");
        Some(format!("GTIN {gtin} belongs to product {other} (SKU {sku:?}); WooCommerce keeps GTINs unique; nothing written for it"))
    }

    /// Plans one variable family now that its last row is in (the parent follows its variations).
    fn close(&mut self, family: u64, emit: &mut dyn FnMut(Unit) -> bool) -> bool {
        let (catalog, rules) = (self.catalog, self.rules);
        let ids = self.draft_order.remove(&family);
        let added = self.added.remove(&family).unwrap_or_default();
        if ids.is_none() && added.is_empty() {
            return true;
        }
        let ids = ids.unwrap_or_default();
        let mut drafts: HashMap<u64, Draft> = ids.iter().filter_map(|id| self.drafts.remove(id).map(|d| (*id, d))).collect();
        let mut order = HashMap::from([(family, ids)]);
        let (creates, extra, matched) = match added.is_empty() {
            true => (Vec::new(), None, Vec::new()),
            false => self.plan_added(family, added),
        };
        // Variations found by their attribute values are linked and synced like any matched product.
        for (child, item) in matched {
            let Some(product) = catalog.product(child) else { continue };
            let (update, fin, warnings) = plan_update(&item, product, catalog, rules, false, true);
            self.notes.extend(warnings.into_iter().map(|w| (item.line, w)));
            drafts.insert(child, Draft { update, fin, counts_as_item: true });
            order.entry(family).or_default().push(child);
        }
        parent::resync(&mut drafts, &mut order, catalog, rules, extra.as_ref());
        let mut updates = Vec::new();
        for id in order.remove(&family).unwrap_or_default() {
            let Some(draft) = drafts.remove(&id) else { continue };
            let product = catalog.product(id).expect("drafts come from the catalog");
            updates.extend(settle(draft, product, catalog, rules, &mut self.counts));
        }
        if updates.is_empty() && creates.is_empty() {
            return true;
        }
        let mut unit = Unit::of_updates(updates, catalog);
        unit.creates = creates;
        unit.extra = extra.map(Box::new);
        emit(unit)
    }

    /// Plans the variable families still open (parents follow their variations) and returns the conflict
    /// and warning rows, in feed order, and the counts.
    pub fn finish(mut self, emit: &mut dyn FnMut(Unit) -> bool) -> (Vec<ReportRow>, Counts) {
        if self.stopped {
            return (Vec::new(), self.counts);
        }
        // Families already closed have no drafts left: closing them again emits nothing.
        for family in std::mem::take(&mut self.families) {
            if !self.close(family, emit) {
                return (Vec::new(), self.counts);
            }
        }
        for family in std::mem::take(&mut self.new_family_order) {
            if !self.close_new(&family, emit) {
                return (Vec::new(), self.counts);
            }
        }
        let mut notes = self.notes;
        notes.sort_by_key(|(line, _)| *line);
        self.counts.warning = notes.iter().filter(|(_, r)| r.action == Action::Warning).count();
        (notes.into_iter().map(|(_, r)| r).collect(), self.counts)
    }
}

/// The SKU key of the variable family a row belongs to: its parent SKU's, or its own when other
/// rows name it as their parent.
pub fn family_key(item: &Item, parent_keys: &std::collections::HashSet<u128>) -> Option<String> {
    match item.parent_sku() {
        Some(parent) => Some(crate::model::sku_key(parent)),
        None if !parent_keys.is_empty() => {
            let key = item.key();
            parent_keys.contains(&text_print(&key)).then_some(key)
        }
        None => None,
    }
}

/// Which product a feed row is about.
enum Target {
    /// An existing product; `change_sku`: matched by external ID under another SKU;
    /// `link`: matched by SKU, and its external ID is to be stored.
    Existing { id: u64, change_sku: bool, link: bool },
    New,
    Conflict(String),
}

/// Matches a row by external ID first, then by SKU. A product matched by external ID takes the
/// row's SKU unless another live product holds it; a product matched by SKU that is linked to
/// another external ID is a conflict, never a silent re-link.
fn target(item: &Item, key: &str, owners: &crate::catalog::SkuIndex<'_>, externals: &crate::catalog::ExternalIndex<'_>, catalog: &Catalog, rules: &Rules) -> Target {
    let list = |ids: &[u64]| ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    let by_sku = owners.owners(key);
    if let Some(x) = item.external_id.as_deref() {
        match externals.owners(x) {
            Some(SkuOwners::Many(ids)) => {
                return Target::Conflict(format!(
                    "external ID {x} is linked to {} live products (IDs {}) by {}; nothing written for it",
                    ids.len(),
                    list(&ids),
                    rules.external_id_meta
                ))
            }
            Some(SkuOwners::One(id)) => {
                let current = catalog.product(id).and_then(|p| p.get(Key::Sku)).map(crate::model::sku_key);
                // A row without a SKU of its own (a 1C characteristic) leaves the product's alone.
                if current.as_deref() == Some(key) || key.is_empty() {
                    return Target::Existing { id, change_sku: false, link: false };
                }
                return match by_sku {
                    None => Target::Existing { id, change_sku: true, link: false },
                    Some(SkuOwners::One(other)) if other == id => Target::Existing { id, change_sku: false, link: false },
                    Some(SkuOwners::One(other)) => Target::Conflict(format!(
                        "product {id} (external ID {x}) has SKU {:?} in the shop and {:?} in the feed, but {:?} belongs to another live product (ID {other}); nothing written for it",
                        catalog.product(id).and_then(|p| p.get(Key::Sku)).unwrap_or(""),
                        item.sku,
                        item.sku
                    )),
                    Some(SkuOwners::Many(others)) => Target::Conflict(format!(
                        "product {id} (external ID {x}) would take SKU {:?}, which {} live products hold (IDs {}); nothing written for it",
                        item.sku,
                        others.len(),
                        list(&others)
                    )),
                };
            }
            None => {}
        }
    }
    match by_sku {
        None => Target::New,
        Some(SkuOwners::Many(ids)) => Target::Conflict(format!(
            "SKU is used by {} live products (IDs {}); make it unique in WooCommerce; nothing written for it",
            ids.len(),
            list(&ids)
        )),
        Some(SkuOwners::One(id)) => match (item.external_id.as_deref(), catalog.external_id(id)) {
            (Some(x), Some(linked)) => Target::Conflict(format!(
                "SKU belongs to product {id}, which is linked to external ID {linked}, not {x}; nothing written for it"
            )),
            (Some(_), None) => Target::Existing { id, change_sku: false, link: true },
            (None, _) => Target::Existing { id, change_sku: false, link: false },
        },
    }
}

/// `unit` planned again from the same feed rows against `fresh` — its products as they are
/// inside the chunk's transaction — because they changed after the run read the shop (an order
/// was placed meanwhile). Derived values (`_price`, stock status, the term, the lookup row, the
/// parent's re-sync) then come from the values that will be in the rows at commit; the feed's
/// own values still win. Products gone meanwhile (deleted, trashed) are left alone. The rows of
/// a product whose stock moved say so in `message`.
pub fn replan(unit: &Unit, fresh: &Catalog, rules: &Rules) -> Unit {
    let mut counts = Counts::default();
    let (mut updates, mut drafts, mut order) = (Vec::new(), HashMap::new(), HashMap::<u64, Vec<u64>>::new());
    for u in &unit.updates {
        let Some(row) = &u.row else { continue };
        let Some(product) = fresh.product(u.id).filter(|p| p.is_live()) else { continue };
        let (mut update, fin, _) = plan_update(&row.item, product, fresh, rules, row.change_sku, row.link);
        // An order moves stock, not categories or texts: those stay as planned (the fresh rows hold neither).
        if let Some(m) = &u.categories {
            update.categories = Some(m.clone());
            update.rows.extend(u.rows.iter().filter(|r| r.field == "categories").cloned());
        }
        if u.attributes.is_some() {
            update.attributes = u.attributes.clone();
            update.add_terms = u.add_terms.clone();
            update.ops.extend(u.ops.iter().filter(|op| op.key() == "_product_attributes").cloned());
            update.rows.extend(u.rows.iter().filter(|r| r.field.starts_with("attribute:")).cloned());
        }
        // Nor the `[source.meta]` keys (the fresh rows hold none of them).
        if !rules.meta.is_empty() {
            let own = |key: &str| rules.meta.iter().any(|m| m.key == key);
            update.ops.extend(u.ops.iter().filter(|op| own(op.key())).cloned());
            update.rows.extend(u.rows.iter().filter(|r| own(&r.field)).cloned());
        }
        if let Some(change) = &u.pictures {
            update.pictures = Some(change.clone());
            update.rows.extend(u.rows.iter().filter(|r| r.field == "images").cloned());
        }
        if let Some(post) = &u.post {
            update.post = Some(post.clone());
            update.rows.extend(u.rows.iter().filter(|r| matches!(r.field.as_str(), "name" | "description" | "short_description" | "gtin")).cloned());
        }
        let now = product.get(Key::Stock);
        if now != row.stock_then.as_deref() {
            let (then, now) = (row.stock_then.as_deref().unwrap_or("(none)"), now.unwrap_or("(none)"));
            let race = format!("the shop's stock went from {then} to {now} after the run read it (an order?); written from the values at commit");
            for r in &mut update.rows {
                r.message = if r.message.is_empty() { race.clone() } else { format!("{}; {race}", r.message) };
            }
        }
        let draft = Draft { update, fin, counts_as_item: true };
        match family_of(product) {
            None => updates.extend(settle(draft, product, fresh, rules, &mut counts)),
            Some(family) => {
                order.entry(family).or_default().push(u.id);
                drafts.insert(u.id, draft);
            }
        }
    }
    let mut families: Vec<u64> = order.keys().copied().collect();
    families.sort_unstable();
    if let Some(x) = &unit.extra {
        if !order.contains_key(&x.family) {
            order.insert(x.family, Vec::new());
            families.push(x.family);
        }
    }
    parent::resync(&mut drafts, &mut order, fresh, rules, unit.extra.as_deref());
    for family in families {
        for id in order.remove(&family).unwrap_or_default() {
            let (Some(draft), Some(product)) = (drafts.remove(&id), fresh.product(id)) else { continue };
            updates.extend(settle(draft, product, fresh, rules, &mut counts));
        }
    }
    Unit { creates: unit.creates.clone(), updates, deps: unit.deps.clone(), extra: unit.extra.clone() }
}

/// Ops that set one single-valued key to `value`, or add the row when there is none.
fn set_meta(ops: &mut Vec<MetaOp>, catalog: &Catalog, id: u64, key: Key, value: String) {
    let ids: MetaIds = catalog.rows(id, key).iter().map(|r| r.id).collect();
    if ids.is_empty() {
        ops.push(MetaOp::Insert { key: key.meta_key(), value: Some(value.into()) });
    } else {
        ops.push(MetaOp::Set { key: key.meta_key(), ids, value: value.into() });
    }
}

fn same_money(a: Option<&Money>, b: Option<&Money>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.value == b.value,
        (None, None) => true,
        _ => false,
    }
}

fn text(m: Option<&Money>) -> String {
    m.map(|m| m.text().to_string()).unwrap_or_default()
}

fn plan_update(item: &Item, p: &Product, catalog: &Catalog, rules: &Rules, change_sku: bool, link: bool) -> (Update, Final, Vec<ReportRow>) {
    let post_type = post_type_name(p.post_type);
    let mut warnings = Vec::new();
    let mut warn = |field: &str, message: String| {
        let mut row = ReportRow::note(Action::Warning, &item.sku, field, format!("{} {}: {message}", rules.row_word, item.line));
        row.product_id = Some(p.id);
        row.post_type = post_type;
        warnings.push(row);
    };
    let mut ops = Vec::new();
    let mut rows = Vec::new();
    let row = |field: &str, old: String, new: String| ReportRow {
        action: Action::Update,
        sku: item.sku.to_string(),
        product_id: Some(p.id),
        post_type,
        field: field.to_string(),
        old,
        new,
        message: if item.missing { "missing from feed".into() } else { String::new() },
    };
    let mut fin = Final::of(p, catalog);

    let wants_prices = item.regular.is_some() || item.sale != Sale::Absent;
    let prices_allowed = p.takes_prices();
    if wants_prices && !prices_allowed {
        let what = if p.kind == Kind::Variable { "a variable product: its prices live on its variations" } else { "a grouped product: it has no price of its own" };
        warn("_price", format!("SKU belongs to {what}; price fields skipped"));
    }
    if wants_prices && prices_allowed {
        let cur_reg = p.money(Key::RegularPrice);
        let cur_sale = p.money(Key::SalePrice);
        let new_reg = item.regular.or(cur_reg);
        let mut new_sale = match &item.sale {
            Sale::Absent => cur_sale,
            Sale::Clear => None,
            Sale::Set(s) => Some(*s),
        };
        if let (Some(r), Some(s)) = (&new_reg, &new_sale) {
            if s.value >= r.value {
                warn("_sale_price", format!("sale price {s} is not below the regular price {r}; the sale is removed, as WooCommerce does"));
                new_sale = None;
            }
        }
        let reg_changed = item.regular.is_some() && !same_money(cur_reg.as_ref(), new_reg.as_ref());
        if reg_changed {
            let r = new_reg.expect("regular given");
            set_meta(&mut ops, catalog, p.id, Key::RegularPrice, r.text().to_string());
            rows.push(row("_regular_price", p.get(Key::RegularPrice).unwrap_or("").to_string(), r.text().to_string()));
        }
        let sale_changed = !same_money(cur_sale.as_ref(), new_sale.as_ref());
        if sale_changed {
            match &new_sale {
                Some(s) => set_meta(&mut ops, catalog, p.id, Key::SalePrice, s.text().to_string()),
                None => ops.push(MetaOp::Delete { key: "_sale_price", ids: catalog.rows(p.id, Key::SalePrice).iter().map(|r| r.id).collect() }),
            }
            rows.push(row("_sale_price", p.get(Key::SalePrice).unwrap_or("").to_string(), text(new_sale.as_ref())));
        }
        if reg_changed || sale_changed || rules.rederive {
            let price = woo::active_price(new_reg.as_ref(), new_sale.as_ref(), catalog.timestamp(p.id, Key::SaleFrom), catalog.timestamp(p.id, Key::SaleTo), rules.now_unix);
            let cur_price = p.money(Key::Price);
            if !same_money(cur_price.as_ref(), price.as_ref()) || (cur_price.is_none() && p.get(Key::Price).is_none()) {
                let value = text(price.as_ref());
                if catalog.rows(p.id, Key::Price).is_empty() && value.is_empty() {
                    // Nothing stored and nothing to store.
                } else {
                    set_meta(&mut ops, catalog, p.id, Key::Price, value.clone());
                    rows.push(row("_price", p.get(Key::Price).unwrap_or("").to_string(), value));
                }
            }
            fin.prices = price.into_iter().collect();
        }
        fin.sale = new_sale;
    }

    if let Some(qty) = item.stock {
        let stock_allowed = p.takes_stock();
        if !stock_allowed {
            let why = match p.kind {
                Kind::Variable => "a variable product that does not manage stock itself (its variations do)",
                Kind::Grouped => "a grouped product (it has no stock of its own)",
                _ => "an external product (WooCommerce keeps no stock for it)",
            };
            warn("_stock", format!("SKU belongs to {why}; stock skipped"));
        } else {
            if !p.manages_stock() {
                set_meta(&mut ops, catalog, p.id, Key::ManageStock, "yes".into());
                rows.push(row("_manage_stock", p.get(Key::ManageStock).unwrap_or("").to_string(), "yes".into()));
            }
            let cur = p.get(Key::Stock).and_then(|s| s.trim().parse::<f64>().ok());
            if cur != Some(qty as f64) {
                set_meta(&mut ops, catalog, p.id, Key::Stock, qty.to_string());
                rows.push(row("_stock", p.get(Key::Stock).unwrap_or("").to_string(), qty.to_string()));
            }
            let status = woo::stock_status(qty, p.get(Key::Backorders).unwrap_or("no"), rules.notify_no_stock_amount);
            if p.get(Key::StockStatus) != Some(status) {
                set_meta(&mut ops, catalog, p.id, Key::StockStatus, status.into());
                rows.push(row("_stock_status", p.get(Key::StockStatus).unwrap_or("").to_string(), status.into()));
            }
            fin.managed_qty = Some(qty);
            fin.status = status.to_string();
        }
    }

    if change_sku {
        set_meta(&mut ops, catalog, p.id, Key::Sku, item.sku.to_string());
        rows.push(row("_sku", p.get(Key::Sku).unwrap_or("").to_string(), item.sku.to_string()));
        fin.sku = Some(item.sku.to_string());
    }
    if let (true, Some(x)) = (link, item.external_id.as_deref()) {
        let ids: MetaIds = catalog.external.get(&p.id).map(|rows| rows.iter().map(|r| r.id).collect()).unwrap_or_default();
        if ids.is_empty() {
            ops.push(MetaOp::Insert { key: rules.external_id_meta, value: Some(x.into()) });
        } else {
            ops.push(MetaOp::Set { key: rules.external_id_meta, ids, value: x.into() });
        }
        rows.push(row(rules.external_id_meta, String::new(), x.to_string()));
    }
    if let Some(held) = catalog.custom_meta.as_ref() {
        custom_meta(item, p.id, held, rules, &mut ops, &mut |field, old, new| rows.push(row(field, old, new)));
    }

    let categories = match catalog.product_categories.as_ref() {
        Some(held) if rules.content.categories && p.post_type == PostType::Product => {
            let (cats, wanted) = (&rules.categories, rules.categories.leaves(item.categories()));
            let now: smallvec::SmallVec<[u64; 4]> = held.of(p.id).collect();
            let moved = move_categories(&wanted, &now, &cats.tree);
            if moved.is_some() {
                let old = cats.text(now.iter().filter_map(|tt| cats.tree.by_tt(*tt)).map(|c| c.term_id));
                rows.push(row("categories", old, cats.text(wanted.iter().map(|(t, _)| *t))));
            }
            moved
        }
        _ => None,
    };
    let post = post_change(item, p, catalog, rules, &mut |field, old, new| rows.push(row(field, old, new)));
    let pictures = pictures::change(item, p, catalog, rules).map(|(change, old, new)| {
        rows.push(row("images", old, new));
        change
    });
    let (attribute_change, add_terms) = match attribute_change(item, p, catalog, rules, &mut |field, old, new| rows.push(row(field, old, new))) {
        Some((op, change, add)) => {
            ops.extend(op);
            (Some(Box::new(change)), add)
        }
        None => (None, Vec::new()),
    };
    let update = Update {
        id: p.id,
        sku: item.sku.to_string(),
        post_type: p.post_type,
        parent: if p.post_type == PostType::Variation { p.parent } else { 0 },
        published: p.is_published(),
        touch: false,
        categories,
        post,
        pictures,
        ops,
        lookup: None,
        term: None,
        rows,
        resynced_parent: false,
        add_terms,
        attributes: attribute_change,
        row: Some(Box::new(FeedRow { item: item.clone(), change_sku, link, stock_then: p.get(Key::Stock).map(Into::into) })),
    };
    (update, fin, warnings)
}

/// The `[source.meta]` keys the row gives that differ from the product's (its first row of the
/// key, as `get_post_meta( $id, $key, true )` reads it): prices and quantities compared as
/// numbers, texts as text; every row of the key is set, or one added. A product missing from
/// the feed (`missing = "zero_stock"`) has its stock keys set to 0 where they hold more.
fn custom_meta(item: &Item, id: u64, held: &crate::catalog::CustomMeta, rules: &Rules, ops: &mut Vec<MetaOp>, row: &mut dyn FnMut(&str, String, String)) {
    use crate::config::MetaKind;
    let zeros: Vec<(u16, String)> = match item.missing {
        true => rules.meta.iter().enumerate().filter(|(_, m)| m.kind == MetaKind::Stock).map(|(i, _)| (i as u16, "0".to_string())).collect(),
        false => Vec::new(),
    };
    for (entry, value) in item.meta().iter().chain(&zeros) {
        let Some(m) = rules.meta.get(*entry as usize) else { continue };
        let rows = held.rows(id, *entry);
        let now = rows.first().map(|r| r.3.as_str());
        let same = match (m.kind, now) {
            (_, None) => item.missing,
            (MetaKind::Text, Some(now)) => now == value,
            (_, Some(now)) => Money::from_stored(now).zip(Money::from_stored(value)).is_some_and(|(a, b)| a.value == b.value),
        };
        if same {
            continue;
        }
        let ids: MetaIds = rows.iter().map(|r| r.2).collect();
        if ids.is_empty() {
            ops.push(MetaOp::Insert { key: m.key, value: Some(value.as_str().into()) });
        } else {
            ops.push(MetaOp::Set { key: m.key, ids, value: value.as_str().into() });
        }
        row(m.key, now.unwrap_or("").to_string(), value.clone());
    }
}

/// The card fields `update_content` keeps in step that differ from the row's: the title (not a
/// variation's: WooCommerce makes it), the description and short description (compared by
/// their prints), the GTIN. An empty cell leaves a field alone.
fn post_change(item: &Item, p: &Product, catalog: &Catalog, rules: &Rules, row: &mut dyn FnMut(&str, String, String)) -> Option<Box<PostChange>> {
    let policy = &rules.content;
    let mut change = PostChange::default();
    let texts = catalog.post_texts.as_ref().and_then(|t| t.get(&p.id)).filter(|_| p.post_type == PostType::Product);
    let content = item.content.as_deref();
    if let (true, Some(t), Some(name)) = (policy.name, texts, item.name.as_deref()) {
        if t.title != name {
            row("name", t.title.to_string(), name.to_string());
            change.title = Some(name.to_string());
            if p.kind == Kind::Variable {
                change.old_title = Some(t.title.to_string());
                change.children = catalog.children.get(&p.id).cloned().unwrap_or_default();
            }
        }
    }
    let chars = |n: u32| format!("({n} characters)");
    if let (true, Some(t), Some(d)) = (policy.description, texts, content.and_then(|c| c.description.as_deref())) {
        if t.content != crate::catalog::content_print(d) {
            row("description", chars(t.content.1), d.to_string());
            change.content = Some(d.to_string());
        }
    }
    if let (true, Some(t), Some(d)) = (policy.short_description, texts, content.and_then(|c| c.short_description.as_deref())) {
        if t.excerpt != crate::catalog::content_print(d) {
            row("short_description", chars(t.excerpt.1), d.to_string());
            change.excerpt = Some(d.to_string());
        }
    }
    if let (true, Some(g)) = (policy.gtin, item.gtin()) {
        let now = catalog.gtin_of.get(&p.id).map(|g| g.as_str()).unwrap_or("");
        if now != g {
            row("gtin", now.to_string(), g.to_string());
            change.gtin = Some(g.to_string());
        }
    }
    (change != PostChange::default()).then(|| Box::new(change))
}

/// The attributes the row gives, put on the product as WooCommerce would hold them (`update_content`
/// has `attributes`): each one replaces the product's attribute with that key in place (its
/// terms, or a local one's options), a new one is appended; the product's other attributes, and a
/// variable product's variation attributes, stay. `None` when nothing changes (or the stored
/// `_product_attributes` is not what WooCommerce writes: left alone).
#[allow(clippy::type_complexity)]
fn attribute_change(item: &Item, p: &Product, catalog: &Catalog, rules: &Rules, row: &mut dyn FnMut(&str, String, String)) -> Option<(Option<MetaOp>, AttributeChange, Vec<u64>)> {
    if !rules.content.attributes || p.post_type != PostType::Product || item.attributes().is_empty() {
        return None;
    }
    let shop = catalog.product_attributes.as_ref()?;
    let meta = shop.meta(p.id);
    let held: Vec<(u64, &str, &str)> = shop.terms(p.id).collect();
    let wanted = rules.attributes.for_product(item.attributes()).ok()?;
    // Most products hold exactly the row's attributes (woosync made them): nothing to parse.
    if let Some((_, stored)) = meta {
        let have = held.iter().map(|(tt, _, _)| *tt);
        let mut want = wanted.term_taxonomy_ids.clone();
        want.sort_unstable();
        if have.eq(want.iter().copied()) && stored == crate::woo::attributes::product_attributes(&wanted.entries) {
            return None;
        }
    }
    let current = match meta {
        Some((_, v)) => crate::catalog::attributes::parse_product_attributes(v)?,
        None => Vec::new(),
    };
    let mut entries = current.clone();
    let mut change = AttributeChange { in_stock: p.get(Key::StockStatus) != Some(woo::OUTOFSTOCK), ..AttributeChange::default() };
    let mut add: Vec<u64> = Vec::new();
    for (a, w) in item.attributes().iter().zip(&wanted.entries) {
        let at = entries.iter().position(|e| e.key == w.key);
        if at.is_some_and(|i| entries[i].is_variation) {
            continue;
        }
        let mut changed = false;
        let old = if w.is_taxonomy {
            let want: Vec<(u64, u64)> = a.values.iter().filter_map(|v| rules.attributes.term(&w.name, v)).map(|t| (t.tt_id, t.term_id)).collect();
            let have: Vec<&(u64, &str, &str)> = held.iter().filter(|(_, t, _)| *t == w.name).collect();
            for (tt, _) in &want {
                if !have.iter().any(|h| h.0 == *tt) {
                    add.push(*tt);
                    changed = true;
                }
            }
            for h in &have {
                if !want.iter().any(|(tt, _)| *tt == h.0) {
                    change.remove_terms.push(h.0);
                    changed = true;
                }
            }
            if changed {
                change.taxonomies.push(w.name.clone());
                change.lookup.extend(want.iter().map(|(_, term)| (w.name.clone(), *term)));
            }
            have.iter().map(|h| crate::woo::terms::shown_name(h.2)).collect::<Vec<_>>().join(" | ")
        } else {
            at.map(|i| entries[i].value.clone()).unwrap_or_default()
        };
        let mut entry = w.clone();
        if let Some(i) = at {
            entry.is_visible = entries[i].is_visible;
            changed |= entries[i] != entry;
            entries[i] = entry;
        } else {
            changed = true;
            entries.push(entry);
        }
        if changed {
            row(&format!("attribute:{}", a.name), old, crate::woo::attributes::implode(&a.values));
        }
    }
    let value = crate::woo::attributes::product_attributes(&entries);
    let op = match meta {
        Some((_, old)) if old == value => None,
        Some((id, _)) => Some(MetaOp::Set { key: "_product_attributes", ids: smallvec::smallvec![id], value: value.into() }),
        None => Some(MetaOp::Insert { key: "_product_attributes", value: Some(value.into()) }),
    };
    if op.is_none() && add.is_empty() && change.remove_terms.is_empty() {
        return None;
    }
    Some((op, change, add))
}

/// The categories a product joins and leaves when it is to be in exactly the row's (their
/// leaves: `set_category_ids()`); `None` when the row names none or they are already its.
/// `wanted`: (term ID, term_taxonomy ID) of the row's leaves; `now`: the product's term_taxonomy IDs.
fn move_categories(wanted: &[(u64, u64)], now: &[u64], tree: &crate::catalog::categories::CategoryTree) -> Option<Box<CategoryMove>> {
    if wanted.is_empty() {
        return None;
    }
    let add: Vec<(u64, u64)> = wanted.iter().copied().filter(|(_, tt)| !now.contains(tt)).collect();
    let remove: Vec<(u64, u64)> = now
        .iter()
        .filter(|tt| !wanted.iter().any(|w| w.1 == **tt))
        .map(|tt| (tree.by_tt(*tt).map(|c| c.term_id).unwrap_or(0), *tt))
        .collect();
    (!add.is_empty() || !remove.is_empty()).then(|| Box::new(CategoryMove { add, remove }))
}

/// Lookup row, `outofstock` term and touch, from the product's final values.
fn finish(draft: &mut Draft, p: &Product, catalog: &Catalog, rules: &Rules) {
    let sku = draft.fin.sku.clone().unwrap_or_else(|| p.get(Key::Sku).unwrap_or("").to_string());
    let fin = &draft.fin;
    let target = if p.kind == Kind::Variable {
        LookupValues {
            sku: sku.into(),
            min_price: woo::lookup_price(fin.prices.first()),
            max_price: woo::lookup_price(fin.prices.last()),
            onsale: false,
            stock_quantity: fin.managed_qty.map(|q| q as f64),
            stock_status: fin.status.as_str().into(),
        }
    } else {
        LookupValues::for_simple(&sku, fin.prices.first(), fin.sale.as_ref(), fin.managed_qty, &fin.status)
    };
    draft.update.lookup = match &p.lookup {
        Some(current) if current.same_as(&target) => None,
        Some(_) => Some((target, false)),
        None => Some((target, true)),
    };
    let want_term = fin.status == woo::OUTOFSTOCK;
    draft.update.term = match (want_term, p.outofstock_term) {
        (true, false) => Some(TermChange::Add),
        (false, true) => Some(TermChange::Remove),
        _ => None,
    };
    // Linking a product to its external ID is woosync's own bookkeeping, invisible to the shop.
    draft.update.touch = draft.update.ops.iter().any(|op| op.key() != rules.external_id_meta) || draft.update.categories.is_some() || draft.update.post.is_some() || draft.update.attributes.is_some() || draft.update.pictures.is_some();
    if rules.rederive {
        // The doctor reports the derived rows too (a sync's report shows the meta that causes them).
        let u = &mut draft.update;
        let row = |field: &str, old: String, new: String| ReportRow {
            action: Action::Update,
            sku: u.sku.clone(),
            product_id: Some(u.id),
            post_type: post_type_name(u.post_type),
            field: field.to_string(),
            old,
            new,
            message: String::new(),
        };
        let mut rows = Vec::new();
        if let Some((v, missing)) = &u.lookup {
            let old = match (catalog.lookup_rows.get(&p.id), missing) {
                (Some(l), false) => lookup_text(l.min_price, l.max_price, l.onsale, l.stock_quantity, &l.stock_status),
                _ => "(no row)".into(),
            };
            let new = lookup_text(v.min_price, v.max_price, v.onsale, v.stock_quantity, &v.stock_status);
            rows.push(row("wc_product_meta_lookup", old, new));
        }
        match u.term {
            Some(TermChange::Add) => rows.push(row("product_visibility", String::new(), woo::OUTOFSTOCK.into())),
            Some(TermChange::Remove) => rows.push(row("product_visibility", woo::OUTOFSTOCK.into(), String::new())),
            None => {}
        }
        u.rows.extend(rows);
    }
}

/// A lookup row's compared columns as one report cell.
fn lookup_text(min: Option<rust_decimal::Decimal>, max: Option<rust_decimal::Decimal>, onsale: bool, qty: Option<f64>, status: &str) -> String {
    let or_null = |v: Option<String>| v.unwrap_or_else(|| "NULL".into());
    format!(
        "min_price={} max_price={} onsale={} stock_quantity={} stock_status={status}",
        or_null(min.map(|d| d.to_string())),
        or_null(max.map(|d| d.to_string())),
        onsale as u8,
        or_null(qty.map(|q| q.to_string())),
    )
}

/// Finishes a draft and counts it; returns the update when it writes anything.
fn settle(mut draft: Draft, product: &Product, catalog: &Catalog, rules: &Rules, counts: &mut Counts) -> Option<Update> {
    finish(&mut draft, product, catalog, rules);
    drop_rows_unless(rules.report_rows, &mut draft.update.rows);
    let writes = !draft.update.ops.is_empty()
        || draft.update.lookup.is_some()
        || draft.update.term.is_some()
        || draft.update.categories.is_some()
        || draft.update.post.is_some()
        || draft.update.pictures.is_some()
        || draft.update.attributes.is_some()
        || !draft.update.add_terms.is_empty()
        || (draft.update.touch && draft.update.resynced_parent);
    if draft.counts_as_item {
        if writes {
            counts.updated += 1;
        } else {
            counts.unchanged += 1;
        }
    }
    writes.then_some(draft.update)
}

fn drop_rows_unless(wanted: bool, rows: &mut Vec<ReportRow>) {
    if !wanted {
        *rows = Vec::new();
    }
}

fn plan_create(item: &Item, rules: &Rules) -> (NewProduct, Vec<ReportRow>) {
    let mut warnings = Vec::new();
    let regular = item.regular;
    let mut sale = match &item.sale {
        Sale::Set(s) => Some(*s),
        _ => None,
    };
    if let (Some(s), None) = (&sale, &regular) {
        warnings.push(ReportRow::note(Action::Warning, &item.sku, "_sale_price", format!(
            "{} {}: new product has a sale price {s} but no regular price; the sale is not written", rules.row_word, item.line
        )));
        sale = None;
    }
    let price = woo::active_price(regular.as_ref(), sale.as_ref(), None, None, rules.now_unix);
    let stock_status = match item.stock {
        Some(q) => woo::stock_status(q, "no", rules.notify_no_stock_amount),
        None => woo::INSTOCK,
    };
    let title: String = match &item.name {
        Some(n) => n.to_string(),
        None => {
            warnings.push(ReportRow::note(Action::Warning, &item.sku, "post_title", format!(
                "{} {}: new product has no name in the feed; its SKU is used as the title", rules.row_word, item.line
            )));
            item.sku.to_string()
        }
    };
    let mut rows = Vec::new();
    let mut add = |field: &str, new: String| {
        rows.push(ReportRow {
            action: Action::Create,
            sku: item.sku.to_string(),
            product_id: None,
            post_type: "product",
            field: field.to_string(),
            old: String::new(),
            new,
            message: String::new(),
        })
    };
    add("post_title", title.clone());
    add("post_status", rules.new_status.clone());
    add("_sku", item.sku.to_string());
    if let Some(r) = &regular {
        add("_regular_price", r.text().to_string());
    }
    if let Some(s) = &sale {
        add("_sale_price", s.text().to_string());
    }
    if let Some(p) = &price {
        add("_price", p.text().to_string());
    }
    add("_manage_stock", if item.stock.is_some() { "yes" } else { "no" }.into());
    if let Some(q) = item.stock {
        add("_stock", q.to_string());
    }
    add("_stock_status", stock_status.into());
    if let Some(x) = &item.external_id {
        add(rules.external_id_meta, x.to_string());
    }
    if let Some(c) = &item.content {
        for (field, value) in [("description", &c.description), ("short_description", &c.short_description), ("gtin", &c.gtin)] {
            if let Some(v) = value {
                add(field, v.clone());
            }
        }
    }
    let categories = rules.categories.leaves(item.categories());
    if !categories.is_empty() {
        add("categories", rules.categories.text(categories.iter().map(|(t, _)| *t)));
    }
    for a in item.attributes() {
        add(&format!("attribute:{}", a.name), crate::woo::attributes::implode(&a.values));
    }
    for (entry, value) in item.meta() {
        if let Some(m) = rules.meta.get(*entry as usize) {
            add(m.key, value.clone());
        }
    }
    if !item.images().is_empty() {
        add("images", item.images().iter().map(|s| pictures::shown(s)).collect::<Vec<_>>().join(" | "));
    }
    // The planner checked that the shop can hold them.
    let attributes = rules.attributes.for_product(item.attributes()).ok().filter(|a| !a.entries.is_empty()).map(Box::new);
    drop_rows_unless(rules.report_rows, &mut rows);
    let new = NewProduct {
        line: item.line,
        categories,
        attributes,
        sku: item.sku.to_string(),
        title,
        regular,
        sale,
        price,
        stock: item.stock,
        stock_status,
        external_id: item.external_id.as_ref().map(|x| x.to_string()),
        content: item.content.clone(),
        kind: NewKind::Simple,
        rows,
    };
    (new, warnings)
}

#[cfg(test)]
mod tests;
