//! The site configuration handed over by `kc_meet_configure()`: parsing and validation.
//!
//! Owns the meaning of every configuration key. It does no I/O besides checking that a
//! configured CA file exists and, for a `localhost` database, which MySQL socket exists:
//! connections are made lazily in the worker, by the runtime.
//! Unknown keys and malformed values are errors ([`Code::ConfigInvalid`]); a client or key that
//! is merely missing is not, because a site is configured before the admin has entered them:
//! [`Config::problems`] reports those, and the operations that need them refuse to run.

use std::path::PathBuf;

use chrono::FixedOffset;
use serde_json::{Map, Value};
use url::Url;

use crate::error::{Code, Error, Result};
use crate::base::redact::Secret;

/// Google's production endpoints.
pub const GOOGLE_AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
pub const GOOGLE_REVOKE_URL: &str = "https://oauth2.googleapis.com/revoke";
pub const GOOGLE_CALENDAR_URL: &str = "https://www.googleapis.com/calendar/v3";

const KNOWN_KEYS: &[&str] = &[
    "db_host",
    "db_user",
    "db_password",
    "db_name",
    "db_charset",
    "table_prefix",
    "base_prefix",
    "client_id",
    "client_secret",
    "redirect_uri",
    "encryption_key",
    "encryption_key_previous",
    "timezone",
    "endpoints",
    "ca_file",
    "allow_insecure_loopback",
    "send_updates",
    "request_budget_s",
    "notify_url",
    "on_google_move",
    "on_google_delete",
];

/// Keys whose values are secrets, taken byte for byte.
const SECRET_KEYS: &[&str] = &["db_password", "client_secret", "encryption_key"];

/// Where MySQL listens, parsed from WordPress's `DB_HOST` syntax.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DbTarget {
    Tcp { host: String, port: u16 },
    Socket { path: String },
}

/// Everything needed to open the site's MySQL connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbConfig {
    pub target: DbTarget,
    pub user: String,
    pub password: Secret,
    pub name: String,
    pub charset: String,
}

/// The Google endpoints in use (production, or an emulator/proxy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub auth: Url,
    pub token: Url,
    pub revoke: Url,
    pub calendar: Url,
}

/// The site's time zone: an IANA zone, or a fixed offset (WordPress's `gmt_offset` sites).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteTz {
    Named(chrono_tz::Tz),
    Offset(FixedOffset),
}

/// A validated site configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub db: DbConfig,
    /// `$wpdb->prefix`: KiviCare's and our tables.
    pub table_prefix: String,
    /// `$wpdb->base_prefix`: the network-wide `usermeta` table.
    pub base_prefix: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub redirect_uri: String,
    pub encryption_key: Secret,
    pub encryption_key_previous: Vec<Secret>,
    pub timezone: SiteTz,
    pub endpoints: Endpoints,
    pub ca_file: Option<PathBuf>,
    pub allow_insecure_loopback: bool,
    /// Google's `sendUpdates` for our event writes (`send_updates`).
    pub send_updates: SendUpdates,
    /// How long one call may retry Google before the write becomes a background job.
    pub request_budget: std::time::Duration,
    /// The public HTTPS URL of the plugin's push route; empty: no channels, sync by polling.
    pub notify_url: String,
    /// A move made in Google (`on_google_move`); what it does is sync's.
    pub on_google_move: MovePolicy,
    /// A deletion made in Google (`on_google_delete`); what it does is sync's.
    pub on_google_delete: DeletePolicy,
}

/// Who Google e-mails about our event writes (config `send_updates`, Google's `sendUpdates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendUpdates {
    All,
    ExternalOnly,
    None,
}

impl SendUpdates {
    /// Google's value of the `sendUpdates` parameter.
    pub const fn as_str(self) -> &'static str {
        match self {
            SendUpdates::All => "all",
            SendUpdates::ExternalOnly => "externalOnly",
            SendUpdates::None => "none",
        }
    }
}

