//! The route-path grammar: any string through [`lambada_path::parse`], and
//! paths built from valid pieces, which must parse to exactly those
//! pieces.

use std::collections::HashSet;

use arbitrary::Arbitrary;
use lambada_path::{ErrorKind, RoutePath, Segment, collision, parse, sibling_conflict};

/// A segment to build a path from.
#[derive(Debug, Arbitrary)]
pub enum SegIn {
    Literal(Vec<u8>),
    Param { name: Vec<u8>, braces: bool },
    Tail { name: Vec<u8>, braces: bool },
}

#[derive(Debug, Arbitrary)]
pub enum Input {
    /// Any string.
    Raw(String),
    /// A path of valid pieces (names made unique, a tail only last).
    Built {
        segs: Vec<SegIn>,
        query: Vec<Vec<u8>>,
    },
}

const LITERAL: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:@";
const NAME_START: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
const NAME: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";

fn from_set(bytes: &[u8], first: &[u8], rest: &[u8]) -> String {
    let mut out = String::new();
    for (i, b) in bytes.iter().enumerate() {
        let set = if i == 0 { first } else { rest };
        out.push(set[*b as usize % set.len()] as char);
    }
    if out.is_empty() {
        out.push(first[0] as char);
    }
    out
}

/// A name unique among `seen`: a repeated one gets a numbered suffix (a
/// set and a counter, so thousands of equal names stay linear: growing
/// the name one `_` at a time made a 4 KB input take two seconds).
fn name(bytes: &[u8], seen: &mut HashSet<String>) -> String {
    let base = from_set(bytes, NAME_START, NAME);
    let mut n = base.clone();
    let mut k = seen.len();
    while seen.contains(&n) {
        n = format!("{base}_{k}");
        k += 1;
    }
    seen.insert(n.clone());
    n
}

pub fn run(input: &Input) {
    match input {
        Input::Raw(s) => raw(s),
        Input::Built { segs, query } => built(segs, query),
    }
}

fn raw(s: &str) {
    match parse(s) {
        Ok(p) => accepted(s, &p),
        Err(errors) => {
            assert!(!errors.is_empty(), "an error without errors");
            let mut last = 0;
            for e in &errors {
                assert!(e.span.start <= e.span.end, "{e:?}");
                assert!(e.span.end <= s.len().max(1), "{e:?} beyond {s:?}");
                assert!(e.span.start >= last, "errors out of order: {errors:?}");
                last = e.span.start;
                if e.span.end <= s.len() {
                    assert!(
                        s.is_char_boundary(e.span.start) && s.is_char_boundary(e.span.end),
                        "{e:?} splits a character of {s:?}"
                    );
                }
                assert!(!e.to_string().is_empty());
            }
            if !s.starts_with('/') {
                assert_eq!(errors[0].kind, ErrorKind::MissingLeadingSlash);
            }
        }
    }
}

/// The properties of an accepted path.
fn accepted(s: &str, p: &RoutePath<'_>) {
    assert_eq!(p.segments.len(), p.segment_spans.len());
    assert_eq!(p.query.len(), p.query_spans.len());
    // Each segment is the text under its span, in one spelling or the other.
    let path_part = s.split_once('?').map_or(s, |(a, _)| a);
    let mut rebuilt = String::new();
    for (seg, span) in p.segments.iter().zip(&p.segment_spans) {
        let text = &s[span.clone()];
        let ok = match seg {
            Segment::Literal(l) => text == *l,
            Segment::Param(n) => text == format!("<{n}>") || text == format!("{{{n}}}"),
            Segment::Tail(n) => text == format!("<{n}..>") || text == format!("{{{n}+}}"),
        };
        assert!(ok, "segment {seg:?} under {span:?} is {text:?} in {s:?}");
        rebuilt.push('/');
        rebuilt.push_str(text);
    }
    if rebuilt.is_empty() {
        rebuilt.push('/');
    }
    assert_eq!(rebuilt, path_part, "the segments do not cover the path");
    for (n, span) in p.query.iter().zip(&p.query_spans) {
        assert_eq!(&s[span.clone()], *n);
    }
    // Names are identifiers, unique; a tail only last.
    let mut names: Vec<&str> = p.segments.iter().filter_map(|s| s.param_name()).collect();
    names.extend(p.query.iter().copied());
    for n in &names {
        let mut c = n.chars();
        let first = c.next().expect("a name is not empty");
        assert!(first.is_ascii_alphabetic() || first == '_', "{n:?}");
        assert!(c.all(|c| c.is_ascii_alphanumeric() || c == '_'), "{n:?}");
    }
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "duplicate names in {s:?}");
    let params = p
        .segments
        .iter()
        .filter(|s| matches!(s, Segment::Param(_)))
        .count();
    assert!(
        params <= lambada_path::MAX_PARAMS,
        "{params} parameters in {s:?}"
    );
    if let Some(i) = p
        .segments
        .iter()
        .position(|s| matches!(s, Segment::Tail(_)))
    {
        assert_eq!(i + 1, p.segments.len(), "a tail before the end of {s:?}");
    }
    renderings(p);
}

