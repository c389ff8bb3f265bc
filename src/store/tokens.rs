//! A doctor's stored Google tokens: the record, its sealed form, and the vendor's legacy forms.
//!
//! Owns the meaning of the `google_meet_access_token` user meta value. What we write is always
//! sealed ([`crate::base::crypto`]); what we read may also be the vendor add-on's plaintext, either as
//! JSON or PHP-serialized by `update_user_meta`, in two shapes: 1.x (Google's PHP client:
//! `expires_in` seconds plus `created`) and 4.x (`expires_in` holding an absolute Unix time).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::base::crypto::Keyring;
use crate::error::{Code, Error, Result};
use crate::base::redact::Secret;

/// The decrypted token record.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Unix time the access token stops working (0 = unknown: refresh before use).
    pub expires_at: i64,
    #[serde(default)]
    pub scope: String,
}

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord").field("expires_at", &self.expires_at).field("scope", &self.scope).finish_non_exhaustive()
    }
}

impl TokenRecord {
    pub fn access(&self) -> Secret {
        Secret::new(self.access_token.clone())
    }

    pub fn refresh(&self) -> Option<Secret> {
        self.refresh_token.clone().filter(|r| !r.is_empty()).map(Secret::new)
    }
}

/// What was found in the meta value.
pub struct Loaded {
    pub record: TokenRecord,
    /// Legacy plaintext or an old key: write it back sealed under the current key.
    pub needs_reseal: bool,
}

/// The associated data that binds a sealed token to its user.
fn aad(user_id: u64) -> String {
    format!("google_meet_access_token|{user_id}")
}

/// Seals a record for `user_id`.
pub fn seal(keyring: &Keyring, user_id: u64, record: &TokenRecord) -> String {
    let json = serde_json::to_string(record).expect("a token record always serializes");
    keyring.seal(&json, &aad(user_id))
}

/// Reads a stored value: sealed, or the vendor's legacy plaintext.
pub fn open(keyring: &Keyring, user_id: u64, stored: &str) -> Result<Loaded> {
    if Keyring::is_sealed(stored) {
        let opened = keyring.open(stored, &aad(user_id))?;
        let record: TokenRecord = serde_json::from_str(opened.plaintext.expose())
            .map_err(|_| Error::new(Code::EncryptionKey, "the stored Google token is not a token record"))?;
        return Ok(Loaded { record, needs_reseal: opened.needs_reseal });
    }
    let value = parse_legacy(stored)
        .ok_or_else(|| Error::new(Code::NeedsReconnect, "the stored Google token is unreadable: the doctor must connect again"))?;
    Ok(Loaded { record: from_legacy(&value)?, needs_reseal: true })
}

/// Parses legacy plaintext: JSON (possibly JSON-encoded twice) or a PHP-serialized array.
fn parse_legacy(stored: &str) -> Option<Value> {
    let s = stored.trim();
    match serde_json::from_str::<Value>(s) {
        Ok(Value::String(inner)) => serde_json::from_str(&inner).ok(),
        Ok(v @ Value::Object(_)) => Some(v),
        _ => php_unserialize_flat(s),
    }
}

