//! Which categories the feed's paths name, and which of them the shop lacks: a pure function of
//! the paths (in feed order) and the shop's tree. A level is the shop's term linked to the same
//! source group (`Ид`), else the child of the same parent with the same name as the shop shows
//! it (any case), else a category to create — in feed order, each path root to leaf. A term
//! found by its group `Ид` whose name changed in the source is renamed when `rename` is set
//! (`update_content` has `categories`); one found by name is linked to the group.
//! [`Categories`] is the outcome the planner reads: every path's leaf as a term of the tree.

use std::collections::HashMap;

use crate::catalog::categories::{Category, CategoryTree};
use crate::model::{path_text, CategoryPath};
use crate::woo::terms::{name_key, shown_name, stored_name};

/// A level of a path: a term the shop has, or the n-th of [`TreePlan::creates`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    Existing(u64),
    New(usize),
}

/// A category to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCategory {
    /// As WordPress stores it.
    pub name: String,
    /// `None`: a root.
    pub parent: Option<Node>,
    pub external: Option<String>,
    /// The whole path, for the report.
    pub path: String,
}

/// A term whose source group was renamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rename {
    pub term_id: u64,
    pub from: String,
    /// As WordPress stores it.
    pub to: String,
}

/// What the shop's tree needs so every path of the feed has a term.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreePlan {
    pub creates: Vec<NewCategory>,
    pub renames: Vec<Rename>,
    /// Existing terms found by name to link to their source group ID.
    pub links: Vec<(u64, String)>,
    leaves: HashMap<PathKey, Node>,
}

impl TreePlan {
    pub fn is_empty(&self) -> bool {
        self.creates.is_empty() && self.renames.is_empty() && self.links.is_empty()
    }
}

/// How a path is recognised: per level its group ID when it has one, else its name key.
type PathKey = Vec<String>;

fn path_key(path: &CategoryPath) -> PathKey {
    path.iter()
        .map(|s| match &s.id {
            Some(id) => format!("#{id}"),
            None => format!("={}", name_key(&s.name)),
        })
        .collect()
}

/// Resolves each path against the shop's tree.
pub fn plan_tree<'a>(paths: impl IntoIterator<Item = &'a CategoryPath>, tree: &CategoryTree, rename: bool) -> TreePlan {
    let mut plan = TreePlan::default();
    // New terms by (parent, name key) and by group ID.
    let mut new_named: HashMap<(Option<Node>, String), usize> = HashMap::new();
    let mut new_linked: HashMap<String, usize> = HashMap::new();
    for path in paths {
        let key = path_key(path);
        if plan.leaves.contains_key(&key) {
            continue;
        }
        let mut parent: Option<Node> = None;
        for (depth, seg) in path.iter().enumerate() {
            let found = seg.id.as_deref().and_then(|id| tree.by_external(id)).map(|c| Node::Existing(c.term_id)).or_else(|| seg.id.as_deref().and_then(|id| new_linked.get(id)).map(|&i| Node::New(i)));
            let node = match found {
                Some(Node::Existing(term_id)) => {
                    let c = tree.get(term_id).expect("found in the tree");
                    if rename && name_key(&c.name) != name_key(&seg.name) && !plan.renames.iter().any(|r| r.term_id == term_id) {
                        plan.renames.push(Rename { term_id, from: shown_name(&c.name), to: stored_name(&seg.name) });
                    }
                    Node::Existing(term_id)
                }
                Some(new) => new,
                None => {
                    let by_name = match parent {
                        None => tree.child_named(0, &seg.name).map(|c| Node::Existing(c.term_id)),
                        Some(Node::Existing(p)) => tree.child_named(p, &seg.name).map(|c| Node::Existing(c.term_id)),
                        Some(Node::New(_)) => None,
                    };
                    let by_name = by_name.or_else(|| new_named.get(&(parent, name_key(&seg.name))).map(|&i| Node::New(i)));
                    match by_name {
                        Some(Node::Existing(term_id)) => {
                            let c: &Category = tree.get(term_id).expect("found in the tree");
                            if let (Some(id), None) = (&seg.id, &c.external) {
                                if !plan.links.iter().any(|(t, _)| *t == term_id) {
                                    plan.links.push((term_id, id.clone()));
                                }
                            }
                            Node::Existing(term_id)
                        }
                        Some(new) => new,
                        None => {
                            let i = plan.creates.len();
                            plan.creates.push(NewCategory {
                                name: stored_name(&seg.name),
                                parent,
                                external: seg.id.clone(),
                                path: path_text(&path[..=depth]),
                            });
                            new_named.insert((parent, name_key(&seg.name)), i);
                            if let Some(id) = &seg.id {
                                new_linked.insert(id.clone(), i);
                            }
                            Node::New(i)
                        }
                    }
                }
            };
            parent = Some(node);
        }
        if let Some(leaf) = parent {
            plan.leaves.insert(key, leaf);
        }
    }
    plan
}

