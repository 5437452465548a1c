//! The rules and their registry.
//!
//! A rule is one file here: a struct implementing [`Rule`] and a
//! `declare_rule!` block whose doc comment (What it checks / Why it matters /
//! Example / How to fix / Options) is what `maillint explain` prints and what
//! the README's rule table is generated from. Adding a rule means adding its
//! file and one line to [`REGISTRY`].

use crate::audience::Audience;
use crate::config::{Config, OptionError, RuleSettings};
use crate::finding::{Diagnostic, Severity};
use crate::history::History;
use crate::message::Message;

mod cc_exposure;
mod confidential_broad;
mod custom;
mod data_attachment;
mod duplicate_recipient;
mod external_recipients;
mod forgotten_attachment;
mod html_only;
mod image_alt;
mod insecure_link;
mod invalid_address;
mod link_text_mismatch;
mod list_unsubscribe;
mod lookalike_domain;
mod mass_list;
mod message_size;
mod missing_header;
mod name_mismatch;
mod new_recipient;
mod personal_data;
mod personal_sender;
pub(crate) mod recipient_count;
mod reply_all_to_list;
mod sender_alignment;
mod template_placeholder;
mod test_message;
mod unusual_company;

/// Every rule maillint has, in the order they are listed and run.
pub static REGISTRY: &[&RuleInfo] = &[
    &cc_exposure::RULE,
    &recipient_count::RULE,
    &mass_list::RULE,
    &reply_all_to_list::RULE,
    &test_message::RULE,
    &confidential_broad::RULE,
    &personal_data::RULE,
    &data_attachment::RULE,
    &invalid_address::RULE,
    &lookalike_domain::RULE,
    &external_recipients::RULE,
    &duplicate_recipient::RULE,
    &personal_sender::RULE,
    &forgotten_attachment::RULE,
    &list_unsubscribe::RULE,
    &template_placeholder::RULE,
    &html_only::RULE,
    &message_size::RULE,
    &link_text_mismatch::RULE,
    &insecure_link::RULE,
    &image_alt::RULE,
    &missing_header::RULE,
    &sender_alignment::RULE,
    // From the sender's history (`maillint learn`).
    &new_recipient::RULE,
    &name_mismatch::RULE,
    &unusual_company::RULE,
];

/// What a rule sees of one message.
pub struct Context<'a> {
    pub message: &'a Message,
    pub audience: &'a Audience<'a>,
    pub config: &'a Config,
    /// The recipient-count warning number: a message reaching this many
    /// people is a large send for every rule that cares.
    pub many_recipients: u64,
    /// The sender's past sent mail (`maillint learn`), when there is an
    /// index: the history rules are silent without one.
    pub history: Option<&'a History>,
}

impl Context<'_> {
    /// Whether and why the message is bulk mail. With `[bulk] always =
    /// true` every message is. Otherwise replies, posts a discussion list
    /// relays ([`Message::is_discussion_list_post`]) and automatic mail
    /// (bounces, auto-replies: [`Message::is_automatic`]) never are: each
    /// answers or carries one person's message, whatever headers a server
    /// added. Other messages are when they declare it (`Precedence: bulk`
    /// or `list`, a List-Unsubscribe header), or by their audience: an
    /// everyone-style list among the recipients, or at least
    /// [`many_recipients`](Self::many_recipients) recipients.
    pub fn bulk(&self) -> Option<Bulk> {
        let msg = self.message;
        let declared = |reason: String| {
            Some(Bulk {
                reason,
                declared: true,
            })
        };
        if self.config.bulk.always {
            return declared("[bulk] always = true".into());
        }
        if msg.is_reply || msg.is_discussion_list_post() || msg.is_automatic() {
            return None;
        }
        if let Some(p @ ("bulk" | "list")) = msg.precedence.as_deref() {
            return declared(format!("Precedence: {p}"));
        }
        if msg.header("List-Unsubscribe").is_some() {
            return declared("List-Unsubscribe present".into());
        }
        let by_audience = |reason: String| Bulk {
            reason,
            declared: false,
        };
        if let Some((r, _)) = self.audience.first_mass_list() {
            return Some(by_audience(format!("sent to {}", r.first.addr)));
        }
        let reach = self.audience.reach();
        (reach >= self.many_recipients)
            .then(|| by_audience(plural(reach, "recipient", "recipients")))
    }

    pub fn is_bulk(&self) -> bool {
        self.bulk().is_some()
    }
}

/// Why a message is bulk mail (see [`Context::bulk`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bulk {
    /// What findings say: `Precedence: bulk`, `sent to all@example.org`,
    /// `1,200 recipients`, ...
    pub reason: String,
    /// Declared by the configuration or the message's own headers, rather
    /// than inferred from its recipients (a person writing to many people
    /// from a mail client).
    pub declared: bool,
}

pub trait Rule: Send + Sync {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>);
}

/// A rule's identity, documentation and constructor.
pub struct RuleInfo {
    /// Stable kebab-case id.
    pub id: &'static str,
    pub default_severity: Severity,
    pub summary: &'static str,
    /// The rule's doc comment, Markdown.
    pub doc: &'static str,
    /// Builds the rule from its `[rules.<id>]` options.
    pub build: fn(&RuleSettings) -> Result<Box<dyn Rule>, OptionError>,
}

