//! `maillint.toml`: discovery, parsing and validation.
//!
//! Every error names the file and the line of the offending key, so a typo
//! in a config never passes silently.

use crate::finding::Severity;
use crate::input::Limits;
use crate::mass_names::MassNames;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

mod gateway;
mod hold;

pub use gateway::{Action, Listen, MetricsAddress, MilterConfig, Mode, Network, StormConfig};
pub use hold::{HoldConfig, Releaser, WebConfig, parse_duration};

pub const FILE_NAME: &str = "maillint.toml";

/// A configuration problem, located in its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    /// One line, even when the message quotes a key with a line break in it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = crate::guard::one_line(&self.message);
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, message),
            None => write!(f, "{}: {}", self.file, message),
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

/// `[sendmail]`: how `maillint sendmail` hands a message on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendmailConfig {
    /// The real sendmail (default /usr/sbin/sendmail).
    pub path: Option<PathBuf>,
    /// Where blocked messages are kept (default
    /// `$XDG_STATE_HOME/maillint/held`).
    pub held_dir: Option<PathBuf>,
    /// Seconds the real sendmail may take before it is stopped and the
    /// message held (default 600).
    pub timeout: Option<u64>,
}

/// `[history]`: the index of past sent mail that `maillint learn` keeps and
/// the history rules read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryConfig {
    /// The index file (default `$XDG_DATA_HOME/maillint/history.sqlite`);
    /// a relative path is taken from the configuration file's directory.
    pub index: Option<PathBuf>,
    /// `maillint sendmail` adds each message it passes on to the index.
    #[serde(default)]
    pub learn_on_send: bool,
    /// Entries last written to more than this many days ago are forgotten
    /// whenever the index is written to; none by default.
    pub retention_days: Option<u32>,
    /// A file holding a secret key (32 hexadecimal digits): the index then
    /// keeps addresses and names only as keyed hashes. Relative to the
    /// configuration file's directory.
    pub hash_key_file: Option<PathBuf>,
    /// `redis://HOST:PORT`: gateways that name the same Redis (and key
    /// prefix) send each other what they learn and forget; each keeps
    /// and reads its own index. Every one of them needs the same
    /// `hash_key_file` (or none).
    pub shared: Option<String>,
    /// Start of the keys in Redis (default `maillint:history:`).
    pub shared_key_prefix: Option<String>,
    /// Milliseconds one call to Redis may take (default 500); no message
    /// waits for it.
    pub shared_timeout_ms: Option<u64>,
    /// Records the store keeps at most, the oldest dropped first (default
    /// 1,000,000): a gateway away for longer than they span is seeded again
    /// with `maillint learn`.
    pub shared_max_records: Option<u64>,
    /// Records a gateway keeps for the store while it cannot be reached,
    /// at most (default 100,000, about 30 MB); past it the oldest go.
    pub shared_backlog: Option<usize>,
}

impl HistoryConfig {
    pub fn shared_key_prefix(&self) -> &str {
        self.shared_key_prefix
            .as_deref()
            .unwrap_or("maillint:history:")
    }

    pub fn shared_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.shared_timeout_ms.unwrap_or(500).max(1))
    }

    pub fn shared_max_records(&self) -> u64 {
        self.shared_max_records.unwrap_or(1_000_000).max(1)
    }

    pub fn shared_backlog(&self) -> usize {
        self.shared_backlog.unwrap_or(100_000)
    }
}

/// `[bulk]`: when every message counts as bulk mail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkConfig {
    /// Every message checked is a bulk send (a repository of newsletter or
    /// notification templates), whatever its headers and recipients say.
    #[serde(default)]
    pub always: bool,
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
    /// `[[custom]]` rules, in the order written.
    pub custom: Vec<CustomRule>,
    pub sendmail: SendmailConfig,
    pub bulk: BulkConfig,
    pub history: HistoryConfig,
    /// `[input]`: limits on what is read.
    pub input: Limits,
    /// `[attachments]`: what reading inside attachments may cost.
    pub attachments: crate::message::ReadLimits,
    /// `[milter]` and `[storm]`: the gateway.
    pub milter: MilterConfig,
    pub storm: StormConfig,
    /// `[hold]` and `[web]`: held mail and its page.
    pub hold: HoldConfig,
    pub web: WebConfig,
}

