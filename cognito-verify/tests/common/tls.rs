//! AWS host names served on 127.0.0.1: a TLS server with a certificate for
//! the given names, issued by a certificate authority made when the server
//! starts (test-only, never written to disk), and a client that resolves
//! those names to it and trusts only that authority. With it, tests fetch
//! keys from the real Cognito URLs through `VerifierBuilder::http_client`.

use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::io::AsyncWriteExt;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::Reply;

type Route = Arc<dyn Fn(&str, &str) -> Reply + Send + Sync>;

/// A TLS server answering for several host names: `route(host, path)`
/// decides each reply. Stops when dropped.
pub struct Hosts {
    addr: SocketAddr,
    ca: reqwest::Certificate,
    names: Vec<String>,
    /// `(host, path)` of every request, in order.
    seen: Arc<Mutex<Vec<(String, String)>>>,
    accept: tokio::task::AbortHandle,
}

impl Hosts {
    pub async fn start(
        names: &[&str],
        route: impl Fn(&str, &str) -> Reply + Send + Sync + 'static,
    ) -> Hosts {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let ca = Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let leaf = CertificateParams::new(names.clone())
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(leaf.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let route: Route = Arc::new(route);
        let log = seen.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, route, log) = (acceptor.clone(), route.clone(), log.clone());
                tokio::spawn(async move {
                    let Ok(mut stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Some(head) = super::read_head(&mut stream).await else {
                        return;
                    };
                    let (host, path) = host_and_path(&head);
                    log.lock().unwrap().push((host.clone(), path.clone()));
                    let reply = route(&host, &path);
                    super::write_reply(&mut stream, reply, &AtomicUsize::new(0)).await;
                    let _ = stream.shutdown().await;
                });
            }
        })
        .abort_handle();
        Hosts {
            addr,
            ca: reqwest::Certificate::from_der(ca_cert.der()).unwrap(),
            names,
            seen,
            accept,
        }
    }

    /// A client for these hosts: each name resolves to the server, only the
    /// test authority is trusted, redirects are not followed.
    pub fn client(&self) -> reqwest::Client {
        self.client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// The same, left for the test to finish (e.g. with redirects followed).
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        let mut builder = reqwest::Client::builder().tls_certs_only([self.ca.clone()]);
        for name in &self.names {
            builder = builder.resolve(name, self.addr);
        }
        builder
    }

    /// How many requests named `host`.
    pub fn requests_to(&self, host: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(h, _)| h == host)
            .count()
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// The `Host` header's name (without a port) and the request line's path.
fn host_and_path(head: &str) -> (String, String) {
    let path = head
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or_default()
        .to_owned();
    let host = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("host").then(|| value.trim())
        })
        .map(|host| host.split(':').next().unwrap_or_default().to_owned())
        .unwrap_or_default();
    (host, path)
}
