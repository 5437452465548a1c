use super::shared::{Capped, domain_problem, idna_ascii};
use super::{Context, Rule, declare_rule, plural};
use crate::audience::{self, PERSONAL_BRANDS, PERSONAL_DOMAINS, Recipient, registrable};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::message::Field;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock};

declare_rule! {
    /// ## What it checks
    /// A recipient domain that looks like a slip of the keyboard away from a
    /// domain the message was surely meant for:
    ///
    /// - **one edit away** (a letter added, dropped, changed, or two
    ///   neighbours swapped) from your organisation's domain, a domain in
    ///   `known_domains`, a major mail provider (gmail.com, hotmail.co.uk,
    ///   outlook.com, yahoo.com, icloud.com, btinternet.com, nhs.net, ...),
    ///   or a domain more common among this message's other recipients:
    ///   `gmial.com`, `hotmial.co.uk`, `outlok.com`, `gmail.co`;
    /// - **the wrong ending** on a provider or a configured domain, among
    ///   .com, .net, .org and .co.uk: `nhs.com` for nhs.net, `gmail.co.uk`.
    ///
    /// Domains are compared by their registrable part (`mail.example.co.uk`
    /// is `example.co.uk`), so the organisation's subdomains never match.
    /// Names before the ending must be 4 characters or more to be compared
    /// letter by letter (5 for the built-in providers: `live`, `aol`, `nhs`
    /// only match a wrong ending), and 6 or more to differ in their first
    /// letter (here.com and there.com are different words, not a typo), so
    /// short names like bt.com do not match everything; a digit changed for
    /// another (shop1, shop2) is a series, not a typo. A domain of another
    /// recipient is a target only when it is more common in this message
    /// (two or more recipients) than the suspect (one): two partners with
    /// similar names that both appear several times are left alone. Real
    /// provider domains (yahoo.co.uk and yahoo.com, hotmail.fr, ymail.com,
    /// ...) are never lookalikes of each other.
    ///
    /// It is an **error** when a domain reads the same as one of those
    /// domains or another recipient's: written with non-Latin letters that
    /// look Latin (Cyrillic `а`, `е`, `о`, `р`, `с`, Greek `ο`, ...; shown as
    /// `xn--...` in Punycode), or with Latin letters and digits that pass for
    /// others (`1` or a capital `I` for `l`, `0` for `o`, `rn` for `m`, `vv`
    /// for `w`, `cl` for `d`: `northwind-supp1ies.example`). Nobody types
    /// those by accident: that is impersonation, not a typo.
    ///
    /// **Reply-To** is checked too: a Reply-To address whose domain is a
    /// typo or a look-alike of the From address's domain, the
    /// organisation's or a known domain is an error, because every reply
    /// would go to whoever owns it. Someone who gets into a mailbox adds
    /// such a Reply-To to collect the answers to invoices and payment
    /// requests.
    ///
    /// ## Why it matters
    /// A mistyped domain sends the message to whoever owns the typo. Typo
    /// domains of big providers and of organisations are registered on
    /// purpose to collect such mail: researchers who registered about 30
    /// look-alikes of large companies' domains received some 120,000
    /// misdirected emails in six months. Look-alike letters are how invoice
    /// fraud poses as a supplier in a reply thread, and a look-alike
    /// Reply-To is how it diverts a real supplier's mail.
    ///
    /// ## Example
    /// ```text
    /// From: Rachel Dunmore <r.dunmore@school.example.sch.uk>
    /// Bcc: keith.garcia@gmial.com, a.khan@hotmial.co.uk, j.li@nhs.com
    /// ```
    ///
    /// ## How to fix
    /// Correct the domain. If it is right (a real partner with a similar
    /// name), add it to `allowed`. A look-alike Reply-To you did not set
    /// means someone changed your account's settings: tell your IT team.
    ///
    /// ## Options
    /// ```toml
    /// [rules.lookalike-domain]
    /// known_domains = []      # more domains to protect: partners, suppliers
    /// allowed = []            # real domains never reported, e.g. "exampel.com"
    /// min_label_length = 4    # shortest name compared letter by letter
    /// max_reported = 20       # domains reported one by one; the rest in one summary
    /// ```
    id: "lookalike-domain",
    severity: Warning,
    summary: "A recipient or Reply-To domain looks like a typo or a look-alike of a known domain (gmial.com, nhs.com)",
    build: LookalikeDomain::build,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct Options {
    known_domains: Vec<String>,
    allowed: Vec<String>,
    min_label_length: usize,
    max_reported: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            known_domains: Vec::new(),
            allowed: Vec::new(),
            min_label_length: 4,
            max_reported: 20,
        }
    }
}

struct LookalikeDomain {
    /// The configured known domains (registrable parts), then the
    /// providers, without repeats: split by the public suffix list once.
    fixed_targets: Vec<Target>,
    /// The domains of `fixed_targets`.
    fixed_domains: HashSet<String>,
    allowed: HashSet<String>,
    min_label: usize,
    max_reported: usize,
}

impl LookalikeDomain {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let options: Options = settings.options()?;
        let normalise = |key: &str, list: Vec<String>| -> Result<Vec<String>, OptionError> {
            list.into_iter()
                .map(|d| {
                    let d = d.trim().trim_start_matches(['@', '.']).to_ascii_lowercase();
                    if d.is_empty() || domain_problem(&d).is_some() {
                        Err(OptionError::new(key, format!("`{d}` is not a domain name")))
                    } else {
                        Ok(d)
                    }
                })
                .collect()
        };
        if options.max_reported == 0 {
            return Err(OptionError::new("max_reported", "must be at least 1"));
        }
        if options.min_label_length < 2 {
            return Err(OptionError::new("min_label_length", "must be at least 2"));
        }
        let known = normalise("known_domains", options.known_domains)?
            .into_iter()
            .map(|d| registrable(&d).map_or(d.clone(), str::to_string));
        let min_label = options.min_label_length;
        let providers = PROVIDERS.iter().map(|p| {
            let min_label = PROVIDER_MIN_LABEL.max(min_label);
            Target::new(p.to_string(), Kind::Provider, true, min_label)
        });
        let mut seen = HashSet::new();
        let fixed_targets: Vec<Target> = known
            .map(|d| Target::new(d, Kind::Known, true, min_label))
            .chain(providers)
            .filter(|t| seen.insert(t.domain.to_string()))
            .collect();
        let allowed = normalise("allowed", options.allowed)?.into_iter().collect();
        Ok(Box::new(LookalikeDomain {
            fixed_targets,
            fixed_domains: seen,
            allowed,
            min_label: options.min_label_length,
            max_reported: options.max_reported,
        }))
    }
}

