//! The worker's long-lived parts: configuration, MySQL pool and HTTPS client.
//!
//! Owns their lifetime. Nothing is created at module load: `configure()` (called on every
//! WordPress request) only parses and compares, and the pool and client are built on first use
//! in the process that uses them. PHP-FPM and mod_php fork workers after the module loads; a
//! `reqwest` client owns a thread and a pool owns sockets that must not be shared across a fork,
//! so both are tagged with the PID that made them and, in a child, rebuilt while the inherited
//! ones are leaked on purpose (dropping them would join a thread that does not exist here, or
//! close a socket the parent still uses).

use std::sync::{Arc, Mutex};

use once_cell::sync::Lazy;
use reqwest::blocking::Client;
use serde_json::Value;

use crate::base::config::{Config, DbConfig};
use crate::base::crypto::Keyring;
use crate::error::{Code, Error, Result};
use crate::store::{self, Store};

/// Everything a use case needs: the site's configuration and handles to MySQL and Google.
pub struct Context {
    pub config: Arc<Config>,
    pub store: Store,
    pub http: Client,
    keyring: Option<Keyring>,
}

impl Context {
    /// Builds a context from parts (tests build one per test; PHP goes through [`context`]).
    pub fn new(config: Arc<Config>, pool: mysql::Pool, http: Client) -> Context {
        let keyring = Keyring::new(&config.encryption_key, &config.encryption_key_previous).ok();
        Context { store: Store::new(pool, &config), config, http, keyring }
    }

    /// Builds a context with a fresh pool and client (CLI tools, tests).
    pub fn connect(config: Config) -> Result<Context> {
        let pool = store::open_pool(&config.db)?;
        let http = crate::google::http::build_client(config.ca_file.as_deref())?;
        Ok(Context::new(Arc::new(config), pool, http))
    }

    /// The keyring, or the configuration error that explains why there is none.
    pub fn keyring(&self) -> Result<&Keyring> {
        match &self.keyring {
            Some(k) => Ok(k),
            None => Err(Keyring::new(&self.config.encryption_key, &self.config.encryption_key_previous)
                .err()
                .unwrap_or_else(|| Error::new(Code::EncryptionKey, "no encryption key"))),
        }
    }
}

struct Runtime {
    pid: u32,
    /// The configuration array as given, to make a repeated `configure()` free.
    raw: Value,
    config: Arc<Config>,
    /// Built on first use in this process.
    parts: Option<Parts>,
}

struct Parts {
    db: DbConfig,
    ca_file: Option<std::path::PathBuf>,
    pool: mysql::Pool,
    http: Client,
    context: Arc<Context>,
}

static RUNTIME: Lazy<Mutex<Option<Runtime>>> = Lazy::new(|| Mutex::new(None));

fn lock() -> std::sync::MutexGuard<'static, Option<Runtime>> {
    // A panic while holding the lock leaves consistent data (we never hold it across I/O that
    // can panic half-way), so a poisoned lock is safe to take over.
    RUNTIME.lock().unwrap_or_else(|p| p.into_inner())
}

/// Applies `kc_meet_configure()`'s array. Cheap when it equals the current one.
pub fn configure(raw: &Value) -> Result<()> {
    let mut guard = lock();
    if let Some(rt) = guard.as_ref() {
        if &rt.raw == raw {
            return Ok(());
        }
    }
    let config = Arc::new(Config::from_value(raw)?);
    let pid = std::process::id();
    // Keep the pool and client when only site settings changed (switch_blog, new client id).
    let parts = match guard.take() {
        Some(old) if old.pid == pid => old.parts,
        Some(old) => {
            std::mem::forget(old);
            None
        }
        None => None,
    };
    *guard = Some(Runtime { pid, raw: raw.clone(), config, parts });
    Ok(())
}

/// The context for this process and site, building the pool and client on first use.
pub fn context() -> Result<Arc<Context>> {
    let mut guard = lock();
    let rt = guard.as_mut().ok_or_else(|| {
        Error::new(Code::NotConfigured, "kc_meet_configure() has not been called in this request")
    })?;
    let pid = std::process::id();
    if rt.pid != pid {
        // Forked since: leak what the parent made (see the module comment).
        if let Some(parts) = rt.parts.take() {
            std::mem::forget(parts);
        }
        rt.pid = pid;
    }
    let config = rt.config.clone();
    if let Some(p) = &rt.parts {
        if Arc::ptr_eq(&p.context.config, &config) {
            return Ok(p.context.clone());
        }
    }
    let old = rt.parts.take();
    let (pool, http) = match old {
        Some(p) if p.db == config.db && p.ca_file == config.ca_file => (p.pool, p.http),
        Some(p) if p.ca_file == config.ca_file => (store::open_pool(&config.db)?, p.http),
        _ => (store::open_pool(&config.db)?, crate::google::http::build_client(config.ca_file.as_deref())?),
    };
    let context = Arc::new(Context::new(config.clone(), pool.clone(), http.clone()));
    rt.parts = Some(Parts { db: config.db.clone(), ca_file: config.ca_file.clone(), pool, http, context: context.clone() });
    Ok(context)
}

/// The current configuration without building anything (health when the DB is down).
pub fn config() -> Option<Arc<Config>> {
    lock().as_ref().map(|rt| rt.config.clone())
}
