//! `videos-api`: a protected `/videos` service where each user sees only the
//! videos they own. "The user" is always the verified token's `sub`, taken
//! from the [`Subject`] extractor, never from anything the client sends.
//!
//! | route | who |
//! |---|---|
//! | `GET /healthz` | anyone |
//! | `GET /me` | any valid token: the verified identity |
//! | `GET /videos?limit=&cursor=` | the caller's videos, paginated |
//! | `POST /videos` `{"title","url"}` | adds a video owned by the caller |
//! | `GET /videos/{id}`, `DELETE /videos/{id}` | the caller's video; 404 for anyone else's |
//! | `GET /admin/videos?limit=&cursor=` | members of the `admin` group: everyone's videos |
//! | `POST /admin/users/{sub}/sign-out` | members of the `admin` group: every token of that user refused ([`signout`]) |
//! | `POST /auth/logout`, `POST /auth/logout-everywhere` | sign-out, revoking the tokens ([`signout`]) |
//! | `POST /dev/token` | development mode only: mint a token |
//!
//! Every verifier consults one revocation list ([`revocations`]): in this
//! process, or shared by the replicas through Redis (`--revocations-url`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod cognito_api;
pub mod config;
pub mod cors;
pub mod db;
pub mod dev;
pub mod pending;
pub mod revocations;
pub mod signin;
pub mod signout;
pub mod web;

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cognito_verify::args::PoolArgs;
use cognito_verify::{AlbClaims, AlbVerifier, ClaimList, CognitoClaims, Revocations, Verifier};
use cognito_verify_axum::{AlbAuthLayer, CognitoAuthLayer, ExtractRejection, Require, Subject};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub use config::{Args, AuthSettings, ClientSecret, Config, ConfigError, SignInSettings};
use db::{Db, DbError};
pub use dev::DevIssuer;
use signin::{ManagedLogin, SignIn};
use signout::SignOut;

/// Largest request body accepted (a video is a title and a URL).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Page size when `limit` is not given, and the largest allowed.
pub const DEFAULT_LIMIT: u32 = 20;
/// The largest `limit`.
pub const MAX_LIMIT: u32 = 100;
/// Headers a client could use to claim an identity; removed before handlers run.
pub const SPOOFABLE_HEADERS: [HeaderName; 3] = [
    HeaderName::from_static("x-user-id"),
    HeaderName::from_static("x-amzn-oidc-identity"),
    HeaderName::from_static("x-amzn-oidc-data"),
];

/// The running service's parts.
pub struct App {
    /// The routes, ready to serve.
    pub router: Router,
    /// In development mode, the in-process issuer that mints tokens.
    pub dev_issuer: Option<Arc<DevIssuer>>,
    /// The verifiers of the requests' tokens, for the readiness probe
    /// ([`admin`]): none behind a load balancer without a pool (its keys
    /// are fetched per key id, when a request names one).
    pub verifiers: Vec<Verifier>,
}

/// Why the service could not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

#[derive(Clone)]
struct AppState {
    db: Db,
    dev: Option<Arc<DevIssuer>>,
}

