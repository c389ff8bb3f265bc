//! The worker's long-lived parts: configuration, MySQL pool and HTTPS client.
//!
//! Owns their lifetime. Nothing is created at module load: `configure()` (called on every
//! WordPress request) only compares with the arrays given before (the recent sites' are kept,
//! with their contexts) and parses a new one, and the pool and client are built on first use
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

/// How many configurations a worker keeps, most recently configured first, each with its
/// context once built. A request that switches between sites (a network's `switch_blog`), or a
/// pool serving several sites, finds each site's parsed configuration and store again (with what
/// the store learnt: schema checked, tables seen) instead of parsing and checking anew.
const RECENT: usize = 8;

struct Site {
    /// The configuration array as given: a repeated `configure()` is a comparison with it.
    raw: Value,
    config: Arc<Config>,
    /// Built on first use, on the process's pool and client ([`Parts`]).
    context: Option<Arc<Context>>,
}

struct Runtime {
    pid: u32,
    /// Most recently configured first: `sites[0]` is the current site. Never empty.
    sites: Vec<Site>,
    /// The process's pool and client, built on first use in this process.
    parts: Option<Parts>,
}

struct Parts {
    db: DbConfig,
    ca_file: Option<std::path::PathBuf>,
    pool: mysql::Pool,
    http: Client,
}

impl Runtime {
    /// After a fork, leaks what the parent made: the pool, the client and every context holding
    /// them (see the module comment). The configurations stay.
    fn settle_fork(&mut self) {
        let pid = std::process::id();
        if self.pid == pid {
            return;
        }
        if let Some(parts) = self.parts.take() {
            std::mem::forget(parts);
        }
        for site in &mut self.sites {
            if let Some(context) = site.context.take() {
                std::mem::forget(context);
            }
        }
        self.pid = pid;
    }
}

static RUNTIME: Lazy<Mutex<Option<Runtime>>> = Lazy::new(|| Mutex::new(None));

fn lock() -> std::sync::MutexGuard<'static, Option<Runtime>> {
    // A panic while holding the lock leaves consistent data (we never hold it across I/O that
    // can panic half-way), so a poisoned lock is safe to take over.
    RUNTIME.lock().unwrap_or_else(|p| p.into_inner())
}

/// Makes current the kept configuration whose array `same` recognises, and says whether there
/// was one (the cheap path of [`configure`]).
fn reuse(same: impl Fn(&Value) -> bool) -> bool {
    let mut guard = lock();
    let Some(rt) = guard.as_mut() else { return false };
    let Some(i) = rt.sites.iter().position(|site| same(&site.raw)) else { return false };
    rt.sites[..=i].rotate_right(1);
    true
}

/// Applies `kc_meet_configure()`'s array. Cheap when it equals the current one or one of the
/// recent ones ([`RECENT`]): no parsing, and the site's context (keys, store) is kept.
pub fn configure(raw: &Value) -> Result<()> {
    if reuse(|kept| kept == raw) {
        return Ok(());
    }
    let config = Arc::new(Config::from_value(raw)?);
    let site = Site { raw: raw.clone(), config, context: None };
    let mut guard = lock();
    match guard.as_mut() {
        Some(rt) => {
            rt.settle_fork();
            rt.sites.insert(0, site);
            rt.sites.truncate(RECENT);
        }
        None => *guard = Some(Runtime { pid: std::process::id(), sites: vec![site], parts: None }),
    }
    Ok(())
}

