//! The allowlist's compiler: rules in, classic BPF out, as short as a linear filter can be.
//!
//! Installing a filter costs the kernel time proportional to its length (it translates and
//! JIT-compiles it), and every call made at the gate runs it, so the program is compact: one
//! load of the system call number, then per system call a test and, for an unconditional one,
//! a return: two instructions. A system call with argument checks gets a block that tries its
//! rules in turn (any rule that holds allows; within a rule every condition must hold) and
//! kills if none does. Anything not listed kills.
//!
//! [`run`] interprets a program, so that tests can check what the kernel will decide.

use std::collections::BTreeMap;

/// Comparison of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `arg == value`.
    Eq,
    /// `arg != value`.
    Ne,
    /// `arg < value` (unsigned).
    Lt,
    /// `arg & mask == value`.
    MaskedEq(u64),
}

/// One condition on one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cond {
    /// Argument index (0..6).
    pub arg: u8,
    /// Compare all 64 bits (else the low 32, which is all the kernel reads of an `int`).
    pub wide: bool,
    /// The comparison.
    pub op: Op,
    /// The value compared with.
    pub value: u64,
}

/// Per system call: no rules (always allowed) or rules of which one must hold.
pub type Rules = BTreeMap<i64, Vec<Vec<Cond>>>;

// Classic BPF.
const LD_W_ABS: u16 = 0x20;
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGE_K: u16 = 0x35;
const ALU_AND_K: u16 = 0x54;
const RET_K: u16 = 0x06;
/// `SECCOMP_RET_ALLOW`.
pub const ALLOW: u32 = 0x7fff_0000;
/// `SECCOMP_RET_KILL_PROCESS`.
pub const KILL: u32 = 0x8000_0000;
const OFFSET_NR: u32 = 0;

/// Offset of the low (`high == false`) or high word of argument `arg` in `seccomp_data`.
fn arg_offset(arg: u8, high: bool) -> u32 {
    16 + 8 * u32::from(arg) + if high { 4 } else { 0 }
}

#[derive(Clone, Copy)]
struct Insn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}

/// A jump to `target` from the instruction at `at`, which must be forward and short.
fn offset(at: usize, target: usize) -> Result<u8, String> {
    u8::try_from(target - at - 1).map_err(|_| format!("jump of {} too long", target - at - 1))
}

/// Compiles one rule: if every condition holds, allow; otherwise continue after it.
fn compile_rule(rule: &[Cond]) -> Result<Vec<Insn>, String> {
    // Each comparison jumps to the end of the rule (the next rule) when it fails; the targets
    // are patched once the rule's length is known.
    let mut out: Vec<Insn> = Vec::new();
    let mut fail_jumps: Vec<(usize, bool)> = Vec::new(); // (instruction, jump is jt)
    for c in rule {
        let words: &[(bool, u32)] = if c.wide {
            &[
                (false, (c.value & 0xffff_ffff) as u32),
                (true, (c.value >> 32) as u32),
            ]
        } else {
            &[(false, (c.value & 0xffff_ffff) as u32)]
        };
        if c.wide && c.op != Op::Eq {
            return Err(format!("64-bit {:?} is not supported", c.op));
        }
        for &(high, word) in words {
            out.push(insn(LD_W_ABS, 0, 0, arg_offset(c.arg, high)));
            match c.op {
                Op::Eq => {
                    fail_jumps.push((out.len(), false));
                    out.push(insn(JMP_JEQ_K, 0, 0, word));
                }
                Op::Ne => {
                    fail_jumps.push((out.len(), true));
                    out.push(insn(JMP_JEQ_K, 0, 0, word));
                }
                Op::Lt => {
                    fail_jumps.push((out.len(), true));
                    out.push(insn(JMP_JGE_K, 0, 0, word));
                }
                Op::MaskedEq(mask) => {
                    out.push(insn(ALU_AND_K, 0, 0, (mask & 0xffff_ffff) as u32));
                    fail_jumps.push((out.len(), false));
                    out.push(insn(JMP_JEQ_K, 0, 0, word));
                }
            }
        }
    }
    out.push(insn(RET_K, 0, 0, ALLOW));
    let end = out.len();
    for (at, is_jt) in fail_jumps {
        let o = offset(at, end)?;
        if is_jt {
            out[at].jt = o;
        } else {
            out[at].jf = o;
        }
    }
    Ok(out)
}

/// Compiles `rules` (anything not listed is killed) to one `struct sock_filter` per `u64`.
/// The program expects nothing in the accumulator: it loads the system call number first.
pub fn compile(rules: &Rules) -> Result<Vec<u64>, String> {
    let mut out = vec![insn(LD_W_ABS, 0, 0, OFFSET_NR)];
    for (nr, alternatives) in rules {
        let nr = u32::try_from(*nr).map_err(|_| format!("system call {nr}"))?;
        let mut block = Vec::new();
        if alternatives.is_empty() {
            block.push(insn(RET_K, 0, 0, ALLOW));
        } else {
            for rule in alternatives {
                block.extend(compile_rule(rule)?);
            }
            block.push(insn(RET_K, 0, 0, KILL));
        }
        // The test of the number skips the block when it differs; the accumulator still holds
        // the number there, since a block never falls through.
        let skip = u8::try_from(block.len()).map_err(|_| format!("block of {nr} too long"))?;
        out.push(insn(JMP_JEQ_K, 0, skip, nr));
        out.extend(block);
    }
    out.push(insn(RET_K, 0, 0, KILL));
    Ok(out
        .iter()
        .map(|i| {
            u64::from(i.code)
                | (u64::from(i.jt) << 16)
                | (u64::from(i.jf) << 24)
                | (u64::from(i.k) << 32)
        })
        .collect())
}

/// What a classic BPF `program` (as [`compile`] makes it, or the kernel-bound prefix with it)
/// returns for system call `nr` with `args`, the instruction pointer `ip`, on x86-64. `None`
/// for an instruction this interpreter does not know (tests treat that as a failure).
pub fn run(program: &[u64], nr: u32, ip: u64, args: [u64; 6]) -> Option<u32> {
    let word = |off: u32| -> Option<u32> {
        // struct seccomp_data { int nr; u32 arch; u64 ip; u64 args[6]; }
        Some(match off {
            0 => nr,
            4 => 0xc000_003e,
            8 => ip as u32,
            12 => (ip >> 32) as u32,
            16..=63 => {
                let a = args[((off - 16) / 8) as usize];
                if off.is_multiple_of(8) {
                    a as u32
                } else {
                    (a >> 32) as u32
                }
            }
            _ => return None,
        })
    };
    let (mut acc, mut pc) = (0u32, 0usize);
    loop {
        let w = *program.get(pc)?;
        let (code, jt, jf, k) = (
            (w & 0xffff) as u16,
            ((w >> 16) & 0xff) as usize,
            ((w >> 24) & 0xff) as usize,
            (w >> 32) as u32,
        );
        pc += 1;
        match code {
            LD_W_ABS => acc = word(k)?,
            ALU_AND_K => acc &= k,
            JMP_JEQ_K => pc += if acc == k { jt } else { jf },
            JMP_JGE_K => pc += if acc >= k { jt } else { jf },
            0x25 => pc += if acc > k { jt } else { jf }, // JGT
            0x45 => pc += if acc & k != 0 { jt } else { jf }, // JSET
            0x05 => pc += k as usize,                    // JA
            RET_K => return Some(k),
            _ => return None,
        }
    }
}
