//! Writing the global attributes and attribute terms the feed names and the shop lacks, in one
//! transaction before the first chunk (a crash leaves none of it or all of it; a resumed or
//! repeated run finds it by slug, label and term name):
//!
//! - per attribute, `wc_create_attribute()`'s `woocommerce_attribute_taxonomies` row (`select`,
//!   `menu_order`, no archives); then its two follow-ups (CATALOGUE.md g1): the
//!   `wc_attribute_taxonomies` transient is deleted (WooCommerce registers the `pa_*` taxonomies
//!   from it, and rebuilds it from the table on the next request), and the single cron event
//!   `woocommerce_flush_rewrite_rules` is scheduled in the `cron` option as
//!   `wp_schedule_single_event()` schedules it (not twice while one is pending);
//! - per term, `wp_insert_term()`'s `wp_terms` and `wp_term_taxonomy` rows (count 0, slug made
//!   unique by `wp_unique_term_slug()` for a flat taxonomy) and term meta `order = 0` as
//!   WooCommerce's admin importers write it (g1a).

use mysql_async::prelude::*;
use mysql_async::{Conn, Transaction, TxOpts};

use crate::catalog::attributes::AttributeTerm;
use crate::catalog::Shop;
use crate::error::{Error, Result};
use crate::plan::attributes::AttributePlan;
use crate::woo::slug::sanitize_title;

/// The event `wc_create_attribute()` schedules.
pub const FLUSH_EVENT: &str = "woocommerce_flush_rewrite_rules";

/// Writes what `plan` says; returns the new terms in the order of `plan.terms`.
pub async fn write_attributes(conn: &mut Conn, shop: &Shop, plan: &AttributePlan, now: i64) -> Result<Vec<AttributeTerm>> {
    let wrap = |e| Error::db("creating the product attributes", e);
    let mut tx = conn.start_transaction(TxOpts::default()).await.map_err(wrap)?;
    let terms = write(&mut tx, shop, plan, now).await.map_err(wrap)?;
    tx.commit().await.map_err(wrap)?;
    if !plan.attributes.is_empty() || !plan.terms.is_empty() {
        tracing::info!(attributes = plan.attributes.len(), terms = plan.terms.len(), "created {} product attributes and {} attribute terms", plan.attributes.len(), plan.terms.len());
    }
    Ok(terms)
}

async fn write(tx: &mut Transaction<'_>, shop: &Shop, plan: &AttributePlan, now: i64) -> std::result::Result<Vec<AttributeTerm>, mysql_async::Error> {
    let p = &shop.prefix;
    for a in &plan.attributes {
        tx.exec_drop(
            format!(
                "INSERT INTO `{p}woocommerce_attribute_taxonomies` (attribute_label, attribute_name, attribute_type, attribute_orderby, attribute_public) \
                 VALUES (?, ?, 'select', 'menu_order', 0)"
            ),
            (&a.label, &a.slug),
        )
        .await?;
    }
    if !plan.attributes.is_empty() {
        tx.exec_drop(
            format!("DELETE FROM `{p}options` WHERE option_name IN ('_transient_wc_attribute_taxonomies', '_transient_timeout_wc_attribute_taxonomies')"),
            (),
        )
        .await?;
        schedule_single_event(tx, p, FLUSH_EVENT, now).await?;
    }
    let mut made: Vec<AttributeTerm> = Vec::with_capacity(plan.terms.len());
    let mut made_in: Vec<&str> = Vec::with_capacity(plan.terms.len());
    for t in &plan.terms {
        let base = match sanitize_title(&t.name) {
            s if s.is_empty() => "term".to_string(),
            s => s,
        };
        let taken_here = |slug: &str, same_taxonomy: bool| made.iter().zip(&made_in).any(|(m, tax)| m.slug == slug && (!same_taxonomy || *tax == t.taxonomy));
        // wp_unique_term_slug(): a suffix only when a term of the same taxonomy has the slug,
        // then -2, -3, ... until no term of any taxonomy has it.
        let in_taxonomy: Option<u64> = tx
            .exec_first(
                format!("SELECT tt.term_id FROM `{p}terms` t JOIN `{p}term_taxonomy` tt ON tt.term_id = t.term_id WHERE tt.taxonomy = ? AND t.slug = ? LIMIT 1"),
                (&t.taxonomy, &base),
            )
            .await?;
        let mut slug = base.clone();
        if in_taxonomy.is_some() || taken_here(&base, true) {
            let mut n = 2;
            loop {
                let candidate = format!("{base}-{n}");
                let exists: Option<u64> = tx.exec_first(format!("SELECT term_id FROM `{p}terms` WHERE slug = ? LIMIT 1"), (&candidate,)).await?;
                if exists.is_none() && !taken_here(&candidate, false) {
                    slug = candidate;
                    break;
                }
                n += 1;
            }
        }
        tx.exec_drop(format!("INSERT INTO `{p}terms` (name, slug, term_group) VALUES (?, ?, 0)"), (&t.name, &slug)).await?;
        let term_id = tx.last_insert_id().unwrap_or(0);
        tx.exec_drop(
            format!("INSERT INTO `{p}term_taxonomy` (term_id, taxonomy, description, parent, count) VALUES (?, ?, '', 0, 0)"),
            (term_id, &t.taxonomy),
        )
        .await?;
        let tt_id = tx.last_insert_id().unwrap_or(0);
        if term_id == 0 || tt_id == 0 {
            return Err(mysql_async::Error::Other("a new attribute term's IDs could not be read back".into()));
        }
        tx.exec_drop(format!("INSERT INTO `{p}termmeta` (term_id, meta_key, meta_value) VALUES (?, 'order', '0')"), (term_id,)).await?;
        made.push(AttributeTerm { term_id, tt_id, name: t.name.clone(), slug });
        made_in.push(&t.taxonomy);
    }
    Ok(made)
}