/// Builds the service for `config`: opens the database, builds the verifier
/// (or, in development mode, starts the local issuer) and the routes.
pub async fn app(config: &Config) -> Result<App, StartError> {
    let db = Db::open(&config.db).map_err(|e| StartError(format!("VIDEOS_DB (--db): {e}")))?;
    let list = revocations::revocations(&config.revocations).await?;
    // Sign-out's own verifier of the pool's tokens, which does not consult
    // the list (see `SignOut::new`).
    let mut signature_checks = None;
    let (guard, dev) = match &config.auth {
        AuthSettings::Pool(pool) => {
            signature_checks = Some(pool_verifier(pool)?);
            let verifier = pool_verifier_with(pool, list.clone())?;
            (Guard::Bearer(hydrated(verifier).await), None)
        }
        AuthSettings::Development => {
            let dev = Arc::new(DevIssuer::new());
            let verifier = |list| {
                dev.verifier_with(list)
                    .map_err(|e| StartError(e.to_string()))
            };
            signature_checks = Some(verifier(Revocations::in_process())?);
            let verifier = verifier(list.clone())?;
            (Guard::Bearer(hydrated(verifier).await), Some(dev))
        }
        AuthSettings::Alb { alb, access_tokens } => {
            let verifier = alb.verifier_builder().build().map_err(|e| {
                StartError(format!(
                    "ALB_ARN, ALB_ISSUER, ALB_CLIENT_ID, ALB_KEY_URL (--alb-*): {e}"
                ))
            })?;
            let access_tokens = match access_tokens {
                Some(pool) => {
                    signature_checks = Some(pool_verifier(pool)?);
                    Some(hydrated(pool_verifier_with(pool, list.clone())?).await)
                }
                None => None,
            };
            (Guard::LoadBalancer(verifier, access_tokens), None)
        }
    };
    let sign_in = Arc::new(match (&guard, &config.sign_in, &dev) {
        (Guard::Bearer(verifier), Some(settings), _) => SignIn::ManagedLogin(Box::new(
            ManagedLogin::new(settings.clone(), verifier.clone()).map_err(StartError)?,
        )),
        (_, _, Some(dev)) => SignIn::Development(dev.clone()),
        _ => SignIn::Unavailable,
    });
    let sign_out =
        Arc::new(SignOut::new(sign_in.clone(), list, signature_checks).map_err(StartError)?);
    let state = AppState {
        db,
        dev: dev.clone(),
    };
    let admins_only = Require::any_group(["admin"]).map_err(|e| StartError(e.to_string()))?;
    let routes = Router::new()
        .route("/me", get(me))
        .route("/videos", get(list_videos).post(create_video))
        .route("/videos/{id}", get(get_video).delete(delete_video))
        .route(
            "/admin/videos",
            get(admin_videos).layer(admins_only.clone()),
        );
    // The layer that reads the access cookie also tells the CSRF guard
    // which requests it authenticates by that cookie.
    let mut cookie_auth = None;
    let verifiers = match &guard {
        Guard::Bearer(verifier) | Guard::LoadBalancer(_, Some(verifier)) => vec![verifier.clone()],
        Guard::LoadBalancer(_, None) => Vec::new(),
    };
    let protected = match guard {
        Guard::Bearer(verifier) => {
            // Sign-out everywhere and the administrators' sign-out of a
            // user need a valid token: behind the layer.
            let sign_outs = Router::new()
                .route("/auth/logout-everywhere", post(signout::logout_everywhere))
                .route(
                    "/admin/users/{sub}/sign-out",
                    post(signout::admin_sign_out).layer(admins_only),
                )
                .with_state(sign_out.clone());
            let layer = CognitoAuthLayer::new(verifier)
                .realm("videos-api")
                .cookie(signin::ACCESS_COOKIE)
                .strip_headers(SPOOFABLE_HEADERS);
            cookie_auth = Some(layer.clone());
            routes.merge(sign_outs).route_layer(layer)
        }
        Guard::LoadBalancer(verifier, access_tokens) => {
            let layer = AlbAuthLayer::new(verifier).realm("videos-api");
            routes.route_layer(match access_tokens {
                Some(pool) => layer.access_token(pool),
                None => layer,
            })
        }
    };
    let auth_routes = Router::new()
        .route("/auth/config", get(signin::config))
        .route("/auth/login", get(signin::login))
        .route("/auth/callback", get(signin::callback))
        .route("/auth/refresh", post(signin::refresh))
        .route("/auth/dev-login", post(signin::dev_login))
        .with_state(sign_in)
        .route("/auth/logout", post(signout::logout).with_state(sign_out));
    let mut router = Router::new()
        .route("/", get(web::index))
        .route("/app.js", get(web::script))
        .route("/app.css", get(web::style))
        .route("/healthz", get(|| async { "ok" }))
        .merge(auth_routes)
        .merge(protected)
        .fallback(no_such_path)
        .method_not_allowed_fallback(no_such_method);
    if dev.is_some() {
        router = router
            .route("/dev/token", post(dev_token))
            .layer(axum::middleware::from_fn(dev::loopback_host_only));
    }
    let mut router = router
        .layer(axum::middleware::from_fn_with_state(
            cookie_auth,
            web::csrf_guard,
        ))
        .layer(axum::middleware::from_fn(web::security_headers))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state);
    // Outermost: preflights are answered before the auth layer, and every
    // answer (refusals too) carries the CORS headers.
    if let Some(cors) = cors::layer(&config.allowed_origins) {
        router = router.layer(cors);
    }
    Ok(App {
        router,
        dev_issuer: dev,
        verifiers,
    })
}

