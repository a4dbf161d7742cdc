//! The crate's modules read one way: a module uses only modules of lower
//! layers (the list in `src/lib.rs`), so no two modules depend on each
//! other. Checked on the source text: every `crate::module` path outside
//! comments and `#[cfg(test)]` modules.

use std::collections::BTreeSet;

/// Lowest first; modules of one layer do not use each other.
const LAYERS: &[&[&str]] = &[
    &["method", "state", "invocation", "panic", "response"],
    &["request", "describe", "stream"],
    &["extract", "cors", "decision"],
    &["trigger"],
    &["authorizer", "event"],
    &["websocket"],
    &["connections", "route"],
    &["auth"],
    &["dispatch"],
    &["logging", "runtime", "server", "test"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The modules `source` names as `crate::module`, outside comments and
/// unit-test modules.
fn uses(source: &str) -> BTreeSet<String> {
    let code = source
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    let mut found = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or_default();
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            // `use crate::{a, b::C}` names several.
            if name.is_empty() && rest.starts_with('{') {
                let group = rest[1..].split('}').next().unwrap_or_default();
                for part in group.split(',') {
                    let m: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    found.insert(m);
                }
            } else {
                found.insert(name);
            }
        }
    }
    found
}

#[test]
fn modules_use_only_lower_layers() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_some_and(|e| e == "rs") && name != "lib" {
            modules.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    let mut wrong = Vec::new();
    for (module, source) in &modules {
        let Some(own) = layer_of(module) else {
            wrong.push(format!(
                "`{module}` is in no layer: add it to LAYERS and to src/lib.rs"
            ));
            continue;
        };
        for used in uses(source) {
            match layer_of(&used) {
                Some(l) if l < own => {}
                Some(_) => wrong.push(format!("`{module}` uses `{used}`, which is not below it")),
                // The crate root's items (`crate::Error`, re-exports).
                None => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_uses() {
    let found = uses(
        "use crate::route::Route;\nuse crate::{state::States, panic};\n// crate::dispatch\nlet x = crate::cors::Cors::new();\n#[cfg(test)]\nmod tests {\n    use crate::test::Client;\n}\n",
    );
    let expected: BTreeSet<String> = ["route", "state", "panic", "cors"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(found, expected);
}