/// Big mail providers whose typo domains catch misdirected mail. The
/// provider's real country variants are in [`is_real_provider`].
const PROVIDERS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "hotmail.com",
    "hotmail.co.uk",
    "outlook.com",
    "live.com",
    "live.co.uk",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "ymail.com",
    "icloud.com",
    "aol.com",
    "btinternet.com",
    "protonmail.com",
    "nhs.net",
    "gmx.com",
    "gmx.de",
    "web.de",
    "mail.com",
    "zoho.com",
    "fastmail.com",
    "virginmedia.com",
    "talktalk.net",
    "sky.com",
    "comcast.net",
    "verizon.net",
    "orange.fr",
    "t-online.de",
];

/// Real domains one edit away from a provider: never typos.
const REAL_NEIGHBOURS: &[&str] = &["email.com", "cloud.com", "163.net"];

/// Built-in providers are compared letter by letter only from this length:
/// `live`, `aol` and `nhs` have too many real neighbours (olive.com, ...).
const PROVIDER_MIN_LABEL: usize = 5;

/// Names at least this long may differ in their first letter (`ggmail`,
/// `otmail`); shorter ones only after it.
const FIRST_LETTER_MIN_LABEL: usize = 6;

/// Endings people confuse with each other; a wrong one among these is
/// reported for providers and configured domains.
const SWAPPED_ENDINGS: &[&str] = &["com", "net", "org", "co.uk"];

/// Endings common enough that one a letter away is a typo of them (`co`,
/// `cm`, `con` for `com`); country endings a letter apart (`de`, `be`)
/// are both real.
const COMMON_ENDINGS: &[&str] = &[
    "com", "net", "org", "edu", "gov", "co.uk", "org.uk", "ac.uk", "gov.uk",
];

/// Frequent domains of this message used as targets: the most common few
/// are where a typo would have come from, and a fixed number keeps the
/// comparison linear.
const MESSAGE_TARGETS: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Org,
    /// The From address's domain, for Reply-To.
    From,
    Known,
    Provider,
    /// Another domain of this message, with its number of recipients.
    Recipients(u64),
}

#[derive(Clone)]
struct Target {
    /// Shared: the fixed targets are copied into every message's list.
    domain: Arc<str>,
    /// Length of the name before the ending (`hotmail` in hotmail.co.uk);
    /// `None` when the public suffix list cannot split the domain.
    name_len: Option<usize>,
    kind: Kind,
    /// Wrong endings among [`SWAPPED_ENDINGS`] count.
    swaps: bool,
    min_label: usize,
}

impl Target {
    fn new(domain: String, kind: Kind, swaps: bool, min_label: usize) -> Self {
        Target {
            name_len: split(&domain).map(|(name, _)| name.len()),
            domain: domain.into(),
            kind,
            swaps,
            min_label,
        }
    }

    fn describe(&self) -> String {
        match self.kind {
            Kind::Org => format!("{} (your organisation's domain)", self.domain),
            Kind::From => format!("{} (the From address's domain)", self.domain),
            Kind::Known => format!("{} (a configured known domain)", self.domain),
            Kind::Provider => format!("{} (a major mail provider)", self.domain),
            Kind::Recipients(n) => format!(
                "{} (the domain of {} in this message)",
                self.domain,
                plural(n, "other recipient", "other recipients")
            ),
        }
    }
}

/// The recipients at one registrable domain.
struct Domain<'a> {
    /// Registrable part, lowercase ASCII (Punycode for IDNs).
    registrable: String,
    first: Recipient<'a>,
    count: u64,
    external: bool,
}

impl Rule for LookalikeDomain {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
        // Each domain's index into `domains`, if it has a registrable part:
        // each distinct domain is validated and split by the public suffix
        // list once. (Lowercased, as the audience keeps them: neither the
        // validation nor the registrable part depends on case.)
        let mut slots: Vec<Option<Option<usize>>> = vec![None; cx.audience.domain_count()];
        let mut by_registrable: FastMap<String, usize> = FastMap::default();
        let mut domains: Vec<Domain<'_>> = Vec::new();
        for r in cx.audience.recipients() {
            if r.own {
                continue;
            }
            if r.domain.name.is_empty() {
                continue;
            }
            let slot = match slots.get(r.domain.index).copied().flatten() {
                Some(slot) => slot,
                None => {
                    let slot = recipient_registrable(r.domain).map(|reg| {
                        *by_registrable.entry(reg).or_insert_with_key(|reg| {
                            domains.push(Domain {
                                registrable: reg.clone(),
                                first: r,
                                count: 0,
                                external: false,
                            });
                            domains.len() - 1
                        })
                    });
                    if let Some(known) = slots.get_mut(r.domain.index) {
                        *known = Some(slot);
                    }
                    slot
                }
            };
            if let Some(d) = slot.and_then(|i| domains.get_mut(i)) {
                d.count += 1;
                d.external |= r.external;
            }
        }
        let targets = self.targets(cx, &domains);
        self.check_reply_to(cx, &targets, out);
        if domains.is_empty() {
            return;
        }
        // A domain that is itself the organisation's, a known one or a
        // provider's is no typo; a common domain of this message may be.
        let is_exact = |reg: &str| {
            self.fixed_domains.contains(reg)
                || targets
                    .iter()
                    .any(|t| t.kind == Kind::Org && *t.domain == *reg)
        };
        let mut skeletons = None;
        let mut homoglyphs = None;
        let mut capped = Capped::new(self.max_reported);
        for d in &domains {
            let reg = d.registrable.as_str();
            if !d.external || is_exact(reg) || self.never_reported(cx, reg) {
                continue;
            }
            let finding = if is_idn(reg) {
                let map = skeletons.get_or_insert_with(|| skeleton_map(&targets, &domains));
                confusable(reg, map)
            } else {
                let written = written_registrable(d.first.first().domain().unwrap_or(""), reg);
                let imitated = has_imitation(written)
                    .then(|| {
                        let map =
                            homoglyphs.get_or_insert_with(|| homoglyph_map(&targets, &domains));
                        homoglyph(written, reg, map, self.min_label)
                    })
                    .flatten();
                imitated.or_else(|| typo(reg, &targets, d.count))
            };
            let Some(finding) = finding else { continue };
            let location =
                super::shared::address_location(d.first.first().field, d.first.first().line);
            capped.push(out, location, |location| finding.diagnostic(d, location));
        }
        capped.finish(out, |n, location| {
            Diagnostic::new(
                Severity::Warning,
                format!(
                    "and {} that look like typos of known domains",
                    plural(n, "more domain", "more domains")
                ),
                location,
            )
            .help("check every recipient domain")
        });
    }
}

