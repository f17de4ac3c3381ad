//! Special files of the box's mounts that a restore needs again (socket files, FIFOs): found,
//! or made again when they are gone (a box-private tmpfs ends with its box), always beneath
//! their mount root (`openat2` with `RESOLVE_BENEATH`, no magic links), never above it.

use crate::hostio::{
    self, close, sys, AT_SYMLINK_NOFOLLOW, O_CLOEXEC, O_DIRECTORY, O_PATH, S_IFMT,
};
use alloc::format;
use alloc::string::String;

/// `struct open_how` resolution: `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`.
const BENEATH: u64 = 0x08 | 0x02;

/// Makes node `name` (a NUL-terminated single name) in directory `dir`: `kind_mode` is its
/// kind (`S_IFIFO`, `S_IFSOCK`) and permissions.
pub fn make_node(dir: u64, name: &[u8], kind_mode: u32) -> Result<(), picobox_abi::Errno> {
    sys(
        259,
        [dir, name.as_ptr() as u64, u64::from(kind_mode), 0, 0, 0],
    )
    .map(|_| ())
}

/// Gives `name` (NUL-terminated) in directory `dir`, not following a link, to `owner` (uid,
/// gid), if there is one.
pub fn give_to(dir: u64, name: &[u8], owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        let _ = sys(
            260,
            [
                dir,
                name.as_ptr() as u64,
                u64::from(uid),
                u64::from(gid),
                AT_SYMLINK_NOFOLLOW,
                0,
            ],
        );
    }
}

/// Opens `rel` beneath `root` with `flags`.
pub fn open_beneath(root: u64, rel: &[u8], flags: u64) -> Result<u64, String> {
    let how: [u64; 3] = [flags | O_CLOEXEC, 0, BENEATH];
    let path = hostio::c_str(if rel.is_empty() { b"." } else { rel });
    sys(
        437,
        [root, path.as_ptr() as u64, how.as_ptr() as u64, 24, 0, 0],
    )
    .map_err(|e| format!("{e}"))
}

/// The `struct stat` (as words: `st_dev` 0, `st_ino` 1, `st_mode` the low half of 3) of
/// the node at `rel` beneath `root`, made with `kind_and_mode` (`S_IFSOCK` or `S_IFIFO` and
/// its permissions) and given to `owner` if it is gone (its directory must be there). Fails
/// if the path is now of another kind.
pub fn node_beneath(
    root: u64,
    rel: &[u8],
    kind_and_mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<[u64; 18], String> {
    let (dir_path, base) = match rel.iter().rposition(|b| *b == b'/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => (&b""[..], rel),
    };
    if base.is_empty() || base == b"." || base == b".." {
        return Err("a malformed path".into());
    }
    let dir = open_beneath(root, dir_path, O_PATH | O_DIRECTORY)
        .map_err(|e| format!("its directory: {e}"))?;
    let base_c = hostio::c_str(base);
    let stat = |st: &mut [u64; 18]| {
        sys(
            262,
            [
                dir,
                base_c.as_ptr() as u64,
                st.as_mut_ptr() as u64,
                AT_SYMLINK_NOFOLLOW,
                0,
                0,
            ],
        )
    };
    let result = (|| {
        let mut st = [0u64; 18];
        if stat(&mut st).is_err() {
            make_node(dir, &base_c, kind_and_mode).map_err(|e| format!("{e}"))?;
            give_to(dir, &base_c, owner);
            stat(&mut st).map_err(|e| format!("{e}"))?;
        }
        if (st[3] as u32) & S_IFMT != kind_and_mode & S_IFMT {
            return Err("its path is of another kind now".into());
        }
        Ok(st)
    })();
    close(dir);
    result
}
