//! Per-request timeouts without a timer per request: each slot has a [`Deadline`] cell, and one
//! watchdog task per worker wakes the slots whose deadline has passed.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// One slot's deadline, set before a request and cleared after.
#[derive(Debug, Default)]
pub(crate) struct Deadline {
    at: Cell<Option<Instant>>,
    expired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

/// The request did not finish before its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expired;

impl Deadline {
    /// Runs `fut` (pinned by the caller, e.g. with `std::pin::pin!`) until it completes or the
    /// deadline `at` passes. No allocation per request.
    pub(crate) fn guard<F: Future + Unpin>(&self, at: Instant, fut: F) -> Guarded<'_, F> {
        self.at.set(Some(at));
        self.expired.set(false);
        Guarded { deadline: self, fut }
    }
}

/// See [`Deadline::guard`].
pub(crate) struct Guarded<'a, F> {
    deadline: &'a Deadline,
    fut: F,
}

impl<F: Future + Unpin> Future for Guarded<'_, F> {
    type Output = Result<F::Output, Expired>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let d = self.deadline;
        if d.expired.get() {
            d.at.set(None);
            return Poll::Ready(Err(Expired));
        }
        match Pin::new(&mut self.fut).poll(cx) {
            Poll::Ready(v) => {
                d.at.set(None);
                Poll::Ready(Ok(v))
            }
            Poll::Pending => {
                let mut w = d.waker.borrow_mut();
                if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *w = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

/// Watches the deadlines of one worker's slots.
#[derive(Debug, Default)]
pub(crate) struct Watchdog {
    slots: RefCell<Vec<Rc<Deadline>>>,
}

impl Watchdog {
    /// A new deadline cell watched by this watchdog.
    pub(crate) fn deadline(&self) -> Rc<Deadline> {
        let d = Rc::new(Deadline::default());
        self.slots.borrow_mut().push(d.clone());
        d
    }

    /// Marks and wakes every slot whose deadline has passed; returns how many.
    pub(crate) fn check(&self, now: Instant) -> usize {
        let mut fired = 0;
        for d in self.slots.borrow().iter() {
            if d.at.get().is_some_and(|at| at <= now) && !d.expired.get() {
                d.expired.set(true);
                if let Some(w) = d.waker.borrow_mut().take() {
                    w.wake();
                }
                fired += 1;
            }
        }
        fired
    }

    /// Checks deadlines every `tick` until the surrounding task is dropped.
    pub(crate) async fn run(self: Rc<Self>, tick: Duration) {
        loop {
            tokio::time::sleep(tick).await;
            self.check(Instant::now());
        }
    }
}

/// The watchdog's period for a given timeout: a twentieth of it, between 1 ms and 250 ms.
pub(crate) fn tick_for(timeout: Duration) -> Duration {
    (timeout / 20).clamp(Duration::from_millis(1), Duration::from_millis(250))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_a_stuck_future_and_passes_a_quick_one() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let dog = Rc::new(Watchdog::default());
            tokio::task::spawn_local(dog.clone().run(Duration::from_millis(2)));
            let d = dog.deadline();
            let start = Instant::now();
            let r = d.guard(start + Duration::from_millis(20), std::pin::pin!(std::future::pending::<()>())).await;
            assert_eq!(r, Err(Expired));
            assert!(start.elapsed() >= Duration::from_millis(20));
            let r = d.guard(Instant::now() + Duration::from_secs(5), std::pin::pin!(async { 7 })).await;
            assert_eq!(r, Ok(7));
            assert_eq!(dog.check(Instant::now() + Duration::from_secs(10)), 0);
        });
        assert_eq!(tick_for(Duration::from_secs(10)), Duration::from_millis(250));
        assert_eq!(tick_for(Duration::from_millis(5)), Duration::from_millis(1));
    }
}
