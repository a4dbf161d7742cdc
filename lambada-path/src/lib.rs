//! The route-path grammar of [Lambada](https://github.com/lambada-rs/lambada),
//! in one place.
//!
//! The `#[get("…")]` family of attributes parses paths with [`parse`] at
//! compile time (and reports every [`ParseError`] under the offending
//! characters), the runtime checks tables of parsed paths for collisions with
//! the `const fn`s [`collision`] and [`sibling_conflict`], and the CLI turns
//! them into API Gateway resource paths. Nothing here allocates in the checks,
//! so they run inside `const` items.
//!
//! # Grammar
//!
//! ```text
//! path     = "/" | ("/" segment)+ [ "?" query ]
//! segment  = literal | "<" name ">" | "<" name "..>" | "{" name "}" | "{" name "+}"
//! literal  = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / ":" / "@" )
//! name     = (ALPHA / "_") *(ALPHA / DIGIT / "_")
//! query    = "<" name ">" *( "&" "<" name ">" )
//! ```
//!
//! `<name..>` (or the API Gateway spelling `{name+}`) is a greedy tail and must
//! be the last segment. A parameter is always a whole segment, and a path
//! has at most [`MAX_PARAMS`] of them besides the tail.
//!
//! ```
//! use lambada_path::{parse, Segment};
//!
//! let path = parse("/files/<user>/{rest+}?<download>").unwrap();
//! assert_eq!(
//!     path.segments,
//!     [Segment::Literal("files"), Segment::Param("user"), Segment::Tail("rest")]
//! );
//! assert_eq!(path.query, ["download"]);
//! assert_eq!(path.apigw(), "/files/{user}/{rest+}");
//! assert_eq!(path.matchit(), "/files/{user}/{*rest}");
//! ```
#![forbid(unsafe_code)]

use std::fmt;
use std::ops::Range;

/// One `/`-separated piece of a route path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Segment<'a> {
    /// A literal segment that must match exactly: `users`.
    Literal(&'a str),
    /// A typed parameter matching one segment: `<id>` or `{id}`.
    Param(&'a str),
    /// A greedy parameter matching the rest of the path: `<rest..>` or `{rest+}`.
    Tail(&'a str),
}

impl<'a> Segment<'a> {
    /// The parameter name, or `None` for a literal.
    pub const fn param_name(&self) -> Option<&'a str> {
        match self {
            Segment::Literal(_) => None,
            Segment::Param(n) | Segment::Tail(n) => Some(n),
        }
    }
}

/// A parsed route path: its segments and the query parameters it declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePath<'a> {
    /// The path segments, without the leading `/`. Empty for `/`.
    pub segments: Vec<Segment<'a>>,
    /// Names declared in the query part (`?<q>&<page>`).
    pub query: Vec<&'a str>,
    /// Byte range of each segment in the input (for diagnostics).
    pub segment_spans: Vec<Range<usize>>,
    /// Byte range of each query name in the input (for diagnostics).
    pub query_spans: Vec<Range<usize>>,
}

