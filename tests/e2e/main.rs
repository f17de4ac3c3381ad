//! End-to-end tests: real programs (busybox, Debian's dynamic programs, C programs built with
//! `gcc -static`) run natively
//! and inside picobox, with their outputs compared; escape attempts; bad input.

mod apps;
mod bad_input;
mod boundary;
mod boxes;
mod busybox;
mod escape;
mod layout;
mod limits;
mod network;
mod programs;
mod roots;
mod shell;
mod snapshots;
mod support;
