//! Sockets: TCP and UDP over IPv4 and IPv6, and Unix sockets, all host sockets. What a box can
//! reach is decided by the kernel (its network namespace, Landlock's port rules and scoping,
//! the filter's socket kinds, the socket root); these handlers translate descriptors and
//! addresses (Unix path names through [`super::unix_names`]).

use super::fs::file_of;
use super::{cmsg, unix_names};
use super::{int_arg, Args};
use crate::fd::{FdEntry, FileObject, HostHandle, OpenFile};
use crate::kernel::{host, with, Kernel};
use crate::user;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use picobox_abi::{Errno, Handle, IoBuf, OpenFlags, Result};

const SOCK_NONBLOCK: u32 = 0o4000;
const SOCK_CLOEXEC: u32 = 0o2000000;
const AF_UNIX: u32 = 1;
const AF_INET: u32 = 2;
const AF_INET6: u32 = 10;
/// Largest socket address (`struct sockaddr_storage`).
const ADDR_MAX: usize = 128;
/// Largest socket option value copied.
const OPT_MAX: usize = 256;

fn socket_handle(file: &OpenFile) -> Result<Handle> {
    file.touched();
    match &file.object {
        FileObject::Host(h) => Ok(h.0),
        _ => Err(Errno::ENOTSOCK),
    }
}

fn install(k: &mut Kernel, h: Handle, nonblocking: bool, cloexec: bool) -> Result<u64> {
    let status = OpenFlags::READ_WRITE.0 | if nonblocking { OpenFlags::NONBLOCK } else { 0 };
    let file = OpenFile::new(FileObject::Host(HostHandle(h)), status, Vec::new());
    k.fds.insert(FdEntry { file, cloexec })
}

fn read_addr(addr: u64, len: u64) -> Result<Vec<u8>> {
    let len = usize::try_from(len)
        .ok()
        .filter(|l| *l <= ADDR_MAX)
        .ok_or(Errno::EINVAL)?;
    user::read_bytes(addr, len)
}

/// Writes `addr` to a `(sockaddr *, socklen_t *)` pair that `accept` and `recvfrom` take: a
/// null address asks for none.
fn write_addr(addr: &[u8], out: u64, len_ptr: u64) -> Result<()> {
    if out == 0 {
        return Ok(());
    }
    move_addr(addr, out, len_ptr)
}

/// Writes `addr` to a `(sockaddr *, socklen_t *)` pair, truncated to the room the length
/// gives, and the full length back, as Linux's `move_addr_to_user`: a length Linux cannot read
/// is `EFAULT`, a negative one `EINVAL`.
fn move_addr(addr: &[u8], out: u64, len_ptr: u64) -> Result<()> {
    let room = usize::try_from(user::read_u32(len_ptr)? as i32).map_err(|_| Errno::EINVAL)?;
    let n = addr.len().min(room);
    if n > 0 {
        user::write_bytes(out, &addr[..n])?;
    }
    user::write_u32(len_ptr, addr.len() as u32)
}

/// The IP address and port of an `AF_INET` or `AF_INET6` socket address.
fn ip_address(addr: &[u8]) -> Option<(IpAddr, u16)> {
    let family = u32::from(u16::from_le_bytes([*addr.first()?, *addr.get(1)?]));
    let port = u16::from_be_bytes([*addr.get(2)?, *addr.get(3)?]);
    match family {
        AF_INET => {
            let ip: [u8; 4] = addr.get(4..8)?.try_into().ok()?;
            Some((IpAddr::V4(Ipv4Addr::from(ip)), port))
        }
        AF_INET6 => {
            let ip: [u8; 16] = addr.get(8..24)?.try_into().ok()?;
            let v6 = Ipv6Addr::from(ip);
            // An IPv4 address reached through an IPv6 socket is that IPv4 address.
            Some((v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4), port))
        }
        _ => None,
    }
}

