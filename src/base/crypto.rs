//! Sealing secrets at rest: XChaCha20-Poly1305 under keys derived with HKDF-SHA256.
//!
//! Owns the stored format `kcm1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id (8
//! hex digits derived from the key) lets keys rotate: values sealed under a previous key still
//! open, and callers re-seal them under the current one. The associated data binds a value to
//! where it is stored (meta key and user id), so a sealed token copied to another doctor's row
//! does not open. Nonces are random (24 bytes: no collision worry) from the OS, which is safe
//! after a fork.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;

use crate::error::{Code, Error, Result};
use crate::base::redact::Secret;

const PREFIX: &str = "kcm1";
const SALT: &[u8] = b"kc-meet token encryption v1";

struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl Key {
    fn derive(material: &Secret) -> Key {
        let hk = Hkdf::<Sha256>::new(Some(SALT), material.expose().as_bytes());
        let mut key = [0u8; 32];
        hk.expand(b"xchacha20poly1305 key", &mut key).expect("32 bytes is a valid HKDF length");
        let mut id = [0u8; 4];
        hk.expand(b"key id", &mut id).expect("4 bytes is a valid HKDF length");
        Key { id: id.iter().map(|b| format!("{b:02x}")).collect(), cipher: XChaCha20Poly1305::new(&key.into()) }
    }
}

/// The current key plus the previous ones still accepted for reading.
pub struct Keyring {
    current: Key,
    previous: Vec<Key>,
}

/// What [`Keyring::open`] found.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened {
    pub plaintext: Secret,
    /// Sealed under a previous key: store it again under the current one.
    pub needs_reseal: bool,
}

impl Keyring {
    /// Builds the keyring; fails when no key material is configured.
    pub fn new(current: &Secret, previous: &[Secret]) -> Result<Keyring> {
        if current.is_empty() {
            return Err(Error::new(
                Code::EncryptionKey,
                "no encryption key is configured: define KC_MEET_ENCRYPTION_KEY (or WordPress's AUTH_KEY and SECURE_AUTH_KEY) in wp-config.php",
            ));
        }
        Ok(Keyring { current: Key::derive(current), previous: previous.iter().map(Key::derive).collect() })
    }

    /// The id written into values sealed now.
    pub fn key_id(&self) -> &str {
        &self.current.id
    }

    /// Whether a stored value is in our sealed format (anything else is legacy plaintext).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with("kcm1:")
    }

    /// Seals `plaintext` for the place named by `aad`.
    pub fn seal(&self, plaintext: &str, aad: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .current
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() })
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut blob = Vec::with_capacity(24 + ct.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ct);
        format!("{PREFIX}:{}:{}", self.current.id, URL_SAFE_NO_PAD.encode(blob))
    }

    /// Opens a value sealed by [`Keyring::seal`] with the same `aad`.
    pub fn open(&self, stored: &str, aad: &str) -> Result<Opened> {
        let bad = |why: &str| Error::new(Code::EncryptionKey, format!("a stored secret cannot be decrypted: {why}"));
        let mut parts = stored.splitn(3, ':');
        let (Some(PREFIX), Some(kid), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("unknown format"));
        };
        let (key, needs_reseal) = if kid == self.current.id {
            (&self.current, false)
        } else if let Some(k) = self.previous.iter().find(|k| k.id == kid) {
            (k, true)
        } else {
            return Err(bad("it was sealed with a key this site no longer has (was the encryption key changed?)"));
        };
        let blob = URL_SAFE_NO_PAD.decode(body).map_err(|_| bad("corrupt encoding"))?;
        if blob.len() < 24 + 16 {
            return Err(bad("truncated"));
        }
        let (nonce, ct) = blob.split_at(24);
        let pt = key
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: aad.as_bytes() })
            .map_err(|_| bad("authentication failed (tampered, or stored for another user)"))?;
        let plaintext = String::from_utf8(pt).map_err(|_| bad("not UTF-8"))?;
        Ok(Opened { plaintext: Secret::new(plaintext), needs_reseal })
    }
}

/// SHA-256 of `text`, lower-case hex (as MySQL's `SHA2(…, 256)` writes it).
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// `bytes` random bytes from the OS (fork-safe), base64url without padding.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(k: &str) -> Keyring {
        Keyring::new(&Secret::new(k), &[]).unwrap()
    }

    #[test]
    fn sealed_value_opens_and_hides_plaintext() {
        let r = ring("site key");
        let s = r.seal("{\"access_token\":\"ya29.x\"}", "meta|7");
        assert!(s.starts_with(&format!("kcm1:{}:", r.key_id())));
        assert!(!s.contains("ya29"));
        let o = r.open(&s, "meta|7").unwrap();
        assert_eq!(o.plaintext.expose(), "{\"access_token\":\"ya29.x\"}");
        assert!(!o.needs_reseal);
    }

    #[test]
    fn same_plaintext_seals_differently_each_time() {
        let r = ring("k");
        assert_ne!(r.seal("x", "a"), r.seal("x", "a"));
    }

    #[test]
    fn value_moved_to_another_user_does_not_open() {
        let r = ring("k");
        let s = r.seal("secret", "meta|7");
        assert_eq!(r.open(&s, "meta|8").unwrap_err().code, Code::EncryptionKey);
    }

    #[test]
    fn tampered_value_does_not_open() {
        let r = ring("k");
        let mut s = r.seal("secret", "a");
        let last = s.pop().unwrap();
        s.push(if last == 'A' { 'B' } else { 'A' });
        assert!(r.open(&s, "a").is_err());
    }

    #[test]
    fn previous_key_opens_and_asks_for_reseal() {
        let old = ring("old");
        let s = old.seal("secret", "a");
        let rotated = Keyring::new(&Secret::new("new"), &[Secret::new("old")]).unwrap();
        let o = rotated.open(&s, "a").unwrap();
        assert_eq!(o.plaintext.expose(), "secret");
        assert!(o.needs_reseal);
        assert!(ring("other").open(&s, "a").unwrap_err().message.contains("no longer has"));
    }

    #[test]
    fn empty_key_is_a_configuration_error() {
        assert_eq!(Keyring::new(&Secret::new(""), &[]).err().unwrap().code, Code::EncryptionKey);
    }
}