impl RuleInfo {
    /// The documentation with the one-space indent of `///` lines removed.
    pub fn doc_text(&self) -> String {
        let mut out = String::new();
        for line in self.doc.lines() {
            out.push_str(line.strip_prefix(' ').unwrap_or(line));
            out.push('\n');
        }
        out.trim().to_string()
    }
}

pub fn find(id: &str) -> Option<&'static RuleInfo> {
    REGISTRY.iter().copied().find(|r| r.id == id)
}

/// The rule table of README.md, generated from the registry.
pub fn markdown_table() -> String {
    let mut out = String::from("| Rule | Default | What it catches |\n|---|---|---|\n");
    for rule in REGISTRY {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            rule.id, rule.default_severity, rule.summary
        ));
    }
    out
}

/// Declares a rule's [`RuleInfo`] as `RULE`, taking its documentation from
/// the doc comment written above it (the way clippy declares lints).
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])+
        id: $id:literal,
        severity: $severity:ident,
        summary: $summary:literal,
        build: $build:expr $(,)?
    ) => {
        $(#[doc = $doc])+
        pub static RULE: $crate::rules::RuleInfo = $crate::rules::RuleInfo {
            id: $id,
            default_severity: $crate::finding::Severity::$severity,
            summary: $summary,
            doc: concat!($($doc, "\n"),+),
            build: $build,
        };
    };
}
pub(crate) use declare_rule;

/// Formats a count with thousands separators, for messages people read.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Checks a rule's `warning`/`error` pair of thresholds.
pub(crate) fn check_thresholds(warning: u64, error: u64) -> Result<(), OptionError> {
    if warning == 0 {
        return Err(OptionError::new("warning", "must be at least 1"));
    }
    if error < warning {
        return Err(OptionError::new("error", "must not be below `warning`"));
    }
    Ok(())
}

/// `1 address` / `2 addresses`.
pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for rule in REGISTRY {
            assert!(seen.insert(rule.id), "duplicate id {}", rule.id);
            assert!(
                crate::config::is_kebab_case(rule.id),
                "{} is not kebab-case",
                rule.id
            );
        }
    }

    #[test]
    fn every_rule_documents_every_section() {
        for rule in REGISTRY {
            let doc = rule.doc_text();
            for section in [
                "What it checks",
                "Why it matters",
                "Example",
                "How to fix",
                "Options",
            ] {
                assert!(
                    doc.contains(&format!("## {section}")),
                    "{} lacks a `## {section}` section",
                    rule.id
                );
            }
        }
    }

    #[test]
    fn every_rule_builds_with_default_options() {
        for rule in REGISTRY {
            assert!(
                (rule.build)(&RuleSettings::default()).is_ok(),
                "{}",
                rule.id
            );
        }
    }

    fn bulk_reason(config: &str, text: &str) -> Option<String> {
        let config = Config::parse(config, "m.toml").unwrap();
        let msg = crate::testing::eml(text);
        let org = crate::audience::Org::new(&config).unwrap();
        let audience = Audience::new(&msg, &org);
        let cx = Context {
            message: &msg,
            audience: &audience,
            config: &config,
            many_recipients: 25,
            history: None,
        };
        cx.bulk().map(|b| b.reason)
    }

    #[test]
    fn what_makes_bulk_mail() {
        let head = "From: news@example.com\nTo: a@example.net\nSubject: May news\n";
        let bulk = |extra: &str| bulk_reason("", &format!("{head}{extra}\nx\n"));
        assert_eq!(bulk(""), None);
        assert_eq!(
            bulk("Precedence: bulk\n").as_deref(),
            Some("Precedence: bulk")
        );
        assert_eq!(
            bulk("List-Unsubscribe: <mailto:u@example.com>\n").as_deref(),
            Some("List-Unsubscribe present")
        );
        assert_eq!(
            bulk("Cc: everyone@example.com\n").as_deref(),
            Some("sent to everyone@example.com")
        );
        let many: Vec<String> = (0..25).map(|i| format!("p{i}@example.net")).collect();
        assert_eq!(
            bulk(&format!("Bcc: {}\n", many.join(","))).as_deref(),
            Some("26 recipients")
        );
        // Replies, list relays and automatic mail are not bulk sends.
        assert_eq!(
            bulk("Precedence: bulk\nIn-Reply-To: <1@example.net>\n"),
            None
        );
        assert_eq!(
            bulk("Precedence: list\nList-Post: <mailto:devel@lists.example.org>\n"),
            None
        );
        assert!(bulk("Precedence: list\nList-Post: NO\n").is_some());
        assert_eq!(
            bulk("Precedence: bulk\nAuto-Submitted: auto-replied\n"),
            None
        );
        let bounce = "From: MAILER-DAEMON@example.com\nTo: a@example.net\nSubject: failure\nPrecedence: bulk\n\nx\n";
        assert_eq!(bulk_reason("", bounce), None);
        // Unless every message is.
        assert_eq!(
            bulk_reason("[bulk]\nalways = true\n", bounce).as_deref(),
            Some("[bulk] always = true")
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_200_000), "1,200,000");
    }
}
