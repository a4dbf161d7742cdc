//! The token cache: one JSON file per registry host, readable by the user
//! only, replaced atomically (temp file + rename), so parallel `docker pull`s
//! never see a half-written entry and never lose each other's writes.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Overrides where the cache lives (tests, or a shared CI volume).
pub const CACHE_DIR_ENV: &str = "ECR_LOGIN_CACHE_DIR";

/// A cached token is used until this many seconds before it expires, so
/// Docker never starts a push with a token about to lapse.
pub const EXPIRY_MARGIN_SECS: i64 = 5 * 60;

/// One registry's credentials as ECR issued them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// The registry host, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com`.
    pub registry: String,
    pub username: String,
    pub secret: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Never prints the secret.
impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("registry", &self.registry)
            .field("username", &self.username)
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Entry {
    pub fn is_fresh(&self, now: i64) -> bool {
        now + EXPIRY_MARGIN_SECS < self.expires_at
    }
}

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup {
    Fresh(Entry),
    Expired,
    Missing,
    /// Unreadable or not an entry for this registry: ignored, then rewritten.
    Corrupt,
}

#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Cache {
    pub fn new(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    /// `$ECR_LOGIN_CACHE_DIR`, else `$XDG_CACHE_HOME/ecr-login`, else
    /// `~/.cache/ecr-login`.
    pub fn from_env() -> Option<Cache> {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(dir) = var(CACHE_DIR_ENV) {
            return Some(Cache::new(dir.into()));
        }
        if let Some(xdg) = var("XDG_CACHE_HOME").map(PathBuf::from)
            && xdg.is_absolute()
        {
            return Some(Cache::new(xdg.join("ecr-login")));
        }
        var("HOME").map(|home| Cache::new(PathBuf::from(home).join(".cache").join("ecr-login")))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `host` has been through [`crate::registry::Registry::parse`], so it
    /// is only `[0-9a-z.-]`: safe as a file name.
    fn path(&self, host: &str) -> PathBuf {
        self.dir.join(format!("{host}.json"))
    }

    pub fn get(&self, host: &str, now: i64) -> Lookup {
        let text = match fs::read(self.path(host)) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Lookup::Missing,
            Err(_) => return Lookup::Corrupt,
        };
        match serde_json::from_slice::<Entry>(&text) {
            Ok(entry) if entry.registry != host => Lookup::Corrupt,
            Ok(entry) if entry.is_fresh(now) => Lookup::Fresh(entry),
            Ok(_) => Lookup::Expired,
            Err(_) => Lookup::Corrupt,
        }
    }

    /// Writes the entry atomically, creating the directory (mode 0700) and
    /// the file (mode 0600) as needed.
    pub fn put(&self, entry: &Entry) -> io::Result<()> {
        create_private_dir(&self.dir)?;
        let target = self.path(&entry.registry);
        let tmp = self.dir.join(format!(
            ".{}.{}.{}.tmp",
            entry.registry,
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        let written = (|| {
            let mut file = create_private_file(&tmp)?;
            file.write_all(&serde_json::to_vec(entry)?)?;
            file.sync_all()?;
            fs::rename(&tmp, &target)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }

    /// Removes the registry's entry; a missing entry is not an error.
    pub fn remove(&self, host: &str) -> io::Result<()> {
        match fs::remove_file(self.path(host)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Every readable entry, sorted by registry (expired ones too: `get`
    /// refreshes them).
    pub fn list(&self) -> Vec<Entry> {
        let Ok(dir) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut entries: Vec<Entry> = dir
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let host = name.strip_suffix(".json").filter(|h| !h.starts_with('.'))?;
                let entry: Entry = serde_json::from_slice(&fs::read(e.path()).ok()?).ok()?;
                (entry.registry == host).then_some(entry)
            })
            .collect();
        entries.sort_by(|a, b| a.registry.cmp(&b.registry));
        entries
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

    fn entry(host: &str, expires_at: i64) -> Entry {
        Entry {
            registry: host.into(),
            username: "AWS".into(),
            secret: "s3cret".into(),
            expires_at,
        }
    }

    #[test]
    fn put_get_remove_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("nested").join("ecr-login"));
        assert!(matches!(cache.get(HOST, 1000), Lookup::Missing));

        cache
            .put(&entry(HOST, 1000 + EXPIRY_MARGIN_SECS + 1))
            .unwrap();
        match cache.get(HOST, 1000) {
            Lookup::Fresh(e) => assert_eq!(e, entry(HOST, 1000 + EXPIRY_MARGIN_SECS + 1)),
            other => panic!("{other:?}"),
        }
        // Inside the margin counts as expired.
        assert!(matches!(cache.get(HOST, 1001), Lookup::Expired));

        cache.remove(HOST).unwrap();
        cache.remove(HOST).unwrap();
        assert!(matches!(cache.get(HOST, 1000), Lookup::Missing));
    }

    #[test]
    fn corrupt_or_misplaced_entries_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned());
        fs::write(cache.path(HOST), b"{not json").unwrap();
        assert!(matches!(cache.get(HOST, 0), Lookup::Corrupt));
        assert!(cache.list().is_empty());

        let other = "210987654321.dkr.ecr.eu-west-1.amazonaws.com";
        fs::write(
            cache.path(HOST),
            serde_json::to_vec(&entry(other, i64::MAX)).unwrap(),
        )
        .unwrap();
        assert!(matches!(cache.get(HOST, 0), Lookup::Corrupt));

        cache.put(&entry(HOST, i64::MAX)).unwrap();
        assert!(matches!(cache.get(HOST, 0), Lookup::Fresh(_)));
    }

    #[test]
    fn list_is_sorted_and_skips_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned());
        assert!(Cache::new(dir.path().join("absent")).list().is_empty());
        let a = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
        cache.put(&entry(HOST, 5)).unwrap();
        cache.put(&entry(a, i64::MAX)).unwrap();
        fs::write(dir.path().join(format!(".{a}.1.2.tmp")), b"{}").unwrap();
        let hosts: Vec<_> = cache.list().into_iter().map(|e| e.registry).collect();
        assert_eq!(hosts, [a, HOST]);
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("ecr-login"));
        cache.put(&entry(HOST, 0)).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(cache.dir()), 0o700);
        assert_eq!(mode(&cache.path(HOST)), 0o600);
    }

    #[test]
    fn debug_redacts_the_secret() {
        let text = format!("{:?}", entry(HOST, 0));
        assert!(!text.contains("s3cret"), "{text}");
    }
}
