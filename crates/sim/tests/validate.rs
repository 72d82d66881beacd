//! `SimConfig::validate` rejects configurations that are not what their names say, and the error
//! names the offending field.

mod common;

use common::*;
use herald_core::NodeId;
use herald_core::trace::CutMode;
use herald_sim::{
    AdversarySpec, Latency, NetworkModel, NodeModel, Partition, Pauses, ScheduledCrash, SimConfig, Simulation,
    TimingModel, Window,
};
use std::time::Duration;

fn fair_loss(loss: f64, duplicate: f64, duplicates_max: u32) -> NetworkModel {
    NetworkModel::FairLoss { loss, duplicate, duplicates_max, reorder: true }
}

fn partition(start: u64, end: Option<u64>, mode: CutMode) -> Partition {
    Partition { start: ms(start), end: end.map(ms), side_a: vec![NodeId(0)], side_b: vec![], symmetric: true, mode }
}

fn sync(delay_max: Duration) -> TimingModel {
    TimingModel::Synchronous { delay_max, step_max: ms(1) }
}

fn partial(windows: Vec<Window>, async_delay: Latency) -> TimingModel {
    TimingModel::PartiallySynchronous {
        delay_max: ms(10),
        step_max: ms(1),
        windows,
        async_delay,
        pauses: Pauses::none(),
    }
}

/// `(what is wrong, the change, the field the error must name)`.
type Case = (&'static str, fn(&mut SimConfig), &'static str);

const INVALID: &[Case] = &[
    ("loss = 1 is not fair", |c| c.model.network = fair_loss(1.0, 0.0, 0), "loss"),
    ("loss above 1", |c| c.model.network = fair_loss(1.5, 0.0, 0), "loss"),
    ("loss NaN", |c| c.model.network = fair_loss(f64::NAN, 0.0, 0), "loss"),
    ("negative loss", |c| c.model.network = fair_loss(-0.1, 0.0, 0), "loss"),
    ("duplicate above 1", |c| c.model.network = fair_loss(0.1, 1.5, 1), "duplicate"),
    ("duplication with no copies", |c| c.model.network = fair_loss(0.1, 0.5, 0), "duplicates_max"),
    (
        "a never-ending partition under fair loss",
        |c| {
            c.model.network = fair_loss(0.1, 0.0, 0);
            c.model.partitions = vec![partition(10, None, CutMode::Drop)];
        },
        "partitions[0].end",
    ),
    (
        "the second partition never ends under fair loss",
        |c| {
            c.model.network = fair_loss(0.1, 0.0, 0);
            c.model.partitions = vec![partition(10, Some(20), CutMode::Hold), partition(30, None, CutMode::Hold)];
        },
        "partitions[1].end",
    ),
    (
        "a partition that ends before it starts",
        |c| c.model.partitions = vec![partition(20, Some(20), CutMode::Hold)],
        "partitions[0].end",
    ),
    (
        "a dropping partition on a reliable network",
        |c| c.model.partitions = vec![partition(10, Some(20), CutMode::Drop)],
        "partitions[0].mode",
    ),
    (
        "a never-ending partition on a reliable network",
        |c| c.model.partitions = vec![partition(10, None, CutMode::Hold)],
        "partitions[0].mode",
    ),
    (
        "a partition with an empty first side",
        |c| {
            let mut p = partition(10, Some(20), CutMode::Hold);
            p.side_a.clear();
            c.model.partitions = vec![p];
        },
        "partitions[0].side_a",
    ),
    (
        "a node on both sides",
        |c| {
            let mut p = partition(10, Some(20), CutMode::Hold);
            p.side_b = vec![NodeId(0), NodeId(1)];
            c.model.partitions = vec![p];
        },
        "partitions[0]",
    ),
    (
        "a partition naming a node outside the cluster",
        |c| {
            let mut p = partition(10, Some(20), CutMode::Hold);
            p.side_b = vec![NodeId(7)];
            c.model.partitions = vec![p];
        },
        "partitions[0]",
    ),
    (
        "latency above the synchronous bound",
        |c| {
            c.link.latency = Latency::uniform(ms(1), ms(10));
            c.model.timing = sync(ms(5));
        },
        "latency",
    ),
    (
        "unbounded latency under synchrony",
        |c| {
            c.link.latency = Latency::Exponential { min: ms(1), mean: ms(2) };
            c.model.timing = sync(ms(50));
        },
        "latency",
    ),
    (
        "latency above the partially synchronous bound",
        |c| {
            c.link.latency = Latency::Constant { value: ms(11) };
            c.model.timing = partial(vec![], Latency::Constant { value: ms(1) });
        },
        "latency",
    ),
    ("a zero synchronous bound", |c| c.model.timing = sync(Duration::ZERO), "timing.delay_max"),
    (
        "an asynchronous window that ends before it starts",
        |c| {
            let w = Window { start: ms(20), end: ms(10) };
            c.model.timing = partial(vec![w], Latency::Constant { value: ms(1) });
        },
        "timing.windows",
    ),
    (
        "an exponential async delay with zero mean",
        |c| {
            let d = Latency::Exponential { min: ms(1), mean: Duration::ZERO };
            c.model.timing = partial(vec![], d);
        },
        "timing.async_delay",
    ),
    (
        "negative pause rate",
        |c| {
            c.model.timing = TimingModel::Asynchronous {
                pauses: Pauses { rate_per_sec: -1.0, duration: Latency::Constant { value: ms(1) } },
            }
        },
        "timing.pauses.rate",
    ),
    ("no nodes", |c| c.nodes = 0, "nodes"),
    ("more nodes than per-link state allows", |c| c.nodes = herald_sim::model::NODES_MAX + 1, "nodes"),
    (
        "every node Byzantine",
        |c| c.model.nodes = NodeModel::Byzantine { faulty: vec![NodeId(0), NodeId(1), NodeId(2)] },
        "nodes.faulty",
    ),
    (
        "a Byzantine node outside the cluster",
        |c| c.model.nodes = NodeModel::Byzantine { faulty: vec![NodeId(3)] },
        "nodes.faulty",
    ),
    (
        "a crash of a node outside the cluster",
        |c| {
            c.model.nodes = NodeModel::CrashStop {
                crashes: vec![ScheduledCrash { node: NodeId(9), at: ms(1), restart_after: None }],
                rate_per_sec: 0.0,
                crashes_max: 1,
            }
        },
        "nodes.crashes",
    ),
    (
        "an infinite crash rate",
        |c| c.model.nodes = NodeModel::CrashStop { crashes: vec![], rate_per_sec: f64::INFINITY, crashes_max: 1 },
        "nodes.rate",
    ),
    (
        "restart_min above restart_max",
        |c| {
            c.model.nodes = NodeModel::CrashRecovery {
                crashes: vec![],
                rate_per_sec: 1.0,
                restart_min: ms(20),
                restart_max: ms(10),
            }
        },
        "nodes.restart",
    ),
    ("drift of a million ppm", |c| c.clocks.drift_ppm_max = 1e6, "clocks.drift_ppm_max"),
    ("negative drift bound", |c| c.clocks.drift_ppm_max = -1.0, "clocks.drift_ppm_max"),
    ("a tiny MTU", |c| c.link.mtu = 32, "link.mtu"),
    (
        "an MTU no larger than its header",
        |c| {
            c.link.mtu = 100;
            c.link.packet_header = 100;
        },
        "link.mtu",
    ),
    ("zero bandwidth", |c| c.link.bandwidth_bps = Some(0), "link.bandwidth"),
    ("uniform latency with min above max", |c| c.link.latency = Latency::uniform(ms(5), ms(1)), "link.latency"),
    ("a Pareto latency with shape 0", |c| c.link.latency = Latency::Pareto { min: ms(1), shape: 0.0 }, "link.latency"),
    ("no virtual time", |c| c.limits.time_max = Duration::ZERO, "limits.time_max"),
    ("a zero liveness bound", |c| c.liveness_bound = Some(Duration::ZERO), "liveness_bound"),
    (
        "a modification ratio above 1",
        |c| c.model.network = NetworkModel::Arbitrary { adversary: AdversarySpec::ModifyRandomBit { ratio: 2.0 } },
        "adversary.ratio",
    ),
    (
        "spoofing a node outside the cluster",
        |c| {
            c.model.network =
                NetworkModel::Arbitrary { adversary: AdversarySpec::SpoofAs { as_node: NodeId(3), ratio: 0.5 } }
        },
        "adversary.as_node",
    ),
    (
        "a blocking window that ends before it starts",
        |c| {
            c.model.network =
                NetworkModel::Arbitrary { adversary: AdversarySpec::BlockFor { start: ms(10), end: Some(ms(10)) } }
        },
        "adversary.end",
    ),
];