/// Every path's leaf category, once the tree holds them all (created, or — in a dry run —
/// standing in with IDs no term has).
#[derive(Debug, Clone, Default)]
pub struct Categories {
    pub tree: CategoryTree,
    leaves: HashMap<PathKey, u64>,
}

/// Term IDs of categories a dry run would create count down from here.
pub const DRY_RUN_IDS: u64 = u64::MAX / 2;

impl Categories {
    /// The plan's leaves as terms: `created[i]` is the (term ID, term_taxonomy ID) given to
    /// `plan.creates[i]`, which `tree` already holds.
    pub fn new(tree: CategoryTree, plan: &TreePlan, created: &[(u64, u64)]) -> Categories {
        let term = |n: Node| match n {
            Node::Existing(t) => t,
            Node::New(i) => created[i].0,
        };
        let leaves = plan.leaves.iter().map(|(k, n)| (k.clone(), term(*n))).collect();
        Categories { tree, leaves }
    }

    /// The tree as a dry run sees it: the categories to create added with stand-in IDs.
    pub fn imagined(mut tree: CategoryTree, plan: &TreePlan) -> Categories {
        let ids: Vec<(u64, u64)> = (0..plan.creates.len() as u64).map(|i| (DRY_RUN_IDS - i, DRY_RUN_IDS - i)).collect();
        add_created(&mut tree, plan, &ids);
        Categories::new(tree, plan, &ids)
    }

    /// The leaf term of a path the feed gave.
    pub fn leaf(&self, path: &CategoryPath) -> Option<&Category> {
        self.leaves.get(&path_key(path)).and_then(|t| self.tree.get(*t))
    }

    /// (term ID, term_taxonomy ID) of the leaves of a row's paths, in the row's order.
    pub fn leaves(&self, paths: &[CategoryPath]) -> Vec<(u64, u64)> {
        paths.iter().filter_map(|p| self.leaf(p)).map(|c| (c.term_id, c.tt_id)).collect()
    }

    /// Categories as a report cell: their paths, `|` between them.
    pub fn text(&self, term_ids: impl IntoIterator<Item = u64>) -> String {
        term_ids.into_iter().map(|t| self.tree.path_text(t)).collect::<Vec<_>>().join(" | ")
    }
}

/// Adds the created terms to the tree (`ids[i]` for `plan.creates[i]`).
pub fn add_created(tree: &mut CategoryTree, plan: &TreePlan, ids: &[(u64, u64)]) {
    for (c, &(term_id, tt_id)) in plan.creates.iter().zip(ids) {
        let parent = match c.parent {
            None => 0,
            Some(Node::Existing(p)) => p,
            Some(Node::New(i)) => ids[i].0,
        };
        tree.add(Category { term_id, tt_id, name: c.name.clone(), slug: String::new(), parent, external: c.external.clone() });
    }
}