/// The context for this process and the current site, building the pool and client on first
/// use. The process keeps one pool and one client: a site on another database or CA file
/// replaces them, and the contexts built on the old ones are dropped with them.
pub fn context() -> Result<Arc<Context>> {
    let mut guard = lock();
    let rt = guard.as_mut().ok_or_else(|| {
        Error::new(Code::NotConfigured, "kc_meet_configure() has not been called in this request")
    })?;
    rt.settle_fork();
    if let Some(context) = &rt.sites[0].context {
        return Ok(context.clone());
    }
    let config = rt.sites[0].config.clone();
    let (pool, http) = match rt.parts.take() {
        Some(p) if p.db == config.db && p.ca_file == config.ca_file => (p.pool, p.http),
        old => {
            for site in &mut rt.sites {
                site.context = None;
            }
            let http = match old {
                Some(p) if p.ca_file == config.ca_file => p.http,
                _ => crate::google::http::build_client(config.ca_file.as_deref())?,
            };
            (store::open_pool(&config.db)?, http)
        }
    };
    let context = Arc::new(Context::new(config.clone(), pool.clone(), http.clone()));
    rt.parts = Some(Parts { db: config.db.clone(), ca_file: config.ca_file.clone(), pool, http });
    rt.sites[0].context = Some(context.clone());
    Ok(context)
}

/// The current configuration without building anything (health when the DB is down).
pub fn config() -> Option<Arc<Config>> {
    lock().as_ref().map(|rt| rt.sites[0].config.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn site(prefix: &str, key: &str) -> Value {
        json!({"db_host": "127.0.0.1:1", "db_user": "wp", "db_password": "pw", "db_name": "wp",
               "table_prefix": prefix, "client_id": "id", "client_secret": "s", "encryption_key": key,
               "timezone": "UTC"})
    }

    fn current() -> Arc<Config> {
        config().expect("configured")
    }

    // One test: the runtime is the process's, shared by every test thread of this binary.
    #[test]
    fn recent_sites_are_kept_with_their_contexts_and_any_change_is_parsed() {
        let a = site("wp_", "key a");
        configure(&a).unwrap();
        let config_a = current();
        let context_a = context().unwrap();
        assert!(Arc::ptr_eq(&context_a.config, &config_a));

        // Another site, then back: the first site's configuration and context are the same objects.
        let b = site("wp_2_", "key a");
        configure(&b).unwrap();
        assert_eq!(current().table_prefix, "wp_2_");
        let context_b = context().unwrap();
        assert_eq!(context_b.store.t.prefix(), "wp_2_");
        configure(&a).unwrap();
        assert!(Arc::ptr_eq(&current(), &config_a));
        assert!(Arc::ptr_eq(&context().unwrap(), &context_a), "the site's store is kept");
        assert!(reuse(|raw| raw == &b));
        assert!(Arc::ptr_eq(&context().unwrap(), &context_b));

        // A changed key is a new configuration with its own keyring.
        let rotated = site("wp_", "key c");
        configure(&rotated).unwrap();
        assert_eq!(current().encryption_key.expose(), "key c");
        assert!(!Arc::ptr_eq(&context().unwrap(), &context_a));

        // An invalid array changes nothing.
        let mut bad = a.clone();
        bad["table_prefix"] = json!("wp_; DROP");
        assert!(configure(&bad).is_err());
        assert_eq!(current().encryption_key.expose(), "key c");

        // Only the most recent ones are kept.
        for i in 0..RECENT {
            configure(&site(&format!("wp_{i}_"), "key a")).unwrap();
        }
        assert!(!reuse(|raw| raw == &a), "the oldest site was dropped");
        assert!(reuse(|raw| raw == &site("wp_0_", "key a")));
        assert_eq!(current().table_prefix, "wp_0_");
        let context_0 = context().unwrap();

        // Another database: a new pool, and the contexts on the old one are gone with it.
        let mut other_db = site("wp_", "key a");
        other_db["db_name"] = json!("other");
        configure(&other_db).unwrap();
        assert_eq!(context().unwrap().config.db.name, "other");
        assert!(reuse(|raw| raw == &site("wp_0_", "key a")));
        let again = context().unwrap();
        assert!(!Arc::ptr_eq(&again, &context_0), "rebuilt on a pool for its database");
        assert!(Arc::ptr_eq(&again.config, &context_0.config), "the parsed configuration is kept");
    }
}
