//! `herald generals byzantine --algorithm om` (being written).

use super::byzantine::{ByzantineArgs, Report};

pub(crate) fn run(_: &ByzantineArgs) -> anyhow::Result<Report> {
    anyhow::bail!("OM(m) is being written")
}
