//! [`RejectionBody`]: the response body types a refusal can be written in.

use bytes::Bytes;
use http_body_util::Full;
use http_body_util::combinators::{BoxBody, UnsyncBoxBody};

/// A response body type the layer can answer a refused request in: the
/// inner service's own body type, so that the layer's service returns the
/// same `http::Response<B>` as the service it wraps.
///
/// A refusal's body is short text: an `application/problem+json` object for
/// HTTP, empty for gRPC (whose status travels in headers). Implemented for
/// axum's and tonic's bodies (features `axum` and `tonic`), `lambda_http`'s
/// (feature `lambda`), [`http_body_util::Full<Bytes>`] and its boxed forms,
/// and `String`, `Vec<u8>` and `Bytes`; implement it for your own body type
/// the same way:
///
/// ```
/// use cognito_verify_axum::RejectionBody;
///
/// struct MyBody(Vec<u8>);
///
/// impl RejectionBody for MyBody {
///     fn from_text(text: String) -> Self {
///         MyBody(text.into_bytes())
///     }
/// }
/// # let _ = MyBody::from_text(String::new());
/// ```
pub trait RejectionBody: Sized {
    /// A body that holds `text` (empty for a gRPC refusal).
    fn from_text(text: String) -> Self;
}

impl RejectionBody for String {
    fn from_text(text: String) -> Self {
        text
    }
}

impl RejectionBody for Vec<u8> {
    fn from_text(text: String) -> Self {
        text.into_bytes()
    }
}

impl RejectionBody for Bytes {
    fn from_text(text: String) -> Self {
        Bytes::from(text)
    }
}

impl RejectionBody for Full<Bytes> {
    fn from_text(text: String) -> Self {
        Full::new(Bytes::from(text))
    }
}

impl<E: 'static> RejectionBody for BoxBody<Bytes, E> {
    fn from_text(text: String) -> Self {
        BoxBody::new(full(text))
    }
}

impl<E: 'static> RejectionBody for UnsyncBoxBody<Bytes, E> {
    fn from_text(text: String) -> Self {
        UnsyncBoxBody::new(full(text))
    }
}

/// `text` as a body of any error type (it never fails).
fn full<E>(
    text: String,
) -> http_body_util::combinators::MapErr<Full<Bytes>, fn(std::convert::Infallible) -> E> {
    use http_body_util::BodyExt;
    Full::new(Bytes::from(text)).map_err(|never| match never {})
}

#[cfg(feature = "axum")]
impl RejectionBody for axum::body::Body {
    fn from_text(text: String) -> Self {
        axum::body::Body::from(text)
    }
}

#[cfg(feature = "tonic")]
impl RejectionBody for tonic::body::Body {
    fn from_text(text: String) -> Self {
        match text.is_empty() {
            // A body that is known to be empty lets the server send the
            // headers with END_STREAM: gRPC's "Trailers-Only" response.
            true => tonic::body::Body::empty(),
            false => tonic::body::Body::new(Full::new(Bytes::from(text))),
        }
    }
}

#[cfg(feature = "lambda")]
impl RejectionBody for aws_lambda_events::encodings::Body {
    fn from_text(text: String) -> Self {
        match text.is_empty() {
            true => aws_lambda_events::encodings::Body::Empty,
            false => aws_lambda_events::encodings::Body::Text(text),
        }
    }
}
