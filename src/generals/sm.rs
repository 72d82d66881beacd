//! `herald generals byzantine --algorithm sm` (being written).

use super::byzantine::{ByzantineArgs, Report};

pub(crate) fn run(_: &ByzantineArgs) -> anyhow::Result<Report> {
    anyhow::bail!("SM(m) is being written")
}
