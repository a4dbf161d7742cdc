//! The deployment files are checked against each other and against the
//! code: the task definitions' shape (Fargate, awsvpc, the `awslogs` driver
//! with its three options, a health check the image can run), the target
//! groups' health check paths (served by the route tables), the listener
//! rules' path patterns (covering every route of their service and none of
//! the other's), the services' load-balancer wiring, and the Dockerfile's
//! small, non-root final stage.

use std::path::{Path, PathBuf};

use lambada::EventKind;
use lambada::test::Client;
use serde_json::Value;

const SERVICES: [&str; 2] = ["orders", "inventory"];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

fn read(path: impl AsRef<Path>) -> String {
    let path = dir().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn routes(service: &str) -> lambada::Routes {
    match service {
        "orders" => ecs_alb::orders(),
        "inventory" => ecs_alb::inventory(),
        other => unreachable!("{other}"),
    }
}

fn health_path(service: &str) -> &'static str {
    match service {
        "orders" => ecs_alb::orders::HEALTH_PATH,
        "inventory" => ecs_alb::inventory::HEALTH_PATH,
        other => unreachable!("{other}"),
    }
}

#[track_caller]
fn str_at<'v>(v: &'v Value, pointer: &str) -> &'v str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| panic!("`{pointer}` is missing or not a non-empty string in {v}"))
}

#[track_caller]
fn u64_at(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("`{pointer}` is missing or not a number in {v}"))
}

/// The Dockerfile's instructions, continuation lines joined, comments
/// dropped: `(INSTRUCTION, arguments)`.
fn dockerfile() -> Vec<(String, String)> {
    let text = read("Dockerfile");
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            current.push_str(cont);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        let (ins, args) = current.split_once(' ').unwrap_or((&current, ""));
        out.push((ins.to_ascii_uppercase(), args.trim().to_owned()));
        current.clear();
    }
    out
}

/// The final stage of the Dockerfile: its `FROM` arguments and the
/// instructions after it.
fn final_stage() -> (String, Vec<(String, String)>) {
    let all = dockerfile();
    let start = all.iter().rposition(|(i, _)| i == "FROM").expect("a FROM");
    (all[start].1.clone(), all[start + 1..].to_vec())
}

/// The exec-form `ENTRYPOINT` of the final image.
fn entrypoint() -> Vec<String> {
    let (_, stage) = final_stage();
    let args = stage
        .iter()
        .rev()
        .find(|(i, _)| i == "ENTRYPOINT")
        .map(|(_, a)| a.clone())
        .expect("an ENTRYPOINT in the final stage");
    serde_json::from_str(&args)
        .expect("ENTRYPOINT in exec form (a JSON array): no shell in the image")
}

/// An ALB path pattern: `*` is any run of characters, `?` one character,
/// case-sensitive.
fn glob(pattern: &[u8], path: &[u8]) -> bool {
    match (pattern.first(), path.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], path) || (!path.is_empty() && glob(pattern, &path[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &path[1..]),
        (Some(p), Some(c)) if p == c => glob(&pattern[1..], &path[1..]),
        _ => false,
    }
}

