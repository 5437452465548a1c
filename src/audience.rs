//! Who a message reaches: each unique recipient classified once, against the
//! organisation, the configured lists and the personal-mailbox providers.
//!
//! Built once per message before any rule runs; every per-recipient lookup
//! is a hash lookup, and domains are classified once each, so the work is
//! linear in the number of recipients.

use crate::config::{Config, ListConfig};
use crate::message::{Address, Message};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// Mailbox providers where every address is a different person: for them the
/// whole address, not the domain, is one party. Matched on the registrable
/// domain; the brands in [`PERSONAL_BRANDS`] match under any suffix.
const PERSONAL_DOMAINS: &[&str] = &[
    "gmail.com", "googlemail.com", "icloud.com", "me.com", "mac.com", "aol.com", "aol.co.uk",
    "aim.com", "msn.com", "btinternet.com", "btopenworld.com", "sky.com", "virginmedia.com",
    "talktalk.net", "ntlworld.com", "blueyonder.co.uk", "tiscali.co.uk", "gmx.com", "gmx.net",
    "gmx.de", "web.de", "t-online.de", "freenet.de", "mail.ru", "yandex.ru", "yandex.com",
    "ya.ru", "protonmail.com", "protonmail.ch", "proton.me", "pm.me", "tutanota.com",
    "tuta.io", "zoho.com", "fastmail.com", "fastmail.fm", "hey.com", "mail.com", "qq.com",
    "163.com", "126.com", "sina.com", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net",
    "sfr.fr", "libero.it", "virgilio.it", "seznam.cz", "wp.pl", "o2.pl", "onet.pl",
    "interia.pl", "naver.com", "hanmail.net", "daum.net", "comcast.net", "verizon.net",
    "att.net", "sbcglobal.net", "bellsouth.net", "cox.net", "earthlink.net", "charter.net",
    "shaw.ca", "rogers.com", "sympatico.ca", "bigpond.com", "optusnet.com.au", "xtra.co.nz",
    "ymail.com", "rocketmail.com", "rediffmail.com", "uol.com.br", "bol.com.br", "terra.com.br",
];

/// Providers that register the same brand under many country suffixes
/// (`hotmail.co.uk`, `yahoo.fr`, `outlook.de`, ...).
const PERSONAL_BRANDS: &[&str] = &["hotmail", "outlook", "live", "yahoo", "windowslive"];

/// Built-in everyone-style list names; `*` matches any run of characters.
const MASS_LIST_NAMES: &[&str] = &[
    "all", "all-*", "all.*", "all_*", "*-all", "*.all", "*_all", "allstaff", "allusers",
    "allstudents", "allemployees", "everyone", "everyone-*", "*-everyone", "everybody",
    "wholeschool", "whole-school", "whole.school",
];

/// Why a recipient is an everyone-style list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MassReason {
    /// A configured list with this many members, or marked `mass = true`.
    Configured { members: Option<u64> },
    /// The local part matches this everyone-style name.
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MassList {
    pub reason: MassReason,
    /// The sender is one of the list's `allowed_senders`.
    pub sender_allowed: bool,
}

/// One distinct mailbox among the recipients.
#[derive(Debug, Clone)]
pub struct Recipient<'m> {
    /// Its first occurrence in To/Cc/Bcc/Resent-*.
    pub first: &'m Address,
    /// Its first occurrence in a header every recipient sees (To, Cc).
    pub visible: Option<&'m Address>,
    /// Outside the organisation.
    pub external: bool,
    /// One of the sender's own addresses (From, Sender, Reply-To).
    pub own: bool,
    /// Recipients with the same party id belong together: one organisation,
    /// or one person at a personal-mailbox provider.
    pub party: usize,
    /// The configured list, if the address is one.
    pub list: Option<&'m ListConfig>,
    pub mass: Option<MassList>,
}

impl Recipient<'_> {
    /// How many people this address reaches: its configured member count,
    /// or one.
    pub fn reach(&self) -> u64 {
        self.list.and_then(|l| l.members).unwrap_or(1).max(1)
    }
}

