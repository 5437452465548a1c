use super::shared::{Capped, domain_problem};
use super::{Context, Rule, declare_rule, plural};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::message::{Address, Field};
use rayon::prelude::*;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

declare_rule! {
    /// ## What it checks
    /// Entries in To, Cc, Bcc and Resent-To/Cc/Bcc that cannot be delivered
    /// as written, and the same in From, Sender and Reply-To (the finding
    /// says which header, and for Reply-To that replies would bounce):
    ///
    /// - no `@` (`mrs.khan.hotmail.co.uk`), more than one (`j.doe@@example.com`),
    ///   or a space (`john doe@example.com`, or two addresses without a comma);
    /// - nothing before or after the `@`;
    /// - a dot at the start or end of the part before the `@`, or two dots in
    ///   a row, in it or in the domain (`a@b..com`);
    /// - a domain without a dot (`parent.smith@example`), a top-level domain
    ///   that is a number, a character no domain may hold (`_`, `,`, ...), a
    ///   label starting or ending with `-`, an invalid internationalised
    ///   (IDNA) domain, or a domain longer than 253 characters;
    /// - a part before the `@` longer than 64 characters;
    /// - an entry that is only a name (`John Smith`, no address) or an empty
    ///   `<>`.
    ///
    /// A quoted part before the `@` (`"john doe"@example.com`) and a domain
    /// literal (`a@[192.0.2.1]`) are valid. Each invalid entry is reported
    /// once, on its own line; past 20 the rest are summed up in one finding.
    ///
    /// ## Why it matters
    /// A county's school mail servers were blacklisted by Hotmail after a
    /// flood of spam; the advice that followed told staff to keep their
    /// distribution lists up to date, because sending to many invalid
    /// addresses "can be interpreted as a SPAM attack". A mistyped address
    /// also simply never arrives, and its recipient never knows.
    ///
    /// ## Example
    /// ```text
    /// Bcc: Giulia Smith <giulia.smith77@yahoo.co.uk>, parent.smith@example,
    ///  j.doe@@example.com, mrs.khan.hotmail.co.uk
    /// ```
    ///
    /// ## How to fix
    /// Correct each address, or remove it, and clean the list it came from.
    /// A name needs its address in angle brackets: `John Smith <john@example.com>`.
    ///
    /// ## Options
    /// ```toml
    /// [rules.invalid-address]
    /// max_reported = 20     # invalid entries reported one by one; the rest in one summary
    /// check_sender = true   # also check From, Sender and Reply-To
    /// ```
    id: "invalid-address",
    severity: Error,
    summary: "An address cannot be delivered as written (no @, two @, bad domain, only a name, ...)",
    build: InvalidAddress::build,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct InvalidAddress {
    max_reported: usize,
    check_sender: bool,
}

impl Default for InvalidAddress {
    fn default() -> Self {
        InvalidAddress {
            max_reported: 20,
            check_sender: true,
        }
    }
}

impl InvalidAddress {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let rule: InvalidAddress = settings.options()?;
        if rule.max_reported == 0 {
            return Err(OptionError::new("max_reported", "must be at least 1"));
        }
        Ok(Box::new(rule))
    }
}