/// What a move made in Google does (config `on_google_move`: `apply` or `revert`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovePolicy {
    /// The appointment follows the event.
    Apply,
    /// The event is put back at the appointment's time.
    Revert,
}

/// What a deletion made in Google does (config `on_google_delete`: `flag`, `cancel` or
/// `recreate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletePolicy {
    /// The appointment is kept and flagged for an admin.
    Flag,
    /// The appointment is cancelled.
    Cancel,
    /// A new event is made for the appointment.
    Recreate,
}

/// A configuration problem an admin should fix (reported by health, not thrown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
}

impl Config {
    /// Parses `kc_meet_configure()`'s array.
    pub fn from_value(value: &Value) -> Result<Config> {
        let map = value
            .as_object()
            .ok_or_else(|| Error::config("kc_meet_configure() expects an array with string keys"))?;
        if let Some(unknown) = map.keys().find(|k| !KNOWN_KEYS.contains(&k.as_str())) {
            return Err(Error::config(format!("unknown configuration key '{unknown}'")));
        }

        let allow_insecure_loopback = opt_bool(map, "allow_insecure_loopback")?.unwrap_or(false);
        let table_prefix = required_str(map, "table_prefix")?;
        check_prefix("table_prefix", &table_prefix)?;
        let base_prefix = opt_str(map, "base_prefix")?.unwrap_or_else(|| table_prefix.clone());
        check_prefix("base_prefix", &base_prefix)?;

        let charset = opt_str(map, "db_charset")?.filter(|c| !c.is_empty()).unwrap_or_else(|| "utf8mb4".into());
        if !charset.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::config("db_charset must be a MySQL character set name such as utf8mb4"));
        }
        let db_name = required_str(map, "db_name")?;
        if db_name.is_empty() || db_name.contains('`') || db_name.len() > 64 {
            return Err(Error::config("db_name must be a MySQL database name"));
        }
        let db = DbConfig {
            target: parse_db_host(&required_str(map, "db_host")?)?,
            user: required_str(map, "db_user")?,
            password: Secret::new(opt_str(map, "db_password")?.unwrap_or_default()),
            name: db_name,
            charset,
        };

        let redirect_uri = opt_str(map, "redirect_uri")?.unwrap_or_default();
        if !redirect_uri.is_empty() {
            let url = Url::parse(&redirect_uri)
                .map_err(|_| Error::config("redirect_uri must be an absolute URL"))?;
            if !matches!(url.scheme(), "https" | "http") {
                return Err(Error::config("redirect_uri must be an http(s) URL"));
            }
        }

        let endpoints = parse_endpoints(map.get("endpoints"), allow_insecure_loopback)?;
        let ca_file = match opt_str(map, "ca_file")? {
            Some(p) if !p.is_empty() => {
                let path = PathBuf::from(p);
                if !path.is_file() {
                    return Err(Error::config(format!("ca_file {} is not a readable file", path.display())));
                }
                Some(path)
            }
            _ => None,
        };

        let encryption_key_previous = match map.get("encryption_key_previous") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) if !s.is_empty() => Ok(Secret::new(s.clone())),
                    _ => Err(Error::config("encryption_key_previous must be a list of non-empty strings")),
                })
                .collect::<Result<_>>()?,
            Some(_) => return Err(Error::config("encryption_key_previous must be a list of strings")),
        };

        Ok(Config {
            db,
            table_prefix,
            base_prefix,
            client_id: opt_str(map, "client_id")?.unwrap_or_default().trim().to_string(),
            client_secret: Secret::new(opt_str(map, "client_secret")?.unwrap_or_default().trim()),
            redirect_uri,
            encryption_key: Secret::new(opt_str(map, "encryption_key")?.unwrap_or_default()),
            encryption_key_previous,
            timezone: parse_timezone(&opt_str(map, "timezone")?.unwrap_or_default())?,
            endpoints,
            ca_file,
            allow_insecure_loopback,
            send_updates: match opt_str(map, "send_updates")?.as_deref() {
                None | Some("") | Some("all") => SendUpdates::All,
                Some("externalOnly") => SendUpdates::ExternalOnly,
                Some("none") => SendUpdates::None,
                Some(_) => return Err(Error::config("send_updates must be all, externalOnly or none")),
            },
            request_budget: match map.get("request_budget_s") {
                None | Some(Value::Null) => std::time::Duration::from_secs(8),
                Some(Value::Number(n)) if n.as_f64().is_some_and(|f| (0.0..=60.0).contains(&f)) => {
                    std::time::Duration::from_secs_f64(n.as_f64().unwrap_or(8.0))
                }
                Some(_) => return Err(Error::config("request_budget_s must be a number of seconds between 0 and 60")),
            },
            notify_url: match opt_str(map, "notify_url")? {
                Some(u) if !u.is_empty() => {
                    Url::parse(&u).map_err(|_| Error::config("notify_url must be an absolute URL"))?;
                    u
                }
                _ => String::new(),
            },
            on_google_move: match opt_str(map, "on_google_move")?.as_deref() {
                None | Some("") | Some("apply") => MovePolicy::Apply,
                Some("revert") => MovePolicy::Revert,
                Some(_) => return Err(Error::config("on_google_move must be apply or revert")),
            },
            on_google_delete: match opt_str(map, "on_google_delete")?.as_deref() {
                None | Some("") | Some("flag") => DeletePolicy::Flag,
                Some("cancel") => DeletePolicy::Cancel,
                Some("recreate") => DeletePolicy::Recreate,
                Some(_) => return Err(Error::config("on_google_delete must be flag, cancel or recreate")),
            },
        })
    }

    /// Whether the OAuth client is complete enough to start a connection.
    pub fn oauth_ready(&self) -> Result<()> {
        if self.client_id.is_empty() || self.client_secret.is_empty() {
            return Err(Error::new(
                Code::NotConfigured,
                "the Google OAuth client is not configured: enter the client id and secret in KiviCare's Google Meet settings",
            ));
        }
        if self.redirect_uri.is_empty() {
            return Err(Error::new(Code::NotConfigured, "the OAuth redirect URI is not configured"));
        }
        Ok(())
    }

    /// Whether push notifications can be used: an HTTPS notify URL (plain HTTP only to loopback
    /// with `allow_insecure_loopback`, for the emulator).
    pub fn push_enabled(&self) -> bool {
        Url::parse(&self.notify_url).is_ok_and(|u| u.scheme() == "https" || (self.allow_insecure_loopback && is_loopback(&u)))
    }

    /// What an admin should fix; empty when the configuration is complete.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = vec![];
        if self.client_id.is_empty() || self.client_secret.is_empty() {
            out.push(Problem {
                code: "missing_client",
                message: "The Google OAuth client id and secret are not set.".into(),
            });
        }
        if self.redirect_uri.is_empty() {
            out.push(Problem { code: "missing_redirect_uri", message: "The OAuth redirect URI is not set.".into() });
        } else if let Ok(url) = Url::parse(&self.redirect_uri) {
            if url.scheme() != "https" && !is_loopback(&url) {
                out.push(Problem {
                    code: "redirect_uri_not_https",
                    message: format!(
                        "The OAuth redirect URI {} is not HTTPS: Google accepts plain HTTP only for localhost. Serve the site over HTTPS.",
                        self.redirect_uri
                    ),
                });
            }
        }
        if self.encryption_key.is_empty() {
            out.push(Problem {
                code: "missing_encryption_key",
                message: "No encryption key: define KC_MEET_ENCRYPTION_KEY (or WordPress's AUTH_KEY and SECURE_AUTH_KEY salts) in wp-config.php.".into(),
            });
        }
        out
    }
}