/// What a custom rule's pattern is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CustomField {
    Subject,
    Body,
    Headers,
    AttachmentNames,
    Recipients,
}

impl CustomField {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomField::Subject => "subject",
            CustomField::Body => "body",
            CustomField::Headers => "headers",
            CustomField::AttachmentNames => "attachment-names",
            CustomField::Recipients => "recipients",
        }
    }
}

/// When a custom rule applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    #[default]
    Any,
    /// Only when a recipient is outside the organisation.
    External,
    /// Only when a recipient is an everyone-style list.
    MassList,
}

impl When {
    pub fn as_str(self) -> &'static str {
        match self {
            When::Any => "any",
            When::External => "external",
            When::MassList => "mass-list",
        }
    }
}

/// A rule written in the configuration: a regex over chosen fields.
#[derive(Debug, Clone)]
pub struct CustomRule {
    pub id: String,
    /// The line of its `id`, for errors found once the rules are known.
    pub line: Option<usize>,
    pub pattern: regex::Regex,
    pub fields: Vec<CustomField>,
    pub when: When,
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustomRule {
    id: Spanned<String>,
    pattern: Spanned<String>,
    fields: Spanned<Vec<CustomField>>,
    #[serde(default)]
    when: When,
    #[serde(default = "default_custom_severity")]
    severity: Severity,
    message: Spanned<String>,
    help: Option<String>,
}

fn default_custom_severity() -> Severity {
    Severity::Warning
}

/// `[organization]` as written, with the spans its errors point at.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOrganization {
    #[serde(default)]
    domains: Vec<Spanned<String>>,
    mass_list_names: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    personal_domains: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    organization: RawOrganization,
    #[serde(default)]
    lists: BTreeMap<String, Spanned<ListConfig>>,
    #[serde(default)]
    rules: BTreeMap<Spanned<String>, Spanned<BTreeMap<Spanned<String>, toml::Value>>>,
    #[serde(default)]
    custom: Vec<RawCustomRule>,
    #[serde(default)]
    sendmail: SendmailConfig,
    #[serde(default)]
    bulk: BulkConfig,
    #[serde(default)]
    history: HistoryConfig,
    #[serde(default)]
    input: RawInput,
    #[serde(default)]
    attachments: RawAttachments,
    #[serde(default)]
    milter: MilterConfig,
    #[serde(default)]
    storm: StormConfig,
    #[serde(default)]
    hold: HoldConfig,
    #[serde(default)]
    web: WebConfig,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawInput {
    /// `"100MB"` or a number of bytes.
    max_message_size: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAttachments {
    /// `"64MB"` or a number of bytes.
    max_bytes: Option<Spanned<toml::Value>>,
    max_files: Option<Spanned<u64>>,
    max_depth: Option<Spanned<u32>>,
    max_milliseconds: Option<Spanned<u64>>,
}

/// The largest `max_message_size` accepted: mail-parser addresses a
/// message with 32-bit offsets, and the whole message is held in memory.
pub const MAX_MESSAGE_SIZE_LIMIT: u64 = 2 * 1024 * 1024 * 1024;

/// A size: a number of bytes, or a string such as `"100MB"` or `"512 KB"`
/// (B, KB, MB, GB in units of 1024; KiB, MiB, GiB are the same).
fn parse_size(value: &toml::Value) -> Result<u64, String> {
    const EXPECTED: &str = "expected a size such as \"100MB\" or a number of bytes";
    let bytes = match value {
        toml::Value::Integer(n) => u64::try_from(*n).map_err(|_| format!("{EXPECTED}, not {n}"))?,
        toml::Value::String(text) => {
            let trimmed = text.trim();
            let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
            let (number, unit) = trimmed.split_at(digits);
            let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
                "" | "b" => 1,
                "kb" | "kib" => 1024,
                "mb" | "mib" => 1024 * 1024,
                "gb" | "gib" => 1024 * 1024 * 1024,
                _ => return Err(format!("{EXPECTED}, not \"{text}\"")),
            };
            number
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(factor))
                .ok_or_else(|| format!("{EXPECTED}, not \"{text}\""))?
        }
        other => return Err(format!("{EXPECTED}, not a {}", other.type_str())),
    };
    if bytes == 0 {
        return Err("must be at least 1 byte".into());
    }
    if bytes > MAX_MESSAGE_SIZE_LIMIT {
        return Err(format!(
            "must be at most {}",
            crate::input::format_size(MAX_MESSAGE_SIZE_LIMIT)
        ));
    }
    Ok(bytes)
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
        Config::user_file()
    }

    /// The configuration in force: `explicit` as it is; else the nearest
    /// project `maillint.toml` layered over the user's own config file
    /// (see [`Config::layered_over`]); else the user's file; else `None`,
    /// for the defaults.
    pub fn load_discovered(
        explicit: Option<&Path>,
        cwd: &Path,
    ) -> Result<Option<Config>, ConfigError> {
        let Some(path) = Config::discover(explicit, cwd) else {
            return Ok(None);
        };
        let config = Config::load(&path)?;
        let user_file = Config::user_file();
        let is_user_file = user_file.as_deref().is_some_and(
            |user| matches!((path.canonicalize(), user.canonicalize()), (Ok(a), Ok(b)) if a == b),
        );
        match user_file {
            Some(user) if explicit.is_none() && !is_user_file => {
                Ok(Some(config.layered_over(Config::load(&user)?)))
            }
            _ => Ok(Some(config)),
        }
    }

    /// A project's configuration over the user's: who the user is and how
    /// they send stays theirs unless the project says otherwise. Each of
    /// `[organization]`'s `domains`, `personal_domains` and
    /// `mass_list_names` the project leaves out, `[lists]` it does not
    /// name, `[sendmail]` settings it leaves out, and `[history] index`
    /// come from the user's file, and `learn_on_send` is on when either
    /// turns it on. Rules, custom rules,
    /// `[bulk]`, `[input]` and the gateway's sections are the project's
    /// alone.
    pub fn layered_over(mut self, user: Config) -> Config {
        let org = &mut self.organization;
        if org.domains.is_empty() {
            org.domains = user.organization.domains;
        }
        if org.personal_domains.is_empty() {
            org.personal_domains = user.organization.personal_domains;
        }
        if org.mass_list_names.is_empty() {
            org.mass_list_names = user.organization.mass_list_names;
        }
        for (address, list) in user.lists {
            self.lists.entry(address).or_insert(list);
        }
        let sendmail = &mut self.sendmail;
        sendmail.path = sendmail.path.take().or(user.sendmail.path);
        sendmail.held_dir = sendmail.held_dir.take().or(user.sendmail.held_dir);
        sendmail.timeout = sendmail.timeout.or(user.sendmail.timeout);
        self.history.index = self.history.index.take().or(user.history.index);
        self.history.learn_on_send |= user.history.learn_on_send;
        self
    }

    /// `$XDG_CONFIG_HOME/maillint/config.toml`, when it exists.
    pub fn user_file() -> Option<PathBuf> {
        user_file_path().filter(|p| p.is_file())
    }

    /// The `[sendmail]` settings in force: each one from this configuration,
    /// else from the user's own config file. How this machine sends mail is
    /// the user's setting; a project's `maillint.toml` without it must not
    /// send mail another way.
    pub fn sendmail_settings(&self) -> Result<SendmailConfig, ConfigError> {
        let own = &self.sendmail;
        if own.path.is_some() && own.held_dir.is_some() && own.timeout.is_some() {
            return Ok(own.clone());
        }
        let Some(user_file) = Config::user_file() else {
            return Ok(own.clone());
        };
        let same_file = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => a == b,
        };
        if self
            .source
            .as_deref()
            .is_some_and(|s| same_file(s, &user_file))
        {
            return Ok(own.clone());
        }
        let user = Config::load(&user_file)?.sendmail;
        Ok(SendmailConfig {
            path: own.path.clone().or(user.path),
            held_dir: own.held_dir.clone().or(user.held_dir),
            timeout: own.timeout.or(user.timeout),
        })
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: None,
            message: format!("cannot read config: {e}"),
        })?;
        let mut config = Config::parse(&text, &file)?;
        if let Some(index) = config.history.index.as_mut().filter(|i| i.is_relative()) {
            *index = path.parent().unwrap_or(Path::new("")).join(&*index);
        }
        if let Some(key) = config
            .history
            .hash_key_file
            .as_mut()
            .filter(|k| k.is_relative())
        {
            *key = path.parent().unwrap_or(Path::new("")).join(&*key);
        }
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
        // A syntax error names the key on its line, when there is one.
        let syntax = |e: toml::de::Error| {
            let line = e.span().and_then(|s| line_of(s.start));
            let message = e.message().trim();
            error(
                line,
                match line.and_then(|l| key_on_line(text, l)) {
                    Some(key) => format!("{key}: {message}"),
                    None => message.to_string(),
                },
            )
        };
        let deserializer = toml::Deserializer::parse(text).map_err(syntax)?;
        // A wrong type or an unknown key is named by its path.
        let raw: RawConfig = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = key_path(e.path());
            let e = e.into_inner();
            let line = e.span().and_then(|s| line_of(s.start));
            error(line, format!("{path}: {}", e.message().trim()))
        })?;

        let domains = |key: &str, values: Vec<Spanned<String>>| {
            values
                .into_iter()
                .map(|value| {
                    domain_name(value.get_ref()).map_err(|reason| {
                        error(
                            line_of(value.span().start),
                            format!("organization.{key}: {reason}"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let mut organization = Organization {
            domains: domains("domains", raw.organization.domains)?,
            personal_domains: domains("personal_domains", raw.organization.personal_domains)?,
            mass_list_names: Vec::new(),
        };
        if let Some(names) = raw.organization.mass_list_names {
            let line = line_of(names.span().start);
            organization.mass_list_names = names
                .into_inner()
                .iter()
                .map(|name| name.trim().to_ascii_lowercase())
                .collect();
            if let Err(reason) = MassNames::new(&organization.mass_list_names) {
                return Err(error(
                    line,
                    format!("organization.mass_list_names: {reason}"),
                ));
            }
        }

        let mut lists = HashMap::with_capacity(raw.lists.len());
        for (address, list) in raw.lists {
            if !address.contains('@') {
                return Err(error(
                    line_of(list.span().start),
                    format!("lists: `{address}` is not an email address"),
                ));
            }
            let mut list = list.into_inner();
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

        let mut custom: Vec<CustomRule> = Vec::with_capacity(raw.custom.len());
        for rule in raw.custom {
            let id_line = line_of(rule.id.span().start);
            let id = rule.id.into_inner();
            if !is_kebab_case(&id) {
                return Err(error(
                    id_line,
                    format!("custom.id: `{id}` is not a kebab-case rule id"),
                ));
            }
            // A clash with a built-in id is `rules::check_custom_ids`'s to find.
            if custom.iter().any(|c| c.id == id) {
                return Err(error(
                    id_line,
                    format!("custom.id: rule `{id}` is already defined"),
                ));
            }
            let pattern = regex::Regex::new(rule.pattern.get_ref()).map_err(|e| {
                // The regex crate's message spans lines to draw the pattern.
                let reason = e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("invalid")
                    .trim()
                    .to_string();
                error(
                    line_of(rule.pattern.span().start),
                    format!("custom.pattern of `{id}`: {reason}"),
                )
            })?;
            if rule.fields.get_ref().is_empty() {
                return Err(error(
                    line_of(rule.fields.span().start),
                    format!("custom.fields of `{id}`: name at least one field"),
                ));
            }
            if rule.message.get_ref().trim().is_empty() {
                return Err(error(
                    line_of(rule.message.span().start),
                    format!("custom.message of `{id}`: must not be empty"),
                ));
            }
            custom.push(CustomRule {
                id,
                line: id_line,
                pattern,
                fields: rule.fields.into_inner(),
                when: rule.when,
                severity: rule.severity,
                message: rule.message.into_inner(),
                help: rule.help,
            });
        }

        let mut input = Limits::default();
        if let Some(size) = raw.input.max_message_size {
            input.max_message_size = parse_size(size.get_ref()).map_err(|reason| {
                error(
                    line_of(size.span().start),
                    format!("input.max_message_size: {reason}"),
                )
            })?;
        }

        let mut attachments = crate::message::ReadLimits::default();
        let limits = &raw.attachments;
        if let Some(size) = &limits.max_bytes {
            attachments.max_bytes = parse_size(size.get_ref()).map_err(|reason| {
                error(
                    line_of(size.span().start),
                    format!("attachments.max_bytes: {reason}"),
                )
            })?;
        }
        if let Some(files) = &limits.max_files {
            attachments.max_files = *files.get_ref();
        }
        if let Some(depth) = &limits.max_depth {
            if !(1..=crate::message::MAX_DEPTH_LIMIT).contains(depth.get_ref()) {
                return Err(error(
                    line_of(depth.span().start),
                    format!(
                        "attachments.max_depth: must be from 1 to {}",
                        crate::message::MAX_DEPTH_LIMIT
                    ),
                ));
            }
            attachments.max_depth = *depth.get_ref();
        }
        if let Some(ms) = &limits.max_milliseconds {
            attachments.max_milliseconds = *ms.get_ref();
        }

        Ok(Config {
            source: None,
            organization,
            lists,
            rules,
            custom,
            sendmail: raw.sendmail,
            bulk: raw.bulk,
            history: raw.history,
            input,
            attachments,
            milter: raw.milter,
            storm: raw.storm,
            hold: raw.hold,
            web: raw.web,
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

/// Where the user's own configuration is, or would be:
/// `$XDG_CONFIG_HOME/maillint/config.toml` (`~/.config/...`).
pub fn user_file_path() -> Option<PathBuf> {
    Some(xdg_dir("XDG_CONFIG_HOME", ".config")?.join("config.toml"))
}

/// maillint's directory under an XDG base directory: `$VAR/maillint`,
/// else `~/FALLBACK/maillint` when `VAR` is unset or empty.
pub fn xdg_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    let base = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)))?;
    Some(base.join("maillint"))
}

pub fn is_kebab_case(id: &str) -> bool {
    id.split('-').all(|w| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// A domain as the configuration keeps it: trimmed, lowercase, without a
/// leading `@` or `.`. Letters of any script are accepted (an
/// internationalised name); ASCII punctuation other than `-`, `_` and `.`,
/// spaces and control characters are not.
pub fn domain_name(raw: &str) -> Result<String, String> {
    let domain = raw
        .trim()
        .trim_start_matches(['@', '.'])
        .to_ascii_lowercase();
    let allowed = |c: char| {
        if c.is_ascii() {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
        } else {
            !c.is_whitespace() && !c.is_control()
        }
    };
    if domain.contains('.') && domain.chars().all(allowed) {
        Ok(domain)
    } else {
        Err(format!("`{domain}` is not a domain name"))
    }
}

/// The commented configuration `maillint init` writes, or why `domain`
/// cannot be in it.
pub fn starter(domain: Option<&str>) -> Result<String, String> {
    let domains = match domain {
        Some(d) => {
            let d = domain_name(d)?;
            // Written by the TOML library, so the file reads back whatever
            // characters the name holds.
            let value = toml::Value::Array(vec![toml::Value::String(d)]);
            format!("domains = {value}")
        }
        None => "# domains = [\"example.org\"]".to_string(),
    };
    Ok(format!(
        r#"# maillint configuration. `maillint explain <rule>` documents each rule and its options.

[organization]
# The organisation's domains; subdomains are internal too. Without them the
# organisation is the sender's own domain.
{domains}
# More everyone-style list names (`*` matches anything):
# mass_list_names = ["staff-announce", "*-everyone"]

# Lists maillint should know about. A list counts as its members in
# recipient-count; 500 or more members (or mass = true) makes it an
# everyone-style list, which only allowed_senders may write to.
# [lists."all-staff@example.org"]
# members = 5400
# allowed_senders = ["comms@example.org"]

# Rule settings: severity = "error" | "warning" | "info" | "off", plus the
# rule's own options.
# [rules.recipient-count]
# warning = 25
# error = 500

# Rules of your own: a regex over parts of the message.
# [[custom]]
# id = "project-falcon"
# pattern = "(?i)project\\s+falcon"
# fields = ["subject", "body"]
# when = "external"
# severity = "error"
# message = "Codename Falcon must not leave the organisation"

# A repository of newsletter or notification templates: check every message
# as bulk mail (unsubscribe headers, sender alignment, ...).
# [bulk]
# always = true

# What reading inside attachments (spreadsheets, documents, PDFs,
# archives, winmail.dat) may cost per message; reading stops at the first
# limit reached, and the attachment-unread rule says where.
# [attachments]
# max_bytes = "64MB"        # decompressed or extracted, all files together
# max_files = 1000          # files opened, archive entries included
# max_depth = 5             # files inside files (1: only the attachments)
# max_milliseconds = 2000  # processor time

# For `maillint sendmail`: the real sendmail, and where held messages go.
# A setting left out here comes from your own ~/.config/maillint/config.toml.
# [sendmail]
# path = "/usr/sbin/sendmail"
# held_dir = "/home/me/.local/state/maillint/held"
# timeout = 600   # seconds the real sendmail may take; then the message is held

# The index of your sent mail that `maillint learn` keeps, for the rules
# new-recipient, name-mismatch and unusual-company.
# [history]
# index = "/home/me/.local/share/maillint/history.sqlite"
# learn_on_send = true   # maillint sendmail learns from what it passes on
# retention_days = 730   # forget whom you last wrote to more than two years ago
# hash_key_file = "/etc/maillint/history.key"   # keep addresses and names only as keyed hashes
# shared = "redis://10.0.0.5:6379"   # gateways share what they learn and forget
# shared_key_prefix = "maillint:history:"
# shared_timeout_ms = 500
# shared_max_records = 1000000   # kept in Redis for a gateway that was away
# shared_backlog = 100000        # kept here while Redis cannot be reached
"#
    ))
}

fn line_at(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// A deserialisation path as it is written in TOML: `organization.domains`,
/// `lists."all@example.org".members`, `custom[0].fields`.
fn key_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            // toml's `Spanned` wrapper shows up as a key of its own.
            Segment::Map { key } if key.starts_with("$__serde") => {}
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&toml_key(key));
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

/// A key as TOML writes it: bare when it can be, quoted otherwise.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// The dotted key assigned on a line of config text, with its table:
/// `rules.cc-exposure.warning` for `warning = ` under `[rules.cc-exposure]`.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().take(line).collect();
    let (key, _) = lines.last()?.split_once('=')?;
    let key = key.trim();
    let valid = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | '\'' | ' '));
    if !valid {
        return None;
    }
    let table = lines[..lines.len() - 1].iter().rev().find_map(|l| {
        let l = l.trim();
        l.strip_prefix('[')
            .and_then(|t| t.split_once(']'))
            .map(|(t, _)| t.trim_matches(['[', ' ']).to_string())
    });
    Some(match table {
        Some(table) if !table.is_empty() => format!("{table}.{key}"),
        _ => key.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_config_keeps_what_it_writes_and_takes_the_users_identity() {
        let user = Config::parse(
            "[organization]\ndomains = [\"example.org\"]\npersonal_domains = [\"mail.example\"]\n\
             [lists.\"all@example.org\"]\nmembers = 900\n\
             [sendmail]\npath = \"/usr/bin/msmtp\"\n[history]\nlearn_on_send = true\n\
             [rules.cc-exposure]\nseverity = \"off\"\n",
            "user",
        )
        .unwrap();
        let project = Config::parse(
            "[organization]\npersonal_domains = [\"club.example\"]\n\
             [lists.\"team@example.org\"]\nmembers = 12\n\
             [sendmail]\nheld_dir = \"/tmp/held\"\n[rules.mass-list]\nseverity = \"error\"\n",
            "project",
        )
        .unwrap();
        let both = project.layered_over(user);
        assert_eq!(both.organization.domains, ["example.org"]);
        assert_eq!(both.organization.personal_domains, ["club.example"]);
        assert_eq!(both.lists.len(), 2);
        assert_eq!(
            both.sendmail.path.as_deref(),
            Some(Path::new("/usr/bin/msmtp"))
        );
        assert_eq!(
            both.sendmail.held_dir.as_deref(),
            Some(Path::new("/tmp/held"))
        );
        assert!(both.history.learn_on_send);
        // Rules are the project's alone.
        assert!(both.rules.contains_key("mass-list"));
        assert!(!both.rules.contains_key("cc-exposure"));
    }

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
    fn starter_config_parses() {
        let with = Config::parse(&starter(Some("example.ac.uk")).unwrap(), "m.toml").unwrap();
        assert_eq!(with.organization.domains, ["example.ac.uk"]);
        assert!(
            Config::parse(&starter(None).unwrap(), "m.toml")
                .unwrap()
                .organization
                .domains
                .is_empty()
        );
        // Uncommented, every example in it is valid too.
        let all = Config::parse(&crate::testing::uncommented_starter(), "m.toml").unwrap();
        assert_eq!(all.custom.len(), 1);
        assert_eq!(all.lists["all-staff@example.org"].members, Some(5400));
    }

    /// Every starter `init` writes loads back with the domain it was given;
    /// a name that is no domain is refused before anything is written.
    #[test]
    fn starter_loads_back_for_any_domain() {
        for domain in [
            "example.org",
            " @Example.ORG",
            "bücher.example",
            "xn--bcher-kva.example",
            "ex\"ample.org",
            "ex\\ample.org",
            "example.org\"]\n[bulk]\nalways = true\n#",
            "ex'ample.org",
            "exa mple.org",
            "example.org\u{0}",
            "example",
            "",
        ] {
            match starter(Some(domain)) {
                Ok(text) => {
                    let config = Config::parse(&text, "m.toml")
                        .unwrap_or_else(|e| panic!("{domain:?}: {e}\n{text}"));
                    assert_eq!(
                        config.organization.domains,
                        [domain_name(domain).unwrap()],
                        "{domain:?}"
                    );
                }
                Err(reason) => {
                    assert!(reason.contains("is not a domain name"), "{reason}");
                    assert!(domain_name(domain).is_err(), "{domain:?}");
                }
            }
        }
        assert!(starter(Some("ex\"ample.org")).is_err());
    }

    proptest::proptest! {
        #[test]
        fn starter_loads_back_or_is_refused(domain in "\\PC{0,24}") {
            if let Ok(text) = starter(Some(&domain)) {
                let config = Config::parse(&text, "m.toml").unwrap();
                proptest::prop_assert_eq!(config.organization.domains.len(), 1);
            }
        }
    }

    /// Errors found after parsing point at the value itself, not at the
    /// first line that mentions its key.
    #[test]
    fn late_errors_point_at_their_own_line() {
        let err = Config::parse(
            "[rules.personal-sender]\ndomains = []\n\n[organization]\ndomains = [\"not a domain\"]\n",
            "m.toml",
        )
        .unwrap_err();
        assert_eq!(err.line, Some(5), "{err}");
        let err = Config::parse(
            "[organization]\ndomains = [\n  \"example.org\",\n  \"me@example.org\",\n]\n",
            "m.toml",
        )
        .unwrap_err();
        assert_eq!(err.line, Some(4), "{err}");
        let err = Config::parse(
            "[organization]\npersonal_domains = [\"mail.example\"]\n# domains\ndomains = [\"x\"]\n",
            "m.toml",
        )
        .unwrap_err();
        assert_eq!(err.line, Some(4), "{err}");
        // A list address that appears earlier as an allowed sender.
        let err = Config::parse(
            "[lists.\"all@example.org\"]\nallowed_senders = [\"staff\"]\n\n[lists.'staff']\nmembers = 3\n",
            "m.toml",
        )
        .unwrap_err();
        assert_eq!(err.line, Some(4), "{err}");
        let err = Config::parse(
            "# staff\n[lists]\n\"all@example.org\" = { members = 3 }\nstaff = { members = 3 }\n",
            "m.toml",
        )
        .unwrap_err();
        assert_eq!(err.line, Some(4), "{err}");
        let names = (0..2000)
            .map(|i| format!("\"team-{i}-{}*\"", "x".repeat(100)))
            .collect::<Vec<_>>()
            .join(", ");
        let err = Config::parse(
            &format!("# mass_list_names\n[organization]\nmass_list_names = [{names}]\n"),
            "m.toml",
        )
        .unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
    }

    #[test]
    fn bulk_section() {
        let config = Config::parse("[bulk]\nalways = true\n", "m.toml").unwrap();
        assert!(config.bulk.always);
        assert!(!Config::default().bulk.always);
        let err = Config::parse("[bulk]\nalway = true\n", "m.toml").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
    }

    #[test]
    fn message_size_in_bytes_or_units() {
        let size = |v: &str| {
            Config::parse(&format!("[input]\nmax_message_size = {v}\n"), "m.toml")
                .map(|c| c.input.max_message_size)
        };
        assert_eq!(size("1048576"), Ok(1 << 20));
        assert_eq!(size("\"100MB\""), Ok(100 << 20));
        assert_eq!(size("\"512 KB\""), Ok(512 << 10));
        assert_eq!(size("\"1GiB\""), Ok(1 << 30));
        assert_eq!(size("\"2gb\""), Ok(2 << 30));
        assert_eq!(size("\"750\""), Ok(750));
        assert!(size("\"2049MB\"").is_err());
        assert!(size("\"MB\"").is_err());
        assert!(size("\"99999999999999999999GB\"").is_err());
        assert_eq!(
            Config::parse("", "m.toml").map(|c| c.input.max_message_size),
            Ok(crate::input::DEFAULT_MAX_MESSAGE_SIZE)
        );
    }

    #[test]
    fn syntax_errors_name_the_key_on_their_line() {
        assert_eq!(
            key_on_line("[rules.cc-exposure]\n# c\nwarning = \n", 3).as_deref(),
            Some("rules.cc-exposure.warning")
        );
        assert_eq!(key_on_line("a = [\n", 1).as_deref(), Some("a"));
        assert_eq!(
            key_on_line("[[custom]]\nid = \"x\n", 2).as_deref(),
            Some("custom.id")
        );
        assert_eq!(key_on_line("[rules.x\n", 1), None);
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

    /// A custom rule, shared with the CLI tests.
    const FALCON: &str = include_str!("../tests/data/falcon.toml");

    #[test]
    fn parses_custom_rules() {
        let config = Config::parse(FALCON, "m.toml").unwrap();
        let rule = &config.custom[0];
        assert_eq!(rule.id, "project-falcon");
        assert!(rule.pattern.is_match("about Project  Falcon"));
        assert_eq!(rule.fields, [CustomField::Subject, CustomField::Body]);
        assert_eq!(rule.when, When::External);
        assert_eq!(rule.severity, Severity::Error);
    }

    #[test]
    fn custom_rule_errors_are_located() {
        let bad_regex = FALCON.replace(r#"(?i)project\\s+falcon"#, "project(");
        let err = Config::parse(&bad_regex, "m.toml").unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
        assert!(
            err.message
                .starts_with("custom.pattern of `project-falcon`"),
            "{err}"
        );
        assert!(!err.to_string().contains('\n'), "{err}");

        let twice = format!("{FALCON}{FALCON}");
        assert!(
            Config::parse(&twice, "m.toml")
                .unwrap_err()
                .message
                .contains("already defined")
        );

        let bad_id = FALCON.replace("project-falcon", "Project_Falcon");
        assert!(
            Config::parse(&bad_id, "m.toml")
                .unwrap_err()
                .message
                .contains("kebab-case")
        );

        let bad_field = FALCON.replace(r#"["subject", "body"]"#, r#"["subject", "bodies"]"#);
        let err = Config::parse(&bad_field, "m.toml").unwrap_err();
        assert_eq!(err.line, Some(4), "{err}");

        let no_fields = FALCON.replace(r#"["subject", "body"]"#, "[]");
        assert!(
            Config::parse(&no_fields, "m.toml")
                .unwrap_err()
                .message
                .contains("at least one field")
        );
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
