//! `maillint.toml`: discovery, parsing and validation.
//!
//! Every error names the file and the line of the offending key, so a typo
//! in a config never passes silently.

use crate::finding::Severity;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

pub const FILE_NAME: &str = "maillint.toml";

/// A configuration problem, located in its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// The severity a rule is configured to, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Off,
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn severity(self) -> Option<Severity> {
        match self {
            Level::Off => None,
            Level::Info => Some(Severity::Info),
            Level::Warning => Some(Severity::Warning),
            Level::Error => Some(Severity::Error),
        }
    }
}

/// A distribution list the organisation knows about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListConfig {
    /// How many people the list reaches.
    pub members: Option<u64>,
    /// Treat the list as an everyone-style list whatever its size.
    #[serde(default)]
    pub mass: bool,
    /// Senders who may write to the list (lowercased on load).
    #[serde(default)]
    pub allowed_senders: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// The organisation's domains; subdomains are internal too.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Local parts (with `*` wildcards) that name everyone-style lists,
    /// in addition to the built-in ones.
    #[serde(default)]
    pub mass_list_names: Vec<String>,
    /// Personal mailbox providers in addition to the built-in ones.
    #[serde(default)]
    pub personal_domains: Vec<String>,
}

/// The `[rules.<id>]` table of one rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSettings {
    pub level: Option<Level>,
    options: toml::Table,
    line: Option<usize>,
    key_lines: HashMap<String, usize>,
}

impl RuleSettings {
    /// Deserialises the rule's own options (everything but `severity`).
    /// The rule's struct uses `deny_unknown_fields`, so a misspelt option
    /// is an error that points at its line.
    pub fn options<T: DeserializeOwned>(&self) -> Result<T, OptionError> {
        let value = toml::Value::Table(self.options.clone());
        serde_path_to_error::deserialize(value).map_err(|e| {
            let message = e.inner().message().to_string();
            // A type error carries the key as its path; an unknown key is
            // named, in backticks, in the message.
            let path = e.path().to_string();
            let key = Some(path.as_str())
                .filter(|p| self.key_lines.contains_key(*p))
                .or_else(|| backticked(&message).filter(|k| self.key_lines.contains_key(*k)));
            OptionError {
                key: key.map(str::to_string),
                message,
            }
        })
    }

    /// The line of an option key, or of the rule's table when the key is absent.
    pub fn line_of(&self, key: Option<&str>) -> Option<usize> {
        key.and_then(|k| self.key_lines.get(k).copied())
            .or(self.line)
    }
}

/// A rule's complaint about its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    pub key: Option<String>,
    pub message: String,
}

impl OptionError {
    pub fn new(key: &str, message: impl Into<String>) -> Self {
        OptionError {
            key: Some(key.to_string()),
            message: message.into(),
        }
    }
}

fn backticked(s: &str) -> Option<&str> {
    let start = s.find('`')? + 1;
    let len = s[start..].find('`')?;
    Some(&s[start..start + len])
}

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where the configuration came from, for error messages.
    pub source: Option<PathBuf>,
    pub organization: Organization,
    /// Configured lists by lowercased address.
    pub lists: HashMap<String, ListConfig>,
    /// Settings per rule id, as written.
    pub rules: BTreeMap<String, RuleSettings>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    organization: Organization,
    #[serde(default)]
    lists: BTreeMap<String, ListConfig>,
    #[serde(default)]
    rules: BTreeMap<Spanned<String>, Spanned<BTreeMap<Spanned<String>, toml::Value>>>,
}

