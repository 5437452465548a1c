//! Helpers more than one rule uses, kept here so that no rule imports
//! another.

pub(super) mod data_files;
pub(super) mod lists;
pub(super) mod personal;

use crate::audience::{MassList, MassReason, Recipient};
use crate::finding::{Diagnostic, Location};
use crate::message::Field;

use super::thousands;
use regex::Regex;

/// For rules without options: rejects any key.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NoOptions {}

/// How a mass list is described in findings (mass-list, reply-all-to-list,
/// confidential-broad): `everyone@x (an everyone-style name)`.
pub(super) fn describe(r: Recipient<'_>, mass: &MassList) -> String {
    match &mass.reason {
        MassReason::Configured { members: Some(n) } => {
            format!("{} (a list of {} members)", r.first().addr, thousands(*n))
        }
        MassReason::Configured { members: None } => {
            format!("{} (configured as a mass list)", r.first().addr)
        }
        MassReason::Named(name) => format!("{} (name matches `{name}`)", r.first().addr),
    }
}

/// `512 bytes`, `48.2 KB`, `2.4 MB`.
pub(super) fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return super::plural(bytes, "byte", "bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// How findings name an attachment: its file name, or its content type.
pub(super) fn attachment_name(msg: &crate::message::Message, index: usize) -> String {
    msg.attachments
        .get(index)
        .map(|a| a.filename.clone().unwrap_or_else(|| a.content_type.clone()))
        .unwrap_or_default()
}

/// Where a recipient was written.
pub(super) fn location(r: Recipient<'_>) -> Location {
    address_location(r.first().field, r.first().line)
}

/// Where an address of this field was written: its header, or for a
/// meeting invitation's attendee, the calendar part.
pub(super) fn address_location(field: Field, line: Option<usize>) -> Location {
    match field {
        Field::Attendee => Location::part(CALENDAR_PART, line),
        field => Location::header(field.header_name(), line),
    }
}

/// How findings name the calendar part of an invitation.
pub(super) const CALENDAR_PART: &str = "text/calendar";

/// Reports the first `max` findings one by one and counts the rest, for
/// rules that can find something about each of a million recipients.
pub(super) struct Capped {
    max: usize,
    reported: usize,
    /// Where the first finding not reported one by one was.
    rest: Option<Location>,
}

impl Capped {
    pub(super) fn new(max: usize) -> Self {
        Capped {
            max,
            reported: 0,
            rest: None,
        }
    }

    /// Adds a finding at `location`, built only if it is reported one by one.
    pub(super) fn push(
        &mut self,
        out: &mut Vec<Diagnostic>,
        location: Location,
        make: impl FnOnce(Location) -> Diagnostic,
    ) {
        if self.reported < self.max {
            out.push(make(location));
        } else if self.rest.is_none() {
            self.rest = Some(location);
        }
        self.reported += 1;
    }

    /// Adds the summary of the findings beyond the cap, if there were any:
    /// `make` gets how many, and where the first of them is.
    pub(super) fn finish(
        self,
        out: &mut Vec<Diagnostic>,
        make: impl FnOnce(u64, Location) -> Diagnostic,
    ) {
        if let Some(location) = self.rest {
            out.push(make((self.reported - self.max) as u64, location));
        }
    }
}

/// The longest domain name DNS can hold, without the root dot.
const MAX_DOMAIN: usize = 253;

/// [`domain_problem`]'s answer where the domain's ends decide it alone:
/// `Some(answer)`; `None` where the rest of the domain must be read.
fn edge_problem(domain: &str) -> Option<Option<String>> {
    if domain.is_empty() {
        return Some(Some("has nothing after the @".into()));
    }
    if let Some(literal) = domain.strip_prefix('[') {
        // A domain literal such as [192.0.2.1] or [IPv6:2001:db8::1].
        return Some((!literal.ends_with(']')).then(|| "has an unclosed `[` after the @".into()));
    }
    if domain.starts_with('.') {
        return Some(Some("has a dot just after the @".into()));
    }
    domain
        .ends_with('.')
        .then(|| Some("ends with a dot".into()))
}

/// Why a domain (as written) cannot receive mail, or `None` when it can:
/// invalid-address reports it, lookalike-domain skips such domains.
pub(super) fn domain_problem(domain: &str) -> Option<String> {
    if let Some(answer) = edge_problem(domain) {
        return answer;
    }
    let scan = DomainScan::of(domain);
    if scan.two_dots {
        return Some(format!("has two dots in a row in the domain `{domain}`"));
    }
    if domain.len() > MAX_DOMAIN {
        return Some(format!(
            "has a domain of {} characters (the limit is {MAX_DOMAIN})",
            domain.len()
        ));
    }
    let Some(last_dot) = scan.last_dot else {
        return Some(format!(
            "has no top-level domain: `{domain}` has no dot (like `{domain}.com`)"
        ));
    };
    let tld = &domain[last_dot + 1..];
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!("has a number as its top-level domain (`.{tld}`)"));
    }
    if let Some(at) = scan.first_not_allowed {
        return Some(format!(
            "has `{}` in the domain, which is not allowed there",
            char::from(domain.as_bytes()[at]).escape_default()
        ));
    }
    if let Some(label) = scan.first_bad_label.and_then(|at| domain.get(at)) {
        return Some(if label.starts_with('-') || label.ends_with('-') {
            format!("has the domain part `{label}`, which starts or ends with `-`")
        } else {
            "has a domain part longer than 63 characters".into()
        });
    }
    if (scan.non_ascii || scan.punycode) && idna_ascii(domain).is_none() {
        return Some(format!(
            "has an invalid internationalised domain (`{domain}`)"
        ));
    }
    None
}

