//! kc-meet: Google Meet telemedicine for KiviCare on WordPress.
//!
//! The domain code builds and is tested without PHP. Only `php`, behind the `php` feature,
//! imports ext-php-rs: it converts arguments, makes one call into the modules here, and
//! converts the result or maps the error onto a `KcMeet\…` exception.
//!
//! The modules form layers; a module names (in code or in docs) only modules of a lower layer,
//! plus its own folder's root and submodules. `tests/layers.rs` checks every `crate::` path
//! against this map, so the map cannot go stale:
//!
//! ```text
//! php            the PHP boundary (the only module importing ext-php-rs)
//! ─────────────────────────────────────────────────────────────────────────────────────
//! privacy        personal-data export and erasure (erasure disconnects through connection)
//! connection     connect, check, disconnect; opens and stops the doctor's push channels
//! health         kc_meet_health()'s report
//! screens        the admin screens' listings
//! ─────────────────────────────────────────────────────────────────────────────────────
//! channels       push: watch, renew, stop, notification (syncs one doctor through sync)
//! reconcile      finds and converges what core never told us about
//! jobs           the job runner: due jobs, backoff, admin retry
//! ─────────────────────────────────────────────────────────────────────────────────────
//! sync           listing and applying Google's changes; what each sync policy does
//! review         an admin's accept or revert of a move made in Google
//! ─────────────────────────────────────────────────────────────────────────────────────
//! events         one Google event per telemedicine appointment (create … regenerate)
//! grant          a doctor's state, tokens with refresh, the doctor's lock
//! appointments   a KiviCare appointment: read, merged with the plugin's data, in UTC
//! ─────────────────────────────────────────────────────────────────────────────────────
//! runtime        the worker's context: configuration, MySQL pool, HTTPS client, keys
//! ─────────────────────────────────────────────────────────────────────────────────────
//! google/        Google's APIs: http (transport, error bodies), oauth, calendar
//! store/         MySQL: pool, locks, schema, doctors' rows and meta, audit (store.rs);
//!                events (events, jobs, mapping), sync (positions, channels, moves), tokens
//! ─────────────────────────────────────────────────────────────────────────────────────
//! error          the error type and its stable codes (public API: the PHP stubs read it)
//! base/          shared vocabulary: redact, config, crypto, retry (and the call budget), opts,
//!                str_enum
//! ```
//!
//! Inside a band, arrows go from a line to lines below it only where `tests/layers.rs` gives
//! the target the lower number (e.g. privacy → connection, events → grant, oauth → http).

pub mod appointments;
pub mod base;
pub mod channels;
pub mod connection;
pub mod error;
pub mod events;
pub mod google;
pub mod grant;
pub mod health;
pub mod jobs;
pub mod privacy;
pub mod reconcile;
pub mod review;
pub mod runtime;
pub mod screens;
pub mod store;
pub mod sync;

#[cfg(feature = "php")]
mod php;

/// The extension's version (`kc_meet_version()`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

