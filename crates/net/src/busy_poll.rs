//! Busy polling: for a while after each message, keep asking the kernel for ready sockets without
//! sleeping in it, so the next message is picked up without an idle thread's wake-up.
//!
//! An idle tokio thread sleeps in `epoll_wait`; a frame arriving for it costs the kernel a wake-up
//! of that thread (an inter-processor interrupt and a reschedule), which on a virtual machine is
//! often longer than the loopback round trip itself. A spinner trades a CPU core for that time:
//! while it spins, its task yields in a loop, and on a current-thread runtime a yielding task
//! makes the scheduler poll its I/O driver with a zero timeout instead of parking — a ready socket
//! is seen on the next turn, with no sleep and no wake-up. It is the idle strategy of
//! latency-critical systems (a poll-mode event loop, or Linux's `SO_BUSY_POLL` in the kernel) with a
//! budget: after the budget passes with nothing handled, the thread sleeps as usual. Off by
//! default ([`crate::Options::busy_poll`], [`crate::client::Caller::set_busy_poll`]); for
//! processes with a core of their own.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::task::Poll;
// Wall-clock time, not tokio's: a budget of real time, so that a runtime with its clock paused
// (tests) still stops spinning and lets its clock advance.
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Keeps the runtime polling for `budget` after each [`Spinner::touch`]; its [`Spinner::run`]
/// task sleeps on a [`Notify`] otherwise.
#[derive(Debug)]
pub(crate) struct Spinner {
    budget: Duration,
    last: Cell<Instant>,
    touched: Notify,
    /// Turns spun so far.
    turns: Cell<u64>,
}

impl Spinner {
    pub(crate) fn new(budget: Duration) -> Self {
        Self { budget, last: Cell::new(Instant::now()), touched: Notify::new(), turns: Cell::new(0) }
    }

    /// Something was handled: spin for the budget from now.
    pub(crate) fn touch(&self) {
        self.last.set(Instant::now());
        self.touched.notify_one();
    }

    /// Turns spun so far.
    pub(crate) fn turns(&self) -> u64 {
        self.turns.get()
    }

    /// The spinning task: yields in a loop while the last touch is younger than the budget, and
    /// otherwise waits for the next one. Runs until dropped.
    pub(crate) async fn run(&self) {
        loop {
            self.touched.notified().await;
            while self.last.get().elapsed() < self.budget {
                self.turns.set(self.turns.get() + 1);
                tokio::task::yield_now().await;
            }
        }
    }
}

/// Awaits `fut`, polling it in a yield loop for up to `budget` first (see the module's
/// documentation), then waiting for it as usual.
pub(crate) async fn spin_on<F: Future>(fut: F, budget: Duration) -> F::Output {
    let mut fut = pin!(fut);
    if !budget.is_zero() {
        let until = Instant::now() + budget;
        loop {
            // One poll, whatever its answer.
            let polled = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
            if let Poll::Ready(out) = polled {
                return out;
            }
            if Instant::now() >= until {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
    fut.await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    /// A spinner spins after a touch, lets other tasks and timers run meanwhile, and stops once
    /// its budget has passed with no touch.
    #[test]
    fn a_spinner_spins_for_its_budget_after_a_touch_and_then_sleeps() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let spinner = Rc::new(Spinner::new(Duration::from_millis(5)));
            let task = tokio::task::spawn_local({
                let spinner = Rc::clone(&spinner);
                async move { spinner.run().await }
            });
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(spinner.turns(), 0, "no spinning before the first touch");
            spinner.touch();
            // A timer fires while the spinner spins: the runtime's driver is polled between turns.
            tokio::time::sleep(Duration::from_millis(30)).await;
            let spun = spinner.turns();
            assert!(spun > 0, "it spun after the touch");
            tokio::time::sleep(Duration::from_millis(30)).await;
            assert_eq!(spinner.turns(), spun, "it stopped when the budget ran out");
            task.abort();
        });
    }

    /// `spin_on` returns what the future gives, whether it is ready during the spin or after it.
    #[test]
    fn spin_on_returns_the_futures_output_within_or_after_the_budget() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let soon = spin_on(async { 7 }, Duration::from_millis(5)).await;
            assert_eq!(soon, 7);
            let late = tokio::time::sleep(Duration::from_millis(20));
            let started = Instant::now();
            spin_on(late, Duration::from_millis(2)).await;
            assert!(started.elapsed() >= Duration::from_millis(20));
            let unspun = spin_on(async { 8 }, Duration::ZERO).await;
            assert_eq!(unspun, 8);
        });
    }
}
