//! The server under test: its base URL, its resolved address, an HTTP client for the API, and
//! how this run reaches it (source addresses, progress, users file).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::TargetArgs;

/// Where and how a scenario runs.
pub struct Target {
    /// `http://host:port`, without a trailing slash.
    pub base: String,
    /// `ws://host:port`.
    pub ws_base: String,
    /// The server's address, resolved once: sockets connect to it directly.
    pub addr: SocketAddr,
    /// One pooled HTTP client for every API call of the run.
    pub http: reqwest::Client,
    pub args: TargetArgs,
}

impl Target {
    /// Resolves the URL and checks that a LinkUp server answers `/healthz`.
    pub async fn connect(args: &TargetArgs) -> anyhow::Result<Target> {
        let base = args.url.trim_end_matches('/').to_owned();
        let Some(authority) = base.strip_prefix("http://") else {
            bail!("--url must be http://HOST:PORT (the bench speaks plain HTTP and ws://)");
        };
        let authority = authority.split('/').next().unwrap_or(authority);
        let host_port = if authority.contains(':') && !authority.ends_with(']') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let addr = tokio::net::lookup_host(&host_port)
            .await
            .with_context(|| format!("resolving {host_port}"))?
            .next()
            .with_context(|| format!("{host_port} resolves to no address"))?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .timeout(Duration::from_secs(60))
            .build()?;
        let target = Target {
            ws_base: format!("ws://{authority}"),
            base,
            addr,
            http,
            args: args.clone(),
        };
        let health = target
            .http
            .get(format!("{}/healthz", target.base))
            .send()
            .await
            .with_context(|| format!("no server answers at {}", target.base))?;
        if !health.status().is_success() {
            bail!("{}/healthz answered {}", target.base, health.status());
        }
        Ok(target)
    }

    /// The source address for the `index`-th of `total` sockets: 127.0.0.2, 127.0.0.3, … in
    /// turn when the server is on IPv4 loopback, else whatever the system picks.
    pub fn source_for(&self, index: usize, total: usize) -> Option<IpAddr> {
        let IpAddr::V4(ip) = self.addr.ip() else {
            return None;
        };
        if !ip.is_loopback() {
            return None;
        }
        let sources = self
            .args
            .sources
            .unwrap_or_else(|| total.div_ceil(10_000))
            .clamp(1, 250);
        if sources == 1 && self.args.sources.is_none() {
            return None;
        }
        let host = 2 + (index % sources) as u8;
        Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)))
    }

    /// GETs an API path with a bearer token and decodes the JSON answer.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        token: &str,
        path: &str,
    ) -> anyhow::Result<T> {
        let response = self
            .http
            .get(format!("{}{}", self.base, path))
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        decode(response, path).await
    }

    /// POSTs JSON to an API path (with a bearer token when given) and decodes the answer.
    pub async fn post_json<T: DeserializeOwned>(
        &self,
        token: Option<&str>,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<T> {
        let mut request = self.http.post(format!("{}{}", self.base, path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        decode(response, path).await
    }
}

async fn decode<T: DeserializeOwned>(response: reqwest::Response, path: &str) -> anyhow::Result<T> {
    let status = response.status();
    let text = response
        .text()
        .await
        .with_context(|| format!("{path}: body"))?;
    if !status.is_success() {
        bail!("{path} answered {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("{path}: unexpected answer {text}"))
}