impl Rule for InvalidAddress {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let msg = cx.message;
        let checked = |address: &Address<'_>| self.check_sender || address.field.is_recipient();
        // The entries with a problem, found a chunk at a time (on every
        // core for a long list), each chunk checking each of its domains
        // once: a big list repeats a few domains.
        let find = |chunk: usize| -> Vec<u32> {
            let mut domains = Domains::default();
            let end = msg.addresses().len().min((chunk + 1) * CHUNK);
            (chunk * CHUNK..end)
                .filter(|&i| {
                    msg.address(i).is_some_and(|address| {
                        checked(&address) && entry_problem(address, &mut domains).is_some()
                    })
                })
                // Fewer than 2^32 addresses fit in a message maillint reads.
                .map(|i| i as u32)
                .collect()
        };
        let chunks = msg.addresses().len().div_ceil(CHUNK);
        let invalid: Vec<u32> = if chunks > 1 {
            (0..chunks).into_par_iter().flat_map_iter(find).collect()
        } else {
            (0..chunks).flat_map(find).collect()
        };
        // Described and reported in order.
        let mut domains = Domains::default();
        let mut reported: HashSet<(&str, Option<&str>), foldhash::fast::RandomState> =
            HashSet::default();
        let mut capped = Capped::new(self.max_reported);
        for address in invalid.iter().filter_map(|&i| msg.address(i as usize)) {
            let Some(problem) = entry_problem(address, &mut domains) else {
                continue;
            };
            if !reported.insert((address.addr, address.name)) {
                continue;
            }
            let location = Location::header(address.field.header_name(), address.line);
            capped.push(out, location, |location| {
                let message = format!(
                    "{} {}{}",
                    problem.subject(address),
                    problem.reason,
                    consequence(address.field)
                );
                Diagnostic::new(Severity::Error, message, location).help(problem.help)
            });
        }
        capped.finish(out, |n, location| {
            Diagnostic::new(
                Severity::Error,
                format!(
                    "and {}",
                    plural(n, "more invalid address", "more invalid addresses")
                ),
                location,
            )
            .help("clean the list these addresses came from: sending to many invalid addresses looks like spam to the receiving servers")
        });
    }
}

/// Addresses checked together: a large message's are checked on every core.
const CHUNK: usize = 16 * 1024;

/// The problem with each domain checked so far.
type Domains<'m> = HashMap<&'m str, Option<String>, foldhash::fast::RandomState>;

fn consequence(field: Field) -> &'static str {
    match field {
        Field::ReplyTo => " (replies to this message would bounce)",
        Field::From | Field::Sender => {
            " (the sender's own address: receiving servers may reject the message)"
        }
        _ => "",
    }
}

/// What is wrong with one entry.
struct Problem {
    reason: String,
    help: &'static str,
    /// The entry was only a name, or `<>`: it has no address to show.
    no_address: bool,
}

impl Problem {
    fn new(reason: impl Into<String>) -> Self {
        Problem {
            reason: reason.into(),
            help: "correct the address or remove it",
            no_address: false,
        }
    }

    /// "Bcc address `x`" or "Bcc entry `John Smith`".
    fn subject(&self, address: Address<'_>) -> String {
        let header = address.field.header_name();
        if self.no_address {
            match &address.name {
                Some(name) => format!("{header} entry `{}`", shorten(name)),
                None => format!("{header} entry `<>`"),
            }
        } else {
            format!("{header} address `{}`", shorten(address.addr))
        }
    }
}

/// Long junk is cut for display: the line number locates the rest.
fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

fn entry_problem<'m>(address: Address<'m>, domains: &mut Domains<'m>) -> Option<Problem> {
    let addr = address.addr;
    if addr.is_empty() {
        return Some(name_only_problem(address.name));
    }
    let (local, domain) = match split(addr) {
        Ok(parts) => parts,
        Err(reason) => return Some(Problem::new(reason)),
    };
    if let Some(reason) = local_part_problem(local) {
        return Some(Problem::new(reason));
    }
    let reason = domains
        .entry(domain)
        .or_insert_with(|| domain_problem(domain))
        .clone()?;
    Some(Problem::new(reason))
}

fn name_only_problem(name: Option<&str>) -> Problem {
    let (reason, help) = match name {
        None => (
            "is empty: it has no address".to_string(),
            "remove the empty entry, or put the address between the angle brackets",
        ),
        // Archives write `bob at example.com`; some people do too.
        Some(name) if has_at_word(name) => (
            "has ` at ` instead of @: it is not an address".to_string(),
            "write the address with its @, e.g. `name@example.com`",
        ),
        // Someone's address with the @ lost: `mrs.khan.hotmail.co.uk`.
        Some(name) if !name.contains(char::is_whitespace) && name.contains('.') => (
            "has no @: it is not an address".to_string(),
            "write the address with its @, e.g. `name@example.com`",
        ),
        Some(_) => (
            "is only a name, with no address".to_string(),
            "add the address in angle brackets after the name: `John Smith <john@example.com>`",
        ),
    };
    Problem {
        reason,
        help,
        no_address: true,
    }
}

