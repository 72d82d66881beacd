//! Value parsers for command-line flags: durations, probabilities, latency distributions,
//! partitions and crash schedules. clap calls these through `value_parser`.

use herald_core::NodeId;
use herald_core::trace::CutMode;
use herald_sim::{Latency, Partition, ScheduledCrash};
use std::time::Duration;

/// `250ms`, `1.5s`, `20us`, `100ns`, `2m`.
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| c.is_ascii_alphabetic() || c == 'µ')
        .ok_or_else(|| format!("`{s}`: add a unit (ns, us, ms, s, m)"))?;
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().map_err(|_| format!("`{s}`: `{num}` is not a number"))?;
    if value.is_nan() || value < 0.0 || value.is_infinite() {
        return Err(format!("`{s}`: a duration must be finite and non-negative"));
    }
    let nanos_per = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        _ => {
            return Err(format!("`{s}`: unknown unit `{unit}` (use ns, us, ms, s, m)"));
        }
    };
    Ok(Duration::from_nanos((value * nanos_per).round() as u64))
}

/// `constant:5ms`, `uniform:1ms..10ms`, `exponential:1ms,5ms` (floor, mean), `pareto:1ms,1.5`
/// (scale, shape).
pub(crate) fn latency(s: &str) -> Result<Latency, String> {
    let (kind, rest) =
        s.split_once(':').ok_or_else(|| format!("`{s}`: expected KIND:PARAMS, e.g. uniform:1ms..10ms"))?;
    match kind {
        "constant" => Ok(Latency::Constant { value: duration(rest)? }),
        "uniform" => {
            let (a, b) = rest.split_once("..").ok_or("uniform takes MIN..MAX")?;
            Ok(Latency::Uniform { min: duration(a)?, max: duration(b)? })
        }
        "exponential" | "exp" => {
            let (a, b) = rest.split_once(',').ok_or("exponential takes MIN,MEAN")?;
            Ok(Latency::Exponential { min: duration(a)?, mean: duration(b)? })
        }
        "pareto" => {
            let (a, b) = rest.split_once(',').ok_or("pareto takes MIN,SHAPE")?;
            Ok(Latency::Pareto { min: duration(a)?, shape: b.parse().map_err(|_| format!("`{b}` is not a number"))? })
        }
        _ => Err(format!("unknown latency distribution `{kind}` (constant, uniform, exponential, pareto)")),
    }
}

/// `0,1|2,3@100ms..300ms` with optional `,one-way` and `,hold` suffixes; an empty right side
/// (`0,1|@…`) means everyone else; `..` with no end means never.
pub(crate) fn partition(s: &str) -> Result<Partition, String> {
    let mut parts = s.split(',').peekable();
    let mut spec = String::new();
    let mut options = Vec::new();
    // Options are trailing words; everything before is the spec (which itself contains commas).
    let all: Vec<&str> = parts.by_ref().collect();
    for piece in &all {
        if matches!(*piece, "one-way" | "oneway" | "hold" | "drop") {
            options.push(*piece);
        } else {
            if !spec.is_empty() {
                spec.push(',');
            }
            spec.push_str(piece);
        }
    }
    let (sides, window) = spec.split_once('@').ok_or_else(|| format!("`{s}`: expected A|B@START..END"))?;
    let (a, b) = sides.split_once('|').ok_or_else(|| format!("`{s}`: expected two sides A|B"))?;
    let (start, end) = window.split_once("..").ok_or_else(|| format!("`{s}`: expected a window START..END"))?;
    Ok(Partition {
        start: duration(start)?,
        end: if end.is_empty() { None } else { Some(duration(end)?) },
        side_a: node_list(a)?,
        side_b: node_list(b)?,
        symmetric: !options.iter().any(|o| o.starts_with("one")),
        mode: if options.contains(&"hold") { CutMode::Hold } else { CutMode::Drop },
    })
}

fn node_list(s: &str) -> Result<Vec<NodeId>, String> {
    s.split([',', '+', ' ']).filter(|x| !x.is_empty()).map(node).collect()
}

