//! The shop's persistent object cache (Redis, as the Redis Object Cache plugin fills it): after
//! each chunk commits, the keys of what it changed go and the shop-wide versions and lists move,
//! in one pipelined round trip sent while the next chunk is written, so the storefront follows
//! the run chunk by chunk as it follows WooCommerce's own saves; at the end of the run the
//! shop-wide keys move once more. MySQL is
//! the truth: a cache that cannot be reached never undoes or blocks a database write, the run
//! says so at its end instead. Dry runs never connect.

pub mod keys;

use std::time::{Duration, SystemTime};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, IntoConnectionInfo};

use crate::config::{CacheMode, ObjectCache};
use crate::error::{Error, Result};
use crate::journal::CacheOwed;
pub use keys::{Invalidation, Keys};

/// Attempts at one invalidation before it is given up (0.2 s, 0.4 s, 0.8 s between them).
const ATTEMPTS: u32 = 4;
/// Keys per DEL command.
const DEL_BATCH: usize = 1000;

/// Sets each version key to the current `time()`, or one past its value when that is not older,
/// so a version always moves (two chunks in one second, WooCommerce's own bump in it).
const BUMP_VERSIONS: &str = r"
local now = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local old = tonumber(redis.call('GET', key))
  local new = now
  if old and old >= now then new = old + 1 end
  redis.call('SET', key, string.format('%d', new))
end
return #KEYS";

/// A connection to the object cache, and how its keys are built.
pub struct Cache {
    conn: MultiplexedConnection,
    keys: Keys,
    /// `WP_REDIS_PREFIX`, for a flush of its keys only.
    prefix: String,
    mode: CacheMode,
    /// Where it is, for messages (no password).
    shown: String,
    /// The first invalidation that could not be made, if one could not.
    failed: Option<String>,
    /// The invalidation in flight: its chunk, what it sends (to retry), the task sending it.
    pending: Option<(u32, Invalidation, tokio::task::JoinHandle<redis::RedisResult<()>>)>,
}

