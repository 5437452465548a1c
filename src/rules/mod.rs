//! The rules and their registry.
//!
//! A rule is one file here: a struct implementing [`Rule`] and a
//! `declare_rule!` block whose doc comment (What it checks / Why it matters /
//! Example / How to fix / Options) is what `maillint explain` prints and what
//! the README's rule table is generated from. Adding a rule means adding its
//! file and one line to [`REGISTRY`].

use crate::audience::Audience;
use crate::config::{Config, ConfigError, OptionError, RuleSettings};
use crate::finding::{Diagnostic, Severity};
use crate::history::Recall;
use crate::message::{Inside, Message, has_forward_prefix};
// The rules write counts the way the rest of maillint does.
pub(crate) use crate::numbers::{plural, thousands};

mod attachment_limit;
mod cc_exposure;
mod confidential_broad;
mod custom;
mod data_attachment;
mod duplicate_recipient;
mod encrypted_attachment;
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
mod recipient_count;
mod reply_all_to_list;
mod salutation_mismatch;
mod sender_alignment;
mod shared;
mod template_placeholder;
mod test_message;
mod unknown_allow;
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
    &encrypted_attachment::RULE,
    &attachment_limit::RULE,
    &invalid_address::RULE,
    &lookalike_domain::RULE,
    &salutation_mismatch::RULE,
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
    &unknown_allow::RULE,
    // From the sender's history (`maillint learn`).
    &new_recipient::RULE,
    &name_mismatch::RULE,
    &unusual_company::RULE,
];

/// The rules that read the sender's history: the index is opened only
/// when one of them runs.
pub const HISTORY_RULES: [&str; 3] = [
    new_recipient::RULE.id,
    name_mismatch::RULE.id,
    unusual_company::RULE.id,
];

/// The rules that read the sender's history when there is one: the
/// history rules, and salutation-mismatch, which works without one and
/// with one tells a recipient the message gives no name by the name it
/// was written to with before.
pub const READS_HISTORY: [&str; 4] = [
    new_recipient::RULE.id,
    name_mismatch::RULE.id,
    unusual_company::RULE.id,
    salutation_mismatch::RULE.id,
];

/// What a rule sees of one message, with the facts several rules share
/// worked out once.
pub struct Context<'a> {
    pub message: &'a Message,
    pub audience: &'a Audience<'a>,
    pub config: &'a Config,
    /// The recipient-count warning number (see [`many_recipients`]): a
    /// message reaching this many people is a large send for every rule
    /// that cares.
    pub many_recipients: u64,
    /// The sender's past sent mail (`maillint learn`), when there is an
    /// index: the history rules are silent without one.
    pub history: Option<&'a dyn Recall>,
    /// Worked out on the first rule's asking: only some rules care, and
    /// the unsubscribe links it may look for need the HTML parsed, which
    /// a run of other rules (or none) never asks for.
    bulk: std::sync::OnceLock<Option<Bulk>>,
}

impl<'a> Context<'a> {
    pub fn new(
        message: &'a Message,
        audience: &'a Audience<'a>,
        config: &'a Config,
        many_recipients: u64,
        history: Option<&'a dyn Recall>,
    ) -> Self {
        Context {
            message,
            audience,
            config,
            many_recipients,
            history,
            bulk: std::sync::OnceLock::new(),
        }
    }

    /// Whether and why the message is bulk mail. With `[bulk] always =
    /// true` every message is. Otherwise replies, posts a discussion list
    /// relays ([`Message::is_discussion_list_post`]) and automatic mail
    /// (bounces, auto-replies: [`Message::is_automatic`]) never are: each
    /// answers or carries one person's message, whatever headers a server
    /// added. Other messages are when they declare it (`Precedence: bulk`
    /// or `list`, a List-Unsubscribe header, a mailing service's campaign
    /// header such as `X-Campaign`, or a `List-Id` together with a bulk
    /// sender's `Feedback-ID`, or an unsubscribe link in an HTML body:
    /// a newsletter's shape without its headers), or by their
    /// audience: an everyone-style list among the recipients, or at least
    /// [`many_recipients`](Self::many_recipients) recipients.
    pub fn bulk(&self) -> Option<&Bulk> {
        self.bulk.get_or_init(|| self.detect_bulk()).as_ref()
    }

    pub fn is_bulk(&self) -> bool {
        self.bulk().is_some()
    }

    /// What the attachments hold, read on the first rule's asking within
    /// the configuration's `[attachments]` limits.
    pub fn inside(&self) -> &'a Inside {
        self.message.inside(&self.config.attachments)
    }

    fn detect_bulk(&self) -> Option<Bulk> {
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
        // A mailing service's campaign id; or a list that is not a
        // discussion list (those were let go above) sent through a bulk
        // sender, whose Feedback-ID alone transactional mail carries too.
        let has = |names: &[&str]| {
            msg.headers()
                .find(|h| names.iter().any(|n| h.name.eq_ignore_ascii_case(n)))
        };
        if let Some(h) = has(&CAMPAIGN_HEADERS) {
            return declared(format!("{} present", h.name));
        }
        if msg.list_id.is_some()
            && let Some(h) = has(&["Feedback-ID"])
        {
            return declared(format!("List-Id and {} present", h.name));
        }
        // A newsletter sent without any bulk header still has its shape:
        // an unsubscribe link in its HTML (not in quoted history, and not
        // in a forward of someone else's newsletter).
        if !msg.subject.as_deref().is_some_and(has_forward_prefix)
            && msg.body.iter().any(|part| {
                part.html().is_some_and(|html| {
                    html.links
                        .iter()
                        .any(|l| !l.quoted && (is_unsubscribe(&l.text) || is_unsubscribe(&l.href)))
                })
            })
        {
            return declared("an unsubscribe link in the HTML body".into());
        }
        let by_audience = |reason: String| Bulk {
            reason,
            declared: false,
        };
        if let Some((r, _)) = self.audience.first_mass_list() {
            return Some(by_audience(format!("sent to {}", r.first().addr)));
        }
        let reach = self.audience.reach();
        (reach >= self.many_recipients)
            .then(|| by_audience(plural(reach, "recipient", "recipients")))
    }
}

