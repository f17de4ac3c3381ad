//! Link arguments for the picoprocess runtime only: a static-pie executable with no C runtime.
fn main() {
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-static-pie",
        "-Wl,-z,noexecstack",
        "-Wl,--no-dynamic-linker",
    ] {
        println!("cargo:rustc-link-arg-bin=picobox-runtime={arg}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
