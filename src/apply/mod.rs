//! Applies a plan in chunks. Each chunk is one transaction that also writes its checkpoint row,
//! so a chunk is applied whole or not at all and never twice. Deadlocks and lock-wait timeouts
//! roll the chunk back and retry it with backoff; a data error is [`Error::Refused`] (the run
//! looks for the row); any other error stops the run (resumable).
//! In a dry run the same path is walked and nothing is sent to the database.

pub mod attributes;
pub mod categories;
mod create;
pub mod media;
pub mod statements;

use std::borrow::Cow;
use std::time::Duration;

use chrono::Utc;
use mysql_async::prelude::*;
use mysql_async::{Conn, TxOpts};

use crate::catalog::{Catalog, PostType, Shop};
use crate::error::{is_retryable, Error, Result};
use crate::plan::{MetaOp, TermChange, Unit};
use crate::report::ReportRow;
use statements::{LookupRow, Statement};

/// Everything a chunk writer needs besides the chunk.
pub struct Target<'a> {
    pub shop: &'a Shop,
    /// The rules the plan was made by, to plan again what changed before a chunk commits.
    pub rules: &'a crate::plan::Rules,
    pub run_id: u64,
    pub new_status: &'a str,
    pub author_id: u64,
    pub external_id_meta: &'static str,
    /// The shop has an object cache: each chunk records what it owes it, with its checkpoint.
    pub owe_cache: bool,
    /// Where new products' pictures go (`[wordpress]`); `None`: pictures are not written.
    pub pictures: Option<std::sync::Arc<crate::media::Pictures>>,
}

/// What one committed chunk did.
#[derive(Debug, Default)]
pub struct ChunkDone {
    pub products: usize,
    pub created: usize,
    pub updated: usize,
    /// Report rows, with the IDs of created products filled in.
    pub rows: Vec<ReportRow>,
    /// Variable parents whose caches must be dropped at the end of the run.
    pub parents: Vec<u64>,
    pub term_changes: usize,
    pub attempts: u32,
    /// IDs of the products this chunk created.
    pub created_ids: Vec<u64>,
    /// IDs of the existing products and variations it updated (not the re-synced parents).
    pub updated_ids: Vec<u64>,
    /// Categories whose count or count meta it wrote (the object cache's term entries go).
    pub category_terms: Vec<u64>,
    /// Warning rows the writing added (pictures that could not be had).
    pub warnings: usize,
}

/// Summarises a chunk without writing (dry run), or after writing it.
fn summarise(chunk: &[Unit]) -> ChunkDone {
    let mut done = ChunkDone::default();
    for unit in chunk {
        done.products += unit.creates.len() + unit.updates.len();
        done.created += unit.creates.iter().filter(|c| c.from_row()).count();
        for u in &unit.updates {
            if !u.resynced_parent {
                done.updated += 1;
                done.updated_ids.push(u.id);
            }
            if u.resynced_parent {
                done.parents.push(u.id);
            } else if u.parent != 0 {
                done.parents.push(u.parent);
            }
            if u.term.is_some() {
                done.term_changes += 1;
            }
            done.rows.extend(u.rows.iter().cloned());
        }
        for c in &unit.creates {
            done.rows.extend(c.rows.iter().cloned());
        }
    }
    done.parents.sort_unstable();
    done.parents.dedup();
    done
}

pub fn dry_chunk(chunk: &[Unit]) -> ChunkDone {
    summarise(chunk)
}

