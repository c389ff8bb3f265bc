//! The module map of `src/lib.rs` stays true: every `crate::` path in `src/` (code, comments and
//! intra-doc links alike) points to a module of a lower layer, so there is no cycle and no
//! upward arrow. A module may use its own submodules and its parent folder's root.
//!
//! Adding a module means giving it a layer here; a path to a higher layer fails with the file,
//! the line and the two modules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each module's layer (lower number = lower layer). A module may only name modules whose
/// layer is strictly lower. Keep in step with the map in `src/lib.rs`.
const LAYERS: &[(&str, u32)] = &[
    // base/: the shared vocabulary
    ("base", 0),
    ("base::redact", 0),
    ("error", 1),
    ("base::crypto", 2),
    ("base::config", 2),
    ("base::retry", 2),
    ("base::opts", 2),
    ("base::str_enum", 0),
    // adapters: Google's HTTP APIs and the MySQL database
    ("google", 3),
    ("google::http", 3),
    ("google::oauth", 4),
    ("google::calendar", 4),
    ("store", 3),
    ("store::tokens", 3),
    ("store::events", 3),
    ("store::sync", 4),
    // the per-process context
    ("runtime", 5),
    // the domain: a doctor's grant, an appointment, its event
    ("grant", 6),
    ("appointments", 6),
    ("events", 7),
    // listing and applying Google's changes; reviewing a move
    ("sync", 8),
    ("review", 8),
    // push channels, reconcile, the job runner
    ("channels", 9),
    ("reconcile", 9),
    ("jobs", 9),
    // use cases the plugin calls
    ("connection", 10),
    ("health", 10),
    ("screens", 10),
    ("privacy", 11),
    // the PHP boundary
    ("php", 12),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/store/events.rs` → `store::events`; `src/store.rs` → `store`.
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).expect("under src/").with_extension("");
    let name = rel.to_string_lossy().replace('/', "::");
    name.strip_suffix("::mod").map(str::to_string).unwrap_or(name)
}

fn ident(s: &[u8], mut i: usize) -> (String, usize) {
    let start = i;
    while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'_') {
        i += 1;
    }
    (String::from_utf8_lossy(&s[start..i]).into_owned(), i)
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The paths named after `crate::` at `i` (a plain path or a `{…}` group, nested), each
/// prefixed with `prefix`. Returns where the path ends.
fn paths_at(s: &[u8], mut i: usize, prefix: &str, out: &mut Vec<String>) -> usize {
    let mut path = prefix.to_string();
    loop {
        i = skip_ws(s, i);
        if i < s.len() && s[i] == b'{' {
            i += 1;
            loop {
                i = skip_ws(s, i);
                if i >= s.len() {
                    return i;
                }
                if s[i] == b'}' {
                    return i + 1;
                }
                if s[i] == b',' {
                    i += 1;
                    continue;
                }
                let before = i;
                i = paths_at(s, i, &path, out);
                // `x as y`: skip the alias.
                i = skip_ws(s, i);
                if s[i..].starts_with(b"as ") {
                    let (_, j) = ident(s, skip_ws(s, i + 3));
                    i = j;
                }
                if i == before {
                    i += 1; // something unexpected: never loop forever
                }
            }
        }
        let (name, j) = ident(s, i);
        if name.is_empty() {
            out.push(path);
            return i;
        }
        i = j;
        if name != "self" {
            if !path.is_empty() {
                path.push_str("::");
            }
            path.push_str(&name);
        }
        if s[i..].starts_with(b"::") {
            i += 2;
        } else {
            out.push(path);
            return i;
        }
    }
}

/// The module a path names: its longest prefix that is a module.
fn target(path: &str, layers: &BTreeMap<&str, u32>) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len()).rev().map(|n| parts[..n].join("::")).find(|p| layers.contains_key(p.as_str()))
}

#[test]
fn every_crate_path_points_to_a_lower_layer() {
    let layers: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let mut files = vec![];
    rust_files(&src(), &mut files);
    files.sort();
    let mut unknown = vec![];
    let mut upward = vec![];
    let mut edges = 0;
    for file in &files {
        let module = module_of(file);
        if module == "lib" {
            continue; // the crate's map names every module
        }
        let Some(&from) = layers.get(module.as_str()) else {
            unknown.push(module);
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a source file");
        let bytes = text.as_bytes();
        for (at, _) in text.match_indices("crate::") {
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue; // `kc_meet_crate::`, `$crate::` and the like are not ours
            }
            let mut paths = vec![];
            paths_at(bytes, at + "crate::".len(), "", &mut paths);
            for p in paths {
                let Some(to) = target(&p, &layers) else { continue };
                let related = to == module || module.starts_with(&format!("{to}::")) || to.starts_with(&format!("{module}::"));
                if related {
                    continue;
                }
                edges += 1;
                if layers[to.as_str()] >= from {
                    let line = text[..at].matches('\n').count() + 1;
                    upward.push(format!("{}:{line}: {module} (layer {from}) -> {to} (layer {}) via crate::{p}", file.strip_prefix(src()).map(|p| format!("src/{}", p.display())).unwrap_or_default(), layers[to.as_str()]));
                }
            }
        }
    }
    assert!(unknown.is_empty(), "modules without a layer in tests/layers.rs: {unknown:?}");
    assert!(edges > 50, "the check found only {edges} crate:: paths: the parser is broken");
    assert!(upward.is_empty(), "paths to the same or a higher layer:\n{}", upward.join("\n"));
}

#[test]
fn the_parser_reads_groups_aliases_and_nesting() {
    let mut out = vec![];
    paths_at(b"{a, b::{self, C}, d as e, f::g};", 0, "", &mut out);
    assert_eq!(out, ["a", "b", "b::C", "d", "f::g"]);
    let mut out = vec![];
    paths_at(b"store::events::Job>", 0, "", &mut out);
    assert_eq!(out, ["store::events::Job"]);
}
