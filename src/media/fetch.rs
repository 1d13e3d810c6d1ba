//! Pictures fetched from the URLs a feed gives: `https` only unless allowed otherwise (a
//! redirect to plain `http` is refused too), at most `max_image_mb` (a `Content-Length` above it
//! is refused before the body is read, a body is cut off at it), an answer that is no picture
//! refused by its content type (`text/html`, `application/json`, …) and by its bytes (a JPEG or
//! a PNG is what the media library takes). Connection failures, timeouts, 5xx and 429 are
//! retried with exponential backoff like the HTTP source; any other status fails at once.
//! Messages show URLs without their query or credentials (they may hold a token).

use std::time::Duration;

use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use url::Url;

use crate::config::redact_url;
use crate::source::http::describe;

/// How pictures are fetched.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub timeout: Duration,
    pub retries: u32,
    pub retry_base: Duration,
    pub max_bytes: u64,
    /// Plain `http` URLs are taken too.
    pub allow_http: bool,
}

impl Default for FetchOptions {
    fn default() -> FetchOptions {
        FetchOptions { timeout: Duration::from_secs(30), retries: 3, retry_base: Duration::from_millis(500), max_bytes: 20 << 20, allow_http: false }
    }
}

/// Why a picture could not be fetched (the URL in it is safe to show).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("{0}: not a URL")]
    NotAUrl(String),
    #[error("{0}: only https URLs are fetched")]
    NotHttps(String),
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: larger than {limit_mb} MiB (max_image_mb)")]
    TooLarge { url: String, limit_mb: u64 },
    #[error("{url}: the server answered with {what}, not a picture")]
    NotAPicture { url: String, what: String },
    #[error("{url}: {failure}; gave up after {attempts} attempt(s)")]
    Failed { url: String, failure: String, attempts: u32 },
}

/// Fetches pictures with one client (connections are kept for the next picture of a host).
pub struct Fetcher {
    client: reqwest::Client,
    options: FetchOptions,
}

impl Fetcher {
    pub fn new(options: FetchOptions) -> Result<Fetcher, String> {
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(30)))
            .https_only(!options.allow_http)
            .user_agent(concat!("woosync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client for pictures: {}", e.without_url()))?;
        Ok(Fetcher { client, options })
    }

    /// The picture at `url`, its bytes as served.
    pub async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let parsed = Url::parse(url).map_err(|_| FetchError::NotAUrl(shorten(url)))?;
        let shown = redact_url(&parsed);
        match parsed.scheme() {
            "https" => {}
            "http" if self.options.allow_http => {}
            _ => return Err(FetchError::NotHttps(shown)),
        }
        let limit_mb = self.options.max_bytes >> 20;
        let attempts = self.options.retries + 1;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let backoff = (self.options.retry_base * 2u32.saturating_pow(attempt - 1)).min(Duration::from_secs(60));
            let failure = match self.client.get(parsed.clone()).send().await {
                Err(e) => describe(&e),
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        let declared = response.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
                        if declared.is_some_and(|n| n > self.options.max_bytes) {
                            return Err(FetchError::TooLarge { url: shown, limit_mb });
                        }
                        let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
                        if !picture_type(&content_type) {
                            return Err(FetchError::NotAPicture { url: shown, what: format!("{content_type:?}") });
                        }
                        match bounded(response, self.options.max_bytes).await {
                            Ok(Some(body)) => {
                                return match image::guess_format(&body) {
                                    Ok(image::ImageFormat::Jpeg | image::ImageFormat::Png) => Ok(body),
                                    Ok(other) => Err(FetchError::NotAPicture { url: shown, what: format!("a {other:?} file (JPEG and PNG are taken)") }),
                                    Err(_) => Err(FetchError::NotAPicture { url: shown, what: format!("{} bytes of {content_type:?} that are no picture", body.len()) }),
                                };
                            }
                            Ok(None) => return Err(FetchError::TooLarge { url: shown, limit_mb }),
                            Err(e) => format!("reading the body failed: {}", describe(&e)),
                        }
                    } else if status.is_server_error() || status.as_u16() == 429 {
                        format!("HTTP {}", status.as_u16())
                    } else {
                        return Err(FetchError::Status { url: shown, status: status.as_u16() });
                    }
                }
            };
            if attempt >= attempts {
                return Err(FetchError::Failed { url: shown, failure, attempts });
            }
            tracing::debug!(attempt, "picture {shown}: {failure}; retrying in {} ms", backoff.as_millis());
            tokio::time::sleep(backoff).await;
        }
    }
}