fn check_prefix(key: &str, prefix: &str) -> Result<()> {
    if prefix.is_empty() || prefix.len() > 40 || !prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::config(format!("{key} must be a table prefix of letters, digits and underscores")));
    }
    Ok(())
}

fn required_str(map: &Map<String, Value>, key: &str) -> Result<String> {
    opt_str(map, key)?.ok_or_else(|| Error::config(format!("configuration key '{key}' is required")))
}

fn opt_str(map: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        // A NUL or line break in a host, name, id or URL is a paste error that would surface
        // later as a connection or OAuth failure far from its cause. Secrets are opaque bytes.
        Some(Value::String(s)) if !SECRET_KEYS.contains(&key) && s.chars().any(char::is_control) => {
            Err(Error::config(format!("configuration key '{key}' must not contain control characters")))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) if key == "db_host" || key == "db_user" || key == "db_name" => Ok(Some(n.to_string())),
        Some(_) => Err(Error::config(format!("configuration key '{key}' must be a string"))),
    }
}

fn opt_bool(map: &Map<String, Value>, key: &str) -> Result<Option<bool>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => Ok(Some(n.as_i64() == Some(1))),
        Some(Value::String(s)) if matches!(s.as_str(), "" | "0" | "1" | "true" | "false") => {
            Ok(Some(matches!(s.as_str(), "1" | "true")))
        }
        Some(_) => Err(Error::config(format!("configuration key '{key}' must be a boolean"))),
    }
}

