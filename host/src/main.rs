//! `picobox-manifest`: the helper `picobox run --manifest FILE ...` runs. It reads the TOML
//! manifest, turns it into the equivalent flags (flags given on the command line come after
//! and so add to or override it), and executes `picobox run` with them.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Reports an error and exits with picobox's own failure status (125), even when standard
/// error is closed or a broken pipe (a failed write must not turn into an abort).
fn fail(msg: std::fmt::Arguments<'_>) -> ! {
    let _ = writeln!(std::io::stderr(), "picobox: {msg}");
    std::process::exit(125);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match picobox_tools::config::flags_with_manifest(&args) {
        Ok(flags) => {
            let picobox = std::env::current_exe()
                .map(|p| p.with_file_name("picobox"))
                .unwrap_or_else(|_| "picobox".into());
            let err = Command::new(&picobox).arg("run").args(&flags).exec();
            fail(format_args!("cannot run {}: {err}", picobox.display()));
        }
        Err(msg) => fail(format_args!("{msg}")),
    }
}