/// The longest label (between dots) DNS can hold.
const MAX_LABEL: usize = 63;

/// What [`domain_problem`] asks about a domain, found in one look at each
/// of its bytes: one pass per question (`contains("..")`, a search for
/// the last dot, a search for a character no domain holds, its labels one
/// by one, ...) cost ~1,100 instructions for each domain of each message.
#[derive(Debug, Default, PartialEq)]
struct DomainScan {
    /// Two dots in a row.
    two_dots: bool,
    /// Where the last dot is.
    last_dot: Option<usize>,
    /// Where the first ASCII character other than a letter, a digit, `-`
    /// or `.` is.
    first_not_allowed: Option<usize>,
    /// The first label that starts or ends with `-`, or is longer than
    /// [`MAX_LABEL`] bytes.
    first_bad_label: Option<std::ops::Range<usize>>,
    /// A byte outside ASCII.
    non_ascii: bool,
    /// A label starting with `xn--`, in any case.
    punycode: bool,
}

impl DomainScan {
    fn of(domain: &str) -> Self {
        let bytes = domain.as_bytes();
        let mut scan = DomainScan::default();
        let mut label_start = 0;
        // Each label is judged at the dot or the end that closes it.
        for at in 0..=bytes.len() {
            let Some(&b) = bytes.get(at).filter(|&&b| b != b'.') else {
                let label = &bytes[label_start..at];
                if scan.first_bad_label.is_none()
                    && (label.first() == Some(&b'-')
                        || label.last() == Some(&b'-')
                        || label.len() > MAX_LABEL)
                {
                    scan.first_bad_label = Some(label_start..at);
                }
                scan.punycode |= label
                    .get(..4)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"xn--"));
                if at < bytes.len() {
                    scan.two_dots |= label.is_empty() && at > 0;
                    scan.last_dot = Some(at);
                }
                label_start = at + 1;
                continue;
            };
            if !b.is_ascii() {
                scan.non_ascii = true;
            } else if scan.first_not_allowed.is_none() && !(b.is_ascii_alphanumeric() || b == b'-')
            {
                scan.first_not_allowed = Some(at);
            }
        }
        scan
    }
}

/// The ASCII (Punycode) form of a domain by UTS #46 with the rules for host
/// names (letters, digits, hyphens; DNS lengths), or `None` when it is not a
/// valid domain name. The `idna` crate (rust-url's, used by every Rust HTTP
/// client) implements IDNA; getting it right by hand is not realistic.
pub(super) fn idna_ascii(domain: &str) -> Option<std::borrow::Cow<'_, str>> {
    use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
    Uts46::new()
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::CheckFirstLast,
            DnsLength::Verify,
        )
        .ok()
}

/// The recipients the history rules judge: not the sender's own addresses,
/// and not everyone-style lists (mass-list speaks for those).
pub(super) fn judged<'a>(cx: &'a super::Context<'_>) -> impl Iterator<Item = Recipient<'a>> {
    cx.audience
        .recipients()
        .filter(|r| !r.own && r.mass.is_none() && r.first().addr.contains('@'))
}