/// Parses WordPress's `DB_HOST`: `host`, `host:port`, `host:/path/to.sock`, `[::1]:port`, and
/// `localhost`, which means the local Unix socket as it does for PHP's mysqli.
pub fn parse_db_host(raw: &str) -> Result<DbTarget> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Error::config("db_host is empty"));
    }
    let bad = || Error::config(format!("db_host '{raw}' is not host, host:port or host:/path/to/socket"));
    let (host, rest) = if let Some(stripped) = raw.strip_prefix('[') {
        let end = stripped.find(']').ok_or_else(bad)?;
        (stripped[..end].to_string(), &stripped[end + 1..])
    } else {
        match raw.find(':') {
            Some(i) => (raw[..i].to_string(), &raw[i..]),
            None => (raw.to_string(), ""),
        }
    };
    let (port, socket) = match rest.strip_prefix(':') {
        None if rest.is_empty() => (None, None),
        None => return Err(bad()),
        Some(r) if r.starts_with('/') => (None, Some(r.to_string())),
        Some(r) => match r.find(":/") {
            Some(i) => (Some(&r[..i]), Some(r[i + 1..].to_string())),
            None => (Some(r), None),
        },
    };
    if let Some(path) = socket {
        return Ok(DbTarget::Socket { path });
    }
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?,
        None => 3306,
    };
    if host.is_empty() || host.contains(['/', ' ']) {
        return Err(bad());
    }
    if host.eq_ignore_ascii_case("localhost") && port == 3306 {
        if let Some(path) = ["/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock"]
            .iter()
            .find(|p| std::path::Path::new(p).exists())
        {
            return Ok(DbTarget::Socket { path: path.to_string() });
        }
    }
    Ok(DbTarget::Tcp { host, port })
}