/// An example's `main`: logging set up ([`init_tracing`]), then `run`; an
/// error is printed as `<name>: <message>` and exits with status 2.
pub async fn main_of(
    name: &str,
    run: impl std::future::Future<Output = Result<(), String>>,
) -> std::process::ExitCode {
    init_tracing();
    match run.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{name}: {message}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Logs to standard error, filtered by `RUST_LOG` (default `info`): the
/// examples' logging.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// How requests are authenticated.
enum Guard {
    /// A bearer token (or the development issuer's).
    Bearer(Verifier),
    /// An Application Load Balancer's signed identity, and the pool's
    /// access token it forwards when a pool is configured.
    LoadBalancer(AlbVerifier, Option<Verifier>),
}

/// `verifier` with its keys fetched if they can be (not fatal: they are
/// fetched again on the first request).
async fn hydrated(verifier: Verifier) -> Verifier {
    if let Err(e) = verifier.hydrate().await {
        tracing::warn!(error.kind = e.kind(), error = %e, "could not fetch the signing keys at start");
    }
    verifier
}

/// The verifier of a configured pool; errors name the settings to fix.
pub fn pool_verifier(pool: &PoolArgs) -> Result<Verifier, StartError> {
    pool_verifier_with(pool, Revocations::in_process())
}

/// As [`pool_verifier`], consulting `revocations` (see [`revocations`]).
pub fn pool_verifier_with(
    pool: &PoolArgs,
    revocations: Revocations,
) -> Result<Verifier, StartError> {
    let vars = match (&pool.issuer, &pool.jwks_url) {
        (Some(_), None) => "COGNITO_ISSUER (--issuer)",
        (Some(_), Some(_)) => "COGNITO_ISSUER (--issuer) or COGNITO_JWKS_URL (--jwks-url)",
        (None, None) => "COGNITO_USER_POOL_ID (--user-pool-id)",
        (None, Some(_)) => "COGNITO_USER_POOL_ID (--user-pool-id) or COGNITO_JWKS_URL (--jwks-url)",
    };
    let config = pool.pool_config().map_err(|e| StartError(e.to_string()))?;
    pool.verifier_settings(Verifier::builder())
        .pool(config)
        .revocations(revocations)
        .build()
        .map_err(|e| StartError(format!("{vars}: {e}")))
}

/// An error answer: `{"error": message}` with a status.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        tracing::error!(error = %e, "database error");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
    }
}

/// A path no route serves: 404 to anyone (the auth layer guards only the
/// routes that exist).
async fn no_such_path() -> ApiError {
    ApiError(StatusCode::NOT_FOUND, "no such path".into())
}

/// A method the path does not take (`Allow` names those it does: `POST`
/// for `/auth/logout`, say).
async fn no_such_method() -> ApiError {
    ApiError(
        StatusCode::METHOD_NOT_ALLOWED,
        "this path does not take this method (see Allow)".into(),
    )
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::UNPROCESSABLE_ENTITY, message.into())
}

fn not_found() -> ApiError {
    ApiError(StatusCode::NOT_FOUND, "no such video".into())
}

/// `GET /me`: the verified identity, serialized straight from the claims.
#[derive(Serialize)]
struct Me<'a> {
    sub: &'a str,
    username: Option<&'a str>,
    token_use: &'static str,
    groups: ClaimList<'a>,
    scopes: ClaimList<'a>,
}

/// `GET /me` behind a load balancer without a pool: its signed identity.
#[derive(Serialize)]
struct MeAtAlb<'a> {
    sub: &'a str,
    username: Option<&'a str>,
    email: Option<&'a str>,
    load_balancer: &'a str,
}

async fn me(parts: axum::http::request::Parts) -> Response {
    let extensions = &parts.extensions;
    match (
        extensions.get::<Arc<CognitoClaims>>(),
        extensions.get::<Arc<AlbClaims>>(),
    ) {
        (Some(claims), _) => Json(Me {
            sub: claims.sub(),
            username: claims.username(),
            token_use: claims.token_use().as_str(),
            groups: claims.groups(),
            scopes: claims.scopes(),
        })
        .into_response(),
        (None, Some(identity)) => Json(MeAtAlb {
            sub: identity.sub(),
            username: identity.username(),
            email: identity.email(),
            load_balancer: identity.load_balancer_arn(),
        })
        .into_response(),
        // Both layers always insert one: unreachable but for a wiring mistake.
        (None, None) => ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "not authenticated".into(),
        )
        .into_response(),
    }
}

