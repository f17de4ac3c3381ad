//! A test implementation of the host ABI: the library OS's logic (descriptor tables, offsets,
//! pipes, error numbers, its checks of program pointers) run in unit tests without a kernel
//! beneath it, with the [`Kernel`] value built by [`Kernel::fresh`] instead of [`boot`].
//!
//! The host here keeps an in-memory file system under one root directory (handle
//! [`ROOT`]), pipes as byte queues, and program memory as the test process's own memory
//! (`vm_copy` is a copy; addresses below 64 KiB fault, as the null page does). Every other
//! call is `ENOSYS`, as a Linux host's unimplemented call would be.
//!
//! [`boot`]: crate::kernel::boot

use crate::fd::{FdTable, HostHandle};
use crate::kernel::Kernel;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use picobox_abi::boot::{BootInfo, BootMount, Network};
use picobox_abi::*;
use std::sync::Mutex;

/// The root directory's handle.
pub const ROOT: Handle = Handle(100);

enum Object {
    File {
        path: Vec<u8>,
        pos: u64,
        append: bool,
    },
    Dir,
    PipeRead(u32),
    PipeWrite(u32),
}

#[derive(Default)]
struct State {
    files: BTreeMap<Vec<u8>, Vec<u8>>,
    objects: BTreeMap<u32, Object>,
    pipes: BTreeMap<u32, (VecDeque<u8>, usize)>,
    next: u32,
    log: Vec<String>,
}

/// The test host.
pub struct TestHost {
    state: Mutex<Option<State>>,
}

/// The one test host of the test process (the library OS takes its host once).
pub static HOST: TestHost = TestHost {
    state: Mutex::new(None),
};

/// Serialises the tests that use the library OS's one state.
static SERIAL: Mutex<()> = Mutex::new(());

impl TestHost {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(guard.get_or_insert_with(State::default))
    }

    fn new_handle(s: &mut State, o: Object) -> Handle {
        s.next = s.next.max(200) + 1;
        s.objects.insert(s.next, o);
        Handle(s.next)
    }

    /// A file of the root directory's, as the test host holds it.
    pub fn file(&self, name: &[u8]) -> Option<Vec<u8>> {
        self.with(|s| s.files.get(name).cloned())
    }

    /// Handles open now (besides the root).
    pub fn open_handles(&self) -> usize {
        self.with(|s| s.objects.len())
    }
}

fn attr(kind: FileKind, size: u64, ino: u64) -> FileAttr {
    FileAttr {
        kind,
        perm: if kind == FileKind::Directory {
            0o755
        } else {
            0o644
        },
        size,
        blocks: size.div_ceil(512),
        block_size: 4096,
        nlink: 1,
        uid: 1000,
        gid: 1000,
        dev: 7,
        ino,
        rdev: 0,
        atime: Timespec::default(),
        mtime: Timespec::default(),
        ctime: Timespec::default(),
    }
}

fn relative(path: &[u8]) -> Vec<u8> {
    let p = path.strip_prefix(b"./").unwrap_or(path);
    if p == b"." {
        Vec::new()
    } else {
        p.to_vec()
    }
}

/// Runs `f` with the library OS booted on the test host with a fresh state: an empty root
/// directory mounted at `/`, writable; no program; descriptors 0-2 closed.
pub fn with_libos(f: impl FnOnce()) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    *HOST.state.lock().unwrap_or_else(|e| e.into_inner()) = Some(State::default());
    crate::kernel::set_host_for_tests(&HOST);
    let info = BootInfo {
        argv: Vec::new(),
        envp: Vec::new(),
        cwd: b"/".to_vec(),
        mounts: alloc::vec![BootMount {
            guest_path: b"/".to_vec(),
            root: ROOT,
            entry: None,
            writable: true,
            is_mount: true,
        }],
        uid: 1000,
        gid: 1000,
        hostname: b"test".to_vec(),
        kernel_release: b"6.18.0".to_vec(),
        trace: false,
        network: Network::None,
        max_open_files: 64,
        allow_bind: Vec::new(),
        allow_connect: Vec::new(),
        socket_root: None,
    };
    let vfs = crate::vfs::Vfs::new(&info.mounts).expect("the test mounts");
    let cwd = crate::path::normalize(b"/").expect("the root");
    let program = Arc::new(HostHandle(ROOT));
    let kernel = Kernel::fresh(&info, vfs, cwd, FdTable::new(64), program);
    crate::kernel::install_for_tests(Some(kernel));
    f();
    crate::kernel::install_for_tests(None);
}

