//! `busybox sh` scripts (pipelines, redirections, substitutions, subshells, jobs, traps,
//! signals, scripts with `#!`), natively and boxed: same exit status, same output.

use crate::support::*;
use std::path::Path;

fn script(name: &str, text: &str) {
    let bb = Path::new(busybox());
    let n = scratch(&format!("sh-native-{name}"));
    let b = scratch(&format!("sh-boxed-{name}"));
    for dir in [&n, &b] {
        std::fs::create_dir_all(dir.join("tree/a")).unwrap();
        std::fs::write(dir.join("tree/a/one"), "1\n").unwrap();
        std::fs::write(dir.join("tree/two"), "2\n").unwrap();
    }
    let native_out = native(&n, bb, &["sh", "-c", text]);
    let boxed_out = boxed(&b, bb, &["sh", "-c", text]);
    assert_same(text, &native_out, &boxed_out);
    assert_eq!(
        text_of(&boxed_out.stderr),
        text_of(&native_out.stderr),
        "{text}: stderr differs"
    );
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

macro_rules! scripts {
    ($($test:ident: $text:expr;)*) => {
        $(#[test] fn $test() { script(stringify!($test), $text); })*
    };
}

scripts! {
    pipeline: "seq 1 100 | grep 7 | wc -l";
    redirections: "echo a > f; echo b >> f; cat < f; ls nothing 2>/dev/null; echo $?; cat f 2>&1 >/dev/null";
    command_substitution: "x=$(echo hi | tr a-z A-Z); echo \"$x\" $(echo nested $(echo deep))";
    subshell_keeps_cwd: "d=$(pwd); (cd tree/a && pwd | sed \"s#^$d##\"); [ \"$(pwd)\" = \"$d\" ] && echo same";
    background_and_wait: "sleep 0.1 & echo started; wait; echo done";
    trap_and_kill: "trap 'echo caught' USR1; kill -USR1 $$; echo after";
    exit_statuses: "false | true; echo $?; sh -c 'exit 3'; echo $?; ! true; echo $?";
    arithmetic_loop: "i=0; for x in 1 2 3 4; do i=$((i + x * x)); done; echo $i";
    while_read: "printf 'a\\nb\\nc\\n' | while read l; do echo \"<$l>\"; done";
    functions: "f() { echo \"arg=$1\"; return 4; }; f z; echo $?";
    here_document: "cat <<EOF\nline one\n$((6 * 7))\nEOF";
    xargs: "echo a b c | xargs -n1 echo item";
    // busybox's "Terminated" notice comes from wait if the job ends while it waits, and not
    // at all if the job was reaped before: which one is timing (natively too), so it is left
    // out; the status is not.
    killed_job: "sleep 5 & kill $!; wait $! 2>/dev/null; echo status=$?";
    nested_sh: "sh -c 'echo $0 $1' name arg";
    exec_replaces_the_shell: "exec echo replaced; echo not-reached";
    script_with_shebang: "printf '#!/bin/busybox sh\\necho from-script \"$@\"\\nexit 5\\n' > s.sh; chmod +x s.sh; ./s.sh x y; echo $?";
    set_e_and_or: "set -e; false || echo recovered; true && echo fine";
    find_exec: "find tree -type f -exec cat {} \\; | sort";
    tee_to_file: "echo x | tee out.txt | cat; cat out.txt";
    stderr_into_pipe: "ls nothing 2>&1 | wc -l";
    alarm_trap: "trap 'echo alarm' ALRM; (sleep 0.1; kill -ALRM $$) & wait; echo end";
    signal_exit_status: "sh -c 'kill -TERM $$'; echo st=$?";
}

#[test]
fn processes_and_signals_match_native() {
    let prog = guest("procsig");
    let n = scratch("procsig-native");
    let b = scratch("procsig-boxed");
    let native_out = native(&n, &prog, &[]);
    let boxed_out = boxed(&b, &prog, &[]);
    assert_eq!(
        text_of(&boxed_out.stdout),
        text_of(&native_out.stdout),
        "{}",
        text_of(&boxed_out.stderr)
    );
    // The program ends by an unhandled SIGUSR2: natively its parent sees the signal; the box's
    // first process reports it as 128 + 12, as a shell would.
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(native_out.status.signal(), Some(12));
    assert_eq!(boxed_out.status.code(), Some(128 + 12));
}

#[test]
fn signals_at_the_edges_of_trapped_calls_reach_the_program() {
    let prog = guest("sigstorm");
    for run in 0..5 {
        let n = scratch(&format!("sigstorm-native-{run}"));
        let b = scratch(&format!("sigstorm-boxed-{run}"));
        assert_same("sigstorm", &native(&n, &prog, &[]), &boxed(&b, &prog, &[]));
    }
}
