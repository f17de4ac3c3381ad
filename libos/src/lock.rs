//! A mutex that sleeps instead of spinning once it has spun briefly.
//!
//! The library OS's state is behind one lock that every trapped system call takes. A pure spin
//! lock is a disaster when a box runs more threads than there are CPUs: a thread preempted while
//! holding it leaves the others spinning for whole time slices (8 threads of a mutex stress test
//! on 2 CPUs ran 80 times slower than natively). Here a waiter spins a little, then sleeps on a
//! futex word that every contended unlock bumps.

use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU32, Ordering};

/// `FUTEX_WAIT` and `FUTEX_WAKE`, with `FUTEX_PRIVATE_FLAG`.
const FUTEX_WAIT: u32 = 128;
const FUTEX_WAKE: u32 = 1 | 128;
/// Attempts before a waiter sleeps: a short critical section usually ends within them.
const SPINS: u32 = 64;

/// A mutual-exclusion lock around `T` whose waiters sleep in the host's futex.
pub struct Lock<T> {
    inner: spin::Mutex<T>,
    /// Bumped by an unlock while someone may be asleep; the word they sleep on.
    unlocks: AtomicU32,
    /// Threads asleep or about to sleep.
    sleepers: AtomicU32,
}

/// The lock, held; released when dropped.
pub struct LockGuard<'a, T> {
    guard: Option<spin::MutexGuard<'a, T>>,
    lock: &'a Lock<T>,
}

impl<T> Lock<T> {
    /// An unlocked lock around `value`.
    pub const fn new(value: T) -> Lock<T> {
        Lock {
            inner: spin::Mutex::new(value),
            unlocks: AtomicU32::new(0),
            sleepers: AtomicU32::new(0),
        }
    }

    /// Takes the lock, sleeping while another thread holds it for long.
    pub fn lock(&self) -> LockGuard<'_, T> {
        for _ in 0..SPINS {
            if let Some(g) = self.try_lock() {
                return g;
            }
            core::hint::spin_loop();
        }
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let guard = loop {
            // Read the word before trying: an unlock after the try changes it, and the wait
            // then returns at once instead of missing the wake-up.
            let seen = self.unlocks.load(Ordering::SeqCst);
            if let Some(g) = self.inner.try_lock() {
                break g;
            }
            match crate::kernel::host_if_booted() {
                Some(host) => {
                    let _ = host.futex(self.unlocks.as_ptr() as usize, FUTEX_WAIT, seen, 0, 0, 0);
                }
                None => core::hint::spin_loop(),
            }
        };
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        LockGuard {
            guard: Some(guard),
            lock: self,
        }
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        self.inner.try_lock().map(|g| LockGuard {
            guard: Some(g),
            lock: self,
        })
    }
}

impl<T> Drop for LockGuard<'_, T> {
    fn drop(&mut self) {
        drop(self.guard.take());
        // The release above must be visible before `sleepers` is read, or a thread that just
        // found the lock taken could go to sleep unseen (store-load order needs a full fence).
        core::sync::atomic::fence(Ordering::SeqCst);
        if self.lock.sleepers.load(Ordering::SeqCst) != 0 {
            self.lock.unlocks.fetch_add(1, Ordering::SeqCst);
            if let Some(host) = crate::kernel::host_if_booted() {
                let _ = host.futex(self.lock.unlocks.as_ptr() as usize, FUTEX_WAKE, 1, 0, 0, 0);
            }
        }
    }
}

impl<T> Deref for LockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard
            .as_deref()
            .expect("a lock guard holds its lock until dropped")
    }
}

impl<T> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard
            .as_deref_mut()
            .expect("a lock guard holds its lock until dropped")
    }
}