/// Makes system call `nr` with `args` as the program would; returns `rax` as Linux returns
/// it (a negative errno on failure).
pub fn call(nr: u64, args: [u64; 6]) -> i64 {
    use picobox_abi::reg;
    let mut ctx = CpuContext {
        regs: [0; 18],
        fpstate: 0,
        fpstate_len: 0,
    };
    let order = [reg::RDI, reg::RSI, reg::RDX, reg::R10, reg::R8, reg::R9];
    for (r, v) in order.iter().zip(args) {
        ctx.regs[*r] = v;
    }
    ctx.regs[reg::RAX] = nr;
    crate::kernel::syscall(nr, &mut ctx);
    ctx.regs[reg::RAX] as i64
}

impl Host for TestHost {
    #[allow(unsafe_code)]
    fn vm_copy(&self, dst: usize, src: usize, len: usize) -> Result<()> {
        if dst < 0x10000 || src < 0x10000 {
            return Err(Errno::EFAULT);
        }
        // SAFETY: the test passes buffers of its own as program memory; both ranges are
        // `len` bytes of live memory of this process that do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(src as *const u8, dst as *mut u8, len) };
        Ok(())
    }

    fn stream_open(
        &self,
        dir: Handle,
        path: &[u8],
        flags: OpenFlags,
        _mode: u32,
    ) -> Result<Handle> {
        if dir != ROOT {
            return Err(Errno::ENOTDIR);
        }
        let path = relative(path);
        self.with(|s| {
            if path.is_empty() {
                return Ok(Self::new_handle(s, Object::Dir));
            }
            let f = flags.0;
            match s.files.get_mut(&path) {
                Some(_) if f & OpenFlags::CREATE != 0 && f & OpenFlags::EXCLUSIVE != 0 => {
                    return Err(Errno::EEXIST)
                }
                Some(data) if f & OpenFlags::TRUNCATE != 0 => data.clear(),
                Some(_) => {}
                None if f & OpenFlags::CREATE != 0 => {
                    s.files.insert(path.clone(), Vec::new());
                }
                None => return Err(Errno::ENOENT),
            }
            let append = f & OpenFlags::APPEND != 0;
            Ok(Self::new_handle(
                s,
                Object::File {
                    path,
                    pos: 0,
                    append,
                },
            ))
        })
    }

    fn stream_read(&self, handle: Handle, buf: IoBuf, offset: Option<u64>) -> Result<usize> {
        let mut out = alloc::vec![0u8; buf.len];
        let n = self.with(|s| match s.objects.get_mut(&handle.0) {
            Some(Object::File { path, pos, .. }) => {
                let data = &s.files[path.as_slice()];
                let at = offset.unwrap_or(*pos) as usize;
                let n = data.len().saturating_sub(at).min(out.len());
                out[..n].copy_from_slice(&data[at.min(data.len())..at.min(data.len()) + n]);
                if offset.is_none() {
                    *pos += n as u64;
                }
                Ok(n)
            }
            Some(Object::PipeRead(id)) => {
                let (queue, writers) = s.pipes.get_mut(id).ok_or(Errno::EBADF)?;
                if queue.is_empty() {
                    return if *writers == 0 {
                        Ok(0)
                    } else {
                        Err(Errno::EAGAIN)
                    };
                }
                let n = queue.len().min(out.len());
                for (i, b) in queue.drain(..n).enumerate() {
                    out[i] = b;
                }
                Ok(n)
            }
            Some(Object::Dir) => Err(Errno::EISDIR),
            Some(Object::PipeWrite(_)) | None => Err(Errno::EBADF),
        })?;
        self.vm_copy(buf.addr, out.as_ptr() as usize, n)?;
        Ok(n)
    }

