//! Mutual TLS (rustls, TLS 1.3 only, the `ring` provider) with the cluster's own certificate
//! authority.
//!
//! Both ends present a certificate signed by the cluster CA. The dialer checks that the acceptor's
//! certificate names `n<j>.herald` for the node `j` it meant to reach; the acceptor checks that the
//! dialer's certificate is byte for byte the one `cluster.toml` lists for the node id its `Hello`
//! claims. A process without a cluster key pair fails the handshake and never gets a frame read;
//! TLS's record integrity and sequence numbers reject tampered and replayed bytes within a
//! connection, and a fresh handshake (fresh keys) per connection rejects replays across them.

use crate::cluster::ClusterConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;

/// Freshly generated cluster certificates, PEM-encoded.
#[derive(Debug)]
pub struct Generated {
    /// The CA certificate.
    pub ca_pem: String,
    /// Each node's certificate and private key.
    pub nodes: Vec<(String, String)>,
}

/// Generates a CA and `n` node certificates (`n<i>.herald`) signed by it (ECDSA P-256).
pub fn generate(n: usize) -> Result<Generated, rcgen::Error> {
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "herald cluster CA");
    let ca = ca_params.self_signed(&ca_key)?;
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(vec![server_name(i as u32)])?;
        params.distinguished_name.push(rcgen::DnType::CommonName, format!("herald node {i}"));
        let cert = params.signed_by(&key, &ca, &ca_key)?;
        nodes.push((cert.pem(), key.serialize_pem()));
    }
    Ok(Generated { ca_pem: ca.pem(), nodes })
}

/// The DNS name in node `id`'s certificate.
pub fn server_name(id: u32) -> String {
    format!("n{id}.herald")
}

/// One node's TLS material, ready for connections.
#[derive(Clone)]
pub struct Tls {
    pub(crate) server: Arc<ServerConfig>,
    pub(crate) client: Arc<ClientConfig>,
    /// Every node's certificate, by id: what the acceptor compares a dialer's certificate with.
    pub(crate) peers: Arc<Vec<CertificateDer<'static>>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("peers", &self.peers.len()).finish_non_exhaustive()
    }
}

/// Why TLS material could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("TLS: {0}")]
pub struct TlsError(pub String);

fn cert(path: &Path) -> Result<CertificateDer<'static>, TlsError> {
    CertificateDer::from_pem_file(path).map_err(|e| TlsError(format!("reading certificate {}: {e}", path.display())))
}

impl Tls {
    /// Loads node `id`'s key pair, the CA and every node's certificate from `config`.
    pub fn load(config: &ClusterConfig, id: u32) -> Result<Self, TlsError> {
        let me = config.node(id).map_err(|e| TlsError(e.0))?;
        let key_path = config.resolve(&me.key);
        let key = PrivateKeyDer::from_pem_file(&key_path)
            .map_err(|e| TlsError(format!("reading private key {}: {e}", key_path.display())))?;
        let ca = cert(&config.resolve(&config.ca))?;
        let peers: Vec<CertificateDer<'static>> =
            config.nodes.iter().map(|n| cert(&config.resolve(&n.cert))).collect::<Result<_, _>>()?;
        Self::new(ca, peers, id, key)
    }

    /// TLS for node `id` from DER material: the CA, every node's certificate, `id`'s key.
    pub fn new(
        ca: CertificateDer<'static>,
        peers: Vec<CertificateDer<'static>>,
        id: u32,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        let err = |e: rustls::Error| TlsError(e.to_string());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(ca).map_err(err)?;
        let roots = Arc::new(roots);
        let chain = vec![peers.get(id as usize).ok_or_else(|| TlsError(format!("no certificate for n{id}")))?.clone()];
        let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| TlsError(e.to_string()))?;
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(err)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(err)?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(err)?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(err)?;
        Ok(Self { server: Arc::new(server), client: Arc::new(client), peers: Arc::new(peers) })
    }

    pub(crate) fn name_of(id: u32) -> ServerName<'static> {
        ServerName::try_from(server_name(id)).expect("n<id>.herald is a valid DNS name")
    }
}

/// Dials `addr` as a client with `tls`, expecting the acceptor to be node `peer`, and greets it
/// with a `Hello` from node `claim` of cluster `cluster`; `Ok` if the acceptor greets back. For
/// operators (is this node up, do these credentials get in?) and for tests of who gets in.
pub async fn probe_hello(
    tls: &Tls,
    addr: std::net::SocketAddr,
    peer: u32,
    cluster: u64,
    claim: u32,
) -> Result<(), String> {
    use crate::frame::{Body, FrameCodec, MAX_FRAME_DEFAULT, encode};
    use futures_util::{SinkExt, StreamExt};
    let timeout = std::time::Duration::from_secs(3);
    let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let connector = tokio_rustls::TlsConnector::from(tls.client.clone());
    let stream = tokio::time::timeout(timeout, connector.connect(Tls::name_of(peer), tcp))
        .await
        .map_err(|_| "TLS handshake timed out".to_string())?
        .map_err(|e| format!("TLS: {e}"))?;
    let mut conn = tokio_util::codec::Framed::new(stream, FrameCodec::new(MAX_FRAME_DEFAULT));
    let hello = encode(&Body::Hello { cluster, from: claim, to: peer, incarnation: 1 });
    conn.send(bytes::Bytes::from(hello)).await.map_err(|e| e.to_string())?;
    match tokio::time::timeout(timeout, conn.next()).await {
        Ok(Some(Ok(Body::Hello { from, .. }))) if from == peer => Ok(()),
        Ok(Some(Ok(other))) => Err(format!("unexpected reply {other:?}")),
        Ok(Some(Err(e))) => Err(e.to_string()),
        Ok(None) => Err("closed without a hello".into()),
        Err(_) => Err("no hello in time".into()),
    }
}