impl Cache {
    /// Connects to the configured cache (its database selected); the error never holds the URL.
    pub async fn connect(config: &ObjectCache, table_prefix: &str) -> Result<Cache> {
        let unreachable = |e: redis::RedisError| Error::Cache(format!("cannot reach the object cache at {}: {}", config.shown, describe(&e)));
        let info = config.url.expose().into_connection_info().map_err(|_| Error::Config(format!("[object_cache] url {} is not a Redis URL", config.shown)))?;
        let redis = info.redis_settings().clone().set_db(config.database as i64);
        let client = redis::Client::open(info.set_redis_settings(redis)).map_err(unreachable)?;
        let timeouts = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(10)));
        let conn = client.get_multiplexed_async_connection_with_config(&timeouts).await.map_err(unreachable)?;
        Ok(Cache { conn, keys: Keys::new(&config.prefix, table_prefix), prefix: config.prefix.clone(), mode: config.mode, shown: config.shown.clone(), failed: None, pending: None })
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn mode(&self) -> CacheMode {
        self.mode
    }

    /// After chunk `chunk_no` committed: its products and re-synced parents, and the
    /// `outofstock` term when its count moved. The invalidation is sent while the next chunk is
    /// written; returns the earlier chunk whose invalidation Redis has done by now, if one has
    /// (so its debt can go from the journal). A failure is remembered, not returned: the chunks stand, their debts
    /// stay. A flushing cache does nothing here.
    pub async fn after_chunk(&mut self, products: &[u64], parents: &[u64], term: Option<u64>, chunk_no: u32) -> Option<u32> {
        let done = self.drain().await;
        // Once the cache failed, the run no longer waits on it chunk after chunk.
        if self.mode == CacheMode::Flush || self.failed.is_some() {
            return done;
        }
        let invalidation = keys::after_write(&self.keys, products, parents, term);
        let conn = self.conn.clone();
        let sent = invalidation.clone();
        let task = tokio::spawn(async move { send(conn, &sent).await });
        self.pending = Some((chunk_no, invalidation, task));
        done
    }

    /// Waits for the invalidation in flight, if one is (retrying it when it failed); returns
    /// its chunk once Redis has done it.
    pub async fn drain(&mut self) -> Option<u32> {
        let (chunk_no, invalidation, task) = self.pending.take()?;
        let done = match task.await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(chunk = chunk_no, "the object cache refused chunk {chunk_no}'s invalidation ({}); retrying", describe(&e));
                self.apply(&invalidation, "a chunk's products").await
            }
            Err(e) => {
                self.failed.get_or_insert(format!("invalidating a chunk's products: {e}"));
                false
            }
        };
        done.then_some(chunk_no)
    }

    /// Invalidations earlier runs still owe: each debt's keys (targeted), or one flush for all;
    /// `term` is the `outofstock` term's ID. Returns how many of `debts`, from the first, were paid.
    pub async fn pay(&mut self, debts: &[CacheOwed], term: u64) -> usize {
        if debts.is_empty() {
            return 0;
        }
        if self.mode == CacheMode::Flush {
            return match self.flush().await {
                Ok(()) => debts.len(),
                Err(e) => {
                    self.failed.get_or_insert(format!("flushing it: {}", describe(&e)));
                    0
                }
            };
        }
        let mut paid = 0;
        for d in debts {
            let invalidation = keys::after_write(&self.keys, &d.products, &d.parents, d.term.then_some(term));
            if self.failed.is_some() || !self.apply(&invalidation, "what earlier runs owe").await {
                break;
            }
            paid += 1;
        }
        paid
    }

    /// At the end of a run that wrote: the shop-wide keys once more (targeted), or every key of
    /// the shop (flush). Then the run's verdict on the cache: an error if any step failed.
    pub async fn after_run(&mut self, wrote: bool) -> Result<()> {
        debug_assert!(self.pending.is_none(), "drain() before after_run()");
        if wrote {
            match self.mode {
                CacheMode::Targeted => {
                    self.apply(&keys::after_write(&self.keys, &[], &[], None), "the shop-wide keys").await;
                }
                CacheMode::Flush => {
                    if let Err(e) = self.flush().await {
                        self.failed.get_or_insert(format!("flushing it: {}", describe(&e)));
                    }
                }
            }
        }
        match self.failed.take() {
            None => Ok(()),
            Some(what) => Err(Error::Cache(format!(
                "the shop's database is updated, but its object cache at {} is not ({what}): the storefront may show old prices and \
                 stock until `woosync resume` or the next sync reaches the cache (the invalidations it owes are kept in the run journal), \
                 or the cache is flushed (`wp cache flush`)",
                self.shown
            ))),
        }
    }

    /// After categories were created, renamed or recounted: their terms (`hierarchy`: and the
    /// tree option) go at once. A flushing cache does nothing here.
    pub async fn categories_changed(&mut self, terms: &[u64], hierarchy: bool) {
        if self.mode == CacheMode::Flush || self.failed.is_some() || (terms.is_empty() && !hierarchy) {
            return;
        }
        let invalidation = keys::after_categories(&self.keys, terms, hierarchy);
        self.apply(&invalidation, "the product categories").await;
    }

    /// After the attributes phase created attributes or terms.
    pub async fn attributes_changed(&mut self, new_attributes: bool) {
        if self.mode == CacheMode::Flush || self.failed.is_some() {
            return;
        }
        let invalidation = keys::after_attributes(&self.keys, new_attributes);
        self.apply(&invalidation, "the product attributes").await;
    }

    /// Sends one invalidation as a pipeline, retrying with backoff; true once it is done.
    async fn apply(&mut self, inv: &Invalidation, what: &str) -> bool {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match send(self.conn.clone(), inv).await {
                Ok(()) => return true,
                Err(e) if attempt < ATTEMPTS => {
                    let wait = Duration::from_millis(200 * 2u64.pow(attempt - 1));
                    tracing::warn!(attempt, "the object cache refused invalidating {what} ({}); retrying in {} ms", describe(&e), wait.as_millis());
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    tracing::error!("the object cache could not be updated for {what}: {}", describe(&e));
                    self.failed.get_or_insert(format!("invalidating {what}: {}", describe(&e)));
                    return false;
                }
            }
        }
    }

    /// Every key of the shop: FLUSHDB of its database, or, with a prefix, each key under it
    /// (what `WP_REDIS_SELECTIVE_FLUSH` does).
    async fn flush(&mut self) -> redis::RedisResult<()> {
        if self.prefix.is_empty() {
            return redis::cmd("FLUSHDB").query_async(&mut self.conn).await;
        }
        let keys = self.scan(&keys::pattern_of(&self.prefix)).await?;
        for batch in keys.chunks(DEL_BATCH) {
            redis::cmd("DEL").arg(batch).query_async::<()>(&mut self.conn).await?;
        }
        Ok(())
    }

    /// The keys of this site (`WP_REDIS_PREFIX` + site prefix): `check` counts them.
    pub async fn site_keys(&mut self) -> redis::RedisResult<Vec<String>> {
        let pattern = self.keys.pattern();
        self.scan(&pattern).await
    }

    async fn scan(&mut self, pattern: &str) -> redis::RedisResult<Vec<String>> {
        let mut cursor: u64 = 0;
        let mut found = Vec::new();
        loop {
            let (next, batch): (u64, Vec<String>) =
                redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(1000).query_async(&mut self.conn).await?;
            found.extend(batch);
            if next == 0 {
                return Ok(found);
            }
            cursor = next;
        }
    }
}