    fn stream_write(&self, handle: Handle, buf: IoBuf, offset: Option<u64>) -> Result<usize> {
        let mut bytes = alloc::vec![0u8; buf.len];
        if buf.len > 0 {
            self.vm_copy(bytes.as_mut_ptr() as usize, buf.addr, buf.len)?;
        }
        self.with(|s| match s.objects.get_mut(&handle.0) {
            Some(Object::File { path, pos, append }) => {
                let data = s.files.get_mut(path.as_slice()).ok_or(Errno::EBADF)?;
                let at = if *append {
                    data.len()
                } else {
                    offset.unwrap_or(*pos) as usize
                };
                if data.len() < at + bytes.len() {
                    data.resize(at + bytes.len(), 0);
                }
                data[at..at + bytes.len()].copy_from_slice(&bytes);
                if offset.is_none() {
                    *pos = (at + bytes.len()) as u64;
                }
                Ok(bytes.len())
            }
            Some(Object::PipeWrite(id)) => {
                let (queue, _) = s.pipes.get_mut(id).ok_or(Errno::EBADF)?;
                queue.extend(bytes.iter().copied());
                Ok(bytes.len())
            }
            Some(Object::Dir) => Err(Errno::EISDIR),
            Some(Object::PipeRead(_)) | None => Err(Errno::EBADF),
        })
    }

    fn stream_seek(&self, handle: Handle, offset: i64, whence: Whence) -> Result<u64> {
        self.with(|s| match s.objects.get_mut(&handle.0) {
            Some(Object::File { path, pos, .. }) => {
                let size = s.files[path.as_slice()].len() as i64;
                let base = match whence {
                    Whence::Start => 0,
                    Whence::Current => *pos as i64,
                    Whence::End => size,
                    _ => return Err(Errno::EINVAL),
                };
                let to = base
                    .checked_add(offset)
                    .filter(|t| *t >= 0)
                    .ok_or(Errno::EINVAL)?;
                *pos = to as u64;
                Ok(*pos)
            }
            Some(_) => Err(Errno::ESPIPE),
            None => Err(Errno::EBADF),
        })
    }

    fn stream_attr(&self, handle: Handle) -> Result<FileAttr> {
        if handle == ROOT {
            return Ok(attr(FileKind::Directory, 0, 1));
        }
        self.with(|s| match s.objects.get(&handle.0) {
            Some(Object::File { path, .. }) => Ok(attr(
                FileKind::Regular,
                s.files[path.as_slice()].len() as u64,
                u64::from(handle.0),
            )),
            Some(Object::Dir) => Ok(attr(FileKind::Directory, 0, 1)),
            Some(_) => Ok(attr(FileKind::Fifo, 0, u64::from(handle.0))),
            None => Err(Errno::EBADF),
        })
    }

    fn stream_attr_at(&self, dir: Handle, path: &[u8], _follow: bool) -> Result<FileAttr> {
        if dir != ROOT {
            return Err(Errno::ENOTDIR);
        }
        let path = relative(path);
        if path.is_empty() {
            return Ok(attr(FileKind::Directory, 0, 1));
        }
        self.with(|s| {
            let index = s
                .files
                .keys()
                .position(|k| *k == path)
                .ok_or(Errno::ENOENT)?;
            Ok(attr(
                FileKind::Regular,
                s.files[&path].len() as u64,
                2 + index as u64,
            ))
        })
    }