/// A content type a picture may come with: an image type, or none in particular.
fn picture_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.is_empty() || essence.starts_with("image/") || essence == "application/octet-stream" || essence == "binary/octet-stream"
}

/// The body, or `None` past `limit` bytes.
async fn bounded(mut response: reqwest::Response, limit: u64) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// A text that is no URL, shown short.
fn shorten(s: &str) -> String {
    let s: String = s.chars().take(80).collect();
    format!("{s:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    use axum::Router;

    fn png() -> Vec<u8> {
        let mut out = Vec::new();
        image::ImageEncoder::write_image(image::codecs::png::PngEncoder::new(&mut out), &[9u8; 4 * 3 * 3], 4, 3, image::ExtendedColorType::Rgb8).unwrap();
        out
    }

    async fn serve() -> String {
        let flaky = Arc::new(AtomicU32::new(0));
        let app = Router::new()
            .route("/ok.png", get(|| async { ([(header::CONTENT_TYPE, "image/png")], png()) }))
            .route("/octet", get(|| async { ([(header::CONTENT_TYPE, "application/octet-stream")], png()) }))
            .route("/missing.jpg", get(|| async { StatusCode::NOT_FOUND }))
            .route("/page.jpg", get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], "<html>Нет такой страницы</html>") }))
            .route("/lying.jpg", get(|| async { ([(header::CONTENT_TYPE, "image/jpeg")], "<html>not found</html>") }))
            .route("/big.png", get(|| async { ([(header::CONTENT_TYPE, "image/png")], vec![0u8; 3 << 20]) }))
            .route("/slow.png", get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                ([(header::CONTENT_TYPE, "image/png")], png())
            }))
            .route(
                "/flaky.png",
                get(move || {
                    let flaky = flaky.clone();
                    async move {
                        match flaky.fetch_add(1, Ordering::SeqCst) {
                            0 => StatusCode::BAD_GATEWAY.into_response(),
                            _ => ([(header::CONTENT_TYPE, "image/png")], png()).into_response(),
                        }
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }

    fn fetcher(allow_http: bool) -> Fetcher {
        Fetcher::new(FetchOptions { timeout: Duration::from_millis(800), retries: 1, retry_base: Duration::from_millis(10), max_bytes: 2 << 20, allow_http }).unwrap()
    }

    #[tokio::test]
    async fn pictures_are_fetched_and_what_is_no_picture_is_refused() {
        let base = serve().await;
        let f = fetcher(true);
        assert_eq!(f.get(&format!("{base}/ok.png")).await.unwrap(), png());
        assert_eq!(f.get(&format!("{base}/octet")).await.unwrap(), png(), "no particular type: the bytes decide");
        assert_eq!(f.get(&format!("{base}/flaky.png")).await.unwrap(), png(), "a 502 is retried");
        let host = base.trim_start_matches("http://");
        assert_eq!(f.get(&format!("{base}/missing.jpg?token=s3cret")).await.unwrap_err(), FetchError::Status { url: format!("http://{host}/missing.jpg"), status: 404 });
        let e = f.get(&format!("{base}/page.jpg")).await.unwrap_err().to_string();
        assert!(e.contains("text/html") && e.contains("not a picture"), "{e}");
        let e = f.get(&format!("{base}/lying.jpg")).await.unwrap_err().to_string();
        assert!(e.contains("no picture"), "{e}");
        assert_eq!(f.get(&format!("{base}/big.png")).await.unwrap_err(), FetchError::TooLarge { url: format!("http://{host}/big.png"), limit_mb: 2 });
        let e = f.get(&format!("{base}/slow.png")).await.unwrap_err();
        assert!(matches!(&e, FetchError::Failed { failure, attempts: 2, .. } if failure.contains("timed out")), "{e}");
        assert!(matches!(f.get("файл.jpg").await.unwrap_err(), FetchError::NotAUrl(_)));
        // https only unless allowed: a plain URL is refused before any request.
        let strict = fetcher(false);
        assert_eq!(strict.get(&format!("{base}/ok.png")).await.unwrap_err(), FetchError::NotHttps(format!("http://{host}/ok.png")));
        assert_eq!(strict.get("ftp://example.invalid/a.png").await.unwrap_err(), FetchError::NotHttps("ftp://example.invalid/a.png".into()));
    }
}
