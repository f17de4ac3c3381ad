//! Linux's key retention service (`add_key`, `request_key`, `keyctl`), kept by the library
//! OS.
//!
//! The host's keyrings are never reached: the host user's own keys (and its session's) would
//! be the box's to list and read. Each process holds its keys here instead: keyrings of the
//! `user`, `logon` and `keyring` types, the thread, process, session and user keyrings, the
//! possessor's permissions, revocation, invalidation, timeouts and negative keys, with Linux's
//! errors. `request_key` never calls out to user space: with callout information, what is
//! not found becomes a negative key in the destination keyring, as when `/sbin/request-key`
//! fails.
//!
//! Limits of this model: a forked child gets a copy of its parent's session keyring rather
//! than the same one, the thread keyring is the process's, and a key no keyring links any more
//! is forgotten at the next unlink or clear (Linux collects it a little later).

use super::{int_arg, Args};
use crate::kernel::{host, Kernel};
use crate::user;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use picobox_abi::{Clock, Errno, Result};

const ENOKEY: Errno = Errno(126);
const EKEYEXPIRED: Errno = Errno(127);
const EKEYREVOKED: Errno = Errno(128);
const EDQUOT: Errno = Errno(122);

const KEY_SPEC_THREAD_KEYRING: i32 = -1;
const KEY_SPEC_PROCESS_KEYRING: i32 = -2;
const KEY_SPEC_SESSION_KEYRING: i32 = -3;
const KEY_SPEC_USER_KEYRING: i32 = -4;
const KEY_SPEC_USER_SESSION_KEYRING: i32 = -5;
const KEY_SPEC_GROUP_KEYRING: i32 = -6;
const KEY_SPEC_REQKEY_AUTH_KEY: i32 = -7;
const KEY_SPEC_REQUESTOR_KEYRING: i32 = -8;

/// Permission bits of the possessor (Linux also has user, group and other sets, each a byte
/// lower).
const VIEW: u32 = 0x01;
const READ: u32 = 0x02;
const WRITE: u32 = 0x04;
const SEARCH: u32 = 0x08;
const LINK: u32 = 0x10;
const SETATTR: u32 = 0x20;
const POS_ALL: u32 = 0x3f00_0000;
const USR_VIEW: u32 = 0x0001_0000;
const USR_READ: u32 = 0x0002_0000;
/// Every valid permission bit.
const ALL_PERMS: u32 = 0x3f3f_3f3f;

/// Most keys and payload bytes one user may hold (Linux's `maxkeys`, `maxbytes`).
const MAX_KEYS: usize = 200;
const MAX_BYTES: usize = 20_000;
/// How long a negative key (a failed request) stays, in nanoseconds.
const NEGATIVE_TIMEOUT: u64 = 60_000_000_000;

/// The key types the library OS has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyType {
    User,
    Logon,
    Keyring,
}

impl KeyType {
    fn named(name: &[u8]) -> Result<KeyType> {
        match name {
            b"user" => Ok(KeyType::User),
            b"logon" => Ok(KeyType::Logon),
            b"keyring" => Ok(KeyType::Keyring),
            _ => Err(Errno::ENODEV),
        }
    }