impl LookalikeDomain {
    /// What recipient domains are compared with: the organisation, the
    /// configured known domains, the providers, and the most common domains
    /// of this message.
    fn targets(&self, cx: &Context<'_>, domains: &[Domain<'_>]) -> Vec<Target> {
        let configured_org = !cx.config.organization.domains.is_empty();
        let mut targets: Vec<Target> = Vec::with_capacity(self.fixed_targets.len() + 8);
        // Repeats are looked for in the short list rather than hashed: the
        // fixed targets have none among themselves (see `build`), and the
        // organisation's domains are few (the audience scans them for every
        // recipient too).
        let mut org = 0;
        for domain in &cx.audience.org_domains {
            let reg = registrable(domain).unwrap_or(domain);
            if !targets.iter().any(|t| *t.domain == *reg) {
                targets.push(Target::new(
                    reg.to_string(),
                    Kind::Org,
                    configured_org,
                    self.min_label,
                ));
                org += 1;
            }
        }
        let is_org =
            |targets: &[Target], reg: &str| targets[..org].iter().any(|t| *t.domain == *reg);
        for fixed in &self.fixed_targets {
            if !is_org(&targets, &fixed.domain) {
                targets.push(fixed.clone());
            }
        }
        let mut frequent: Vec<&Domain<'_>> = domains.iter().filter(|d| d.count >= 2).collect();
        let keep = MESSAGE_TARGETS.min(frequent.len());
        if keep > 0 && keep < frequent.len() {
            frequent.select_nth_unstable_by_key(keep - 1, |d| std::cmp::Reverse(d.count));
        }
        frequent.truncate(keep);
        for d in frequent {
            if targets.iter().any(|t| *t.domain == *d.registrable) {
                continue;
            }
            targets.push(Target::new(
                d.registrable.clone(),
                Kind::Recipients(d.count),
                false,
                self.min_label,
            ));
        }
        targets
    }

    /// Real domains: allowed, a provider's own, or configured personal ones.
    fn never_reported(&self, cx: &Context<'_>, reg: &str) -> bool {
        self.allowed.contains(reg)
            || is_real_provider(reg)
            || cx
                .config
                .organization
                .personal_domains
                .iter()
                .any(|p| p == reg)
    }

    /// Reply-To addresses that look like the From domain, the
    /// organisation's or a known one: replies would go to whoever owns the
    /// look-alike. Someone who can change a mailbox's settings adds such a
    /// Reply-To to divert the answers to invoices and payment requests.
    fn check_reply_to(&self, cx: &Context<'_>, targets: &[Target], out: &mut Vec<Diagnostic>) {
        let msg = cx.message;
        let mut reply_to = msg.addresses_in(Field::ReplyTo).peekable();
        if reply_to.peek().is_none() {
            return;
        }
        let mut own: Vec<Target> = targets
            .iter()
            .filter(|t| matches!(t.kind, Kind::Org | Kind::Known))
            .cloned()
            .collect();
        let from = msg
            .sender()
            .and_then(|a| a.domain())
            .and_then(registrable_ascii);
        if let Some(from) = from.filter(|f| !own.iter().any(|t| *t.domain == **f)) {
            own.push(Target::new(from, Kind::From, false, self.min_label));
        }
        let mut skeletons = None;
        let mut homoglyphs = None;
        let mut seen = HashSet::new();
        let mut capped = Capped::new(self.max_reported);
        for a in reply_to {
            let Some(domain) = a.domain() else { continue };
            let Some(reg) = registrable_ascii(domain) else {
                continue;
            };
            if own.iter().any(|t| *t.domain == *reg)
                || self.never_reported(cx, &reg)
                || !seen.insert(reg.clone())
            {
                continue;
            }
            let finding = if is_idn(&reg) {
                confusable(
                    &reg,
                    skeletons.get_or_insert_with(|| skeleton_map(&own, &[])),
                )
            } else {
                let written = written_registrable(domain, &reg);
                let imitated = has_imitation(written)
                    .then(|| {
                        let map = homoglyphs.get_or_insert_with(|| homoglyph_map(&own, &[]));
                        homoglyph(written, &reg, map, self.min_label)
                    })
                    .flatten();
                imitated.or_else(|| typo(&reg, &own, 1))
            };
            let Some(finding) = finding else { continue };
            capped.push(out, Location::header("Reply-To", a.line), |location| {
                Diagnostic::new(
                    Severity::Error,
                    format!(
                        "replies would go to `{}`: {}",
                        a.addr,
                        finding.describe(&reg)
                    ),
                    location,
                )
                .help("if you did not set this Reply-To, someone may have changed your account's settings to divert replies: check them and tell your IT team; otherwise correct the address")
            });
        }
        capped.finish(out, |n, location| {
            Diagnostic::new(
                Severity::Error,
                format!(
                    "and {} in Reply-To that look like the sender's",
                    plural(n, "more domain", "more domains")
                ),
                location,
            )
            .help("check every Reply-To address")
        });
    }
}

/// A slip of the keyboard from one of `targets` (a domain of this message
/// only when more common in it than the suspect, seen `count` times).
fn typo(reg: &str, targets: &[Target], count: u64) -> Option<Finding> {
    let (name, _) = split(reg)?;
    targets.iter().find_map(|t| {
        let comparable = match t.kind {
            Kind::Recipients(n) => count == 1 && n >= 2 && *t.domain != *reg,
            _ => true,
        };
        let slip = comparable.then(|| near(reg, name.len(), t)).flatten()?;
        Some(Finding::Typo(t.describe(), slip))
    })
}

