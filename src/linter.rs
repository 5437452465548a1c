//! The engine: the rules in force for a run, and checking one message.

use crate::allow::allowed_rules;
use crate::audience::{Audience, Org};
use crate::config::{Config, ConfigError, RuleSettings};
use crate::finding::{Diagnostic, Finding, Severity};
use crate::history::Recall;
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
                .any(|a| rules::READS_HISTORY.contains(&a.id.as_ref()));
            match history::hash_key(&config) {
                _ if !reads_history => None,
                Ok(key) => history::index_path(&config)
                    .and_then(|path| open_history(&path, key, &mut warnings)),
                Err(e) => {
                    warnings.push(format!(
                        "{e}; checking without the history rules ({})",
                        rules::HISTORY_RULES.join(", ")
                    ));
                    None
                }
            }
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
    fn recall(&self) -> Option<&dyn Recall> {
        self.history.as_ref().map(|h| h as _)
    }

    /// How many lookups in the index have failed, and the last failure.
    #[cfg(feature = "history")]
    fn lookup_failures(&self) -> Option<(u64, Option<String>)> {
        self.history.as_ref().map(History::failures)
    }

    /// Without the `history` feature there is never an index: the history
    /// rules stay silent.
    #[cfg(not(feature = "history"))]
    fn recall(&self) -> Option<&dyn Recall> {
        None
    }

    #[cfg(not(feature = "history"))]
    fn lookup_failures(&self) -> Option<(u64, Option<String>)> {
        None
    }

    /// Runs every active rule over one message.
    pub fn check(&self, message: &Message) -> Vec<Finding> {
        self.check_with_audience(message).0
    }

    /// [`check`](Self::check), with the message's audience as the rules saw
    /// it, for callers that need its reach too (the gateway's storm counts).
    pub fn check_with_audience<'m>(&'m self, message: &'m Message) -> (Vec<Finding>, Audience<'m>) {
        self.check_judged_by(message, self.recall())
    }

    /// [`check_with_audience`](Self::check_with_audience) for a gateway,
    /// where each sender is judged by their own history only: `sender` is
    /// the sender's key ([`history::sender_key`]: the SMTP login, else the
    /// envelope sender), and the history rules see nothing any other sender
    /// sent. An empty key (the null sender, not logged in) is no one's:
    /// the history rules see no history at all, never the personal one
    /// that the empty key holds in a personal index.
    pub fn check_for_sender<'m>(
        &'m self,
        message: &'m Message,
        sender: &str,
    ) -> (Vec<Finding>, Audience<'m>) {
        #[cfg(feature = "history")]
        {
            let view = self
                .history
                .as_ref()
                .filter(|_| !sender.is_empty())
                .map(|h| h.for_sender(sender));
            self.check_judged_by(message, view.as_ref().map(|h| h as &dyn Recall))
        }
        // Without the feature there is no history to take a view of.
        #[cfg(not(feature = "history"))]
        {
            _ = sender;
            self.check_judged_by(message, None)
        }
    }

    fn check_judged_by<'m>(
        &'m self,
        message: &'m Message,
        history: Option<&dyn Recall>,
    ) -> (Vec<Finding>, Audience<'m>) {
        let audience = Audience::new(message, &self.org);
        let failed_before = self.lookup_failures().map(|(failed, _)| failed);
        let cx = Context::new(
            message,
            &audience,
            &self.config,
            self.many_recipients,
            history,
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
        if let Some(failed) = self.history_failure(failed_before) {
            findings.push(failed);
        }
        // In the order of the message's lines, as a reader goes through it;
        // findings about the whole message last. Stable: on one line, the
        // rules' order.
        findings.sort_by_key(|f| f.location.line.unwrap_or(usize::MAX));
        (findings, audience)
    }

    /// A finding when a lookup in the history index failed while the
    /// rules ran (a damaged file): the history rules could not judge the
    /// message, which must be as plain as an index that cannot be opened,
    /// not a silent pass. It goes under the first history rule in force.
    fn history_failure(&self, failed_before: Option<u64>) -> Option<Finding> {
        let (failed, problem) = self.lookup_failures()?;
        if failed <= failed_before? {
            return None;
        }
        let rule = self
            .rules
            .iter()
            .find(|a| rules::HISTORY_RULES.contains(&a.id.as_ref()))?;
        Some(Finding {
            rule: rule.id.clone(),
            severity: Severity::Warning,
            message: format!(
                "the history index could not be read ({}): the history rules ({}) could not \
                 judge this message",
                problem.as_deref().unwrap_or("unknown error"),
                rules::HISTORY_RULES.join(", ")
            ),
            help: Some("move the index away and run `maillint learn` to rebuild it".into()),
            location: crate::finding::Location::default(),
            suppressed: false,
        })
    }
}

