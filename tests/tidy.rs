//! Tidy: the architecture invariants of ARCHITECTURE.md, enforced on every test run.
//!
//! - Dependency direction: `herald-core` depends on no Herald crate; `herald-protocols` only on
//!   core; the drivers (`herald-sim`, `herald-check`, later `herald-net`) only on core and
//!   protocols, never on each other; the viewer only on core.
//! - Determinism: core, protocols, sim and check never name wall clocks, OS randomness, threads
//!   (except the sweep and checker worker pools), sockets, tokio, or hash-ordered collections; only
//!   the checker's pool reads the wall clock (for its time limit and progress line).
//! - The viewer (`herald-viz`) is a pure renderer: no file, socket, clock, thread or hash-ordered
//!   collection (the same trace renders to the same bytes), and nothing it ships names an
//!   `http(s)://` resource — pages never fetch from the network.
//! - The runtime (`herald-net`) may use tokio, sockets, clocks and files, but holds no protocol
//!   logic: it depends on core only (protocols are a dev-dependency for its tests), never names
//!   `herald_protocols`, and never blocks its runtime with `std::thread::sleep`.
//! - The network emulator (`herald-netem`, behind `herald netem`) is a leaf: it depends on no
//!   Herald crate and no Herald crate but the CLI depends on it, so its packet sockets and threads
//!   stay out of the deterministic crates.
//! - Hygiene: no `dbg!`/`todo!`/`unimplemented!` anywhere; every crate opens with a `//!` contract.

use std::fs;
use std::path::{Path, PathBuf};

const DETERMINISTIC: &[&str] = &["core", "protocols", "sim", "check"];

/// Banned in deterministic crates, with the reason reported on a hit.
const BANNED: &[(&str, &str)] = &[
    ("Instant::now", "wall-clock time: use the virtual time the driver hands over"),
    ("SystemTime::now", "wall-clock time: use the virtual time the driver hands over"),
    ("thread_rng", "OS-seeded randomness: use herald_core::Rng"),
    ("rand::random", "OS-seeded randomness: use herald_core::Rng"),
    ("rand::rng(", "OS-seeded randomness: use herald_core::Rng"),
    ("OsRng", "OS randomness: use herald_core::Rng"),
    ("getrandom", "OS randomness: use herald_core::Rng"),
    ("from_entropy", "OS-seeded randomness: use herald_core::Rng"),
    ("std::thread", "threads make order depend on the scheduler (only the sweep pool may use them)"),
    ("tokio", "IO and a runtime belong in herald-net"),
    ("std::net", "sockets belong in herald-net"),
    ("HashMap", "iteration order is random: use BTreeMap or an index vector"),
    ("HashSet", "iteration order is random: use BTreeSet or an index vector"),
];

/// Files allowed to use threads: the one worker pool per driver.
const THREAD_POOLS: &[&str] = &["crates/sim/src/sweep.rs", "crates/check/src/pool.rs"];

/// Files allowed to read the wall clock: the checker's pool, for its time limit, progress line and
/// elapsed time (a limit that is not hit changes no result).
const CLOCKS: &[&str] = &["crates/check/src/pool.rs"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Code lines only: comment lines are prose and may name what they forbid.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim_start().starts_with("//"))
}

fn crates() -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(root().join("crates"))
        .expect("crates/ exists")
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The Herald crates a crate's `[dependencies]` (not dev-dependencies) name.
fn herald_dependencies(krate: &str) -> Vec<String> {
    let text = fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).expect("manifest");
    let manifest: toml::Table = text.parse().expect("valid TOML");
    let Some(deps) = manifest.get("dependencies").and_then(|d| d.as_table()) else { return Vec::new() };
    deps.keys().filter_map(|k| k.strip_prefix("herald-")).map(str::to_string).collect()
}

#[test]
fn dependencies_point_the_right_way() {
    let allowed = |krate: &str| -> &[&str] {
        match krate {
            "core" | "netem" => &[],
            "protocols" | "viz" | "net" => &["core"],
            "sim" | "check" => &["core", "protocols"],
            _ => &["core", "protocols", "sim", "check", "net", "viz"],
        }
    };
    let mut problems = Vec::new();
    for krate in crates() {
        for dep in herald_dependencies(&krate) {
            if !allowed(&krate).contains(&dep.as_str()) {
                problems.push(format!("herald-{krate} depends on herald-{dep}"));
            }
        }
    }
    assert!(problems.is_empty(), "dependency direction broken (see ARCHITECTURE.md):\n{}", problems.join("\n"));
}

#[test]
fn only_the_cli_uses_the_network_emulator() {
    let users: Vec<String> =
        crates().into_iter().filter(|k| herald_dependencies(k).iter().any(|d| d == "netem")).collect();
    assert!(users.is_empty(), "herald-netem is for the CLI only (see ARCHITECTURE.md), used by: {users:?}");
}

