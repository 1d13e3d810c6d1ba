//! Logins with narrower grants than the run needs: table-level grants that lack one privilege
//! (found by `check` and by every run's pre-flight, before anything is written), and a read-only
//! login, whose dry runs work.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::TestShop;
use mysql_async::prelude::*;
use woosync::config::Settings;
use woosync::fixture::Spec;

static LOGINS: AtomicU32 = AtomicU32::new(0);

/// A login of its own for this test, given `grants` (`{db}` is the shop's database in a
/// table-level grant, `{db.*}` the whole database, its `_` escaped as a database grant needs); returns
/// the settings of a config that uses it, and the login to drop at the end.
async fn login(shop: &mut TestShop, grants: &[&str], feed: &str) -> (Settings, String) {
    let user = format!("wst_{}_{}", std::process::id(), LOGINS.fetch_add(1, Ordering::SeqCst));
    // Any host: the driver moves a loopback connection onto the socket (`@localhost`).
    let login = format!("'{user}'@'%'");
    shop.conn.query_drop(format!("CREATE USER {login} IDENTIFIED BY 'narrow-pass'")).await.unwrap();
    for grant in grants {
        let grant = grant.replace("{db.*}", &format!("`{}`.*", shop.db.replace('_', "\\_"))).replace("{db}", &shop.db);
        shop.conn.query_drop(format!("GRANT {grant} TO {login}")).await.unwrap();
    }
    std::fs::write(shop.dir.path().join("feed.csv"), feed).unwrap();
    let url = format!("mysql://{user}:narrow-pass@127.0.0.1:3306/{}", shop.db);
    let path = shop.dir.path().join("narrow.toml");
    std::fs::write(&path, format!("[database]\nurl = \"{url}\"\n\n[source]\ntype = \"csv\"\npath = \"feed.csv\"\n")).unwrap();
    (Settings::load_with(&path, None).unwrap(), login)
}

const FEED: &str = "sku,regular_price,stock\nA-1,12,5\nNEW-1,9,2\n";

#[tokio::test]
async fn table_level_grants_without_update_on_postmeta_are_found_before_anything_is_written() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("A-1", "10", 5)]).await;
    let all = "SELECT, INSERT, UPDATE, DELETE";
    let grants: Vec<String> = ["posts", "options", "terms", "term_taxonomy", "term_relationships", "wc_product_meta_lookup"]
        .iter()
        .map(|t| format!("{all} ON `{{db}}`.`wp_{t}`"))
        .chain(["SELECT, INSERT, DELETE ON `{db}`.`wp_postmeta`".to_string(), "CREATE ON {db.*}".to_string()])
        .collect();
    let grants: Vec<&str> = grants.iter().map(String::as_str).collect();
    let (settings, login) = login(&mut shop, &grants, FEED).await;
    let before = shop.snapshot().await;

    let checks = woosync::check::run(&settings).await;
    let privileges = checks.iter().find(|c| c.name == "privileges").unwrap();
    assert!(!privileges.ok, "{}", privileges.line());
    assert!(privileges.detail.contains("lacks UPDATE on `wp_postmeta`"), "{}", privileges.detail);
    assert!(!privileges.detail.contains("on `wp_posts`"), "what it has is not listed: {}", privileges.detail);
    assert_eq!(woosync::check::exit_code(&checks), woosync::error::ExitCode::Database);

    let err = shop.try_sync(&settings, false).await.unwrap_err();
    assert_eq!(err.exit_code(), woosync::error::ExitCode::Database);
    assert!(err.to_string().contains("lacks UPDATE on `wp_postmeta`"), "{err}");
    assert_eq!(shop.snapshot().await, before, "nothing was written");
    assert_eq!(shop.one(ids[0], "_regular_price").await.as_deref(), Some("10"));
    shop.conn.query_drop(format!("DROP USER {login}")).await.unwrap();
    shop.drop_db().await;
}