    fn object_close(&self, handle: Handle) -> Result<()> {
        self.with(|s| match s.objects.remove(&handle.0) {
            Some(Object::PipeWrite(id)) => {
                if let Some((_, writers)) = s.pipes.get_mut(&id) {
                    *writers -= 1;
                }
                Ok(())
            }
            Some(_) => Ok(()),
            None => Err(Errno::EBADF),
        })
    }

    fn stream_pipe(&self, _nonblocking: bool, _packets: bool) -> Result<(Handle, Handle)> {
        self.with(|s| {
            let id = s.next.max(200) + 1000;
            s.pipes.insert(id, (VecDeque::new(), 1));
            let r = Self::new_handle(s, Object::PipeRead(id));
            let w = Self::new_handle(s, Object::PipeWrite(id));
            Ok((r, w))
        })
    }

    fn process_id(&self, whose: Whose) -> u32 {
        match whose {
            Whose::Parent => 1,
            Whose::Caller | Whose::Thread => 2,
        }
    }

    fn time_query(&self, _clock: Clock) -> Result<Timespec> {
        Ok(Timespec {
            sec: 1_000,
            nsec: 0,
        })
    }

    fn random_read(&self, buf: &mut [u8]) -> Result<()> {
        buf.fill(4);
        Ok(())
    }

    fn debug_log(&self, message: &str) {
        self.with(|s| s.log.push(String::from(message)));
    }

    fn host_info(&self) -> HostInfo {
        HostInfo {
            page_size: 4096,
            cpus: 1,
            memory_limit: 1 << 30,
            hwcap: 0,
            hwcap2: 0,
            vdso: None,
            min_signal_stack: 2048,
            gate: 0,
            runtime_ranges: [(0, 0); 3],
            box_shared: (0, 0),
        }
    }

    fn signals_seen(&self) -> u64 {
        0
    }

    fn signals_wait(&self, _seen: u64, _timeout: Option<Timespec>) -> bool {
        false
    }

    fn thread_yield(&self) {}

    fn thread_exit(&self, code: u8) -> ! {
        panic!("the library OS ended the thread ({code})")
    }

    fn process_exit(&self, end: ProcessEnd) -> ! {
        panic!("the library OS ended the process ({end:?})")
    }

    // Everything else: not offered by this host.

    fn vm_alloc(
        &self,
        _place: Placement,
        _len: usize,
        _prot: Prot,
        _shared: bool,
    ) -> Result<usize> {
        Err(Errno::ENOSYS)
    }

    fn vm_free(&self, _addr: usize, _len: usize) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn vm_protect(&self, _addr: usize, _len: usize, _prot: Prot) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn vm_map_stream(
        &self,
        _handle: Handle,
        _offset: u64,
        _place: Placement,
        _len: usize,
        _prot: Prot,
        _shared: bool,
    ) -> Result<usize> {
        Err(Errno::ENOSYS)
    }

    fn vm_remap(
        &self,
        _addr: usize,
        _old_len: usize,
        _new_len: usize,
        _how: Remap,
    ) -> Result<usize> {
        Err(Errno::ENOSYS)
    }

    fn vm_discard(&self, _addr: usize, _len: usize) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn vm_pages(&self, _addr: usize, _len: usize, _op: PagesOp<'_>) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn vm_barrier(&self, _global: bool) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn thread_create(
        &self,
        _ctx: &CpuContext,
        _tls: usize,
        _parent_tid: Option<usize>,
    ) -> Result<u32> {
        Err(Errno::ENOSYS)
    }

    fn thread_signal(
        &self,
        _pid: u32,
        _tid: u32,
        _signal: u32,
        _info: Option<&[u8; 128]>,
    ) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn thread_set_robust_list(&self, _head: usize, _len: usize) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn thread_set_tls(&self, _base: Option<usize>) -> Result<usize> {
        Err(Errno::ENOSYS)
    }

