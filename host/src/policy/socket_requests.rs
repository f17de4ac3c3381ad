// The socket `ioctl` requests a box with a network may make (included by `seccomp.rs`, which
// admits exactly these for `--net loopback` and `--net host`, and by the PAL, which makes
// them): each only reads, the urgent mark or the interfaces of the box's network namespace.
// Never a request that changes an interface or a route, nor `SIOCGIFHWADDR` (a host's
// hardware address under `--net host`).

/// `SIOCATMARK`: whether the urgent mark is next.
pub const SIOCATMARK: u64 = 0x8905;
/// `SIOCGIFCONF`: the interfaces with an address.
pub const SIOCGIFCONF: u64 = 0x8912;
/// The `SIOCGIF*` requests of one interface (a `struct ifreq` naming it): its name from its
/// index, flags, address, point-to-point address, broadcast address, netmask, MTU and index.
pub const INTERFACE_QUESTIONS: [u64; 8] = [
    0x8910, 0x8913, 0x8915, 0x8917, 0x8919, 0x891b, 0x8921, 0x8933,
];
