//! An opt-in debug log (`--log-file PATH` or `ECR_LOGIN_LOG`): one line per
//! event (verb, registry, cache hit or miss, request sent). Callers pass
//! registry names and outcomes only, never tokens or the `store` input.

use std::fs::File;
use std::io::Write;
use std::path::Path;

#[derive(Debug)]
pub struct Log {
    file: Option<File>,
}

impl Log {
    /// Appends to `path`; without one, or if it cannot be opened (reported
    /// on stderr, which Docker does not parse), logging is off.
    pub fn open(path: Option<&std::ffi::OsStr>) -> Log {
        let file = path.and_then(|path| {
            let path = Path::new(path);
            let mut options = std::fs::OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            options
                .open(path)
                .map_err(|e| eprintln!("ecr-login: cannot open log file {}: {e}", path.display()))
                .ok()
        });
        Log { file }
    }

    pub fn line(&self, message: std::fmt::Arguments<'_>) {
        if let Some(mut file) = self.file.as_ref() {
            let _ = writeln!(
                file,
                "{} [{}] {message}",
                crate::cache::now(),
                std::process::id()
            );
        }
    }
}
