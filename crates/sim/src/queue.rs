//! The event queue: a min-heap on (time, insertion sequence), so events at the same instant run in
//! the order they were scheduled — which is what makes a run a pure function of its seed.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Entry<E> {
    time: u64,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

pub(crate) struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
    peak: usize,
}

impl<E> EventQueue<E> {
    pub(crate) fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
            peak: 0,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, time: u64, event: E) {
        let seq = self.seq;
        self.seq += 1;
        self.heap.push(Entry { time, seq, event });
        self.peak = self.peak.max(self.heap.len());
    }

    /// The most events ever queued at once.
    pub(crate) fn peak(&self) -> usize {
        self.peak
    }

    /// Bytes the queue's storage occupies now.
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.heap.capacity() * Self::entry_size()
    }

    #[inline]
    pub(crate) fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.time)
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(u64, E)> {
        self.heap.pop().map(|e| (e.time, e.event))
    }

    /// Removes every event, in time order.
    pub(crate) fn drain_sorted(&mut self) -> Vec<(u64, E)> {
        let mut v = Vec::with_capacity(self.heap.len());
        while let Some(e) = self.pop() {
            v.push(e);
        }
        v
    }

    /// Bytes per queued event, for the memory report.
    pub(crate) const fn entry_size() -> usize {
        std::mem::size_of::<Entry<E>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut q = EventQueue::new();
        q.push(5, 'a');
        q.push(1, 'b');
        q.push(5, 'c');
        q.push(1, 'd');
        let order: Vec<char> = q.drain_sorted().into_iter().map(|(_, e)| e).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
    }
}