/// `2` or `n2`.
pub(crate) fn node(s: &str) -> Result<NodeId, String> {
    let digits = s.trim().trim_start_matches('n');
    digits.parse().map(NodeId).map_err(|_| format!("`{s}` is not a node id"))
}

/// `2@150ms` or, for crash-recovery, `2@150ms+50ms` (restart 50 ms later).
pub(crate) fn crash(s: &str) -> Result<ScheduledCrash, String> {
    let (n, when) = s.split_once('@').ok_or_else(|| format!("`{s}`: expected NODE@TIME[+RESTART]"))?;
    let (at, restart) = match when.split_once('+') {
        Some((at, r)) => (at, Some(duration(r)?)),
        None => (when, None),
    };
    Ok(ScheduledCrash { node: node(n)?, at: duration(at)?, restart_after: restart })
}

/// `100ms..300ms`.
pub(crate) fn window(s: &str) -> Result<herald_sim::Window, String> {
    let (a, b) = s.split_once("..").ok_or_else(|| format!("`{s}`: expected START..END"))?;
    Ok(herald_sim::Window { start: duration(a)?, end: duration(b)? })
}

/// `1/2`: shard 1 of 2.
pub(crate) fn shard(s: &str) -> Result<(u64, u64), String> {
    let (i, k) = s.split_once('/').ok_or_else(|| format!("`{s}`: expected I/K, e.g. 1/2"))?;
    let (i, k): (u64, u64) = (i.parse().map_err(|_| "shard index")?, k.parse().map_err(|_| "shard count")?);
    if k == 0 || i == 0 || i > k {
        return Err(format!("`{s}`: shard I/K needs 1 ≤ I ≤ K"));
    }
    Ok((i, k))
}

/// Fault decision numbers to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FaultMask(pub(crate) Vec<u32>);

/// `3,17,40` (or empty for none): fault decision numbers.
pub(crate) fn fault_mask(s: &str) -> Result<FaultMask, String> {
    if s.trim().is_empty() {
        return Ok(FaultMask(Vec::new()));
    }
    s.split(',')
        .map(|x| x.trim().parse().map_err(|_| format!("`{x}` is not a fault number")))
        .collect::<Result<_, _>>()
        .map(FaultMask)
}

/// `1Gbps`, `100Mbps`, `56kbps`, or plain bits per second.
pub(crate) fn bandwidth(s: &str) -> Result<u64, String> {
    let lower = s.to_ascii_lowercase();
    let (num, mult) = if let Some(x) = lower.strip_suffix("gbps") {
        (x, 1e9)
    } else if let Some(x) = lower.strip_suffix("mbps") {
        (x, 1e6)
    } else if let Some(x) = lower.strip_suffix("kbps") {
        (x, 1e3)
    } else {
        (lower.strip_suffix("bps").unwrap_or(&lower), 1.0)
    };
    let v: f64 = num.parse().map_err(|_| format!("`{s}` is not a bandwidth (e.g. 1Gbps)"))?;
    Ok((v * mult) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(duration("5").is_err());
        assert!(duration("-1s").is_err());
    }

    #[test]
    fn partitions() {
        let p = partition("0,1|2@100ms..300ms,one-way,hold").unwrap();
        assert_eq!(p.side_a, vec![NodeId(0), NodeId(1)]);
        assert_eq!(p.side_b, vec![NodeId(2)]);
        assert!(!p.symmetric);
        assert_eq!(p.mode, CutMode::Hold);
        assert_eq!(p.end, Some(Duration::from_millis(300)));
        let q = partition("0|@1s..").unwrap();
        assert!(q.side_b.is_empty() && q.end.is_none() && q.symmetric);
    }

    #[test]
    fn misc() {
        assert_eq!(shard("2/3"), Ok((2, 3)));
        assert!(shard("3/2").is_err());
        assert_eq!(bandwidth("1Gbps"), Ok(1_000_000_000));
        assert_eq!(crash("n2@150ms+50ms").unwrap().restart_after, Some(Duration::from_millis(50)));
        assert!(matches!(latency("pareto:1ms,1.5"), Ok(Latency::Pareto { .. })));
    }
}