/// `bob at example.com`: a word, ` at `, then a word with a dot.
fn has_at_word(name: &str) -> bool {
    let mut words = name.split_whitespace();
    let mut previous = None;
    while let Some(word) = words.next() {
        if word.eq_ignore_ascii_case("at") && previous.is_some() {
            return words.next().is_some_and(|d| {
                let d = d.trim_end_matches([',', ')', '>']);
                d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
            });
        }
        previous = Some(word);
    }
    false
}

/// Splits an addr-spec into local part and domain, or says why it cannot.
fn split(addr: &str) -> Result<(&str, &str), String> {
    let quoted = addr.starts_with('"');
    let (local, rest) = if quoted {
        // A quoted local part may hold spaces and @ signs.
        let close = closing_quote(addr).ok_or("has an unclosed quote")?;
        addr.split_at(close + 1)
    } else {
        if has_whitespace(addr) {
            return Err(if addr.matches('@').count() > 1 {
                "contains a space: two addresses without a comma between them?".into()
            } else {
                "contains a space".into()
            });
        }
        // memchr's search, as for the one below: the standard library's
        // costs several times as much on strings this short.
        match memchr::memchr(b'@', addr.as_bytes()) {
            Some(at) => addr.split_at(at),
            None => return Err("has no @".into()),
        }
    };
    let Some(domain) = rest.strip_prefix('@') else {
        return Err(if rest.is_empty() {
            "has no @".into()
        } else {
            "has text between the quoted part and the @".into()
        });
    };
    if memchr::memchr(b'@', domain.as_bytes()).is_some() {
        return Err("has more than one @".into());
    }
    // Unquoted, the whole address was looked at already.
    if quoted && has_whitespace(domain) {
        return Err("contains a space".into());
    }
    Ok((local, domain))
}

/// `s.contains(char::is_whitespace)`, first by a vectorised look at every
/// byte (this runs for each of a million addresses, nearly all ASCII with
/// no byte as low as a space).
fn has_whitespace(s: &str) -> bool {
    let (low, high) = s.as_bytes().iter().fold((false, false), |(low, high), &b| {
        (low | (b <= b' '), high | !b.is_ascii())
    });
    if high {
        s.contains(char::is_whitespace)
    } else {
        // The ASCII characters `char::is_whitespace` accepts.
        low && s.bytes().any(|b| matches!(b, b'\t'..=b'\r' | b' '))
    }
}

/// Byte index of the quote closing the quoted string `s` starts with.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// RFC 5321's limit on the part before the @.
const MAX_LOCAL_PART: usize = 64;

fn local_part_problem(local: &str) -> Option<String> {
    if local.is_empty() || local == "\"\"" {
        return Some("has nothing before the @".into());
    }
    if local.len() > MAX_LOCAL_PART {
        return Some(format!(
            "has {} characters before the @ (the limit is {MAX_LOCAL_PART})",
            local.len()
        ));
    }
    if local.starts_with('"') {
        return None;
    }
    if local.starts_with('.') {
        return Some("starts with a dot".into());
    }
    if local.ends_with('.') {
        return Some("has a dot just before the @".into());
    }
    if local.as_bytes().windows(2).any(|pair| pair == b"..") {
        return Some("has two dots in a row before the @".into());
    }
    // RFC 5322 specials: not allowed in an unquoted local part. Non-ASCII
    // letters are fine (RFC 6531).
    let special = |c: &char| {
        matches!(
            c,
            '(' | ')' | '<' | '>' | '[' | ']' | ':' | ';' | ',' | '\\' | '"'
        ) || c.is_control()
    };
    // Bytes are characters in an ASCII local part, and cheaper to walk.
    let found = if local.is_ascii() {
        local.bytes().map(char::from).find(special)
    } else {
        local.chars().find(special)
    };
    if let Some(c) = found {
        return Some(format!(
            "has `{}` before the @, which is not allowed there",
            c.escape_default()
        ));
    }
    None
}

