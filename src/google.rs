//! Google's HTTP APIs: the transport policy, OAuth and Calendar v3.
//!
//! These adapters know Google's wire formats and error bodies, and nothing of doctors,
//! appointments or storage.

pub mod calendar;
pub mod http;
pub mod oauth;