/// Whether a link's text or address offers to unsubscribe, in the
/// languages newsletters most often use. One automaton, case-insensitive
/// on ASCII, with no copy of the text: every link of every HTML message
/// that is not yet known to be bulk is asked.
fn is_unsubscribe(text: &str) -> bool {
    static WORDS: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
        std::sync::LazyLock::new(|| {
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build([
                    "unsubscribe",
                    "abmelden",
                    "abbestellen",
                    "désabonner",
                    "désinscri",
                    "darse de baja",
                    "darte de baja",
                    "cancelar suscripción",
                    "uitschrijven",
                    "afmelden",
                    "disiscriviti",
                ])
                .ok()
        });
    WORDS.as_ref().is_some_and(|words| words.is_match(text))
}

/// Headers mailing services add to campaign mail.
const CAMPAIGN_HEADERS: [&str; 3] = ["X-Campaign", "X-CampaignID", "X-Campaign-Id"];

/// The number of recipients from which a message is a large send, for every
/// rule that cares (test-message, bulk detection): recipient-count's
/// configured warning number, so that one setting moves them all.
pub fn many_recipients(config: &Config) -> u64 {
    recipient_count::many_recipients(
        config
            .rules
            .get(recipient_count::RULE.id)
            .unwrap_or(&RuleSettings::default()),
    )
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

/// Refuses a custom rule that takes a built-in rule's id. The registry
/// checks this, not [`Config::parse`], so that the configuration depends
/// on no rule.
pub fn check_custom_ids(config: &Config) -> Result<(), ConfigError> {
    match config.custom.iter().find(|c| find(&c.id).is_some()) {
        Some(clash) => Err(ConfigError {
            file: config.file_name(),
            line: clash.line,
            message: format!("custom.id: rule `{}` is already defined", clash.id),
        }),
        None => Ok(()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers and switches the starter and the README show under
    /// `[rules.<id>]` are the rule's defaults: those its documentation
    /// shows, which the rule's own test compares with its `Default`.
    #[test]
    fn rule_options_shown_are_the_defaults() {
        let readme = include_str!("../../README.md");
        let mut examples: Vec<(String, String)> = readme
            .split("```toml\n")
            .skip(1)
            .filter_map(|block| block.split("```").next())
            .map(|block| ("README.md".to_string(), block.to_string()))
            .collect();
        examples.push((
            "the starter".to_string(),
            crate::testing::uncommented_starter(),
        ));
        let mut compared = 0;
        for (place, text) in examples {
            let parsed: toml::Table = toml::from_str(&text)
                .unwrap_or_else(|e| panic!("{place}: an example is not TOML: {e}\n{text}"));
            let Some(rules) = parsed.get("rules").and_then(toml::Value::as_table) else {
                continue;
            };
            for (id, shown) in rules {
                let rule = find(id).unwrap_or_else(|| panic!("{place}: no rule `{id}`"));
                let documented: toml::Table = crate::testing::documented_options(rule);
                let Some(shown) = shown.as_table() else {
                    continue;
                };
                for (key, value) in shown {
                    if matches!(
                        value,
                        toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_)
                    ) {
                        assert_eq!(
                            documented.get(key),
                            Some(value),
                            "{place}: rules.{id}.{key} is not the default"
                        );
                        compared += 1;
                    }
                }
            }
        }
        assert!(compared >= 7, "only {compared} options compared");
    }

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
    fn custom_rules_cannot_take_a_built_in_id() {
        let falcon = include_str!("../../tests/data/falcon.toml");
        let clash = falcon.replace("project-falcon", "cc-exposure");
        let config = Config::parse(&clash, "m.toml").unwrap();
        let err = check_custom_ids(&config).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("already defined"), "{err}");
        assert!(check_custom_ids(&Config::parse(falcon, "m.toml").unwrap()).is_ok());
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
        let cx = Context::new(&msg, &audience, &config, many_recipients(&config), None);
        cx.bulk().map(|b| b.reason.clone())
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
        // A newsletter without List-Unsubscribe, through a bulk sender.
        assert_eq!(
            bulk("List-Id: <news.example.com>\nFeedback-ID: 1:news:esp\n").as_deref(),
            Some("List-Id and Feedback-ID present")
        );
        assert_eq!(bulk("List-Id: <news.example.com>\n"), None);
        assert_eq!(bulk("Feedback-ID: 1:receipts:esp\n"), None);
        assert_eq!(
            bulk("X-CampaignID: mailchimp7f2c.4412\n").as_deref(),
            Some("X-CampaignID present")
        );
        assert_eq!(
            bulk(
                "List-Id: <talk.example.com>\nList-Post: <mailto:talk@example.com>\nFeedback-ID: 1:g\n"
            ),
            None
        );
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
}