/// Parses the site time zone: an IANA name, `UTC`, or an offset (`+05:30`, `UTC+5:30`,
/// `UTC-3.5`, `-3`). Empty means UTC, as WordPress does.
pub fn parse_timezone(raw: &str) -> Result<SiteTz> {
    let raw = raw.trim();
    if raw.is_empty() || raw.eq_ignore_ascii_case("utc") {
        return Ok(SiteTz::Named(chrono_tz::UTC));
    }
    if let Ok(tz) = raw.parse::<chrono_tz::Tz>() {
        return Ok(SiteTz::Named(tz));
    }
    let offset = raw.strip_prefix("UTC").or_else(|| raw.strip_prefix("GMT")).unwrap_or(raw);
    let bad = || Error::config(format!("timezone '{raw}' is neither an IANA time zone nor an offset like +05:30"));
    let (sign, digits) = match offset.chars().next() {
        Some('+') => (1, &offset[1..]),
        Some('-') => (-1, &offset[1..]),
        _ => return Err(bad()),
    };
    let minutes = if let Some((h, m)) = digits.split_once(':') {
        let h: i32 = h.parse().map_err(|_| bad())?;
        let m: i32 = m.parse().map_err(|_| bad())?;
        if m >= 60 {
            return Err(bad());
        }
        h * 60 + m
    } else {
        let hours: f64 = digits.parse().map_err(|_| bad())?;
        (hours * 60.0).round() as i32
    };
    if minutes > 14 * 60 {
        return Err(bad());
    }
    FixedOffset::east_opt(sign * minutes * 60).map(SiteTz::Offset).ok_or_else(bad)
}

