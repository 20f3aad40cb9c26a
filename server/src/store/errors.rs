//! Classifying driver errors: outages become 503, duplicate keys become 409.

use mongodb::error::{Error, ErrorKind, WriteFailure};

/// Server codes that mean "no usable primary right now" rather than a bug.
const UNAVAILABLE_CODES: &[i32] = &[
    6,     // HostUnreachable
    7,     // HostNotFound
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    189,   // PrimarySteppedDown
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

/// Whether the error means the database cannot be reached (as opposed to a bad operation).
pub fn is_unavailable(err: &Error) -> bool {
    match err.kind.as_ref() {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::Shutdown => true,
        ErrorKind::Command(command) => UNAVAILABLE_CODES.contains(&command.code),
        _ => false,
    }
}

/// For a duplicate-key (E11000) write error, the message naming the violated index.
pub fn duplicate_key_index(err: &Error) -> Option<&str> {
    match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(write)) if write.code == 11000 => {
            Some(write.message.as_str())
        }
        ErrorKind::Command(command) if command.code == 11000 => Some(command.message.as_str()),
        ErrorKind::InsertMany(failure) => failure
            .write_errors
            .iter()
            .flatten()
            .find(|e| e.code == 11000)
            .map(|e| e.message.as_str()),
        _ => None,
    }
}
