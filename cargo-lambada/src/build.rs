//! `cargo lambada build`: the user's binary as `bootstrap` in a deterministic zip.
//!
//! A release bootstrap is linked statically by default: `-C
//! target-feature=+crt-static` on this machine's `-gnu` target, built with
//! `--target` (so build scripts and proc macros stay dynamic, in a target
//! directory of its own). No dynamic loader runs at start and no shared
//! library is needed, so it starts faster and asks nothing of the system's
//! glibc, whatever the building machine's. `--dynamic` links against the
//! system's glibc as before (with cargo-zigbuild, glibc 2.17). Debug builds
//! (what `serve` and `invoke` run here, `deploy --debug`) link dynamically
//! and share cargo's build cache with `cargo build` and `cargo test`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use sha2::{Digest, Sha256};

use crate::config::{self, Architecture, Config, Settings};

/// Arguments of `build`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BuildArgs {
    #[command(flatten)]
    pub settings: Settings,
    /// Build with the dev profile instead of release.
    #[arg(long)]
    pub debug: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Shorthand for `--linkage dynamic`: against the system's shared glibc
    /// instead of statically (with cargo-zigbuild installed, glibc 2.17).
    #[arg(long)]
    pub dynamic: bool,
}

pub use crate::config::Linkage;

/// Errors while building.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot run cargo: {0}")]
    Spawn(std::io::Error),
    #[error("cargo build failed ({0}); see its output above")]
    Cargo(std::process::ExitStatus),
    #[error(
        "the Rust standard library for `{target}` is not installed: run `rustup target add {target}`{zig}"
    )]
    MissingTarget { target: String, zig: &'static str },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error(
        "the bootstrap zip is {0} bytes and its binary over 250 MB: Lambda allows 250 MB unzipped"
    )]
    TooLarge(u64),
    #[error(
        "{0} came out dynamically linked although `-C target-feature=+crt-static` was asked for: a `target.<triple>.rustflags` in your cargo configuration replaces `build.rustflags`; add the flag there (or to RUSTFLAGS), or build with --dynamic"
    )]
    NotStatic(PathBuf),
}

/// A built artifact.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Artifact {
    /// The compiled binary.
    pub binary: PathBuf,
    /// `target/lambada/<function>/bootstrap.zip`.
    pub zip: PathBuf,
    /// Hex SHA-256 of the zip.
    pub sha256_hex: String,
    /// Base64 SHA-256 of the zip (what Lambda reports as `CodeSha256`).
    pub sha256_base64: String,
    /// Zip size in bytes.
    pub size: u64,
    /// The target triple built for, if not the host.
    pub target: Option<String>,
    /// How the binary is linked.
    pub linkage: Linkage,
}

