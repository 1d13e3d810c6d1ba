//! `[object_cache]`: the shop's persistent object cache (the Redis Object Cache plugin's Redis),
//! which woosync keeps in step with what it writes. The URL may carry a password only through
//! `WOOSYNC_REDIS_URL` (which wins) or `${VAR}` expansion, never written in the file.

use serde::Deserialize;

use super::{expand_env, Secret};
use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ObjectCacheSection {
    #[serde(rename = "type")]
    kind: String,
    url: Option<String>,
    #[serde(default)]
    database: u32,
    #[serde(default)]
    prefix: String,
    #[serde(default = "default_mode")]
    mode: String,
}

fn default_mode() -> String {
    "targeted".into()
}

/// How woosync makes its writes visible through the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    /// Only the keys of what changed, and the shop-wide versions and lists (the default).
    Targeted,
    /// Every key of the shop: the whole database, or the keys under `prefix` when one is set
    /// (for caches whose key layout is not the Redis Object Cache one).
    Flush,
}

/// The object cache as settled: where it is and how its keys are built.
#[derive(Debug, Clone)]
pub struct ObjectCache {
    pub url: Secret,
    /// The URL without its password, for messages.
    pub shown: String,
    /// `WP_REDIS_DATABASE`.
    pub database: u32,
    /// `WP_REDIS_PREFIX` (or `WP_CACHE_KEY_SALT`), as the plugin uses it: trimmed.
    pub prefix: String,
    pub mode: CacheMode,
}

impl ObjectCacheSection {
    pub(super) fn settle(self, env_url: Option<String>) -> Result<ObjectCache> {
        if self.kind != "redis" {
            return Err(Error::Config(format!(
                "[object_cache] type = {:?}: only \"redis\" is supported (for Memcached, flush it from a [hooks] after_success command)",
                self.kind
            )));
        }
        let url = match (env_url, &self.url) {
            (Some(url), _) => url,
            (None, Some(raw)) => {
                let expanded = expand_env(raw, "[object_cache] url")?;
                if password_of(raw).is_some_and(|p| !p.contains("${")) {
                    return Err(Error::Config(
                        "[object_cache] url holds a password: put it in WOOSYNC_REDIS_URL, or write it as ${VARIABLE} and set that variable".into(),
                    ));
                }
                expanded
            }
            (None, None) => {
                return Err(Error::Config("[object_cache] needs url = \"redis://127.0.0.1:6379\" (or the WOOSYNC_REDIS_URL environment variable)".into()))
            }
        };
        let shown = shown_url(&url)?;
        let mode = match self.mode.as_str() {
            "targeted" => CacheMode::Targeted,
            "flush" => CacheMode::Flush,
            other => return Err(Error::Config(format!("[object_cache] mode = {other:?}: expected \"targeted\" or \"flush\""))),
        };
        Ok(ObjectCache { url: Secret(url), shown, database: self.database, prefix: self.prefix.trim().to_string(), mode })
    }
}

/// The password part of a URL's authority, if it has one.
fn password_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    userinfo.split_once(':').map(|(_, p)| p).filter(|p| !p.is_empty())
}

/// The URL as messages show it: scheme, host, port, path (a socket), never the password.
fn shown_url(url: &str) -> Result<String> {
    let bad = || Error::Config("[object_cache] url: expected redis://host:6379, rediss://host:6380 (TLS) or unix:///path/to/redis.sock".into());
    let parsed = url::Url::parse(url).map_err(|_| bad())?;
    match parsed.scheme() {
        "redis" | "rediss" | "valkey" | "valkeys" => {
            let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(bad)?;
            Ok(format!("{}://{host}:{}", parsed.scheme(), parsed.port().unwrap_or(6379)))
        }
        "unix" | "redis+unix" => Ok(format!("unix://{}", parsed.path())),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(url: &str) -> ObjectCacheSection {
        ObjectCacheSection { kind: "redis".into(), url: Some(url.into()), database: 2, prefix: " shop1: ".into(), mode: default_mode() }
    }

    #[test]
    fn urls_tls_sockets_and_where_the_password_may_come_from() {
        let c = section("redis://127.0.0.1:6379").settle(None).unwrap();
        assert_eq!((c.shown.as_str(), c.database, c.prefix.as_str(), c.mode), ("redis://127.0.0.1:6379", 2, "shop1:", CacheMode::Targeted));
        assert_eq!(section("rediss://cache.example:6380/0").settle(None).unwrap().shown, "rediss://cache.example:6380");
        assert_eq!(section("unix:///run/redis/redis.sock").settle(None).unwrap().shown, "unix:///run/redis/redis.sock");
        assert!(section("http://127.0.0.1").settle(None).unwrap_err().to_string().contains("expected redis://"));

        let e = section("redis://:hunter2@127.0.0.1:6379").settle(None).unwrap_err().to_string();
        assert!(e.contains("put it in WOOSYNC_REDIS_URL") && !e.contains("hunter2"), "{e}");
        // SAFETY: a variable only this test reads.
        unsafe { std::env::set_var("WOOSYNC_TEST_REDIS_PASSWORD", "hunter2") };
        let c = section("redis://:${WOOSYNC_TEST_REDIS_PASSWORD}@127.0.0.1:6379").settle(None).unwrap();
        assert_eq!(c.url.expose(), "redis://:hunter2@127.0.0.1:6379");
        assert!(!format!("{c:?}").contains("hunter2") && !c.shown.contains("hunter2"));
        let from_env = section("redis://127.0.0.1:6379").settle(Some("redis://u:pw@10.0.0.5:6390".into())).unwrap();
        assert_eq!(from_env.shown, "redis://10.0.0.5:6390");
    }
}
