//! The user's snapshot-seal key (`seal.rs`): 32 random bytes in a file only the user may
//! read, made the first time a snapshot is written. `$XDG_STATE_HOME/picobox/seal.key`, else
//! `$HOME/.local/state/picobox/seal.key`; `/var/lib/picobox/seal.key` for root. A box never
//! sees it (it is outside every mount picobox makes, unless the user binds it in).

use crate::hostio::{self, close, sys};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use picobox_abi::Errno;

static DIRECTORY: spin::Once<Option<Vec<u8>>> = spin::Once::new();

/// Remembers where the key lives, from picobox's own environment (called once, at start).
pub fn remember(env: &[Vec<u8>]) {
    let var = |name: &[u8]| {
        env.iter()
            .find_map(|e| e.strip_prefix(name).and_then(|v| v.strip_prefix(b"=")))
            .filter(|v| v.first() == Some(&b'/'))
            .map(<[u8]>::to_vec)
    };
    DIRECTORY.call_once(|| {
        if crate::gate::syscall(102, [0; 6]) == 0 {
            return Some(b"/var/lib/picobox".to_vec());
        }
        if let Some(state) = var(b"XDG_STATE_HOME") {
            return Some([state.as_slice(), b"/picobox"].concat());
        }
        var(b"HOME").map(|home| [home.as_slice(), b"/.local/state/picobox"].concat())
    });
}

/// The directory of the key (and of `verified.rs`'s record), if picobox has one.
pub fn directory() -> Option<Vec<u8>> {
    DIRECTORY.get().cloned().flatten()
}

fn read_key(path: &[u8]) -> Result<[u8; 32], Errno> {
    let fd = hostio::open(path, hostio::O_RDONLY, 0)?;
    let mut key = [0u8; 32];
    let n = sys(0, [fd, key.as_mut_ptr() as u64, 32, 0, 0, 0]);
    close(fd);
    match n? {
        32 => Ok(key),
        _ => Err(Errno::EIO),
    }
}

/// The user's key, if there is one.
pub fn existing() -> Option<[u8; 32]> {
    read_key(&[directory()?.as_slice(), b"/seal.key"].concat()).ok()
}

/// The user's key, made (with its directories, 0700) if there is none yet. Made under a
/// name of this process's own and linked into place, so that two snapshots made at once
/// agree on one key.
pub fn get_or_make() -> Result<[u8; 32], String> {
    let dir = directory().ok_or("no home directory to keep the snapshot seal key in")?;
    let path = [dir.as_slice(), b"/seal.key"].concat();
    if let Ok(key) = read_key(&path) {
        return Ok(key);
    }
    let fail = |what: &str, e: Errno| {
        format!(
            "cannot make the snapshot seal key {} ({what}): {e}",
            String::from_utf8_lossy(&path)
        )
    };
    // Each missing directory of the path, 0700.
    for (i, b) in dir.iter().enumerate().skip(1) {
        if *b == b'/' {
            let _ = sys(
                83,
                [hostio::c_str(&dir[..i]).as_ptr() as u64, 0o700, 0, 0, 0, 0],
            );
        }
    }
    let _ = sys(83, [hostio::c_str(&dir).as_ptr() as u64, 0o700, 0, 0, 0, 0]);
    let mut key = [0u8; 32];
    let got = sys(318, [key.as_mut_ptr() as u64, 32, 0, 0, 0, 0]).map_err(|e| fail("random", e))?;
    if got != 32 {
        return Err(fail("random", Errno::EIO));
    }
    let own = [
        path.as_slice(),
        format!(".{}", crate::gate::syscall(39, [0; 6])).as_bytes(),
    ]
    .concat();
    // O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600
    let fd = hostio::open(&own, 0o1 | 0o100 | 0o200 | 0o2000000, 0o600)
        .map_err(|e| fail("create", e))?;
    let written = hostio::write_all(fd, &key);
    close(fd);
    let own_c = hostio::c_str(&own);
    let linked = written.and_then(|()| {
        sys(
            86,
            [
                own_c.as_ptr() as u64,
                hostio::c_str(&path).as_ptr() as u64,
                0,
                0,
                0,
                0,
            ],
        )
        .map(|_| ())
    });
    let _ = sys(87, [own_c.as_ptr() as u64, 0, 0, 0, 0, 0]);
    match linked {
        Ok(()) | Err(Errno::EEXIST) => read_key(&path).map_err(|e| fail("read", e)),
        Err(e) => Err(fail("link", e)),
    }
}

/// The seal of a snapshot of `build_id` with `metadata` under `key`.
pub fn seal(key: &[u8; 32], build_id: &[u8; 20], metadata: &[u8]) -> [u8; 32] {
    crate::seal::hmac(key, &[b"picobox snapshot seal 1", build_id, metadata])
}