/// The meta WooCommerce reads price and stock from, compared between the cache and MySQL.
pub const WATCHED_META: [&str; 5] = ["_price", "_regular_price", "_sale_price", "_stock", "_stock_status"];

/// A product whose cached `post_meta` says something other than the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub id: u64,
    pub key: &'static str,
    pub cached: String,
    pub stored: String,
}

impl Cache {
    /// The cached `post_meta` entries of `ids`, as WordPress would read them (`None` where a
    /// product is not cached, or its entry is not PHP-serialized: igbinary).
    pub async fn cached_meta(&mut self, ids: &[u64]) -> redis::RedisResult<Vec<Option<MetaCache>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.keys.key("post_meta", &id.to_string())).collect();
        let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET").arg(&keys).query_async(&mut self.conn).await?;
        Ok(values.into_iter().map(|v| v.and_then(|bytes| php_serde::from_bytes::<MetaCache>(&bytes).ok())).collect())
    }
}

/// One product's cached meta: meta key → its values, as `update_meta_cache()` stores them.
pub type MetaCache = std::collections::HashMap<String, Vec<String>>;

/// Where a cached entry and the database's rows disagree on the watched meta.
pub fn disagreements(id: u64, cached: &MetaCache, stored: &MetaCache) -> Vec<Stale> {
    let none = Vec::new();
    WATCHED_META
        .iter()
        .filter_map(|&key| {
            let (c, s) = (cached.get(key).unwrap_or(&none), stored.get(key).unwrap_or(&none));
            (c != s).then(|| Stale { id, key, cached: c.join(" "), stored: s.join(" ") })
        })
        .collect()
}

/// One invalidation as one pipeline: the deletes, the `last_changed` keys, the versions.
async fn send(mut conn: MultiplexedConnection, inv: &Invalidation) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    for batch in inv.delete.chunks(DEL_BATCH) {
        pipe.cmd("DEL").arg(batch).ignore();
    }
    let stamp = keys::microtime(SystemTime::now());
    for key in &inv.last_changed {
        pipe.cmd("SET").arg(key).arg(&stamp).ignore();
    }
    if !inv.versions.is_empty() {
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
        pipe.cmd("EVAL").arg(BUMP_VERSIONS).arg(inv.versions.len()).arg(&inv.versions).arg(now).ignore();
    }
    pipe.query_async::<()>(&mut conn).await
}

/// A Redis error as a message (the driver's carry no URL and no password).
fn describe(e: &redis::RedisError) -> String {
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::IntoConnectionInfo;

    #[test]
    fn a_cached_entry_is_read_as_php_serialized_and_compared() {
        let entry = br#"a:3:{s:4:"_sku";a:1:{i:0;s:3:"A-1";}s:6:"_price";a:1:{i:0;s:2:"10";}s:6:"_stock";a:1:{i:0;s:1:"5";}}"#;
        let cached: MetaCache = php_serde::from_bytes(entry).unwrap();
        let stored: MetaCache = [("_price", "12"), ("_stock", "5"), ("_stock_status", "instock")].iter().map(|(k, v)| (k.to_string(), vec![v.to_string()])).collect();
        let found = disagreements(7, &cached, &stored);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0], Stale { id: 7, key: "_price", cached: "10".into(), stored: "12".into() });
        assert_eq!((found[1].key, found[1].cached.as_str(), found[1].stored.as_str()), ("_stock_status", "", "instock"));
    }

    #[test]
    fn the_driver_takes_every_url_form_the_config_accepts() {
        for url in ["redis://127.0.0.1:6379", "redis://:pw@cache.example:6390/3", "rediss://cache.example:6380", "unix:///run/redis/redis.sock", "redis+unix:///run/redis.sock"] {
            assert!(url.into_connection_info().is_ok(), "{url}");
        }
        let info = "rediss://user:pw@cache.example:6380".into_connection_info().unwrap();
        assert!(matches!(info.addr(), redis::ConnectionAddr::TcpTls { host, port: 6380, .. } if host == "cache.example"), "{:?}", info.addr());
        let socket = "unix:///run/redis/redis.sock".into_connection_info().unwrap();
        assert!(matches!(socket.addr(), redis::ConnectionAddr::Unix(path) if path.to_str() == Some("/run/redis/redis.sock")));
    }
}
