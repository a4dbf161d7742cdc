//! `cargo lambada new`: the generated project builds, its tests pass, and
//! `cargo lambada serve` serves it.

mod serve_support;

use std::process::Command;

use serve_support::{Serve, cargo_lambada, get, target_dir, workspace};

#[tokio::test(flavor = "multi_thread")]
async fn new_project_tests_pass_and_it_serves() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo-api");
    let out = cargo_lambada()
        .args(["new", "demo-api", "--path"])
        .arg(&dir)
        .arg("--path-to-lambada")
        .arg(workspace().join("lambada-runtime"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "Cargo.toml",
        "src/main.rs",
        "src/tests.rs",
        "README.md",
        ".gitignore",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("[package.metadata.lambada]"),
        "{manifest}"
    );

    // Resolve to the versions already compiled here, offline.
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["test", "--offline"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("test result: ok. 2 passed"), "{stdout}");

    let manifest_path = dir.join("Cargo.toml").display().to_string();
    let s = Serve::start(&["--manifest-path", &manifest_path, "--no-reload"], &[]);
    let res = get(s.port, "/hello/Ada").await;
    assert_eq!((res.status, res.text()), (200, "Hello, Ada!".to_owned()));
}

#[test]
fn new_refuses_bad_names_and_non_empty_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cargo_lambada()
        .args(["new", "1bad"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid package name `1bad`"));

    std::fs::write(tmp.path().join("keep.txt"), "x").unwrap();
    let out = cargo_lambada()
        .args(["new", "fine", "--path"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists and is not empty"));
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "nothing written"
    );
}
