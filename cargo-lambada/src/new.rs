//! `cargo lambada new NAME`: a project from the template embedded in this
//! binary (no network): Cargo.toml with `[package.metadata.lambada]`, a hello
//! route, a test that uses the test client, a README.

use std::path::{Path, PathBuf};

/// Arguments of `new`.
#[derive(clap::Args, Debug)]
pub struct NewArgs {
    /// The package name (letters, digits, `-` and `_`); also the directory
    /// created unless --path says otherwise.
    pub name: String,
    /// The directory to create (default: ./NAME). It must not exist, or be
    /// empty.
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// Depend on a local lambada-runtime checkout instead of the published
    /// crate (for working on Lambada itself).
    #[arg(
        long,
        value_name = "DIR",
        hide = true,
        env = "LAMBADA_NEW_RUNTIME_PATH"
    )]
    pub path_to_lambada: Option<PathBuf>,
}

/// Errors of `new`.
#[derive(Debug, thiserror::Error)]
pub enum NewError {
    #[error("invalid package name `{name}`: {reason}")]
    Name { name: String, reason: &'static str },
    #[error("{0} already exists and is not empty")]
    Exists(PathBuf),
    #[error("--path-to-lambada: {0} does not contain lambada-runtime (no Cargo.toml naming it)")]
    NotRuntime(PathBuf),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

const CARGO_TOML: &str = include_str!("../templates/new/Cargo.toml.tmpl");
const MAIN_RS: &str = include_str!("../templates/new/main.rs.tmpl");
const TESTS_RS: &str = include_str!("../templates/new/tests.rs.tmpl");
const README: &str = include_str!("../templates/new/README.md.tmpl");
const GITIGNORE: &str = include_str!("../templates/new/gitignore.tmpl");

const KEYWORDS: [&str; 51] = [
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while",
];

/// Checks a package name as cargo would, plus the names that would clash
/// with the `lambada` dependency.
pub fn check_name(name: &str) -> Result<(), NewError> {
    let err = |reason| {
        Err(NewError::Name {
            name: name.to_owned(),
            reason,
        })
    };
    let Some(first) = name.chars().next() else {
        return err("it is empty");
    };
    if !first.is_ascii_alphabetic() {
        return err("it must start with a letter");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return err("use only ASCII letters, digits, `-` and `_`");
    }
    if name.len() > 64 {
        return err("it is longer than 64 characters");
    }
    if KEYWORDS.contains(&name) {
        return err("it is a Rust keyword");
    }
    let crate_name = name.replace('-', "_");
    if [
        "std",
        "core",
        "alloc",
        "proc_macro",
        "test",
        "lambada",
        "lambada_runtime",
        "lambada_macros",
        "tokio",
    ]
    .contains(&crate_name.as_str())
    {
        return err("it would clash with a crate the project uses");
    }
    Ok(())
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `lambada = …` dependency line: the published crate of this
/// cargo-lambada's version, or a local checkout.
fn dependency(path_to_lambada: Option<&Path>) -> Result<String, NewError> {
    match path_to_lambada {
        None => {
            let v = env!("CARGO_PKG_VERSION");
            let minor: Vec<&str> = v.split('.').take(2).collect();
            Ok(format!(
                "lambada = {{ package = \"lambada-runtime\", version = \"{}\" }}",
                minor.join(".")
            ))
        }
        Some(p) => {
            let dir = p
                .canonicalize()
                .map_err(|_| NewError::NotRuntime(p.to_path_buf()))?;
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
            if !manifest.contains("name = \"lambada-runtime\"") {
                return Err(NewError::NotRuntime(dir));
            }
            let path = dir
                .to_str()
                .ok_or_else(|| NewError::NotRuntime(dir.clone()))?;
            Ok(format!(
                "lambada = {{ package = \"lambada-runtime\", path = {} }}",
                toml_string(path)
            ))
        }
    }
}

/// The files of a new project, relative to its directory.
pub fn render(
    name: &str,
    path_to_lambada: Option<&Path>,
) -> Result<Vec<(&'static str, String)>, NewError> {
    check_name(name)?;
    let dep = dependency(path_to_lambada)?;
    let fill = |t: &str| {
        t.replace("{{name}}", name)
            .replace("{{lambada_dependency}}", &dep)
    };
    Ok(vec![
        ("Cargo.toml", fill(CARGO_TOML)),
        ("src/main.rs", fill(MAIN_RS)),
        ("src/tests.rs", fill(TESTS_RS)),
        ("README.md", fill(README)),
        (".gitignore", fill(GITIGNORE)),
    ])
}

/// `cargo lambada new`.
pub async fn run(args: NewArgs) -> Result<(), Box<dyn std::error::Error>> {
    let files = render(&args.name, args.path_to_lambada.as_deref())?;
    let dir = args
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(NewError::Exists(dir).into());
    }
    for (rel, content) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| NewError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, content).map_err(|source| NewError::Io {
            path: path.clone(),
            source,
        })?;
    }
    let shown = dir.display();
    println!("Created `{}` in {shown}", args.name);
    println!();
    println!("    cd {shown}");
    println!("    cargo test");
    println!("    cargo lambada serve        # then: curl http://127.0.0.1:3000/hello/Ada");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["hello", "my-api", "api_v2", "A1"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1api",
            "-x",
            "my api",
            "héllo",
            "fn",
            "test",
            "lambada",
            "lambada-runtime",
            "std",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn template_is_filled() {
        let files = render("my-api", None).unwrap();
        let cargo = &files.iter().find(|(p, _)| *p == "Cargo.toml").unwrap().1;
        assert!(cargo.contains("name = \"my-api\""));
        assert!(cargo.contains("function = \"my-api\""));
        assert!(
            cargo.contains("lambada = { package = \"lambada-runtime\", version = \"0.1\" }"),
            "{cargo}"
        );
        assert!(files.iter().all(|(_, c)| !c.contains("{{")));
        let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lambada-runtime");
        let files = render("my-api", Some(&runtime)).unwrap();
        assert!(files[0].1.contains("path = \""), "{}", files[0].1);
        assert!(render("x", Some(Path::new(env!("CARGO_MANIFEST_DIR")))).is_err());
    }

    #[test]
    fn toml_strings() {
        assert_eq!(toml_string(r#"C:\a "b""#), r#""C:\\a \"b\"""#);
    }
}
