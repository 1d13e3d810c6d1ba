//! Telegram alerts against a real HTTP server on 127.0.0.1: one alert per failure streak, 429
//! honoured, one recovery message, the bot token never in woosync's output or logs.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::post;
use axum::Router;
use common::TestShop;
use woosync::fixture::Spec;

type Seen = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

async fn telegram(State(seen): State<Seen>, uri: Uri, body: String) -> (StatusCode, String) {
    let mut seen = seen.lock().unwrap();
    seen.push((uri.path().to_string(), serde_json::from_str(&body).unwrap_or_default()));
    if seen.len() == 1 {
        let busy = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#;
        return (StatusCode::TOO_MANY_REQUESTS, busy.into());
    }
    (StatusCode::OK, r#"{"ok":true,"result":{}}"#.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_streak_sends_one_alert_and_recovery_sends_one_message() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("TG-1", "10", 5)]).await;
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().route("/{*path}", post(telegram)).with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let logs = shop.dir.path().join("logs");
    let extra = format!(
        "[log]\ndir = \"{}\"\n[alerts.telegram]\nbot_token = \"${{TG_TEST_TOKEN}}\"\nchat_id = \"-10042\"\nafter_failures = 3\napi_base = \"http://127.0.0.1:{port}\"\n",
        logs.display()
    );
    let config = shop.config("article\nTG-1\n", &extra);
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_woosync"))
            .args(["sync", "--config"])
            .arg(&config)
            .env("TG_TEST_TOKEN", "123456:SECRET-BOT-TOKEN")
            .output()
            .unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!all.contains("SECRET-BOT-TOKEN"), "the bot token leaked:\n{all}");
        out.status.code()
    };
    for _ in 0..2 {
        assert_eq!(run(), Some(3));
    }
    assert!(seen.lock().unwrap().is_empty(), "no alert before the third failure");
    assert_eq!(run(), Some(3));
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "a 429 and the retry after retry_after");
        assert_eq!(seen[1].0, "/bot123456:SECRET-BOT-TOKEN/sendMessage");
        assert_eq!(seen[1].1["chat_id"], "-10042");
        let text = seen[1].1["text"].as_str().unwrap();
        assert!(text.contains("3 runs in a row failed") && text.contains("no SKU column"), "{text}");
        assert!(text.contains(&format!("woosync resume --config {}", config.display())), "the alert names the config: {text}");
    }
    assert_eq!(run(), Some(3));
    assert_eq!(seen.lock().unwrap().len(), 2, "one alert per streak");

    std::fs::write(shop.dir.path().join("feed.csv"), "sku,stock\nTG-1,4\n").unwrap();
    assert_eq!(run(), Some(0));
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        let text = seen[2].1["text"].as_str().unwrap();
        assert!(text.contains("recovered after 4 failed runs") && text.contains("updated 1"), "{text}");
    }
    assert_eq!(run(), Some(0));
    assert_eq!(seen.lock().unwrap().len(), 3, "no message while all is well");
    let logged: String = std::fs::read_dir(&logs).unwrap().map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect();
    assert!(!logged.contains("SECRET-BOT-TOKEN"));
    assert!(logged.contains("Telegram alert sent (failing)") && logged.contains("Telegram alert sent (recovered)"), "{logged}");
    shop.drop_db().await;
}

#[tokio::test]
async fn an_unreachable_telegram_never_fails_the_run() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("TG-2", "10", 5)]).await;
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let extra = format!("[alerts.telegram]\nchat_id = \"1\"\nafter_failures = 1\napi_base = \"http://127.0.0.1:{port}\"\n");
    let config = shop.config("article\nx\n", &extra);
    let out = Command::new(env!("CARGO_BIN_EXE_woosync"))
        .args(["sync", "--config"])
        .arg(&config)
        .env("WOOSYNC_TELEGRAM_BOT_TOKEN", "999:OTHER-SECRET")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "the run's own exit code, not the alert's");
    assert!(stderr.contains("the Telegram alert could not be sent"), "{stderr}");
    assert!(!stderr.contains("OTHER-SECRET"), "{stderr}");
    shop.drop_db().await;
}