fn from_legacy(v: &Value) -> Result<TokenRecord> {
    let text = |k: &str| v.get(k).and_then(|x| x.as_str().map(str::to_string).or_else(|| x.as_i64().map(|n| n.to_string())));
    let num = |k: &str| v.get(k).and_then(|x| x.as_i64().or_else(|| x.as_str().and_then(|s| s.parse().ok())));
    let access_token = text("access_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::new(Code::NeedsReconnect, "the stored Google token has no access token: the doctor must connect again"))?;
    let expires_at = match (num("expires_in"), num("created")) {
        // 1.x: Google's PHP client stores a lifetime and the time it was created.
        (Some(lifetime), Some(created)) => created + lifetime,
        // 4.x: `expires_in` already holds the absolute expiry.
        (Some(at), None) if at > 1_000_000_000 => at,
        _ => 0,
    };
    Ok(TokenRecord { access_token, refresh_token: text("refresh_token"), expires_at, scope: text("scope").unwrap_or_default() })
}

/// Reads `a:N:{s:L:"k";s:L:"v";s:L:"k";i:N;…}`: the flat arrays `update_user_meta` writes for a
/// token array. Anything else (nested arrays, objects) is not a token and yields `None`.
fn php_unserialize_flat(s: &str) -> Option<Value> {
    let rest = s.strip_prefix("a:")?;
    let (count, rest) = rest.split_once(':')?;
    let count: usize = count.parse().ok()?;
    let mut rest = rest.strip_prefix('{')?;
    let mut map = serde_json::Map::new();
    fn scalar(input: &str) -> Option<(Value, &str)> {
        let (tag, rest) = input.split_once(':')?;
        match tag {
            "s" => {
                let (len, rest) = rest.split_once(':')?;
                let len: usize = len.parse().ok()?;
                let body = rest.strip_prefix('"')?;
                let text = body.get(..len)?;
                let rest = body.get(len..)?.strip_prefix("\";")?;
                Some((Value::String(text.to_string()), rest))
            }
            "i" => {
                let (n, rest) = rest.split_once(';')?;
                Some((Value::from(n.parse::<i64>().ok()?), rest))
            }
            "d" => {
                let (n, rest) = rest.split_once(';')?;
                Some((Value::from(n.parse::<f64>().ok()? as i64), rest))
            }
            "b" => {
                let (n, rest) = rest.split_once(';')?;
                Some((Value::Bool(n == "1"), rest))
            }
            _ => None,
        }
    }
    for _ in 0..count {
        let (k, r) = scalar(rest)?;
        let (v, r) = scalar(r)?;
        map.insert(k.as_str().map(str::to_string).unwrap_or_else(|| k.to_string()), v);
        rest = r;
    }
    rest.strip_prefix('}')?;
    Some(Value::Object(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::new(&Secret::new("k"), &[]).unwrap()
    }

    #[test]
    fn sealed_record_round_trips_for_its_user_only() {
        let r = TokenRecord { access_token: "ya29.a".into(), refresh_token: Some("1//r".into()), expires_at: 5, scope: "s".into() };
        let stored = seal(&ring(), 7, &r);
        assert!(!stored.contains("ya29") && !stored.contains("1//"));
        let l = open(&ring(), 7, &stored).unwrap();
        assert_eq!(l.record.access_token, "ya29.a");
        assert!(!l.needs_reseal);
        assert!(open(&ring(), 8, &stored).is_err());
    }

    #[test]
    fn vendor_1x_json_token_is_read_and_marked_for_reseal() {
        let l = open(&ring(), 1, r#"{"access_token":"ya29.x","expires_in":3599,"refresh_token":"1//y","scope":"https://www.googleapis.com/auth/calendar","token_type":"Bearer","created":1700000000}"#).unwrap();
        assert_eq!(l.record.expires_at, 1700003599);
        assert_eq!(l.record.refresh_token.as_deref(), Some("1//y"));
        assert!(l.needs_reseal);
    }

    #[test]
    fn vendor_4x_token_with_absolute_expiry_is_read() {
        let l = open(&ring(), 1, r#"{"access_token":"ya29.x","refresh_token":"1//y","expires_in":1800000000,"scope":"s"}"#).unwrap();
        assert_eq!(l.record.expires_at, 1800000000);
    }

    #[test]
    fn php_serialized_token_array_is_read() {
        let s = r#"a:4:{s:12:"access_token";s:6:"ya29.x";s:13:"refresh_token";s:4:"1//y";s:10:"expires_in";i:1800000000;s:5:"scope";s:1:"s";}"#;
        let l = open(&ring(), 1, s).unwrap();
        assert_eq!(l.record.access_token, "ya29.x");
        assert_eq!(l.record.expires_at, 1800000000);
    }

    #[test]
    fn garbage_means_reconnect() {
        assert_eq!(open(&ring(), 1, "not a token").err().unwrap().code, Code::NeedsReconnect);
        assert_eq!(open(&ring(), 1, r#"{"refresh_token":"x"}"#).err().unwrap().code, Code::NeedsReconnect);
    }
}
