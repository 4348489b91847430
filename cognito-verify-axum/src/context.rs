//! [`AuthContext`]: what the layer leaves in every request it lets through,
//! so that the requirement layers and the extractors can tell "no token"
//! (optional mode) from "no layer", and answer in the layer's style.

use std::sync::Arc;

use http::HeaderMap;

use crate::body::RejectionBody;
use crate::response::{OnRejection, Protocol, Rejection};
use crate::telemetry;

/// The content of a `WWW-Authenticate` quoted string: visible ASCII and
/// spaces, without `"` and `\` (RFC 9110 §5.6.4); other characters are
/// dropped.
pub(crate) fn quoted_string_content(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\' || *c == ' ')
        .collect()
}

/// The parameters every `Bearer` challenge of a layer carries: the realm
/// (RFC 6750 §3) and, for a protected resource, the URL of its metadata
/// (`resource_metadata`, RFC 9728 §5.1). Each already cleaned for a quoted
/// string. Shared by the layer's requests through one `Arc`.
#[derive(Debug, Clone)]
pub(crate) struct Challenge {
    realm: Box<str>,
    resource_metadata: Option<Box<str>>,
    /// The `scope` of a 401 (not part of [`Display`](std::fmt::Display):
    /// a 403 for a missing scope names the route's instead).
    scope_on_401: Option<Box<str>>,
}

impl Challenge {
    /// A challenge with this realm and no metadata URL.
    pub(crate) fn new(realm: &str) -> Arc<Self> {
        Arc::new(Challenge {
            realm: quoted_string_content(realm).into(),
            resource_metadata: None,
            scope_on_401: None,
        })
    }

    /// The same, with another realm.
    pub(crate) fn with_realm(&self, realm: &str) -> Arc<Self> {
        Arc::new(Challenge {
            realm: quoted_string_content(realm).into(),
            resource_metadata: self.resource_metadata.clone(),
            scope_on_401: self.scope_on_401.clone(),
        })
    }

    /// The same, naming a protected resource's metadata at `url`, and
    /// `scope` (scope tokens, already checked) in every 401.
    pub(crate) fn for_resource(&self, url: &str, scope: Option<&str>) -> Arc<Self> {
        Arc::new(Challenge {
            realm: self.realm.clone(),
            resource_metadata: Some(quoted_string_content(url).into()),
            scope_on_401: scope.map(|s| quoted_string_content(s).into()),
        })
    }

    /// The `scope` a 401 names, if any.
    pub(crate) fn scope_on_401(&self) -> Option<&str> {
        self.scope_on_401.as_deref()
    }
}

/// `realm="…"`, then `, resource_metadata="…"` when there is one: the
/// parameters every challenge starts with.
impl std::fmt::Display for Challenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "realm=\"{}\"", self.realm)?;
        match &self.resource_metadata {
            Some(url) => write!(f, ", resource_metadata=\"{url}\""),
            None => Ok(()),
        }
    }
}

/// The context of a request the layer let through, for responses in body
/// type `B` (the request extensions are keyed by type, so a requirement
/// layer finds the context of its own body type). Whether a request is a
/// gRPC call is read from its headers only when it is refused.
pub(crate) struct AuthContext<B> {
    challenge: Arc<Challenge>,
    /// The layer's handler, in the request's body type.
    handler: Arc<dyn OnRejection<B>>,
}

impl<B> Clone for AuthContext<B> {
    fn clone(&self) -> Self {
        AuthContext {
            challenge: self.challenge.clone(),
            handler: self.handler.clone(),
        }
    }
}

impl<B: RejectionBody + 'static> AuthContext<B> {
    /// The context of the layer's requests: its challenge and its
    /// handler (a reference count each, no allocation).
    pub(crate) fn new<R: OnRejection<B>>(challenge: &Arc<Challenge>, handler: &Arc<R>) -> Self {
        AuthContext {
            challenge: challenge.clone(),
            handler: handler.clone(),
        }
    }

    /// The response for `rejection`, by the layer's handler; counted in
    /// `cognito_verify.layer.refusals`. Every refusal of the layers and
    /// extractors is answered here (or, without a layer, by
    /// [`refuse_unlayered`](crate::response::refuse_unlayered)).
    pub(crate) fn reject(&self, rejection: Rejection) -> http::Response<B> {
        telemetry::refused(&rejection);
        self.handler.respond(rejection)
    }

    /// The refusal of a request (with these headers) without a token.
    pub(crate) fn missing_token(&self, headers: &HeaderMap) -> Rejection {
        Rejection::missing_token(self.challenge.clone(), Protocol::of(headers))
    }

    /// The refusal of a request whose token source cannot be used.
    pub(crate) fn invalid_request(&self, headers: &HeaderMap) -> Rejection {
        Rejection::invalid_request(self.challenge.clone(), Protocol::of(headers))
    }

    /// The refusal of a request whose token the verifier or a requirement
    /// refused.
    pub(crate) fn refused(&self, headers: &HeaderMap, error: cognito_verify::Error) -> Rejection {
        Rejection::from_error(self.challenge.clone(), Protocol::of(headers), error)
    }
}
