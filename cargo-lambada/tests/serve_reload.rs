//! `cargo lambada serve` rebuilds and restarts when a source file changes,
//! keeping its port (requests wait for the new build).

mod serve_support;

use std::time::{Duration, Instant};

use serve_support::{Serve, Stream, fixture, get};

#[tokio::test(flavor = "multi_thread")]
async fn a_source_change_rebuilds_and_restarts() {
    let dir = fixture("faulty", "faulty-reload");
    let manifest = dir.join("Cargo.toml").display().to_string();
    let s = Serve::start(&["--manifest-path", &manifest], &[]);
    assert!(
        s.proc
            .wait_line(Stream::Out, Duration::from_secs(60), |l| l
                .starts_with("Watching "))
            .is_some(),
        "{}",
        s.proc.output()
    );
    let res = get(s.port, "/version").await;
    assert_eq!((res.status, res.text()), (200, "version one".to_owned()));

    let main = dir.join("src/main.rs");
    let source = std::fs::read_to_string(&main).unwrap();
    std::fs::write(
        &main,
        source.replace("\"version one\"", "\"version two, reloaded\""),
    )
    .unwrap();

    let edited = Instant::now();
    let deadline = edited + Duration::from_secs(900);
    loop {
        // Every request is answered, by the old build or (after waiting
        // for the rebuild) by the new one.
        let res = get(s.port, "/version").await;
        assert_eq!(res.status, 200, "{}\n{}", res.text(), s.proc.output());
        if res.text() == "version two, reloaded" {
            eprintln!(
                "reloaded {:.1} s after the edit",
                edited.elapsed().as_secs_f64()
            );
            break;
        }
        assert_eq!(res.text(), "version one");
        assert!(Instant::now() < deadline, "no reload:\n{}", s.proc.output());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(s.wait_log("rebuilding"), "{}", s.proc.output());
    drop(s);
    std::fs::write(&main, source).unwrap();
}
