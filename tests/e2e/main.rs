//! End-to-end tests: real programs (busybox, C programs built with `gcc -static`) run natively
//! and inside picobox, with their outputs compared; escape attempts; bad input.

mod bad_input;
mod boundary;
mod busybox;
mod escape;
mod layout;
mod limits;
mod network;
mod programs;
mod shell;
mod support;