/// What a suspect domain looks like; targets as [`Target::describe`] says them.
enum Finding {
    Typo(String, Slip),
    /// Latin letters or digits that read as others: `1` for `l`, `rn` for `m`.
    Homoglyph {
        target: String,
        swaps: Vec<(String, char)>,
    },
    Confusable {
        target: String,
        unicode: String,
        letters: Vec<char>,
    },
}

impl Finding {
    /// What the suspect domain `reg` does: `gmial.com looks like a typo of ...`.
    fn describe(&self, reg: &str) -> String {
        match self {
            Finding::Typo(target, Slip::Letters) => format!("{reg} looks like a typo of {target}"),
            Finding::Typo(target, Slip::Ending) => {
                format!("{reg} looks like {target} with the wrong ending")
            }
            Finding::Homoglyph { target, swaps } => {
                let swaps: Vec<String> = swaps
                    .iter()
                    .map(|(written, meant)| format!("`{written}` for `{meant}`"))
                    .collect();
                format!(
                    "{reg} imitates {target}, with {}: it reads the same but is a different domain",
                    swaps.join(", ")
                )
            }
            Finding::Confusable {
                target,
                unicode,
                letters,
            } => {
                let letters: Vec<String> = letters.iter().map(|&c| describe_char(c)).collect();
                format!(
                    "{reg} is {unicode}, written with {}: it looks like {target} but is a different domain",
                    letters.join(", "),
                )
            }
        }
    }

    fn diagnostic(&self, d: &Domain<'_>, location: Location) -> Diagnostic {
        let who = if d.count == 1 {
            format!("`{}`", d.first.first().addr)
        } else {
            format!(
                "{} at {} (first `{}`)",
                plural(d.count, "recipient", "recipients"),
                d.registrable,
                d.first.first().addr
            )
        };
        let message = format!("{who}: {}", self.describe(&d.registrable));
        match self {
            Finding::Typo(..) => Diagnostic::new(Severity::Warning, message, location).help(format!(
                "correct the domain; if {} is right, add it to `allowed` under [rules.lookalike-domain]",
                d.registrable
            )),
            Finding::Homoglyph { .. } | Finding::Confusable { .. } => {
                Diagnostic::new(Severity::Error, message, location)
                    .help("look-alike letters are how impersonators pose as someone you know: check the address with its owner by other means before sending")
            }
        }
    }
}

/// The registrable part of a domain as lowercase ASCII (Punycode for an
/// internationalised domain), or `None` for an invalid domain, which
/// invalid-address reports.
fn registrable_ascii(domain: &str) -> Option<String> {
    if !is_checked(domain) {
        return None;
    }
    let ascii: Cow<'_, str> = if domain.is_ascii() {
        Cow::Owned(domain.to_ascii_lowercase())
    } else {
        Cow::Owned(idna_ascii(domain)?.into_owned())
    };
    registrable(&ascii).map(str::to_string)
}

/// [`registrable_ascii`] of a recipient's domain. The audience keeps it
/// lowercased and has looked its registrable part up already, which for an
/// ASCII domain is the answer: looking it up again, on a lowercased copy,
/// cost 500 instructions a domain.
fn recipient_registrable(domain: &audience::Domain) -> Option<String> {
    if !domain.name.is_ascii() {
        return registrable_ascii(&domain.name);
    }
    if !is_checked(&domain.name) {
        return None;
    }
    domain.registrable().map(str::to_string)
}

/// A domain lookalike-domain judges: valid (invalid-address reports the
/// others) and not a literal address.
fn is_checked(domain: &str) -> bool {
    domain_problem(domain).is_none() && !domain.starts_with('[')
}

fn is_idn(domain: &str) -> bool {
    domain.starts_with("xn--") || domain.contains(".xn--")
}

/// Splits a registrable domain into its name and its public-suffix ending:
/// `hotmail.co.uk` -> (`hotmail`, `co.uk`).
fn split(domain: &str) -> Option<(&str, &str)> {
    let suffix = psl::suffix_str(domain)?;
    let name = domain.strip_suffix(suffix)?.strip_suffix('.')?;
    (!name.is_empty() && !name.contains('.')).then_some((name, suffix))
}

/// How a suspect domain differs from its target.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Slip {
    /// A letter added, dropped, changed or swapped: `gmial.com`.
    Letters,
    /// The same name with another ending: `nhs.com` for nhs.net.
    Ending,
}

/// Whether `candidate`, whose name is its first `name_len` bytes, looks
/// like a slip away from `target` (both registrable, lowercase ASCII).
fn near(candidate: &str, name_len: usize, target: &Target) -> Option<Slip> {
    let t_name_len = target.name_len?;
    // Cheap rejection first: most domains are nowhere near most targets.
    if candidate.len().abs_diff(target.domain.len()) > 1 && name_len != t_name_len {
        return None;
    }
    let (name, ending) = (candidate.get(..name_len)?, candidate.get(name_len + 1..)?);
    let t = &*target.domain;
    let (t_name, t_ending) = (t.get(..t_name_len)?, t.get(t_name_len + 1..)?);
    if name == t_name {
        // Same name, another ending: `gmail.co`, `nhs.com` for nhs.net.
        let typo = one_edit(ending.as_bytes(), t_ending.as_bytes())
            && (COMMON_ENDINGS.contains(&ending) || COMMON_ENDINGS.contains(&t_ending));
        let swap = target.swaps
            && SWAPPED_ENDINGS.contains(&ending)
            && SWAPPED_ENDINGS.contains(&t_ending);
        (name.len() >= 3 && (typo || swap)).then_some(Slip::Ending)
    } else {
        // A different first letter makes a different word more often than
        // a typo (here.com, there.com; some.example, dome.example): only
        // for longer names.
        let first_letter = candidate.as_bytes().first() != target.domain.as_bytes().first();
        let shortest = name.len().min(t_name.len());
        (shortest >= target.min_label
            && (!first_letter || shortest >= FIRST_LETTER_MIN_LABEL)
            && one_edit(candidate.as_bytes(), target.domain.as_bytes()))
        .then_some(Slip::Letters)
    }
}