    fn name(self) -> &'static str {
        match self {
            KeyType::User => "user",
            KeyType::Logon => "logon",
            KeyType::Keyring => "keyring",
        }
    }

    /// Checks a payload as the type's `preparse` does.
    fn check(self, description: &[u8], payload: &[u8]) -> Result<()> {
        match self {
            KeyType::Keyring if !payload.is_empty() => Err(Errno::EINVAL),
            KeyType::Keyring => Ok(()),
            _ if payload.is_empty() || payload.len() > 32767 => Err(Errno::EINVAL),
            KeyType::Logon
                if description.first() == Some(&b':') || !description.contains(&b':') =>
            {
                Err(Errno::EINVAL)
            }
            _ => Ok(()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Positive,
    /// A failed request: finding it fails with this error.
    Negative(Errno),
    Revoked,
    Invalidated,
}

#[derive(Clone, Debug)]
struct Key {
    kind: KeyType,
    description: Vec<u8>,
    payload: Vec<u8>,
    /// For a keyring: the keys linked into it.
    links: Vec<i32>,
    perm: u32,
    uid: u32,
    gid: u32,
    state: State,
    /// Monotonic time after which the key has expired, in nanoseconds.
    expiry: Option<u64>,
}

/// A process's keys and keyrings.
#[derive(Clone, Debug, Default)]
pub struct Keys {
    keys: BTreeMap<i32, Key>,
    next_serial: i32,
    thread: Option<i32>,
    process: Option<i32>,
    session: Option<i32>,
    user: Option<i32>,
    user_session: Option<i32>,
    /// `KEYCTL_SET_REQKEY_KEYRING`'s choice.
    request_default: i32,
    /// The caller's user and group, for permission checks.
    identity: (u32, u32),
}

fn now() -> u64 {
    host()
        .time_query(Clock::Monotonic)
        .map(|t| t.sec as u64 * 1_000_000_000 + t.nsec as u64)
        .unwrap_or(0)
}

impl Keys {
    /// In a forked child: the parent's thread and process keyrings are not the child's.
    pub fn after_fork(&mut self) {
        self.thread = None;
        self.process = None;
    }

    fn new_serial(&mut self) -> i32 {
        if self.next_serial < 3 {
            let mut bytes = [0u8; 4];
            let _ = host().random_read(&mut bytes);
            self.next_serial = (u32::from_ne_bytes(bytes) % 0x3fff_ffff) as i32 + 3;
        }
        while self.keys.contains_key(&self.next_serial) {
            self.next_serial = self.next_serial.wrapping_add(1).max(3);
        }
        let serial = self.next_serial;
        self.next_serial = self.next_serial.wrapping_add(1).max(3);
        serial
    }

    fn create(
        &mut self,
        k: &KeyOwner,
        kind: KeyType,
        description: &[u8],
        payload: &[u8],
    ) -> Result<i32> {
        let bytes: usize = self
            .keys
            .values()
            .map(|k| k.payload.len() + k.description.len())
            .sum();
        if !k.root && (self.keys.len() >= MAX_KEYS || bytes + payload.len() > MAX_BYTES) {
            return Err(EDQUOT);
        }
        let serial = self.new_serial();
        let perm = POS_ALL | USR_VIEW;
        self.keys.insert(
            serial,
            Key {
                kind,
                description: description.to_vec(),
                payload: payload.to_vec(),
                links: Vec::new(),
                perm,
                uid: k.uid,
                gid: k.gid,
                state: State::Positive,
                expiry: None,
            },
        );
        Ok(serial)
    }

    fn keyring(&mut self, owner: &KeyOwner, name: &[u8]) -> i32 {
        self.create(owner, KeyType::Keyring, name, &[]).unwrap_or(0)
    }

    /// The serial a special id names, created when `create` (the user keyrings always are).
    fn special(&mut self, owner: &KeyOwner, id: i32, create: bool) -> Result<i32> {
        let uid = owner.uid;
        let made = |keys: &mut Keys, slot: Option<i32>, name: &[u8], create: bool| match slot {
            Some(s) if keys.keys.contains_key(&s) => Ok(s),
            _ if create => Ok(keys.keyring(owner, name)),
            _ => Err(ENOKEY),
        };
        match id {
            KEY_SPEC_THREAD_KEYRING => {
                let s = made(self, self.thread, b"_tid", create)?;
                self.thread = Some(s);
                Ok(s)
            }
            KEY_SPEC_PROCESS_KEYRING => {
                let s = made(self, self.process, b"_pid", create)?;
                self.process = Some(s);
                Ok(s)
            }
            KEY_SPEC_USER_KEYRING => {
                let name = alloc::format!("_uid.{uid}");
                let s = made(self, self.user, name.as_bytes(), true)?;
                self.user = Some(s);
                Ok(s)
            }
            KEY_SPEC_USER_SESSION_KEYRING => {
                let name = alloc::format!("_uid_ses.{uid}");
                let s = made(self, self.user_session, name.as_bytes(), true)?;
                self.user_session = Some(s);
                Ok(s)
            }
            // Without a session keyring of its own, a process uses the user session keyring.
            KEY_SPEC_SESSION_KEYRING => match self.session {
                Some(s) if self.keys.contains_key(&s) => Ok(s),
                _ => self.special(owner, KEY_SPEC_USER_SESSION_KEYRING, true),
            },
            KEY_SPEC_GROUP_KEYRING => Err(Errno::EINVAL),
            KEY_SPEC_REQKEY_AUTH_KEY | KEY_SPEC_REQUESTOR_KEYRING => Err(ENOKEY),
            id if id > 0 => self.keys.contains_key(&id).then_some(id).ok_or(ENOKEY),
            _ => Err(Errno::EINVAL),
        }
    }

    /// A usable key: live, not expired, not revoked.
    fn live(&self, serial: i32) -> Result<&Key> {
        let key = self.keys.get(&serial).ok_or(ENOKEY)?;
        match key.state {
            State::Revoked => Err(EKEYREVOKED),
            State::Invalidated => Err(ENOKEY),
            State::Negative(e) => Err(e),
            State::Positive if key.expiry.is_some_and(|t| t <= now()) => Err(EKEYEXPIRED),
            State::Positive => Ok(key),
        }
    }

    /// Checks permission `want` as Linux does: the user's, group's or others' bits, and the
    /// possessor's too for a key the process's thread, process or session keyring reaches.
    fn check_perm(&self, serial: i32, want: u32) -> Result<()> {
        let key = self.keys.get(&serial).ok_or(ENOKEY)?;
        let (uid, gid) = self.identity;
        let mut have = if key.uid == uid {
            key.perm >> 16
        } else if key.gid == gid {
            key.perm >> 8
        } else {
            key.perm
        } & 0x3f;
        if self.possessed(serial) {
            have |= key.perm >> 24;
        }
        if have & want != want {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    fn possessed(&self, serial: i32) -> bool {
        [
            self.thread,
            self.process,
            self.session.or(self.user_session),
        ]
        .into_iter()
        .flatten()
        .any(|root| self.reaches(root, serial))
    }

    /// Links `serial` into keyring `ring`, replacing a key of the same type and description.
    fn link(&mut self, ring: i32, serial: i32) -> Result<()> {
        let (kind, description) = {
            let key = self.keys.get(&serial).ok_or(ENOKEY)?;
            (key.kind, key.description.clone())
        };
        if self.live(ring)?.kind != KeyType::Keyring {
            return Err(Errno::ENOTDIR);
        }
        self.check_perm(ring, WRITE)?;
        if kind == KeyType::Keyring && (ring == serial || self.reaches(serial, ring)) {
            return Err(Errno(35)); // EDEADLK
        }
        let replaced: Vec<i32> = self.keys[&ring]
            .links
            .iter()
            .copied()
            .filter(|l| {
                self.keys
                    .get(l)
                    .is_some_and(|k| k.kind == kind && k.description == description)
            })
            .collect();
        if let Some(r) = self.keys.get_mut(&ring) {
            r.links.retain(|l| !replaced.contains(l));
            r.links.push(serial);
        }
        Ok(())
    }

    /// Whether keyring `from` reaches `to` through its links.
    fn reaches(&self, from: i32, to: i32) -> bool {
        let mut stack = alloc::vec![from];
        let mut seen = Vec::new();
        while let Some(at) = stack.pop() {
            if at == to {
                return true;
            }
            if seen.contains(&at) {
                continue;
            }
            seen.push(at);
            if let Some(k) = self.keys.get(&at) {
                stack.extend(k.links.iter().copied());
            }
        }
        false
    }

    /// Searches keyring `ring` and the keyrings linked in it for a key of `kind` named
    /// `description`: a usable key, else the error of the best unusable one (for
    /// `request_key`, `skip_unusable`: only a negative key's).
    fn search(
        &self,
        ring: i32,
        kind: KeyType,
        description: &[u8],
        skip_unusable: bool,
    ) -> Result<i32> {
        let mut stack = alloc::vec![ring];
        let mut seen = Vec::new();
        let mut failure = ENOKEY;
        while let Some(at) = stack.pop() {
            if seen.contains(&at) {
                continue;
            }
            seen.push(at);
            let Some(r) = self.keys.get(&at) else {
                continue;
            };
            if (r.perm >> 24) & SEARCH == 0 {
                continue;
            }
            for l in &r.links {
                let Some(key) = self.keys.get(l) else {
                    continue;
                };
                if key.kind == kind && key.description == description {
                    let negative = matches!(key.state, State::Negative(_));
                    match self.live(*l) {
                        Ok(_) => return Ok(*l),
                        Err(e) if failure == ENOKEY && (negative || !skip_unusable) => failure = e,
                        Err(_) => {}
                    }
                }
                if key.kind == KeyType::Keyring && self.live(*l).is_ok() {
                    stack.push(*l);
                }
            }
        }
        Err(failure)
    }

    /// Forgets keys no keyring of the process links any more.
    fn collect(&mut self) {
        let roots: Vec<i32> = [
            self.thread,
            self.process,
            self.session,
            self.user,
            self.user_session,
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut live = Vec::new();
        let mut stack = roots;
        while let Some(at) = stack.pop() {
            if live.contains(&at) {
                continue;
            }
            live.push(at);
            if let Some(k) = self.keys.get(&at) {
                stack.extend(k.links.iter().copied());
            }
        }
        self.keys.retain(|s, _| live.contains(s));
    }
}

/// Who creates keys.
struct KeyOwner {
    uid: u32,
    gid: u32,
    root: bool,
}

fn owner(k: &mut Kernel) -> KeyOwner {
    k.keys.identity = (k.creds.uid[3], k.creds.gid[3]);
    KeyOwner {
        uid: k.creds.uid[1],
        gid: k.creds.gid[1],
        root: k.creds.uid[1] == 0,
    }
}

/// Reads a key type name: `EFAULT`, `EPERM` for the kernel's own types (a leading `.`).
fn read_type(addr: u64) -> Result<Vec<u8>> {
    let name = user::read_cstr(addr, 31).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::EINVAL
        } else {
            e
        }
    })?;
    if name.first() == Some(&b'.') {
        return Err(Errno::EPERM);
    }
    Ok(name)
}

fn read_description(addr: u64) -> Result<Vec<u8>> {
    let d = user::read_cstr(addr, 4095).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::EINVAL
        } else {
            e
        }
    })?;
    if d.is_empty() {
        return Err(Errno::EINVAL);
    }
    Ok(d)
}

