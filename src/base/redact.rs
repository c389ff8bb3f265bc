//! Keeping secrets out of messages.
//!
//! [`Secret`] wraps a token, client secret, code or verifier so that it cannot be printed by
//! accident (`Debug` and `Display` show `[redacted]`). [`text`] scrubs anything shaped like a
//! credential from text that came from outside (Google's error descriptions, driver errors)
//! before it is put into an error message, a log line or the audit trail. [`cut`] keeps what an
//! error message quotes from its caller short: every error passes through it when it is built, so
//! a megabyte pasted into an argument comes back as a short prefix, not whole.

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

/// The longest run of non-blank characters an error message keeps: room for any id, zone, date,
/// key or URL it names, not for a value pasted whole.
const MAX_WORD: usize = 80;
/// The longest error message, in characters.
const MAX_MESSAGE: usize = 600;

/// Returns `message` with each run of non-blank characters longer than [`MAX_WORD`] cut to its
/// first [`MAX_WORD`] characters and `…` (a closing quote or bracket is kept), control characters
/// other than newlines shown as `?`, and the whole cut to [`MAX_MESSAGE`] characters.
pub fn cut(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE + 8));
    let mut count = 0;
    let mut word = 0;
    let mut last = ' ';
    let end_word = |out: &mut String, word: usize, last: char| {
        if word > MAX_WORD && matches!(last, '\'' | '`' | '"' | ')' | ']' | ',' | '.' | ':' | ';') {
            out.push(last);
        }
    };
    for c in message.chars() {
        if count > MAX_MESSAGE {
            break;
        }
        if c.is_whitespace() {
            end_word(&mut out, word, last);
            word = 0;
        } else {
            word += 1;
            last = c;
            if word > MAX_WORD {
                if word == MAX_WORD + 1 {
                    out.push('…');
                    count += 1;
                }
                continue;
            }
        }
        out.push(if c.is_control() && c != '\n' { '?' } else { c });
        count += 1;
    }
    end_word(&mut out, word, last);
    if count > MAX_MESSAGE {
        out = out.chars().take(MAX_MESSAGE - 1).collect::<String>() + "…";
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

    #[test]
    fn a_pasted_value_is_cut_to_a_short_prefix_and_the_message_keeps_its_end() {
        let m = cut(&format!("appointment start '{}' is not a date", "9".repeat(1 << 20)));
        assert_eq!(m, format!("appointment start '{}…' is not a date", "9".repeat(MAX_WORD - 1)));
    }

    #[test]
    fn ordinary_messages_are_unchanged() {
        let m = "timezone 'Europe/Paris' is neither an IANA time zone nor an offset like +05:30\nsee https://developers.google.com/calendar/api/v3/reference";
        assert_eq!(cut(m), m);
    }

    #[test]
    fn long_prose_is_cut_and_control_characters_are_shown() {
        assert_eq!(cut("a\0b\rc"), "a?b?c");
        let m = cut(&"many words ".repeat(100_000));
        assert_eq!(m.chars().count(), MAX_MESSAGE);
        assert!(m.ends_with('…'));
    }
}
