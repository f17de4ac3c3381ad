//! Ancillary data of `sendmsg`/`recvmsg` (`struct cmsghdr` sequences): descriptors passed over
//! Unix sockets (`SCM_RIGHTS`), the only kind the library OS carries.

use alloc::vec::Vec;
use picobox_abi::{Errno, Result};

const SOL_SOCKET: i32 = 1;
const SCM_RIGHTS: i32 = 1;
/// `sizeof(struct cmsghdr)`: `u64 len; i32 level; i32 type;`.
const HEADER: usize = 16;

/// `CMSG_ALIGN`.
fn align(n: usize) -> usize {
    n.next_multiple_of(8)
}

/// The descriptors of every `SCM_RIGHTS` message in `control`. Errors: `EINVAL` for a
/// malformed header, `EOPNOTSUPP` for another kind of ancillary data.
pub fn rights(control: &[u8]) -> Result<Vec<i32>> {
    let mut fds = Vec::new();
    let mut at = 0;
    while at + HEADER <= control.len() {
        let len = usize::try_from(u64::from_le_bytes(
            control[at..at + 8].try_into().unwrap_or([0; 8]),
        ))
        .map_err(|_| Errno::EINVAL)?;
        let level = i32::from_le_bytes(control[at + 8..at + 12].try_into().unwrap_or([0; 4]));
        let kind = i32::from_le_bytes(control[at + 12..at + 16].try_into().unwrap_or([0; 4]));
        if len < HEADER || at + len > control.len() {
            return Err(Errno::EINVAL);
        }
        if (level, kind) != (SOL_SOCKET, SCM_RIGHTS) {
            return Err(Errno::EOPNOTSUPP);
        }
        fds.extend(
            control[at + HEADER..at + len]
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap_or([0; 4]))),
        );
        at += align(len);
    }
    Ok(fds)
}

/// How many of `count` descriptors one `SCM_RIGHTS` message can carry in `room` bytes (the
/// rest make Linux set `MSG_CTRUNC`).
pub fn rights_that_fit(count: usize, room: usize) -> usize {
    count.min(room.saturating_sub(HEADER) / 4)
}

/// One `SCM_RIGHTS` message carrying as many of `fds` as fit in `room` bytes; returns it and
/// how many fit.
pub fn encode_rights(fds: &[u32], room: usize) -> (Vec<u8>, usize) {
    let fit = rights_that_fit(fds.len(), room);
    if fit == 0 {
        return (Vec::new(), 0);
    }
    let len = HEADER + 4 * fit;
    let mut out = Vec::with_capacity(align(len));
    out.extend_from_slice(&(len as u64).to_le_bytes());
    out.extend_from_slice(&SOL_SOCKET.to_le_bytes());
    out.extend_from_slice(&SCM_RIGHTS.to_le_bytes());
    for fd in &fds[..fit] {
        out.extend_from_slice(&fd.to_le_bytes());
    }
    if align(len) <= room {
        out.resize(align(len), 0);
    }
    (out, fit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_round_trip() {
        let (bytes, fit) = encode_rights(&[3, 4, 5], 64);
        assert_eq!(fit, 3);
        assert_eq!(bytes.len(), 32);
        assert_eq!(rights(&bytes).unwrap(), [3, 4, 5]);
    }

    #[test]
    fn too_little_room_truncates() {
        let (bytes, fit) = encode_rights(&[3, 4, 5], 24);
        assert_eq!(fit, 2);
        assert_eq!(rights(&bytes).unwrap(), [3, 4]);
        assert_eq!(encode_rights(&[3], 8).1, 0);
    }

    #[test]
    fn malformed_or_foreign_control_data_is_refused() {
        let (mut bytes, _) = encode_rights(&[3], 64);
        bytes[0] = 200; // longer than the buffer
        assert_eq!(rights(&bytes), Err(Errno::EINVAL));
        let (mut creds, _) = encode_rights(&[3], 64);
        creds[12] = 2; // SCM_CREDENTIALS
        assert_eq!(rights(&creds), Err(Errno::EOPNOTSUPP));
    }
}