/// Applies one chunk in one transaction together with its checkpoint, retrying deadlocks and
/// lock-wait timeouts, and reconnecting when the connection is lost (killed, server restart):
/// the checkpoint row says whether the chunk committed before the loss; if not, it is applied
/// again from the start (the server rolled it back).
pub async fn apply_chunk(conn: &mut Conn, settings: &crate::config::Settings, target: &Target<'_>, chunk_no: u32, chunk: &[Unit]) -> Result<ChunkDone> {
    // The pictures of new products and of products whose pictures change: files made (and
    // recorded) before the transaction, once.
    let pictures = media::prepare(conn, target, chunk_no, chunk).await?;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match try_chunk(conn, target, chunk_no, chunk, &pictures).await {
            Ok(mut done) => {
                done.attempts = attempt;
                pictures.committed(target, &mut done);
                return Ok(done);
            }
            Err(ChunkError::Driver(e)) if crate::error::is_connection_lost(&e) && attempt < crate::error::RECONNECT_ATTEMPTS => {
                let wait = crate::error::reconnect_wait(attempt);
                tracing::warn!(chunk = chunk_no, attempt, "chunk {chunk_no}: the database connection was lost ({e}); reconnecting in {} ms", wait.as_millis());
                tokio::time::sleep(wait).await;
                match crate::catalog::connect(settings).await {
                    Ok(fresh) => *conn = fresh,
                    Err(e) => {
                        tracing::warn!(chunk = chunk_no, "reconnecting failed: {e}");
                        continue;
                    }
                }
                let p = &target.shop.prefix;
                let committed: Option<u64> = conn
                    .exec_first(format!("SELECT chunk_no FROM `{p}woosync_chunks` WHERE run_id = ? AND chunk_no = ?"), (target.run_id, chunk_no))
                    .await
                    .map_err(|e| Error::db("checking the chunk's checkpoint after reconnecting", e))?;
                if committed.is_some() {
                    tracing::warn!(chunk = chunk_no, "chunk {chunk_no} had committed before the connection was lost");
                    let mut done = summarise(chunk);
                    done.attempts = attempt;
                    pictures.committed(target, &mut done);
                    return Ok(done);
                }
            }
            Err(ChunkError::Driver(e)) if is_retryable(&e) && attempt < 6 => {
                let wait = Duration::from_millis(200 * 2u64.pow(attempt - 1));
                tracing::warn!(chunk = chunk_no, attempt, "chunk rolled back ({e}); retrying in {} ms", wait.as_millis());
                tokio::time::sleep(wait).await;
            }
            Err(ChunkError::Driver(e)) => return Err(rolled_back(chunk_no, e)),
            Err(ChunkError::Other(e)) => return Err(e),
        }
    }
}

/// A chunk's driver error as the run reports it: a data error as [`Error::Refused`].
fn rolled_back(chunk_no: u32, e: mysql_async::Error) -> Error {
    let message = format!("chunk {chunk_no} was rolled back: {e}");
    match crate::error::data_error_signature(&e) {
        Some(signature) => Error::Refused { signature, detail: e.to_string(), message },
        None => Error::Database(message),
    }
}

/// Whether a chunk's bookkeeping alone can be written: the checkpoint and the run's counter in
/// a transaction that is rolled back. When a chunk was refused with a data error and this is
/// refused too, the error is not any row's (a trigger, a broken table) and finding the row is
/// pointless.
pub async fn probe(conn: &mut Conn, target: &Target<'_>, chunk_no: u32) -> Result<()> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    let result = checkpoint(&mut tx, target, chunk_no, &ChunkDone::default()).await;
    tx.rollback().await?;
    result.map_err(|e| rolled_back(chunk_no, e))
}

/// The chunk's checkpoint row and the run's chunk counter, written in the chunk's transaction.
async fn checkpoint(tx: &mut mysql_async::Transaction<'_>, target: &Target<'_>, chunk_no: u32, done: &ChunkDone) -> Result<(), mysql_async::Error> {
    let p = &target.shop.prefix;
    tx.exec_drop(
        format!(
            "INSERT INTO `{p}woosync_chunks` (run_id, chunk_no, products, created, updated, committed_at) VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP())"
        ),
        (target.run_id, chunk_no, done.products as u64, done.created as u64, done.updated as u64),
    )
    .await?;
    tx.exec_drop(
        format!("UPDATE `{p}woosync_runs` SET chunks_done = chunks_done + 1, heartbeat_at = UTC_TIMESTAMP() WHERE id = ?"),
        (target.run_id,),
    )
    .await
}

enum ChunkError {
    Driver(mysql_async::Error),
    Other(Error),
}

impl From<mysql_async::Error> for ChunkError {
    fn from(e: mysql_async::Error) -> Self {
        ChunkError::Driver(e)
    }
}

async fn run_all<Q: Queryable>(q: &mut Q, statements: Vec<Statement>) -> Result<(), mysql_async::Error> {
    for (sql, params) in statements {
        if params.is_empty() {
            q.query_drop(sql).await?;
        } else {
            q.exec_drop(sql, params).await?;
        }
    }
    Ok(())
}

