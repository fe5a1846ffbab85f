//! A precise one-shot timer on Linux `timerfd`, so open-loop sends leave at their due time
//! instead of at tokio's next millisecond tick. The thread's timer slack is lowered too.
//!
//! One `timerfd_settime` per distinct deadline and nothing else: arming a deadline that is
//! already armed is skipped, and an expiry is never `read`, because re-arming resets the
//! timerfd's expiry count and the reactor reports each expiry as a new edge anyway.

use std::cell::Cell;
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::Instant;

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// A timer with microsecond-level wake-ups, registered with the worker's tokio reactor.
#[derive(Debug)]
pub(crate) struct PreciseTimer {
    fd: AsyncFd<OwnedTimer>,
    /// The deadline the timerfd is armed for and has not yet been seen to fire.
    armed: Cell<Option<Instant>>,
}

/// The timerfd, owned for as long as the reactor knows it (which is what makes the
/// registration below sound).
#[derive(Debug)]
struct OwnedTimer(TimerFd);

impl AsRawFd for OwnedTimer {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl PreciseTimer {
    /// Creates the timer; must be called inside a tokio runtime with I/O enabled.
    pub(crate) fn new() -> io::Result<Self> {
        let fd = TimerFd::new(ClockId::CLOCK_MONOTONIC, TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC)?;
        // tokio deprecates this constructor because an arbitrary `AsRawFd` may close its fd
        // early; `OwnedTimer` owns its fd until the `AsyncFd` drops it, so it is sound, and the
        // replacement is an `unsafe fn`, which this workspace forbids.
        #[allow(deprecated)]
        let fd = AsyncFd::with_interest(OwnedTimer(fd), Interest::READABLE)?;
        Ok(PreciseTimer { fd, armed: Cell::new(None) })
    }

    /// Sleeps until `deadline` (returns at once if it has passed, and may return early when the
    /// timer is stopped or fires for an earlier deadline).
    pub(crate) async fn sleep_until(&self, deadline: Instant) -> io::Result<()> {
        let now = Instant::now();
        if deadline <= now {
            return Ok(());
        }
        if self.armed.get() != Some(deadline) {
            self.arm(deadline - now)?;
            self.armed.set(Some(deadline));
        }
        let mut guard = self.fd.readable().await?;
        // The expiry is not read: the next `arm` resets the count, and the edge-triggered
        // reactor reports the next expiry whether or not this one was read. A wake-up for an
        // earlier deadline or a stop returns too; callers check the clock again.
        guard.clear_ready();
        self.armed.set(None);
        Ok(())
    }

    /// Makes a sleeper wake at once (used to stop a run).
    pub(crate) fn fire_now(&self) {
        self.armed.set(None);
        let _ = self.arm(std::time::Duration::from_nanos(1));
    }

    fn arm(&self, after: std::time::Duration) -> io::Result<()> {
        let after = after.max(std::time::Duration::from_nanos(1));
        self.fd
            .get_ref()
            .0
            .set(Expiration::OneShot(TimeSpec::from_duration(after)), TimerSetTimeFlags::empty())
            .map_err(io::Error::from)
    }
}

/// Lowers this thread's timer slack to 1 µs so kernel timers fire when asked (default 50 µs).
pub(crate) fn tighten_timer_slack() {
    let _ = nix::sys::prctl::set_timerslack(1_000);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn wakes_close_to_the_deadline() {
        tighten_timer_slack();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let t = PreciseTimer::new().unwrap();
            let mut worst = Duration::ZERO;
            for _ in 0..20 {
                let deadline = Instant::now() + Duration::from_micros(700);
                t.sleep_until(deadline).await.unwrap();
                let late = Instant::now().saturating_duration_since(deadline);
                assert!(Instant::now() >= deadline);
                worst = worst.max(late);
            }
            // tokio's own timer would be up to 1 ms late; allow a loaded machine plenty of room.
            assert!(worst < Duration::from_millis(20), "woke {worst:?} late");
            t.sleep_until(Instant::now() - Duration::from_millis(1)).await.unwrap();
        });
    }

    #[test]
    fn the_same_deadline_twice_and_a_stop() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let t = std::rc::Rc::new(PreciseTimer::new().unwrap());
            // A sleeper dropped before its deadline leaves the timer armed; the next sleeper
            // for the same deadline does not arm it again and still wakes.
            let deadline = Instant::now() + Duration::from_millis(30);
            let early = tokio::time::timeout(Duration::from_millis(1), t.sleep_until(deadline)).await;
            assert!(early.is_err());
            assert_eq!(t.armed.get(), Some(deadline));
            t.sleep_until(deadline).await.unwrap();
            assert!(Instant::now() >= deadline);
            assert_eq!(t.armed.get(), None);
            // A stop wakes a sleeper long before its deadline.
            let t2 = t.clone();
            let far =
                tokio::task::spawn_local(async move { t2.sleep_until(Instant::now() + Duration::from_secs(60)).await });
            tokio::task::yield_now().await;
            t.fire_now();
            tokio::time::timeout(Duration::from_secs(10), far)
                .await
                .expect("the stop woke the sleeper")
                .unwrap()
                .unwrap();
        });
    }
}