impl RoutePath<'_> {
    /// The path in Lambada's own spelling: `/users/<id>/files/<rest..>`.
    pub fn canonical(&self) -> String {
        self.render(|s, out| match s {
            Segment::Literal(l) => out.push_str(l),
            Segment::Param(n) => {
                out.push('<');
                out.push_str(n);
                out.push('>');
            }
            Segment::Tail(n) => {
                out.push('<');
                out.push_str(n);
                out.push_str("..>");
            }
        })
    }

    /// The API Gateway resource path: `/users/{id}/files/{rest+}`.
    pub fn apigw(&self) -> String {
        self.render(|s, out| match s {
            Segment::Literal(l) => out.push_str(l),
            Segment::Param(n) => {
                out.push('{');
                out.push_str(n);
                out.push('}');
            }
            Segment::Tail(n) => {
                out.push('{');
                out.push_str(n);
                out.push_str("+}");
            }
        })
    }

    /// The pattern in [`matchit`](https://docs.rs/matchit)'s spelling:
    /// `/users/{id}/files/{*rest}`.
    pub fn matchit(&self) -> String {
        self.render(|s, out| match s {
            Segment::Literal(l) => out.push_str(l),
            Segment::Param(n) => {
                out.push('{');
                out.push_str(n);
                out.push('}');
            }
            Segment::Tail(n) => {
                out.push_str("{*");
                out.push_str(n);
                out.push('}');
            }
        })
    }

    fn render(&self, mut f: impl FnMut(&Segment<'_>, &mut String)) -> String {
        if self.segments.is_empty() {
            return "/".to_owned();
        }
        let mut out = String::new();
        for s in &self.segments {
            out.push('/');
            f(s, &mut out);
        }
        out
    }
}

/// What is wrong with a route path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The path is empty or does not start with `/`.
    MissingLeadingSlash,
    /// Two slashes in a row: an empty segment.
    EmptySegment,
    /// The path ends with `/` (API Gateway has no such resources).
    TrailingSlash,
    /// A `<` or `{` without its closing bracket.
    Unclosed(char),
    /// A closing `>` or `}` without its opening bracket.
    Unopened(char),
    /// `<>` or `{}`.
    EmptyName,
    /// A parameter name that is not a Rust identifier.
    BadName(String),
    /// A parameter sharing its segment with other characters (`a<id>`).
    PartialSegment,
    /// A tail parameter that is not the last segment.
    TailNotLast(String),
    /// The same parameter name twice.
    DuplicateName(String),
    /// A character API Gateway does not allow in a resource path.
    BadChar(char),
    /// A malformed query declaration.
    BadQuery,
    /// More than [`MAX_PARAMS`] `<name>` segments.
    TooManyParams,
}

/// The most `<name>` segments a path may have (a tail `<rest..>` comes on
/// top): the runtime's router, [matchit](https://docs.rs/matchit), refuses
/// more by panicking.
pub const MAX_PARAMS: usize = 25;

/// A parse error and the byte range of the input it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub kind: ErrorKind,
    /// Where, as a byte range of the parsed string.
    pub span: Range<usize>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::MissingLeadingSlash => f.write_str("route paths must start with `/`"),
            ErrorKind::EmptySegment => {
                f.write_str("empty segment: `//` is not allowed in a route path")
            }
            ErrorKind::TrailingSlash => f.write_str(
                "trailing `/`: API Gateway resource paths cannot end with a slash; remove it",
            ),
            ErrorKind::Unclosed(c) => write!(f, "unclosed `{c}` in route path"),
            ErrorKind::Unopened(c) => write!(f, "`{c}` without its opening bracket"),
            ErrorKind::EmptyName => f.write_str("empty parameter name"),
            ErrorKind::BadName(n) => write!(
                f,
                "`{n}` is not a valid parameter name: use a Rust identifier (letters, digits, `_`)"
            ),
            ErrorKind::PartialSegment => f.write_str(
                "a parameter must be a whole segment: `/a<id>` is not supported, write `/a/<id>`",
            ),
            ErrorKind::TailNotLast(n) => {
                write!(f, "the tail parameter `<{n}..>` must be the last segment")
            }
            ErrorKind::DuplicateName(n) => write!(f, "parameter `{n}` is declared twice"),
            ErrorKind::BadChar(c) => write!(
                f,
                "`{c}` is not allowed in a route path: literals may use letters, digits and `-._~:@`"
            ),
            ErrorKind::BadQuery => {
                f.write_str("query parameters are declared as `?<name>` joined by `&`")
            }
            ErrorKind::TooManyParams => write!(
                f,
                "a route path has at most {MAX_PARAMS} parameters (and a tail): this is one more"
            ),
        }
    }
}

impl std::error::Error for ParseError {}

fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | ':' | '@')
}

fn check_name(name: &str, start: usize, errors: &mut Vec<ParseError>) {
    let span = start..start + name.len();
    if name.is_empty() {
        errors.push(ParseError {
            kind: ErrorKind::EmptyName,
            span: start.saturating_sub(1)..start + 1,
        });
        return;
    }
    let mut chars = name.chars();
    let first = chars.next().unwrap_or('_');
    let ok = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        errors.push(ParseError {
            kind: ErrorKind::BadName(name.to_owned()),
            span,
        });
    }
}

/// Parses one bracketed parameter starting at `seg` (the whole segment text).
fn parse_param<'a>(
    seg: &'a str,
    start: usize,
    errors: &mut Vec<ParseError>,
) -> Option<Segment<'a>> {
    let (open, close) = if seg.starts_with('<') {
        ('<', '>')
    } else {
        ('{', '}')
    };
    let Some(end) = seg.find(close) else {
        errors.push(ParseError {
            kind: ErrorKind::Unclosed(open),
            span: start..start + seg.len(),
        });
        return None;
    };
    if end + 1 != seg.len() {
        errors.push(ParseError {
            kind: ErrorKind::PartialSegment,
            span: start..start + seg.len(),
        });
        return None;
    }
    let inner = &seg[1..end];
    let (name, tail) = if open == '<' {
        match inner.strip_suffix("..") {
            Some(n) => (n, true),
            None => (inner, false),
        }
    } else {
        match inner.strip_suffix('+') {
            Some(n) => (n, true),
            None => (inner, false),
        }
    };
    let before = errors.len();
    check_name(name, start + 1, errors);
    if errors.len() != before {
        return None;
    }
    Some(if tail {
        Segment::Tail(name)
    } else {
        Segment::Param(name)
    })
}

