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