#[tokio::test]
async fn a_login_without_create_syncs_once_the_tables_are_there_and_is_told_when_an_upgrade_adds_one() {
    let mut shop = TestShop::new().await;
    let ids = shop.insert(&[Spec::simple("A-1", "10", 5)]).await;
    // The first run, by a login that may create woosync's tables.
    let first = shop.config(FEED, "");
    shop.sync(&Settings::load_with(&first, None).unwrap()).await;
    let (settings, login) = login(&mut shop, &["SELECT, INSERT, UPDATE, DELETE ON {db.*}"], "sku,regular_price,stock\nA-1,14,5\n").await;
    let checks = woosync::check::run(&settings).await;
    let privileges = checks.iter().find(|c| c.name == "privileges").unwrap();
    assert!(privileges.ok, "{}", privileges.line());
    shop.try_sync(&settings, false).await.unwrap();
    assert_eq!(shop.one(ids[0], "_regular_price").await.as_deref(), Some("14"));
    // A version that adds a table needs CREATE once, and says which table.
    shop.conn.query_drop("DROP TABLE wp_woosync_media_pending").await.unwrap();
    let checks = woosync::check::run(&settings).await;
    let privileges = checks.iter().find(|c| c.name == "privileges").unwrap();
    assert!(!privileges.ok && privileges.detail.contains("adds the table(s) wp_woosync_media_pending"), "{}", privileges.line());
    let err = shop.try_sync(&settings, false).await.unwrap_err();
    assert!(err.to_string().contains("wp_woosync_media_pending"), "{err}");
    shop.conn.query_drop(format!("DROP USER {login}")).await.unwrap();
    shop.drop_db().await;
}

#[tokio::test]
async fn a_read_only_login_can_dry_run_and_only_dry_run() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("A-1", "10", 5)]).await;
    let (settings, login) = login(&mut shop, &["SELECT ON {db.*}"], FEED).await;
    let before = shop.snapshot().await;

    let dry = shop.try_sync(&settings, true).await.unwrap();
    assert_eq!((dry.counts.updated, dry.counts.created), (1, 1), "{:?}", dry.counts);
    assert!(shop.report().contains("update,A-1,100,product,_regular_price,10,12,"), "{}", shop.report());

    let err = shop.try_sync(&settings, false).await.unwrap_err();
    assert_eq!(err.exit_code(), woosync::error::ExitCode::Database);
    assert!(err.to_string().contains("the database login lacks INSERT on `wp_posts`, UPDATE on `wp_posts`"), "{err}");
    let checks = woosync::check::run(&settings).await;
    let privileges = checks.iter().find(|c| c.name == "privileges").unwrap();
    assert!(!privileges.ok && privileges.detail.contains("CREATE on `"), "{}", privileges.line());
    let woocommerce = checks.iter().find(|c| c.name == "woocommerce").unwrap();
    assert!(woocommerce.ok, "the rest of the checks hold for a read-only login: {}", woocommerce.line());
    assert_eq!(shop.snapshot().await, before, "nothing was written");
    shop.conn.query_drop(format!("DROP USER {login}")).await.unwrap();
    shop.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_login_writes_feeds_on_one_connection() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("A-1", "10", 5), Spec::simple("A-2", "20", 0)]).await;
    let (_, login) = login(&mut shop, &["SELECT ON {db.*}"], FEED).await;
    // Without LOCK TABLES the feed reads in one snapshot on one connection.
    let path = shop.dir.path().join("narrow.toml");
    let text = std::fs::read_to_string(&path).unwrap() + "[feeds]\n[[feeds.file]]\nname = \"ym\"\nformat = \"yandex\"\npath = \"ym.xml\"\n";
    std::fs::write(&path, text).unwrap();
    let settings = Settings::load_with(&path, None).unwrap();
    let run = woosync::feed::write(&settings, woosync::feed::FeedOptions::default()).await.unwrap();
    assert!(run.failed.is_empty(), "{:?}", run.failed);
    assert_eq!(run.written[0].offers, 2);
    let xml = std::fs::read_to_string(shop.dir.path().join("ym.xml")).unwrap();
    assert!(xml.contains("<offer id=\"A-1\" available=\"true\">") && xml.contains("<offer id=\"A-2\" available=\"false\">"), "{xml}");
    shop.conn.query_drop(format!("DROP USER {login}")).await.unwrap();
    shop.drop_db().await;
}
