//! The sender's history: a local index of past sent mail, kept by
//! `maillint learn` and read by the rules that catch a misdirected message
//! (new-recipient, name-mismatch, unusual-company).
//!
//! The index is an SQLite file (rusqlite with the bundled library, so no
//! system library is needed). SQLite rather than redb: in WAL mode many
//! readers (every `maillint check` and `maillint sendmail`) and one writer
//! (`maillint learn`) share the file at once, where redb's `Database` locks
//! its file for one process; SQLite is public domain and rusqlite MIT. The
//! price is compiling SQLite's C source once (see BENCHMARKS.md).
//!
//! Learning commits every `BATCH` messages (or every two seconds when
//! reading is slow) together with the keys of the messages learned and how
//! far into each file it has read, so an interrupted run loses at most one
//! batch and the next run goes on where it stopped, counting no message
//! twice; a later run skips the files (and the part of an mbox) read before
//! without parsing them again. Messages are parsed outside the write
//! transaction, which holds the lock only while a batch is written.
//!
//! One index may hold many senders' histories apart (a gateway's): every
//! entry belongs to a sender's key ([`sender_key`]), and a `History` is
//! the view of one sender (`History::for_sender`); the personal index of
//! `maillint learn` is the sender with the empty key.
//!
//! Gateways that share their history each keep an index of their own and
//! send each other what they learn and forget (shared.rs: the records;
//! the gateway carries them through Redis).
//!
//! This file is what the rules read through ([`Recall`], [`Known`]) and
//! needs no SQLite; the index (`History`, in index.rs, with its layout in
//! schema.rs) and learning (learn.rs) are the `history` feature. Without it
//! nothing implements [`Recall`], the linter has no index to give the
//! rules, and the history rules stay silent as they do for a user who never
//! ran `maillint learn`.

#[cfg(feature = "history")]
mod index;
#[cfg(feature = "history")]
mod learn;
#[cfg(feature = "history")]
mod schema;
#[cfg(feature = "history")]
mod shared;

#[cfg(feature = "history")]
use index::{BATCH, ordered};
#[cfg(feature = "history")]
pub use index::{History, HistoryError};
#[cfg(feature = "history")]
pub use learn::{
    Forget, Kept, LearnSummary, Learned, Record, Whose, held_waiting, keep_for_later, keep_held,
    learn, learn_journal, learn_message, learn_or_forget, learn_or_keep, learn_record_or_keep,
    learn_records_or_keep, learn_sent, open_to_learn, settle_held,
};
#[cfg(feature = "history")]
pub use shared::{Applied, Shared};

use crate::config::Config;
use std::path::PathBuf;

/// What the history rules ask of the sender's past mail. A lookup that
/// fails (a damaged file) answers as if nothing were known: the rules then
/// stay silent rather than guess.
pub trait Recall: Sync {
    /// How often `addr` was written to, and under which name most often.
    fn known(&self, addr: &str) -> Option<Known>;

    /// Messages sent to any address at `domain`.
    fn domain_count(&self, domain: &str) -> u64;

    /// The addresses written to under this display name (see
    /// [`name_key`]), most often first.
    fn named(&self, name: &str) -> Vec<Known>;

    /// The addresses with this local part (at other domains), most often
    /// first.
    fn with_local_part(&self, local: &str) -> Vec<Known>;

    /// Messages that went to both addresses.
    fn together(&self, a: &str, b: &str) -> u64;

    /// The addresses ever written to together with `addr`.
    fn companions(&self, addr: &str) -> Vec<String>;

    /// Whether `stored`, an address as a lookup returned it (a keyed hash
    /// in a hashed index), is `addr`.
    fn is_address(&self, stored: &str, addr: &str) -> bool;

    /// In a hashed index, which keeps no name as written: the keyed
    /// hashes of the [`name_tokens`] of the name `addr` was most often
    /// written with. Empty in clear (`known` gives the name itself) and
    /// for an address never written with a name.
    fn name_hashes(&self, addr: &str) -> Vec<String>;

    /// A token as [`name_hashes`](Self::name_hashes) keeps it: its keyed
    /// hash in a hashed index.
    fn hashed(&self, token: &str) -> String;
}

/// Messages with more distinct recipients than this teach no circles: a
/// large send says little about who belongs together, and its pairs would
/// grow as the square of its recipients.
pub const MAX_CIRCLE: usize = 20;

/// What the index knows of one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub addr: String,
    /// Messages sent to it.
    pub count: u64,
    /// The date (Unix seconds) of the last of them, when known.
    pub last: Option<i64>,
    /// The display name most often written with it, as written.
    pub name: Option<String>,
}

/// `$XDG_DATA_HOME/maillint/history.sqlite`, else
/// `~/.local/share/maillint/history.sqlite`.
pub fn default_index_path() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("maillint").join("history.sqlite"))
}

/// The index the configuration names, else the default one.
pub fn index_path(config: &Config) -> Option<PathBuf> {
    config.history.index.clone().or_else(default_index_path)
}

/// An address as the index keys it: lowercased whole (mail systems treat
/// local parts case-insensitively in practice, and people type them
/// either way).
pub fn address_key(addr: &str) -> String {
    addr.trim().to_lowercase()
}