/// Whether `a` becomes `b` by exactly one insertion, deletion, substitution
/// (but not of a digit for a digit) or swap of adjacent characters (optimal
/// string alignment distance 1).
/// Linear: only the text after the common prefix is compared.
fn one_edit(a: &[u8], b: &[u8]) -> bool {
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[p..], &b[p..]);
    match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Equal => {
            // A digit changed for another is a different number in a
            // series (shop1, shop2), not a typo.
            let digits = a[0].is_ascii_digit() && b[0].is_ascii_digit();
            (a.get(1..) == b.get(1..) && !digits)
                || (a.len() >= 2 && a[0] == b[1] && a[1] == b[0] && a[2..] == b[2..])
        }
        std::cmp::Ordering::Less => a == &b[1..],
        std::cmp::Ordering::Greater => &a[1..] == b,
    }
}

/// A provider's own domain: listed, or a multi-country brand (hotmail.fr,
/// yahoo.co.jp) under any real ending; an ending a letter away from `com`
/// (`hotmail.co`, `yahoo.cm`) is a typo, not a country.
fn is_real_provider(domain: &str) -> bool {
    // One set rather than three lists searched for every recipient domain
    // (1,200 instructions a domain over the public real mail).
    static REAL: LazyLock<HashSet<&str, foldhash::fast::RandomState>> = LazyLock::new(|| {
        [PROVIDERS, PERSONAL_DOMAINS, REAL_NEIGHBOURS]
            .concat()
            .into_iter()
            .collect()
    });
    if REAL.contains(domain) {
        return true;
    }
    // The name `split` gives is the first label: a domain whose first
    // label is no brand needs no look-up of its ending.
    let first_label = domain.split('.').next().unwrap_or_default();
    if !PERSONAL_BRANDS.contains(&first_label) {
        return false;
    }
    split(domain).is_some_and(|(name, ending)| {
        PERSONAL_BRANDS.contains(&name) && (ending == "com" || !one_edit(ending.as_bytes(), b"com"))
    })
}

/// UTS #39 skeletons of every ASCII target and recipient domain, with how
/// each is described, to look internationalised domains up in. Built only
/// for a message that has one.
///
/// The confusables data comes from the `unicode-security` crate (unicode-rs,
/// the crate behind rustc's `confusable_idents` lint, kept at the current
/// Unicode version): it maps every character Unicode lists as confusable
/// (Cyrillic `а`, Greek `ο`, Latin `ɑ`, fullwidth letters, ...) to its
/// prototype. A hand-written table of the common Cyrillic and Greek letters
/// would miss most of the thousands of entries in confusables.txt.
fn skeleton_map<'t>(
    targets: &'t [Target],
    domains: &'t [Domain<'_>],
) -> HashMap<String, Lookalike<'t>, foldhash::fast::RandomState> {
    let mut map = HashMap::default();
    for t in targets {
        map.entry(skeleton(&t.domain))
            .or_insert(Lookalike::Target(t));
    }
    // Any ASCII domain of this message is one a look-alike could pose as.
    for d in domains.iter().filter(|d| !is_idn(&d.registrable)) {
        map.entry(skeleton(&d.registrable))
            .or_insert(Lookalike::Domain(d));
    }
    map
}

/// What a look-alike domain poses as.
#[derive(Clone, Copy)]
enum Lookalike<'t> {
    Target(&'t Target),
    Domain(&'t Domain<'t>),
}

impl<'t> Lookalike<'t> {
    fn domain(self) -> &'t str {
        match self {
            Lookalike::Target(t) => &t.domain,
            Lookalike::Domain(d) => &d.registrable,
        }
    }

    fn describe(self) -> String {
        match self {
            Lookalike::Target(t) => t.describe(),
            Lookalike::Domain(d) => {
                Target::new(d.registrable.clone(), Kind::Recipients(d.count), false, 0).describe()
            }
        }
    }
}

/// Latin letters and digits that read as others in common fonts: (as
/// written, what it reads as). A capital `I` reads as `l` only among small
/// letters: in `PAYPAI.COM` it is plainly an I.
const IMITATIONS: &[(&str, char)] = &[
    ("rn", 'm'),
    ("vv", 'w'),
    ("cl", 'd'),
    ("1", 'l'),
    ("0", 'o'),
    ("I", 'l'),
];

/// The imitation written at byte `i`, its length and what it reads as.
fn imitation_at(written: &[u8], i: usize, small_letters: bool) -> Option<(usize, char)> {
    let rest = written.get(i..)?;
    IMITATIONS
        .iter()
        .find(|(w, _)| rest.starts_with(w.as_bytes()) && (*w != "I" || small_letters))
        .map(|(w, meant)| (w.len(), *meant))
}

fn has_small_letters(written: &str) -> bool {
    written.bytes().any(|b| b.is_ascii_lowercase())
}

/// Whether an ASCII domain as written holds an imitation anywhere.
fn has_imitation(written: &str) -> bool {
    let small_letters = has_small_letters(written);
    (0..written.len()).any(|i| imitation_at(written.as_bytes(), i, small_letters).is_some())
}

/// An ASCII domain with each character replaced by the form it shares with
/// its imitations (`m` and `rn` -> `rn`, `l`, `1` and `I` -> `l`, ...): two
/// domains that read the same have the same skeleton.
fn ascii_skeleton(written: &str) -> String {
    let small_letters = has_small_letters(written);
    let mut out = String::with_capacity(written.len() + 4);
    for c in written.chars() {
        match c {
            'I' if small_letters => out.push('l'),
            '1' => out.push('l'),
            '0' => out.push('o'),
            _ => match c.to_ascii_lowercase() {
                'm' => out.push_str("rn"),
                'w' => out.push_str("vv"),
                'd' => out.push_str("cl"),
                lower => out.push(lower),
            },
        }
    }
    out
}

/// The imitations by which `written` (an ASCII domain as written) reads as
/// `target` (lowercase), in order and without repeats; `None` when it does
/// not, or is the same domain.
fn imitations(written: &str, target: &str) -> Option<Vec<(String, char)>> {
    let small_letters = has_small_letters(written);
    let (w, t) = (written.as_bytes(), target.as_bytes());
    let (mut i, mut j) = (0, 0);
    let mut swaps: Vec<(String, char)> = Vec::new();
    while i < w.len() {
        let meant = *t.get(j)?;
        if w[i].to_ascii_lowercase() == meant {
            i += 1;
        } else {
            // An imitation begins with a different character from what it
            // reads as, so where both agree there is none to try.
            let (len, reads_as) = imitation_at(w, i, small_letters)?;
            if reads_as as u32 != u32::from(meant) {
                return None;
            }
            let swap = (written.get(i..i + len)?.to_string(), reads_as);
            if !swaps.contains(&swap) {
                swaps.push(swap);
            }
            i += len;
        }
        j += 1;
    }
    (j == t.len() && !swaps.is_empty()).then_some(swaps)
}

