//! One error type for the whole ABI, numbered and spelled as on Linux x86-64.

/// A Linux error number (always positive). `Errno::EBADF` is 9, as in `<errno.h>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

/// The result of every ABI call and every system-call handler.
pub type Result<T> = core::result::Result<T, Errno>;

macro_rules! errnos {
    ($($name:ident = $value:expr, $text:expr;)*) => {
        #[allow(missing_docs)]
        impl Errno {
            $(pub const $name: Errno = Errno($value);)*

            /// The conventional name, e.g. `"ENOENT"`, or `"E?"` for an unknown number.
            pub fn name(self) -> &'static str {
                match self.0 { $($value => stringify!($name),)* _ => "E?" }
            }

            /// The `strerror` text, e.g. `"No such file or directory"`.
            pub fn description(self) -> &'static str {
                match self.0 { $($value => $text,)* _ => "Unknown error" }
            }
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "Input/output error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Cannot allocate memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Invalid cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "Too many open files in system";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EROFS = 30, "Read-only file system";
    EMLINK = 31, "Too many links";
    EPIPE = 32, "Broken pipe";
    ERANGE = 34, "Numerical result out of range";
    ENAMETOOLONG = 36, "File name too long";
    ENOSYS = 38, "Function not implemented";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many levels of symbolic links";
    ENODATA = 61, "No data available";
    EOVERFLOW = 75, "Value too large for defined data type";
    ENOTSOCK = 88, "Socket operation on non-socket";
    EMSGSIZE = 90, "Message too long";
    EISCONN = 106, "Transport endpoint is already connected";
    ENOTCONN = 107, "Transport endpoint is not connected";
    EINPROGRESS = 115, "Operation now in progress";
    EOPNOTSUPP = 95, "Operation not supported";
    EPROTONOSUPPORT = 93, "Protocol not supported";
    ESOCKTNOSUPPORT = 94, "Socket type not supported";
    ENOBUFS = 105, "No buffer space available";
    EAFNOSUPPORT = 97, "Address family not supported by protocol";
    EADDRINUSE = 98, "Address already in use";
    ECONNREFUSED = 111, "Connection refused";
    ETIMEDOUT = 110, "Connection timed out";
}

impl Errno {
    /// The value a system call returns in `rax` for this error.
    pub fn as_return(self) -> u64 {
        (-(i64::from(self.0))) as u64
    }

    /// Decodes a raw kernel return value: `Err` for `-4095..=-1`, `Ok` otherwise.
    pub fn from_raw_return(ret: u64) -> Result<u64> {
        let signed = ret as i64;
        if (-4095..0).contains(&signed) {
            Err(Errno((-signed) as i32))
        } else {
            Ok(ret)
        }
    }
}

impl core::fmt::Debug for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

impl core::fmt::Display for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({})", self.description(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_returns_round_trip() {
        assert_eq!(
            Errno::from_raw_return(Errno::ENOENT.as_return()),
            Err(Errno::ENOENT)
        );
        assert_eq!(Errno::from_raw_return(7), Ok(7));
        assert_eq!(Errno::from_raw_return(u64::MAX - 5000), Ok(u64::MAX - 5000));
        assert_eq!(Errno::EBADF.name(), "EBADF");
    }
}
