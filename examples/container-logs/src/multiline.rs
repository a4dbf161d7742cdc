//! Multi-line entries, as `awslogs-multiline-pattern` and
//! `awslogs-datetime-format` do: a line matching the start-of-entry pattern
//! begins a new entry; the lines after it, up to the next match, are joined
//! to it with `\n` (a stack trace stays one event).

use regex::Regex;

use crate::batch::{Event, MAX_EVENT_BYTES};

/// Joins lines into entries. Without a pattern every line is an entry.
#[derive(Debug)]
pub struct Assembler {
    pattern: Option<Regex>,
    pending: Option<Event>,
}

impl Assembler {
    pub fn new(pattern: Option<Regex>) -> Assembler {
        Assembler {
            pattern,
            pending: None,
        }
    }

    /// Feeds one line (without its newline). Returns an entry when one is
    /// complete: the line itself without a pattern, else the entry this line
    /// ends by starting a new one (or by not fitting in one event).
    pub fn line(&mut self, timestamp: i64, line: String) -> Option<Event> {
        let Some(pattern) = &self.pattern else {
            return Some(Event::new(timestamp, line));
        };
        match &mut self.pending {
            Some(entry)
                if !pattern.is_match(&line)
                    && entry.message.len() + 1 + line.len() <= MAX_EVENT_BYTES =>
            {
                entry.message.push('\n');
                entry.message.push_str(&line);
                None
            }
            _ => self.pending.replace(Event::new(timestamp, line)),
        }
    }

    /// The entry being assembled, if any (on end of input, or when it has
    /// waited a flush interval for its next line, as the awslogs driver does).
    pub fn flush(&mut self) -> Option<Event> {
        self.pending.take()
    }

    /// When the pending entry's first line was read.
    pub fn pending_since(&self) -> Option<i64> {
        self.pending.as_ref().map(|e| e.timestamp)
    }
}

/// The start-of-entry regex for a strftime-style `--datetime-format`, as the
/// awslogs driver builds it: `^` and the format, each directive replaced by
/// a pattern for its field and everything else matched literally.
pub fn datetime_pattern(format: &str) -> String {
    let mut out = String::from("^");
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
            continue;
        }
        let field = match chars.next() {
            Some('Y') => r"\d{4}",
            Some('y' | 'm' | 'd' | 'H' | 'I' | 'M' | 'S') => r"\d{2}",
            Some('e') => r"[ \d]\d",
            Some('j') => r"\d{3}",
            Some('L') => r"\.\d{3}",
            Some('f') => r"\d{1,9}",
            Some('b') => r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)",
            Some('B') => {
                r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
            }
            Some('a') => r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)",
            Some('A') => r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)",
            Some('p') => r"(?:AM|PM)",
            Some('z') => r"(?:Z|[+-]\d{2}:?\d{2})",
            Some('Z') => r"[A-Za-z_/+-]+",
            Some('%') => "%",
            Some(other) => {
                out.push('%');
                out.push_str(&regex::escape(other.encode_utf8(&mut [0; 4])));
                continue;
            }
            None => "%",
        };
        out.push_str(field);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(assembler: &mut Assembler, lines: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = lines
            .iter()
            .filter_map(|l| assembler.line(0, (*l).to_owned()))
            .map(|e| e.message)
            .collect();
        out.extend(assembler.flush().map(|e| e.message));
        out
    }

    #[test]
    fn without_a_pattern_every_line_is_an_entry() {
        let mut a = Assembler::new(None);
        assert_eq!(feed(&mut a, &["a", "  b"]), ["a", "  b"]);
    }

    #[test]
    fn joins_continuation_lines() {
        let mut a = Assembler::new(Some(Regex::new(r"^\d{4}-").unwrap()));
        let lines = [
            "leading noise",
            "2024-01-01 ERROR boom",
            "  at a()",
            "  at b()",
            "2024-01-01 INFO next",
        ];
        assert_eq!(
            feed(&mut a, &lines),
            [
                "leading noise",
                "2024-01-01 ERROR boom\n  at a()\n  at b()",
                "2024-01-01 INFO next"
            ]
        );
    }

    #[test]
    fn an_entry_never_outgrows_one_event() {
        let mut a = Assembler::new(Some(Regex::new("^START").unwrap()));
        let chunk = "x".repeat(100_000);
        let out = feed(&mut a, &["START", &chunk, &chunk, &chunk]);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|m| m.len() <= MAX_EVENT_BYTES));
        assert_eq!(out.join("\n"), ["START", &chunk, &chunk, &chunk].join("\n"));
    }

    #[test]
    fn datetime_format_becomes_a_start_pattern() {
        let re = Regex::new(&datetime_pattern("[%b %d, %Y %H:%M:%S]")).unwrap();
        assert!(re.is_match("[May 01, 2017 19:00:01] A message"));
        assert!(!re.is_match("    at com.example.Main"));
        let re = Regex::new(&datetime_pattern("%Y-%m-%dT%H:%M:%S%z")).unwrap();
        assert!(re.is_match("2024-03-05T10:00:00+01:00 hello"));
        assert!(!re.is_match("x2024-03-05T10:00:00Z"));
    }
}
