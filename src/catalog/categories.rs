//! The shop's product categories (`product_cat`) as WordPress holds them: the tree (term,
//! term_taxonomy id, name as stored, slug, parent, and the 1C group `Ид` kept in term meta),
//! read once per run when the feed names categories; and which categories each product is in,
//! read only when `[sync] update_content` keeps them in step. Reads only.

use std::collections::{HashMap, HashSet};

use mysql_async::prelude::*;
use mysql_async::Conn;

use crate::error::{Error, Result};
use crate::woo::terms::{name_key, shown_name};

/// One `product_cat` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub term_id: u64,
    pub tt_id: u64,
    /// As stored (`&` as `&amp;`).
    pub name: String,
    pub slug: String,
    /// The parent's term ID, 0 for a root.
    pub parent: u64,
    /// The source's ID of the group (term meta `[sync] external_id_meta`), if linked.
    pub external: Option<String>,
}

/// The `product_cat` tree.
#[derive(Debug, Clone, Default)]
pub struct CategoryTree {
    terms: Vec<Category>,
    by_term: HashMap<u64, usize>,
    by_tt: HashMap<u64, usize>,
}

impl CategoryTree {
    pub fn new(terms: Vec<Category>) -> CategoryTree {
        let mut tree = CategoryTree::default();
        for c in terms {
            tree.add(c);
        }
        tree
    }

    pub fn add(&mut self, c: Category) {
        let i = self.terms.len();
        self.by_term.insert(c.term_id, i);
        self.by_tt.insert(c.tt_id, i);
        self.terms.push(c);
    }

    pub fn get(&self, term_id: u64) -> Option<&Category> {
        self.by_term.get(&term_id).map(|&i| &self.terms[i])
    }

    pub fn get_mut(&mut self, term_id: u64) -> Option<&mut Category> {
        self.by_term.get(&term_id).map(|&i| &mut self.terms[i])
    }

    pub fn by_tt(&self, tt_id: u64) -> Option<&Category> {
        self.by_tt.get(&tt_id).map(|&i| &self.terms[i])
    }

    /// The term linked to a source group ID (the lowest term ID when several are).
    pub fn by_external(&self, id: &str) -> Option<&Category> {
        self.terms.iter().filter(|c| c.external.as_deref() == Some(id)).min_by_key(|c| c.term_id)
    }

    /// The child of `parent` (0: a root) with this name as the shop shows it, any case; the
    /// lowest term ID when there are several.
    pub fn child_named(&self, parent: u64, name: &str) -> Option<&Category> {
        let key = name_key(name);
        self.terms.iter().filter(|c| c.parent == parent && name_key(&c.name) == key).min_by_key(|c| c.term_id)
    }

    /// The term's ancestors, nearest first (`get_ancestors()`); a loop in the data ends the walk.
    pub fn ancestors(&self, term_id: u64) -> Vec<u64> {
        let mut out = Vec::new();
        let mut at = self.get(term_id).map(|c| c.parent).unwrap_or(0);
        while at != 0 && at != term_id && !out.contains(&at) {
            out.push(at);
            at = self.get(at).map(|c| c.parent).unwrap_or(0);
        }
        out
    }

    /// The term and every term below it.
    pub fn subtree(&self, term_id: u64) -> Vec<u64> {
        let mut children: HashMap<u64, Vec<u64>> = HashMap::new();
        for c in &self.terms {
            children.entry(c.parent).or_default().push(c.term_id);
        }
        let mut out = vec![term_id];
        let mut seen: HashSet<u64> = HashSet::from([term_id]);
        let mut i = 0;
        while i < out.len() {
            for &child in children.get(&out[i]).into_iter().flatten() {
                if seen.insert(child) {
                    out.push(child);
                }
            }
            i += 1;
        }
        out
    }

    /// `Одежда > Детская > Боди`: the names as the shop shows them, root first.
    pub fn path_text(&self, term_id: u64) -> String {
        let mut ids = self.ancestors(term_id);
        ids.reverse();
        ids.push(term_id);
        ids.iter().filter_map(|id| self.get(*id)).map(|c| shown_name(&c.name)).collect::<Vec<_>>().join(" > ")
    }

    /// The `product_cat_children` option WordPress keeps (`_get_term_hierarchy()`): parent →
    /// child term IDs, parents in the order of their first child, both by term ID.
    pub fn hierarchy(&self) -> Vec<(u64, Vec<u64>)> {
        let mut sorted: Vec<&Category> = self.terms.iter().collect();
        sorted.sort_by_key(|c| c.term_id);
        let mut out: Vec<(u64, Vec<u64>)> = Vec::new();
        for c in sorted.into_iter().filter(|c| c.parent > 0) {
            match out.iter_mut().find(|(p, _)| *p == c.parent) {
                Some((_, kids)) => kids.push(c.term_id),
                None => out.push((c.parent, vec![c.term_id])),
            }
        }
        out
    }

    /// Reads every `product_cat` term, with its source group ID under `external_meta`.
    pub async fn load(conn: &mut Conn, prefix: &str, external_meta: &str) -> Result<CategoryTree> {
        let p = prefix;
        let rows: Vec<(u64, u64, String, String, u64, Option<String>)> = conn
            .exec(
                format!(
                    "SELECT t.term_id, tt.term_taxonomy_id, t.name, t.slug, tt.parent, \
                     (SELECT MIN(m.meta_value) FROM `{p}termmeta` m WHERE m.term_id = t.term_id AND m.meta_key = ?) \
                     FROM `{p}terms` t JOIN `{p}term_taxonomy` tt ON tt.term_id = t.term_id \
                     WHERE tt.taxonomy = 'product_cat' ORDER BY t.term_id"
                ),
                (external_meta,),
            )
            .await
            .map_err(|e| Error::db("reading the product categories", e))?;
        Ok(CategoryTree::new(
            rows.into_iter()
                .map(|(term_id, tt_id, name, slug, parent, external)| Category { term_id, tt_id, name, slug, parent, external: external.filter(|x| !x.is_empty()) })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(term_id: u64, parent: u64, name: &str) -> Category {
        Category { term_id, tt_id: term_id + 100, name: name.into(), slug: String::new(), parent, external: None }
    }

    #[test]
    fn walks_the_tree_both_ways() {
        let tree = CategoryTree::new(vec![cat(16, 0, "Одежда"), cat(17, 16, "Детская"), cat(18, 17, "Боди"), cat(19, 16, "Дом &amp; Сад")]);
        assert_eq!(tree.ancestors(18), vec![17, 16]);
        assert_eq!(tree.subtree(16), vec![16, 17, 19, 18]);
        assert_eq!(tree.path_text(18), "Одежда > Детская > Боди");
        assert_eq!(tree.child_named(16, "дом & сад").map(|c| c.term_id), Some(19));
        assert_eq!(tree.child_named(0, "Детская"), None);
        assert_eq!(tree.hierarchy(), vec![(16, vec![17, 19]), (17, vec![18])]);
        assert_eq!(tree.by_tt(118).map(|c| c.term_id), Some(18));
    }

    #[test]
    fn a_loop_in_the_data_ends_the_walk() {
        let tree = CategoryTree::new(vec![cat(1, 2, "a"), cat(2, 1, "b")]);
        assert_eq!(tree.ancestors(1), vec![2]);
    }
}
