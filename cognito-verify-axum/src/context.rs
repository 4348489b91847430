//! [`AuthContext`]: what the layer leaves in every request it lets through,
//! so that the requirement layers and the extractors can tell "no token"
//! (optional mode) from "no layer", and answer in the layer's style.

use std::any::Any;
use std::sync::Arc;

use http::HeaderMap;

use crate::body::RejectionBody;
use crate::response::{OnRejection, Protocol, Rejection};

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

/// A custom rejection handler, whatever the body type it answers in: an
/// `Arc<dyn OnRejection<B>>` for its `B`, so that one layer type serves
/// every stack and a request finds the handler of its own body type
/// without an allocation.
#[derive(Clone)]
pub(crate) struct CustomRejection {
    handler: Arc<dyn Any + Send + Sync>,
    /// The handler's body type, for the log when it does not fit.
    body: &'static str,
}

impl CustomRejection {
    pub(crate) fn new<B: 'static, H: OnRejection<B>>(handler: H) -> Self {
        let handler: Arc<dyn OnRejection<B>> = Arc::new(handler);
        CustomRejection {
            handler: Arc::new(handler),
            body: std::any::type_name::<B>(),
        }
    }

    /// The handler, if it answers in body type `B`.
    fn for_body<B: 'static>(&self) -> Option<Arc<dyn OnRejection<B>>> {
        let handler = self
            .handler
            .downcast_ref::<Arc<dyn OnRejection<B>>>()
            .cloned();
        if handler.is_none() {
            tracing::error!(
                handler_body = self.body,
                service_body = std::any::type_name::<B>(),
                "the on_rejection handler answers in another body type than the service: the default response is used"
            );
        }
        handler
    }
}

impl std::fmt::Debug for CustomRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomRejection")
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

/// The context of a request the layer let through, for responses in body
/// type `B` (the request extensions are keyed by type, so a requirement
/// layer finds the context of its own body type). Whether a request is a
/// gRPC call is read from its headers only when it is refused.
pub(crate) struct AuthContext<B> {
    challenge: Arc<Challenge>,
    /// `None`: the default response.
    handler: Option<Arc<dyn OnRejection<B>>>,
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
    /// The context of the layer's requests.
    pub(crate) fn new(challenge: &Arc<Challenge>, custom: Option<&CustomRejection>) -> Self {
        AuthContext {
            challenge: challenge.clone(),
            handler: custom.and_then(CustomRejection::for_body),
        }
    }

    /// The response for `rejection`: the layer's handler's, or the default.
    pub(crate) fn reject(&self, rejection: Rejection) -> http::Response<B> {
        match &self.handler {
            Some(handler) => handler.respond(rejection),
            None => rejection.into_default_response(),
        }
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