/// On the host's network, whether `addr` is one the box declared (`--allow-bind` for a bind,
/// `--allow-connect` for a connection). The kernel already holds the box to the declared
/// ports; this keeps a program to the declared addresses too (`EACCES`, as Landlock answers),
/// so that a server meant for loopback does not listen on every interface. Port 0 (any free
/// port) is left to the kernel.
fn check_declared(k: &Kernel, addr: &[u8], bind: bool) -> Result<()> {
    if k.network != picobox_abi::boot::Network::Host {
        return Ok(());
    }
    let Some((ip, port)) = ip_address(addr) else {
        return Ok(());
    };
    let rules = if bind {
        &k.allow_bind
    } else {
        &k.allow_connect
    };
    let declared = rules
        .iter()
        .any(|r| r.port == port && (r.addr == ip || r.addr.is_unspecified()));
    if declared || (bind && port == 0) {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// `socket(domain, type, protocol)`.
pub fn sys_socket(k: &mut Kernel, a: &Args) -> Result<u64> {
    let (domain, kind, protocol) = socket_kind(a)?;
    use picobox_abi::boot::Network;
    match (k.network, kind & SOCK_TYPE_MASK) {
        _ if domain == AF_UNIX => {}
        // `--net none`: no network at all.
        (Network::None, _) => return Err(Errno::EACCES),
        (_, SOCK_STREAM) => {}
        // Landlock confines TCP ports only: on the host's network UDP is not offered.
        (Network::Loopback, SOCK_DGRAM) => {}
        _ => return Err(Errno::EACCES),
    }
    let h = host().socket_create(domain, kind & !SOCK_CLOEXEC, protocol)?;
    install(k, h, kind & SOCK_NONBLOCK != 0, kind & SOCK_CLOEXEC != 0)
}

/// `socket`'s and `socketpair`'s (domain, type, protocol), checked in Linux's order: the type
/// and its flags (`EINVAL`), the family (`EAFNOSUPPORT`), the type within the family
/// (`ESOCKTNOSUPPORT`), the protocol within the type (`EPROTONOSUPPORT`). Returns the protocol
/// to ask the host for. Only Unix sockets and TCP and UDP over IPv4 and IPv6 exist: the host
/// admits no other protocol (MPTCP, SCTP, ICMP, raw), since the kernel's port rules would not
/// see them. A raw socket with a protocol is `EPERM`, as for a process without `CAP_NET_RAW`.
fn socket_kind(a: &Args) -> Result<(u32, u32, u32)> {
    let domain = (a[0] & 0xffff_ffff) as u32;
    let kind = (a[1] & 0xffff_ffff) as u32;
    let protocol = (a[2] & 0xffff_ffff) as u32;
    if kind & !(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0
        || kind & SOCK_TYPE_MASK >= SOCK_MAX
    {
        return Err(Errno::EINVAL);
    }
    let base = kind & SOCK_TYPE_MASK;
    match domain {
        AF_UNIX => {
            if !matches!(base, SOCK_STREAM | SOCK_DGRAM | SOCK_RAW | SOCK_SEQPACKET) {
                return Err(Errno::ESOCKTNOSUPPORT);
            }
            if protocol != 0 && protocol != PF_UNIX {
                return Err(Errno::EPROTONOSUPPORT);
            }
            // A raw Unix socket is a datagram socket, as Linux makes it.
            let kind = if base == SOCK_RAW {
                kind & !SOCK_TYPE_MASK | SOCK_DGRAM
            } else {
                kind
            };
            Ok((domain, kind, 0))
        }
        AF_INET | AF_INET6 => {
            let own = match base {
                SOCK_STREAM => IPPROTO_TCP,
                SOCK_DGRAM => IPPROTO_UDP,
                SOCK_RAW if protocol == 0 => return Err(Errno::EPROTONOSUPPORT),
                SOCK_RAW => return Err(Errno::EPERM),
                _ => return Err(Errno::ESOCKTNOSUPPORT),
            };
            if protocol != 0 && protocol != own {
                return Err(Errno::EPROTONOSUPPORT);
            }
            Ok((domain, kind, protocol))
        }
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

const SOCK_TYPE_MASK: u32 = 0xf;
const SOCK_STREAM: u32 = 1;
const SOCK_DGRAM: u32 = 2;
const SOCK_RAW: u32 = 3;
const SOCK_SEQPACKET: u32 = 5;
/// One past the highest socket type Linux knows (`SOCK_PACKET` is 10).
const SOCK_MAX: u32 = 11;

/// `MSG_FASTOPEN`: connect and send in one call (TCP Fast Open).
const IPPROTO_TCP: u32 = 6;
const IPPROTO_UDP: u32 = 17;
const PF_UNIX: u32 = 1;
const TCP_FASTOPEN_CONNECT: u32 = 30;
/// `MSG_FASTOPEN`, as above.
const MSG_FASTOPEN: u32 = 0x2000_0000;

/// TCP Fast Open as a program asks for it (`MSG_FASTOPEN` with a destination): the library OS
/// connects first, as `connect` does (declared address, then the host's connect, where the
/// kernel checks the port), and the data then goes as an ordinary send. The host never sees
/// `MSG_FASTOPEN`, whose implicit connect would pass the kernel's port rules.
/// The flags and destination a send passes to the host: with `MSG_FASTOPEN`, the socket is
/// connected first (see [`fast_open_connect`]) and the data goes without flag or address.
fn send_destination(
    h: Handle,
    flags: u32,
    to: Option<Vec<u8>>,
) -> Result<(u32, Option<unix_names::Destination>)> {
    if flags & MSG_FASTOPEN != 0 {
        fast_open_connect(h, to.as_deref())?;
        return Ok((flags & !MSG_FASTOPEN, None));
    }
    Ok((flags, to.map(unix_names::destination).transpose()?))
}

fn fast_open_connect(h: Handle, to: Option<&[u8]>) -> Result<()> {
    let Some(addr) = to else {
        return Ok(()); // connected already, or the send fails as Linux's does
    };
    with(|k| check_declared(k, addr, false))??;
    let dest = unix_names::destination(addr.to_vec())?;
    match host().socket_connect(h, &dest.host_addr) {
        Ok(()) | Err(Errno::EISCONN) => Ok(()),
        Err(e) => Err(dest.error(e)),
    }
}

/// `socketpair(domain, type, protocol, sv)`.
pub fn sys_socketpair(k: &mut Kernel, a: &Args) -> Result<u64> {
    let (domain, kind, _) = socket_kind(a)?;
    if domain != AF_UNIX {
        return Err(Errno::EOPNOTSUPP); // TCP and UDP sockets come in pairs only on the wire
    }
    let (x, y) = host().socket_pair(kind & !SOCK_CLOEXEC)?;
    let nb = kind & SOCK_NONBLOCK != 0;
    let cloexec = kind & SOCK_CLOEXEC != 0;
    let fx = install(k, x, nb, cloexec)?;
    let fy = match install(k, y, nb, cloexec) {
        Ok(fy) => fy,
        Err(e) => {
            let _ = k.fds.remove(fx);
            return Err(e);
        }
    };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&(fx as u32).to_le_bytes());
    out[4..].copy_from_slice(&(fy as u32).to_le_bytes());
    if let Err(e) = user::write_bytes(a[3], &out) {
        // Linux installs neither descriptor when it cannot report them.
        let _ = k.fds.remove(fx);
        let _ = k.fds.remove(fy);
        return Err(e);
    }
    Ok(0)
}

/// `bind(fd, addr, len)`.
pub fn sys_bind(k: &mut Kernel, a: &Args) -> Result<u64> {
    let h = socket_handle(&*k.fds.file(super::fd_arg(a[0])?)?)?;
    let addr = read_addr(a[1], a[2])?;
    check_family(h, &addr)?;
    check_declared(k, &addr, true)?;
    let pending = unix_names::prepare_bind(k, addr)?;
    match host().socket_bind(h, &pending.host_addr) {
        Ok(()) => {
            pending.done(k);
            Ok(0)
        }
        Err(e) => {
            pending.undo();
            Err(e)
        }
    }
}

/// A Unix socket address given to another kind of socket, or another address to a Unix
/// socket, is refused before the library OS looks at the name: `EAFNOSUPPORT` for an IP
/// socket, `EINVAL` for a Unix one, as Linux's `inet_bind` and `unix_bind` check.
fn check_family(h: Handle, addr: &[u8]) -> Result<()> {
    const SOL_SOCKET: u32 = 1;
    const SO_DOMAIN: u32 = 39;
    let Some(family) = addr
        .get(..2)
        .map(|f| u32::from(u16::from_le_bytes([f[0], f[1]])))
    else {
        return Ok(()); // too short for a family: the host says EINVAL
    };
    let mut domain = [0u8; 4];
    host().socket_option(h, SOL_SOCKET, SO_DOMAIN, &mut domain, false)?;
    let domain = u32::from_le_bytes(domain);
    match (domain == AF_UNIX, family == AF_UNIX) {
        (false, true) => Err(Errno::EAFNOSUPPORT),
        (true, false) => Err(Errno::EINVAL),
        _ => Ok(()),
    }
}

/// `listen(fd, backlog)`.
pub fn sys_listen(k: &mut Kernel, a: &Args) -> Result<u64> {
    let h = socket_handle(&*k.fds.file(super::fd_arg(a[0])?)?)?;
    host().socket_listen(h, u32::try_from(int_arg(a[1]).max(0)).unwrap_or(0))?;
    Ok(0)
}

fn accept(a: &Args, flags: u64) -> Result<u64> {
    let flags = u32::try_from(flags).map_err(|_| Errno::EINVAL)?;
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let h = socket_handle(&*file_of(a[0])?)?;
    let mut peer = [0u8; ADDR_MAX];
    let (new, len) = host().socket_accept(h, &mut peer, flags & SOCK_NONBLOCK != 0)?;
    let fd = with(|k| {
        install(
            k,
            new,
            flags & SOCK_NONBLOCK != 0,
            flags & SOCK_CLOEXEC != 0,
        )
    })??;
    write_addr(
        &unix_names::guest_address(&peer[..len.min(ADDR_MAX)]),
        a[1],
        a[2],
    )?;
    Ok(fd)
}

/// `accept(fd, addr, addrlen)`.
pub fn sys_accept(a: &Args) -> Result<u64> {
    accept(a, 0)
}

/// `accept4(fd, addr, addrlen, flags)`.
pub fn sys_accept4(a: &Args) -> Result<u64> {
    accept(a, a[3])
}

/// `connect(fd, addr, len)`.
pub fn sys_connect(a: &Args) -> Result<u64> {
    let h = socket_handle(&*file_of(a[0])?)?;
    let addr = read_addr(a[1], a[2])?;
    with(|k| check_declared(k, &addr, false))??;
    let to = unix_names::destination(addr)?;
    host()
        .socket_connect(h, &to.host_addr)
        .map_err(|e| to.error(e))?;
    Ok(0)
}

/// `sendto(fd, buf, len, flags, addr, addrlen)`.
pub fn sys_sendto(a: &Args) -> Result<u64> {
    let h = socket_handle(&*file_of(a[0])?)?;
    let len = usize::try_from(a[2]).map_err(|_| Errno::EINVAL)?;
    let buf = IoBuf {
        addr: user::checked_range(a[1], len).or_else(|e| if len == 0 { Ok(0) } else { Err(e) })?,
        len,
    };
    let raw_to = if a[4] != 0 {
        Some(read_addr(a[4], a[5])?)
    } else {
        None
    };
    let (flags, to) = send_destination(h, (a[3] & 0xffff_ffff) as u32, raw_to)?;
    let addr = to.as_ref().map(|d| d.host_addr.as_slice());
    host()
        .socket_send(h, buf, addr, flags, &[])
        .map(|n| n as u64)
        .map_err(|e| to.as_ref().map_or(e, |d| d.error(e)))
}

/// `recvfrom(fd, buf, len, flags, addr, addrlen)`.
pub fn sys_recvfrom(a: &Args) -> Result<u64> {
    let h = socket_handle(&*file_of(a[0])?)?;
    let len = usize::try_from(a[2]).map_err(|_| Errno::EINVAL)?;
    let buf = IoBuf {
        addr: user::checked_range(a[1], len).or_else(|e| if len == 0 { Ok(0) } else { Err(e) })?,
        len,
    };
    let mut from = [0u8; ADDR_MAX];
    let want_from = a[4] != 0 && a[5] != 0;
    let mut passed = Vec::new();
    let (n, flen, _) = host().socket_recv(
        h,
        buf,
        if want_from { &mut from } else { &mut [] },
        (a[3] & 0xffff_ffff) as u32,
        &mut passed,
    )?;
    // recvfrom has nowhere to put descriptors: Linux discards them.
    for h in passed {
        let _ = host().object_close(h);
    }
    if want_from {
        write_addr(
            &unix_names::guest_address(&from[..flen.min(ADDR_MAX)]),
            a[4],
            a[5],
        )?;
    }
    Ok(n as u64)
}

/// The parts of a `struct msghdr` the handlers use.
struct MsgHdr {
    name: u64,
    namelen: u64,
    iovs: Vec<(u64, u64)>,
    control: u64,
    controllen: u64,
}

/// Reads a `struct msghdr`.
fn read_msghdr(addr: u64) -> Result<MsgHdr> {
    let raw = user::read_bytes(addr, 56)?;
    let w = |i: usize| u64::from_le_bytes(raw[i..i + 8].try_into().unwrap_or([0; 8]));
    let (name, namelen, iov, iovlen) = (w(0), w(8) & 0xffff_ffff, w(16), w(24));
    let (control, controllen) = (w(32), w(40));
    if iovlen > 1024 {
        return Err(Errno::EMSGSIZE);
    }
    let bytes = user::read_bytes(
        iov,
        usize::try_from(iovlen * 16).map_err(|_| Errno::EINVAL)?,
    )?;
    let iovs = bytes
        .chunks_exact(16)
        .map(|c| {
            (
                u64::from_le_bytes(c[..8].try_into().unwrap_or([0; 8])),
                u64::from_le_bytes(c[8..].try_into().unwrap_or([0; 8])),
            )
        })
        .collect();
    Ok(MsgHdr {
        name,
        namelen,
        iovs,
        control,
        controllen,
    })
}

/// Most ancillary bytes `sendmsg` accepts (Linux's default `optmem_max`).
const CONTROL_MAX: u64 = 20480;

/// The host handles behind descriptors passed with `SCM_RIGHTS`. Only descriptors backed by
/// a host object can travel (`EOPNOTSUPP` for the library OS's own: `/proc` files, epoll).
fn passed_handles(fds: &[i32]) -> Result<Vec<Handle>> {
    with(|k| {
        fds.iter()
            .map(|fd| {
                let file = k.fds.file(u64::try_from(*fd).map_err(|_| Errno::EBADF)?)?;
                match &file.object {
                    FileObject::Host(h) => Ok(h.0),
                    _ => Err(Errno::EOPNOTSUPP),
                }
            })
            .collect()
    })?
}

/// `sendmsg(fd, msg, flags)`: the iovecs are gathered; descriptors travel with `SCM_RIGHTS`.
pub fn sys_sendmsg(a: &Args) -> Result<u64> {
    let h = socket_handle(&*file_of(a[0])?)?;
    let MsgHdr {
        name,
        namelen,
        iovs,
        control,
        controllen,
    } = read_msghdr(a[1])?;
    if controllen > CONTROL_MAX {
        return Err(Errno::ENOBUFS);
    }
    let handles = if controllen == 0 {
        Vec::new()
    } else {
        let bytes = user::read_bytes(control, controllen as usize)?;
        passed_handles(&cmsg::rights(&bytes)?)?
    };
    let mut data = Vec::new();
    for (base, len) in iovs {
        data.extend_from_slice(&user::read_bytes(
            base,
            usize::try_from(len).map_err(|_| Errno::EINVAL)?,
        )?);
    }
    let raw_to = if name != 0 && namelen != 0 {
        Some(read_addr(name, namelen)?)
    } else {
        None
    };
    let (flags, to) = send_destination(h, (a[2] & 0xffff_ffff) as u32, raw_to)?;
    let addr = to.as_ref().map(|d| d.host_addr.as_slice());
    host()
        .socket_send(h, IoBuf::of(&data), addr, flags, &handles)
        .map(|n| n as u64)
        .map_err(|e| to.as_ref().map_or(e, |d| d.error(e)))
}

/// `recvmsg(fd, msg, flags)`: received into one buffer, then scattered; descriptors passed
/// with `SCM_RIGHTS` become new descriptors of this process.
pub fn sys_recvmsg(a: &Args) -> Result<u64> {
    const MSG_CTRUNC: u32 = 0x8;
    const MSG_CMSG_CLOEXEC: u32 = 0x4000_0000;
    let h = socket_handle(&*file_of(a[0])?)?;
    let MsgHdr {
        name,
        namelen,
        iovs,
        control,
        controllen,
    } = read_msghdr(a[1])?;
    let total: u64 = iovs.iter().map(|(_, l)| *l).sum();
    let mut data = alloc::vec![0u8; usize::try_from(total.min(1 << 24)).unwrap_or(0)];
    let mut from = [0u8; ADDR_MAX];
    let flags = (a[2] & 0xffff_ffff) as u32;
    let mut passed = Vec::new();
    let (n, flen, mut msg_flags) =
        host().socket_recv(h, IoBuf::of_mut(&mut data), &mut from, flags, &mut passed)?;
    // The passed descriptors that fit in the program's control buffer become its own; Linux
    // closes the others and says so with MSG_CTRUNC.
    let room = usize::try_from(controllen.min(CONTROL_MAX)).unwrap_or(0);
    let fit = cmsg::rights_that_fit(passed.len(), room);
    let truncated = fit < passed.len();
    for extra in passed.drain(fit..) {
        let _ = host().object_close(extra);
    }
    let mut fds = Vec::with_capacity(passed.len());
    for handle in passed {
        match with(|k| install(k, handle, false, flags & MSG_CMSG_CLOEXEC != 0))? {
            Ok(fd) => fds.push(fd as u32),
            Err(e) => {
                let _ = host().object_close(handle);
                return Err(e);
            }
        }
    }
    let (control_bytes, _) = cmsg::encode_rights(&fds, room);
    if truncated {
        msg_flags |= MSG_CTRUNC;
    }
    let mut done = 0;
    for (base, len) in iovs {
        if done >= n {
            break;
        }
        let take = (len as usize).min(n - done);
        user::write_bytes(base, &data[done..done + take])?;
        done += take;
    }
    // msg_namelen, msg_controllen, msg_flags.
    let from = unix_names::guest_address(&from[..flen.min(ADDR_MAX)]);
    if name != 0 {
        user::write_bytes(name, &from[..from.len().min(namelen as usize)])?;
    }
    if !control_bytes.is_empty() {
        user::write_bytes(control, &control_bytes)?;
    }
    user::write_u32(a[1] + 8, from.len() as u32)?;
    user::write_u64(a[1] + 40, control_bytes.len() as u64)?;
    user::write_u32(a[1] + 48, msg_flags)?;
    Ok(n as u64)
}

/// `shutdown(fd, how)`.
pub fn sys_shutdown(k: &mut Kernel, a: &Args) -> Result<u64> {
    let h = socket_handle(&*k.fds.file(super::fd_arg(a[0])?)?)?;
    host().socket_shutdown(h, u32::try_from(int_arg(a[1])).map_err(|_| Errno::EINVAL)?)?;
    Ok(0)
}

fn name(k: &mut Kernel, a: &Args, peer: bool) -> Result<u64> {
    let h = socket_handle(&*k.fds.file(super::fd_arg(a[0])?)?)?;
    let mut out = [0u8; ADDR_MAX];
    let n = host().socket_name(h, peer, &mut out)?;
    let addr = unix_names::guest_address(&out[..n.min(ADDR_MAX)]);
    move_addr(&addr, a[1], a[2])?;
    Ok(0)
}

/// `getsockname(fd, addr, addrlen)`.
pub fn sys_getsockname(k: &mut Kernel, a: &Args) -> Result<u64> {
    name(k, a, false)
}

/// `getpeername(fd, addr, addrlen)`.
pub fn sys_getpeername(k: &mut Kernel, a: &Args) -> Result<u64> {
    name(k, a, true)
}

/// `setsockopt(fd, level, name, value, len)`.
pub fn sys_setsockopt(k: &mut Kernel, a: &Args) -> Result<u64> {
    let h = socket_handle(&*k.fds.file(super::fd_arg(a[0])?)?)?;
    let len = usize::try_from(a[4] & 0xffff_ffff)
        .ok()
        .filter(|l| *l <= OPT_MAX)
        .ok_or(Errno::EINVAL)?;
    let mut value = user::read_bytes(a[3], len)?;
    let (level, name) = ((a[1] & 0xffff_ffff) as u32, (a[2] & 0xffff_ffff) as u32);
    if (level, name) == (IPPROTO_TCP, TCP_FASTOPEN_CONNECT) {
        // Accepted and not passed on: connect() then connects at once, as without the
        // option (the host refuses it, whose deferred connect would pass the port rules).
        return Ok(0);
    }
    host().socket_option(h, level, name, &mut value, true)?;
    Ok(0)
}

/// `getsockopt(fd, level, name, value, len)`.
pub fn sys_getsockopt(k: &mut Kernel, a: &Args) -> Result<u64> {
    let h = socket_handle(&*k.fds.file(super::fd_arg(a[0])?)?)?;
    let room = usize::try_from(user::read_u32(a[4])? as i32).map_err(|_| Errno::EINVAL)?;
    let mut value = alloc::vec![0u8; room.min(OPT_MAX)];
    let n = host().socket_option(
        h,
        (a[1] & 0xffff_ffff) as u32,
        (a[2] & 0xffff_ffff) as u32,
        &mut value,
        false,
    )?;
    user::write_bytes(a[3], &value[..n.min(value.len())])?;
    user::write_u32(a[4], n as u32)?;
    Ok(0)
}

/// `struct mmsghdr`: a `msghdr` (56 bytes) and the count of bytes it moved.
const MMSGHDR_SIZE: u64 = 64;
/// Most messages of one `sendmmsg`/`recvmmsg` (`UIO_MAXIOV`).
const MMSG_MAX: u64 = 1024;

/// `sendmmsg(fd, msgvec, vlen, flags)`: one `sendmsg` per message, until one fails (its error
/// is returned only if it was the first).
pub fn sys_sendmmsg(a: &Args) -> Result<u64> {
    let count = (a[2] & 0xffff_ffff).min(MMSG_MAX);
    let mut sent = 0;
    while sent < count {
        let hdr = a[1] + sent * MMSGHDR_SIZE;
        match sys_sendmsg(&[a[0], hdr, a[3], 0, 0, 0]) {
            Ok(n) => user::write_u32(hdr + 56, n as u32)?,
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
        sent += 1;
    }
    Ok(sent)
}

/// `recvmmsg(fd, msgvec, vlen, flags, timeout)`: one `recvmsg` per message; after the first,
/// the rest do not wait (as with `MSG_WAITFORONE`). The timeout is not applied: the first
/// receive waits as the socket's mode says.
pub fn sys_recvmmsg(a: &Args) -> Result<u64> {
    const MSG_DONTWAIT: u64 = 0x40;
    const MSG_WAITFORONE: u64 = 0x10000;
    use super::time::{deadline_after, read_timespec, time_left, write_timespec};
    // As Linux: the timeout is checked after each message, and what is left written back.
    let deadline = match a[4] {
        0 => None,
        t => Some(deadline_after(read_timespec(t)?)?),
    };
    let count = (a[2] & 0xffff_ffff).min(MMSG_MAX);
    let flags = a[3] & 0xffff_ffff & !MSG_WAITFORONE;
    let mut got = 0;
    while got < count {
        let hdr = a[1] + got * MMSGHDR_SIZE;
        let these = if got > 0 && a[3] & MSG_WAITFORONE != 0 {
            flags | MSG_DONTWAIT
        } else {
            flags
        };
        match sys_recvmsg(&[a[0], hdr, these, 0, 0, 0]) {
            Ok(n) => user::write_u32(hdr + 56, n as u32)?,
            Err(e) if got == 0 => return Err(e),
            Err(_) => break,
        }
        got += 1;
        if let Some(deadline) = deadline {
            let left = time_left(deadline)?;
            if left.sec == 0 && left.nsec == 0 {
                break;
            }
        }
    }
    if let Some(deadline) = deadline {
        write_timespec(a[4], time_left(deadline)?)?;
    }
    Ok(got)
}