#[tokio::test]
async fn hooks_run_with_the_run_in_their_environment_and_never_fail_the_run() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("HK-1", "10", 5)]).await;
    let out_file = shop.dir.path().join("hook.out");
    let extra = format!(
        "[hooks]\nafter_success = \"env | grep ^WOOSYNC_ | sort > '{0}'\"\non_failure = \"echo failed $WOOSYNC_EXIT_CODE > '{0}'; exit 1\"\ntimeout_secs = 5\n",
        out_file.display()
    );
    let config = shop.config("sku,stock\nHK-1,4\nHK-2,1\n", &extra);
    let woosync = || Command::new(env!("CARGO_BIN_EXE_woosync")).args(["sync", "--config"]).arg(&config).output().unwrap();
    let out = woosync();
    assert_eq!(out.status.code(), Some(0));
    let env = std::fs::read_to_string(&out_file).unwrap();
    for line in ["WOOSYNC_OUTCOME=success", "WOOSYNC_EXIT_CODE=0", "WOOSYNC_RUN_ID=1", "WOOSYNC_CREATED=1", "WOOSYNC_UPDATED=1", "WOOSYNC_ROWS=2"] {
        assert!(env.lines().any(|l| l == line), "{line} missing in:\n{env}");
    }

    std::fs::write(shop.dir.path().join("feed.csv"), "article\nHK-1\n").unwrap();
    let out = woosync();
    assert_eq!(out.status.code(), Some(3), "a failing hook does not change the exit code");
    assert_eq!(std::fs::read_to_string(&out_file).unwrap().trim(), "failed 3");
    assert!(String::from_utf8_lossy(&out.stderr).contains("hook failed"), "{}", String::from_utf8_lossy(&out.stderr));

    // A hook that hangs is killed after timeout_secs.
    let config = shop.config("sku,stock\nHK-1,4\n", "[hooks]\nafter_success = \"sleep 30\"\ntimeout_secs = 1\n");
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_woosync")).args(["sync", "--config"]).arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(started.elapsed().as_secs() < 15);
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not finish within 1 s"));
    shop.drop_db().await;
}

#[tokio::test]
async fn sync_every_runs_on_a_schedule_and_stops_cleanly_on_sigterm() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("EV-1", "10", 5)]).await;
    let config = shop.config("sku,stock\nEV-1,4\n", "");
    let child = Command::new(env!("CARGO_BIN_EXE_woosync"))
        .args(["sync", "--every", "1s", "--config"])
        .arg(&config)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2600)).await;
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let runs: Vec<(String, i64)> = {
        use mysql_async::prelude::*;
        shop.conn.query("SELECT state, updated FROM wp_woosync_runs ORDER BY id").await.unwrap()
    };
    assert!(runs.len() >= 2 && runs.len() <= 4, "{runs:?}");
    assert!(runs.iter().all(|(state, _)| state == "done"), "{runs:?}");
    assert_eq!(runs[0].1, 1, "the first run writes");
    assert!(runs[1..].iter().all(|(_, u)| *u == 0), "later runs find nothing to do");
    shop.drop_db().await;
}

async fn get_me() -> (StatusCode, String) {
    (StatusCode::OK, r#"{"ok":true,"result":{"id":1,"is_bot":true,"username":"shop_alerts_bot"}}"#.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_probes_the_log_dir_and_telegram() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("CK-1", "10", 5)]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().route("/{*path}", axum::routing::get(get_me));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let logs = shop.dir.path().join("logs");
    let extra = format!("[log]\ndir = \"{}\"\n[alerts.telegram]\nchat_id = \"1\"\napi_base = \"http://127.0.0.1:{port}\"\n", logs.display());
    let config = shop.config("sku,stock\nCK-1,1\n", &extra);
    let out = Command::new(env!("CARGO_BIN_EXE_woosync"))
        .args(["check", "--config"])
        .arg(&config)
        .env("WOOSYNC_TELEGRAM_BOT_TOKEN", "5:CHECK-SECRET")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("ok") && l.contains("telegram") && l.contains("@shop_alerts_bot")), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("ok") && l.contains("log") && l.contains("writable")), "{stdout}");
    assert!(!stdout.contains("CHECK-SECRET"));
    shop.drop_db().await;
}

#[tokio::test]
async fn a_terminal_gets_a_progress_bar_and_cron_gets_log_lines() {
    let mut shop = TestShop::new().await;
    shop.insert(&[Spec::simple("PB-1", "10", 5)]).await;
    let config = shop.config("sku,stock\nPB-1,2\n", "");
    // `script` gives the child a pseudo-terminal, as an interactive shell would.
    let command = format!("{} sync --config '{}'", env!("CARGO_BIN_EXE_woosync"), config.display());
    let out = Command::new("script").args(["-qec", &command, "/dev/null"]).output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(screen.contains("1/1 rows") && screen.contains("products written"), "{screen}");
    assert!(!screen.contains("INFO"), "info lines stay off the terminal: {screen}");
    assert!(screen.contains("run 1 done"), "{screen}");

    let out = Command::new(env!("CARGO_BIN_EXE_woosync")).args(["sync", "--config"]).arg(&config).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("INFO") && !stderr.contains("rows,"), "not a terminal: log lines only\n{stderr}");
    shop.drop_db().await;
}
