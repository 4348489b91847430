//! `videos-mcp`: the videos store of `examples/videos-api` as an MCP
//! server (the Model Context Protocol's streamable HTTP transport, with the
//! `rmcp` crate), protected as an OAuth resource by Cognito access tokens.
//!
//! ```text
//! MCP client ──► ProtectedResource layer ── GET /.well-known/oauth-protected-resource/mcp
//!                  │                           (RFC 9728: this resource, the pool as its
//!                  │                            authorization server, the scopes)
//!                  ▼
//!                CognitoAuthLayer ── no or bad token: 401 with
//!                  │                 WWW-Authenticate: Bearer …, resource_metadata="…"
//!                  │                 (an access token not bound to this resource:
//!                  │                  invalid_audience)
//!                  ▼
//!                rmcp StreamableHttpService (stateless, JSON responses)
//!                  └─ tools read the verified claims from the request, never
//!                     a user id from the arguments
//! ```
//!
//! Tools: `list_my_videos`, `add_video` (for the signed-in user, who owns
//! what they add) and `list_all_videos` (members of the `admin` group).
//! The server never passes the client's token on (MCP's "token
//! passthrough" is forbidden): it only reads the claims the layer verified.

use std::sync::Arc;

use axum::Router;
use cognito_verify::{CognitoClaims, Requirement, Verifier};
use cognito_verify_axum::{CognitoAuthLayer, ProtectedResource};
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::ErrorData;
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::{Deserialize, Serialize};
use videos_api::db::{Db, Video};
use videos_api::{DEFAULT_LIMIT, MAX_LIMIT, SPOOFABLE_HEADERS};

pub mod dev;

/// Where the MCP endpoint is served; the resource identifier ends with it.
pub const MCP_PATH: &str = "/mcp";

/// The group whose members may use `list_all_videos`.
pub const ADMIN_GROUP: &str = "admin";

/// The MCP server: one per request (stateless), over the shared store.
#[derive(Clone)]
pub struct VideosMcp {
    db: Db,
}

/// `list_my_videos` and `list_all_videos`'s arguments.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct ListArgs {
    /// At most this many videos (default 20, at most 100).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Only videos with a larger id (for the next page).
    #[serde(default)]
    pub after: Option<i64>,
}

/// `add_video`'s arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct NewVideo {
    /// The title, 1 to 200 characters.
    pub title: String,
    /// An http(s) URL.
    pub url: String,
}

/// A list of videos.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct Videos {
    /// The videos, oldest first.
    pub videos: Vec<VideoOut>,
}

/// A video as the tools return it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct VideoOut {
    /// Its id.
    pub id: i64,
    /// The owner's `sub`.
    pub owner: String,
    /// Title.
    pub title: String,
    /// Where the video is.
    pub url: String,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
}

impl From<Video> for VideoOut {
    fn from(v: Video) -> Self {
        VideoOut {
            id: v.id,
            owner: v.owner,
            title: v.title,
            url: v.url,
            created_at: v.created_at,
        }
    }
}

/// The claims the layer verified for this request (never anything the
/// client sent in the arguments).
fn claims(ctx: &RequestContext<RoleServer>) -> Result<Arc<CognitoClaims>, ErrorData> {
    ctx.extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Arc<CognitoClaims>>())
        .cloned()
        .ok_or_else(|| ErrorData::internal_error("the request was not verified", None))
}

/// The claims, when they meet `requirement`.
fn claims_meeting(
    ctx: &RequestContext<RoleServer>,
    requirement: &Requirement,
) -> Result<Arc<CognitoClaims>, ErrorData> {
    let claims = claims(ctx)?;
    requirement
        .check(&claims)
        .map_err(|e| ErrorData::invalid_request(format!("{} ({e})", e.kind()), None))?;
    Ok(claims)
}

fn storage_error(e: videos_api::db::DbError) -> ErrorData {
    tracing::error!(error = %e, "storage failed");
    ErrorData::internal_error("storage failed", None)
}

fn page(args: &ListArgs) -> (i64, u32) {
    (
        args.after.unwrap_or(0),
        args.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
    )
}

#[tool_router]
impl VideosMcp {
    /// The server over `db`.
    pub fn new(db: Db) -> Self {
        VideosMcp { db }
    }

    #[tool(
        description = "List my videos (the signed-in user's), oldest first.",
        annotations(read_only_hint = true)
    )]
    async fn list_my_videos(
        &self,
        Parameters(args): Parameters<ListArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Videos>, ErrorData> {
        let claims = claims_meeting(&ctx, &Requirement::user())?;
        let (after, limit) = page(&args);
        let videos = self
            .db
            .list(Some(claims.sub()), after, limit)
            .await
            .map_err(storage_error)?;
        Ok(Json(Videos {
            videos: videos.into_iter().map(Into::into).collect(),
        }))
    }

    #[tool(description = "Add a video (title and http(s) URL) to my videos.")]
    async fn add_video(
        &self,
        Parameters(new): Parameters<NewVideo>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<VideoOut>, ErrorData> {
        let claims = claims_meeting(&ctx, &Requirement::user())?;
        let (title, url) = videos_api::checked_video(&new.title, &new.url)
            .map_err(|why| ErrorData::invalid_params(why, None))?;
        let video = self
            .db
            .insert(claims.sub(), title, url, cognito_verify::unix_now())
            .await
            .map_err(storage_error)?;
        Ok(Json(video.into()))
    }

    #[tool(
        description = "List everyone's videos (members of the admin group only).",
        annotations(read_only_hint = true)
    )]
    async fn list_all_videos(
        &self,
        Parameters(args): Parameters<ListArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Videos>, ErrorData> {
        let admins = Requirement::any_group([ADMIN_GROUP])
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        claims_meeting(&ctx, &admins)?;
        let (after, limit) = page(&args);
        let videos = self
            .db
            .list(None, after, limit)
            .await
            .map_err(storage_error)?;
        Ok(Json(Videos {
            videos: videos.into_iter().map(Into::into).collect(),
        }))
    }
}

#[tool_handler(
    name = "videos-mcp",
    instructions = "Your videos: list them, add one; admins list everyone's."
)]
impl ServerHandler for VideosMcp {}

/// The MCP endpoint at [`MCP_PATH`] behind the auth layer, and the
/// resource's metadata outside it. `allowed_hosts` are the `Host` values
/// the endpoint answers (rmcp's DNS-rebinding guard; empty: any).
pub fn app(
    db: Db,
    verifier: Verifier,
    resource: &ProtectedResource,
    allowed_hosts: Vec<String>,
) -> Router {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(allowed_hosts);
    let mcp = StreamableHttpService::new(
        move || Ok(VideosMcp::new(db.clone())),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .route_service(MCP_PATH, mcp)
        .layer(
            CognitoAuthLayer::new(verifier)
                .realm("videos")
                .protected_resource(resource)
                .strip_headers(SPOOFABLE_HEADERS),
        )
        .layer(resource.clone())
}