fn read_payload(addr: u64, len: u64) -> Result<Vec<u8>> {
    if len > 1024 * 1024 - 1 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(Vec::new());
    }
    user::read_bytes(addr, len as usize)
}

/// `add_key(type, description, payload, plen, keyring)`.
pub fn sys_add_key(k: &mut Kernel, a: &Args) -> Result<u64> {
    let type_name = read_type(a[0])?;
    let description = if a[1] == 0 {
        Vec::new()
    } else {
        read_description(a[1])?
    };
    let payload = read_payload(a[2], a[3])?;
    let who = owner(k);
    let ring = k.keys.special(&who, int_arg(a[4]), true)?;
    k.keys.live(ring)?;
    let kind = KeyType::named(&type_name)?;
    if description.is_empty() && kind != KeyType::Keyring {
        return Err(Errno::EINVAL);
    }
    kind.check(&description, &payload)?;
    if k.keys.keys[&ring].kind != KeyType::Keyring {
        return Err(Errno::ENOTDIR);
    }
    k.keys.check_perm(ring, WRITE)?;
    // A key of the same type and name in that keyring is updated (keyrings have no update:
    // a new one replaces the link).
    if kind != KeyType::Keyring {
        let existing = k.keys.keys[&ring].links.iter().copied().find(|l| {
            k.keys
                .keys
                .get(l)
                .is_some_and(|key| key.kind == kind && key.description == description)
        });
        if let Some(serial) = existing {
            let key = k.keys.keys.get_mut(&serial).ok_or(ENOKEY)?;
            if key.state != State::Revoked {
                key.payload = payload;
                key.state = State::Positive;
                key.expiry = None;
                return Ok(serial as u64);
            }
        }
    }
    let serial = k.keys.create(&who, kind, &description, &payload)?;
    k.keys.link(ring, serial)?;
    Ok(serial as u64)
}

