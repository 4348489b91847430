//! The admin listener: `/metrics` (Prometheus text), `/readyz` and
//! `/healthz` on an address of their own (`--admin-addr`), apart from the
//! service's, so that neither the metrics nor the probes are reachable
//! where the API is published. Shared by `videos-api`, `videos-grpc` and
//! `videos-mcp`.
//!
//! | route | answer |
//! |---|---|
//! | `GET /metrics` | the metrics in Prometheus' text format (`cognito_verify_*` and the layer's refusals; see the `telemetry` modules of both crates) |
//! | `GET /readyz` | 200 `ready` when every verifier can verify ([`Verifier::readiness`]: keys fetched and within `jwks_max_staleness`, revocation list current); else 503 with the reason's kind and text |
//! | `GET /healthz` | 200 `ok` while the process serves: liveness only |
//!
//! The listener is off unless `--admin-addr` (`VIDEOS_ADMIN_ADDR`) names
//! an address, which must be a loopback one unless `--admin-any-addr`
//! (`VIDEOS_ADMIN_ANY_ADDR`) is given too: the metrics name the issuers
//! and the traffic, and belong to the operator's network only. Off by
//! default, so that several services (or replicas) on one host never
//! compete for one port.
//!
//! The Prometheus recorder is installed by [`Admin::start`] (before any
//! verifier or revocation list is built: the libraries make their metric
//! handles when those are built, and handles made before a recorder exists
//! stay silent); the listener is started by [`Admin::serve`] once the
//! verifiers exist.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cognito_verify::Verifier;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// How often the recorder's upkeep runs (histogram buckets drained).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The admin listener's flags, the same in every example.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminArgs {
    /// Address of the admin listener (`/metrics`, `/readyz`, `/healthz`),
    /// e.g. `127.0.0.1:9090`. Off when not given. A loopback address only,
    /// unless `--admin-any-addr`.
    #[arg(long, env = "VIDEOS_ADMIN_ADDR", value_name = "ADDR")]
    pub admin_addr: Option<SocketAddr>,

    /// Lets `--admin-addr` be an address other hosts reach (a container's
    /// `0.0.0.0:9090` scraped by Prometheus in the same network): the
    /// metrics and probes are then served to anyone who reaches it.
    #[arg(
        long,
        env = "VIDEOS_ADMIN_ANY_ADDR",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub admin_any_addr: bool,
}

impl AdminArgs {
    /// The address to listen on, if any; an error naming the flags when it
    /// is not a loopback address and `--admin-any-addr` is not given.
    pub fn address(&self) -> Result<Option<SocketAddr>, String> {
        match self.admin_addr {
            Some(addr) if !addr.ip().is_loopback() && !self.admin_any_addr => Err(format!(
                "VIDEOS_ADMIN_ADDR (--admin-addr): {addr} is not a loopback address; the metrics and probes are for the operator only: use 127.0.0.1, or add --admin-any-addr (VIDEOS_ADMIN_ANY_ADDR=1) to serve them to every host that reaches it"
            )),
            other => Ok(other),
        }
    }
}

/// The admin listener, between the recorder's installation and the
/// listener's start.
pub struct Admin {
    addr: SocketAddr,
    metrics: PrometheusHandle,
}

impl Admin {
    /// With `--admin-addr`: checks the address and installs the Prometheus
    /// recorder as the process's global one. Call it first, before any
    /// verifier or revocation list is built. `None` without the flag.
    pub fn start(args: &AdminArgs) -> Result<Option<Admin>, String> {
        let Some(addr) = args.address()? else {
            return Ok(None);
        };
        let metrics = PrometheusBuilder::new()
            .install_recorder()
            .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
        Ok(Some(Admin { addr, metrics }))
    }

    /// Binds the listener and serves it in the background, answering
    /// `/readyz` for `verifiers`; returns the bound address (the port
    /// chosen, for `:0`).
    pub async fn serve(self, verifiers: Vec<Verifier>) -> Result<SocketAddr, String> {
        let listener = TcpListener::bind(self.addr).await.map_err(|e| {
            format!(
                "VIDEOS_ADMIN_ADDR (--admin-addr): cannot listen on {}: {e}",
                self.addr
            )
        })?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let upkeep = self.metrics.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(UPKEEP_EVERY).await;
                upkeep.run_upkeep();
            }
        });
        let router = router(self.metrics, verifiers);
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "the admin listener stopped");
            }
        });
        tracing::info!(%addr, "admin listener: /metrics, /readyz, /healthz");
        Ok(addr)
    }
}

#[derive(Clone)]
struct AdminState {
    metrics: PrometheusHandle,
    verifiers: Vec<Verifier>,
}

/// The admin routes.
fn router(metrics: PrometheusHandle, verifiers: Vec<Verifier>) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .route("/readyz", get(ready))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(AdminState { metrics, verifiers })
}

async fn render_metrics(State(state): State<AdminState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// 200 when every verifier is ready, else 503 with the first reason.
async fn ready(State(state): State<AdminState>) -> Response {
    match readiness(&state.verifiers) {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response(),
    }
}

/// Every verifier's [`Verifier::readiness`]: the first reason, as
/// `<kind>: <text>`.
pub fn readiness(verifiers: &[Verifier]) -> Result<(), String> {
    for verifier in verifiers {
        if let Err(why) = verifier.readiness() {
            return Err(format!("{}: {why}", why.kind()));
        }
    }
    Ok(())
}