#[test]
fn invalid_configurations_are_rejected_naming_the_field() {
    assert!(INVALID.len() >= 6);
    for (what, change, field) in INVALID {
        let mut cfg = small(3);
        assert_eq!(cfg.validate(), Ok(()), "the base configuration is valid");
        change(&mut cfg);
        let err = cfg.validate().expect_err(what);
        assert_eq!(err.field, *field, "{what}: {err}");
        assert!(err.to_string().contains(field), "{what}: the message names the field: {err}");
        assert!(!err.message.is_empty(), "{what}: the error says why");
        // Simulations refuse the configuration with the same error, at build time and later.
        let built = Simulation::new(cfg.clone(), |_| Chatter::new(1, ms(1)));
        assert_eq!(built.err().as_ref(), Some(&err), "{what}");
        let mut sim = Simulation::new(small(3), |_| Chatter::new(1, ms(1))).unwrap();
        assert_eq!(sim.set_config(cfg).err().as_ref(), Some(&err), "{what}");
        assert_eq!(sim.config(), &small(3), "{what}: a rejected configuration is not applied");
    }
}

/// `(what is edgy but fine, the change)`.
type Valid = (&'static str, fn(&mut SimConfig));

const VALID: &[Valid] = &[
    ("loss just below 1", |c| c.model.network = fair_loss(0.999, 1.0, 3)),
    ("no loss at all", |c| c.model.network = fair_loss(0.0, 0.0, 0)),
    ("latency exactly at the bound", |c| {
        c.link.latency = Latency::uniform(ms(1), ms(10));
        c.model.timing = sync(ms(10));
    }),
    ("a held, ending partition on a reliable network", |c| {
        c.model.partitions = vec![partition(10, Some(20), CutMode::Hold)];
    }),
    ("a never-ending partition on an arbitrary network", |c| {
        c.model.network = NetworkModel::Arbitrary { adversary: AdversarySpec::DropAll };
        c.model.partitions = vec![partition(10, None, CutMode::Drop)];
    }),
    ("a one-node cluster", |c| c.nodes = 1),
    ("all but one node Byzantine", |c| c.model.nodes = NodeModel::Byzantine { faulty: vec![NodeId(0), NodeId(2)] }),
    ("blocking forever", |c| {
        c.model.network = NetworkModel::Arbitrary { adversary: AdversarySpec::BlockFor { start: ms(10), end: None } }
    }),
];

#[test]
fn valid_edge_cases_are_accepted() {
    for (what, change) in VALID {
        let mut cfg = small(3);
        change(&mut cfg);
        assert_eq!(cfg.validate(), Ok(()), "{what}");
    }
}
