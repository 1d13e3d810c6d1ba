//! Telegram Bot API: `sendMessage` to one chat. Honours 429 `retry_after`; the bot token is part
//! of the URL, so errors are reported without the URL.

use std::time::Duration;

use crate::config::Telegram;

impl Telegram {
    /// `getMe`: is the API reachable and the token valid? Describes the bot, or the failure.
    pub async fn probe(&self) -> Result<String, String> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|e| e.without_url().to_string())?;
        let url = format!("{}/bot{}/getMe", self.api_base.trim_end_matches('/'), self.bot_token.expose());
        let response = client.get(&url).send().await.map_err(|e| format!("cannot reach the Telegram API: {}", e.without_url()))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if status.is_success() && body["ok"] == true {
            Ok(format!("bot @{} answers", body["result"]["username"].as_str().unwrap_or("?")))
        } else {
            Err(format!("Telegram answered {status}: {}", body["description"].as_str().unwrap_or("").replace(self.bot_token.expose(), "[redacted]")))
        }
    }

    /// Sends one message; retries after a 429 for as long as Telegram asks (up to 3 times,
    /// 60 s at most each). Returns a description of the failure, never containing the token.
    pub async fn send(&self, text: &str) -> Result<(), String> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().map_err(|e| e.without_url().to_string())?;
        let url = format!("{}/bot{}/sendMessage", self.api_base.trim_end_matches('/'), self.bot_token.expose());
        for _ in 0..4 {
            let response = client
                .post(&url)
                .json(&serde_json::json!({ "chat_id": self.chat_id, "text": text }))
                .send()
                .await
                .map_err(|e| format!("cannot reach the Telegram API: {}", e.without_url()))?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            if status.as_u16() == 429 {
                let wait = body["parameters"]["retry_after"].as_u64().unwrap_or(1).min(60);
                tracing::warn!("Telegram asks to retry after {wait} s");
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            let description = body["description"].as_str().unwrap_or("").replace(self.bot_token.expose(), "[redacted]");
            return Err(format!("Telegram answered {status}: {description}"));
        }
        Err("Telegram kept answering 429 Too Many Requests".into())
    }
}
