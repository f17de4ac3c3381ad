//! The picoprocess runtime: the first and only program the kernel runs in a picoprocess.
//!
//! It is a `no_std` static-pie executable that contains the PAL (the Linux implementation of the
//! host ABI), the library OS and the loader. At start it relocates itself, reads the monitor's
//! boot information from descriptor 3, closes every other inherited descriptor, installs its
//! signal handlers and the monitor's seccomp filter, lets the library OS load the program, and
//! jumps to it. From then on the program's system calls arrive as `SIGSYS` and go to the
//! library OS; the runtime's own system calls all pass through one gate (see [`gate`]).
//!
//! Everything here is untrusted once the program runs; the filter and Landlock are the boundary.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

mod gate;
mod heap;
mod mem;
mod pal;
mod signals;
mod start;

use alloc::vec::Vec;
use picobox_abi::boot::BootInfo;
use picobox_abi::{Handle, Host};

/// Descriptor on which the monitor passes the boot information.
const BOOT_FD: u32 = 3;

/// Exit status for failures of picobox itself (as `docker run` uses 125).
const EXIT_INTERNAL: u8 = 125;
/// Exit status when the program cannot be executed (as shells use 126).
const EXIT_CANNOT_EXECUTE: u8 = 126;

/// Called from `_start` with the initial stack pointer, after relocation.
fn runtime_main(auxv: start::Auxv) -> ! {
    heap::init();
    let host = pal::init(auxv);
    let boot = match read_boot_info(host) {
        Ok(b) => b,
        Err(msg) => fail(host, msg, EXIT_INTERNAL),
    };
    close_stray_descriptors(&boot);
    if let Err(e) = signals::install() {
        fail(
            host,
            format_args!("cannot install signal handlers: {e}"),
            EXIT_INTERNAL,
        );
    }
    if let Err(e) = gate::install_filter(&boot.seccomp_filter) {
        fail(
            host,
            format_args!("cannot install the seccomp filter: {e}"),
            EXIT_INTERNAL,
        );
    }
    let name = boot.program_name.clone();
    match picobox_libos::boot(host, boot) {
        Ok(entry) => start::enter(entry.pc, entry.sp),
        Err(e) => fail(
            host,
            format_args!("{}: {e}", core::str::from_utf8(&name).unwrap_or("program")),
            EXIT_CANNOT_EXECUTE,
        ),
    }
}

fn read_boot_info(host: &dyn Host) -> Result<BootInfo, &'static str> {
    let h = Handle(BOOT_FD);
    let size = host
        .stream_attr(h)
        .map_err(|_| "no boot information on descriptor 3 (run picoboxes with `picobox run`)")?
        .size;
    let len = usize::try_from(size).map_err(|_| "boot information too large")?;
    let mut buf: Vec<u8> = alloc::vec![0; len];
    let mut done = 0;
    while done < len {
        match host.stream_read(
            h,
            picobox_abi::IoBuf::of_mut(&mut buf[done..]),
            Some(done as u64),
        ) {
            Ok(0) | Err(_) => return Err("cannot read the boot information"),
            Ok(n) => done += n,
        }
    }
    let _ = host.object_close(h);
    BootInfo::decode(&buf).map_err(|_| "malformed boot information")
}

/// Closes every inherited descriptor that the boot information does not name, so that nothing
/// the monitor's caller leaked reaches the program.
fn close_stray_descriptors(boot: &BootInfo) {
    let mut keep: Vec<u32> = alloc::vec![0, 1, 2];
    keep.extend(boot.program.map(|h| h.0));
    keep.extend(boot.mounts.iter().map(|m| m.root.0));
    keep.sort_unstable();
    keep.dedup();
    let mut next = 0u32;
    for fd in keep {
        if fd > next {
            gate::close_range(next, fd - 1);
        }
        next = fd + 1;
    }
    gate::close_range(next, u32::MAX);
}

fn fail(host: &dyn Host, msg: impl core::fmt::Display, code: u8) -> ! {
    let mut line = alloc::string::String::new();
    let _ = core::fmt::write(&mut line, format_args!("picobox: {msg}"));
    host.debug_log(&line);
    host.process_exit(code)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut line = alloc::string::String::new();
    let _ = core::fmt::write(&mut line, format_args!("picobox: library OS bug: {info}"));
    pal::HOST.debug_log(&line);
    pal::HOST.process_exit(EXIT_INTERNAL)
}

/// Unwinding is never used (`panic = "abort"`), but dependencies built for the host target may
/// still name the personality routine.
#[allow(unsafe_code)] // SAFETY: defines a symbol no other object file of this binary defines.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

/// See [`rust_eh_personality`].
#[allow(non_snake_case, unsafe_code)] // SAFETY: as for rust_eh_personality.
#[unsafe(no_mangle)]
extern "C" fn _Unwind_Resume() -> ! {
    pal::HOST.process_exit(EXIT_INTERNAL)
}
