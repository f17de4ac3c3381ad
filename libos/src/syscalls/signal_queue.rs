//! The queued instances of real-time signals. A standard signal sent again before delivery
//! merges with the pending one; a real-time signal (`SIGRTMIN` and above) queues, each
//! instance with its own `siginfo`, delivered oldest first, as Linux keeps them
//! (`sigqueue`, POSIX timers, `F_SETSIG` notices).
//!
//! Instances arrive in host signal handlers, on any thread, possibly while the library OS is
//! locked, so the queue takes no lock: a fixed set of slots, each claimed by compare-and-swap
//! (free → busy → ready → busy → free). Each instance is for the process or for one thread
//! (its slot in `signal.rs`'s thread table, plus one). A signal's pending bit means "some
//! ready slot holds it": the producer sets the bit after the slot is ready; the consumer, after
//! taking one, clears the bit and sets it again if another is still ready, so none is lost.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The lowest real-time signal (the kernel's `SIGRTMIN`).
pub const SIGRTMIN: u8 = 32;

/// Instances the queue holds at once, over all signals; more are dropped, as Linux drops what
/// exceeds `RLIMIT_SIGPENDING`.
const SLOTS: usize = 256;
const FREE: u32 = 0;
const BUSY: u32 = 1;
const READY: u32 = 2;

/// One queued instance.
pub struct Slot {
    state: AtomicU32,
    /// Signal number and target, `sig << 16 | target` (target 0: the process).
    key: AtomicU32,
    /// Arrival order.
    seq: AtomicU64,
    info: [AtomicU64; 16],
}

static QUEUE: &[Slot; SLOTS] = &crate::state::LIBOS.signal_queue.slots;
static NEXT_SEQ: &AtomicU64 = &crate::state::LIBOS.signal_queue.next_seq;

/// The queue of real-time signal instances. Part of [`crate::state::LibOs`].
pub struct Queue {
    slots: [Slot; SLOTS],
    next_seq: AtomicU64,
}

impl Queue {
    /// Empty.
    pub(crate) const fn new() -> Queue {
        Queue {
            slots: [const {
                Slot {
                    state: AtomicU32::new(FREE),
                    key: AtomicU32::new(0),
                    seq: AtomicU64::new(0),
                    info: [const { AtomicU64::new(0) }; 16],
                }
            }; SLOTS],
            next_seq: AtomicU64::new(1),
        }
    }
}

fn key(sig: u8, target: u32) -> u32 {
    u32::from(sig) << 16 | (target & 0xffff)
}

/// How many instances are queued (for `RLIMIT_SIGPENDING`).
pub fn queued() -> u64 {
    QUEUE
        .iter()
        .filter(|s| s.state.load(Ordering::Relaxed) != FREE)
        .count() as u64
}

/// Queues an instance of `sig` for `target`; false if the queue is full (the instance is lost).
pub fn push(sig: u8, target: u32, info: &[u8; 128]) -> bool {
    for slot in QUEUE {
        if slot
            .state
            .compare_exchange(FREE, BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            continue;
        }
        slot.key.store(key(sig, target), Ordering::Relaxed);
        slot.seq
            .store(NEXT_SEQ.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        for (word, bytes) in slot.info.iter().zip(info.chunks_exact(8)) {
            word.store(
                u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8])),
                Ordering::Relaxed,
            );
        }
        slot.state.store(READY, Ordering::Release);
        return true;
    }
    false
}

/// Takes the oldest instance of `sig` for `target`.
pub fn take(sig: u8, target: u32) -> Option<[u8; 128]> {
    let want = key(sig, target);
    loop {
        let oldest = QUEUE
            .iter()
            .filter(|s| {
                s.state.load(Ordering::Acquire) == READY && s.key.load(Ordering::Relaxed) == want
            })
            .min_by_key(|s| s.seq.load(Ordering::Relaxed))?;
        if oldest
            .state
            .compare_exchange(READY, BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            continue; // taken meanwhile by another thread: look again
        }
        let mut info = [0u8; 128];
        for (bytes, word) in info.chunks_exact_mut(8).zip(&oldest.info) {
            bytes.copy_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
        }
        oldest.state.store(FREE, Ordering::Release);
        return Some(info);
    }
}

/// Whether an instance of `sig` for `target` is queued.
pub fn holds(sig: u8, target: u32) -> bool {
    let want = key(sig, target);
    QUEUE
        .iter()
        .any(|s| s.state.load(Ordering::Acquire) == READY && s.key.load(Ordering::Relaxed) == want)
}

/// Drops every instance of `sig` for `target`.
pub fn discard(sig: u8, target: u32) {
    while take(sig, target).is_some() {}
}

/// Where the queue stands: instances queued after this are newer (see [`forget_before`]).
pub fn mark() -> u64 {
    NEXT_SEQ.load(Ordering::Relaxed)
}

/// Drops the instances queued before `mark` (in a forked child: its parent's), and every
/// instance for a thread (the parent's threads are not in the child).
pub fn forget_before(mark: u64) {
    for slot in QUEUE {
        let for_thread = slot.key.load(Ordering::Relaxed) & 0xffff != 0;
        let old = slot.seq.load(Ordering::Relaxed) < mark;
        if (for_thread || old)
            && slot
                .state
                .compare_exchange(READY, BUSY, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            slot.state.store(FREE, Ordering::Release);
        }
    }
}
