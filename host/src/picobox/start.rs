//! Process entry: `_start`, self-relocation, the auxiliary vector, and the jump into the program.
#![allow(unsafe_code)]

use alloc::vec::Vec;
use core::arch::global_asm;

global_asm!(
    ".globl _start",
    "_start:",
    "    xor ebp, ebp",
    "    mov rdi, rsp",
    "    and rsp, -16",
    "    call {entry}",
    "    ud2",
    entry = sym runtime_entry,
);

/// What the runtime needs from its own auxiliary vector.
#[derive(Clone, Copy, Default)]
pub struct Auxv {
    /// `AT_SYSINFO_EHDR`: the vDSO.
    pub vdso: Option<usize>,
    /// `AT_HWCAP`.
    pub hwcap: u64,
    /// `AT_HWCAP2`.
    pub hwcap2: u64,
    /// `AT_MINSIGSTKSZ`.
    pub min_signal_stack: usize,
}

const DT_NULL: u64 = 0;
const DT_RELA: u64 = 7;
const DT_RELASZ: u64 = 8;
const R_X86_64_RELATIVE: u64 = 8;

/// Applies this executable's `R_X86_64_RELATIVE` relocations. Must run before anything reads a
/// pointer from static data; it uses only stack values and position-independent addresses.
///
/// # Safety
/// Where this binary lies in memory: from its ELF header to the end of its `.bss`.
pub fn image_range() -> (usize, usize) {
    let (start, end): (usize, usize);
    // SAFETY: two `lea` instructions of linker-defined symbols; no memory is accessed.
    unsafe {
        core::arch::asm!(
            "lea {s}, [rip + __ehdr_start]",
            "lea {e}, [rip + _end]",
            s = out(reg) start,
            e = out(reg) end,
            options(nomem, nostack, pure),
        );
    }
    (start & !4095, (end + 4095) & !4095)
}

/// This binary's program headers, as `(type, address, size in memory)`, the address in memory.
fn program_headers() -> Vec<(u32, usize, usize)> {
    let (base, _) = image_range();
    // SAFETY: the ELF header and program headers of this binary are mapped at its base (the
    // first PT_LOAD covers them).
    unsafe {
        let ehdr = base as *const u8;
        let phoff = (ehdr.add(32) as *const u64).read_unaligned() as usize;
        let phnum = (ehdr.add(56) as *const u16).read_unaligned() as usize;
        (0..phnum)
            .map(|i| {
                let ph = ehdr.add(phoff + i * 56);
                (
                    (ph as *const u32).read_unaligned(),
                    base + (ph.add(16) as *const u64).read_unaligned() as usize,
                    (ph.add(40) as *const u64).read_unaligned() as usize,
                )
            })
            .collect()
    }
}

/// This binary's GNU build id (from its note, in memory).
pub fn build_id() -> [u8; 20] {
    const PT_NOTE: u32 = 4;
    let mut id = [0u8; 20];
    for (_, note_at, size) in program_headers().into_iter().filter(|h| h.0 == PT_NOTE) {
        let mut at = 0;
        // SAFETY: the note lies in the first, read-only segment, mapped.
        unsafe {
            while at + 12 <= size {
                let note = (note_at + at) as *const u8;
                let namesz = (note as *const u32).read_unaligned() as usize;
                let descsz = (note.add(4) as *const u32).read_unaligned() as usize;
                let kind = (note.add(8) as *const u32).read_unaligned();
                let desc = 12 + namesz.div_ceil(4) * 4;
                if kind == 3 && descsz == 20 {
                    core::ptr::copy_nonoverlapping(note.add(desc), id.as_mut_ptr(), 20);
                    return id;
                }
                at += desc + descsz.div_ceil(4) * 4;
            }
        }
    }
    id
}

/// Call once, first, from `_start`.
unsafe fn relocate() {
    // Both symbols are defined by the linker for a static-pie executable. Their addresses are
    // taken RIP-relative in assembly: a Rust reference would go through the GOT, which is
    // itself not relocated yet.
    let (base, dyn_addr): (u64, u64);
    // SAFETY: two `lea` instructions; no memory is accessed.
    unsafe {
        core::arch::asm!(
            "lea {b}, [rip + __ehdr_start]",
            "lea {d}, [rip + _DYNAMIC]",
            b = out(reg) base,
            d = out(reg) dyn_addr,
            options(nomem, nostack, pure),
        );
    }
    let mut dyn_ptr = dyn_addr as *const u64;
    let (mut rela, mut relasz) = (0u64, 0u64);
    loop {
        // SAFETY: the dynamic section is an array of (tag, value) pairs ending with DT_NULL.
        let (tag, val) = unsafe { (dyn_ptr.read(), dyn_ptr.add(1).read()) };
        match tag {
            DT_NULL => break,
            DT_RELA => rela = val,
            DT_RELASZ => relasz = val,
            _ => {}
        }
        // SAFETY: not past DT_NULL, so the next pair exists.
        dyn_ptr = unsafe { dyn_ptr.add(2) };
    }
    let mut at = base + rela;
    let end = at + relasz;
    while at < end {
        let r = at as *const u64;
        // SAFETY: `[at, end)` is the RELA table the linker emitted, 24 bytes per entry.
        let (offset, info, addend) = unsafe { (r.read(), r.add(1).read(), r.add(2).read()) };
        if info & 0xffff_ffff == R_X86_64_RELATIVE {
            // SAFETY: the linker guarantees the target lies in this writable image.
            unsafe { ((base + offset) as *mut u64).write(base.wrapping_add(addend)) };
        }
        at += 24;
    }
}