/// Both spellings re-parse to the same segments, and matchit matches the
/// matchit rendering as the segments say.
fn renderings(p: &RoutePath<'_>) {
    for text in [p.canonical(), p.apigw()] {
        let again = parse(&text).unwrap_or_else(|e| panic!("{text:?} does not re-parse: {e:?}"));
        assert_eq!(again.segments, p.segments, "{text:?}");
        assert!(again.query.is_empty());
    }
    assert!(collision(&p.segments, &p.segments));
    assert_eq!(sibling_conflict(&p.segments, &p.segments), None);

    let pattern = p.matchit();
    let mut router = matchit::Router::new();
    router
        .insert(pattern.clone(), ())
        .unwrap_or_else(|e| panic!("matchit refuses {pattern:?}: {e}"));
    // A request path for it: `v0`, `v1`… for parameters, two segments
    // for a tail.
    let mut path = String::new();
    let mut want = Vec::new();
    for (i, s) in p.segments.iter().enumerate() {
        path.push('/');
        match s {
            Segment::Literal(l) => path.push_str(l),
            Segment::Param(n) => {
                let v = format!("v{i}");
                path.push_str(&v);
                want.push((n.to_string(), v));
            }
            Segment::Tail(n) => {
                let v = format!("t{i}/u{i}");
                path.push_str(&v);
                want.push((n.to_string(), v));
            }
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    let hit = router
        .at(&path)
        .unwrap_or_else(|e| panic!("{pattern:?} does not match {path:?}: {e}"));
    let got: Vec<(String, String)> = hit
        .params
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(got, want, "{pattern:?} on {path:?}");
    // One segment more matches only a tail.
    let longer = format!("{}/extra", path.trim_end_matches('/'));
    let tail = matches!(p.segments.last(), Some(Segment::Tail(_)));
    assert_eq!(
        router.at(&longer).is_ok(),
        tail,
        "{pattern:?} on {longer:?}"
    );
}

fn built(segs: &[SegIn], query: &[Vec<u8>]) {
    let mut seen = HashSet::new();
    let mut text = String::new();
    let mut want = Vec::new();
    let n = segs.len();
    for (i, s) in segs.iter().enumerate() {
        text.push('/');
        match s {
            SegIn::Literal(b) => {
                let l = from_set(b, LITERAL, LITERAL);
                text.push_str(&l);
                want.push(Wanted::Literal(l));
            }
            SegIn::Param { name: b, braces } | SegIn::Tail { name: b, braces }
                if matches!(s, SegIn::Param { .. }) || i + 1 != n =>
            {
                let nm = name(b, &mut seen);
                text.push_str(&if *braces {
                    format!("{{{nm}}}")
                } else {
                    format!("<{nm}>")
                });
                want.push(Wanted::Param(nm));
            }
            SegIn::Param { name: b, braces } | SegIn::Tail { name: b, braces } => {
                let nm = name(b, &mut seen);
                text.push_str(&if *braces {
                    format!("{{{nm}+}}")
                } else {
                    format!("<{nm}..>")
                });
                want.push(Wanted::Tail(nm));
            }
        }
    }
    if text.is_empty() {
        text.push('/');
    }
    let mut qnames = Vec::new();
    for (i, q) in query.iter().enumerate() {
        let nm = name(q, &mut seen);
        text.push(if i == 0 { '?' } else { '&' });
        text.push_str(&format!("<{nm}>"));
        qnames.push(nm);
    }
    let params = want
        .iter()
        .filter(|w| matches!(w, Wanted::Param(_)))
        .count();
    if params > lambada_path::MAX_PARAMS {
        let errors = parse(&text).expect_err("too many parameters");
        let kinds: Vec<ErrorKind> = errors.into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [ErrorKind::TooManyParams], "{text:?}");
        return;
    }
    let p = parse(&text).unwrap_or_else(|e| panic!("{text:?} is valid but refused: {e:?}"));
    let got: Vec<Wanted> = p
        .segments
        .iter()
        .map(|s| match s {
            Segment::Literal(l) => Wanted::Literal(l.to_string()),
            Segment::Param(n) => Wanted::Param(n.to_string()),
            Segment::Tail(n) => Wanted::Tail(n.to_string()),
        })
        .collect();
    assert_eq!(got, want, "{text:?}");
    assert_eq!(p.query, qnames, "{text:?}");
    accepted(&text, &p);
}

#[derive(Debug, PartialEq)]
enum Wanted {
    Literal(String),
    Param(String),
    Tail(String),
}
