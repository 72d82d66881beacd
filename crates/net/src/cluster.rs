//! `cluster.toml`: who is in a cluster, where each node listens, its certificate, and which
//! protocol the cluster runs — and [`init`], which writes it with a fresh certificate authority.
//!
//! ```toml
//! cluster = 7731902345           # the cluster's id: nodes of two clusters never talk
//! tls = true                     # mutual TLS with the certificates below (false: plain TCP)
//! ca = "ca.pem"                  # the cluster's certificate authority
//!
//! [protocol]                     # read by the program that builds the nodes, not by the driver
//! name = "byzantine-om"
//! seed = 0
//! delay_bound_ms = 50            # the synchronous model's bounds, for round-based protocols
//! step_bound_ms = 10
//! traitors = [2]
//!
//! [[node]]
//! id = 0
//! addr = "127.0.0.1:7000"        # hosts may be different machines
//! client_addr = "127.0.0.1:7004" # optional: where outside callers connect
//! max_callers = 256              # optional: outside callers connected at once (default 256)
//! busy_poll_us = 50              # optional: poll without sleeping this long after each input (default 0)
//! cert = "n0.pem"                # signed by the CA, with the DNS name n0.herald
//! key = "n0.key.pem"
//! data = "data/n0"               # the node's data directory (durable storage, traces)
//! ```
//!
//! Relative paths are relative to the directory of `cluster.toml`.