/// The domains an imitation could pose as by [`ascii_skeleton`]: every
/// ASCII target and recipient domain, with what each is. Domains that
/// read the same share a skeleton, the imitation among them too.
type HomoglyphMap<'t> = HashMap<String, Vec<Lookalike<'t>>, foldhash::fast::RandomState>;

fn homoglyph_map<'t>(targets: &'t [Target], domains: &'t [Domain<'_>]) -> HomoglyphMap<'t> {
    let mut map = HomoglyphMap::default();
    let mut seen = HashSet::new();
    let targets = targets.iter().map(Lookalike::Target);
    let domains = domains.iter().map(Lookalike::Domain);
    for lookalike in targets.chain(domains) {
        let domain = lookalike.domain();
        if !is_idn(domain) && seen.insert(domain) {
            map.entry(ascii_skeleton(domain))
                .or_default()
                .push(lookalike);
        }
    }
    map
}

/// A domain written with imitations of the letters of a target or another
/// recipient's domain: `supp1ies.example` for supplies.example. Names are
/// held to the lengths typos are (see [`near`]).
fn homoglyph(
    written: &str,
    reg: &str,
    map: &HomoglyphMap<'_>,
    min_label: usize,
) -> Option<Finding> {
    let name_len = split(reg)?.0.len();
    map.get(&ascii_skeleton(written))?
        .iter()
        .find_map(|&lookalike| {
            let target = lookalike.domain();
            let swaps = imitations(written, target)?;
            let min_label = match lookalike {
                Lookalike::Target(t) => t.min_label,
                Lookalike::Domain(_) => min_label,
            };
            let shortest = name_len.min(split(target)?.0.len());
            let first_letter = reg.as_bytes().first() != target.as_bytes().first();
            (shortest >= min_label && (!first_letter || shortest >= FIRST_LETTER_MIN_LABEL)).then(
                || Finding::Homoglyph {
                    target: lookalike.describe(),
                    swaps,
                },
            )
        })
}

/// The registrable part of a domain as written, capitals kept (`reg` is
/// the same, lowercase); `reg` itself when the two differ otherwise.
fn written_registrable<'a>(written: &'a str, reg: &'a str) -> &'a str {
    let written = written.trim_end_matches('.');
    written
        .len()
        .checked_sub(reg.len())
        .and_then(|start| written.get(start..))
        .filter(|tail| tail.eq_ignore_ascii_case(reg))
        .unwrap_or(reg)
}

fn skeleton(domain: &str) -> String {
    unicode_security::confusable_detection::skeleton(domain).collect()
}

fn confusable(
    reg: &str,
    map: &HashMap<String, Lookalike<'_>, foldhash::fast::RandomState>,
) -> Option<Finding> {
    let (unicode, result) = idna::domain_to_unicode(reg);
    if result.is_err() || unicode.is_ascii() {
        return None;
    }
    let target = map.get(&skeleton(&unicode))?.describe();
    let mut letters: Vec<char> = Vec::new();
    for c in unicode.chars() {
        if letters.len() < 3
            && !c.is_ascii()
            && !letters.contains(&c)
            && skeleton(c.encode_utf8(&mut [0; 4])).is_ascii()
        {
            letters.push(c);
        }
    }
    Some(Finding::Confusable {
        target,
        unicode,
        letters,
    })
}

/// `Cyrillic `а` (U+0430)`.
fn describe_char(c: char) -> String {
    let script = match c as u32 {
        0x0370..=0x03FF | 0x1F00..=0x1FFF => "Greek ",
        0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => "Cyrillic ",
        0x0530..=0x058F => "Armenian ",
        0x13A0..=0x13FF => "Cherokee ",
        0xFF00..=0xFFEF => "fullwidth ",
        0x0080..=0x024F | 0x1E00..=0x1EFF => "Latin ",
        _ => "",
    };
    format!("{script}`{c}` (U+{:04X})", c as u32)
}

#[cfg(test)]
mod tests {
    /// [`is_real_provider`] as it was: three lists searched, the ending
    /// always looked up.
    fn is_real_provider_by_lists(domain: &str) -> bool {
        if PROVIDERS.contains(&domain)
            || PERSONAL_DOMAINS.contains(&domain)
            || REAL_NEIGHBOURS.contains(&domain)
        {
            return true;
        }
        split(domain).is_some_and(|(name, ending)| {
            PERSONAL_BRANDS.contains(&name)
                && (ending == "com" || !one_edit(ending.as_bytes(), b"com"))
        })
    }

    #[test]
    fn a_recipient_domain_is_split_as_on_its_own() {
        let msg = eml(
            "From: me@example.org\nTo: a@Mail.Example.CO.UK, b@gmial.com, c@bücher.example, \
             d@xn--bcher-kva.example, e@bad..example, f@[192.0.2.1], g@localhost, h@EXAMPLE.js\n\nhi\n",
        );
        let org = crate::audience::Org::new(&crate::config::Config::default()).unwrap();
        let audience = crate::audience::Audience::new(&msg, &org);
        let split: Vec<Option<String>> = audience
            .recipients()
            .map(|r| {
                assert_eq!(
                    recipient_registrable(r.domain),
                    registrable_ascii(&r.domain.name)
                );
                recipient_registrable(r.domain)
            })
            .collect();
        assert_eq!(split.len(), 8);
        assert_eq!(split[0].as_deref(), Some("example.co.uk"));
        assert_eq!(split[1].as_deref(), Some("gmial.com"));
        assert_eq!(split[4], None);
        assert_eq!(split[5], None);
    }

    #[test]
    fn real_providers() {
        for d in [
            "gmail.com",
            "hotmail.fr",
            "yahoo.co.jp",
            "email.com",
            "gmx.de",
        ] {
            assert!(is_real_provider(d), "{d}");
        }
        for d in [
            "hotmail.co",
            "yahoo.cm",
            "gmial.com",
            "example.com",
            "mail.hotmail.fr",
        ] {
            assert!(!is_real_provider(d), "{d}");
        }
    }