/// Fills the holes between this binary's loaded segments with inaccessible memory. The
/// linker may leave a page between two segments that the kernel does not map; the host would
/// then place a program's mapping there, inside [`image_range`], where the library OS refuses
/// to let the program unmap or protect it (and would take it for the runtime's own).
fn fill_image_holes() {
    const PT_LOAD: u32 = 1;
    const MAP_PRIVATE_ANON_FIXED_NOREPLACE_NORESERVE: u64 = 0x02 | 0x20 | 0x10_0000 | 0x4000;
    let (base, end) = image_range();
    let fill = |from: usize, to: usize| {
        if from < to {
            crate::gate::syscall(
                9,
                [
                    from as u64,
                    (to - from) as u64,
                    0,
                    MAP_PRIVATE_ANON_FIXED_NOREPLACE_NORESERVE,
                    u64::MAX,
                    0,
                ],
            );
        }
    };
    let mut covered_to = base;
    for (_, at, size) in program_headers().into_iter().filter(|h| h.0 == PT_LOAD) {
        fill(covered_to, at & !4095);
        covered_to = covered_to.max((at + size + 4095) & !4095);
    }
    fill(covered_to, end);
}

extern "C" fn runtime_entry(sp: *const u64) -> ! {
    // SAFETY: first thing executed, once.
    unsafe { relocate() };
    crate::heap::init();
    fill_image_holes();
    // SAFETY: `sp` is the kernel-built initial stack: argc, argv[..] NULL, envp[..] NULL, auxv;
    // the strings they point to are NUL-terminated and stay mapped.
    let (args, env, auxv) = unsafe {
        let argc = sp.read() as usize;
        let args: Vec<Vec<u8>> = (0..argc)
            .map(|i| c_string(sp.add(1 + i).read() as *const u8))
            .collect();
        let mut p = sp.add(1 + argc + 1);
        let mut env = Vec::new();
        while p.read() != 0 {
            env.push(c_string(p.read() as *const u8));
            p = p.add(1);
        }
        p = p.add(1);
        let mut aux = Auxv::default();
        loop {
            let (key, val) = (p.read(), p.add(1).read());
            match key {
                0 => break,
                16 => aux.hwcap = val,
                26 => aux.hwcap2 = val,
                33 => aux.vdso = Some(val as usize),
                51 => aux.min_signal_stack = val as usize,
                _ => {}
            }
            p = p.add(2);
        }
        (args, env, aux)
    };
    crate::main(args, env, auxv)
}

/// Copies a NUL-terminated string.
///
/// # Safety
/// `p` points to a NUL-terminated string.
unsafe fn c_string(p: *const u8) -> Vec<u8> {
    let mut len = 0;
    // SAFETY: the caller guarantees a terminating NUL.
    while unsafe { p.add(len).read() } != 0 {
        len += 1;
    }
    // SAFETY: `len` bytes before the NUL are readable.
    unsafe { core::slice::from_raw_parts(p, len) }.to_vec()
}

/// Jumps to the program's entry point on its stack, with the registers a fresh `execve` leaves
/// (all zero; `rdx` = 0 means no exit handler to register).
pub fn enter(pc: u64, sp: u64) -> ! {
    // SAFETY: `pc` and `sp` come from the library OS's loader: the program's mapped entry point
    // and its freshly built initial stack. Control never returns to the runtime's stack.
    unsafe {
        core::arch::asm!(
            "mov rsp, {sp}",
            "xor eax, eax", "xor ebx, ebx", "xor ecx, ecx", "xor edx, edx",
            "xor esi, esi", "xor edi, edi", "xor ebp, ebp",
            "xor r8d, r8d", "xor r9d, r9d", "xor r10d, r10d", "xor r11d, r11d",
            "xor r12d, r12d", "xor r13d, r13d", "xor r14d, r14d",
            "jmp r15",
            sp = in(reg) sp,
            in("r15") pc,
            options(noreturn)
        )
    }
}
