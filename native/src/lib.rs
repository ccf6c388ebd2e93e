//! The native command-line tools. Binaries are thin: `src/bin/*.rs` call into [`cli`].

pub mod cli;
pub mod io;
