//! The engine: the rules in force for a run, and checking one message.

use crate::allow::allowed_rules;
use crate::audience::{Audience, Org};
use crate::config::{Config, ConfigError, RuleSettings};
use crate::finding::{Diagnostic, Finding, Severity};
#[cfg(feature = "history")]
use crate::history::{self, History};
use crate::message::Message;
use crate::rules::{self, Context, REGISTRY, Rule};
use rayon::prelude::*;
use std::borrow::Cow;

/// Recipients from which a message's rules run in parallel.
const PARALLEL_RULES_FROM: usize = 10_000;

struct ActiveRule {
    id: Cow<'static, str>,
    rule: Box<dyn Rule>,
    /// Configured severity, replacing whatever the rule reports.
    severity: Option<Severity>,
}

pub struct Linter {
    config: Config,
    org: Org,
    many_recipients: u64,
    rules: Vec<ActiveRule>,
    inline_allow: bool,
    /// The sender's history, for the history rules.
    #[cfg(feature = "history")]
    history: Option<History>,
    /// What the caller should tell the user; see [`Linter::warnings`].
    warnings: Vec<String>,
}

/// Which rules a run uses, from `--select`, `--ignore` and
/// `--no-inline-allow`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these rules; all when empty.
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    /// Ignore `X-Maillint-Allow` headers (for CI, where drafts must not
    /// silence their own findings).
    pub no_inline_allow: bool,
}

