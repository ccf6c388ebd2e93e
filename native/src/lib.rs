//! The native command-line tools. Binaries are thin: `src/bin/*.rs` call into [`cli`].

pub mod allocator;
pub mod cli;
pub mod convert;
pub mod device;
pub mod draw;
pub mod embed;
pub mod eval;
pub mod failure;
pub mod io;
pub mod retain_large;
pub mod saved;
pub mod tables;
pub mod train;
pub mod zoo;
