//! Threads of a picoprocess and the per-thread state of the PAL.
//!
//! Every thread owns one *block*: `BLOCK_SIZE` bytes aligned to `BLOCK_SIZE`, holding its
//! [`ThreadData`] at the bottom and serving as its signal stack above that. All PAL and
//! library-OS code runs in signal handlers on that stack, so the current thread's data is
//! found from the stack pointer alone, without thread-local storage (the program owns `fs`).
//!
//! A new thread starts in the gate: the kernel's `clone` returns there on the new stack, the
//! gate's `ret` lands in [`picobox_thread_start`], which switches to the block's signal stack,
//! unblocks signals, and restores the registers the library OS asked for.
#![allow(unsafe_code)]

use crate::gate;
use alloc::vec::Vec;
use core::arch::global_asm;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use picobox_abi::{CpuContext, Errno, Result};
use spin::Mutex;

/// Size and alignment of a thread's block (its signal stack and its data).
pub const BLOCK_SIZE: usize = 512 * 1024;

/// What the PAL keeps per thread, at the bottom of its block.
#[repr(C)]
pub struct ThreadData {
    /// Whether the library OS is serving a call of this thread.
    pub in_libos: AtomicBool,
    /// The thread's id in the box's pid namespace (0 until known).
    pub tid: AtomicU32,
    /// Non-zero while the thread lives; the kernel clears it when the thread is gone
    /// (`CLONE_CHILD_CLEARTID`), which frees the block for reuse.
    pub alive: AtomicU32,
    /// Where a parent that did not ask for the id has it written.
    pub unused_tid: u32,
    /// The registers the thread starts with.
    pub start: CpuContext,
    /// Its state while frozen for a snapshot (`freeze.rs`).
    pub park: crate::freeze::Parked,
    /// Host signals that came while the library OS served this thread (each made pending).
    pub arrived: AtomicU32,
    /// `arrived` as it was when a wait of this thread last returned `EINTR`: a wait starts only
    /// if no signal came since, so that one that came before it is never slept through.
    pub seen: AtomicU32,
    /// Whether the thread is in a wait of the gate (`gate::wait_syscall`).
    pub waiting: AtomicBool,
}

/// Blocks of threads this process created (the first thread's is not reused).
static BLOCKS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// The calling thread's data. Valid only on a thread's signal stack, where all PAL and
/// library-OS code runs once the program has started.
pub fn current() -> &'static ThreadData {
    let sp: usize;
    // SAFETY: reads the stack pointer.
    unsafe {
        core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    let block = sp & !(BLOCK_SIZE - 1);
    // SAFETY: the stack is a block's signal stack, whose bottom holds an initialised
    // ThreadData (see `new_block`), alive as long as the thread.
    unsafe { &*(block as *const ThreadData) }
}

/// Blocks the arena holds: as many threads as a box may have by default, twice over.
const ARENA_BLOCKS: usize = 1024;
/// The arena: one reservation (no memory until used) from which blocks are taken, so that
/// the runtime's memory is a few fixed ranges the library OS can keep the program out of
/// (`HostInfo::runtime_ranges`). `[start, end)`, and the next free block's index.
static ARENA: spin::Once<(usize, usize)> = spin::Once::new();
static ARENA_NEXT: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// The calling thread's data while the library OS serves a call of it (on its block's signal
/// stack, in the arena); `None` elsewhere.
pub fn serving() -> Option<&'static ThreadData> {
    let sp: usize;
    // SAFETY: reads the stack pointer.
    unsafe {
        core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    let (start, end) = *ARENA.get()?;
    if !(start..end).contains(&sp) {
        return None;
    }
    let me = current();
    me.in_libos.load(Ordering::Relaxed).then_some(me)
}

/// Reserves the arena (once, at start); returns its range.
pub fn arena() -> (usize, usize) {
    *ARENA.call_once(|| {
        const MAP_PRIVATE_ANON_NORESERVE: u64 = 0x02 | 0x20 | 0x4000;
        let span = (ARENA_BLOCKS + 1) * BLOCK_SIZE;
        let raw = gate::syscall(
            9,
            [0, span as u64, 0, MAP_PRIVATE_ANON_NORESERVE, u64::MAX, 0],
        );
        match Errno::from_raw_return(raw) {
            Ok(raw) => {
                let start = (raw as usize + BLOCK_SIZE - 1) & !(BLOCK_SIZE - 1);
                (start, start + ARENA_BLOCKS * BLOCK_SIZE)
            }
            Err(_) => (0, 0),
        }
    })
}

