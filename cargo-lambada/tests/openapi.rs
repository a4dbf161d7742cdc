//! `cargo lambada openapi`: every example's document passes
//! openapi-spec-validator (3.1), in JSON and YAML; the document follows
//! the handlers' types (change a type, the document changes); `package`'s
//! definition, the same document in OpenAPI 3.0 with API Gateway's
//! extensions, validates too.

mod serve_support;

use std::path::Path;

use lambada_test_support::need;
use serde_json::Value;
use serve_support::{cargo_lambada, workspace};

fn openapi(manifest: &Path, extra: &[&str], out: &Path) {
    let run = cargo_lambada()
        .args(["openapi", "--manifest-path"])
        .arg(manifest)
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}: {}",
        manifest.display(),
        String::from_utf8_lossy(&run.stderr)
    );
}

fn validate(file: &Path) {
    let v = std::process::Command::new("openapi-spec-validator")
        .arg(file)
        .output()
        .unwrap();
    assert!(
        v.status.success(),
        "{}: {}{}",
        file.display(),
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
}

#[test]
fn every_examples_document_validates() {
    need("openapi-spec-validator");
    let dir = tempfile::tempdir().unwrap();
    for (example, bins) in [
        ("helloworld", &[][..]),
        ("redirect", &[][..]),
        ("ecs-alb", &["orders", "inventory"][..]),
        ("slack-bot", &[][..]),
        ("partner-api", &[][..]),
        ("ses-mailing", &[][..]),
        ("iot-catalog", &[][..]),
    ] {
        let manifest = workspace()
            .join("examples")
            .join(example)
            .join("Cargo.toml");
        let runs: Vec<Vec<&str>> = if bins.is_empty() {
            vec![vec![]]
        } else {
            bins.iter().map(|b| vec!["--bin", *b]).collect()
        };
        for extra in runs {
            let name = format!("{example}-{}", extra.last().unwrap_or(&"app"));
            for ext in ["json", "yaml"] {
                let out = dir.path().join(format!("{name}.{ext}"));
                openapi(&manifest, &extra, &out);
                validate(&out);
            }
            let doc: Value = serde_json::from_slice(
                &std::fs::read(dir.path().join(format!("{name}.json"))).unwrap(),
            )
            .unwrap();
            assert_eq!(doc["openapi"], "3.1.0", "{name}");
            assert!(
                doc["paths"].as_object().is_some_and(|p| !p.is_empty()),
                "{name}: {doc}"
            );
        }
    }
}

/// A project whose one handler takes `id: <ty>` and returns `<ret>`.
fn project(dir: &Path, ty: &str, ret: &str, body: &str) -> std::path::PathBuf {
    let runtime = workspace().join("lambada-runtime");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"typed\"\nversion = \"0.2.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\nlambada = {{ package = \"lambada-runtime\", path = {:?} }}\n\n[workspace]\n",
            runtime.display().to_string()
        ),
    )
    .unwrap();
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        format!(
            "use lambada::prelude::*;\n\n/// Looks one up.\n#[get(\"/things/<id>\")]\nasync fn thing(id: {ty}) -> {ret} {{\n    {body}\n}}\n\n#[lambada::main]\nasync fn main() -> Result<(), lambada::Error> {{\n    lambada::run(routes![thing]).await\n}}\n"
        ),
    )
    .unwrap();
    dir.join("Cargo.toml")
}

#[test]
fn the_document_follows_the_types() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("doc.json");
    let read = || -> Value { serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap() };

    let manifest = project(dir.path(), "u8", "String", "id.to_string()");
    openapi(&manifest, &[], &out);
    let doc = read();
    assert_eq!(
        doc["info"],
        serde_json::json!({"title": "typed", "version": "0.2.0"})
    );
    let op = &doc["paths"]["/things/{id}"]["get"];
    assert_eq!(op["summary"], "Looks one up.");
    assert_eq!(op["parameters"][0]["schema"]["maximum"], 255);
    assert!(op["responses"]["200"]["content"]["text/plain; charset=utf-8"].is_object());

    project(dir.path(), "String", "Json<Vec<String>>", "Json(vec![id])");
    openapi(&manifest, &[], &out);
    let doc = read();
    let op = &doc["paths"]["/things/{id}"]["get"];
    assert_eq!(
        op["parameters"][0]["schema"],
        serde_json::json!({"type": "string"})
    );
    assert!(
        op["responses"]["200"]["content"]["application/json"].is_object(),
        "{op}"
    );
}
