//! A precise one-shot timer on Linux `timerfd`, so open-loop sends leave at their due time
//! instead of at tokio's next millisecond tick. The thread's timer slack is lowered too.

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
        Ok(PreciseTimer { fd })
    }

    /// Sleeps until `deadline` (returns at once if it has passed).
    pub(crate) async fn sleep_until(&self, deadline: Instant) -> io::Result<()> {
        let now = Instant::now();
        if deadline <= now {
            return Ok(());
        }
        self.arm(deadline - now)?;
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| fd.get_ref().0.wait().map_err(io::Error::from)) {
                Ok(result) => {
                    // A one-shot timerfd has nothing more to read until it is armed again.
                    guard.clear_ready();
                    return result;
                }
                Err(_would_block) => continue,
            }
        }
    }

    /// Makes a sleeper wake at once (used to stop a run).
    pub(crate) fn fire_now(&self) {
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
}
