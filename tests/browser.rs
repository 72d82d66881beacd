//! The viewer in a real browser: headless Chromium (Debian's `chromium`, installed by `.ci/run`)
//! runs the pages' own JavaScript. It opens the tour report and a 100,000-event trace's explorer
//! with the `#selftest` hook, which drives the step, scrub, filter and click controls and pages
//! through the whole run counting the message arrows it draws; the test checks that count against
//! the trace, and saves a screenshot of one of the report's explorers.
//!
//! Without Chromium this test fails: set `HERALD_CHROMIUM` or install `chromium`.

mod common;
use common::{stderr, temp};
use herald_core::trace::EventKind;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("HERALD_CHROMIUM") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("headless Chromium is required: `apt-get install -y chromium` (as .ci/run does) or set HERALD_CHROMIUM");
}

/// Runs Chromium headless on `url` with the flags and a fresh profile; returns stdout.
fn browse(extra: &[&str], url: &str) -> String {
    static PROFILES: AtomicUsize = AtomicUsize::new(0);
    let profile = temp(&format!("chromium-profile-{}", PROFILES.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&profile);
            panic!("chromium did not finish {url} within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(&profile);
    reader.join().unwrap()
}

/// The JSON verdict a page's `#selftest` hook wrote into the DOM.
fn selftest(page: &Path) -> Value {
    let url = format!("file://{}#selftest", page.canonicalize().unwrap().display());
    let dom = browse(&["--dump-dom"], &url);
    let start = dom.find("<pre id=\"selftest-result\">").unwrap_or_else(|| panic!("no self-test verdict in {url}"));
    let rest = &dom[start + "<pre id=\"selftest-result\">".len()..];
    let json = &rest[..rest.find("</pre>").unwrap()];
    serde_json::from_str(&json.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\""))
        .unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn herald_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_herald")).args(args).current_dir(dir).output().expect("herald runs")
}

#[test]
fn the_report_and_a_100k_event_explorer_work_in_chromium() {
    let started = Instant::now();
    chromium();
    let dir = temp("browser");
    std::fs::create_dir_all(&dir).unwrap();
    // The tour (it writes herald-report/ into the working directory) while the big trace is made.
    let tour = {
        let dir = dir.clone();
        std::thread::spawn(move || herald_in(&dir, &[]))
    };
    let trace = dir.join("big.jsonl");
    let out = herald_in(
        &dir,
        &["sim", "ping-pong", "--nodes", "4", "--seed", "1", "--time", "17s", "--trace", trace.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, events) = herald_core::trace::read(std::fs::read(&trace).unwrap().as_slice()).unwrap();
    assert!(events.len() >= 100_000, "a 100,000-event trace, got {}", events.len());
    let deliveries = events.iter().filter(|e| matches!(e.kind, EventKind::Deliver { .. })).count() as u64;
    let html = dir.join("big.html");
    let out = herald_in(&dir, &["viz", trace.to_str().unwrap(), "-o", html.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let tour = tour.join().unwrap();
    assert!(tour.status.success(), "{}", stderr(&tour));
    let prepared = started.elapsed();

    // The 100,000-event explorer: every delivery drawn once as the page pages through the run,
    // ten clicks on "step" land on event 10, scrubbing, filtering and clicking work.
    let v = selftest(&html);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["events"].as_u64(), Some(events.len() as u64));
    assert_eq!(v["deliveries"].as_u64(), Some(deliveries), "{v}");
    assert_eq!(v["arrows_drawn"].as_u64(), Some(deliveries), "{v}");
    assert_eq!(v["cursor_after_steps"].as_u64(), Some(10), "{v}");

    // The report: every entry's picture loads, and an explorer it links passes its self-test.
    let report = dir.join("herald-report");
    let v = selftest(&report.join("index.html"));
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["entries"].as_u64().unwrap() >= 23, "{v}");
    assert_eq!(v["loaded"], v["images"], "{v}");
    let partition = std::fs::read_dir(&report)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("fair-loss-partition") && p.extension().is_some_and(|e| e == "html"))
        .expect("the partition row's explorer");
    let v = selftest(&partition);
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["arrows_drawn"].as_u64().unwrap() > 0);

    // A screenshot of that explorer (a partition, losses, the step cursor), kept for people to see.
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("herald-explorer.png");
    let _ = std::fs::remove_file(&shot);
    let url = format!("file://{}", partition.canonicalize().unwrap().display());
    browse(&["--window-size=1400,900", &format!("--screenshot={}", shot.display())], &url);
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot: {} bytes", png.len());
    eprintln!(
        "browser test: prepared in {:.1}s, browsed in {:.1}s; screenshot {}",
        prepared.as_secs_f64(),
        (started.elapsed() - prepared).as_secs_f64(),
        shot.display()
    );
}
