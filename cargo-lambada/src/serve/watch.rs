//! Watches source trees by polling file sizes and modification times: no
//! platform notification API, so it behaves the same everywhere (and on
//! network and container file systems, where notifications get lost).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;

/// How often the trees are scanned.
const INTERVAL: Duration = Duration::from_millis(500);
/// A change is reported once the trees have been still for this long, so a
/// save that touches several files triggers one rebuild.
const SETTLE: Duration = Duration::from_millis(300);
/// Scanning stops at this many files per scan (a safety net against
/// watching a home directory by mistake).
const MAX_FILES: usize = 50_000;

type Snapshot = HashMap<PathBuf, (SystemTime, u64)>;

/// What to watch.
#[derive(Debug, Clone)]
pub struct Watch {
    /// Directories scanned recursively.
    pub roots: Vec<PathBuf>,
    /// Directories skipped (the target directory).
    pub exclude: Vec<PathBuf>,
}

/// Whether a file or directory name is noise: hidden files, editor backups
/// and swap files, build output.
fn ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name == "4913"
        || name == "target"
        || name == "node_modules"
}

fn scan(w: &Watch) -> Snapshot {
    let mut snap = Snapshot::new();
    for root in &w.roots {
        // An excluded directory that holds the root (a project inside a
        // target directory) does not hide the root's own files.
        let exclude: Vec<&PathBuf> = w.exclude.iter().filter(|x| !root.starts_with(x)).collect();
        scan_root(root, &exclude, &mut snap);
    }
    snap
}

fn scan_root(root: &Path, exclude: &[&PathBuf], snap: &mut Snapshot) {
    let mut stack: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if snap.len() >= MAX_FILES {
                return;
            }
            let name = e.file_name();
            if name.to_str().is_none_or(ignored) {
                continue;
            }
            let path = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if !exclude.iter().any(|x| path.starts_with(x)) {
                    stack.push(path);
                }
            } else if let Ok(m) = e.metadata() {
                let modified = m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                snap.insert(path, (modified, m.len()));
            }
        }
    }
}

async fn scan_async(w: &Watch) -> Snapshot {
    let w = w.clone();
    tokio::task::spawn_blocking(move || scan(&w))
        .await
        .unwrap_or_default()
}

/// Takes a first snapshot, then watches in the background; the receiver
/// gets one message per settled change (a change while the previous
/// message is still pending is merged into it).
pub async fn spawn(w: Watch) -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel(1);
    let mut last = scan_async(&w).await;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(INTERVAL).await;
            if tx.is_closed() {
                return;
            }
            let mut now = scan_async(&w).await;
            if now == last {
                continue;
            }
            loop {
                tokio::time::sleep(SETTLE).await;
                let again = scan_async(&w).await;
                if again == now {
                    break;
                }
                now = again;
            }
            last = now;
            let _ = tx.try_send(());
        }
    });
    rx
}

/// Canonical form of a path when it exists (so `starts_with` works across
/// `..` and symlinks), else the path as given.
pub fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_sources_and_skips_noise() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/nested")).unwrap();
        std::fs::create_dir_all(root.join("target/debug")).unwrap();
        std::fs::create_dir_all(root.join("out")).unwrap();
        std::fs::write(root.join("src/main.rs"), "fn main() {}").unwrap();
        std::fs::write(root.join("src/nested/a.rs"), "").unwrap();
        std::fs::write(root.join("src/.main.rs.swp"), "").unwrap();
        std::fs::write(root.join("src/main.rs~"), "").unwrap();
        std::fs::write(root.join("target/debug/app"), "").unwrap();
        std::fs::write(root.join("out/x"), "").unwrap();
        let w = Watch {
            roots: vec![root.to_path_buf()],
            exclude: vec![root.join("out")],
        };
        let snap = scan(&w);
        let mut names: Vec<_> = snap
            .keys()
            .map(|p| p.strip_prefix(root).unwrap().to_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                PathBuf::from("src/main.rs"),
                PathBuf::from("src/nested/a.rs")
            ]
        );
        std::fs::write(root.join("src/main.rs"), "fn main() { println!(); }").unwrap();
        assert_ne!(scan(&w), snap);
        // A root inside an excluded directory is still scanned.
        let w = Watch {
            roots: vec![root.join("out")],
            exclude: vec![root.to_path_buf()],
        };
        assert_eq!(scan(&w).len(), 1);
    }
}
