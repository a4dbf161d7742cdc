//! Slash commands: `/lambada help`, `/lambada echo <text>`, `/lambada time`.
//!
//! Slack posts the command as a form; the answer is a message in Slack's
//! JSON (`response_type`, a plain-text fallback `text`, and Block Kit
//! `blocks`), sent back within Slack's three-second budget.

use serde::{Deserialize, Serialize};

/// The form Slack posts for a slash command (the fields this bot reads;
/// the others are ignored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SlashCommand {
    /// The command as configured in the Slack app (`/lambada`).
    pub command: String,
    /// Everything after the command.
    pub text: String,
    /// Who ran it.
    pub user_id: String,
    /// Their display name (deprecated by Slack, still sent).
    pub user_name: String,
    /// Where.
    pub channel_id: String,
    /// The workspace.
    pub team_id: String,
    /// Where delayed responses may be posted, for 30 minutes.
    pub response_url: String,
    /// `1` when Slack only checks the endpoint's certificate.
    pub ssl_check: Option<String>,
}

/// Who sees the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// Only the user who ran the command.
    Ephemeral,
    /// Everyone in the channel (the command is shown too).
    InChannel,
}

/// A Block Kit text object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Text {
    /// Slack's markdown; `verbatim` turns off automatic linking of URLs and
    /// names.
    Mrkdwn {
        /// The text, with `&`, `<`, `>` escaped.
        text: String,
        /// No automatic links.
        #[serde(default)]
        verbatim: bool,
    },
}

impl Text {
    fn md(text: impl Into<String>) -> Text {
        Text::Mrkdwn {
            text: text.into(),
            verbatim: false,
        }
    }
    fn verbatim(text: impl Into<String>) -> Text {
        Text::Mrkdwn {
            text: text.into(),
            verbatim: true,
        }
    }
}

/// A Block Kit layout block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// A paragraph.
    Section {
        /// Its text.
        text: Text,
    },
    /// Small print.
    Context {
        /// Its texts.
        elements: Vec<Text>,
    },
    /// A rule.
    Divider,
}

/// The answer to a slash command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Who sees it.
    pub response_type: ResponseType,
    /// The plain fallback, shown in notifications.
    pub text: String,
    /// The message itself.
    pub blocks: Vec<Block>,
}

/// Escapes the three characters Slack's markdown treats as control
/// characters, so user text cannot become a mention (`<!channel>`) or a
/// link. Entities already escaped (`&amp;`, `&lt;`, `&gt;`) are kept, so the
/// function is idempotent whether or not Slack escaped the text already.
///
/// ```
/// use slack_bot::commands::escape;
/// assert_eq!(escape("<!channel> & co"), "&lt;!channel&gt; &amp; co");
/// assert_eq!(escape(&escape("<b> & c")), escape("<b> & c"));
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        match c {
            '&' if ["&amp;", "&lt;", "&gt;"]
                .iter()
                .any(|e| rest.starts_with(e)) =>
            {
                out.push('&')
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Answers a command; `now` is the current Unix time.
pub fn reply(cmd: &SlashCommand, now: i64) -> Reply {
    let text = cmd.text.trim();
    let (word, rest) = text
        .split_once(char::is_whitespace)
        .map_or((text, ""), |(w, r)| (w, r.trim()));
    let name = if cmd.command.is_empty() {
        "/lambada".to_owned()
    } else {
        escape(&cmd.command)
    };
    match word.to_ascii_lowercase().as_str() {
        "" | "help" => help(&name, None),
        "echo" => echo(&name, rest, &cmd.user_id),
        "time" => time(now),
        other => help(&name, Some(other)),
    }
}

fn help(name: &str, unknown: Option<&str>) -> Reply {
    let lead = match unknown {
        Some(w) => format!("I don't know `{}`.", escape(w)),
        None => "Hi! I'm a Lambada bot on AWS Lambda.".to_owned(),
    };
    let usage = format!(
        "• `{name} help`: this message\n• `{name} echo <text>`: say it in the channel\n• `{name} time`: the time, in your time zone"
    );
    Reply {
        response_type: ResponseType::Ephemeral,
        text: format!("{lead} Try `{name} help`, `{name} echo <text>` or `{name} time`."),
        blocks: vec![
            Block::Section {
                text: Text::md(lead),
            },
            Block::Section {
                text: Text::md(usage),
            },
        ],
    }
}

fn echo(name: &str, what: &str, user_id: &str) -> Reply {
    if what.is_empty() {
        let hint = format!("Nothing to echo: try `{name} echo hello`.");
        return Reply {
            response_type: ResponseType::Ephemeral,
            text: hint.clone(),
            blocks: vec![Block::Section {
                text: Text::md(hint),
            }],
        };
    }
    let said = escape(what);
    let mut blocks = vec![Block::Section {
        text: Text::verbatim(said.clone()),
    }];
    // Slack user ids are upper-case letters and digits; anything else is
    // not mentioned.
    if !user_id.is_empty() && user_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        blocks.push(Block::Context {
            elements: vec![Text::md(format!("echoed for <@{user_id}>"))],
        });
    }
    Reply {
        response_type: ResponseType::InChannel,
        text: said,
        blocks,
    }
}

fn time(now: i64) -> Reply {
    let utc = rfc3339(now);
    Reply {
        response_type: ResponseType::Ephemeral,
        text: format!("It is {utc}."),
        blocks: vec![
            // Slack renders `<!date^...>` in the reader's own time zone, and
            // falls back to the text after `|`.
            Block::Section {
                text: Text::md(format!(
                    "It is <!date^{now}^{{date_long_pretty}} at {{time_secs}}|{utc}>."
                )),
            },
            Block::Context {
                elements: vec![Text::md(format!("{utc} · Unix time {now}"))],
            },
        ],
    }
}

/// Formats Unix seconds as an RFC 3339 UTC time (`2018-07-12T18:36:58Z`).
///
/// ```
/// assert_eq!(slack_bot::commands::rfc3339(1531420618), "2018-07-12T18:36:58Z");
/// assert_eq!(slack_bot::commands::rfc3339(0), "1970-01-01T00:00:00Z");
/// ```
pub fn rfc3339(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Days to a civil date (H. Hinnant, "chrono-Compatible Low-Level Date
    // Algorithms", `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}
