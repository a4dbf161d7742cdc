//! CORS as a browser sees it: headless Chromium (Debian's `chromium`,
//! installed by `./scripts/test`) loads a page from one loopback origin
//! that `fetch`es examples/helloworld served by `cargo lambada serve` on
//! another port, with the CORS settings given as configuration
//! (`LAMBADA_CORS`). The page writes what each call saw into the DOM, and
//! the test reads it back with `--dump-dom`. No part of the browser is
//! mocked: preflights, credentials and the refusals are Chromium's own.
//! The protected `GET /me` is called with a bearer token serve verifies
//! (`--jwks`), and with a bad one, whose 401 the page can still read.

mod serve_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use lambada_test_support::jwt::{TestKey, now};
use lambada_test_support::{need, run_within};
use serde_json::Value;
use serve_support::{Serve, helloworld};

/// Serves `html` for `GET /` on `listener` (the page's origin) until the
/// test process ends.
fn serve_page(listener: TcpListener, html: String) {
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let html = html.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let (status, body) = if head.starts_with(b"GET / ") {
                    ("200 OK", html)
                } else {
                    ("404 Not Found", String::new())
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
}

/// The page: eight calls to the API (two to the protected `GET /me`, with
/// a good and a garbled bearer token; one to `GET /helloworld/<id>`, open
/// to any origin by a route setting; one to `GET /greet`, whose CORS a
/// route setting turns off), each result (status and body, or the
/// name of the error `fetch` rejected with) written into `#out` as JSON.
fn page(api: &str, token: &str) -> String {
    format!(
        r#"<!doctype html>
<html><head><title>cors</title></head><body>
<pre id="out">pending</pre>
<script>
const api = "{api}";
const TOKEN = "{token}";
async function call(path, init) {{
  try {{
    const r = await fetch(api + path, init);
    return {{status: r.status, body: await r.text()}};
  }} catch (e) {{
    return {{error: e.name}};
  }}
}}
(async () => {{
  const out = {{}};
  out.get = await call("/agent", {{
    headers: {{"X-Client": "lambada-browser-test"}},
    credentials: "include",
  }});
  out.post = await call("/items", {{
    method: "POST",
    headers: {{"Content-Type": "application/json"}},
    body: JSON.stringify({{sku: "ABC-123", quantity: 2}}),
  }});
  out.invalid = await call("/items", {{
    method: "POST",
    headers: {{"Content-Type": "application/json"}},
    body: JSON.stringify({{sku: "ABC-123", quantity: 0}}),
  }});
  out.missing = await call("/items/NOPE");
  out.signedIn = await call("/me", {{headers: {{"Authorization": "Bearer " + TOKEN}}}});
  out.signedOut = await call("/me", {{headers: {{"Authorization": "Bearer expired." + TOKEN}}}});
  out.open = await call("/helloworld/5", {{headers: {{"X-Client": "lambada-browser-test"}}}});
  out.closed = await call("/greet?name=page");
  document.getElementById("out").textContent = JSON.stringify(out);
}})();
</script>
</body></html>"#
    )
}

/// Loads `url` in headless Chromium and returns what the page wrote into
/// `#out`.
fn browse(url: &str) -> Value {
    need("chromium");
    let profile = tempfile::tempdir().unwrap();
    let run = run_within(
        Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                // Network time does not count: the budget waits for fetches.
                "--virtual-time-budget=20000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--dump-dom", url]),
        Duration::from_secs(120),
        "chromium --dump-dom",
    );
    run.assert_success("chromium --dump-dom");
    let dom = &run.stdout;
    let text = dom
        .split_once(r#"<pre id="out">"#)
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(text, _)| text)
        .unwrap_or_else(|| panic!("no #out in the page:\n{dom}\n{}", run.stderr));
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the page did not finish ({e}): {text}\n{}", run.stderr))
}

/// How many lines of serve's log contain `needle`.
fn count(serve: &Serve, needle: &str) -> usize {
    serve
        .proc
        .output()
        .lines()
        .filter(|l| l.starts_with("[err]") && l.contains(needle))
        .count()
}