    fn thread_cpus(&self, _tid: u32, _op: CpusOp<'_>) -> Result<u64> {
        Err(Errno::ENOSYS)
    }

    fn futex(
        &self,
        _addr: usize,
        _op: u32,
        _val: u32,
        _timeout_or_val2: usize,
        _addr2: usize,
        _val3: u32,
    ) -> Result<u64> {
        Err(Errno::ENOSYS)
    }

    fn streams_wait(
        &self,
        _entries: &mut [PollEntry],
        _timeout: Option<Timespec>,
    ) -> Result<usize> {
        Err(Errno::ENOSYS)
    }

    fn stream_set_length(&self, _handle: Handle, _len: u64) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn stream_flush(&self, _handle: Handle, _data_only: bool) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn stream_read_dir(
        &self,
        _handle: Handle,
        _out: &mut Vec<DirEntry>,
        _max: usize,
    ) -> Result<usize> {
        Err(Errno::ENOSYS)
    }

    fn stream_read_link(&self, _dir: Handle, _path: &[u8], _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::ENOSYS)
    }

    fn stream_make_dir(&self, _dir: Handle, _path: &[u8], _mode: u32) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn stream_delete(&self, _dir: Handle, _path: &[u8], _is_dir: bool) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn stream_rename(
        &self,
        _from_dir: Handle,
        _from: &[u8],
        _to_dir: Handle,
        _to: &[u8],
        _flags: u32,
    ) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn stream_make_link(&self, _dir: Handle, _path: &[u8], _target: LinkTarget<'_>) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn stream_set_times(&self, _handle: Handle, _change: TimesChange) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn stream_set_mode(&self, _handle: Handle, _mode: u32) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn stream_access(&self, _dir: Handle, _path: &[u8], _mode: u32) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn stream_query(
        &self,
        _handle: Handle,
        _query: StreamQuery<'_>,
        _out: &mut [u8],
    ) -> Result<usize> {
        Err(Errno::ENOSYS)
    }

    fn stream_set(&self, _handle: Handle, _setting: StreamSetting<'_>) -> Result<u64> {
        Err(Errno::ENOSYS)
    }

    fn stream_lock(
        &self,
        _handle: Handle,
        _request: LockRequest,
        _range: &mut RangeLock,
    ) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn stream_create(&self, _kind: NewStream, _nonblocking: bool) -> Result<Handle> {
        Err(Errno::ENOSYS)
    }

    fn stream_make_node(
        &self,
        _dir: Handle,
        _path: &[u8],
        _kind: FileKind,
        _mode: u32,
    ) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn stream_tee(
        &self,
        _from: Handle,
        _to: Handle,
        _len: usize,
        _nonblocking: bool,
    ) -> Result<usize> {
        Err(Errno::ENOSYS)
    }

    fn socket_create(&self, _domain: u32, _kind: u32, _protocol: u32) -> Result<Handle> {
        Err(Errno::ENOSYS)
    }

    fn socket_pair(&self, _kind: u32) -> Result<(Handle, Handle)> {
        Err(Errno::ENOSYS)
    }

    fn socket_bind(&self, _handle: Handle, _addr: &[u8]) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn socket_listen(&self, _handle: Handle, _backlog: u32) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn socket_accept(
        &self,
        _handle: Handle,
        _peer: &mut [u8],
        _nonblocking: bool,
    ) -> Result<(Handle, usize)> {
        Err(Errno::ENOSYS)
    }

    fn socket_connect(&self, _handle: Handle, _addr: &[u8]) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn socket_send(
        &self,
        _handle: Handle,
        _buf: IoBuf,
        _addr: Option<&[u8]>,
        _flags: u32,
        _handles: &[Handle],
    ) -> Result<usize> {
        Err(Errno::ENOSYS)
    }

    fn socket_recv(
        &self,
        _handle: Handle,
        _buf: IoBuf,
        _from: &mut [u8],
        _flags: u32,
        _handles: &mut Vec<Handle>,
    ) -> Result<(usize, usize, u32)> {
        Err(Errno::ENOSYS)
    }

    fn socket_shutdown(&self, _handle: Handle, _how: u32) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn socket_name(&self, _handle: Handle, _peer: bool, _out: &mut [u8]) -> Result<usize> {
        Err(Errno::ENOSYS)
    }

    fn socket_option(
        &self,
        _handle: Handle,
        _level: u32,
        _name: u32,
        _value: &mut [u8],
        _set: bool,
    ) -> Result<usize> {
        Err(Errno::ENOSYS)
    }

    fn process_fork(&self) -> Result<Option<u32>> {
        Err(Errno::ENOSYS)
    }

    fn process_wait(
        &self,
        _pid: i32,
        _options: u32,
        _rusage: Option<&mut [u8; 144]>,
    ) -> Result<(u32, i32)> {
        Err(Errno::ENOSYS)
    }

    fn process_usage(&self, _of: UsageOf) -> Result<[u8; 144]> {
        Err(Errno::ENOSYS)
    }

    fn process_signal(&self, _pid: i32, _signal: u32, _info: Option<&[u8; 128]>) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn process_handle(&self, _pid: u32, _thread: bool) -> Result<Handle> {
        Err(Errno::ENOSYS)
    }

    fn process_memory(
        &self,
        _pid: u32,
        _remote: usize,
        _local: IoBuf,
        _write: bool,
    ) -> Result<usize> {
        Err(Errno::ENOSYS)
    }

    fn process_group(&self, _op: GroupOp) -> Result<u32> {
        Err(Errno::ENOSYS)
    }

    fn timer_create(&self, _clock: Clock, _notify: TimerNotify) -> Result<u32> {
        Err(Errno::ENOSYS)
    }

    fn timer_set(&self, _timer: Timer, _new: Option<TimerSetting>) -> Result<TimerSetting> {
        Err(Errno::ENOSYS)
    }

    fn timer_delete(&self, _id: u32) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn ipc(&self, _op: IpcOp<'_>) -> Result<u64> {
        Err(Errno::ENOSYS)
    }

    fn time_sleep(&self, _clock: Clock, _duration: Timespec, _absolute: bool) -> Result<()> {
        Err(Errno::ENOSYS)
    }
}