/// Parses a route path, returning every error found (not just the first).
///
/// ```
/// let errors = lambada_path::parse("/users//<id").unwrap_err();
/// assert_eq!(errors.len(), 2);
/// assert_eq!(errors[0].span, 6..8); // the `//`
/// ```
pub fn parse(input: &str) -> Result<RoutePath<'_>, Vec<ParseError>> {
    let mut errors = Vec::new();
    let mut out = RoutePath {
        segments: Vec::new(),
        query: Vec::new(),
        segment_spans: Vec::new(),
        query_spans: Vec::new(),
    };
    if !input.starts_with('/') {
        errors.push(ParseError {
            kind: ErrorKind::MissingLeadingSlash,
            // The first character, whole (it may take several bytes).
            span: 0..input.chars().next().map_or(0, char::len_utf8),
        });
        return Err(errors);
    }
    let (path, query) = match input.find('?') {
        Some(q) => (&input[..q], Some((q + 1, &input[q + 1..]))),
        None => (input, None),
    };
    if path != "/" {
        let mut pos = 1;
        let pieces: Vec<&str> = path[1..].split('/').collect();
        let last = pieces.len() - 1;
        for (i, seg) in pieces.iter().enumerate() {
            let start = pos;
            pos += seg.len() + 1;
            if seg.is_empty() {
                let kind = if i == last {
                    ErrorKind::TrailingSlash
                } else {
                    ErrorKind::EmptySegment
                };
                errors.push(ParseError {
                    kind,
                    span: start - 1..start + usize::from(i != last),
                });
                continue;
            }
            let parsed = if seg.starts_with('<') || seg.starts_with('{') {
                parse_param(seg, start, &mut errors)
            } else if let Some(off) = seg.find(['<', '{']) {
                errors.push(ParseError {
                    kind: ErrorKind::PartialSegment,
                    span: start + off..start + seg.len(),
                });
                None
            } else if let Some((off, c)) = seg.char_indices().find(|&(_, c)| !is_literal_char(c)) {
                let kind = match c {
                    '>' | '}' => ErrorKind::Unopened(c),
                    _ => ErrorKind::BadChar(c),
                };
                errors.push(ParseError {
                    kind,
                    span: start + off..start + off + c.len_utf8(),
                });
                None
            } else {
                Some(Segment::Literal(seg))
            };
            if let Some(s) = parsed {
                out.segments.push(s);
                out.segment_spans.push(start..start + seg.len());
            }
        }
    }
    if let Some((qstart, q)) = query {
        let mut pos = qstart;
        for item in q.split('&') {
            let start = pos;
            pos += item.len() + 1;
            match item.strip_prefix('<').and_then(|i| i.strip_suffix('>')) {
                Some(name) if !name.ends_with("..") => {
                    let before = errors.len();
                    check_name(name, start + 1, &mut errors);
                    if errors.len() == before {
                        out.query.push(name);
                        out.query_spans.push(start + 1..start + 1 + name.len());
                    }
                }
                // An empty item (`/a?`, `?<q>&`): the `?` or `&` before it,
                // so the span stays inside the input.
                _ if item.is_empty() => errors.push(ParseError {
                    kind: ErrorKind::BadQuery,
                    span: start - 1..start,
                }),
                _ => errors.push(ParseError {
                    kind: ErrorKind::BadQuery,
                    span: start..start + item.len(),
                }),
            }
        }
    }
    // Tail placement, the router's limit and duplicate names.
    if let Some(i) = out
        .segments
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, Segment::Param(_)))
        .nth(MAX_PARAMS)
        .map(|(i, _)| i)
    {
        errors.push(ParseError {
            kind: ErrorKind::TooManyParams,
            span: out.segment_spans[i].clone(),
        });
    }
    let mut seen: Vec<&str> = Vec::new();
    let n = out.segments.len();
    for (i, s) in out.segments.iter().enumerate() {
        if let (Segment::Tail(name), false) = (s, i + 1 == n) {
            errors.push(ParseError {
                kind: ErrorKind::TailNotLast((*name).to_owned()),
                span: out.segment_spans[i].clone(),
            });
        }
    }
    let names = out
        .segments
        .iter()
        .zip(&out.segment_spans)
        .filter_map(|(s, sp)| s.param_name().map(|n| (n, sp.clone())))
        .chain(
            out.query
                .iter()
                .copied()
                .zip(out.query_spans.iter().cloned()),
        );
    for (name, span) in names {
        if seen.contains(&name) {
            errors.push(ParseError {
                kind: ErrorKind::DuplicateName(name.to_owned()),
                span,
            });
        } else {
            seen.push(name);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        errors.sort_by_key(|e| e.span.start);
        Err(errors)
    }
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether two routes with the same method would match exactly the same
/// requests: same literals, parameters of the same kind at the same
/// positions (names do not matter).
///
/// ```
/// use lambada_path::{collision, Segment::*};
/// assert!(collision(&[Literal("u"), Param("id")], &[Literal("u"), Param("name")]));
/// assert!(!collision(&[Literal("u"), Param("id")], &[Literal("u"), Literal("me")]));
/// ```
pub const fn collision(a: &[Segment<'_>], b: &[Segment<'_>]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        let same = match (a[i], b[i]) {
            (Segment::Literal(x), Segment::Literal(y)) => str_eq(x, y),
            (Segment::Param(_), Segment::Param(_)) | (Segment::Tail(_), Segment::Tail(_)) => true,
            _ => false,
        };
        if !same {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether API Gateway would refuse these two routes (of any methods) as one
/// REST API: at the first position where both have a variable under the same
/// parent resource, the variables differ in name or kind
/// (`/users/{id}` and `/users/{user_id}/posts`, or `/f/{id}` and `/f/{rest+}`).
///
/// Returns the index of the conflicting segment.
///
/// ```
/// use lambada_path::{sibling_conflict, Segment::*};
/// let a = [Literal("users"), Param("id")];
/// let b = [Literal("users"), Param("user_id"), Literal("posts")];
/// assert_eq!(sibling_conflict(&a, &b), Some(1));
/// let c = [Literal("users"), Param("id"), Literal("posts")];
/// assert_eq!(sibling_conflict(&a, &c), None);
/// ```
pub const fn sibling_conflict(a: &[Segment<'_>], b: &[Segment<'_>]) -> Option<usize> {
    let mut i = 0;
    while i < a.len() && i < b.len() {
        match (a[i], b[i]) {
            (Segment::Literal(x), Segment::Literal(y)) => {
                if !str_eq(x, y) {
                    return None;
                }
            }
            (Segment::Param(x), Segment::Param(y)) => {
                if !str_eq(x, y) {
                    return Some(i);
                }
            }
            (Segment::Tail(x), Segment::Tail(y)) => {
                if !str_eq(x, y) {
                    return Some(i);
                }
            }
            (Segment::Param(_), Segment::Tail(_)) | (Segment::Tail(_), Segment::Param(_)) => {
                return Some(i);
            }
            _ => return None,
        }
        i += 1;
    }
    None
}

/// Checks the name of an authorizer (`auth = "name"` on a route, a key of
/// `[package.metadata.lambada.authorizers]`): letters, digits, `_` and `-`,
/// not empty. (`none`, which marks a public route, is the callers' to
/// handle.)
///
/// ```
/// assert!(lambada_path::authorizer_name("users").is_ok());
/// assert!(lambada_path::authorizer_name("has space").is_err());
/// ```
pub fn authorizer_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("an authorizer name cannot be empty".into());
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        Some(c) => Err(format!(
            "authorizer name `{name}` has `{c}`: use letters, digits, `_` and `-`"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Segment::*;

    fn kinds(input: &str) -> Vec<(ErrorKind, Range<usize>)> {
        parse(input)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.kind, e.span))
            .collect()
    }

    #[test]
    fn parses_both_spellings() {
        for input in ["/users/<id>/files/<rest..>", "/users/{id}/files/{rest+}"] {
            let p = parse(input).unwrap();
            assert_eq!(
                p.segments,
                [
                    Literal("users"),
                    Param("id"),
                    Literal("files"),
                    Tail("rest")
                ]
            );
            assert_eq!(p.canonical(), "/users/<id>/files/<rest..>");
            assert_eq!(p.apigw(), "/users/{id}/files/{rest+}");
            assert_eq!(p.matchit(), "/users/{id}/files/{*rest}");
        }
    }

    #[test]
    fn root_and_query() {
        let p = parse("/").unwrap();
        assert!(p.segments.is_empty());
        assert_eq!(p.apigw(), "/");
        let p = parse("/search?<q>&<page>").unwrap();
        assert_eq!(p.segments, [Literal("search")]);
        assert_eq!(p.query, ["q", "page"]);
        assert_eq!(p.query_spans, [9..10, 13..17]);
    }

    #[test]
    fn spans_point_at_the_cause() {
        assert_eq!(kinds("/a//b"), [(ErrorKind::EmptySegment, 2..4)]);
        assert_eq!(kinds("/a/"), [(ErrorKind::TrailingSlash, 2..3)]);
        assert_eq!(kinds("/a/<id"), [(ErrorKind::Unclosed('<'), 3..6)]);
        assert_eq!(kinds("/a/<>"), [(ErrorKind::EmptyName, 3..5)]);
        assert_eq!(kinds("/a/<1x>"), [(ErrorKind::BadName("1x".into()), 4..6)]);
        assert_eq!(kinds("/a/x<id>"), [(ErrorKind::PartialSegment, 4..8)]);
        assert_eq!(
            kinds("/a/<r..>/b"),
            [(ErrorKind::TailNotLast("r".into()), 3..8)]
        );
        assert_eq!(
            kinds("/a/<x>/<x>"),
            [(ErrorKind::DuplicateName("x".into()), 7..10)]
        );
        assert_eq!(kinds("/a b"), [(ErrorKind::BadChar(' '), 2..3)]);
        assert_eq!(kinds("/a/b>"), [(ErrorKind::Unopened('>'), 4..5)]);
        assert_eq!(kinds("a"), [(ErrorKind::MissingLeadingSlash, 0..1)]);
        assert_eq!(kinds("/a?q"), [(ErrorKind::BadQuery, 3..4)]);
        assert_eq!(
            kinds("/a/<x>?<x>"),
            [(ErrorKind::DuplicateName("x".into()), 8..9)]
        );
    }

    #[test]
    fn empty_query_items_point_at_their_separator() {
        // Found by the path_grammar fuzz target: the span of an empty
        // query item ran one byte past the end of the input.
        assert_eq!(kinds("/v1/items:b?"), [(ErrorKind::BadQuery, 11..12)]);
        assert_eq!(kinds("/a?<q>&"), [(ErrorKind::BadQuery, 6..7)]);
        assert_eq!(kinds("/a?&<q>"), [(ErrorKind::BadQuery, 2..3)]);
        for input in ["/?", "/a?", "/a?<q>&", "/a?&&", "/a/<b>?<c>&&<d>&"] {
            for e in parse(input).unwrap_err() {
                assert!(e.span.end <= input.len(), "{input:?}: {e:?}");
                assert!(e.span.start < e.span.end, "{input:?}: {e:?}");
            }
        }
    }

    #[test]
    fn a_missing_slash_spans_the_whole_first_character() {
        // Found by the path_grammar fuzz target: the span was the first
        // byte, inside a character of several bytes.
        assert_eq!(kinds("Ԅoi"), [(ErrorKind::MissingLeadingSlash, 0..2)]);
        assert_eq!(kinds("é/x"), [(ErrorKind::MissingLeadingSlash, 0..2)]);
        assert_eq!(kinds(""), [(ErrorKind::MissingLeadingSlash, 0..0)]);
    }

    #[test]
    fn at_most_25_parameters() {
        // Found by the path_grammar fuzz target: matchit, the runtime's
        // router, panics on a route with 26 parameters, so such a route
        // compiled and crashed the function on its first request.
        let path = |n: usize| (0..n).map(|i| format!("/<p{i}>")).collect::<String>();
        assert_eq!(parse(&path(MAX_PARAMS)).unwrap().segments.len(), 25);
        assert!(parse(&format!("{}/<rest..>", path(MAX_PARAMS))).is_ok());
        assert!(parse(&format!("/a{}/b", path(MAX_PARAMS))).is_ok());
        let over = path(MAX_PARAMS + 1);
        assert_eq!(
            kinds(&over),
            [(ErrorKind::TooManyParams, over.len() - 5..over.len())]
        );
        assert_eq!(kinds(&path(30)).len(), 1, "reported once");
    }

    #[test]
    fn reports_every_error() {
        assert_eq!(kinds("/a//b/<>/c d").len(), 3);
    }

    #[test]
    fn collisions() {
        let a = parse("/u/<id>").unwrap().segments;
        let b = parse("/u/{name}").unwrap().segments;
        let c = parse("/u/me").unwrap().segments;
        let d = parse("/u/<id>/x").unwrap().segments;
        assert!(collision(&a, &b));
        assert!(!collision(&a, &c));
        assert!(!collision(&a, &d));
        assert_eq!(sibling_conflict(&a, &b), Some(1));
        assert_eq!(sibling_conflict(&a, &c), None);
        assert_eq!(sibling_conflict(&a, &d), None);
        let t = parse("/u/<rest..>").unwrap().segments;
        assert_eq!(sibling_conflict(&a, &t), Some(1));
        let other = parse("/v/<x>").unwrap().segments;
        assert_eq!(sibling_conflict(&a, &other), None);
    }
}
