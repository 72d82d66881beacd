//! Helpers the binary's integration tests share: run `herald`, read its one JSON object, and make
//! scratch paths.

#![allow(dead_code)] // each test file uses a different subset

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Output};

/// Runs the `herald` binary built for these tests.
pub(crate) fn herald(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_herald")).args(args).output().expect("the herald binary runs")
}

/// The process's standard error, for assertion messages.
pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The one JSON object `--json` prints on stdout (asserting there is exactly one).
pub(crate) fn json(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or_else(|| panic!("no JSON on stdout; stderr: {}", stderr(out)));
    assert!(lines.next().is_none(), "--json prints exactly one object, got: {stdout}");
    serde_json::from_str(first).expect("stdout is JSON")
}

/// A path for `name` in this test process's scratch directory.
pub(crate) fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("herald-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Waits for one node to exit successfully and returns its report. Both pipes (stderr if piped)
/// are drained while it runs (a report can outgrow a pipe's buffer); the node's own `time_max`
/// bounds the wait.
pub(crate) fn node_report(i: usize, child: &mut Child) -> Value {
    use std::io::Read as _;
    let err = child.stderr.take();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut err) = err {
            let _ = err.read_to_string(&mut s);
        }
        s
    });
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "n{i} failed: {}", stderr.join().unwrap());
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("n{i}: {e}: {stdout}"))
}

/// Child processes killed (and reaped) on drop, whatever the test did.
pub(crate) struct Procs(pub(crate) Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
