//! The one error type of the extension and its stable codes.
//!
//! Codes group by what the caller must do (fix configuration, reconnect, retry later); which
//! failures are worth retrying is `retry::is_transient`.
//! The PHP boundary maps each [`ErrorKind`] onto one `KcMeet\…` exception class and each
//! [`Code`] onto that exception's integer code; both are public API and never change meaning.
//!
//! Messages are written for an administrator. They must never carry a token, a client secret,
//! an authorization code or a PKCE verifier: constructors take only what is safe to show, and
//! Google's own error text is passed through [`crate::base::redact`] before it lands here.

use std::fmt;

/// Which `KcMeet\…` exception class an error becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `KcMeet\ConfigurationException`
    Configuration,
    /// `KcMeet\DatabaseException`
    Database,
    /// `KcMeet\GoogleApiException`
    GoogleApi,
    /// `KcMeet\AuthorizationException`
    Authorization,
    /// `KcMeet\InvalidArgumentException`
    InvalidArgument,
}

/// Stable error codes (the PHP exception's `getCode()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Code {
    /// A configuration key is unknown or its value is malformed.
    ConfigInvalid = 1001,
    /// The OAuth client (id, secret, redirect URI) is not configured yet.
    NotConfigured = 1002,
    /// No usable encryption key, or a stored value was sealed with an unknown key.
    EncryptionKey = 1003,
    /// Google rejected the OAuth client itself (`invalid_client`, `unauthorized_client`).
    ClientRejected = 1004,
    /// MySQL cannot be reached.
    DbUnreachable = 2001,
    /// A query failed.
    DbQuery = 2002,
    /// Our tables are missing or older than this extension: run `kc_meet_migrate()`.
    SchemaMissing = 2003,
    /// Another process held a lock (an appointment's, a doctor's) for longer than this call
    /// could wait: transient, the work is queued and retried.
    LockTimeout = 2004,
    /// Google answered with an error status.
    GoogleError = 3001,
    /// Google could not be reached (connection, TLS, timeout).
    GoogleUnreachable = 3002,
    /// The doctor's grant is gone (`invalid_grant` on refresh): they must connect again.
    NeedsReconnect = 4001,
    /// The OAuth `state` is unknown, expired, already used or bound to another doctor.
    BadState = 4002,
    /// The doctor did not grant the Calendar scope.
    ScopeNotGranted = 4003,
    /// Google refused the authorization code (reused, expired, PKCE mismatch).
    CodeRejected = 4004,
    /// The doctor has not connected a Google account.
    NotConnected = 4005,
    /// An argument is out of range or malformed.
    InvalidArgument = 5001,
}

impl Code {
    /// The exception class this code belongs to.
    pub fn kind(self) -> ErrorKind {
        match self as i32 {
            1000..=1999 => ErrorKind::Configuration,
            2000..=2999 => ErrorKind::Database,
            3000..=3999 => ErrorKind::GoogleApi,
            4000..=4999 => ErrorKind::Authorization,
            _ => ErrorKind::InvalidArgument,
        }
    }
}

/// An error with a stable code and an admin-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub message: String,
    /// HTTP status Google answered, when Google answered.
    pub http_status: Option<u16>,
    /// Google's machine-readable reason (`rateLimitExceeded`, `invalid_grant`, …).
    pub reason: Option<String>,
    /// Seconds Google asked us to wait (`Retry-After`).
    pub retry_after_s: Option<u32>,
}

impl Error {
    /// An error whose message is cut by [`crate::base::redact::cut`]: whatever it quotes from the
    /// caller comes back as a short prefix.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: crate::base::redact::cut(&message.into()), http_status: None, reason: None, retry_after_s: None }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Code::ConfigInvalid, message)
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }

    /// Google answered `status` with `reason`; `message` is already redacted.
    pub fn google(status: u16, reason: Option<String>, message: &str) -> Self {
        let text = match &reason {
            Some(r) => format!("Google answered HTTP {status} ({r}): {message}"),
            None => format!("Google answered HTTP {status}: {message}"),
        };
        Self { code: Code::GoogleError, message: text, http_status: Some(status), reason, retry_after_s: None }
    }

    pub fn kind(&self) -> ErrorKind {
        self.code.kind()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_their_exception_class() {
        assert_eq!(Code::ConfigInvalid.kind(), ErrorKind::Configuration);
        assert_eq!(Code::ClientRejected.kind(), ErrorKind::Configuration);
        assert_eq!(Code::SchemaMissing.kind(), ErrorKind::Database);
        assert_eq!(Code::GoogleUnreachable.kind(), ErrorKind::GoogleApi);
        assert_eq!(Code::NotConnected.kind(), ErrorKind::Authorization);
        assert_eq!(Code::InvalidArgument.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn a_lock_wait_that_times_out_is_a_database_error() {
        assert_eq!(Code::LockTimeout as i32, 2004);
        assert_eq!(Code::LockTimeout.kind(), ErrorKind::Database);
    }
}