/// Waits (bounded) until serve's log has `n` lines containing `needle`.
fn wait_count(serve: &Serve, needle: &str, n: usize) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while count(serve, needle) < n {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

#[test]
fn a_browser_on_an_allowed_origin_reads_every_answer_and_others_read_none() {
    // The page's origin goes into the CORS settings before serve starts;
    // the API's port into the page once serve is up.
    let page_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let page_port = page_listener.local_addr().unwrap().port();
    let allowed = format!("http://localhost:{page_port}");
    let cors = serde_json::json!({
        "origins": [allowed],
        "headers": ["authorization", "content-type", "x-client"],
        "credentials": true,
        "max_age": 60,
        // Route by route: `index` open to every origin, `greet` to none.
        "routes": {
            "index": {"origins": ["*"], "headers": ["x-client"]},
            "greet": false,
        },
    })
    .to_string();
    // helloworld's `GET /me` takes a Cognito access token: serve verifies
    // it with the keys of this JWKS, as API Gateway would.
    let key = TestKey::generate("browser");
    let keys = tempfile::tempdir().unwrap();
    let jwks = keys.path().join("jwks.json");
    std::fs::write(&jwks, TestKey::jwks_json(&[&key])).unwrap();
    let token = key.sign(&serde_json::json!({
        "sub": "b-1",
        "username": "chromium",
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_HelloWrld",
        "client_id": "hello-client",
        "scope": "profile",
        "exp": now() + 3600,
    }));
    let serve = Serve::start(
        &[
            "--manifest-path",
            &helloworld(),
            "--no-reload",
            "--jwks",
            jwks.to_str().unwrap(),
        ],
        &[("LAMBADA_CORS", cors.as_str())],
    );
    serve_page(
        page_listener,
        page(&format!("http://127.0.0.1:{}", serve.port), &token),
    );
    let log = || serve.proc.output();

    // From the allowed origin: every call answers, errors included.
    let seen = browse(&format!("{allowed}/"));
    assert_eq!(seen["get"]["status"], 200, "{seen}");
    assert!(
        seen["get"]["body"]
            .as_str()
            .unwrap()
            .contains("HeadlessChrome"),
        "{seen}"
    );
    assert_eq!(seen["post"]["status"], 201, "{seen}");
    let item: Value = serde_json::from_str(seen["post"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(item["href"], "/items/ABC-123");
    assert_eq!(seen["invalid"]["status"], 422, "{seen}");
    assert_eq!(seen["missing"]["status"], 404, "{seen}");
    assert!(
        seen["missing"]["body"]
            .as_str()
            .unwrap()
            .contains("no item `NOPE`"),
        "{seen}"
    );
    // The signed-in call reaches the handler; the refused one is the
    // gateway's own 401, which the page can read (CORS headers on it too).
    assert_eq!(seen["signedIn"]["status"], 200, "{seen}");
    assert_eq!(seen["signedIn"]["body"], "Hello, chromium", "{seen}");
    assert_eq!(seen["signedOut"]["status"], 401, "{seen}");
    assert_eq!(
        seen["signedOut"]["body"], r#"{"message":"Unauthorized"}"#,
        "{seen}"
    );
    // The route open to all is read, its preflight answered; the route
    // with CORS off is sent (a simple GET needs no preflight) but its
    // answer withheld, even from the table's own origin.
    assert_eq!(seen["open"]["status"], 200, "{seen}");
    assert_eq!(seen["open"]["body"], "Hello world: 5", "{seen}");
    assert!(
        wait_count(&serve, "OPTIONS /helloworld/5 -> 204", 1),
        "{}",
        log()
    );
    assert_eq!(seen["closed"]["error"], "TypeError", "{seen}");
    assert!(
        wait_count(&serve, "GET /greet?name=page -> 200", 1),
        "{}",
        log()
    );
    assert!(wait_count(&serve, "OPTIONS /me -> 204", 1), "{}", log());
    // The custom header and the JSON body each needed a preflight, which
    // the function answered without a handler of its own.
    assert!(wait_count(&serve, "OPTIONS /agent -> 204", 1), "{}", log());
    assert!(wait_count(&serve, "OPTIONS /items -> 204", 1), "{}", log());
    assert!(wait_count(&serve, "GET /items/NOPE -> 404", 1), "{}", log());
    assert_eq!(count(&serve, "GET /agent -> 200"), 1, "{}", log());
    assert_eq!(count(&serve, "POST /items -> 201"), 1, "{}", log());

    // The same page from another origin (127.0.0.1 is not localhost):
    // Chromium withholds every answer, and sends none of the requests that
    // needed a preflight.
    let seen = browse(&format!("http://127.0.0.1:{page_port}/"));
    for call in [
        "get",
        "post",
        "invalid",
        "missing",
        "signedIn",
        "signedOut",
        "closed",
    ] {
        assert_eq!(seen[call]["error"], "TypeError", "{call}: {seen}");
    }
    // But the route open to every origin answers this one too.
    assert_eq!(seen["open"]["body"], "Hello world: 5", "{seen}");
    assert!(
        wait_count(&serve, "OPTIONS /helloworld/5 -> 204", 2),
        "{}",
        log()
    );
    assert!(wait_count(&serve, "OPTIONS /agent -> 403", 1), "{}", log());
    assert!(wait_count(&serve, "OPTIONS /items -> 403", 1), "{}", log());
    // The simple GET needs no preflight: it is sent, its answer withheld.
    assert!(wait_count(&serve, "GET /items/NOPE -> 404", 2), "{}", log());
    assert_eq!(count(&serve, "GET /agent -> 200"), 1, "{}", log());
    assert_eq!(count(&serve, "POST /items -> 201"), 1, "{}", log());
}
