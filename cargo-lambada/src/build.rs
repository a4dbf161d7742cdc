//! `cargo lambada build`: the user's binary as `bootstrap` in a deterministic zip.

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
}

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

/// Which target to build for, and whether cargo-zigbuild builds it.
fn choose_target(cfg: &Config) -> Result<(Option<String>, bool), BuildError> {
    let host_arch = std::env::consts::ARCH;
    let wanted = match (&cfg.target, cfg.architecture) {
        (Some(t), _) => Some(t.clone()),
        (None, Architecture::Arm64) if host_arch != "aarch64" => {
            Some("aarch64-unknown-linux-gnu".to_owned())
        }
        (None, Architecture::X86_64) if host_arch != "x86_64" => {
            Some("x86_64-unknown-linux-gnu".to_owned())
        }
        _ => None,
    };
    let zig = has_zigbuild();
    match wanted {
        None if zig => Ok((Some(format!("{host_arch}-unknown-linux-gnu.2.17")), true)),
        None => Ok((None, false)),
        Some(t) => {
            let base = t.split(".2.").next().unwrap_or(&t).to_owned();
            if !installed_targets().contains(&base) {
                return Err(BuildError::MissingTarget {
                    target: base,
                    zig: if zig {
                        ""
                    } else {
                        " (and install cargo-zigbuild to link for Amazon Linux's glibc)"
                    },
                });
            }
            let zig_target = zig && base.ends_with("-gnu") && !t.contains(".2.");
            Ok((
                Some(if zig_target {
                    format!("{base}.2.17")
                } else {
                    t
                }),
                zig,
            ))
        }
    }
}

/// Runs `cargo build` for the configured binary and returns its path.
pub async fn compile(
    cfg: &Config,
    release: bool,
    quiet: bool,
) -> Result<(PathBuf, Option<String>), BuildError> {
    let (target, zig) = choose_target(cfg)?;
    let mut cmd =
        tokio::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.arg(if zig { "zigbuild" } else { "build" })
        .arg("--manifest-path")
        .arg(&cfg.project.manifest_path)
        .args(["--bin", &cfg.project.bin]);
    if release {
        cmd.arg("--release");
    }
    if let Some(t) = &target {
        cmd.args(["--target", t]);
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
    if let Some(t) = &target {
        dir.push(t.split(".2.").next().unwrap_or(t));
    }
    dir.push(profile);
    Ok((dir.join(&cfg.project.bin), target))
}

/// Writes `bootstrap` (mode 0755) into a zip with fixed timestamps, so an
/// unchanged binary gives a byte-identical zip.
pub fn write_zip(binary: &Path, zip_path: &Path) -> Result<(u64, [u8; 32]), BuildError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::Io { path, source }
    };
    let bytes = std::fs::read(binary).map_err(io(binary))?;
    if let Some(dir) = zip_path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
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
    std::fs::write(zip_path, &data).map_err(io(zip_path))?;
    Ok((data.len() as u64, Sha256::digest(&data).into()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds the binary and its zip.
pub async fn build(cfg: &Config, release: bool, quiet: bool) -> Result<Artifact, BuildError> {
    let (binary, target) = compile(cfg, release, quiet).await?;
    let zip = cfg.artifact_dir().join("bootstrap.zip");
    let (size, sha) = write_zip(&binary, &zip)?;
    use base64::Engine as _;
    Ok(Artifact {
        binary,
        zip,
        sha256_hex: hex(&sha),
        sha256_base64: base64::engine::general_purpose::STANDARD.encode(sha),
        size,
        target,
    })
}

/// `cargo lambada build`.
pub async fn run(args: BuildArgs) -> Result<Artifact, BuildError> {
    let cfg = config::load(&args.settings)?;
    let artifact = build(&cfg, !args.debug, args.json).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&artifact).unwrap_or_default()
        );
    } else {
        eprintln!(
            "built {} ({} bytes, sha256 {})",
            artifact.zip.display(),
            artifact.size,
            artifact.sha256_hex
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
        let (a_size, a) = write_zip(&bin, &dir.path().join("a/bootstrap.zip")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let (b_size, b) = write_zip(&bin, &dir.path().join("b/bootstrap.zip")).unwrap();
        assert_eq!((a_size, a), (b_size, b));
        let mut z =
            zip::ZipArchive::new(std::fs::File::open(dir.path().join("a/bootstrap.zip")).unwrap())
                .unwrap();
        assert_eq!(z.len(), 1);
        let f = z.by_index(0).unwrap();
        assert_eq!(f.name(), "bootstrap");
        assert_eq!(f.unix_mode().map(|m| m & 0o777), Some(0o755));
    }
}