#[cfg(test)]
mod tests {
    use super::{call, with_libos, HOST};
    use std::vec;
    use std::vec::Vec;

    const READ: u64 = 0;
    const WRITE: u64 = 1;
    const CLOSE: u64 = 3;
    const LSEEK: u64 = 8;
    const DUP: u64 = 32;
    const FCNTL: u64 = 72;
    const OPENAT: u64 = 257;
    const PIPE2: u64 = 293;
    const AT_FDCWD: u64 = -100i64 as u64;
    const O_RDWR_CREAT: u64 = 0o2 | 0o100;
    const EBADF: i64 = -9;
    const EFAULT: i64 = -14;
    const EINVAL: i64 = -22;
    const ENOENT: i64 = -2;

    fn open(path: &str, flags: u64) -> i64 {
        let c = std::ffi::CString::new(path).unwrap();
        call(OPENAT, [AT_FDCWD, c.as_ptr() as u64, flags, 0o644, 0, 0])
    }

    fn write(fd: i64, bytes: &[u8]) -> i64 {
        call(
            WRITE,
            [
                fd as u64,
                bytes.as_ptr() as u64,
                bytes.len() as u64,
                0,
                0,
                0,
            ],
        )
    }

    fn read(fd: i64, len: usize) -> (i64, Vec<u8>) {
        let mut buf = vec![0u8; len];
        let n = call(
            READ,
            [fd as u64, buf.as_mut_ptr() as u64, len as u64, 0, 0, 0],
        );
        buf.truncate(n.max(0) as usize);
        (n, buf)
    }

