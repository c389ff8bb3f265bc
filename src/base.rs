//! The vocabulary every layer shares: redaction, configuration, keys, retries, the native
//! functions' options, the enums stored as text. The error type and its codes sit beside this
//! folder, in `src/error.rs`: they are public API (the PHP stubs are generated from that file).
//!
//! Nothing here knows doctors, events, Google's endpoints or our tables.

pub mod config;
pub mod crypto;
pub mod opts;
pub mod redact;
pub mod retry;
pub mod str_enum;