/// A concrete path for each route of a table (`/orders/{id}` → `/orders/1`).
fn sample_paths(service: &str) -> Vec<String> {
    routes(service)
        .iter()
        .map(|r| {
            r.apigw_path
                .split('/')
                .map(|s| if s.starts_with('{') { "1" } else { s })
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

#[test]
fn task_definitions() {
    let mut groups = Vec::new();
    for service in SERVICES {
        let td = json(&format!("deploy/{service}/task-definition.json"));
        let ctx = format!("deploy/{service}/task-definition.json");

        assert_eq!(
            str_at(&td, "/family"),
            format!("lambada-{service}"),
            "{ctx}"
        );
        assert_eq!(str_at(&td, "/networkMode"), "awsvpc", "{ctx}");
        let compat: Vec<&str> = td["requiresCompatibilities"]
            .as_array()
            .unwrap_or_else(|| panic!("{ctx}: requiresCompatibilities"))
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert!(!compat.is_empty(), "{ctx}");
        assert!(
            compat.iter().all(|c| matches!(*c, "FARGATE" | "EC2")),
            "{ctx}: {compat:?}"
        );
        // Fargate takes task-level cpu and memory in fixed pairs.
        let cpu: u32 = str_at(&td, "/cpu").parse().unwrap();
        let memory: u32 = str_at(&td, "/memory").parse().unwrap();
        if compat.contains(&"FARGATE") {
            let ok = match cpu {
                256 => [512, 1024, 2048].contains(&memory),
                512 => (1024..=4096).contains(&memory) && memory.is_multiple_of(1024),
                1024 => (2048..=8192).contains(&memory) && memory.is_multiple_of(1024),
                _ => false,
            };
            assert!(
                ok,
                "{ctx}: cpu {cpu} with memory {memory} is not a Fargate size"
            );
            // Fargate pulls from ECR and writes to CloudWatch Logs with the
            // execution role.
            assert!(
                str_at(&td, "/executionRoleArn").starts_with("arn:aws:iam::"),
                "{ctx}"
            );
        }

        let containers = td["containerDefinitions"].as_array().unwrap();
        assert_eq!(containers.len(), 1, "{ctx}: one container per task");
        let c = &containers[0];
        assert_eq!(str_at(c, "/name"), service, "{ctx}");
        let image = str_at(c, "/image");
        assert!(
            image.contains(&format!("lambada-{service}")),
            "{ctx}: {image}"
        );
        assert_eq!(c["essential"], true, "{ctx}");

        let port = u64_at(c, "/portMappings/0/containerPort");
        assert_eq!(port, 8080, "{ctx}");
        assert_eq!(str_at(c, "/portMappings/0/protocol"), "tcp", "{ctx}");
        // awsvpc: the host port, if given, is the container port.
        if let Some(h) = c.pointer("/portMappings/0/hostPort") {
            assert_eq!(h.as_u64(), Some(port), "{ctx}");
        }
        let env: Vec<(&str, &str)> = c["environment"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (str_at(e, "/name"), str_at(e, "/value")))
            .collect();
        assert!(env.contains(&("LAMBADA_MODE", "http")), "{ctx}: {env:?}");
        assert!(
            env.contains(&("PORT", &*port.to_string())),
            "{ctx}: {env:?}"
        );

        // The container-logs article's three options, for the awslogs driver.
        assert_eq!(str_at(c, "/logConfiguration/logDriver"), "awslogs", "{ctx}");
        let group = str_at(c, "/logConfiguration/options/awslogs-group");
        let region = str_at(c, "/logConfiguration/options/awslogs-region");
        let prefix = str_at(c, "/logConfiguration/options/awslogs-stream-prefix");
        assert_eq!(
            prefix, service,
            "{ctx}: streams named {service}/{service}/<task id>"
        );
        assert!(
            image.contains(&format!(".dkr.ecr.{region}.amazonaws.com/")),
            "{ctx}: the image and the logs in one region"
        );
        groups.push(group.to_owned());

        // The image has no shell and no curl: the binary checks itself.
        let mut probe = vec!["CMD".to_owned()];
        probe.extend(entrypoint());
        probe.push("healthcheck".into());
        let command: Vec<String> = c["healthCheck"]["command"]
            .as_array()
            .unwrap_or_else(|| panic!("{ctx}: healthCheck.command"))
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(command, probe, "{ctx}");
        let hc = |k: &str, range: std::ops::RangeInclusive<u64>| {
            let v = u64_at(c, &format!("/healthCheck/{k}"));
            assert!(range.contains(&v), "{ctx}: healthCheck.{k} = {v}");
        };
        hc("interval", 5..=300);
        hc("timeout", 2..=60);
        hc("retries", 1..=10);
        hc("startPeriod", 0..=300);

        // SIGTERM, then SIGKILL after stopTimeout: the server drains
        // in-flight requests for up to 25 s.
        let stop = u64_at(c, "/stopTimeout");
        assert!((26..=120).contains(&stop), "{ctx}: stopTimeout {stop}");
    }
    assert_eq!(groups[0], groups[1], "one central log group");
}

#[tokio::test]
async fn target_groups_check_a_served_health_path() {
    for service in SERVICES {
        let tg = json(&format!("deploy/{service}/target-group.json"));
        let td = json(&format!("deploy/{service}/task-definition.json"));
        let ctx = format!("deploy/{service}/target-group.json");
        assert_eq!(
            str_at(&tg, "/TargetType"),
            "ip",
            "{ctx}: awsvpc tasks register by IP"
        );
        assert_eq!(
            u64_at(&tg, "/Port"),
            u64_at(&td, "/containerDefinitions/0/portMappings/0/containerPort"),
            "{ctx}"
        );
        assert_eq!(str_at(&tg, "/Matcher/HttpCode"), "200", "{ctx}");
        let path = str_at(&tg, "/HealthCheckPath");
        assert_eq!(path, health_path(service), "{ctx}");
        let client = Client::new(routes(service));
        for kind in [EventKind::Alb, EventKind::AlbMultiValue] {
            let res = client.get(path).kind(kind).send().await;
            assert_eq!(res.status(), 200, "{ctx}: {path} through {kind:?}");
        }
    }
}

#[test]
fn listener_rules_route_each_prefix_to_its_service() {
    let mut priorities = Vec::new();
    for service in SERVICES {
        let rule = json(&format!("deploy/{service}/listener-rule.json"));
        let tg = json(&format!("deploy/{service}/target-group.json"));
        let ctx = format!("deploy/{service}/listener-rule.json");
        priorities.push(u64_at(&rule, "/Priority"));
        assert_eq!(
            str_at(&rule, "/Conditions/0/Field"),
            "path-pattern",
            "{ctx}"
        );
        let patterns: Vec<&str> = rule["Conditions"][0]["PathPatternConfig"]["Values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(patterns, [format!("/{service}*")], "{ctx}");
        let matches = |path: &str| patterns.iter().any(|p| glob(p.as_bytes(), path.as_bytes()));
        for path in sample_paths(service) {
            assert!(matches(&path), "{ctx}: {path} is not routed to {service}");
        }
        for other in SERVICES.iter().filter(|s| **s != service) {
            for path in sample_paths(other) {
                assert!(
                    !matches(&path),
                    "{ctx}: {path} of {other} is routed to {service}"
                );
            }
        }
        assert_eq!(str_at(&rule, "/Actions/0/Type"), "forward", "{ctx}");
        let arn = str_at(&rule, "/Actions/0/TargetGroupArn");
        assert!(
            arn.contains(&format!(":targetgroup/{}/", str_at(&tg, "/Name"))),
            "{ctx}: {arn}"
        );

        let svc = json(&format!("deploy/{service}/service.json"));
        let td = json(&format!("deploy/{service}/task-definition.json"));
        let ctx = format!("deploy/{service}/service.json");
        assert_eq!(
            str_at(&svc, "/taskDefinition"),
            str_at(&td, "/family"),
            "{ctx}"
        );
        assert_eq!(
            str_at(&svc, "/loadBalancers/0/targetGroupArn"),
            arn,
            "{ctx}"
        );
        assert_eq!(
            str_at(&svc, "/loadBalancers/0/containerName"),
            str_at(&td, "/containerDefinitions/0/name"),
            "{ctx}"
        );
        assert_eq!(
            u64_at(&svc, "/loadBalancers/0/containerPort"),
            u64_at(&td, "/containerDefinitions/0/portMappings/0/containerPort"),
            "{ctx}"
        );
        assert!(
            svc.pointer("/networkConfiguration/awsvpcConfiguration/subnets/0")
                .is_some(),
            "{ctx}: awsvpc needs subnets"
        );
    }
    priorities.sort_unstable();
    priorities.dedup();
    assert_eq!(
        priorities.len(),
        SERVICES.len(),
        "rule priorities are unique"
    );
}

#[test]
fn path_patterns_match_like_an_alb() {
    assert!(glob(b"/orders*", b"/orders"));
    assert!(glob(b"/orders*", b"/orders/1"));
    assert!(!glob(b"/orders*", b"/inventory/orders"));
    assert!(!glob(b"/orders*", b"/Orders"));
    assert!(glob(b"/a?c", b"/abc"));
    assert!(!glob(b"/a?c", b"/ac"));
}

#[test]
fn dockerfile_final_stage_is_small_and_unprivileged() {
    let all = dockerfile();
    let stages = all.iter().filter(|(i, _)| i == "FROM").count();
    assert!(stages >= 2, "a multi-stage build");

    let (from, stage) = final_stage();
    let image = from.split_whitespace().last().unwrap();
    assert!(
        image.starts_with("gcr.io/distroless/cc") || image.contains("-slim"),
        "final image {image}: distroless/cc or a -slim one"
    );
    let instructions: Vec<&str> = stage.iter().map(|(i, _)| i.as_str()).collect();
    assert!(
        !instructions.contains(&"RUN"),
        "nothing is installed in the final stage"
    );
    assert!(!instructions.contains(&"ADD"));

    // Exactly one file comes in: the binary, from the build stage, where
    // the entrypoint runs it.
    let copies: Vec<&str> = stage
        .iter()
        .filter(|(i, _)| i == "COPY")
        .map(|(_, a)| a.as_str())
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    let parts: Vec<&str> = copies[0].split_whitespace().collect();
    assert!(parts[0].starts_with("--from="), "{copies:?}");
    assert_eq!(parts.len(), 3, "one source, one destination: {copies:?}");
    assert_eq!(entrypoint()[0], parts[2]);

    let expose: Vec<&str> = stage
        .iter()
        .filter(|(i, _)| i == "EXPOSE")
        .map(|(_, a)| a.as_str())
        .collect();
    assert_eq!(expose, ["8080"]);
    let user = stage
        .iter()
        .rev()
        .find(|(i, _)| i == "USER")
        .map(|(_, a)| a.as_str())
        .expect("a USER in the final stage");
    let name = user.split(':').next().unwrap();
    assert!(!matches!(name, "root" | "0"), "USER {user}");

    // The build stage uses the toolchain the repository pins, and the lock
    // file as checked in.
    let toolchain = std::fs::read_to_string(dir().join("../../rust-toolchain.toml")).unwrap();
    let pinned = toolchain
        .lines()
        .find_map(|l| l.trim().strip_prefix("channel"))
        .map(|v| {
            v.trim_start_matches([' ', '='])
                .trim()
                .trim_matches('"')
                .to_owned()
        })
        .unwrap();
    assert!(
        all.iter()
            .any(|(i, a)| i == "ARG" && *a == format!("RUST_VERSION={pinned}")),
        "ARG RUST_VERSION={pinned}"
    );
    let build = all
        .iter()
        .find(|(i, a)| i == "RUN" && a.contains("cargo build"))
        .map(|(_, a)| a.as_str())
        .unwrap();
    for flag in [
        "--release",
        "--locked",
        "-p example-ecs-alb",
        "--bin \"$SERVICE\"",
    ] {
        assert!(build.contains(flag), "{flag} in `{build}`");
    }
}

#[test]
fn the_ignore_file_keeps_the_context_small() {
    let ignore = read("Dockerfile.dockerignore");
    let lines: Vec<&str> = ignore.lines().map(str::trim).collect();
    for needed in ["target", ".git"] {
        assert!(lines.contains(&needed), "{needed}");
    }
}