    #[test]
    fn a_file_written_sought_and_read_back_through_the_library_os() {
        with_libos(|| {
            assert_eq!(open("/missing", 0), ENOENT);
            let fd = open("/notes", O_RDWR_CREAT);
            assert_eq!(fd, 0, "the lowest free descriptor");
            assert_eq!(write(fd, b"hello world"), 11);
            assert_eq!(call(LSEEK, [fd as u64, 6, 0, 0, 0, 0]), 6);
            assert_eq!(read(fd, 5), (5, b"world".to_vec()));
            assert_eq!(read(fd, 5).0, 0, "end of file");
            assert_eq!(HOST.file(b"notes").as_deref(), Some(&b"hello world"[..]));
            assert_eq!(call(CLOSE, [fd as u64, 0, 0, 0, 0, 0]), 0);
            assert_eq!(call(CLOSE, [fd as u64, 0, 0, 0, 0, 0]), EBADF);
            assert_eq!(HOST.open_handles(), 0, "the host handle was closed with it");
        });
    }

    #[test]
    fn duplicates_share_one_offset_and_close_on_exec_is_per_descriptor() {
        with_libos(|| {
            let fd = open("/shared", O_RDWR_CREAT);
            let copy = call(DUP, [fd as u64, 0, 0, 0, 0, 0]);
            assert_eq!(copy, 1);
            assert_eq!(write(fd, b"abc"), 3);
            assert_eq!(
                call(LSEEK, [copy as u64, 0, 1, 0, 0, 0]),
                3,
                "one description"
            );
            // F_DUPFD_CLOEXEC at or above 10, then F_GETFD.
            let high = call(FCNTL, [fd as u64, 1030, 10, 0, 0, 0]);
            assert_eq!(high, 10);
            assert_eq!(call(FCNTL, [high as u64, 1, 0, 0, 0, 0]), 1);
            assert_eq!(call(FCNTL, [copy as u64, 1, 0, 0, 0, 0]), 0);
            for d in [fd, copy, high] {
                assert_eq!(call(CLOSE, [d as u64, 0, 0, 0, 0, 0]), 0);
            }
            assert_eq!(HOST.open_handles(), 0, "closed with its last descriptor");
        });
    }

    #[test]
    fn a_pipe_carries_bytes_then_ends_when_its_writer_closes() {
        with_libos(|| {
            let mut fds = [0i32; 2];
            assert_eq!(call(PIPE2, [fds.as_mut_ptr() as u64, 0, 0, 0, 0, 0]), 0);
            let (r, w) = (i64::from(fds[0]), i64::from(fds[1]));
            assert_eq!(write(w, b"xyz"), 3);
            assert_eq!(read(r, 16), (3, b"xyz".to_vec()));
            assert_eq!(call(CLOSE, [w as u64, 0, 0, 0, 0, 0]), 0);
            assert_eq!(read(r, 16).0, 0);
            assert_eq!(write(r, b"x"), EBADF, "the read end is not for writing");
        });
    }

    #[test]
    fn bad_arguments_get_linux_errors_not_a_crash() {
        with_libos(|| {
            let fd = open("/f", O_RDWR_CREAT);
            assert_eq!(call(WRITE, [fd as u64, 0x10, 5, 0, 0, 0]), EFAULT);
            assert_eq!(call(OPENAT, [AT_FDCWD, 0, 0, 0, 0, 0]), EFAULT);
            assert_eq!(call(READ, [99, 0x1_0000_0000, 1, 0, 0, 0]), EBADF);
            assert_eq!(call(LSEEK, [fd as u64, 0, 9, 0, 0, 0]), EINVAL);
            assert_eq!(call(LSEEK, [fd as u64, -1i64 as u64, 0, 0, 0, 0]), EINVAL);
        });
    }
}
