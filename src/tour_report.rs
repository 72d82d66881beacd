//! The tour's report: `herald-report/index.html`, one entry per lecture scenario — a title, a
//! narration, and a diagram or plot beside it (rendered by `herald-viz`). The tour calls in here;
//! adding a scenario is one call to [`Report::run`], [`Report::trace_file`] or [`Report::plot`].

use anyhow::Context as _;
use herald_core::Node;
use herald_core::trace::{self, TraceEvent, TraceHeader};
use herald_sim::Run;
use herald_viz::report::IndexEntry;
use std::path::{Path, PathBuf};

/// Where the tour writes its report, relative to the working directory.
pub(crate) const DIR: &str = "herald-report";

/// The report being written.
pub(crate) struct Report {
    dir: PathBuf,
    entries: Vec<IndexEntry>,
}

/// The two generals' outcome frequencies for one chain length, measured and in closed form
/// (both attack, one attacks alone, neither).
pub(crate) struct TwoGenerals {
    pub(crate) stages: u32,
    pub(crate) measured: [f64; 3],
    pub(crate) expected: [f64; 3],
}

fn slug(title: &str) -> String {
    let mut s = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    s.trim_matches('-').chars().take(48).collect()
}

impl Report {
    /// Starts a report in [`DIR`], removing the files an earlier report wrote there (entries are
    /// numbered, so a changed tour would otherwise leave stale ones beside the new).
    pub(crate) fn create() -> anyhow::Result<Self> {
        let dir = PathBuf::from(DIR);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let path = entry.path();
            let ours = path.extension().is_some_and(|e| e == "svg" || e == "html" || e == "jsonl");
            if ours && path.is_file() {
                std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            }
        }
        Ok(Self { dir, entries: Vec::new() })
    }

    fn write(&self, name: &str, text: &str) -> anyhow::Result<()> {
        let path = self.dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    }

    /// The next file stem: `03-fair-loss-20-dup-10`.
    fn stem(&self, title: &str) -> String {
        format!("{:02}-{}", self.entries.len() + 1, slug(title))
    }

    /// An entry for a trace: its space-time diagram (shown), the explorer, the trace itself and
    /// a histogram of its delays.
    pub(crate) fn trace(
        &mut self,
        title: &str,
        narration: &str,
        header: &TraceHeader,
        events: &[TraceEvent],
    ) -> anyhow::Result<()> {
        let stem = self.stem(title);
        let (svg, html) = (format!("{stem}.svg"), format!("{stem}.html"));
        self.write(&svg, &herald_viz::svg::diagram(header, events))?;
        self.write(&html, &herald_viz::html::page(header, events))?;
        let mut links = vec![("explore the run".to_string(), html)];
        let layout = herald_viz::Layout::new(header, events);
        let delays: Vec<u64> = layout.arrows.iter().map(|a| a.t_recv.saturating_sub(a.t_send)).collect();
        if let Ok(plot) = herald_viz::plot::latency_histogram(title, &delays, 30) {
            let name = format!("{stem}-latency.svg");
            self.write(&name, &plot)?;
            links.push(("delay histogram".to_string(), name));
        }
        self.entries.push(IndexEntry {
            title: title.to_string(),
            narration: narration.to_string(),
            image: Some(svg),
            links,
        });
        Ok(())
    }

    /// An entry for a recorded simulator run.
    pub(crate) fn run<N: Node>(
        &mut self,
        title: &str,
        narration: &str,
        run: &Run<N>,
        scenario: &str,
        reproduce: String,
    ) -> anyhow::Result<()> {
        let bytes = run.write_trace(Vec::new(), scenario, Some(reproduce))?;
        let (header, events) = trace::read(&bytes[..]).context("reading back the run's trace")?;
        self.trace(title, narration, &header, &events)
    }

    /// An entry for a trace file a command wrote.
    pub(crate) fn trace_file(&mut self, title: &str, narration: &str, path: &Path) -> anyhow::Result<()> {
        let (header, events) = crate::viz::read(path)?;
        self.trace(title, narration, &header, &events)
    }

    /// An entry for a plot.
    pub(crate) fn plot(&mut self, title: &str, narration: &str, svg: &str) -> anyhow::Result<()> {
        let name = format!("{}.svg", self.stem(title));
        self.write(&name, svg)?;
        self.entries.push(IndexEntry {
            title: title.to_string(),
            narration: narration.to_string(),
            image: Some(name),
            links: Vec::new(),
        });
        Ok(())
    }

    /// The generals: the two generals' outcomes against their closed forms, then OM and SM with a
    /// traitor, and the n = 3 counterexample to OM(1).
    pub(crate) fn generals(&mut self, seed: u64, two: &[TwoGenerals]) -> anyhow::Result<()> {
        use herald_viz::plot::Series;
        let names = ["both attack", "one attacks alone", "neither attacks"];
        let series: Vec<Series> = names
            .iter()
            .enumerate()
            .map(|(i, name)| Series {
                name: (*name).to_string(),
                measured: two.iter().map(|r| (f64::from(r.stages), r.measured[i])).collect(),
                expected: two.iter().map(|r| (f64::from(r.stages), r.expected[i])).collect(),
            })
            .collect();
        let plot = herald_viz::plot::sweep(
            "Two generals: outcome frequencies by chain length (dots measured, thick lines closed form)",
            "acknowledgement stages d",
            "fraction of trials",
            &series,
        )?;
        self.plot(
            "The two generals: outcomes against their closed forms",
            "More acknowledgement stages move probability between the outcomes, but the risk that one \
             general attacks alone never reaches zero: no finite chain gives certainty.",
            &plot,
        )?;
        self.byzantine(seed)
    }

    fn byzantine(&mut self, seed: u64) -> anyhow::Result<()> {
        use crate::generals::byzantine::{Algorithm, ByzantineArgs};
        use herald_protocols::byzantine::om::Enumeration;
        let dir = self.dir.clone();
        let args = |algorithm, generals, case| ByzantineArgs {
            algorithm,
            generals,
            traitors: 1,
            m: None,
            exhaustive: true,
            case,
            median: false,
            seeds: 1,
            seed,
            threads: Some(1),
            failures_dir: dir.clone(),
            json: true,
        };
        // OM(1) among 4: the first case in which the traitorous commander sends both orders.
        let search = Enumeration::new(4, 1, 1, 1_000).context("OM(1) among 4 generals enumerates")?;
        let mixed = (0..search.len())
            .filter_map(|i| search.case(i))
            .find(|c| {
                let script = c.script.to_string();
                c.traitors.iter().any(|t| t.0 == 0) && script.contains(":A") && script.contains(":R")
            })
            .context("a traitorous commander sending both orders")?;
        let om4 = crate::generals::om::run(&args(Algorithm::Om, 4, Some(mixed.index)))?;
        let om4_trace = self.dir.join(format!("om-n4-m1-t1-case{}.jsonl", mixed.index));
        self.trace_file(
            "OM(1), 4 generals, the commander a traitor",
            &format!(
                "{mixed}. The loyal lieutenants relay what they heard and take the majority: {}.",
                if om4.violations == 0 { "they agree, IC1 and IC2 hold" } else { "yet agreement broke" }
            ),
            &om4_trace,
        )?;
        // SM(1) among 3, case 14: the traitorous commander signs ATTACK to n1 and RETREAT to n2.
        let sm3 = crate::generals::sm::run(&args(Algorithm::Sm, 3, Some(14)))?;
        self.trace_file(
            "SM(1), 3 generals, the commander a traitor",
            &format!(
                "The commander signs ATTACK to n1 and RETREAT to n2; the lieutenants relay the signed orders, see \
                 two, and both retreat: with signatures 3 generals tolerate 1 traitor ({}).",
                if sm3.violations == 0 { "IC1 and IC2 hold" } else { "yet agreement broke" }
            ),
            &dir.join("sm-case14.jsonl"),
        )?;
        // OM(1) among 3: the exhaustive search finds the counterexample.
        let om3 = crate::generals::om::run(&args(Algorithm::Om, 3, None))?;
        let path = om3.counterexample.context("OM(1) among 3 generals has a counterexample")?;
        self.trace_file(
            "OM(1), 3 generals: the counterexample",
            &format!(
                "{}. With 3 generals a loyal lieutenant cannot tell a lying commander from a lying peer: \
                 {} of {} cases break agreement.",
                om3.first_violation.unwrap_or_default(),
                om3.violations,
                om3.runs
            ),
            &path,
        )
    }

    /// RPC (lecture §2.4): one call whose first response is lost, under each retry semantics, and
    /// a server that crashes after executing.
    pub(crate) fn rpc(&mut self, seed: u64) -> anyhow::Result<()> {
        use crate::cli::{RpcDelivery, RpcFault, RpcWorkload};
        use crate::scenarios::rpc::{Spec, delivery_name, describe, fault_name, simulate_traced};
        let base = herald_sim::SimConfig::new(2);
        for (title, delivery, fault) in [
            ("RPC, at-most-once: the response is lost", RpcDelivery::AtMostOnce, RpcFault::LoseFirstResponse),
            ("RPC, at-least-once: the response is lost", RpcDelivery::AtLeastOnce, RpcFault::LoseFirstResponse),
            ("RPC, exactly-once: the response is lost", RpcDelivery::ExactlyOnce, RpcFault::LoseFirstResponse),
            (
                "RPC, at-most-once: the server crashes after executing",
                RpcDelivery::AtMostOnce,
                RpcFault::CrashAfterExecute,
            ),
        ] {
            let spec = Spec::new(RpcWorkload::Likes, delivery, fault);
            let reproduce = format!(
                "herald sim rpc --workload likes --delivery {} --fault {} --seed {seed}",
                delivery_name(delivery),
                fault_name(fault)
            );
            let (report, bytes) = simulate_traced(&base, &spec, seed, reproduce)?;
            let (header, events) = trace::read(&bytes[..]).context("reading back the RPC trace")?;
            let outcome = report.outcome.as_ref().map_or_else(|| "no outcome".to_string(), describe);
            let narration = format!(
                "Client n0 calls Increment on the likes counter (12,300) at server n1. The client saw {outcome}; \
                 the server executed the call {} time{} and the counter ended at {}.",
                report.server_executions,
                if report.server_executions == 1 { "" } else { "s" },
                report.final_value
            );
            self.trace(title, &narration, &header, &events)?;
        }
        // The race of [K §5.1]: client n0's like is executed but its ack is lost; client n2 reads
        // and unlikes; n0's retry arrives last.
        for (title, lww, flag) in [
            ("RPC race: a retried like undoes an unlike (plain set)", false, ""),
            ("RPC race: timestamps and tombstones keep the unlike (LWW)", true, " --lww"),
        ] {
            let spec =
                Spec { lww, ..Spec::new(RpcWorkload::LikeRace, RpcDelivery::AtLeastOnce, RpcFault::LoseFirstResponse) };
            let reproduce =
                format!("herald sim rpc --workload like-race --fault lose-first-response{flag} --seed {seed}");
            let (report, bytes) = simulate_traced(&herald_sim::SimConfig::new(3), &spec, seed, reproduce)?;
            let (header, events) = trace::read(&bytes[..]).context("reading back the RPC trace")?;
            let narration = format!(
                "n0 likes (its ack is lost), n2 reads and unlikes, n0 retries with its original timestamp. \
                 At the end the like is {}.",
                if report.liked == Some(true) { "back: the bug" } else { "gone: the tombstone's later timestamp wins" }
            );
            self.trace(title, &narration, &header, &events)?;
        }
        Ok(())
    }

    /// Writes `index.html`; returns its path.
    pub(crate) fn finish(self) -> anyhow::Result<PathBuf> {
        let page = herald_viz::report::index(
            "Herald — a tour of the lecture",
            "Each entry is one scenario of the tour: the run drawn as a space-time diagram (one line per node, \
             time to the right, an arrow per delivered message, × for a lost one) or a plot. Click a diagram for \
             the full picture, or 'explore the run' to step through it event by event.",
            &self.entries,
        )?;
        self.write("index.html", &page)?;
        Ok(self.dir.join("index.html"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_file_names() {
        assert_eq!(super::slug("fair-loss 20%, dup 10%"), "fair-loss-20-dup-10");
        assert_eq!(super::slug("synchronous, delay ≤ 10ms"), "synchronous-delay-10ms");
    }
}