impl Selection {
    fn enables(&self, id: &str) -> bool {
        (self.select.is_empty() || self.select.iter().any(|s| s == id))
            && !self.ignore.iter().any(|s| s == id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("unknown rule `{0}` (see `maillint rules`)")]
    UnknownRule(String),
}

impl Linter {
    pub fn new(config: Config, selection: &Selection) -> Result<Linter, SetupError> {
        rules::check_custom_ids(&config)?;
        let known =
            |id: &str| rules::find(id).is_some() || config.custom.iter().any(|c| c.id == id);
        if let Some(id) = selection
            .select
            .iter()
            .chain(&selection.ignore)
            .find(|id| !known(id))
        {
            return Err(SetupError::UnknownRule(id.clone()));
        }
        if let Some((id, settings)) = config
            .rules
            .iter()
            .find(|(id, _)| rules::find(id).is_none())
        {
            return Err(ConfigError {
                file: config.file_name(),
                line: settings.line_of(None),
                message: format!("unknown rule `{id}` in [rules.{id}]"),
            }
            .into());
        }
        let default_settings = RuleSettings::default();
        let mut active = Vec::new();
        for info in REGISTRY.iter().copied() {
            let settings = config.rules.get(info.id).unwrap_or(&default_settings);
            // Options are validated even for rules switched off, so a typo
            // does not wait to surface until the rule is switched back on.
            let rule = (info.build)(settings).map_err(|e| config.rule_error(info.id, e))?;
            let level = settings.level;
            if !selection.enables(info.id) || level.is_some_and(|l| l.severity().is_none()) {
                continue;
            }
            active.push(ActiveRule {
                id: Cow::Borrowed(info.id),
                rule,
                severity: level.and_then(|l| l.severity()),
            });
        }
        for custom in &config.custom {
            if selection.enables(&custom.id) {
                active.push(ActiveRule {
                    id: Cow::Owned(custom.id.clone()),
                    rule: Box::new(custom.clone()),
                    severity: None,
                });
            }
        }
        let org = Org::new(&config)?;
        #[cfg_attr(not(feature = "history"), allow(unused_mut))]
        let mut warnings = Vec::new();
        #[cfg(feature = "history")]
        let history = {
            let reads_history = active
                .iter()
                .any(|a| rules::HISTORY_RULES.contains(&a.id.as_ref()));
            history::index_path(&config)
                .filter(|_| reads_history)
                .and_then(|path| open_history(&path, &mut warnings))
        };
        Ok(Linter {
            #[cfg(feature = "history")]
            history,
            warnings,
            org,
            many_recipients: rules::many_recipients(&config),
            config,
            rules: active,
            inline_allow: !selection.no_inline_allow,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What setting up found wrong without stopping: the checks run, and
    /// the caller says these once (the CLI on stderr, the gateway in its
    /// log), as one line each without a `warning:` prefix.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The index for the history rules, when there is one.
    #[cfg(feature = "history")]
    fn recall(&self) -> Option<&dyn crate::history::Recall> {
        self.history.as_ref().map(|h| h as _)
    }

    /// Without the `history` feature there is never an index: the history
    /// rules stay silent.
    #[cfg(not(feature = "history"))]
    fn recall(&self) -> Option<&dyn crate::history::Recall> {
        None
    }

    /// Runs every active rule over one message.
    pub fn check(&self, message: &Message) -> Vec<Finding> {
        self.check_with_audience(message).0
    }

    /// [`check`](Self::check), with the message's audience as the rules saw
    /// it, for callers that need its reach too (the gateway's storm counts).
    pub fn check_with_audience<'m>(&'m self, message: &'m Message) -> (Vec<Finding>, Audience<'m>) {
        let audience = Audience::new(message, &self.org);
        let cx = Context::new(
            message,
            &audience,
            &self.config,
            self.many_recipients,
            self.recall(),
        );
        let allowed = if self.inline_allow {
            allowed_rules(message)
        } else {
            Vec::new()
        };
        let run = |active: &ActiveRule| {
            let mut diagnostics = Vec::new();
            active.rule.check(&cx, &mut diagnostics);
            diagnostics
        };
        // The rules of one message are independent: a message with many
        // recipients has them run on every core (a batch already keeps the
        // cores busy with other messages).
        let results: Vec<Vec<Diagnostic>> = if audience.len() >= PARALLEL_RULES_FROM {
            self.rules.par_iter().map(run).collect()
        } else {
            self.rules.iter().map(run).collect()
        };
        let mut findings = Vec::new();
        for (active, diagnostics) in self.rules.iter().zip(results) {
            let suppressed = allowed.iter().any(|a| *a == active.id);
            findings.extend(diagnostics.into_iter().map(|d| Finding {
                rule: active.id.clone(),
                severity: active.severity.unwrap_or(d.severity),
                message: d.message,
                help: d.help,
                location: d.location,
                suppressed,
            }));
        }
        // In the order of the message's lines, as a reader goes through it;
        // findings about the whole message last. Stable: on one line, the
        // rules' order.
        findings.sort_by_key(|f| f.location.line.unwrap_or(usize::MAX));
        (findings, audience)
    }
}

/// The sender's history for the history rules. A damaged index must not
/// stop every message: it becomes a warning, and the other rules run.
#[cfg(feature = "history")]
fn open_history(path: &std::path::Path, warnings: &mut Vec<String>) -> Option<History> {
    History::open_for_reading(path).unwrap_or_else(|e| {
        warnings.push(format!(
            "{e}; checking without the history rules ({}); move it away and run `maillint \
             learn` to rebuild it",
            rules::HISTORY_RULES.join(", ")
        ));
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::parse_rfc5322;

    const STORM: &str = "From: a@example.org\nTo: everyone@example.org\nSubject: Re: test\n";

    fn run(headers: &str, selection: &Selection) -> Vec<Finding> {
        let msg = parse_rfc5322(format!("{STORM}{headers}\nx\n").as_bytes(), 1).unwrap();
        let mut config = Config::default();
        // Never the history index of whoever runs the tests.
        config.history.index = Some("/nonexistent/history.sqlite".into());
        Linter::new(config, selection).unwrap().check(&msg)
    }

    #[test]
    fn inline_allow_marks_named_rules_suppressed() {
        let f = run(
            "X-Maillint-Allow: reply-all-to-list; reason=announcement thread\n",
            &Selection::default(),
        );
        assert_eq!(f.len(), 1);
        assert!(f[0].suppressed);
        let f = run(
            "X-Maillint-Allow: cc-exposure, mass-list\n",
            &Selection::default(),
        );
        assert!(!f[0].suppressed, "other rules stay active");
        let f = run("", &Selection::default());
        assert!(!f[0].suppressed);
    }

    #[test]
    fn allowance_ids_are_separated_by_commas_or_spaces() {
        for header in [
            "X-Maillint-Allow: mass-list reply-all-to-list\n",
            "X-Maillint-Allow: mass-list,reply-all-to-list; reason=thread\n",
            "X-Maillint-Allow: mass-list ,\n\treply-all-to-list\n",
        ] {
            let f = run(header, &Selection::default());
            let storm = f.iter().find(|f| f.rule == "reply-all-to-list").unwrap();
            assert!(storm.suppressed, "{header}");
        }
    }

    #[test]
    fn findings_come_in_the_order_of_the_lines() {
        // lookalike-domain (Cc, line 4) is a rule listed before
        // external-recipients (To, line 2).
        let linter = Linter::new(Config::default(), &Selection::default()).unwrap();
        let msg = crate::testing::eml(
            "From: a@example.com\nTo: b@example.com, x@partner.example\nSubject: s\nCc: y@gmial.com\n\nhi\n",
        );
        let lines: Vec<Option<usize>> =
            linter.check(&msg).iter().map(|f| f.location.line).collect();
        assert!(lines.len() >= 2, "{lines:?}");
        let mut sorted = lines.clone();
        sorted.sort_by_key(|l| l.unwrap_or(usize::MAX));
        assert_eq!(lines, sorted);
    }

    #[test]
    fn no_inline_allow_ignores_the_header() {
        let selection = Selection {
            no_inline_allow: true,
            ..Selection::default()
        };
        let f = run("X-Maillint-Allow: reply-all-to-list\n", &selection);
        assert!(!f[0].suppressed);
    }

    #[test]
    fn unknown_ids_are_refused() {
        let selection = Selection {
            ignore: vec!["nope".into()],
            ..Selection::default()
        };
        assert!(matches!(
            Linter::new(Config::default(), &selection),
            Err(SetupError::UnknownRule(id)) if id == "nope"
        ));
    }

    /// A damaged index is a warning handed to the caller (the CLI says it
    /// on stderr, the gateway in its log): the library prints nothing.
    /// Without the `history` feature the index is never opened.
    #[test]
    fn a_damaged_index_is_a_returned_warning() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("history.sqlite");
        std::fs::write(
            &index,
            "not an index, just text long enough to look like a file",
        )
        .unwrap();
        let mut config = Config::default();
        config.history.index = Some(index.clone());
        let linter = Linter::new(config, &Selection::default()).unwrap();
        let expected = if cfg!(feature = "history") {
            vec![format!(
                "history index {}: file is not a database; checking without the history rules \
                 (new-recipient, name-mismatch, unusual-company); move it away and run \
                 `maillint learn` to rebuild it",
                index.display()
            )]
        } else {
            Vec::new()
        };
        assert_eq!(linter.warnings(), expected);
    }
}