/// Maps a fresh block, aligned to its size, with its `ThreadData` initialised: from the arena
/// while it lasts, else anywhere.
pub fn new_block() -> Result<usize> {
    let (start, end) = arena();
    let i = ARENA_NEXT.fetch_add(1, Ordering::Relaxed);
    let block = start + i * BLOCK_SIZE;
    if block + BLOCK_SIZE <= end {
        Errno::from_raw_return(gate::syscall(
            10,
            [block as u64, BLOCK_SIZE as u64, 3, 0, 0, 0],
        ))?;
        return Ok(init_block(block));
    }
    let span = 2 * BLOCK_SIZE;
    let raw =
        Errno::from_raw_return(gate::syscall(9, [0, span as u64, 3, 0x22, u64::MAX, 0]))? as usize;
    let block = (raw + BLOCK_SIZE - 1) & !(BLOCK_SIZE - 1);
    if block > raw {
        gate::syscall(11, [raw as u64, (block - raw) as u64, 0, 0, 0, 0]);
    }
    let end = raw + span;
    if end > block + BLOCK_SIZE {
        gate::syscall(
            11,
            [
                (block + BLOCK_SIZE) as u64,
                (end - block - BLOCK_SIZE) as u64,
                0,
                0,
                0,
                0,
            ],
        );
    }
    Ok(init_block(block))
}

fn init_block(block: usize) -> usize {
    // SAFETY: `block` is a fresh, private, writable mapping of BLOCK_SIZE bytes.
    unsafe {
        (block as *mut ThreadData).write(ThreadData {
            in_libos: AtomicBool::new(false),
            tid: AtomicU32::new(0),
            alive: AtomicU32::new(1),
            unused_tid: 0,
            start: CpuContext::default(),
            park: crate::freeze::Parked::default(),
            arrived: AtomicU32::new(0),
            seen: AtomicU32::new(0),
            waiting: AtomicBool::new(false),
        });
    }
    block
}

/// Makes `block` the calling thread's signal stack.
pub fn use_block(block: usize) -> Result<()> {
    let ss: [u64; 3] = [block as u64, 0, BLOCK_SIZE as u64];
    Errno::from_raw_return(gate::syscall(131, [ss.as_ptr() as u64, 0, 0, 0, 0, 0])).map(|_| ())
}

global_asm!(
    // The gate's `ret` in a new thread pops this address; the block address lies above it.
    ".globl picobox_thread_start",
    "picobox_thread_start:",
    "    mov rdi, [rsp]",
    "    and rsp, -16",
    "    call {entry}",
    "    ud2",
    // Loads every register from a CpuContext (sigcontext order) and continues at its rip.
    ".globl picobox_resume",
    "picobox_resume:",
    "    mov rsp, [rdi + 15*8]",
    "    push qword ptr [rdi + 16*8]",
    "    push qword ptr [rdi + 17*8]",
    "    popfq",
    "    mov r8, [rdi + 0*8]",
    "    mov r9, [rdi + 1*8]",
    "    mov r10, [rdi + 2*8]",
    "    mov r11, [rdi + 3*8]",
    "    mov r12, [rdi + 4*8]",
    "    mov r13, [rdi + 5*8]",
    "    mov r14, [rdi + 6*8]",
    "    mov r15, [rdi + 7*8]",
    "    mov rsi, [rdi + 9*8]",
    "    mov rbp, [rdi + 10*8]",
    "    mov rbx, [rdi + 11*8]",
    "    mov rdx, [rdi + 12*8]",
    "    mov rax, [rdi + 13*8]",
    "    mov rcx, [rdi + 14*8]",
    "    mov rdi, [rdi + 8*8]",
    "    ret",
    entry = sym thread_entry,
);

unsafe extern "C" {
    static picobox_thread_start: u8;
    fn picobox_resume(regs: *const u64) -> !;
}