/// `request_key(type, description, callout_info, dest_keyring)`.
pub fn sys_request_key(k: &mut Kernel, a: &Args) -> Result<u64> {
    let type_name = read_type(a[0])?;
    let description = read_description(a[1])?;
    let callout = if a[2] == 0 {
        None
    } else {
        Some(user::read_cstr(a[2], 1024 * 1024)?)
    };
    let who = owner(k);
    // A destination must be usable and writable, before any search.
    let dest = match int_arg(a[3]) {
        0 => None,
        id => {
            let d = k.keys.special(&who, id, true)?;
            k.keys.live(d)?;
            k.keys.check_perm(d, WRITE)?;
            Some(d)
        }
    };
    let kind = KeyType::named(&type_name)?;
    let mut failure = ENOKEY;
    for ring in [
        k.keys.thread,
        k.keys.process,
        Some(k.keys.special(&who, KEY_SPEC_SESSION_KEYRING, true)?),
    ]
    .into_iter()
    .flatten()
    {
        match k.keys.search(ring, kind, &description, true) {
            Ok(serial) => {
                if let Some(d) = dest {
                    k.keys.link(d, serial)?;
                }
                return Ok(serial as u64);
            }
            Err(e) if failure == ENOKEY => failure = e,
            Err(_) => {}
        }
    }
    if failure != ENOKEY || callout.is_none() {
        return Err(failure);
    }
    // Construction: the new key goes to the destination (or the default one), which must be
    // writable; no helper instantiates it, so it becomes negative.
    let dest = match dest {
        Some(d) => d,
        None => default_destination(k, &who)?,
    };
    k.keys.check_perm(dest, WRITE)?;
    let serial = k.keys.create(&who, kind, &description, &[])?;
    if let Some(key) = k.keys.keys.get_mut(&serial) {
        key.state = State::Negative(ENOKEY);
        key.expiry = Some(now() + NEGATIVE_TIMEOUT);
    }
    k.keys.link(dest, serial)?;
    // What a failed helper leaves: /sbin/request-key is not there to run.
    Err(Errno::ENOENT)
}

