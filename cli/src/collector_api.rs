//! Reading a collector's public JSON (`ispeed campaign report`, `ispeed campaign
//! stats`): one URL rule, one client, one way to report what the collector refused.

use serde::de::DeserializeOwned;

/// The URL of `route` (a spec route, with its leading `/`) under the collector at
/// `base`, which may itself sit under a path, with `query` appended.
pub fn url(base: &str, route: &str, query: &[(&str, &str)]) -> Result<reqwest::Url, String> {
    let mut url =
        reqwest::Url::parse(base).map_err(|e| format!("invalid collector URL {base:?}: {e}"))?;
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    let mut url = url
        .join(ispeed_spec::routes::relative(route))
        .map_err(|e| format!("invalid collector URL {base:?}: {e}"))?;
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    Ok(url)
}

/// GETs `url` and reads its JSON as `T`; `what` names the answer in errors. A
/// refusal is reported with the collector's own `error` text.
pub async fn get<T: DeserializeOwned>(url: reqwest::Url, what: &str) -> Result<T, String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(30))
        .user_agent(concat!("ispeed/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up HTTP: {e}"))?;
    let resp = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| format!("cannot reach the collector at {url}: {e}"))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("the collector's answer broke off: {e}"))?;
    if !status.is_success() {
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
        return Err(format!("the collector answered HTTP {status}: {message}"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{url} did not answer with {what}: {e}"))
}
