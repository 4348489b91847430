//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`, which turns on the core's): the layer records, the
//! application installs the exporter. Without the feature nothing is
//! recorded and nothing is compiled in.
//!
//! | name | type | labels | what |
//! |---|---|---|---|
//! | `cognito_verify.layer.refusals` | counter | `protocol` (`http`, `grpc`), `status` (for HTTP the status code: `400`, `401`, `403`, `500`, `503`; for gRPC the code name: `UNAUTHENTICATED`, `PERMISSION_DENIED`, `UNAVAILABLE`, `INTERNAL`) | requests refused by [`CognitoAuthLayer`](crate::CognitoAuthLayer), [`AlbAuthLayer`](crate::AlbAuthLayer), [`Require`](crate::Require) and the extractors |
//!
//! The status is the refusal's ([`Rejection::status`](crate::Rejection::status),
//! [`Rejection::grpc_status`](crate::Rejection::grpc_status)), also when an
//! [`on_rejection`](crate::CognitoAuthLayer::on_rejection) handler answers
//! with another response. `metrics-exporter-prometheus` writes
//! `cognito_verify_layer_refusals{protocol="http",status="401"}` (dots
//! become underscores; exporters that follow OpenTelemetry's Prometheus
//! mapping add `_total`).
//! The verifier's own metrics (verifications by outcome and kind, the token
//! cache, key set fetches and age, the revocation list) are in the table
//! of `cognito_verify::telemetry`.

use crate::response::Rejection;

/// Counts a refusal by its protocol and status.
#[cfg(feature = "metrics")]
pub(crate) fn refused(rejection: &Rejection) {
    let (protocol, status) = match rejection.is_grpc() {
        true => ("grpc", rejection.grpc_status_name()),
        false => ("http", rejection.status_label()),
    };
    metrics::counter!("cognito_verify.layer.refusals", "protocol" => protocol, "status" => status)
        .increment(1);
}

/// Nothing, without the feature.
#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn refused(_: &Rejection) {}