use serde::{Deserialize, Serialize};
use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A whole `cluster.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The cluster's id.
    pub cluster: u64,
    /// Whether connections use mutual TLS.
    pub tls: bool,
    /// The certificate authority's certificate (PEM).
    pub ca: PathBuf,
    /// What the cluster runs.
    pub protocol: ProtocolSpec,
    /// The nodes, ids `0..n` in order.
    #[serde(rename = "node")]
    pub nodes: Vec<NodeEntry>,
    /// The directory relative paths are resolved against (not stored).
    #[serde(skip)]
    pub base: PathBuf,
}

/// The protocol section: opaque to the driver, read by whoever builds the nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProtocolSpec {
    /// The protocol's name (`byzantine-om`, `byzantine-sm`, …).
    pub name: String,
    /// The seed of every node's RNG (node i uses stream 1 + i, as in the simulator) and of the
    /// protocol's setup.
    #[serde(default)]
    pub seed: u64,
    /// The synchronous model's bound on message delay, in milliseconds.
    pub delay_bound_ms: u64,
    /// The synchronous model's bound on a handler step, in milliseconds.
    pub step_bound_ms: u64,
    /// The Byzantine nodes.
    #[serde(default)]
    pub traitors: Vec<u32>,
    /// Protocol-specific parameters.
    #[serde(flatten)]
    pub params: toml::Table,
}

impl ProtocolSpec {
    /// The length of a synchronous round over real TCP: `delay + step + 2 · skew`, where the skew
    /// between the nodes' round clocks is bounded by one delay, because every node starts round 1
    /// when its connections to all peers are up (the driver's [`Start::WhenConnected`]).
    ///
    /// [`Start::WhenConnected`]: crate::Start::WhenConnected
    pub fn round_length(&self) -> Duration {
        Duration::from_millis(self.delay_bound_ms.saturating_mul(3).saturating_add(self.step_bound_ms))
    }
}

/// The largest `max_callers` [`ClusterConfig::validate`] accepts (each caller costs a file
/// descriptor; far beyond any process's open-file limit).
pub const MAX_CALLERS_MAX: usize = 1_000_000;

/// The largest `busy_poll_us` [`ClusterConfig::validate`] accepts: a second. Busy polling is for
/// the microseconds between a node's messages; a longer budget keeps a core busy to no purpose.
pub const BUSY_POLL_US_MAX: u64 = 1_000_000;

/// The largest `delay_bound_ms` and `step_bound_ms` [`ClusterConfig::validate`] accepts: an hour.
/// Rounds, lifetimes and deadlines are computed from them and must stay far from overflow.
pub const BOUND_MS_MAX: u64 = 3_600_000;

/// One node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEntry {
    /// The node's id: its index in `node`.
    pub id: u32,
    /// Where it listens (peers dial it here).
    pub addr: SocketAddr,
    /// Where outside callers connect (plain TCP), if anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_addr: Option<SocketAddr>,
    /// The most outside callers connected at once on `client_addr` (the driver's
    /// `Options::max_callers`; `None`: its default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_callers: Option<usize>,
    /// Microseconds the node keeps polling its sockets without sleeping after each input (the
    /// driver's `Options::busy_poll`; `None`: zero, sleep at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy_poll_us: Option<u64>,
    /// Its certificate (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// Its data directory.
    pub data: PathBuf,
}

/// Why a cluster configuration is unusable. The message names the field.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl ClusterConfig {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = fs::read_to_string(path).map_err(|e| ConfigError(format!("reading {}: {e}", path.display())))?;
        let mut config: Self =
            toml::from_str(&text).map_err(|e| ConfigError(format!("invalid {}: {e}", path.display())))?;
        config.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        config.validate()?;
        Ok(config)
    }

    /// Checks what the driver relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.nodes.len() < 2 {
            return Err(ConfigError(format!(
                "invalid `node`: a cluster needs at least 2 nodes, not {}",
                self.nodes.len()
            )));
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if node.id as usize != i {
                return Err(ConfigError(format!(
                    "invalid `node.id`: entry {i} has id {}; ids are 0..n in order",
                    node.id
                )));
            }
            let used = |a: SocketAddr| {
                self.nodes[..=i]
                    .iter()
                    .flat_map(|o| [Some(o.addr), o.client_addr])
                    .flatten()
                    .filter(|b| *b == a)
                    .count()
            };
            if used(node.addr) > 1 || node.client_addr.is_some_and(|c| used(c) > 1) {
                return Err(ConfigError(format!(
                    "invalid `node.addr`: node {i} shares an address with another listener"
                )));
            }
            if let Some(max) = node.max_callers.filter(|m| !(1..=MAX_CALLERS_MAX).contains(m)) {
                return Err(ConfigError(format!(
                    "invalid `node.max_callers`: node {i}: {max}; 1 to {MAX_CALLERS_MAX}"
                )));
            }
            if let Some(us) = node.busy_poll_us.filter(|us| *us > BUSY_POLL_US_MAX) {
                return Err(ConfigError(format!(
                    "invalid `node.busy_poll_us`: node {i}: {us}; at most {BUSY_POLL_US_MAX} (a second)"
                )));
            }
        }
        if self.protocol.delay_bound_ms == 0 {
            return Err(ConfigError("invalid `protocol.delay_bound_ms`: must be positive".into()));
        }
        for (field, ms) in
            [("delay_bound_ms", self.protocol.delay_bound_ms), ("step_bound_ms", self.protocol.step_bound_ms)]
        {
            if ms > BOUND_MS_MAX {
                return Err(ConfigError(format!(
                    "invalid `protocol.{field}`: {ms} ms; at most {BOUND_MS_MAX} (an hour)"
                )));
            }
        }
        if let Some(t) = self.protocol.traitors.iter().find(|t| **t as usize >= self.nodes.len()) {
            return Err(ConfigError(format!(
                "invalid `protocol.traitors`: n{t} is not a node of {}",
                self.nodes.len()
            )));
        }
        Ok(())
    }

    /// `path` resolved against the configuration's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() { path.to_path_buf() } else { self.base.join(path) }
    }

    /// The entry of node `id`.
    pub fn node(&self, id: u32) -> Result<&NodeEntry, ConfigError> {
        self.nodes.get(id as usize).ok_or_else(|| {
            ConfigError(format!("invalid `--node`: {id}: the cluster has nodes 0 to {}", self.nodes.len() - 1))
        })
    }
}

/// What [`init`] should write.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// How many nodes.
    pub nodes: usize,
    /// The host every node listens on.
    pub host: std::net::IpAddr,
    /// Node i listens on `base_port + i` for peers and `base_port + n + i` for outside callers;
    /// `None` picks free ports on `host` now.
    pub base_port: Option<u16>,
    /// Whether to use mutual TLS.
    pub tls: bool,
    /// The cluster id.
    pub cluster: u64,
    /// The protocol section.
    pub protocol: ProtocolSpec,
    /// Every node's `max_callers` (`None`: the driver's default, not written).
    pub max_callers: Option<usize>,
}

/// Writes `dir/cluster.toml`, a fresh certificate authority `dir/ca.pem`, and a certificate and key
/// per node (`dir/nI.pem`, `dir/nI.key.pem`) signed by it. The CA's private key is not kept: to
/// add a node, initialise a new cluster.
pub fn init(dir: &Path, options: &InitOptions) -> Result<ClusterConfig, ConfigError> {
    let io = |what: &str, e: std::io::Error| ConfigError(format!("writing {what} in {}: {e}", dir.display()));
    fs::create_dir_all(dir).map_err(|e| io("the directory", e))?;
    // Data of an earlier cluster in this directory belongs to other identities: start clean.
    match fs::remove_dir_all(dir.join("data")) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io("(clearing data/)", e)),
        _ => {}
    }
    // Node i listens on ports[i] for peers and ports[n + i] for outside callers.
    let ports: Vec<u16> = match options.base_port {
        Some(base) => (0..2 * options.nodes)
            .map(|i| {
                u16::try_from(usize::from(base) + i)
                    .map_err(|_| ConfigError(format!("invalid `--base-port`: {base} + {i} is not a port")))
            })
            .collect::<Result<_, _>>()?,
        None => free_ports(options.host, 2 * options.nodes).map_err(|e| io("(finding free ports)", e))?,
    };
    let certs =
        crate::tls::generate(options.nodes).map_err(|e| ConfigError(format!("generating certificates: {e}")))?;
    fs::write(dir.join("ca.pem"), &certs.ca_pem).map_err(|e| io("ca.pem", e))?;
    let mut nodes = Vec::new();
    for (i, (cert, key)) in certs.nodes.iter().enumerate() {
        let (cert_name, key_name) = (format!("n{i}.pem"), format!("n{i}.key.pem"));
        fs::write(dir.join(&cert_name), cert).map_err(|e| io(&cert_name, e))?;
        write_private(&dir.join(&key_name), key).map_err(|e| io(&key_name, e))?;
        nodes.push(NodeEntry {
            id: i as u32,
            addr: SocketAddr::new(options.host, ports[i]),
            client_addr: Some(SocketAddr::new(options.host, ports[options.nodes + i])),
            max_callers: options.max_callers,
            busy_poll_us: None,
            cert: cert_name.into(),
            key: key_name.into(),
            data: PathBuf::from(format!("data/n{i}")),
        });
    }
    let config = ClusterConfig {
        cluster: options.cluster,
        tls: options.tls,
        ca: "ca.pem".into(),
        protocol: options.protocol.clone(),
        nodes,
        base: dir.to_path_buf(),
    };
    config.validate()?;
    let text = toml::to_string(&config).map_err(|e| ConfigError(format!("rendering cluster.toml: {e}")))?;
    fs::write(dir.join("cluster.toml"), text).map_err(|e| io("cluster.toml", e))?;
    Ok(config)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    fs::write(path, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// `n` ports that are free on `host` right now (the OS picks them; they are released before
/// returning, so another program could take one in between — fine for local clusters and tests).
pub fn free_ports(host: std::net::IpAddr, n: usize) -> std::io::Result<Vec<u16>> {
    let listeners: Vec<TcpListener> =
        (0..n).map(|_| TcpListener::bind(SocketAddr::new(host, 0))).collect::<Result<_, _>>()?;
    listeners.iter().map(|l| l.local_addr().map(|a| a.port())).collect()
}
