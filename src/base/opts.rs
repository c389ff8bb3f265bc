//! The `$opts` arrays of the native functions: what a caller may pass, refused loudly
//! otherwise.
//!
//! A typo such as `['stat' => 'failed']` must not silently list everything: an unknown key, a
//! list where options belong, or a value of the wrong type is an invalid argument naming the
//! key. PHP's `[]` and `null` mean "every default". Nothing here knows what an option means:
//! each use case checks its values' ranges.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};

/// Checks that `opts` is an options array (or nothing) whose keys are all in `known`; `what`
/// names the function in the message.
pub fn known_keys(opts: &Value, what: &str, known: &[&str]) -> Result<()> {
    let map = match opts {
        Value::Null => return Ok(()),
        Value::Array(a) if a.is_empty() => return Ok(()),
        Value::Object(m) => m,
        _ => return Err(Error::invalid_argument(format!("{what}: the options must be an array of key => value, one of: {}", known.join(", ")))),
    };
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(Error::invalid_argument(format!("{what}: unknown option '{k}' (known: {})", known.join(", ")))),
        None => Ok(()),
    }
}

/// Reads `opts` into `T` (its fields are the known keys): [`known_keys`] first, then each
/// value must have its field's type (the message names the field).
pub fn parse<T: DeserializeOwned + Default>(opts: &Value, what: &str, known: &[&str]) -> Result<T> {
    known_keys(opts, what, known)?;
    match opts {
        Value::Object(m) => {
            for (k, v) in m {
                // One field at a time, so that the message names the key with the bad value.
                let mut one = serde_json::Map::new();
                one.insert(k.clone(), v.clone());
                serde_json::from_value::<T>(Value::Object(one)).map_err(|e| Error::invalid_argument(format!("{what}: option '{k}': {e}")))?;
            }
            serde_json::from_value(opts.clone()).map_err(|e| Error::invalid_argument(format!("{what}: {e}")))
        }
        _ => Ok(T::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;
    use serde_json::json;

    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    struct Opts {
        state: Option<String>,
        limit: Option<u32>,
    }

    const KNOWN: &[&str] = &["state", "limit"];

    #[test]
    fn nothing_and_an_empty_array_are_the_defaults() {
        for v in [Value::Null, json!([]), json!({})] {
            assert_eq!(parse::<Opts>(&v, "f()", KNOWN).unwrap(), Opts::default());
        }
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        let e = parse::<Opts>(&json!({"stat": "failed"}), "kc_meet_jobs()", KNOWN).unwrap_err();
        assert_eq!(e.code, Code::InvalidArgument);
        assert_eq!(e.message, "kc_meet_jobs(): unknown option 'stat' (known: state, limit)");
        assert!(known_keys(&json!({"state": 1, "limits": 2}), "f()", KNOWN).unwrap_err().message.contains("'limits'"));
    }

    #[test]
    fn a_list_is_not_options() {
        let e = parse::<Opts>(&json!(["failed", 5]), "f()", KNOWN).unwrap_err();
        assert_eq!(e.code, Code::InvalidArgument);
        assert!(e.message.contains("must be an array of key => value"), "{}", e.message);
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key() {
        let e = parse::<Opts>(&json!({"state": "queued", "limit": "ten"}), "f()", KNOWN).unwrap_err();
        assert!(e.message.starts_with("f(): option 'limit': invalid type"), "{}", e.message);
        assert_eq!(parse::<Opts>(&json!({"state": "queued", "limit": 7}), "f()", KNOWN).unwrap(), Opts { state: Some("queued".into()), limit: Some(7) });
    }
}
