//! C programs written for these tests, built with `gcc -static`, native vs boxed.

use crate::support::*;

#[test]
fn file_system_operations_match_native() {
    let prog = guest("fsops");
    let n = scratch("fsops-native");
    let b = scratch("fsops-boxed");
    let native_out = native(&n, &prog, &[]);
    assert!(
        native_out.status.success(),
        "native run failed: {}",
        text(&native_out.stderr)
    );
    let boxed_out = boxed(&b, &prog, &[]);
    assert_same("fsops", &native_out, &boxed_out);
}

#[test]
fn exit_status_and_signals_are_reported() {
    let dir = scratch("status");
    let out = boxed(
        &dir,
        std::path::Path::new(busybox()),
        &["sh", "-c", "exit 42"],
    );
    assert_eq!(out.status.code(), Some(42));
    let out = boxed(
        &dir,
        std::path::Path::new(busybox()),
        &["sh", "-c", "kill -SEGV $$"],
    );
    assert_eq!(out.status.code(), Some(128 + 11), "{}", text(&out.stderr));
}
