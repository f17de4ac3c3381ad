//! The runtime's memory allocator: a linked-list heap over one large reservation. Untouched
//! pages cost nothing, so the reservation is generous.

use linked_list_allocator::LockedHeap;

/// Address space reserved for the library OS's heap.
/// Address space the runtime reserves for its heap (never all touched); an `RLIMIT_AS` bound
/// on a box must leave room for it.
pub const HEAP_RESERVATION: usize = 1 << 30;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// The end of the reservation that is not heap: the box's shared area
/// ([`picobox_abi::HostInfo::box_shared`]), mapped by [`map_box_shared`].
pub const BOX_SHARED: usize = 4 << 20;

/// Where the heap's reservation starts (0 before [`init`]).
static BASE: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// The heap's reservation, `[start, end)`.
pub fn range() -> (usize, usize) {
    let base = BASE.load(core::sync::atomic::Ordering::Relaxed);
    (base, base + HEAP_RESERVATION)
}

/// The box's shared area, `[start, end)`: the last [`BOX_SHARED`] bytes of the reservation.
pub fn box_shared() -> (usize, usize) {
    let (_, end) = range();
    (end - BOX_SHARED, end)
}

/// In the box's program process, before anything of the box runs: makes the shared area
/// memory shared with every process this one forks (and only with them: the monitor and the
/// reaper, forked earlier, keep their private copy of the untouched reservation).
pub fn map_box_shared() -> Result<(), picobox_abi::Errno> {
    const PROT_RW: u64 = 3;
    const MAP_SHARED_ANON_FIXED: u64 = 0x01 | 0x20 | 0x10;
    let (start, _) = box_shared();
    let addr = crate::gate::syscall(
        9,
        [
            start as u64,
            BOX_SHARED as u64,
            PROT_RW,
            MAP_SHARED_ANON_FIXED,
            u64::MAX,
            0,
        ],
    );
    picobox_abi::Errno::from_raw_return(addr).map(|_| ())
}

/// Reserves the heap. Called once, right after relocation.
pub fn init() {
    const PROT_RW: u64 = 3;
    const MAP_PRIVATE_ANON_NORESERVE: u64 = 0x02 | 0x20 | 0x4000;
    let addr = crate::gate::syscall(
        9,
        [
            0,
            HEAP_RESERVATION as u64,
            PROT_RW,
            MAP_PRIVATE_ANON_NORESERVE,
            u64::MAX,
            0,
        ],
    );
    if addr > u64::MAX - 4096 {
        crate::gate::syscall(231, [EXIT_NO_HEAP, 0, 0, 0, 0, 0]);
    }
    BASE.store(addr as usize, core::sync::atomic::Ordering::Relaxed);
    init_at(addr as usize);
}

/// Exit status if even the heap cannot be reserved.
const EXIT_NO_HEAP: u64 = 125;

#[allow(unsafe_code)]
fn init_at(addr: usize) {
    // SAFETY: `addr` is the start of a fresh private mapping of HEAP_RESERVATION bytes (the
    // heap is all but its last BOX_SHARED bytes) that
    // nothing else refers to, and init runs once, before any allocation.
    unsafe {
        HEAP.lock()
            .init(addr as *mut u8, HEAP_RESERVATION - BOX_SHARED)
    };
}
