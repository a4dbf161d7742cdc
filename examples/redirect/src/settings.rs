//! Where `/moved/<rest..>` points.

/// Where the moved section lives now: `MOVED_TO`, an absolute http(s) URL
/// (default `https://example.com/`).
#[derive(Debug, Clone)]
pub struct Settings {
    moved_to: url::Url,
}

impl Settings {
    /// Settings with this `MOVED_TO`.
    pub fn new(moved_to: &str) -> Result<Settings, String> {
        let url = url::Url::parse(moved_to)
            .map_err(|e| format!("MOVED_TO must be an absolute URL, got `{moved_to}`: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!(
                "MOVED_TO must be an http or https URL with a host, got `{moved_to}`"
            ));
        }
        Ok(Settings { moved_to: url })
    }

    /// Settings from the environment.
    pub fn from_env() -> Result<Settings, lambada::Error> {
        let moved_to =
            std::env::var("MOVED_TO").unwrap_or_else(|_| "https://example.com/".to_owned());
        Ok(Settings::new(&moved_to)?)
    }

    /// `MOVED_TO` followed by the segments of `rest` (the percent-decoded
    /// tail of the path), each percent-encoded again, and by the query
    /// pairs (decoded), form-encoded again. `.` and `..` segments are
    /// dropped, and the scheme and host are `MOVED_TO`'s whatever the tail
    /// holds: `/moved//evil.example` stays on `MOVED_TO`'s host (a plain
    /// `format!("{prefix}{rest}")` against a relative prefix would send the
    /// client to `//evil.example`).
    pub fn moved_url<'q>(
        &self,
        rest: &str,
        query: impl Iterator<Item = (&'q str, &'q str)>,
    ) -> url::Url {
        let mut url = self.moved_to.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(rest.split('/'));
        }
        let mut query = query.peekable();
        if query.peek().is_some() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }
}