extern "C" fn thread_entry(block: usize) -> ! {
    // SAFETY: `block` came from `create`, which initialised its ThreadData.
    let data = unsafe { &*(block as *const ThreadData) };
    if use_block(block).is_err() {
        gate::syscall(60, [crate::EXIT_INTERNAL.into(), 0, 0, 0, 0, 0]);
    }
    data.tid
        .store(gate::syscall(186, [0; 6]) as u32, Ordering::Relaxed);
    // The creating thread was inside its SIGSYS handler, so SIGSYS is blocked in the mask the
    // new thread inherited: clear it, or its first system call would kill the process.
    let none: u64 = 0;
    gate::syscall(14, [2, &raw const none as u64, 0, 8, 0, 0]);
    // SAFETY: the registers are the program's, set by the library OS for the new thread;
    // control never returns here.
    unsafe { picobox_resume(data.start.regs.as_ptr()) }
}

/// The process's live threads: id and block (the arena's blocks in use, then any beyond it).
pub fn live() -> Vec<(u32, usize)> {
    let (start, end) = arena();
    let used = ARENA_NEXT
        .load(Ordering::Relaxed)
        .min((end - start) / BLOCK_SIZE);
    let mut blocks: Vec<usize> = (0..used).map(|i| start + i * BLOCK_SIZE).collect();
    for &b in BLOCKS.lock().iter() {
        if !(start..end).contains(&b) {
            blocks.push(b);
        }
    }
    blocks
        .into_iter()
        .filter_map(|b| {
            // SAFETY: every block taken from the arena or listed holds an initialised
            // ThreadData.
            let data = unsafe { &*(b as *const ThreadData) };
            let tid = data.tid.load(Ordering::Relaxed);
            (data.alive.load(Ordering::Acquire) != 0 && tid != 0).then_some((tid, b))
        })
        .collect()
}

/// In a forked child, whose only thread is the caller: the blocks of the parent's other
/// threads, copied with its memory, hold no thread here.
pub fn after_fork() {
    let me = current() as *const ThreadData as usize;
    for (_, block) in live() {
        if block != me {
            // SAFETY: every live block holds an initialised ThreadData.
            unsafe { &*(block as *const ThreadData) }
                .alive
                .store(0, Ordering::Release);
        }
    }
}

/// A block whose thread is gone, or a new one.
fn free_block() -> Result<usize> {
    let mut blocks = BLOCKS.lock();
    for &b in blocks.iter() {
        // SAFETY: every listed block holds an initialised ThreadData.
        let data = unsafe { &*(b as *const ThreadData) };
        if data.alive.load(Ordering::Acquire) == 0 {
            data.alive.store(1, Ordering::Release);
            return Ok(b);
        }
    }
    let b = new_block()?;
    blocks.push(b);
    Ok(b)
}

/// `Host::thread_create`.
pub fn create(ctx: &CpuContext, tls: usize, parent_tid: Option<usize>) -> Result<u32> {
    const FLAGS: u64 =
        0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 | 0x80000 | 0x10_0000 | 0x20_0000;
    let block = free_block()?;
    let data = block as *mut ThreadData;
    // SAFETY: the block is free (its thread is gone) or new; nothing else uses its data.
    unsafe {
        (*data).start = *ctx;
        (*data).tid.store(0, Ordering::Relaxed);
        (*data).in_libos.store(false, Ordering::Relaxed);
    }
    // The new thread's first stack: the top of its block, holding the start address and the
    // block for `picobox_thread_start`.
    let sp = block + BLOCK_SIZE - 64;
    // SAFETY: the top of the block is inside its mapping and unused until the thread runs.
    unsafe {
        (sp as *mut u64).write(&raw const picobox_thread_start as u64);
        ((sp + 8) as *mut u64).write(block as u64);
    }
    // SAFETY: only the field's address is taken.
    let alive = unsafe { &raw mut (*data).alive } as u64;
    // SAFETY: only the field's address is taken.
    let unused = unsafe { &raw mut (*data).unused_tid } as usize;
    let ptid = parent_tid.unwrap_or(unused) as u64;
    match Errno::from_raw_return(gate::syscall(
        56,
        [FLAGS, sp as u64, ptid, alive, tls as u64, 0],
    )) {
        Ok(tid) => {
            // Known at once, not only once the thread has run its first instruction (which,
            // on a busy machine, may be after a freeze has counted the threads and left it
            // out of the snapshot).
            // SAFETY: the block's data, whose `tid` the new thread stores the same value in.
            unsafe { (*data).tid.store(tid as u32, Ordering::Relaxed) };
            Ok(tid as u32)
        }
        Err(e) => {
            // SAFETY: the thread was not created; the block is ours again.
            unsafe { (*data).alive.store(0, Ordering::Release) };
            Err(e)
        }
    }
}
