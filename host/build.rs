//! Build steps for the `picobox` binary:
//! - compiles the seccomp allowlist (`src/policy/seccomp.rs`, with `src/policy/bpf.rs`) to BPF,
//!   embedded as a constant;
//! - links `picobox` as a static-pie executable with no C runtime.

#[allow(dead_code)]
#[path = "src/policy/bpf.rs"]
mod bpf;
#[allow(dead_code)]
#[path = "src/policy/seccomp.rs"]
mod seccomp;

fn main() {
    let mut text = String::new();
    for (name, network) in [
        ("ALLOWLIST_NO_NET", seccomp::Network::None),
        ("ALLOWLIST_LOOPBACK", seccomp::Network::Loopback),
        ("ALLOWLIST_HOST_NET", seccomp::Network::Host),
    ] {
        let program =
            seccomp::allowlist(network).unwrap_or_else(|e| panic!("seccomp allowlist: {}", e.0));
        let words: Vec<String> = program.iter().map(|w| format!("{w:#018x}")).collect();
        text.push_str(&format!(
            "/// The allowlist as classic BPF, one `struct sock_filter` per word ({network:?} network).\npub const {name}: [u64; {}] = [{}];\n",
            words.len(),
            words.join(", ")
        ));
    }
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("allowlist.rs");
    std::fs::write(&out, text).unwrap();
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-static-pie",
        "-Wl,-z,noexecstack",
        "-Wl,--no-dynamic-linker",
    ] {
        println!("cargo:rustc-link-arg-bin=picobox={arg}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/policy/seccomp.rs");
    println!("cargo:rerun-if-changed=src/policy/bpf.rs");
}