/// The owner of the videos a request reads or writes: the verified user's
/// `sub`, from the bearer token (a user's, never an app client's: see
/// [`Subject`]), or from the load balancer's signed identity when no access
/// token was verified.
struct Owner(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Owner {
    type Rejection = ExtractRejection;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let alb_only = parts.extensions.get::<Arc<CognitoClaims>>().is_none();
        match parts.extensions.get::<Arc<AlbClaims>>() {
            Some(identity) if alb_only => Ok(Owner(identity.sub().to_owned())),
            _ => Subject::from_request_parts(parts, state)
                .await
                .map(|Subject(sub)| Owner(sub)),
        }
    }
}

#[derive(Deserialize)]
struct Page {
    limit: Option<u32>,
    cursor: Option<String>,
}

impl Page {
    fn parse(query: Result<Query<Page>, QueryRejection>) -> Result<(i64, u32), ApiError> {
        let Query(page) = query.map_err(|e| invalid(format!("bad query: {}", e.body_text())))?;
        let limit = page.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(invalid(format!("limit must be between 1 and {MAX_LIMIT}")));
        }
        let after = match page.cursor.as_deref() {
            None | Some("") => 0,
            Some(c) => c
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| invalid("cursor is not one this API returned"))?,
        };
        Ok((after, limit))
    }
}

fn page_body(videos: Vec<db::Video>, limit: u32) -> Json<serde_json::Value> {
    let next = (videos.len() == limit as usize)
        .then(|| videos.last().map(|v| v.id.to_string()))
        .flatten();
    Json(json!({ "videos": videos, "next_cursor": next }))
}

async fn list_videos(
    State(state): State<AppState>,
    Owner(owner): Owner,
    query: Result<Query<Page>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (after, limit) = Page::parse(query)?;
    Ok(page_body(
        state.db.list(Some(&owner), after, limit).await?,
        limit,
    ))
}

async fn admin_videos(
    State(state): State<AppState>,
    query: Result<Query<Page>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (after, limit) = Page::parse(query)?;
    Ok(page_body(state.db.list(None, after, limit).await?, limit))
}

#[derive(Deserialize)]
struct NewVideo {
    title: String,
    url: String,
}

async fn create_video(
    State(state): State<AppState>,
    Owner(owner): Owner,
    body: Result<Json<NewVideo>, JsonRejection>,
) -> Result<(StatusCode, Json<db::Video>), ApiError> {
    let Json(new) = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        ),
        _ => invalid(e.body_text()),
    })?;
    let (title, url) = checked_video(&new.title, &new.url).map_err(invalid)?;
    let video = state
        .db
        .insert(&owner, title, url, cognito_verify::unix_now())
        .await?;
    Ok((StatusCode::CREATED, Json(video)))
}

/// A new video's title and URL, trimmed, or why they are refused: a title
/// of 1 to 200 characters, an http(s) URL of at most 2048 characters
/// without white space or control characters.
pub fn checked_video<'a>(title: &'a str, url: &'a str) -> Result<(&'a str, &'a str), &'static str> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err("title must be 1 to 200 characters");
    }
    let url = url.trim();
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("url must be an http(s) URL of at most 2048 characters");
    }
    Ok((title, url))
}

fn video_id(raw: &str) -> Result<i64, ApiError> {
    // An id that cannot exist is answered like one that is not the caller's.
    raw.parse::<i64>().map_err(|_| not_found())
}

async fn get_video(
    State(state): State<AppState>,
    Owner(owner): Owner,
    Path(id): Path<String>,
) -> Result<Json<db::Video>, ApiError> {
    let video = state.db.get(&owner, video_id(&id)?).await?;
    video.map(Json).ok_or_else(not_found)
}

async fn delete_video(
    State(state): State<AppState>,
    Owner(owner): Owner,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.db.delete(&owner, video_id(&id)?).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}

async fn dev_token(
    State(state): State<AppState>,
    body: Result<Json<dev::TokenRequest>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(dev) = state.dev else {
        return Err(ApiError(StatusCode::NOT_FOUND, "not found".into()));
    };
    let Json(request) = body.map_err(|e| invalid(e.body_text()))?;
    let token = dev.mint(&request).map_err(invalid)?;
    Ok(Json(json!({
        "token": token,
        "token_use": request.token_use.as_deref().unwrap_or("access"),
        "expires_in": dev::TOKEN_LIFETIME_SECS,
    })))
}