/// Applies the renames and links to the tree as it is held (after they were written).
pub fn apply_renames(tree: &mut CategoryTree, plan: &TreePlan) {
    for r in &plan.renames {
        if let Some(c) = tree.get_mut(r.term_id) {
            c.name = r.to.clone();
        }
    }
    for (term_id, id) in &plan.links {
        if let Some(c) = tree.get_mut(*term_id) {
            c.external = Some(id.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Segment;

    fn cat(term_id: u64, parent: u64, name: &str, external: Option<&str>) -> Category {
        Category { term_id, tt_id: term_id, name: name.into(), slug: String::new(), parent, external: external.map(Into::into) }
    }

    fn path(names: &[&str]) -> CategoryPath {
        names.iter().map(|n| Segment::named(n)).collect()
    }

    #[test]
    fn missing_levels_are_created_in_feed_order_once() {
        let tree = CategoryTree::new(vec![cat(15, 0, "Uncategorized", None), cat(16, 0, "Одежда", None)]);
        let paths = vec![path(&["ОДЕЖДА", "Детская", "Боди"]), path(&["Одежда", "Детская", "Шапки"]), path(&["Дом & Сад"]), path(&["одежда", "детская", "боди"])];
        let plan = plan_tree(&paths, &tree, false);
        let made: Vec<(&str, Option<Node>)> = plan.creates.iter().map(|c| (c.name.as_str(), c.parent)).collect();
        assert_eq!(
            made,
            vec![
                ("Детская", Some(Node::Existing(16))),
                ("Боди", Some(Node::New(0))),
                ("Шапки", Some(Node::New(0))),
                ("Дом &amp; Сад", None),
            ]
        );
        assert_eq!(plan.creates[1].path, "ОДЕЖДА > Детская > Боди");
        let mut tree = tree;
        let ids = [(20, 30), (21, 31), (22, 32), (23, 33)];
        add_created(&mut tree, &plan, &ids);
        let cats = Categories::new(tree, &plan, &ids);
        assert_eq!(cats.leaf(&path(&["одежда", "ДЕТСКАЯ", "боди"])).map(|c| c.tt_id), Some(31));
        assert_eq!(cats.tree.path_text(21), "Одежда > Детская > Боди");
        assert_eq!(cats.leaf(&path(&["Дом &amp; Сад"])).map(|c| c.term_id), Some(23));
    }

    #[test]
    fn an_existing_tree_needs_nothing() {
        let tree = CategoryTree::new(vec![cat(16, 0, "Одежда", None), cat(17, 16, "Детская", None)]);
        let plan = plan_tree(&[path(&["одежда", "детская"])], &tree, true);
        assert!(plan.is_empty());
        assert_eq!(Categories::new(tree, &plan, &[]).leaf(&path(&["Одежда", "Детская"])).map(|c| c.term_id), Some(17));
    }

    #[test]
    fn a_group_is_found_by_its_id_and_renamed_only_when_asked() {
        let tree = CategoryTree::new(vec![cat(16, 0, "Одежда", Some("g1")), cat(17, 16, "Детская", None)]);
        let renamed: CategoryPath = vec![Segment { name: "Одежда и обувь".into(), id: Some("g1".into()) }, Segment { name: "Детская".into(), id: Some("g2".into()) }];
        let plan = plan_tree(&[renamed.clone()], &tree, false);
        assert!(plan.creates.is_empty() && plan.renames.is_empty());
        assert_eq!(plan.links, vec![(17, "g2".to_string())]);
        let plan = plan_tree(&[renamed.clone()], &tree, true);
        assert_eq!(plan.renames, vec![Rename { term_id: 16, from: "Одежда".into(), to: "Одежда и обувь".into() }]);
        let cats = Categories::new(tree, &plan, &[]);
        assert_eq!(cats.leaf(&renamed).map(|c| c.term_id), Some(17));
    }

    #[test]
    fn a_dry_run_imagines_the_new_terms() {
        let plan = plan_tree(&[path(&["A", "B"])], &CategoryTree::default(), false);
        let cats = Categories::imagined(CategoryTree::default(), &plan);
        let leaf = cats.leaf(&path(&["a", "b"])).expect("imagined");
        assert_eq!(cats.tree.path_text(leaf.term_id), "A > B");
        assert!(leaf.term_id > DRY_RUN_IDS - 10);
    }
}