/// The keyring `KEYCTL_SET_REQKEY_KEYRING` chose (by default the thread's, process's or
/// session's, whichever exists first).
fn default_destination(k: &mut Kernel, who: &KeyOwner) -> Result<i32> {
    let spec = match k.keys.request_default {
        1 => KEY_SPEC_THREAD_KEYRING,
        2 => KEY_SPEC_PROCESS_KEYRING,
        3 => KEY_SPEC_SESSION_KEYRING,
        4 => KEY_SPEC_USER_KEYRING,
        5 => KEY_SPEC_USER_SESSION_KEYRING,
        _ => {
            if let Some(t) = k.keys.thread {
                return Ok(t);
            }
            if let Some(p) = k.keys.process {
                return Ok(p);
            }
            KEY_SPEC_SESSION_KEYRING
        }
    };
    k.keys.special(who, spec, true)
}

/// `keyctl(operation, ...)`.
pub fn sys_keyctl(k: &mut Kernel, a: &Args) -> Result<u64> {
    let who = owner(k);
    let id = int_arg(a[1]);
    // Permission comes before the kind of key (ENOTDIR), as Linux looks keys up.
    if a[0] == 7 {
        let serial = k.keys.special(&who, id, false)?;
        k.keys.check_perm(serial, WRITE)?;
    }
    match a[0] {
        // KEYCTL_GET_KEYRING_ID
        0 => Ok(k.keys.special(&who, id, a[2] != 0)? as u64),
        // KEYCTL_JOIN_SESSION_KEYRING
        1 => {
            let name = if a[1] == 0 {
                None
            } else {
                Some(read_description(a[1])?)
            };
            let found = name.as_ref().and_then(|n| {
                k.keys
                    .keys
                    .iter()
                    .find(|(_, key)| key.kind == KeyType::Keyring && key.description == *n)
                    .map(|(s, _)| *s)
            });
            let serial = match found {
                Some(s) => s,
                None => k.keys.create(
                    &who,
                    KeyType::Keyring,
                    name.as_deref().unwrap_or(b"_ses"),
                    &[],
                )?,
            };
            if let Some(key) = k.keys.keys.get_mut(&serial) {
                key.perm |= USR_READ;
            }
            k.keys.session = Some(serial);
            Ok(serial as u64)
        }
        // KEYCTL_UPDATE
        2 => {
            let payload = read_payload(a[2], a[3])?;
            let serial = k.keys.special(&who, id, false)?;
            let kind = k.keys.live(serial)?.kind;
            if kind == KeyType::Keyring {
                return Err(Errno::EOPNOTSUPP);
            }
            k.keys.check_perm(serial, WRITE)?;
            kind.check(&k.keys.keys[&serial].description.clone(), &payload)?;
            if let Some(key) = k.keys.keys.get_mut(&serial) {
                key.payload = payload;
            }
            Ok(0)
        }
        // KEYCTL_REVOKE
        3 => {
            let serial = k.keys.special(&who, id, false)?;
            k.keys.live(serial)?;
            k.keys
                .check_perm(serial, WRITE)
                .or_else(|_| k.keys.check_perm(serial, SETATTR))?;
            if let Some(key) = k.keys.keys.get_mut(&serial) {
                key.state = State::Revoked;
            }
            Ok(0)
        }
        // KEYCTL_CHOWN
        4 => {
            let serial = k.keys.special(&who, id, false)?;
            k.keys.live(serial)?;
            let (uid, gid) = (int_arg(a[2]), int_arg(a[3]));
            if !who.root && (uid != -1 && uid as u32 != who.uid) {
                return Err(Errno::EACCES);
            }
            if let Some(key) = k.keys.keys.get_mut(&serial) {
                if uid != -1 {
                    key.uid = uid as u32;
                }
                if gid != -1 {
                    key.gid = gid as u32;
                }
            }
            Ok(0)
        }
        // KEYCTL_SETPERM
        5 => {
            let perm = u32::try_from(a[2]).map_err(|_| Errno::EINVAL)?;
            if perm & !ALL_PERMS != 0 {
                return Err(Errno::EINVAL);
            }
            let serial = k.keys.special(&who, id, false)?;
            k.keys.live(serial)?;
            k.keys.check_perm(serial, SETATTR)?;
            if let Some(key) = k.keys.keys.get_mut(&serial) {
                key.perm = perm;
            }
            Ok(0)
        }
        // KEYCTL_DESCRIBE
        6 => {
            let serial = k.keys.special(&who, id, false)?;
            k.keys.check_perm(serial, VIEW)?;
            let key = k.keys.live(serial)?;
            let mut text = alloc::format!(
                "{};{};{};{:08x};",
                key.kind.name(),
                key.uid,
                key.gid,
                key.perm
            )
            .into_bytes();
            text.extend_from_slice(&key.description);
            text.push(0);
            copy_out(&text, a[2], a[3])
        }
        // KEYCTL_CLEAR
        7 => {
            let serial = k.keys.special(&who, id, false)?;
            if k.keys.live(serial)?.kind != KeyType::Keyring {
                return Err(Errno::ENOTDIR);
            }
            k.keys.check_perm(serial, WRITE)?;
            if let Some(key) = k.keys.keys.get_mut(&serial) {
                key.links.clear();
            }
            k.keys.collect();
            Ok(0)
        }
        // KEYCTL_LINK
        8 => {
            let serial = k.keys.special(&who, id, false)?;
            let ring = k.keys.special(&who, int_arg(a[2]), true)?;
            k.keys.live(serial)?;
            k.keys.check_perm(serial, LINK)?;
            k.keys.link(ring, serial)?;
            Ok(0)
        }
        // KEYCTL_UNLINK
        9 => {
            let serial = k.keys.special(&who, id, false)?;
            let ring = k.keys.special(&who, int_arg(a[2]), false)?;
            if k.keys.live(ring)?.kind != KeyType::Keyring {
                return Err(Errno::ENOTDIR);
            }
            k.keys.check_perm(ring, WRITE)?;
            let r = k.keys.keys.get_mut(&ring).ok_or(ENOKEY)?;
            let before = r.links.len();
            r.links.retain(|l| *l != serial);
            if r.links.len() == before {
                return Err(Errno::ENOENT);
            }
            k.keys.collect();
            Ok(0)
        }
        // KEYCTL_SEARCH
        10 => {
            let ring = k.keys.special(&who, id, false)?;
            let type_name = read_type(a[2])?;
            let description = read_description(a[3])?;
            let kind = KeyType::named(&type_name)?;
            if k.keys.live(ring)?.kind != KeyType::Keyring {
                return Err(Errno::ENOTDIR);
            }
            let serial = k.keys.search(ring, kind, &description, false)?;
            if int_arg(a[4]) != 0 {
                let dest = k.keys.special(&who, int_arg(a[4]), true)?;
                k.keys.link(dest, serial)?;
            }
            Ok(serial as u64)
        }
        // KEYCTL_READ
        11 => {
            let serial = k.keys.special(&who, id, false)?;
            let key = k.keys.live(serial)?;
            match key.kind {
                KeyType::Logon => Err(Errno::EOPNOTSUPP),
                KeyType::User => {
                    k.keys.check_perm(serial, READ)?;
                    copy_out(&key.payload.clone(), a[2], a[3])
                }
                KeyType::Keyring => {
                    k.keys.check_perm(serial, READ)?;
                    let links: Vec<i32> = key
                        .links
                        .iter()
                        .copied()
                        .filter(|l| k.keys.keys.contains_key(l))
                        .collect();
                    let bytes: Vec<u8> = links.iter().flat_map(|l| l.to_ne_bytes()).collect();
                    copy_out(&bytes, a[2], a[3])
                }
            }
        }
        // KEYCTL_INSTANTIATE, KEYCTL_NEGATE, KEYCTL_REJECT, KEYCTL_INSTANTIATE_IOV: only the
        // request-key helper, which never runs, may.
        12 | 13 | 19 | 20 => Err(Errno::EPERM),
        // KEYCTL_SET_REQKEY_KEYRING
        14 => {
            let which = id;
            let old = k.keys.request_default;
            match which {
                -1 => return Ok(old as u64),
                0..=5 | 7 => {}
                _ => return Err(Errno::EINVAL),
            }
            // Choosing the thread or process keyring makes it (keeping one that exists).
            if which == 1 {
                k.keys.special(&who, KEY_SPEC_THREAD_KEYRING, true)?;
            } else if which == 2 {
                k.keys.special(&who, KEY_SPEC_PROCESS_KEYRING, true)?;
            }
            k.keys.request_default = which;
            Ok(old as u64)
        }
        // KEYCTL_SET_TIMEOUT
        15 => {
            let serial = k.keys.special(&who, id, false)?;
            k.keys.live(serial)?;
            k.keys.check_perm(serial, SETATTR)?;
            let seconds = a[2] & 0xffff_ffff;
            if let Some(key) = k.keys.keys.get_mut(&serial) {
                key.expiry = (seconds != 0).then(|| now() + seconds * 1_000_000_000);
            }
            Ok(0)
        }
        // KEYCTL_ASSUME_AUTHORITY: there is no authorisation key to assume; 0 gives it up.
        16 => {
            if id == 0 {
                Ok(0)
            } else if id < 0 {
                Err(Errno::EINVAL)
            } else {
                Err(ENOKEY)
            }
        }
        // KEYCTL_GET_SECURITY: no security module labels keys.
        17 => {
            let serial = k.keys.special(&who, id, false)?;
            k.keys.check_perm(serial, VIEW)?;
            copy_out(b"\0", a[2], a[3])
        }
        // KEYCTL_SESSION_TO_PARENT: the parent's keyrings are its own library OS's.
        18 => Err(Errno::EPERM),
        // KEYCTL_INVALIDATE
        21 => {
            let serial = k.keys.special(&who, id, false)?;
            k.keys.live(serial)?;
            k.keys.check_perm(serial, SEARCH)?;
            if let Some(key) = k.keys.keys.get_mut(&serial) {
                key.state = State::Invalidated;
            }
            for r in k.keys.keys.values_mut() {
                r.links.retain(|l| *l != serial);
            }
            k.keys.collect();
            Ok(0)
        }
        // KEYCTL_CAPABILITIES: none of the optional features.
        31 => copy_out(&[0u8; 2], a[1], a[2]),
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// Copies `data` to the program's `buf` if all of it fits in `len`; returns its length.
fn copy_out(data: &[u8], buf: u64, len: u64) -> Result<u64> {
    if buf != 0 && len as usize >= data.len() {
        user::write_bytes(buf, data)?;
    }
    Ok(data.len() as u64)
}
