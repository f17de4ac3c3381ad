//! The picobox monitor (placeholder while the runtime builds).
