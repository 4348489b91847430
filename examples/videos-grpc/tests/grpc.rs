//! videos-grpc over real HTTP/2: the server on 127.0.0.1 with its keys from
//! a local issuer, called by the generated tonic client. Each refusal is
//! checked by its gRPC code, message and `www-authenticate` metadata.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cognito_verify::testing::LocalIssuer;
use cognito_verify::{TokenUse, Verifier};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use videos_api::db::Db;
use videos_grpc::proto::admin_videos_client::AdminVideosClient;
use videos_grpc::proto::videos_client::VideosClient;
use videos_grpc::proto::{AddVideoRequest, ListVideosRequest};

const CLIENT: &str = "grpc-client";

/// Starts the server with `verifier` (keys not fetched yet: the first call
/// waits for them), on an in-memory database.
async fn start(verifier: Verifier) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let db = Db::open(":memory:").unwrap();
    tokio::spawn(videos_grpc::serve(
        listener,
        verifier,
        db,
        std::future::pending(),
    ));
    addr
}

fn verifier(issuer: &LocalIssuer) -> Verifier {
    Verifier::builder()
        .pool(
            issuer
                .pool_config()
                .client_id(CLIENT)
                .token_use(TokenUse::Access),
        )
        .build()
        .unwrap()
}

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// `message` with the caller's bearer token, if any.
fn with_token<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

fn list() -> ListVideosRequest {
    ListVideosRequest { after: 0, limit: 0 }
}

fn video(title: &str) -> AddVideoRequest {
    AddVideoRequest {
        title: title.into(),
        url: "https://example.com/v/1".into(),
    }
}

