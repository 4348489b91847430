//! `videos-api --allowed-origins`: pages hosted elsewhere (an S3 website,
//! another port) call the API with a bearer token. tower-http's `CorsLayer`
//! sits outside the auth layer, so it answers preflights itself and every
//! refusal carries the headers the page needs to read it.

mod common;

use common::Service;
use reqwest::{Method, StatusCode};

const PAGE: &str = "http://127.0.0.1:8123";

async fn request(
    service: &Service,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", service.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

fn preflight<'a>(origin: &'a str, method: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("origin", origin),
        ("access-control-request-method", method),
        (
            "access-control-request-headers",
            "authorization,content-type",
        ),
    ]
}

#[tokio::test]
async fn an_allowed_origin_gets_preflights_and_readable_refusals() {
    let service = Service::start(&["--dev", "--allowed-origins", PAGE]).await;
    for (path, method) in [("/videos", "POST"), ("/videos/1", "DELETE"), ("/me", "GET")] {
        let answer = request(&service, Method::OPTIONS, path, &preflight(PAGE, method)).await;
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        assert_eq!(header(&answer, "access-control-allow-origin"), Some(PAGE));
        let methods = header(&answer, "access-control-allow-methods").unwrap();
        assert!(methods.contains(method), "{methods}");
        let allowed = header(&answer, "access-control-allow-headers")
            .unwrap()
            .to_ascii_lowercase();
        assert!(
            allowed.contains("authorization") && allowed.contains("content-type"),
            "{allowed}"
        );
        assert_eq!(
            header(&answer, "access-control-allow-credentials"),
            None,
            "never credentialed (cookie) requests from another origin"
        );
    }
    // A header the page may not send (the cookie page's CSRF header).
    let answer = request(
        &service,
        Method::OPTIONS,
        "/videos",
        &[
            ("origin", PAGE),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "x-videos-csrf"),
        ],
    )
    .await;
    let allowed = header(&answer, "access-control-allow-headers").unwrap_or_default();
    assert!(!allowed.contains("x-videos-csrf"), "{allowed}");

    // A refusal the page can read: the status, and the exposed challenge.
    let answer = request(&service, Method::GET, "/videos", &[("origin", PAGE)]).await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&answer, "access-control-allow-origin"), Some(PAGE));
    let exposed = header(&answer, "access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("www-authenticate"), "{exposed}");
    assert!(header(&answer, "www-authenticate").is_some());
}

#[tokio::test]
async fn other_origins_get_no_cors_headers() {
    for args in [
        &["--dev", "--allowed-origins", PAGE][..],
        &["--dev"][..], // none by default
    ] {
        let service = Service::start(args).await;
        for origin in ["http://127.0.0.1:9999", "http://evil.example", "null"] {
            let answer = request(
                &service,
                Method::OPTIONS,
                "/videos",
                &preflight(origin, "POST"),
            )
            .await;
            assert_eq!(
                header(&answer, "access-control-allow-origin"),
                None,
                "{args:?} {origin}"
            );
            let answer = request(&service, Method::GET, "/videos", &[("origin", origin)]).await;
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(header(&answer, "access-control-allow-origin"), None);
        }
    }
}