/// `wp_schedule_single_event(time(), hook)` on the `cron` option: an event without arguments
/// (key `md5(serialize([]))`), unless one for the hook is pending already. WordPress keeps the
/// events sorted by time and runs those due from the front, so the new one (due now) goes first.
async fn schedule_single_event(tx: &mut Transaction<'_>, p: &str, hook: &str, now: i64) -> std::result::Result<(), mysql_async::Error> {
    let current: Option<String> = tx.exec_first(format!("SELECT option_value FROM `{p}options` WHERE option_name = 'cron' FOR UPDATE"), ()).await?;
    let value = match current {
        None => {
            let event = event(hook, now);
            let value = format!("a:2:{{{event}s:7:\"version\";i:2;}}");
            tx.exec_drop(format!("INSERT INTO `{p}options` (option_name, option_value, autoload) VALUES ('cron', ?, 'on')"), (value,)).await?;
            return Ok(());
        }
        Some(v) => v,
    };
    match with_event(&value, hook, now) {
        Some(updated) => tx.exec_drop(format!("UPDATE `{p}options` SET option_value = ? WHERE option_name = 'cron'"), (updated,)).await,
        None => Ok(()),
    }
}

/// `i:<time>;a:1:{s:<n>:"<hook>";a:1:{s:32:"<md5 of a:0:{}>";a:2:{s:8:"schedule";b:0;s:4:"args";a:0:{}}}}`.
fn event(hook: &str, at: i64) -> String {
    format!("i:{at};a:1:{{s:{}:\"{hook}\";a:1:{{s:32:\"40cd750bba9870f18aada2478b24840a\";a:2:{{s:8:\"schedule\";b:0;s:4:\"args\";a:0:{{}}}}}}}}", hook.len())
}

/// The serialized cron array with the event added first, or `None` when one for the hook is
/// pending already or the value is not a serialized array.
pub fn with_event(cron: &str, hook: &str, now: i64) -> Option<String> {
    if cron.contains(&format!("s:{}:\"{hook}\";", hook.len())) {
        return None;
    }
    let rest = cron.strip_prefix("a:")?;
    let colon = rest.find(':')?;
    let count: usize = rest[..colon].parse().ok()?;
    let body = rest[colon + 1..].strip_prefix('{')?;
    // Another event at the same second would share the key: go a second earlier (still due).
    let mut at = now;
    while body.starts_with(&format!("i:{at};")) || body.contains(&format!("}}i:{at};")) {
        at -= 1;
    }
    Some(format!("a:{}:{{{}{body}", count + 1, event(hook, at)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flush_event_goes_first_and_only_once() {
        let cron = r#"a:2:{i:1795334059;a:1:{s:16:"wp_version_check";a:1:{s:32:"40cd750bba9870f18aada2478b24840a";a:3:{s:8:"schedule";s:10:"twicedaily";s:4:"args";a:0:{}s:8:"interval";i:43200;}}}s:7:"version";i:2;}"#;
        let added = with_event(cron, FLUSH_EVENT, 1796168123).unwrap();
        assert!(added.starts_with(r#"a:3:{i:1796168123;a:1:{s:31:"woocommerce_flush_rewrite_rules";a:1:{s:32:"40cd750bba9870f18aada2478b24840a";a:2:{s:8:"schedule";b:0;s:4:"args";a:0:{}}}}i:1795334059;"#), "{added}");
        assert!(added.ends_with(r#"s:7:"version";i:2;}"#));
        assert_eq!(with_event(&added, FLUSH_EVENT, 1796168200), None, "pending already");
        let same_second = with_event(cron, FLUSH_EVENT, 1795334059).unwrap();
        assert!(same_second.starts_with("a:3:{i:1795334058;"), "{same_second}");
        assert_eq!(with_event("garbage", FLUSH_EVENT, 1), None);
    }
}
