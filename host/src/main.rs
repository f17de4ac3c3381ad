//! `picobox`: run untrusted Linux programs in confined picoprocesses.

fn main() {
    std::process::exit(picobox::cli::main(std::env::args_os().skip(1).collect()));
}
