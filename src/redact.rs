//! Keeping secrets out of messages.
//!
//! [`Secret`] wraps a token, client secret, code or verifier so that it cannot be printed by
//! accident (`Debug` and `Display` show `[redacted]`). [`text`] scrubs anything shaped like a
//! credential from text that came from outside (Google's error descriptions, driver errors)
//! before it is put into an error message, a log line or the audit trail.

use std::fmt;

/// A credential. Read it with [`Secret::expose`] only where it is sent to Google or sealed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '~' | '+' | '=')
}

/// Whether a word looks like a credential: Google's token prefixes, or a long run of
/// token characters mixing letters and digits (an opaque token, a code, a verifier).
fn looks_secret(word: &str) -> bool {
    const PREFIXES: [&str; 5] = ["ya29.", "1//", "4/0", "GOCSPX-", "kcm1:"];
    if PREFIXES.iter().any(|p| word.starts_with(p)) {
        return true;
    }
    let long = word.len() >= 28;
    let letters = word.chars().any(|c| c.is_ascii_alphabetic());
    let digits = word.chars().any(|c| c.is_ascii_digit());
    let url_like = word.contains("://") || word.starts_with("www.") || word.contains(".com/");
    long && letters && digits && !url_like
}

/// Returns `input` with every credential-shaped word replaced by `[redacted]`, cut to a
/// length that fits an admin notice.
pub fn text(input: &str) -> String {
    let mut out = String::with_capacity(input.len().min(600));
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if !word.is_empty() {
            if looks_secret(word) {
                out.push_str("[redacted]");
            } else {
                out.push_str(word);
            }
            word.clear();
        }
    };
    for c in input.chars() {
        if is_token_char(c) {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    if out.chars().count() > 500 {
        out = out.chars().take(497).collect::<String>() + "...";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints_its_value() {
        let s = Secret::new("1//0abcdef");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "1//0abcdef");
    }

    #[test]
    fn google_shaped_tokens_are_scrubbed() {
        let t = text("bad token ya29.a0AfH6SMB and refresh 1//0gXyz plus code 4/0AX4XfWh, ok");
        assert_eq!(t, "bad token [redacted] and refresh [redacted] plus code [redacted], ok");
    }

    #[test]
    fn long_opaque_words_are_scrubbed_but_prose_and_urls_stay() {
        let t = text("verifier Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg is wrong; see https://developers.google.com/identity/sign-in/web/devconsole-project.");
        assert!(t.starts_with("verifier [redacted] is wrong; see https://developers.google.com/identity"));
    }

    #[test]
    fn long_text_is_cut() {
        assert!(text(&"word ".repeat(300)).chars().count() <= 500);
    }
}