fn installed_targets() -> Vec<String> {
    std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn has_zigbuild() -> bool {
    std::process::Command::new("cargo")
        .args(["zigbuild", "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// What to run: the target (none: the host's), whether cargo-zigbuild
/// builds it, whether `crt-static` is added to the flags, and the linkage
/// that gives.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    target: Option<String>,
    zig: bool,
    crt_static: bool,
    linkage: Linkage,
}

/// What the machine offers: its architecture and OS, cargo-zigbuild, the
/// installed standard libraries.
#[derive(Debug, Clone)]
struct Host {
    arch: &'static str,
    linux: bool,
    zig: bool,
    targets: Vec<String>,
}

impl Host {
    /// This machine; cargo-zigbuild and the installed targets are looked
    /// up only when `off_native` (a target other than the native glibc one
    /// may be built).
    fn probe(off_native: bool) -> Host {
        Host {
            arch: std::env::consts::ARCH,
            linux: std::env::consts::OS == "linux",
            zig: off_native && has_zigbuild(),
            targets: if off_native {
                installed_targets()
            } else {
                Vec::new()
            },
        }
    }
}

/// The target asked for: the configured one, else the configured
/// architecture's glibc target when it is not this machine's.
fn wanted_target(cfg: &Config, host_arch: &str) -> Option<String> {
    match (&cfg.target, cfg.architecture) {
        (Some(t), _) => Some(t.clone()),
        (None, Architecture::Arm64) if host_arch != "aarch64" => {
            Some("aarch64-unknown-linux-gnu".to_owned())
        }
        (None, Architecture::X86_64) if host_arch != "x86_64" => {
            Some("x86_64-unknown-linux-gnu".to_owned())
        }
        _ => None,
    }
}

/// Dynamic linking, as `cargo lambada build` always did: the host's glibc,
/// or glibc 2.17 through cargo-zigbuild when installed. A musl target links
/// statically whatever the plan.
fn dynamic_plan(wanted: Option<String>, host: &Host) -> Result<Plan, BuildError> {
    let plan = |target, zig| Plan {
        target,
        zig,
        crt_static: false,
        linkage: Linkage::Dynamic,
    };
    let Some(t) = wanted else {
        return Ok(if host.zig {
            plan(Some(format!("{}-unknown-linux-gnu.2.17", host.arch)), true)
        } else {
            plan(None, false)
        });
    };
    let base = t.split(".2.").next().unwrap_or(&t).to_owned();
    if !host.targets.contains(&base) {
        return Err(BuildError::MissingTarget {
            target: base,
            zig: if host.zig {
                ""
            } else {
                " (and install cargo-zigbuild to link for Amazon Linux's glibc)"
            },
        });
    }
    let zig_target = host.zig && base.ends_with("-gnu") && !t.contains(".2.");
    let mut p = plan(
        Some(if zig_target {
            format!("{base}.2.17")
        } else {
            t
        }),
        host.zig,
    );
    if base.ends_with("-musl") {
        p.linkage = Linkage::Static;
    }
    Ok(p)
}

/// Static linking: `crt-static` on this machine's glibc target, a musl
/// target as it is. Where glibc cannot be linked statically here (another
/// architecture or OS; zig links glibc only dynamically) the musl target
/// through cargo-zigbuild when both are installed, else dynamic linking,
/// with a note saying so.
fn static_plan(wanted: Option<String>, host: &Host) -> Result<(Plan, Option<String>), BuildError> {
    let native = format!("{}-unknown-linux-gnu", host.arch);
    let t = wanted.clone().unwrap_or_else(|| native.clone());
    if t.ends_with("-musl") {
        return Ok((dynamic_plan(wanted, host)?, None));
    }
    if t.contains(".2.") {
        let note = format!("`{t}` names a glibc version: linked dynamically against it");
        return Ok((dynamic_plan(wanted, host)?, Some(note)));
    }
    if host.linux && t == native {
        let plan = Plan {
            target: Some(t),
            zig: false,
            crt_static: true,
            linkage: Linkage::Static,
        };
        return Ok((plan, None));
    }
    let musl = t.replace("-gnu", "-musl");
    if host.zig && host.targets.contains(&musl) {
        let plan = Plan {
            target: Some(musl),
            zig: true,
            crt_static: false,
            linkage: Linkage::Static,
        };
        return Ok((plan, None));
    }
    let note = format!(
        "glibc cannot be linked statically for `{t}` on this machine: linked dynamically (`rustup target add {musl}` and cargo-zigbuild give a static build)"
    );
    Ok((dynamic_plan(wanted, host)?, Some(note)))
}

/// The plan for `linkage`, and a note when it cannot be followed.
fn choose(cfg: &Config, linkage: Linkage) -> Result<(Plan, Option<String>), BuildError> {
    let wanted = wanted_target(cfg, std::env::consts::ARCH);
    match linkage {
        Linkage::Dynamic => Ok((dynamic_plan(wanted, &Host::probe(true))?, None)),
        Linkage::Static => {
            let off_native = wanted.is_some() || std::env::consts::OS != "linux";
            let (plan, note) = static_plan(wanted, &Host::probe(off_native))?;
            let glibc_note = plan
                .crt_static
                .then(host_glibc)
                .flatten()
                .and_then(|v| old_glibc_note(&v));
            Ok((plan, note.or(glibc_note)))
        }
    }
}

/// This machine's glibc version (`getconf GNU_LIBC_VERSION`: `glibc 2.36`).
fn host_glibc() -> Option<String> {
    let out = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// From glibc 2.34 on, a static glibc has the `files` and `dns` name
/// services built in: `getaddrinfo` reads `/etc/hosts` and
/// `/etc/resolv.conf` and loads nothing. An older one loads them as shared
/// modules of its own version at run time, which Lambda's glibc is not.
fn old_glibc_note(version: &str) -> Option<String> {
    let v = version.strip_prefix("glibc ")?;
    let (major, minor) = v.split_once('.')?;
    let minor: u32 = minor.split('.').next()?.parse().ok()?;
    let old = (major.parse::<u32>().ok()?, minor) < (2, 34);
    old.then(|| {
        format!(
            "this machine's {version} is older than 2.34: a bootstrap linked statically with it loads glibc's `files` and `dns` name services at run time, so host name lookups (the AWS SDK's) can fail on Lambda; build on glibc 2.34 or later, or with --dynamic and cargo-zigbuild"
        )
    })
}

/// `crt-static` added to whatever flags the user's build has: appended to
/// `CARGO_ENCODED_RUSTFLAGS` or `RUSTFLAGS` when set (they replace the
/// configuration's flags), else joined to the configuration's
/// `build.rustflags` (cargo joins arrays given with `--config`).
fn add_crt_static(cmd: &mut tokio::process::Command) {
    const FLAG: &str = "-Ctarget-feature=+crt-static";
    let set = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(flags) = set("CARGO_ENCODED_RUSTFLAGS") {
        cmd.env("CARGO_ENCODED_RUSTFLAGS", format!("{flags}\x1f{FLAG}"));
    } else if let Some(flags) = set("RUSTFLAGS") {
        cmd.env("RUSTFLAGS", format!("{flags} {FLAG}"));
    } else {
        cmd.arg("--config")
            .arg(format!("build.rustflags=[\"{FLAG}\"]"));
    }
}

/// Whether an ELF executable asks for a program interpreter (`PT_INTERP`,
/// the dynamic loader); `None` when `bytes` are no 64-bit little-endian
/// ELF file.
fn needs_interpreter(bytes: &[u8]) -> Option<bool> {
    const PT_INTERP: u64 = 3;
    if bytes.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let at = |offset: u64, n: usize| -> Option<u64> {
        let offset = usize::try_from(offset).ok()?;
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(bytes.get(offset..offset.checked_add(n)?)?);
        Some(u64::from_le_bytes(v))
    };
    let (phoff, phentsize, phnum) = (at(0x20, 8)?, at(0x36, 2)?, at(0x38, 2)?);
    for i in 0..phnum {
        if at(phoff + i * phentsize, 4)? == PT_INTERP {
            return Some(true);
        }
    }
    Some(false)
}

/// Runs `cargo build` for the configured binary, linked as
/// [`Linkage::default_for`] the profile; returns its path and target.
pub async fn compile(
    cfg: &Config,
    release: bool,
    quiet: bool,
) -> Result<(PathBuf, Option<String>), BuildError> {
    let linkage = Linkage::default_for(release);
    let (binary, target, _) = compile_linked(cfg, release, quiet, linkage).await?;
    Ok((binary, target))
}

/// Runs `cargo build` for the configured binary, linked as asked where
/// this machine can (see [`static_plan`]); returns its path, its target and
/// how it is linked.
pub async fn compile_linked(
    cfg: &Config,
    release: bool,
    quiet: bool,
    linkage: Linkage,
) -> Result<(PathBuf, Option<String>, Linkage), BuildError> {
    let (plan, note) = choose(cfg, linkage)?;
    if let Some(note) = note {
        eprintln!("lambada: {note}");
    }
    let mut cmd =
        tokio::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.arg(if plan.zig { "zigbuild" } else { "build" })
        .arg("--manifest-path")
        .arg(&cfg.project.manifest_path)
        .args(["--bin", &cfg.project.bin]);
    if release {
        cmd.arg("--release");
    }
    if let Some(t) = &plan.target {
        cmd.args(["--target", t]);
    }
    if plan.crt_static {
        add_crt_static(&mut cmd);
    }
    if quiet {
        cmd.arg("--quiet");
    }
    cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
    let status = cmd.status().await.map_err(BuildError::Spawn)?;
    if !status.success() {
        return Err(BuildError::Cargo(status));
    }
    let profile = if release { "release" } else { "debug" };
    let mut dir = cfg.project.target_dir.clone();
    if let Some(t) = &plan.target {
        dir.push(t.split(".2.").next().unwrap_or(t));
    }
    dir.push(profile);
    Ok((dir.join(&cfg.project.bin), plan.target, plan.linkage))
}

/// Writes `bootstrap` (mode 0755) into a zip with fixed timestamps, so an
/// unchanged binary gives a byte-identical zip. Returns the zip's size and
/// SHA-256, and whether the binary zipped asks for a dynamic loader.
pub fn write_zip(binary: &Path, zip_path: &Path) -> Result<(u64, [u8; 32], bool), BuildError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::Io { path, source }
    };
    let bytes = std::fs::read(binary).map_err(io(binary))?;
    if let Some(dir) = zip_path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let interpreter = needs_interpreter(&bytes).unwrap_or(false);
    // Compressing is the slow part (seconds for a debug binary): an
    // unchanged binary keeps the zip made of it, which the sidecar file
    // names by the binary's SHA-256.
    let source = zip_path.with_extension("zip.source");
    let binary_sha = hex(&Sha256::digest(&bytes));
    if std::fs::read_to_string(&source).is_ok_and(|s| s.trim() == binary_sha)
        && let Ok(data) = std::fs::read(zip_path)
    {
        return Ok((data.len() as u64, Sha256::digest(&data).into(), interpreter));
    }
    let mut buf = std::io::Cursor::new(Vec::with_capacity(bytes.len() / 2));
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9))
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o755);
        zip.start_file("bootstrap", options)?;
        zip.write_all(&bytes).map_err(io(zip_path))?;
        zip.finish()?;
    }
    let data = buf.into_inner();
    if bytes.len() as u64 > 250 * 1024 * 1024 {
        return Err(BuildError::TooLarge(data.len() as u64));
    }
    let _ = std::fs::remove_file(&source);
    // Written beside and renamed into place, so a concurrent build never
    // reads half a zip; the directory is made again if another process
    // (serve tidying an empty artifact directory) took it meanwhile.
    let tmp = zip_path.with_extension(format!("zip.tmp{}", std::process::id()));
    let write = |data: &[u8]| {
        std::fs::write(&tmp, data)?;
        std::fs::rename(&tmp, zip_path)
    };
    if let Err(e) = write(&data) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(io(zip_path)(e));
        }
        if let Some(dir) = zip_path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        write(&data).map_err(io(zip_path))?;
    }
    std::fs::write(&source, &binary_sha).map_err(io(&source))?;
    Ok((data.len() as u64, Sha256::digest(&data).into(), interpreter))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds the binary and its zip, linked as `cfg` says (`linkage`), else