#[derive(Debug)]
pub struct Audience<'m> {
    /// Distinct recipients in order of first appearance.
    pub recipients: Vec<Recipient<'m>>,
    /// The organisation's domains in force: configured, or the sender's
    /// registrable domain.
    pub org_domains: Vec<String>,
}

#[derive(Clone, Copy)]
struct DomainClass {
    external: bool,
    personal: bool,
    party: usize,
}

impl<'m> Audience<'m> {
    pub fn new(msg: &'m Message, config: &'m Config) -> Self {
        let org_domains = if config.organization.domains.is_empty() {
            msg.sender()
                .and_then(|a| a.domain())
                .map(|d| d.to_ascii_lowercase())
                .filter(|d| !is_personal(d, config))
                .and_then(|d| registrable(&d).map(str::to_string))
                .into_iter()
                .collect()
        } else {
            config.organization.domains.clone()
        };
        let own: HashSet<String> = msg
            .addresses
            .iter()
            .filter(|a| !a.field.is_recipient() && !a.addr.is_empty())
            .map(|a| mailbox_key(&a.addr).into_owned())
            .collect();
        let sender = msg.sender().map(|a| a.addr.to_ascii_lowercase());
        let mass_names = MassNames::new(config);

        let mut domains: HashMap<String, DomainClass> = HashMap::new();
        let mut parties: HashMap<String, usize> = HashMap::new();
        let mut seen: HashMap<Cow<'m, str>, usize> = HashMap::new();
        let mut recipients: Vec<Recipient<'m>> = Vec::new();

        for addr in msg.recipients() {
            if addr.addr.is_empty() {
                continue;
            }
            let key = mailbox_key(&addr.addr);
            if let Some(&i) = seen.get(&key) {
                let r = &mut recipients[i];
                if r.visible.is_none() && addr.field.is_visible() {
                    r.visible = Some(addr);
                }
                continue;
            }
            let domain = addr.domain().unwrap_or("").to_ascii_lowercase();
            let class = match domains.get(&domain) {
                Some(c) => *c,
                None => {
                    let personal = is_personal(&domain, config);
                    let external = !is_internal(&domain, &org_domains);
                    let party_key = registrable(&domain).unwrap_or(&domain).to_string();
                    let next = parties.len();
                    let party = *parties.entry(party_key).or_insert(next);
                    let c = DomainClass {
                        external,
                        personal,
                        party,
                    };
                    domains.insert(domain, c);
                    c
                }
            };
            let party = if class.personal {
                let next = parties.len();
                *parties.entry(key.to_string()).or_insert(next)
            } else {
                class.party
            };
            let list = config.lists.get(key.as_ref());
            let mass = mass_reason(list, addr.local_part(), &mass_names).map(|reason| MassList {
                reason,
                sender_allowed: match (list, &sender) {
                    (Some(l), Some(s)) => l.allowed_senders.iter().any(|a| a == s),
                    _ => false,
                },
            });
            recipients.push(Recipient {
                first: addr,
                visible: addr.field.is_visible().then_some(addr),
                external: class.external,
                own: own.contains(key.as_ref()),
                party,
                list,
                mass,
            });
            seen.insert(key, recipients.len() - 1);
        }
        Audience {
            recipients,
            org_domains,
        }
    }

    /// Everyone-style lists the sender is not allowed to write to.
    pub fn unapproved_mass_lists(&self) -> impl Iterator<Item = (&Recipient<'m>, &MassList)> {
        self.recipients
            .iter()
            .filter_map(|r| r.mass.as_ref().filter(|m| !m.sender_allowed).map(|m| (r, m)))
    }
}

/// The identity of a mailbox: local part as written, domain lowercased
/// (local parts may be case-sensitive; domains never are). Borrowed when the
/// address is already in that form, which is the usual case.
pub fn mailbox_key(addr: &str) -> Cow<'_, str> {
    match addr.rsplit_once('@') {
        Some((local, domain)) if domain.bytes().any(|b| b.is_ascii_uppercase()) => {
            Cow::Owned(format!("{local}@{}", domain.to_ascii_lowercase()))
        }
        _ => Cow::Borrowed(addr),
    }
}

/// The registrable domain (`eu.partner.example.com` -> `example.com`) by the
/// public suffix list.
pub fn registrable(domain: &str) -> Option<&str> {
    psl::domain_str(domain)
}