/// A display name as the index keys it: its words lowercased and sorted,
/// so "Smith, Jane" and "jane smith" are one name. `None` for names that
/// say nothing about a person: empty, an address, or a single word
/// (first names are shared by too many people to tell anyone apart).
pub fn name_key(name: &str) -> Option<String> {
    if name.contains('@') {
        return None;
    }
    let mut words: Vec<String> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.len() < 2 {
        return None;
    }
    words.sort_unstable();
    Some(words.join(" "))
}

/// Lower case without accents: `Hélène` is `helene`. How names are
/// compared (salutation-mismatch) and how a hashed index keeps their words.
pub fn fold(word: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    word.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The words of a display name, folded (see [`fold`]): what a greeting's
/// name is compared with.
pub fn name_words(name: &str) -> impl Iterator<Item = String> + '_ {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(fold)
}

/// What a hashed index keeps of a display name (as keyed hashes) so that a
/// greeting can be compared with it without the name: each word with a
/// letter in it, folded (`christopher`); each word's beginnings of three
/// letters or more, marked `<` (`<chr`, `<chri`, ...: "Chris" is short for
/// it); and the word where a first name stands when it is an initial,
/// marked `^` (`^j` for `J. Smith` and `Smith, J.`). Nothing for a name
/// that tells no person (see [`name_key`]).
pub fn name_tokens(name: &str) -> Vec<String> {
    if name_key(name).is_none() {
        return Vec::new();
    }
    let mut tokens: Vec<String> = Vec::new();
    for word in name_words(name).filter(|w| w.chars().any(char::is_alphabetic)) {
        let ends: Vec<usize> = word.char_indices().map(|(i, _)| i).skip(3).collect();
        tokens.extend(ends.iter().map(|&end| format!("<{}", &word[..end])));
        tokens.push(word);
    }
    let given = name.split_once(',').map_or(name, |(_, given)| given);
    if let Some(first) = name_words(given).next().filter(|w| w.chars().count() == 1) {
        tokens.push(format!("^{first}"));
    }
    tokens.sort_unstable();
    tokens.dedup();
    tokens
}

/// The key a gateway keeps a sender's history under: the SMTP login
/// (`{auth_authen}`) when the sender logged in, else the envelope sender
/// address, lowercased (`MAIL FROM:<Alice@Example.org>` is
/// `alice@example.org`). A login is marked as one, so that a login that
/// looks like an address is never another sender's address.
pub fn sender_key(login: Option<&str>, sender: &str) -> String {
    match login.map(str::trim).filter(|l| !l.is_empty()) {
        Some(login) => format!("login:{}", login.to_lowercase()),
        None => address_key(sender.trim_start_matches('<').trim_end_matches('>')),
    }
}

/// Whether a stored value is a keyed hash (see `History::stored`).
fn is_hash(value: &str) -> bool {
    value.len() == 34
        && value.starts_with("h:")
        && value[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The key in `[history] hash_key_file`, if set: 32 hexadecimal digits
/// (128 bits; `openssl rand -hex 16` makes one).
pub fn hash_key(config: &Config) -> Result<Option<[u8; 16]>, String> {
    let Some(file) = &config.history.hash_key_file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("hash_key_file {}: {e}", file.display()))?;
    let hex = text.trim();
    let key = u128::from_str_radix(hex, 16)
        .ok()
        .filter(|_| hex.len() == 32)
        .ok_or_else(|| {
            format!(
                "hash_key_file {}: not 32 hexadecimal digits",
                file.display()
            )
        })?;
    Ok(Some(key.to_be_bytes()))
}

/// `2026-03-02`: the day (UTC) of a Unix time.
pub fn day(time: i64) -> String {
    let t = mail_parser::DateTime::from_timestamp(time);
    format!("{:04}-{:02}-{:02}", t.year, t.month, t.day)
}

impl Known {
    /// `Jane Smith <jane@agency.gov>` (with the name most recently written
    /// for it), or the bare address.
    pub fn mailbox(&self) -> String {
        match &self.name {
            Some(name) if name.contains([',', ';', ':', '<', '>', '@', '"']) => {
                format!("\"{}\" <{}>", name.replace('"', ""), self.addr)
            }
            Some(name) => format!("{name} <{}>", self.addr),
            None => self.addr.clone(),
        }
    }

    /// Whether the address is a keyed hash (a hashed index's, see
    /// `History::with_hash_key`), which cannot be shown.
    pub fn is_hidden(&self) -> bool {
        is_hash(&self.addr)
    }

    /// `41 times`, `once`.
    pub fn times(&self) -> String {
        match self.count {
            1 => "once".to_string(),
            2 => "twice".to_string(),
            n => format!("{} times", crate::numbers::thousands(n)),
        }
    }

    /// `41 times, last on 2026-03-02`; without the date when it is not
    /// known (an index learned before dates were kept).
    pub fn times_and_when(&self) -> String {
        match self.last {
            Some(last) => format!("{}, last on {}", self.times(), day(last)),
            None => self.times(),
        }
    }
}
