//! kc-meet: Google Meet telemedicine for KiviCare on WordPress.
//!
//! The domain code (configuration, OAuth, the Calendar client, the WordPress database, the
//! doctors' connections) builds and is tested without PHP. Only [`php`], behind the `php`
//! feature, imports ext-php-rs: it converts arguments, makes one call into the modules here,
//! and converts the result or maps the error onto a `KcMeet\…` exception.
//!
//! Dependencies point one way: `php` → `doctors`/`health` → (`oauth`, `calendar`, `store`,
//! `tokens`, `crypto`) → (`http`, `config`, `error`, `redact`).

pub mod appointments;
pub mod base;
pub mod doctors;
pub mod events;
pub mod google;
pub mod health;
pub mod jobs;
pub mod privacy;
pub mod review;
pub mod runtime;
pub mod screens;
pub mod store;
pub mod sync;

#[cfg(feature = "php")]
mod php;

/// The extension's version (`kc_meet_version()`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `bytes` random bytes from the OS (fork-safe), base64url without padding.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}
