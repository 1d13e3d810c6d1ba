//! What the object cache is still owed: a chunk records its invalidation in the journal with its
//! checkpoint and the record goes once Redis has done it, so a crash or an outage between the two
//! is made good by the next run (before it writes) or by `woosync resume`.

use super::Run;
use crate::config::CacheMode;
use crate::error::Result;
use crate::journal;

/// Pays every invalidation earlier runs still owe, oldest first, while the cache takes them.
pub(super) async fn settle(run: &mut Run<'_>) -> Result<()> {
    let Some(cache) = run.cache.as_mut() else { return Ok(()) };
    let prefix = &run.shop.prefix;
    if !journal::tables_exist(&mut run.conn, prefix).await? {
        return Ok(());
    }
    let debts = journal::cache_debts(&mut run.conn, prefix).await?;
    if debts.is_empty() {
        return Ok(());
    }
    let paid = cache.pay(&debts, run.shop.outofstock_term).await;
    for d in &debts[..paid] {
        journal::cache_paid(&mut run.conn, prefix, d.run_id, d.chunk_no).await?;
    }
    tracing::info!(paid, owed = debts.len(), "object cache: {paid} of {} invalidations owed by earlier runs made", debts.len());
    Ok(())
}

/// After a run that flushed the cache: whatever was owed is paid by the flush.
pub(super) async fn flushed(run: &mut Run<'_>) -> Result<()> {
    if run.cache.as_ref().is_some_and(|c| c.mode() == CacheMode::Flush) {
        journal::cache_paid_all(&mut run.conn, &run.shop.prefix).await?;
    }
    Ok(())
}