/// Whether a URL points at this machine (127.0.0.0/8, ::1, localhost).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// HTTPS only; plain HTTP only to loopback and only when explicitly allowed (emulators).
pub fn check_endpoint(name: &str, raw: &str, allow_insecure_loopback: bool) -> Result<Url> {
    let url = Url::parse(raw).map_err(|_| Error::config(format!("endpoint '{name}' is not an absolute URL")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_insecure_loopback && is_loopback(&url) => Ok(url),
        "http" if is_loopback(&url) => Err(Error::config(format!(
            "endpoint '{name}' uses plain HTTP: allowed only for loopback with allow_insecure_loopback"
        ))),
        _ => Err(Error::config(format!("endpoint '{name}' must use HTTPS"))),
    }
}

fn parse_endpoints(value: Option<&Value>, allow_insecure_loopback: bool) -> Result<Endpoints> {
    let empty = Map::new();
    let map = match value {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(Value::Array(a)) if a.is_empty() => &empty,
        Some(_) => return Err(Error::config("endpoints must be an array with keys auth, token, revoke, calendar")),
    };
    if let Some(k) = map.keys().find(|k| !["auth", "token", "revoke", "calendar"].contains(&k.as_str())) {
        return Err(Error::config(format!("unknown endpoint '{k}' (expected auth, token, revoke, calendar)")));
    }
    let get = |key: &str, default: &str| -> Result<Url> {
        match map.get(key) {
            None | Some(Value::Null) => check_endpoint(key, default, allow_insecure_loopback),
            Some(Value::String(s)) => check_endpoint(key, s.trim_end_matches('/'), allow_insecure_loopback),
            Some(_) => Err(Error::config(format!("endpoint '{key}' must be a string"))),
        }
    };
    Ok(Endpoints {
        auth: get("auth", GOOGLE_AUTH_URL)?,
        token: get("token", GOOGLE_TOKEN_URL)?,
        revoke: get("revoke", GOOGLE_REVOKE_URL)?,
        calendar: get("calendar", GOOGLE_CALENDAR_URL)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"db_host": "127.0.0.1:3306", "db_user": "wp", "db_password": "pw", "db_name": "wp",
               "table_prefix": "wp_", "client_id": "id", "client_secret": "s",
               "redirect_uri": "https://clinic.example/wp-json/kc-meet/v1/oauth/callback",
               "encryption_key": "k", "timezone": "Europe/Paris"})
    }

    #[test]
    fn wordpress_db_host_forms_parse() {
        assert_eq!(parse_db_host("db.internal").unwrap(), DbTarget::Tcp { host: "db.internal".into(), port: 3306 });
        assert_eq!(parse_db_host("db:3307").unwrap(), DbTarget::Tcp { host: "db".into(), port: 3307 });
        assert_eq!(
            parse_db_host("localhost:/var/run/mysqld/mysqld.sock").unwrap(),
            DbTarget::Socket { path: "/var/run/mysqld/mysqld.sock".into() }
        );
        assert_eq!(parse_db_host("[::1]:3308").unwrap(), DbTarget::Tcp { host: "::1".into(), port: 3308 });
        assert_eq!(
            parse_db_host("db:3307:/tmp/x.sock").unwrap(),
            DbTarget::Socket { path: "/tmp/x.sock".into() }
        );
        assert!(parse_db_host("db:notaport").is_err());
        assert!(parse_db_host("").is_err());
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_rejected() {
        let mut v = base();
        v["colour"] = json!("blue");
        let e = Config::from_value(&v).unwrap_err();
        assert_eq!(e.code, Code::ConfigInvalid);
        assert!(e.message.contains("colour"));

        let mut v = base();
        v["db_user"] = json!(["x"]);
        assert_eq!(Config::from_value(&v).unwrap_err().code, Code::ConfigInvalid);

        let mut v = base();
        v["table_prefix"] = json!("wp_; DROP");
        assert_eq!(Config::from_value(&v).unwrap_err().code, Code::ConfigInvalid);
    }

    #[test]
    fn control_characters_are_refused_except_in_secrets() {
        for key in ["db_name", "db_user", "client_id", "redirect_uri", "timezone"] {
            let mut v = base();
            v[key] = json!(format!("{}\0x", v[key].as_str().unwrap()));
            let e = Config::from_value(&v).unwrap_err();
            assert_eq!((e.code, e.message.contains(key)), (Code::ConfigInvalid, true), "{key}");
        }
        let mut v = base();
        v["db_password"] = json!("p\tw\n");
        assert_eq!(Config::from_value(&v).unwrap().db.password.expose(), "p\tw\n");
    }

    #[test]
    fn endpoints_must_be_https_unless_loopback_is_allowed() {
        let mut v = base();
        v["endpoints"] = json!({"token": "http://127.0.0.1:9/token"});
        assert!(Config::from_value(&v).is_err());
        v["allow_insecure_loopback"] = json!(true);
        assert_eq!(Config::from_value(&v).unwrap().endpoints.token.as_str(), "http://127.0.0.1:9/token");
        v["endpoints"] = json!({"token": "http://evil.example/token"});
        assert!(Config::from_value(&v).is_err());
        v["endpoints"] = json!({"tokn": "https://x"});
        assert!(Config::from_value(&v).is_err());
    }

    #[test]
    fn missing_client_is_a_problem_not_an_error() {
        let mut v = base();
        v["client_id"] = json!("");
        v["encryption_key"] = json!("");
        v["redirect_uri"] = json!("http://clinic.example/cb");
        let c = Config::from_value(&v).unwrap();
        let codes: Vec<_> = c.problems().iter().map(|p| p.code).collect();
        assert_eq!(codes, ["missing_client", "redirect_uri_not_https", "missing_encryption_key"]);
        assert_eq!(c.oauth_ready().unwrap_err().code, Code::NotConfigured);
    }

    #[test]
    fn timezones_parse_as_wordpress_writes_them() {
        assert_eq!(parse_timezone("").unwrap(), SiteTz::Named(chrono_tz::UTC));
        assert_eq!(parse_timezone("America/New_York").unwrap(), SiteTz::Named(chrono_tz::America::New_York));
        let ist = SiteTz::Offset(FixedOffset::east_opt(5 * 3600 + 1800).unwrap());
        assert_eq!(parse_timezone("+05:30").unwrap(), ist);
        assert_eq!(parse_timezone("UTC+5:30").unwrap(), ist);
        assert_eq!(parse_timezone("UTC+5.5").unwrap(), ist);
        assert_eq!(parse_timezone("-3").unwrap(), SiteTz::Offset(FixedOffset::west_opt(3 * 3600).unwrap()));
        assert!(parse_timezone("Mars/Olympus").is_err());
        assert!(parse_timezone("+25:00").is_err());
    }
}