#[cfg(test)]
mod tests {

    #[test]
    fn documented_options_are_the_defaults() {
        assert_eq!(
            crate::testing::documented_options::<super::InvalidAddress>(&super::RULE),
            super::InvalidAddress::default()
        );
    }
    use super::*;
    use crate::testing::{check_rule, check_rule_with, eml, option_error_key};

    fn reason(addr: &str) -> Option<String> {
        let address = Address {
            name: None,
            addr,
            field: Field::To,
            line: None,
            group: None,
        };
        let mut domains = HashMap::default();
        entry_problem(address, &mut domains).map(|p| p.reason)
    }

    #[test]
    fn invalid_addresses_and_why() {
        for (addr, why) in [
            ("j.doe@@example.com", "more than one @"),
            ("parent.smith@example", "no top-level domain"),
            ("a@b..com", "two dots in a row"),
            ("john doe@example.com", "contains a space"),
            ("a@b.com c@d.com", "without a comma"),
            ("noatsign.example.com", "no @"),
            ("@example.com", "nothing before the @"),
            ("\"\"@example.com", "nothing before the @"),
            ("bob@", "nothing after the @"),
            (".bob@example.com", "starts with a dot"),
            ("bob.@example.com", "dot just before the @"),
            ("bo..b@example.com", "two dots in a row before"),
            ("bob@.example.com", "dot just after the @"),
            ("bob@example.com.", "ends with a dot"),
            ("bob@192.168.0.1", "number as its top-level domain"),
            ("bob@example.123", "number as its top-level domain"),
            ("bob@exa_mple.com", "`_`"),
            ("bob@-example.com", "starts or ends with `-`"),
            ("bob@xn--zz.com", "invalid internationalised"),
            ("bo(b@example.com", "`(`"),
            ("\"unclosed@example.com", "unclosed quote"),
        ] {
            let got = reason(addr);
            assert!(
                got.as_deref().is_some_and(|r| r.contains(why)),
                "{addr}: {got:?}, expected {why:?}"
            );
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(reason(&long_local).unwrap().contains("65 characters"));
        let long_domain = format!("a@{}.com", ["abcdefghij"; 25].join("."));
        assert!(
            reason(&long_domain)
                .unwrap()
                .contains("characters (the limit is 253)")
        );
    }

    #[test]
    fn valid_addresses() {
        for addr in [
            "bob@example.com",
            "Bob.Smith+tag@mail.example.co.uk",
            "\"john doe\"@example.com",
            "\"a@b\"@example.com",
            "o'brien@example.ie",
            "x@[192.0.2.1]",
            "josé@exämple.com",
            "bob@xn--exmple-cua.com",
            "user_name@example.com",
            "a@b.co",
            "a@123.example.com",
        ] {
            assert_eq!(reason(addr), None, "{addr}");
        }
        let max_local = format!("{}@example.com", "a".repeat(64));
        assert_eq!(reason(&max_local), None);
    }

    #[test]
    fn school_list_reports_each_bad_entry_on_its_line() {
        let msg = eml(concat!(
            "From: Teacher <teacher@school.example.sch.uk>\n",
            "To: teacher@school.example.sch.uk\n",
            "Bcc: Giulia Smith <giulia@example.com>, parent.smith@example,\n",
            " j.doe@@example.com,\n",
            " Mr Patel <patel@example.org>, mrs.khan.hotmail.co.uk\n",
            "\n",
            "Trip on Thursday.\n"
        ));
        let f = check_rule("invalid-address", &msg);
        let got: Vec<_> = f
            .iter()
            .map(|f| (f.message.as_str(), f.location.line))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "Bcc address `parent.smith@example` has no top-level domain: `example` has no dot (like `example.com`)",
                    Some(3)
                ),
                (
                    "Bcc address `j.doe@@example.com` has more than one @",
                    Some(4)
                ),
                (
                    "Bcc entry `mrs.khan.hotmail.co.uk` has no @: it is not an address",
                    Some(5)
                ),
            ]
        );
        assert!(f.iter().all(|f| f.severity == Severity::Error));
        assert_eq!(f[0].location.header.as_deref(), Some("Bcc"));
    }

    #[test]
    fn names_without_addresses_and_empty_entries() {
        let msg = eml("From: a@example.com\nTo: John Smith, b@example.com, <>\n\nx\n");
        let f = check_rule("invalid-address", &msg);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(
            f[0].message,
            "To entry `John Smith` is only a name, with no address"
        );
        assert_eq!(f[1].message, "To entry `<>` is empty: it has no address");
        let alone = eml("From: a@example.com\nCc: <>\n\nx\n");
        assert_eq!(check_rule("invalid-address", &alone).len(), 1);
        let archived = eml("From: bob at example.com (Bob)\nTo: list@example.org\n\nx\n");
        let f = check_rule("invalid-address", &archived);
        assert!(
            f[0].message.contains("has ` at ` instead of @"),
            "{}",
            f[0].message
        );
        let comment = eml("From: a@example.com\nTo: team: (nobody yet);, b@example.com\n\nx\n");
        assert!(check_rule("invalid-address", &comment).is_empty());
        assert_eq!(comment.recipients().count(), 1);
    }

    #[test]
    fn quoted_local_parts_are_valid() {
        let msg = eml(
            "From: a@example.com\nTo: \"john doe\"@example.com, Bob <\"b b\"@example.org>\n\nx\n",
        );
        assert!(check_rule("invalid-address", &msg).is_empty());
        assert_eq!(
            msg.recipients().next().unwrap().addr,
            "\"john doe\"@example.com"
        );
    }

    #[test]
    fn sender_and_reply_to_are_checked_and_named() {
        let msg = eml("From: a@example.com\nReply-To: help@example\nTo: b@example.com\n\nx\n");
        let f = check_rule("invalid-address", &msg);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.starts_with("Reply-To address `help@example`"));
        assert!(
            f[0].message
                .ends_with("(replies to this message would bounce)")
        );
        let off = check_rule_with(
            "[rules.invalid-address]\ncheck_sender = false\n",
            "invalid-address",
            &msg,
        );
        assert!(off.is_empty());
    }

    #[test]
    fn each_entry_once_and_capped() {
        let mut to = String::new();
        for i in 0..1_254 {
            to.push_str(&format!("user{i}@@example.com,\n "));
        }
        to.push_str("user0@@example.com");
        let msg = eml(&format!("From: a@example.com\nTo: {to}\n\nx\n"));
        let f = check_rule("invalid-address", &msg);
        assert_eq!(f.len(), 21);
        assert_eq!(f[20].message, "and 1,234 more invalid addresses");
        assert_eq!(f[20].location.line, Some(22));
        let three = check_rule_with(
            "[rules.invalid-address]\nmax_reported = 3\n",
            "invalid-address",
            &msg,
        );
        assert_eq!(three.len(), 4);
        assert_eq!(three[3].message, "and 1,251 more invalid addresses");
    }

    #[test]
    fn silent_on_ordinary_mail() {
        let msg = eml(
            "From: Ann <ann@example.com>\nTo: Bob <bob@example.org>, undisclosed-recipients:;\nCc: \"Smith, Jo\" <jo@mail.example.net>\n\nx\n",
        );
        assert!(check_rule("invalid-address", &msg).is_empty());
    }

    #[test]
    fn rejects_zero_max_reported() {
        assert_eq!(
            option_error_key("invalid-address", "max_reported = 0").as_deref(),
            Some("max_reported")
        );
    }
}