fn challenge(status: &Status) -> &str {
    status
        .metadata()
        .get("www-authenticate")
        .map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn each_caller_sees_only_their_own_videos() {
    let issuer = LocalIssuer::start().await.unwrap();
    let addr = start(verifier(&issuer)).await;
    let mut videos = VideosClient::new(channel(addr).await);
    let alice = issuer.access_token(CLIENT).sub("alice").sign();
    let carol = issuer.access_token(CLIENT).sub("carol").sign();

    let added = videos
        .add_video(with_token(video("alice's video"), Some(&alice)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(added.owner, "alice", "the owner is the verified sub");
    let listed = videos
        .list_videos(with_token(list(), Some(&alice)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.videos, vec![added]);
    let carols = videos
        .list_videos(with_token(list(), Some(&carol)))
        .await
        .unwrap()
        .into_inner();
    assert!(carols.videos.is_empty());

    // A bad request is the service's own INVALID_ARGUMENT, after the layer.
    let mut bad = video("x");
    bad.url = "ftp://example.com".into();
    let status = videos
        .add_video(with_token(bad, Some(&alice)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(issuer.jwks_requests(), 1, "keys fetched once, then cached");
}

#[tokio::test]
async fn no_token_and_bad_tokens_are_unauthenticated() {
    let issuer = LocalIssuer::start().await.unwrap();
    let addr = start(verifier(&issuer)).await;
    let mut videos = VideosClient::new(channel(addr).await);

    let status = videos
        .list_videos(with_token(list(), None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(status.message(), "missing_token");
    assert_eq!(challenge(&status), r#"Bearer realm="videos-grpc""#);

    let expired = issuer.access_token(CLIENT).expires_in(-600).sign();
    let status = videos
        .list_videos(with_token(list(), Some(&expired)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(status.message(), "expired");
    assert_eq!(
        challenge(&status),
        r#"Bearer realm="videos-grpc", error="invalid_token", error_description="expired""#
    );

    let other_client = issuer.access_token("another-client").sign();
    let status = videos
        .add_video(with_token(video("x"), Some(&other_client)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "invalid_client_id");

    let status = videos
        .list_videos(with_token(list(), Some("not.a.token")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "malformed_token");
}

#[tokio::test]
async fn a_missing_group_is_permission_denied() {
    let issuer = LocalIssuer::start().await.unwrap();
    let addr = start(verifier(&issuer)).await;
    let channel = channel(addr).await;
    let mut videos = VideosClient::new(channel.clone());
    let mut admin = AdminVideosClient::new(channel);
    let alice = issuer.access_token(CLIENT).sub("alice").sign();
    let bob = issuer
        .access_token(CLIENT)
        .sub("bob")
        .groups(["admin"])
        .sign();
    videos
        .add_video(with_token(video("alice's video"), Some(&alice)))
        .await
        .unwrap();

    let status = admin
        .list_all_videos(with_token(list(), Some(&alice)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(status.message(), "missing_group");
    assert!(challenge(&status).contains(r#"error="insufficient_scope""#));

    let everyone = admin
        .list_all_videos(with_token(list(), Some(&bob)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(everyone.videos.len(), 1);
    assert_eq!(everyone.videos[0].owner, "alice");
    // The requirement is on AdminVideos only: bob's own list is his.
    let own = videos
        .list_videos(with_token(list(), Some(&bob)))
        .await
        .unwrap()
        .into_inner();
    assert!(own.videos.is_empty());
}

#[tokio::test]
async fn unreachable_keys_are_unavailable() {
    let issuer = LocalIssuer::start().await.unwrap();
    let token = issuer.access_token(CLIENT).sign();
    let addr = start(verifier(&issuer)).await;
    issuer.shutdown();
    let mut videos = VideosClient::new(channel(addr).await);
    let status = videos
        .list_videos(with_token(list(), Some(&token)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(status.message(), "jwks_unavailable");
    assert_eq!(
        challenge(&status),
        "",
        "no challenge: the token was not judged"
    );
}

#[tokio::test]
async fn a_revoked_token_is_unauthenticated_with_its_kind() {
    let issuer = LocalIssuer::start().await.unwrap();
    let verifier = verifier(&issuer);
    let revocations = verifier.revocations().clone();
    let addr = start(verifier).await;
    let mut videos = VideosClient::new(channel(addr).await);
    let token = issuer.access_token(CLIENT).sub("carol").sign();
    videos
        .list_videos(with_token(list(), Some(&token)))
        .await
        .unwrap();
    revocations
        .revoke(cognito_verify::Revoked::user_now("carol"))
        .await
        .unwrap();
    let status = videos
        .list_videos(with_token(list(), Some(&token)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(status.message(), "revoked");
    assert_eq!(
        challenge(&status),
        r#"Bearer realm="videos-grpc", error="invalid_token", error_description="revoked""#
    );
}

/// A token-shaped string of `len` bytes (the characters of a signed token,
/// repeated): the verifier refuses it by its size alone.
fn token_of_len(issuer: &LocalIssuer, len: usize) -> String {
    let token = issuer.access_token(CLIENT).sign();
    token.chars().cycle().take(len).collect()
}

#[tokio::test]
async fn a_token_past_the_cap_reaches_the_layer_as_token_too_large() {
    let issuer = LocalIssuer::start().await.unwrap();
    let verifier = verifier(&issuer);
    let cap = verifier.max_token_bytes();
    let addr = start(verifier).await;
    let mut videos = VideosClient::new(channel(addr).await);

    let at_cap = issuer
        .access_token(CLIENT)
        .claim("padding", "x".repeat(cap * 2 / 3).into())
        .sign();
    assert!(at_cap.len() < cap, "{} bytes", at_cap.len());
    videos
        .list_videos(with_token(list(), Some(&at_cap)))
        .await
        .expect("a token under the cap is verified");

    // Just past the cap (the size of the report: 16,400 bytes), and three
    // times the cap: both refused by the layer, not by h2.
    for len in [cap + 16, 3 * cap] {
        let status = videos
            .list_videos(with_token(list(), Some(&token_of_len(&issuer, len))))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "{len} bytes: {status:?}"
        );
        assert_eq!(status.message(), "token_too_large", "{len} bytes");
        assert_eq!(
            challenge(&status),
            r#"Bearer realm="videos-grpc", error="invalid_token", error_description="token_too_large""#
        );
    }
}

/// A channel over one connector that counts the TCP connections it opens.
async fn counted_channel(addr: SocketAddr) -> (Channel, Arc<AtomicUsize>) {
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    let connector = tower::service_fn(move |_: tonic::transport::Uri| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
        }
    });
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_with_connector(connector)
        .await
        .unwrap();
    (channel, connections)
}

#[tokio::test]
async fn oversized_requests_do_not_fail_other_calls_on_the_same_connection() {
    let issuer = LocalIssuer::start().await.unwrap();
    let verifier = verifier(&issuer);
    let limit = videos_grpc::header_list_limit(&verifier) as usize;
    let addr = start(verifier).await;
    let (channel, connections) = counted_channel(addr).await;
    let alice = issuer.access_token(CLIENT).sub("alice").sign();
    VideosClient::new(channel.clone())
        .list_videos(with_token(list(), Some(&alice)))
        .await
        .expect("keys fetched");

    // The 64 KiB of the report, past the header-list limit, and up to 120
    // KiB (h2 ends the connection from about 140 KiB): each refused on its
    // own stream, while 40 valid calls run beside them on one connection.
    let oversized = [64 * 1024, limit + 1024, 96 * 1024, 120 * 1024];
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..40 {
        let mut videos = VideosClient::new(channel.clone());
        let alice = alice.clone();
        calls.spawn(async move {
            let result = videos.list_videos(with_token(list(), Some(&alice))).await;
            (None, result.map(drop))
        });
        if i % 10 == 0 {
            for len in oversized {
                let mut videos = VideosClient::new(channel.clone());
                let token = token_of_len(&issuer, len);
                calls.spawn(async move {
                    let result = videos.list_videos(with_token(list(), Some(&token))).await;
                    (Some(len), result.map(drop))
                });
            }
        }
    }
    let (mut valid_failures, mut oversized_answers) = (Vec::new(), 0);
    while let Some(joined) = calls.join_next().await {
        match joined.unwrap() {
            (None, Err(status)) => valid_failures.push(status),
            (None, Ok(())) => {}
            (Some(len), result) => {
                assert!(result.is_err(), "{len} bytes accepted");
                oversized_answers += 1;
            }
        }
    }
    assert_eq!(oversized_answers, 4 * oversized.len());
    assert!(
        valid_failures.is_empty(),
        "{} of 40 valid calls failed; the first: {:?}",
        valid_failures.len(),
        valid_failures.first()
    );
    VideosClient::new(channel)
        .list_videos(with_token(list(), Some(&alice)))
        .await
        .expect("the connection still serves calls");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "the server never closed the connection"
    );
}
