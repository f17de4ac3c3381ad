//! `picobox-manifest`: the helper `picobox run --manifest FILE ...` runs. It reads the TOML
//! manifest, turns it into the equivalent flags (flags given on the command line come after
//! and so add to or override it), and executes `picobox run` with them.

use std::os::unix::process::CommandExt;
use std::process::Command;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match picobox_tools::config::flags_with_manifest(&args) {
        Ok(flags) => {
            let picobox = std::env::current_exe()
                .map(|p| p.with_file_name("picobox"))
                .unwrap_or_else(|_| "picobox".into());
            let err = Command::new(&picobox).arg("run").args(&flags).exec();
            eprintln!("picobox: cannot run {}: {err}", picobox.display());
            std::process::exit(125);
        }
        Err(msg) => {
            eprintln!("picobox: {msg}");
            std::process::exit(125);
        }
    }
}