    proptest::proptest! {
        #[test]
        fn real_provider_as_by_lists(
            labels in proptest::collection::vec(
                proptest::sample::select(vec![
                    "gmail", "hotmail", "yahoo", "live", "outlook", "windowslive", "email",
                    "163", "com", "co", "uk", "fr", "cm", "net", "jp", "de", "gmx", "mail",
                    "example", "", "xn--80ak6aa92e", "HOTMAIL",
                ]),
                1..4,
            ),
        ) {
            let domain = labels.join(".");
            proptest::prop_assert_eq!(
                is_real_provider(&domain),
                is_real_provider_by_lists(&domain)
            );
        }
    }

    #[test]
    fn documented_options_are_the_defaults() {
        assert_eq!(
            crate::testing::documented_options::<super::Options>(&super::RULE),
            super::Options::default()
        );
    }
    use super::*;
    use crate::testing::{check_rule, check_rule_with, eml, option_error_key};

    fn findings(from: &str, to: &str) -> Vec<crate::finding::Finding> {
        check_rule(
            "lookalike-domain",
            &eml(&format!("From: {from}\nTo: {to}\n\nx\n")),
        )
    }

    #[test]
    fn one_edit_distance() {
        assert!(one_edit(b"gmial.com", b"gmail.com")); // swap
        assert!(one_edit(b"gmai.com", b"gmail.com")); // deletion
        assert!(one_edit(b"gmaill.com", b"gmail.com")); // insertion
        assert!(one_edit(b"gnail.com", b"gmail.com")); // substitution
        assert!(one_edit(b"gmail.co", b"gmail.com"));
        assert!(!one_edit(b"gmail.com", b"gmail.com"));
        assert!(!one_edit(b"gmali.cmo", b"gmail.com"));
        assert!(!one_edit(b"shop1.com", b"shop2.com"));
        assert!(!one_edit(b"", b"ab"));
        assert!(one_edit(b"", b"a"));
    }

    #[test]
    fn provider_typos() {
        for (to, target) in [
            ("keith@gmial.com", "gmail.com (a major mail provider)"),
            ("a@gmail.co", "gmail.com (a major mail provider)"),
            ("a@gmail.con", "gmail.com (a major mail provider)"),
            (
                "a.khan@hotmial.co.uk",
                "hotmail.co.uk (a major mail provider)",
            ),
            ("y@outlok.com", "outlook.com (a major mail provider)"),
            ("y@hotmail.co", "hotmail.com (a major mail provider)"),
            ("j.li@nhs.com", "nhs.net (a major mail provider)"),
            ("j.li@gmail.co.uk", "gmail.com (a major mail provider)"),
        ] {
            let f = findings("ann@example.org", to);
            assert_eq!(f.len(), 1, "{to}");
            assert!(f[0].message.contains(target), "{to}: {}", f[0].message);
            assert_eq!(f[0].severity, Severity::Warning);
        }
        let f = findings("ann@example.org", "j.li@nhs.com");
        assert_eq!(
            f[0].message,
            "`j.li@nhs.com`: nhs.com looks like nhs.net (a major mail provider) with the wrong ending"
        );
    }

    #[test]
    fn real_providers_and_short_names_are_not_typos() {
        for to in [
            "a@yahoo.co.uk, b@yahoo.com, c@yahoo.fr, d@hotmail.fr, e@ymail.com",
            "a@email.com, b@mail.com, c@gmx.de, d@cloud.com, e@live.co.uk",
            "a@olive.com, b@bt.co, c@bt.com, d@aol.co.uk, e@me.com, f@mac.com",
            "a@nhs.uk, b@trust.nhs.uk, c@googlemail.com, d@outlook.de, e@yahoo.co.jp",
        ] {
            assert!(findings("ann@example.org", to).is_empty(), "{to}");
        }
    }