/// by the default for the profile.
pub async fn build(cfg: &Config, release: bool, quiet: bool) -> Result<Artifact, BuildError> {
    let linkage = cfg.linkage.unwrap_or(Linkage::default_for(release));
    build_linked(cfg, release, quiet, linkage).await
}

/// Builds the binary, linked as asked, and its zip; a binary meant to be
/// static that is not (the user's cargo configuration dropped the flag)
/// is an error.
pub async fn build_linked(
    cfg: &Config,
    release: bool,
    quiet: bool,
    linkage: Linkage,
) -> Result<Artifact, BuildError> {
    let (binary, target, linkage) = compile_linked(cfg, release, quiet, linkage).await?;
    let zip = cfg.artifact_dir().join("bootstrap.zip");
    let (size, sha, interpreter) = write_zip(&binary, &zip)?;
    if linkage == Linkage::Static && interpreter {
        return Err(BuildError::NotStatic(binary));
    }
    use base64::Engine as _;
    Ok(Artifact {
        binary,
        zip,
        sha256_hex: hex(&sha),
        sha256_base64: base64::engine::general_purpose::STANDARD.encode(sha),
        size,
        target,
        linkage,
    })
}

/// `cargo lambada build`.
pub async fn run(args: BuildArgs) -> Result<Artifact, BuildError> {
    let mut settings = args.settings.clone();
    if args.dynamic {
        settings.linkage = Some(Linkage::Dynamic);
    }
    let cfg = config::load(&settings)?;
    let artifact = build(&cfg, !args.debug, args.json).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&artifact).unwrap_or_default()
        );
    } else {
        eprintln!(
            "built {} ({} bytes, sha256 {}, {} linked)",
            artifact.zip.display(),
            artifact.size,
            artifact.sha256_hex,
            match artifact.linkage {
                Linkage::Static => "statically",
                Linkage::Dynamic => "dynamically",
            }
        );
    }
    Ok(artifact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_is_deterministic_and_executable() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("app");
        std::fs::write(&bin, b"#!/bin/sh\necho hi\n").unwrap();
        let (a_size, a, _) = write_zip(&bin, &dir.path().join("a/bootstrap.zip")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let (b_size, b, _) = write_zip(&bin, &dir.path().join("b/bootstrap.zip")).unwrap();
        assert_eq!((a_size, a), (b_size, b));
        let mut z =
            zip::ZipArchive::new(std::fs::File::open(dir.path().join("a/bootstrap.zip")).unwrap())
                .unwrap();
        assert_eq!(z.len(), 1);
        let f = z.by_index(0).unwrap();
        assert_eq!(f.name(), "bootstrap");
        assert_eq!(f.unix_mode().map(|m| m & 0o777), Some(0o755));
    }

    #[test]
    fn an_unchanged_binary_keeps_its_zip_and_a_changed_one_gets_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("app");
        let zip = dir.path().join("z/bootstrap.zip");
        std::fs::write(&bin, b"one").unwrap();
        let first = write_zip(&bin, &zip).unwrap();
        // Made of this binary: kept (a marker proves it was not rewritten).
        let mut data = std::fs::read(&zip).unwrap();
        data.extend_from_slice(b"marker");
        std::fs::write(&zip, &data).unwrap();
        let kept = write_zip(&bin, &zip).unwrap();
        assert_eq!(kept.0, first.0 + 6);
        std::fs::write(&bin, b"two").unwrap();
        let second = write_zip(&bin, &zip).unwrap();
        assert_ne!(second.1, first.1);
        assert!(!std::fs::read(&zip).unwrap().ends_with(b"marker"));
    }

    fn host(arch: &'static str, linux: bool, zig: bool, targets: &[&str]) -> Host {
        Host {
            arch,
            linux,
            zig,
            targets: targets.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn plan(target: Option<&str>, zig: bool, crt_static: bool, linkage: Linkage) -> Plan {
        Plan {
            target: target.map(str::to_owned),
            zig,
            crt_static,
            linkage,
        }
    }

    #[test]
    fn static_is_crt_static_on_the_native_glibc_target() {
        let linux = host("x86_64", true, true, &[]);
        let (p, note) = static_plan(None, &linux).unwrap();
        let native = Some("x86_64-unknown-linux-gnu");
        assert_eq!(p, plan(native, false, true, Linkage::Static));
        assert_eq!(note, None);
        let (p, _) = static_plan(native.map(str::to_owned), &linux).unwrap();
        assert_eq!(p, plan(native, false, true, Linkage::Static));
    }

    #[test]
    fn static_elsewhere_is_musl_through_zig_or_dynamic_with_a_note() {
        let arm = Some("aarch64-unknown-linux-gnu".to_owned());
        let with_musl = host(
            "x86_64",
            true,
            true,
            &["aarch64-unknown-linux-gnu", "aarch64-unknown-linux-musl"],
        );
        let (p, note) = static_plan(arm.clone(), &with_musl).unwrap();
        let musl = Some("aarch64-unknown-linux-musl");
        assert_eq!(p, plan(musl, true, false, Linkage::Static));
        assert_eq!(note, None);

        let gnu_only = host("x86_64", true, true, &["aarch64-unknown-linux-gnu"]);
        let (p, note) = static_plan(arm, &gnu_only).unwrap();
        let zig_gnu = Some("aarch64-unknown-linux-gnu.2.17");
        assert_eq!(p, plan(zig_gnu, true, false, Linkage::Dynamic));
        assert!(note.unwrap().contains("aarch64-unknown-linux-musl"));

        // A glibc version in the target is dynamic linking, asked for.
        let versioned = Some("x86_64-unknown-linux-gnu.2.28".to_owned());
        let (p, note) = static_plan(
            versioned,
            &host("x86_64", true, true, &["x86_64-unknown-linux-gnu"]),
        )
        .unwrap();
        assert_eq!(p.linkage, Linkage::Dynamic);
        assert!(note.unwrap().contains("glibc version"));
    }

    #[test]
    fn musl_targets_are_static_and_dynamic_is_as_before() {
        let musl = Some("x86_64-unknown-linux-musl".to_owned());
        let h = host("x86_64", true, false, &["x86_64-unknown-linux-musl"]);
        let (p, _) = static_plan(musl.clone(), &h).unwrap();
        assert_eq!(p, plan(musl.as_deref(), false, false, Linkage::Static));
        assert_eq!(
            dynamic_plan(None, &host("x86_64", true, false, &[])).unwrap(),
            plan(None, false, false, Linkage::Dynamic)
        );
        assert_eq!(
            dynamic_plan(None, &host("x86_64", true, true, &[])).unwrap(),
            plan(
                Some("x86_64-unknown-linux-gnu.2.17"),
                true,
                false,
                Linkage::Dynamic
            )
        );
        let missing = dynamic_plan(Some("aarch64-unknown-linux-gnu".into()), &h).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("rustup target add aarch64-unknown-linux-gnu")
        );
    }

    #[test]
    fn a_static_glibc_older_than_2_34_is_named() {
        assert_eq!(old_glibc_note("glibc 2.36"), None);
        assert_eq!(old_glibc_note("glibc 2.34"), None);
        assert!(
            old_glibc_note("glibc 2.26")
                .unwrap()
                .contains("older than 2.34")
        );
        assert_eq!(old_glibc_note("musl"), None);
    }

    #[test]
    fn the_elf_reader_finds_the_interpreter() {
        // This test binary is linked like the workspace's: dynamically
        // unless the tests run with crt-static.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(
            needs_interpreter(&me),
            Some(!cfg!(target_feature = "crt-static"))
        );
        assert_eq!(needs_interpreter(b"#!/bin/sh\n"), None);
        let mut truncated = me[..0x40].to_vec();
        truncated[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(needs_interpreter(&truncated), None);
    }
}