async fn try_chunk(conn: &mut Conn, target: &Target<'_>, chunk_no: u32, chunk: &[Unit], pictures: &media::ChunkPictures) -> Result<ChunkDone, ChunkError> {
    let shop = target.shop;
    let p = &shop.prefix;
    let now = Utc::now();
    let local = shop.utc_offset.local(now).format("%Y-%m-%d %H:%M:%S").to_string();
    let gmt = now.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string();
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    pictures.begin();
    let chunk = &*checked(&mut tx, target, chunk_no, chunk).await?;
    let mut done = summarise(chunk);

    // Creates first: they yield the IDs the report rows need.
    let creates: Vec<&crate::plan::NewProduct> = chunk.iter().flat_map(|u| u.creates.iter()).collect();
    if !creates.is_empty() {
        let ids = create::insert_products(&mut tx, target, chunk_no, &creates, pictures, &local, &gmt).await?;
        done.created_ids = ids.clone();
        // The report rows are each unit's updates' rows, then its creates' (see `summarise`).
        let (mut k, mut at) = (0, 0);
        for unit in chunk {
            at += unit.updates.iter().map(|u| u.rows.len()).sum::<usize>();
            for c in &unit.creates {
                for row in &mut done.rows[at..at + c.rows.len()] {
                    row.product_id = Some(ids[k]);
                }
                at += c.rows.len();
                k += 1;
            }
        }
    }

    let updates: Vec<&crate::plan::Update> = chunk.iter().flat_map(|u| u.updates.iter()).collect();
    let mut sets: Vec<(u64, String)> = Vec::new();
    let mut inserts: Vec<(u64, &str, Option<String>)> = Vec::new();
    let mut deletes: Vec<u64> = Vec::new();
    let mut lookups: Vec<LookupRow> = Vec::new();
    let mut missing_lookup: Vec<u64> = Vec::new();
    let mut term_add: Vec<(u64, u64)> = Vec::new();
    let mut term_remove: Vec<u64> = Vec::new();
    let mut count_delta: i64 = 0;
    let mut counted_terms: Vec<u64> = Vec::new();
    let mut touched: Vec<u64> = Vec::new();
    let mut categories = categories::Touched::default();
    for c in &creates {
        categories.visible.extend(c.categories.iter().map(|(t, _)| *t));
    }
    let mut cat_add: Vec<(u64, u64)> = Vec::new();
    let mut cat_remove: Vec<(u64, u64)> = Vec::new();
    for u in &updates {
        if let Some(m) = &u.categories {
            cat_add.extend(m.add.iter().map(|(_, tt)| (u.id, *tt)));
            cat_remove.extend(m.remove.iter().map(|(_, tt)| (u.id, *tt)));
            for (term, tt) in m.add.iter().chain(&m.remove) {
                categories.visible.insert(*term);
                if u.published {
                    categories.direct.insert(*tt);
                }
            }
            categories.published |= u.published;
        }
        for op in &u.ops {
            match op {
                MetaOp::Set { ids, value, .. } => sets.extend(ids.iter().map(|id| (*id, value.to_string()))),
                MetaOp::Insert { key, value } => inserts.push((u.id, key, value.as_ref().map(|v| v.to_string()))),
                MetaOp::Delete { ids, .. } => deletes.extend(ids.iter().copied()),
            }
        }
        if let Some((values, missing)) = &u.lookup {
            lookups.push(lookup_row(u.id, values));
            if *missing {
                missing_lookup.push(u.id);
            }
        }
        match u.term {
            Some(TermChange::Add) => {
                term_add.push((u.id, shop.outofstock_tt));
                count_delta += u.published as i64;
            }
            Some(TermChange::Remove) => {
                term_remove.push(u.id);
                count_delta -= u.published as i64;
            }
            None => {}
        }
        if u.touch {
            touched.push(u.id);
        }
        // A parent gaining a new variation's attribute value (counted when it is published).
        term_add.extend(u.add_terms.iter().map(|tt| (u.id, *tt)));
        if u.published {
            counted_terms.extend(u.add_terms.iter().copied());
        }
        debug_assert!(u.post_type == PostType::Product || u.post_type == PostType::Variation);
    }

    // Card fields `update_content` keeps in step.
    for u in &updates {
        let Some(pc) = &u.post else { continue };
        if pc.title.is_some() || pc.content.is_some() || pc.excerpt.is_some() {
            tx.exec_drop(
                format!("UPDATE `{p}posts` SET post_title = COALESCE(?, post_title), post_content = COALESCE(?, post_content), post_excerpt = COALESCE(?, post_excerpt) WHERE ID = ?"),
                (&pc.title, &pc.content, &pc.excerpt, u.id),
            )
            .await?;
        }
        if let (Some(old), Some(new)) = (&pc.old_title, &pc.title) {
            tx.exec_drop(
                format!("UPDATE `{p}posts` SET post_title = REPLACE(post_title, ?, ?) WHERE post_type = 'product_variation' AND post_parent = ?"),
                (if old.is_empty() { "AUTO-DRAFT" } else { old.as_str() }, new, u.id),
            )
            .await?;
            done.updated_ids.extend(pc.children.iter().copied());
        }
        if let Some(g) = &pc.gtin {
            let held: Option<u64> = tx.exec_first(format!("SELECT meta_id FROM `{p}postmeta` WHERE post_id = ? AND meta_key = '_global_unique_id' LIMIT 1"), (u.id,)).await?;
            match held {
                Some(_) => tx.exec_drop(format!("UPDATE `{p}postmeta` SET meta_value = ? WHERE post_id = ? AND meta_key = '_global_unique_id'"), (g, u.id)).await?,
                None => tx.exec_drop(format!("INSERT INTO `{p}postmeta` (post_id, meta_key, meta_value) VALUES (?, '_global_unique_id', ?)"), (u.id, g)).await?,
            }
            if shop.has_global_unique_id {
                tx.exec_drop(format!("UPDATE `{p}wc_product_meta_lookup` SET global_unique_id = ? WHERE product_id = ?"), (g, u.id)).await?;
            }
        }
    }

    // Pictures kept in step (`update_content` has `images`).
    for u in &updates {
        if let Some(change) = &u.pictures {
            pictures.put(&mut tx, target, u.id, &u.sku, u.post_type, change, &local, &gmt).await?;
        }
    }

    // Attributes kept in step: the terms a product leaves (counted when it is published), and its
    // attribute lookup rows for the taxonomies that changed, as WooCommerce's queued update writes them.
    for u in &updates {
        let Some(a) = &u.attributes else { continue };
        if !a.remove_terms.is_empty() {
            let list = a.remove_terms.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
            tx.exec_drop(format!("DELETE FROM `{p}term_relationships` WHERE object_id = ? AND term_taxonomy_id IN ({list})"), (u.id,)).await?;
            if u.published {
                tx.query_drop(format!("UPDATE `{p}term_taxonomy` SET count = GREATEST(count - 1, 0) WHERE term_taxonomy_id IN ({list})")).await?;
            }
        }
        if shop.has_attribute_lookup && !a.taxonomies.is_empty() {
            let marks = vec!["?"; a.taxonomies.len()].join(",");
            let params: Vec<mysql_async::Value> = std::iter::once(u.id.into()).chain(a.taxonomies.iter().map(|t| t.as_str().into())).collect();
            tx.exec_drop(format!("DELETE FROM `{p}wc_product_attributes_lookup` WHERE product_id = ? AND taxonomy IN ({marks})"), params).await?;
            let rows: Vec<(u64, u64, &str, u64, bool, bool)> = a.lookup.iter().map(|(t, term)| (u.id, u.id, t.as_str(), *term, false, a.in_stock)).collect();
            run_all(&mut tx, statements::add_attribute_lookups(p, &rows)).await?;
        }
    }

    // Deletes before inserts: a parent's `_price` rows are replaced whole.
    run_all(&mut tx, statements::delete_meta(p, &deletes)).await?;
    run_all(&mut tx, statements::set_meta(p, &sets)).await?;
    crate::crashpoint::here(format_args!("chunk-{chunk_no}-mid"));
    run_all(&mut tx, statements::insert_meta(p, &inserts)).await?;
    run_all(&mut tx, statements::upsert_lookup(p, shop.has_global_unique_id, &lookups)).await?;
    run_all(&mut tx, statements::fill_lookup(p, target.shop.has_global_unique_id, &missing_lookup)).await?;
    run_all(&mut tx, statements::add_terms(p, &term_add)).await?;
    run_all(&mut tx, statements::remove_terms(p, shop.outofstock_tt, &term_remove)).await?;
    if count_delta != 0 {
        tx.exec_drop(
            format!("UPDATE `{p}term_taxonomy` SET count = GREATEST(count + ?, 0) WHERE term_taxonomy_id = ?"),
            (count_delta, shop.outofstock_tt),
        )
        .await?;
    }
    counted_terms.sort_unstable();
    for run in counted_terms.chunk_by(|a, b| a == b) {
        tx.exec_drop(format!("UPDATE `{p}term_taxonomy` SET count = count + ? WHERE term_taxonomy_id = ?"), (run.len() as u64, run[0])).await?;
    }
    run_all(&mut tx, statements::touch(p, &touched, &local, &gmt)).await?;
    run_all(&mut tx, statements::remove_term_pairs(p, &cat_remove)).await?;
    run_all(&mut tx, statements::add_terms(p, &cat_add)).await?;
    if !categories.is_empty() {
        done.category_terms = categories::recount(&mut tx, shop, &target.rules.categories.tree, &categories).await?;
    }
    if !done.parents.is_empty() {
        let parents = &done.parents;
        tx.exec_drop(
            format!(
                "INSERT IGNORE INTO `{p}woosync_parents` (run_id, parent_id) VALUES {}",
                vec!["(?, ?)"; parents.len()].join(", ")
            ),
            parents.iter().flat_map(|id| [mysql_async::Value::from(target.run_id), mysql_async::Value::from(*id)]).collect::<Vec<_>>(),
        )
        .await?;
    }
    crate::crashpoint::here(format_args!("chunk-{chunk_no}-end"));

    // The checkpoint commits with the work, and with it what the object cache is owed.
    if target.owe_cache {
        let owed = crate::journal::CacheOwed {
            run_id: target.run_id,
            chunk_no,
            products: done.updated_ids.clone(),
            parents: done.parents.clone(),
            term: done.term_changes > 0,
        };
        crate::journal::owe_cache(&mut tx, p, &owed).await?;
    }
    if let Some(id) = pictures.pending {
        crate::media::pending::settle(&mut tx, p, id).await?;
    }
    checkpoint(&mut tx, target, chunk_no, &done).await?;
    tx.commit().await?;
    crate::crashpoint::here(format_args!("chunk-{chunk_no}-committed"));
    Ok(done)
}