/// A regex from one of the rules' own constant patterns. Every test run
/// compiles each of them, so the `expect` cannot fail on any input.
#[allow(clippy::expect_used)]
pub(super) fn constant_regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the rules' patterns are valid")
}

#[cfg(test)]
mod tests {
    use super::{MAX_DOMAIN, domain_problem, edge_problem, idna_ascii};

    /// `domain_problem` as it was, one pass per question: the reference
    /// its one look at each byte must agree with (the checks of the
    /// domain's ends did not change and are shared).
    fn domain_problem_by_passes(domain: &str) -> Option<String> {
        if let Some(answer) = edge_problem(domain) {
            return answer;
        }
        if domain.contains("..") {
            return Some(format!("has two dots in a row in the domain `{domain}`"));
        }
        if domain.len() > MAX_DOMAIN {
            return Some(format!(
                "has a domain of {} characters (the limit is {MAX_DOMAIN})",
                domain.len()
            ));
        }
        let Some((_, tld)) = domain.rsplit_once('.') else {
            return Some(format!(
                "has no top-level domain: `{domain}` has no dot (like `{domain}.com`)"
            ));
        };
        if tld.bytes().all(|b| b.is_ascii_digit()) {
            return Some(format!("has a number as its top-level domain (`.{tld}`)"));
        }
        if let Some(c) = domain
            .chars()
            .find(|&c| c.is_ascii() && !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
        {
            return Some(format!(
                "has `{}` in the domain, which is not allowed there",
                c.escape_default()
            ));
        }
        for label in domain.split('.') {
            if label.starts_with('-') || label.ends_with('-') {
                return Some(format!(
                    "has the domain part `{label}`, which starts or ends with `-`"
                ));
            }
            if label.len() > 63 {
                return Some("has a domain part longer than 63 characters".into());
            }
        }
        let idn = !domain.is_ascii()
            || domain
                .split('.')
                .any(|l| l.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("xn--")));
        if idn && idna_ascii(domain).is_none() {
            return Some(format!(
                "has an invalid internationalised domain (`{domain}`)"
            ));
        }
        None
    }

    #[test]
    fn each_problem_in_its_order() {
        let long_label = "a".repeat(64);
        let long_domain = format!("{}com", "abcdefghi.".repeat(26));
        for (domain, problem) in [
            ("example.com", None),
            ("mail.example.co.uk", None),
            ("xn--bcher-kva.example", None),
            ("bücher.example", None),
            ("[192.0.2.1]", None),
            ("", Some("has nothing after the @")),
            ("[192.0.2.1", Some("has an unclosed `[` after the @")),
            (".example.com", Some("has a dot just after the @")),
            ("example.com.", Some("ends with a dot")),
            (
                "a..b_c.com",
                Some("has two dots in a row in the domain `a..b_c.com`"),
            ),
            (
                &long_domain,
                Some("has a domain of 263 characters (the limit is 253)"),
            ),
            (
                "example",
                Some("has no top-level domain: `example` has no dot (like `example.com`)"),
            ),
            (
                "example.123",
                Some("has a number as its top-level domain (`.123`)"),
            ),
            (
                "exa_mple.c,om",
                Some("has `_` in the domain, which is not allowed there"),
            ),
            (
                "a.-b.c-.com",
                Some("has the domain part `-b`, which starts or ends with `-`"),
            ),
            (
                &format!("{long_label}.b-.com"),
                Some("has a domain part longer than 63 characters"),
            ),
            (
                "XN--zz.example",
                Some("has an invalid internationalised domain (`XN--zz.example`)"),
            ),
        ] {
            assert_eq!(domain_problem(domain).as_deref(), problem, "{domain}");
            assert_eq!(
                domain_problem_by_passes(domain).as_deref(),
                problem,
                "{domain}"
            );
        }
    }

    proptest::proptest! {
        /// The one look at each byte finds what the passes found, in the
        /// same order.
        #[test]
        fn one_look_finds_what_the_passes_found(
            domain in "(?:[a-z0-9.\\-]|[A-Z_, @\\[\\]]|xn--|XN--|é|ß|\u{2024}|a{60,66}){0,24}",
        ) {
            proptest::prop_assert_eq!(domain_problem(&domain), domain_problem_by_passes(&domain));
        }
    }
}
