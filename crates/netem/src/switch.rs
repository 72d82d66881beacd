//! A learning switch: which port a MAC address was last seen on, and where a frame goes.

use std::collections::BTreeMap;

/// An Ethernet address.
pub type Mac = [u8; 6];

/// MAC → port, learned from the source addresses of received frames.
#[derive(Debug, Default)]
pub struct Switch {
    ports: usize,
    table: BTreeMap<Mac, usize>,
}

impl Switch {
    /// A switch with `ports` ports and nothing learned.
    pub fn new(ports: usize) -> Self {
        Self { ports, table: BTreeMap::new() }
    }

    /// The output ports of a frame from `src` to `dst` that arrived on port `from`: the learned
    /// port of `dst`, or every other port for a group address (broadcast, multicast) or an
    /// unknown one (flooding). A frame is never sent back out of the port it came in on.
    /// Learns that `src` is behind `from`.
    pub fn route(&mut self, from: usize, src: Mac, dst: Mac) -> Vec<usize> {
        if src[0] & 1 == 0 {
            self.table.insert(src, from);
        }
        match self.table.get(&dst) {
            Some(&p) if dst[0] & 1 == 0 => {
                if p == from {
                    Vec::new()
                } else {
                    vec![p]
                }
            }
            _ => (0..self.ports).filter(|&p| p != from).collect(),
        }
    }

    /// Whether frames to `dst` go to one port (a unicast address seen before) rather than flooded.
    pub fn knows(&self, dst: Mac) -> bool {
        dst[0] & 1 == 0 && self.table.contains_key(&dst)
    }

    /// The frame's Ethernet header: (source, destination), or `None` for a runt.
    pub fn addresses(frame: &[u8]) -> Option<(Mac, Mac)> {
        let dst: Mac = frame.get(0..6)?.try_into().ok()?;
        let src: Mac = frame.get(6..12)?.try_into().ok()?;
        frame.get(12..14)?;
        Some((src, dst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Mac = [2, 0, 0, 0, 0, 0xa];
    const B: Mac = [2, 0, 0, 0, 0, 0xb];
    const BROADCAST: Mac = [0xff; 6];

    #[test]
    fn floods_until_it_learns_then_forwards_to_one_port() {
        let mut s = Switch::new(3);
        assert!(!s.knows(A) && !s.knows(BROADCAST));
        assert_eq!(s.route(0, A, BROADCAST), [1, 2], "ARP request: flooded");
        assert!(s.knows(A) && !s.knows(BROADCAST));
        assert_eq!(s.route(2, B, A), [0], "the reply goes to where A was seen");
        assert_eq!(s.route(0, A, B), [2]);
        assert_eq!(s.route(1, A, B), [2], "A moved to port 1");
        assert_eq!(s.route(2, B, A), [1]);
        assert_eq!(s.route(2, B, B), Vec::<usize>::new(), "never back out of the port it came in on");
    }

    #[test]
    fn group_addresses_are_flooded_and_never_learned() {
        let mut s = Switch::new(3);
        let multicast: Mac = [0x01, 0x00, 0x5e, 0, 0, 1];
        assert_eq!(s.route(0, multicast, A), [1, 2]);
        assert_eq!(s.route(1, B, multicast), [0, 2]);
    }

    #[test]
    fn runts_have_no_addresses() {
        assert_eq!(Switch::addresses(&[0; 13]), None);
        let mut frame = vec![0xff; 6];
        frame.extend_from_slice(&A);
        frame.extend_from_slice(&[0x08, 0x06]);
        assert_eq!(Switch::addresses(&frame), Some((A, BROADCAST)));
    }
}