pub fn is_internal(domain: &str, org_domains: &[String]) -> bool {
    org_domains.iter().any(|org| {
        domain == org
            || (domain.len() > org.len()
                && domain.ends_with(org.as_str())
                && domain.as_bytes()[domain.len() - org.len() - 1] == b'.')
    })
}

pub fn is_personal(domain: &str, config: &Config) -> bool {
    let reg = registrable(domain).unwrap_or(domain);
    PERSONAL_DOMAINS.contains(&reg)
        || config.organization.personal_domains.iter().any(|d| d == reg || d == domain)
        || reg
            .split('.')
            .next()
            .is_some_and(|brand| PERSONAL_BRANDS.contains(&brand))
}

/// Built-in and configured everyone-style names, split by kind so that a
/// lookup is a hash probe plus a scan of the few wildcard patterns.
struct MassNames {
    exact: HashSet<String>,
    patterns: Vec<String>,
}

impl MassNames {
    fn new(config: &Config) -> Self {
        let mut exact = HashSet::new();
        let mut patterns = Vec::new();
        let configured = config.organization.mass_list_names.iter().map(String::as_str);
        for name in MASS_LIST_NAMES.iter().copied().chain(configured) {
            if name.contains('*') {
                patterns.push(name.to_string());
            } else {
                exact.insert(name.to_string());
            }
        }
        MassNames { exact, patterns }
    }

    fn find(&self, local_part: &str) -> Option<&str> {
        // No list name is this long; bounds the wildcard scan on hostile input.
        if local_part.len() > 128 {
            return None;
        }
        let local = local_part.to_ascii_lowercase();
        if let Some(name) = self.exact.get(&local) {
            return Some(name);
        }
        self.patterns
            .iter()
            .find(|p| wildcard_match(p, &local))
            .map(String::as_str)
    }
}

fn mass_reason(list: Option<&ListConfig>, local_part: &str, names: &MassNames) -> Option<MassReason> {
    if let Some(list) = list {
        if list.mass || list.members.is_some_and(|m| m >= MASS_LIST_MEMBERS) {
            return Some(MassReason::Configured {
                members: list.members,
            });
        }
        // A configured list below the threshold is known not to be one,
        // whatever its name says.
        return None;
    }
    names.find(local_part).map(|n| MassReason::Named(n.to_string()))
}

/// A configured list with at least this many members is everyone-style.
pub const MASS_LIST_MEMBERS: u64 = 500;

/// `*` matches any run of characters, at least one; everything else is literal.
/// Hand-written because the patterns are a handful of short names and a
/// glob crate would bring path semantics that do not apply to local parts.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, rest)) => {
            if !text.starts_with(prefix) {
                return false;
            }
            let text = &text[prefix.len()..];
            (1..=text.len())
                .filter(|&i| text.is_char_boundary(i))
                .any(|i| wildcard_match(rest, &text[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("all-*", "all-students"));
        assert!(!wildcard_match("all-*", "all-"));
        assert!(wildcard_match("*-all", "sales-all"));
        assert!(!wildcard_match("*-all", "install"));
        assert!(!wildcard_match("all", "allison"));
    }

    #[test]
    fn personal_providers() {
        let config = Config::default();
        for d in ["gmail.com", "hotmail.co.uk", "yahoo.fr", "outlook.com", "btinternet.com"] {
            assert!(is_personal(d, &config), "{d}");
        }
        for d in ["example.com", "nhs.net", "hotmailer.example"] {
            assert!(!is_personal(d, &config), "{d}");
        }
    }

    #[test]
    fn internal_domains_include_subdomains() {
        let org = vec!["example.ac.uk".to_string()];
        assert!(is_internal("example.ac.uk", &org));
        assert!(is_internal("mail.example.ac.uk", &org));
        assert!(!is_internal("badexample.ac.uk", &org));
        assert!(!is_internal("example.com", &org));
    }

    #[test]
    fn mailbox_key_lowercases_only_the_domain() {
        assert_eq!(mailbox_key("Bob@Example.COM"), "Bob@example.com");
        assert!(matches!(mailbox_key("bob@example.com"), Cow::Borrowed(_)));
    }
}