/// The sender's history for the history rules. A damaged index must not
/// stop every message: it becomes a warning, and the other rules run.
#[cfg(feature = "history")]
fn open_history(
    path: &std::path::Path,
    key: Option<[u8; 16]>,
    warnings: &mut Vec<String>,
) -> Option<History> {
    let opened = History::open_for_reading(path).and_then(|history| {
        history
            .map(|h| h.with_hash_key(key))
            .transpose()
            .map_err(|problem| history::HistoryError::new(path, problem))
    });
    opened.unwrap_or_else(|e| {
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

    /// Learns `n` messages into `history`, the `n`th with `headers(n)`
    /// (From and To) and its own Message-ID.
    #[cfg(feature = "history")]
    fn learn_n(history: &History, n: usize, headers: impl Fn(usize) -> String) {
        for i in 0..n {
            let sent = format!("{}Message-ID: <{i}@learned>\n\nx\n", headers(i));
            let msg = parse_rfc5322(sent.as_bytes(), 1).unwrap();
            history::learn_message(history, &msg, b"", None).unwrap();
        }
    }

    #[cfg(feature = "history")]
    #[test]
    fn damage_inside_the_address_table_is_as_loud_as_a_damaged_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let history = History::create(&path).unwrap();
        learn_n(&history, 400, |n| {
            format!("From: me@example.org\nTo: Person {n} <person.{n}@example.net>\n")
        });
        drop(history);
        let (root, page): (i64, i64) = {
            let c = rusqlite::Connection::open(&path).unwrap();
            let root = c
                .query_row(
                    "SELECT rootpage FROM sqlite_master WHERE name = 'address'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            (
                root,
                c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap(),
            )
        };
        let mut bytes = std::fs::read(&path).unwrap();
        let at = usize::try_from((root - 1) * page).unwrap();
        let mut noise = 0x2545_f491_4f6c_dd1d_u64;
        for b in &mut bytes[at..at + 4096] {
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            *b = noise.to_le_bytes()[0];
        }
        std::fs::write(&path, bytes).unwrap();
        let mut config = Config::default();
        config.history.index = Some(path);
        let linter = Linter::new(config, &Selection::default()).unwrap();
        let msg =
            parse_rfc5322(b"From: me@example.org\nTo: person.7@example.org\n\nx\n", 1).unwrap();
        let findings = linter.check(&msg);
        let loud = findings
            .iter()
            .find(|f| f.message.starts_with("the history index could not be read"))
            .unwrap_or_else(|| panic!("{findings:?}"));
        assert_eq!(loud.rule, "new-recipient");
        assert_eq!(loud.severity, Severity::Warning);
    }

    #[cfg(feature = "history")]
    #[test]
    fn each_sender_is_judged_by_their_own_history_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let index = History::create(&path).unwrap();
        let alice = index.for_sender(&history::sender_key(Some("Alice"), "alice@example.org"));
        learn_n(&alice, 30, |_| {
            "From: alice@example.org\nTo: Jane Smith <jane.smith@agency.example>\n".to_string()
        });
        drop((alice, index));
        let mut config = Config::default();
        config.history.index = Some(path);
        let linter = Linter::new(config, &Selection::default()).unwrap();
        let slip = |from: &str| {
            parse_rfc5322(
                format!("From: {from}\nTo: Jane Smith <jane.smith@asiancup.example>\n\nx\n")
                    .as_bytes(),
                1,
            )
            .unwrap()
        };
        let mentions_jane = |findings: &[Finding]| {
            findings
                .iter()
                .any(|f| f.message.contains("jane.smith@agency.example"))
        };
        let bob = slip("bob@example.org");
        let (findings, _) =
            linter.check_for_sender(&bob, &history::sender_key(None, "<Bob@Example.org>"));
        assert!(!mentions_jane(&findings), "{findings:?}");
        assert!(
            !mentions_jane(&linter.check(&bob)),
            "nor the personal history"
        );
        let alices = slip("alice@example.org");
        let (findings, _) = linter.check_for_sender(&alices, "login:alice");
        assert!(mentions_jane(&findings), "{findings:?}");
    }

    #[cfg(feature = "history")]
    #[test]
    fn the_null_sender_is_judged_by_no_history_not_the_personal_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let personal = History::create(&path).unwrap();
        learn_n(&personal, 30, |_| {
            "From: me@example.org\nTo: Jane Smith <jane.smith@agency.example>\n".to_string()
        });
        drop(personal);
        let mut config = Config::default();
        config.history.index = Some(path);
        let linter = Linter::new(config, &Selection::default()).unwrap();
        let bounce = parse_rfc5322(
            b"From: MAILER-DAEMON@example.org\nTo: Jane Smith <jane.smith@asiancup.example>\n\nx\n",
            1,
        )
        .unwrap();
        assert!(
            linter
                .check(&bounce)
                .iter()
                .any(|f| f.message.contains("jane.smith@agency.example")),
            "the personal history knows her"
        );
        let key = history::sender_key(None, "<>");
        assert_eq!(key, "");
        let (findings, _) = linter.check_for_sender(&bounce, &key);
        assert!(
            findings.iter().all(|f| !f.message.contains("agency")),
            "{findings:?}"
        );
    }

    #[cfg(feature = "history")]
    #[test]
    fn a_hashed_history_warns_without_showing_the_address() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let key_file = dir.path().join("history.key");
        std::fs::write(&key_file, "00112233445566778899aabbccddeeff\n").unwrap();
        let mut config = Config::default();
        config.history.index = Some(path.clone());
        config.history.hash_key_file = Some(key_file.clone());
        let index = history::open_to_learn(&config, &path).unwrap();
        learn_n(&index, 30, |_| {
            "From: me@example.org\nTo: Jane Smith <jane.smith@agency.example>, tom@club.example\n"
                .to_string()
        });
        drop(index);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::fs::read(dir.path().join("h.sqlite-wal")).unwrap_or_default());
        for clear in ["jane", "Jane", "agency", "smith", "club"] {
            assert!(
                !bytes.windows(clear.len()).any(|w| w == clear.as_bytes()),
                "{clear} is in the file"
            );
        }
        let linter = Linter::new(config.clone(), &Selection::default()).unwrap();
        let check = |to: &str| {
            let msg = parse_rfc5322(
                format!("From: me@example.org\nTo: {to}\n\nx\n").as_bytes(),
                1,
            )
            .unwrap();
            linter
                .check(&msg)
                .into_iter()
                .filter(|f| rules::HISTORY_RULES.contains(&f.rule.as_ref()))
                .map(|f| f.message)
                .collect::<Vec<_>>()
        };
        assert!(
            check("Jane Smith <jane.smith@asiancup.example>").contains(
                &"you have written to this name at another address 30 times; never to \
              jane.smith@asiancup.example"
                    .to_string()
            )
        );
        let company = check("jane.smith@agency.example, pat@new.example");
        assert!(
            company
                .iter()
                .any(|m| m.contains("familiar: jane.smith@agency.example (30 times)")),
            "{company:?}"
        );
        assert_eq!(
            check("Jane Smith <jane.smith@agency.example>"),
            Vec::<String>::new()
        );
        // Read without the key, or with another, it is refused, not misread.
        let reader = || History::open_for_reading(&path).unwrap().unwrap();
        assert!(reader().with_hash_key(None).is_err());
        assert!(reader().with_hash_key(Some([7; 16])).is_err());
        config.history.hash_key_file = None;
        let linter = Linter::new(config.clone(), &Selection::default()).unwrap();
        let msg = parse_rfc5322(
            b"From: me@example.org\nTo: Jane Smith <j@x.example>\n\nx\n",
            1,
        )
        .unwrap();
        assert!(linter.check(&msg).iter().all(|f| f.rule != "name-mismatch"));
        // Said to the caller, not printed.
        assert_eq!(linter.warnings().len(), 1, "{:?}", linter.warnings());
        assert!(
            linter.warnings()[0].contains("it keeps addresses as keyed hashes"),
            "{:?}",
            linter.warnings()
        );
        // A key file that holds no key: a returned warning too, and the
        // history rules are left out.
        std::fs::write(&key_file, "not a key\n").unwrap();
        config.history.hash_key_file = Some(key_file);
        let linter = Linter::new(config, &Selection::default()).unwrap();
        assert_eq!(linter.warnings().len(), 1, "{:?}", linter.warnings());
        assert!(
            linter.warnings()[0]
                .contains("not 32 hexadecimal digits; checking without the history rules"),
            "{:?}",
            linter.warnings()
        );
        assert!(linter.check(&msg).iter().all(|f| f.rule != "name-mismatch"));
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