/// The chunk as it will be written. The `_stock` rows of every product its plan depends on are
/// locked (`FOR UPDATE`, by primary key, until the chunk commits) and compared with what the plan
/// saw; a unit whose products changed since the run read the shop — an order placed
/// meanwhile — is planned again from its products read whole as they are now, so nothing
/// derived is written from a stale snapshot.
async fn checked<'c>(tx: &mut mysql_async::Transaction<'_>, target: &Target<'_>, chunk_no: u32, chunk: &'c [Unit]) -> Result<Cow<'c, [Unit]>, ChunkError> {
    let ids: Vec<u64> = chunk.iter().flat_map(|u| u.deps.iter().map(|d| d.id)).collect();
    if ids.is_empty() {
        return Ok(Cow::Borrowed(chunk));
    }
    let rows: Vec<u64> = chunk.iter().flat_map(|u| u.deps.iter().flat_map(|d| d.rows.iter().copied())).collect();
    let now = Catalog::load_stock_rows(tx, target.shop, &ids, &rows).await?;
    let stale: Vec<bool> = chunk.iter().map(|u| u.deps.iter().any(|d| now.stock_print(d.id) != Some(d.print))).collect();
    let changed = stale.iter().filter(|s| **s).count();
    if changed == 0 {
        return Ok(Cow::Borrowed(chunk));
    }
    tracing::info!(chunk = chunk_no, changed, "chunk {chunk_no}: {changed} of its products changed in the shop since the run read it; planned again from their rows as they are");
    let mut ids: Vec<u64> = chunk.iter().zip(&stale).filter(|(_, s)| **s).flat_map(|(u, _)| u.deps.iter().map(|d| d.id)).collect();
    ids.sort_unstable();
    ids.dedup();
    let fresh = Catalog::load_locked(tx, target.shop, &ids, target.external_id_meta).await?;
    Ok(Cow::Owned(chunk.iter().zip(&stale).map(|(u, s)| if *s { crate::plan::replan(u, &fresh, target.rules) } else { u.clone() }).collect()))
}

fn lookup_row(id: u64, v: &crate::woo::LookupValues) -> LookupRow {
    LookupRow {
        product_id: id,
        sku: v.sku.to_string(),
        min_price: v.min_price.map(|d| d.to_string()),
        max_price: v.max_price.map(|d| d.to_string()),
        onsale: v.onsale,
        stock_quantity: v.stock_quantity,
        stock_status: v.stock_status.to_string(),
        global_unique_id: None,
        tax_class: "",
    }
}

impl From<Error> for ChunkError {
    fn from(e: Error) -> Self {
        ChunkError::Other(e)
    }
}
