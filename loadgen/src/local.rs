//! Single-thread coordination for one worker: wait lists and budgets built on `Rc`/`Cell`,
//! so the request path touches no atomic, lock or channel.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Tasks parked until something on the same thread wakes them.
#[derive(Debug, Default)]
pub(crate) struct WaitList {
    wakers: RefCell<VecDeque<Waker>>,
}

impl WaitList {
    /// A future that parks the task once, until woken.
    pub(crate) fn park(&self) -> Park<'_> {
        Park { list: self, parked: false }
    }

    /// Wakes the task parked longest; returns whether there was one.
    pub(crate) fn wake_one(&self) -> bool {
        let w = self.wakers.borrow_mut().pop_front();
        w.map(Waker::wake).is_some()
    }

    /// Wakes every parked task.
    pub(crate) fn wake_all(&self) {
        let all: Vec<_> = self.wakers.borrow_mut().drain(..).collect();
        all.into_iter().for_each(Waker::wake);
    }

    /// Whether any task is parked.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.wakers.borrow().is_empty()
    }
}

/// See [`WaitList::park`]. Ready after the first wake (callers re-check their condition).
#[derive(Debug)]
pub(crate) struct Park<'a> {
    list: &'a WaitList,
    parked: bool,
}

impl Future for Park<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.parked {
            return Poll::Ready(());
        }
        self.parked = true;
        self.list.wakers.borrow_mut().push_back(cx.waker().clone());
        Poll::Pending
    }
}

/// How many requests a worker may still start (`None`: no limit).
#[derive(Debug)]
pub(crate) struct Budget {
    left: Cell<Option<u64>>,
}

impl Budget {
    /// A budget of `n` requests, or unlimited.
    pub(crate) fn new(n: Option<u64>) -> Self {
        Budget { left: Cell::new(n) }
    }

    /// Takes one request from the budget; false when it is spent.
    #[inline]
    pub(crate) fn take(&self) -> bool {
        match self.left.get() {
            None => true,
            Some(0) => false,
            Some(n) => {
                self.left.set(Some(n - 1));
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_counts_down() {
        let b = Budget::new(Some(2));
        assert!(b.take() && b.take());
        assert!(!b.take());
        let u = Budget::new(None);
        assert!((0..1000).all(|_| u.take()));
    }

    #[test]
    fn park_and_wake() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let list = std::rc::Rc::new(WaitList::default());
            let l2 = list.clone();
            let h = tokio::task::spawn_local(async move { l2.park().await });
            tokio::task::yield_now().await;
            assert!(!list.is_empty());
            assert!(list.wake_one());
            h.await.unwrap();
            assert!(!list.wake_one());
        });
    }
}
