//! `cargo lambada build` links the bootstrap statically by default: no
//! program interpreter, no shared library, no versioned glibc symbol newer
//! than Amazon Linux 2023's glibc 2.34 (`provided.al2023`). The bootstrap
//! it zips runs under the Runtime API emulator (`invoke --release` runs the
//! same build), where it answers, turns a panic into a 500, and resolves a
//! host name through the C library as the AWS SDK's client does.

mod serve_support;

use std::process::Output;

use serve_support::{cargo_lambada, fixture};

/// The glibc of Amazon Linux 2023, which `provided.al2023` runs.
const AL2023_GLIBC: (u32, u32) = (2, 34);

/// What the test reads of a 64-bit little-endian ELF file.
struct Elf<'a> {
    bytes: &'a [u8],
}

/// A section header's fields the test uses.
struct Section {
    kind: u32,
    offset: usize,
    size: usize,
    link: usize,
    info: usize,
}

impl<'a> Elf<'a> {
    fn new(bytes: &'a [u8]) -> Elf<'a> {
        assert_eq!(
            &bytes[..6],
            b"\x7fELF\x02\x01",
            "a 64-bit little-endian ELF file"
        );
        Elf { bytes }
    }

    fn uint(&self, offset: usize, n: usize) -> usize {
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(&self.bytes[offset..offset + n]);
        usize::try_from(u64::from_le_bytes(v)).unwrap()
    }

    /// The NUL-terminated string at `offset`.
    fn str_at(&self, offset: usize) -> String {
        let s = &self.bytes[offset..];
        String::from_utf8_lossy(&s[..s.iter().position(|b| *b == 0).unwrap()]).into_owned()
    }

    /// `PT_INTERP`: the dynamic loader the kernel starts first.
    fn interpreter(&self) -> Option<String> {
        let (phoff, phentsize, phnum) =
            (self.uint(0x20, 8), self.uint(0x36, 2), self.uint(0x38, 2));
        (0..phnum)
            .map(|i| phoff + i * phentsize)
            .find(|ph| self.uint(*ph, 4) == 3)
            .map(|ph| self.str_at(self.uint(ph + 8, 8)))
    }

    fn sections(&self) -> Vec<Section> {
        let (shoff, shentsize, shnum) =
            (self.uint(0x28, 8), self.uint(0x3a, 2), self.uint(0x3c, 2));
        (0..shnum)
            .map(|i| {
                let sh = shoff + i * shentsize;
                Section {
                    kind: self.uint(sh + 4, 4) as u32,
                    offset: self.uint(sh + 0x18, 8),
                    size: self.uint(sh + 0x20, 8),
                    link: self.uint(sh + 0x28, 4),
                    info: self.uint(sh + 0x2c, 4),
                }
            })
            .collect()
    }

    /// `DT_NEEDED`: the shared libraries the loader must find.
    fn needed(&self) -> Vec<String> {
        let sections = self.sections();
        let mut libs = Vec::new();
        for dynamic in sections.iter().filter(|s| s.kind == 6) {
            let strtab = sections[dynamic.link].offset;
            for entry in (dynamic.offset..dynamic.offset + dynamic.size).step_by(16) {
                match self.uint(entry, 8) {
                    0 => break,
                    1 => libs.push(self.str_at(strtab + self.uint(entry + 8, 8))),
                    _ => {}
                }
            }
        }
        libs
    }

    /// The symbol versions required of other objects (`SHT_GNU_verneed`),
    /// as `GLIBC_2.34` & co.
    fn version_needs(&self) -> Vec<String> {
        let sections = self.sections();
        let mut names = Vec::new();
        for verneed in sections.iter().filter(|s| s.kind == 0x6fff_fffe) {
            let strtab = sections[verneed.link].offset;
            let mut need = verneed.offset;
            for _ in 0..verneed.info {
                let (count, mut aux) = (self.uint(need + 2, 2), need + self.uint(need + 8, 4));
                for _ in 0..count {
                    names.push(self.str_at(strtab + self.uint(aux + 8, 4)));
                    aux += self.uint(aux + 12, 4);
                }
                need += self.uint(need + 12, 4);
            }
        }
        names
    }
}

/// `GLIBC_2.34` → (2, 34).
fn glibc_version(name: &str) -> Option<(u32, u32)> {
    let (major, minor) = name.strip_prefix("GLIBC_")?.split_once('.')?;
    let minor = minor.split('.').next()?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn the_elf_reader_sees_a_dynamic_binary_for_what_it_is() {
    // This test binary links the system's glibc dynamically: the checks
    // below would catch a reader that sees nothing.
    let bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let elf = Elf::new(&bytes);
    assert!(elf.interpreter().unwrap().contains("ld-linux"));
    assert!(
        elf.needed().iter().any(|l| l.starts_with("libc.so")),
        "{:?}",
        elf.needed()
    );
    let versions: Vec<_> = elf
        .version_needs()
        .iter()
        .filter_map(|v| glibc_version(v))
        .collect();
    assert!(!versions.is_empty(), "{:?}", elf.version_needs());
    assert_eq!(glibc_version("GLIBC_2.34"), Some((2, 34)));
    assert_eq!(glibc_version("GLIBC_2.2.5"), Some((2, 2)));
    assert_eq!(glibc_version("GCC_3.0"), None);
}

#[test]
fn the_default_build_is_static_and_runs_under_the_emulator() {
    let app = fixture("faulty", "faulty-static");
    let manifest = app.join("Cargo.toml");
    let manifest = manifest.to_str().unwrap();

    let out = cargo_lambada()
        .args(["build", "--json", "--manifest-path", manifest])
        .output()
        .expect("cargo-lambada runs");
    ok(&out, "cargo lambada build");
    let artifact = json(&out);
    assert_eq!(artifact["linkage"], "static", "{artifact}");
    let binary = std::fs::read(artifact["binary"].as_str().unwrap()).unwrap();

    let elf = Elf::new(&binary);
    assert_eq!(elf.interpreter(), None, "no dynamic loader");
    assert_eq!(elf.needed(), Vec::<String>::new(), "no shared library");
    let too_new: Vec<_> = elf
        .version_needs()
        .into_iter()
        .filter(|v| glibc_version(v).is_none_or(|v| v > AL2023_GLIBC))
        .collect();
    assert!(
        too_new.is_empty(),
        "needs {too_new:?}: newer than Amazon Linux 2023's glibc"
    );

    // The zip holds that binary.
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(artifact["zip"].as_str().unwrap()).unwrap())
            .unwrap();
    let mut zipped = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name("bootstrap").unwrap(), &mut zipped).unwrap();
    assert!(zipped == binary, "the zip's bootstrap is the binary built");

    // `invoke --release` runs the same build (nothing is rebuilt) under the
    // Runtime API emulator.
    let invoke = |path: &str| {
        let out = cargo_lambada()
            .args([
                "invoke",
                "--release",
                "--manifest-path",
                manifest,
                "--get",
                path,
            ])
            .output()
            .expect("cargo-lambada runs");
        ok(&out, &format!("cargo lambada invoke --get {path}"));
        json(&out)
    };
    let res = invoke("/version");
    assert_eq!(
        (res["statusCode"].as_u64(), res["body"].as_str()),
        (Some(200), Some("version one"))
    );
    // Unwinding works in the static binary: a panic is a 500.
    assert_eq!(invoke("/panic")["statusCode"], 500);
    // getaddrinfo through the C library's name service (`files`: /etc/hosts),
    // which a static glibc runs built in.
    let res = invoke("/resolve/localhost");
    assert_eq!(res["statusCode"], 200, "{res}");
    let addrs = res["body"].as_str().unwrap();
    assert!(
        addrs.split(',').any(|a| a == "127.0.0.1" || a == "::1"),
        "localhost resolved to {addrs}"
    );
}