#[test]
fn deterministic_crates_use_no_banned_api() {
    let mut problems = Vec::new();
    for krate in DETERMINISTIC {
        let dir = root().join("crates").join(krate);
        for path in rust_files(&dir.join("src")) {
            let rel = path.strip_prefix(root()).unwrap().to_string_lossy().replace('\\', "/");
            let text = fs::read_to_string(&path).unwrap();
            for (line_no, line) in code_lines(&text) {
                for (needle, why) in BANNED {
                    if *needle == "std::thread" && THREAD_POOLS.contains(&rel.as_str()) {
                        continue;
                    }
                    if *needle == "Instant::now" && CLOCKS.contains(&rel.as_str()) {
                        continue;
                    }
                    if line.contains(needle) {
                        problems.push(format!("{rel}:{line_no}: `{needle}` — {why}"));
                    }
                }
            }
        }
        if let Ok(manifest) = fs::read_to_string(dir.join("Cargo.toml")) {
            for dep in ["tokio", "mio", "socket2", "getrandom"] {
                if manifest.lines().any(|l| {
                    l.trim_start().starts_with(&format!("{dep} ")) || l.trim_start().starts_with(&format!("{dep}."))
                }) {
                    problems.push(format!("crates/{krate}/Cargo.toml depends on {dep}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "determinism invariant broken:\n{}", problems.join("\n"));
}

#[test]
fn the_runtime_holds_no_protocol_logic() {
    let mut problems = Vec::new();
    for path in rust_files(&root().join("crates/net/src")) {
        let text = fs::read_to_string(&path).unwrap();
        for (line_no, line) in code_lines(&text) {
            for (needle, why) in [
                ("herald_protocols", "the driver interprets effects; protocols are wired up by the CLI"),
                ("std::thread::sleep", "blocks the runtime: use tokio::time"),
            ] {
                if line.contains(needle) {
                    problems.push(format!("{}:{line_no}: `{needle}` — {why}", path.display()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_debugging_leftovers_and_every_crate_states_its_contract() {
    let mut problems = Vec::new();
    let mut files = rust_files(&root().join("src"));
    for krate in crates() {
        let lib = root().join("crates").join(&krate).join("src/lib.rs");
        let text = fs::read_to_string(&lib).unwrap_or_default();
        if !text.trim_start().starts_with("//!") {
            problems.push(format!("crates/{krate}/src/lib.rs does not open with a //! contract"));
        }
        files.extend(rust_files(&root().join("crates").join(&krate)));
    }
    for path in files {
        let text = fs::read_to_string(&path).unwrap();
        for (line_no, line) in code_lines(&text) {
            for needle in ["dbg!(", "todo!(", "unimplemented!("] {
                if line.contains(needle) {
                    problems.push(format!("{}:{line_no}: `{needle}`", path.display()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Banned in the viewer, with the reason reported on a hit.
const VIEWER_BANNED: &[(&str, &str)] = &[
    ("std::fs", "the viewer renders what it is given: files belong to the CLI"),
    ("File::", "the viewer renders what it is given: files belong to the CLI"),
    ("std::net", "the viewer never touches the network"),
    ("std::thread", "rendering is a pure function"),
    ("Instant::now", "rendering is a pure function of the trace"),
    ("SystemTime::now", "rendering is a pure function of the trace"),
    ("HashMap", "iteration order is random: the same trace must render to the same bytes"),
    ("HashSet", "iteration order is random: the same trace must render to the same bytes"),
];

/// The one URL the viewer may contain: the SVG namespace, an identifier that is never fetched.
const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";

#[test]
fn the_viewer_is_pure_and_never_fetches_from_the_network() {
    let mut problems = Vec::new();
    let src = root().join("crates/viz/src");
    let mut files: Vec<PathBuf> =
        fs::read_dir(&src).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    files.sort();
    for path in files {
        let rel = path.strip_prefix(root()).unwrap().to_string_lossy().replace('\\', "/");
        let text = fs::read_to_string(&path).unwrap_or_default();
        for (line_no, line) in text.lines().enumerate() {
            let code = !line.trim_start().starts_with("//");
            if path.extension().is_some_and(|e| e == "rs") && code {
                for (needle, why) in VIEWER_BANNED {
                    if line.contains(needle) {
                        problems.push(format!("{rel}:{}: `{needle}` — {why}", line_no + 1));
                    }
                }
            }
            let without_namespace = line.replace(SVG_NAMESPACE, "");
            if code && (without_namespace.contains("http://") || without_namespace.contains("https://")) {
                problems.push(format!("{rel}:{}: names an http(s) URL: the viewer must load nothing", line_no + 1));
            }
        }
    }
    assert!(problems.is_empty(), "viewer invariant broken (see ARCHITECTURE.md):\n{}", problems.join("\n"));
}

/// The tidy test must catch what it claims to: a planted violation is found.
#[test]
fn the_banned_list_catches_a_planted_violation() {
    let planted = "fn f() { let t = std::time::Instant::now(); }\n// Instant::now in a comment is fine\n";
    let hits: Vec<_> = code_lines(planted).filter(|(_, l)| l.contains("Instant::now")).collect();
    assert_eq!(hits.len(), 1);
}