    #[test]
    fn organisation_domains() {
        let f = findings("ann@example.org", "bob@exmaple.org, c@sub.example.org");
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "`bob@exmaple.org`: exmaple.org looks like a typo of example.org (your organisation's domain)"
        );
        // Sister domains of an organisation guessed from the sender may be
        // real (debian.org, debian.net): only configured ones count.
        assert!(findings("ann@example.org", "bob@example.net").is_empty());
        let f = check_rule_with(
            "[organization]\ndomains = [\"example.org\"]\n",
            "lookalike-domain",
            &eml("From: ann@example.org\nTo: bob@example.net\n\nx\n"),
        );
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("with the wrong ending"));
        // A different first letter in a short name is another word.
        assert!(findings("me@here.com", "you@there.com").is_empty());
    }

    #[test]
    fn other_recipients_only_when_more_common() {
        let f = findings(
            "ann@example.org",
            "a@partner.example, b@partner.example, c@partnr.example",
        );
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "`c@partnr.example`: partnr.example looks like a typo of partner.example (the domain of 2 other recipients in this message)"
        );
        assert_eq!(f[0].location.line, Some(2));
        // One each: no telling which is the typo.
        assert!(findings("ann@example.org", "a@partner.example, c@partnr.example").is_empty());
        // Both several times: two real partners.
        assert!(
            findings(
                "ann@example.org",
                "a@acme.example, b@acme.example, c@acne.example, d@acne.example"
            )
            .is_empty()
        );
        // A series is not a typo.
        assert!(
            findings(
                "ann@example.org",
                "a@school1.example, b@school1.example, c@school2.example"
            )
            .is_empty()
        );
    }

    #[test]
    fn confusable_letters_are_an_error() {
        // gmаil.com with a Cyrillic а, in Punycode and as written.
        for to in ["o@xn--gmil-63d.com", "o@gm\u{430}il.com"] {
            let f = findings("ann@example.org", to);
            assert_eq!(f.len(), 1, "{to}");
            assert_eq!(f[0].severity, Severity::Error);
            assert!(
                f[0].message.contains(
                    "xn--gmil-63d.com is gm\u{430}il.com, written with Cyrillic `\u{430}` (U+0430): it looks like gmail.com (a major mail provider)"
                ),
                "{}",
                f[0].message
            );
        }
        let f = findings("ann@example.org", "o@yah\u{3bf}\u{3bf}.com");
        assert!(
            f[0].message
                .contains("written with Greek `\u{3bf}` (U+03BF): it looks like yahoo.com"),
            "{}",
            f[0].message
        );
        // A look-alike of another recipient's domain, Cyrillic е in supplier.
        let f = findings(
            "ann@example.org",
            "a@supplier.example, b@supplier.example, c@supplier.example, d@supplier.example, e@supplier.example, x@supplier.example, y@suppli\u{435}r.example",
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        // Real internationalised domains are not look-alikes.
        assert!(findings("ann@example.org", "a@exämple.com, b@münchen.example").is_empty());
    }

    #[test]
    fn latin_imitations_are_an_error() {
        // `1` for `l` in a supplier's domain, the real one in Cc.
        let f = findings(
            "megan@example.com",
            "accounts@northwind-supp1ies.example, jon@northwind-supplies.example",
        );
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(
            f[0].message,
            "`accounts@northwind-supp1ies.example`: northwind-supp1ies.example imitates northwind-supplies.example (the domain of 1 other recipient in this message), with `1` for `l`: it reads the same but is a different domain"
        );
        // Whichever comes first.
        let f = findings(
            "megan@example.com",
            "jon@northwind-supplies.example, accounts@northwind-supp1ies.example",
        );
        assert_eq!(f.len(), 1);
        assert!(f[0].message.starts_with("`accounts@northwind-supp1ies"));
        for (to, swaps) in [
            ("a@hotrnail.com", "`rn` for `m`"),
            ("a@gmai1.com", "`1` for `l`"),
            ("a@yah00.com", "`0` for `o`"),
            (
                "a@Northwind-SuppIies.example, b@northwind-supplies.example",
                "`I` for `l`",
            ),
        ] {
            let f = findings("megan@example.com", to);
            assert_eq!(f.len(), 1, "{to}");
            assert_eq!(f[0].severity, Severity::Error, "{to}");
            assert!(f[0].message.contains(swaps), "{to}: {}", f[0].message);
        }
        // A capital I among capitals is an I; a series is not an imitation;
        // the real domain beside an imitation is not one either way round.
        for to in [
            "a@NORTHWIND-SUPPIIES.EXAMPLE, b@northwind-supplies.example",
            "a@shop1.example, b@shop2.example, c@shop2.example",
            "a@web1.example",
            "a@modern.example",
        ] {
            let f = findings("megan@example.com", to);
            assert!(
                f.iter().all(|f| f.severity != Severity::Error),
                "{to}: {f:#?}"
            );
        }
    }

    #[test]
    fn reply_to_look_alikes_of_the_senders_domains() {
        let reply_to = |config: &str, from: &str, reply_to: &str| {
            check_rule_with(
                config,
                "lookalike-domain",
                &eml(&format!(
                    "From: {from}\nReply-To: {reply_to}\nTo: megan@customer.example\n\nx\n"
                )),
            )
        };
        let f = reply_to(
            "",
            "accounts@northwind-supplies.example",
            "accounts@northwind-suppiles.example",
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(
            f[0].message,
            "replies would go to `accounts@northwind-suppiles.example`: northwind-suppiles.example looks like a typo of northwind-supplies.example (your organisation's domain)"
        );
        assert_eq!(f[0].location.header.as_deref(), Some("Reply-To"));
        assert_eq!(f[0].location.line, Some(2));
        // The From domain when the organisation is configured apart from it,
        // a configured organisation domain, imitations.
        let org = "[organization]\ndomains = [\"example.org\"]\n";
        let f = reply_to(org, "bob@gmail.com", "bob@gmial.com");
        assert!(
            f[0].message
                .ends_with("gmial.com looks like a typo of gmail.com (the From address's domain)"),
            "{}",
            f[0].message
        );
        let f = reply_to(org, "ann@example.org", "ann@example.net");
        assert!(
            f[0].message.ends_with("with the wrong ending"),
            "{}",
            f[0].message
        );
        let f = reply_to("", "ann@northwind.example", "ann@n0rthwind.example");
        assert!(
            f[0].message.contains("with `0` for `o`"),
            "{}",
            f[0].message
        );
        let f = reply_to("", "ann@northwind.example", "ann@n\u{43e}rthwind.example");
        assert_eq!(f[0].severity, Severity::Error);
        // The same domain, sister domains of an unconfigured organisation,
        // other services, real providers and allowed domains.
        for (from, to) in [
            ("ann@northwind.example", "Ann@NorthWind.example"),
            ("ann@northwind.example", "help@mail.northwind.example"),
            ("ann@example.org", "ann@example.net"),
            ("news@charity.example", "support@charity.zendesk.example"),
            ("ann@yahoo.com", "ann@yahoo.co.uk"),
        ] {
            assert!(reply_to("", from, to).is_empty(), "{to}");
        }
        let allowed = "[rules.lookalike-domain]\nallowed = [\"northwind-suppiles.example\"]\n";
        assert!(
            reply_to(
                allowed,
                "a@northwind-supplies.example",
                "a@northwind-suppiles.example"
            )
            .is_empty()
        );
    }

    #[test]
    fn options() {
        let msg = eml("From: ann@example.org\nTo: a@gmial.com, b@partnr.example\n\nx\n");
        let config = "[rules.lookalike-domain]\nallowed = [\"gmial.com\"]\nknown_domains = [\"partner.example\"]\n";
        let f = check_rule_with(config, "lookalike-domain", &msg);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("partner.example (a configured known domain)")
        );
        assert_eq!(
            option_error_key("lookalike-domain", "allowed = [\"not a domain\"]").as_deref(),
            Some("allowed")
        );
    }

    #[test]
    fn capped_output() {
        // 30 distinct typos of gmail.com: one letter changed after the first.
        let to: Vec<String> = [1, 2]
            .into_iter()
            .flat_map(|at| (b'a'..=b'z').map(move |c| (at, c)))
            .filter_map(|(at, c)| {
                let mut name = b"gmail".to_vec();
                (name[at] != c).then(|| {
                    name[at] = c;
                    format!("p@{}.com", String::from_utf8_lossy(&name))
                })
            })
            .take(30)
            .collect();
        let msg = eml(&format!(
            "From: ann@example.org\nTo: {}\n\nx\n",
            to.join(",\n ")
        ));
        let f = check_rule("lookalike-domain", &msg);
        assert_eq!(f.len(), 21, "{f:#?}");
        assert_eq!(
            f[20].message,
            "and 10 more domains that look like typos of known domains"
        );
        assert_eq!(f[20].location.line, Some(22));
    }
}