impl Config {
    /// The file to use: `explicit`, else the nearest `maillint.toml` from
    /// `cwd` upwards, else `$XDG_CONFIG_HOME/maillint/config.toml`.
    pub fn discover(explicit: Option<&Path>, cwd: &Path) -> Option<PathBuf> {
        if let Some(path) = explicit {
            return Some(path.to_path_buf());
        }
        if let Some(found) = cwd
            .ancestors()
            .map(|dir| dir.join(FILE_NAME))
            .find(|p| p.is_file())
        {
            // Shown relative to where the user is, when it is there.
            return Some(
                found
                    .strip_prefix(cwd)
                    .map_or(found.clone(), Path::to_path_buf),
            );
        }
        let config_home = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(config_home.join("maillint").join("config.toml")).filter(|p| p.is_file())
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: None,
            message: format!("cannot read config: {e}"),
        })?;
        let mut config = Config::parse(&text, &file)?;
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses config text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let line_of = |offset: usize| Some(line_at(text, offset));
        let error = |line: Option<usize>, message: String| ConfigError {
            file: file.to_string(),
            line,
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            error(
                e.span().and_then(|s| line_of(s.start)),
                e.message().trim().to_string(),
            )
        })?;

        let mut organization = raw.organization;
        for (key, values) in [
            ("domains", &mut organization.domains),
            ("personal_domains", &mut organization.personal_domains),
        ] {
            for domain in values.iter_mut() {
                *domain = domain
                    .trim()
                    .trim_start_matches(['@', '.'])
                    .to_ascii_lowercase();
                if domain.is_empty() || domain.contains(['@', ' ']) || !domain.contains('.') {
                    return Err(error(
                        key_line(text, key),
                        format!("organization.{key}: `{domain}` is not a domain name"),
                    ));
                }
            }
        }
        for name in &mut organization.mass_list_names {
            *name = name.trim().to_ascii_lowercase();
        }

        let mut lists = HashMap::with_capacity(raw.lists.len());
        for (address, mut list) in raw.lists {
            if !address.contains('@') {
                return Err(error(
                    key_line(text, &address),
                    format!("lists: `{address}` is not an email address"),
                ));
            }
            for sender in &mut list.allowed_senders {
                *sender = sender.trim().to_ascii_lowercase();
            }
            lists.insert(address.trim().to_ascii_lowercase(), list);
        }

        let mut rules = BTreeMap::new();
        for (id, table) in raw.rules {
            let table_line = line_of(id.span().start);
            let mut settings = RuleSettings {
                line: table_line,
                ..RuleSettings::default()
            };
            for (key, value) in table.into_inner() {
                let key_line = line_of(key.span().start);
                let key = key.into_inner();
                if key == "severity" {
                    let level = Level::deserialize(value).map_err(|_| {
                        error(
                            key_line,
                            format!(
                                "rules.{}.severity: expected one of error, warning, info, off",
                                id.get_ref()
                            ),
                        )
                    })?;
                    settings.level = Some(level);
                } else {
                    settings
                        .key_lines
                        .insert(key.clone(), key_line.unwrap_or(1));
                    settings.options.insert(key, value);
                }
            }
            rules.insert(id.into_inner(), settings);
        }

        Ok(Config {
            source: None,
            organization,
            lists,
            rules,
        })
    }

    /// The name used for this config in error messages.
    pub fn file_name(&self) -> String {
        self.source
            .as_ref()
            .map_or_else(|| "<defaults>".to_string(), |p| p.display().to_string())
    }

    /// An error about the settings of one rule, placed on its line.
    pub fn rule_error(&self, id: &str, err: OptionError) -> ConfigError {
        let settings = self.rules.get(id);
        let line = settings.and_then(|s| s.line_of(err.key.as_deref()));
        let key = err.key.map_or(String::new(), |k| format!(".{k}"));
        ConfigError {
            file: self.file_name(),
            line,
            message: format!("rules.{id}{key}: {}", err.message),
        }
    }
}

fn line_at(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// The first line that assigns `key`, for errors found after parsing, when
/// serde no longer has spans.
fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(key)).map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let config = Config::parse(
            r#"
[organization]
domains = ["Example.ac.uk"]

[lists."All-Staff@example.ac.uk"]
members = 5400
allowed_senders = ["Comms@example.ac.uk"]

[rules.recipient-count]
warning = 25
error = 500

[rules.cc-exposure]
severity = "warning"
"#,
            "maillint.toml",
        )
        .unwrap();
        assert_eq!(config.organization.domains, ["example.ac.uk"]);
        let list = &config.lists["all-staff@example.ac.uk"];
        assert_eq!(list.members, Some(5400));
        assert_eq!(list.allowed_senders, ["comms@example.ac.uk"]);
        assert_eq!(config.rules["cc-exposure"].level, Some(Level::Warning));
        assert_eq!(
            config.rules["recipient-count"].line_of(Some("error")),
            Some(11)
        );
    }

    #[test]
    fn unknown_key_names_its_line() {
        let err =
            Config::parse("[organization]\ndomain = [\"a.example\"]\n", "m.toml").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("domain"), "{err}");
        assert!(err.to_string().starts_with("m.toml:2: "), "{err}");
    }

    #[test]
    fn bad_severity_names_its_line() {
        let err =
            Config::parse("[rules.cc-exposure]\n\nseverity = \"loud\"\n", "m.toml").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("severity"), "{err}");
    }

    #[test]
    fn syntax_error_is_one_line() {
        let err = Config::parse("[organization\n", "m.toml").unwrap_err();
        assert_eq!(err.line, Some(1));
        assert!(!err.to_string().contains('\n'), "{err}");
    }

    #[test]
    fn rejects_a_domain_that_is_an_address() {
        let err = Config::parse("[organization]\ndomains = [\"me@example.com\"]\n", "m.toml")
            .unwrap_err();
        assert!(err.message.contains("not a domain"), "{err}");
    }

    #[test]
    fn rule_option_errors_point_at_the_key() {
        #[derive(Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Opts {
            warning: Option<u64>,
        }
        let config = Config::parse("[rules.x]\nwarning = 3\nwarnign = 4\n", "m.toml").unwrap();
        let err = config.rules["x"].options::<Opts>().unwrap_err();
        assert_eq!(err.key.as_deref(), Some("warnign"));
        let located = config.rule_error("x", err);
        assert_eq!(located.line, Some(3));
    }
}
