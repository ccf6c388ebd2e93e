//! The native command-line tools. Binaries are thin: `src/bin/*.rs` call into [`cli`].

pub mod allocator;
pub mod cli;
pub mod device;
pub mod embed;
pub mod io;
pub mod zoo;
