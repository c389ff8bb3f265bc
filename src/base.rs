//! The vocabulary every layer shares: errors, redaction, configuration, keys, retries.
//!
//! Nothing here knows doctors, events, Google's endpoints or our tables.

pub mod config;
pub mod crypto;
pub mod error;
pub mod redact;
pub mod retry;
pub mod str_enum;
