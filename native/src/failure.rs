//! How a command failed: the user's input, or anything else. The commands and the shared
//! evaluation code below them return it; `cli` turns it into an exit code.

/// How a command failed: with the user's input (exit code 2, like clap's usage errors), or
/// otherwise (exit code 1).
#[derive(Debug)]
pub enum Failure {
    BadInput(anyhow::Error),
    Other(anyhow::Error),
}

impl Failure {
    pub fn error(&self) -> &anyhow::Error {
        match self {
            Self::BadInput(e) | Self::Other(e) => e,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Self::BadInput(_) => 2,
            Self::Other(_) => 1,
        }
    }
}

/// Marks an error as the user's input being wrong.
pub fn bad_input<E: Into<anyhow::Error>>(e: E) -> Failure {
    Failure::BadInput(e.into())
}

/// Marks an error as not the input's fault.
pub fn other<E: Into<anyhow::Error>>(e: E) -> Failure {
    Failure::Other(e.into())
}

/// An unreadable image is the input's fault (exit code 2); a device that cannot run a batch is
/// not (exit code 1).
pub fn embed_failure(e: crate::embed::EmbedError) -> Failure {
    match e {
        crate::embed::EmbedError::Image(_) => bad_input(e),
        crate::embed::EmbedError::Device(_) => other(e),
    }
}

/// Weights that could not be fetched are not the input's fault (exit code 1); a weights file
/// that does not fit the architecture is (exit code 2).
pub fn pretrained_failure(e: crate::zoo::PretrainedError) -> Failure {
    match e {
        crate::zoo::PretrainedError::Fetch(e) => other(e),
        e @ crate::zoo::PretrainedError::Load(_) => bad_input(e),
    }
}
