//! The engine: the rules in force for a run, and checking one message.

use crate::audience::{Audience, Org};
use crate::config::{Config, ConfigError, RuleSettings};
use crate::finding::{Finding, Severity};
use crate::message::Message;
use crate::rules::{self, Context, REGISTRY, Rule, RuleInfo};

struct ActiveRule {
    info: &'static RuleInfo,
    rule: Box<dyn Rule>,
    /// Configured severity, replacing whatever the rule reports.
    severity: Option<Severity>,
}

pub struct Linter {
    config: Config,
    org: Org,
    many_recipients: u64,
    rules: Vec<ActiveRule>,
}

/// Which rules a run uses, from `--select` and `--ignore`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these rules; all when empty.
    pub select: Vec<String>,
    pub ignore: Vec<String>,
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
        for id in selection.select.iter().chain(&selection.ignore) {
            if rules::find(id).is_none() {
                return Err(SetupError::UnknownRule(id.clone()));
            }
        }
        for id in config.rules.keys() {
            if rules::find(id).is_none() {
                let line = config.rules[id].line_of(None);
                return Err(ConfigError {
                    file: config.file_name(),
                    line,
                    message: format!("unknown rule `{id}` in [rules.{id}]"),
                }
                .into());
            }
        }
        let default_settings = RuleSettings::default();
        let mut active = Vec::new();
        for info in REGISTRY.iter().copied() {
            let settings = config.rules.get(info.id).unwrap_or(&default_settings);
            // Options are validated even for rules switched off, so a typo
            // does not wait to surface until the rule is switched back on.
            let rule = (info.build)(settings).map_err(|e| config.rule_error(info.id, e))?;
            let enabled = (selection.select.is_empty()
                || selection.select.iter().any(|s| s == info.id))
                && !selection.ignore.iter().any(|s| s == info.id);
            let level = settings.level;
            if !enabled || level.is_some_and(|l| l.severity().is_none()) {
                continue;
            }
            active.push(ActiveRule {
                info,
                rule,
                severity: level.and_then(|l| l.severity()),
            });
        }
        Ok(Linter {
            org: Org::new(&config),
            many_recipients: rules::recipient_count::many_recipients(
                config
                    .rules
                    .get("recipient-count")
                    .unwrap_or(&default_settings),
            ),
            config,
            rules: active,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs every active rule over one message.
    pub fn check(&self, message: &Message) -> Vec<Finding> {
        let audience = Audience::new(message, &self.org);
        let cx = Context {
            message,
            audience: &audience,
            config: &self.config,
            many_recipients: self.many_recipients,
        };
        let mut findings = Vec::new();
        let mut diagnostics = Vec::new();
        for active in &self.rules {
            active.rule.check(&cx, &mut diagnostics);
            findings.extend(diagnostics.drain(..).map(|d| Finding {
                rule: active.info.id,
                severity: active.severity.unwrap_or(d.severity),
                message: d.message,
                help: d.help,
                location: d.location,
            }));
        }
        findings
    }
}
