use super::shared::constant_regex;
use super::{Context, Rule, declare_rule, plural, thousands};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::gate::{self, Screened};
use crate::message::{Attachment, BodyKind, has_forward_prefix};
use aho_corasick::AhoCorasick;
use regex::Regex;
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::LazyLock;

declare_rule! {
    /// ## What it checks
    /// Personal data in the subject, the body (HTML read as text), text
    /// attachments (`.txt`, `.csv`, `.tsv`, `text/plain`) and attached
    /// messages (a forward sent as `message/rfc822`, read as text):
    ///
    /// - **payment card numbers**: 13–19 digits, written together or in
    ///   groups (`4-4-4-4`, `4-6-5`) separated by single spaces or dashes,
    ///   with a known issuer prefix and length (Visa, Mastercard, Amex,
    ///   Discover, JCB, Diners, Maestro, UnionPay) and a valid Luhn check
    ///   digit. A number inside a longer run of digits, a URL, an address
    ///   or a message id, or one labelled as an order, tracking, invoice,
    ///   reference, account, phone, IMEI, ... number is not one;
    /// - **IBANs**: country code, check digits and the country's length,
    ///   written together or in groups of four, with a valid mod-97 check;
    /// - **UK National Insurance numbers** (`AB123456C`, `AB 12 34 56 C`)
    ///   with the official letter rules (no D, F, I, Q, U, V; no O second;
    ///   no BG, GB, KN, NK, NT, TN, ZZ prefix; so HMRC's `QQ 12 34 56 C`
    ///   placeholder is not one);
    /// - **US Social Security numbers** (`123-45-6789`, valid area, group
    ///   and serial), only with "SSN", "social security", "SS#" ... within
    ///   40 characters;
    /// - **NHS numbers** (`943 476 5919`, `9434765919`, `943-476-5919`)
    ///   with a valid modulus 11 check digit, only with "NHS number", "NHS
    ///   No.", "NHS#" or "NHS:" within 40 characters;
    /// - **passport numbers**: a 6–9 character token of capitals and digits,
    ///   with a digit, within 40 characters after "passport", "passport no",
    ///   "Reisepass", "passeport", "pasaporte", "passaporto" or "paspoort",
    ///   in the same sentence and not after a word that names it something
    ///   else ("my passport came back! Flight BA0500", "passport, booking
    ///   ref AB1234" are not);
    ///   in a CSV or TSV file, also every such value in a column headed
    ///   "passport ..." (and 123-45-6789 values in an "SSN" column, valid
    ///   NHS numbers in an "NHS number" one). A `.csv` file's columns may be
    ///   separated by commas, semicolons or tabs (what its header line
    ///   uses most).
    ///
    /// One finding per place (subject, body part, attachment) states the
    /// kinds and how many distinct values, with up to three examples masked
    /// down to their last four characters: the values are never printed.
    ///
    /// It is an error when the message goes outside the organisation, is
    /// sent from a personal mailbox (gmail.com, hotmail.com, ... and
    /// `organization.personal_domains`: the data has left the
    /// organisation's systems whoever it is to) or goes to an everyone-style
    /// list, and a warning for internal mail.
    ///
    /// Data leaving is data leaving, so the whole text is read, forwarded
    /// messages included. One exception: in a reply (that is not a forward
    /// and does not go to an everyone-style list) the quoted history — `>`
    /// lines, and everything from "On … wrote:" or an Outlook header block
    /// on — and the signature are not read: the people in the thread have
    /// seen it already, and repeating it back is not a new disclosure.
    ///
    /// ## Why it matters
    /// A member of the G20 summit's staff accidentally emailed the personal
    /// details, passport numbers included, of 31 world leaders attending the
    /// summit to the organisers of the Asian Cup football tournament. Data
    /// emailed to the wrong people is one of the most common personal data
    /// breaches reported to data protection regulators.
    ///
    /// ## Example
    /// ```text
    /// To: accreditation@footballcup.example
    /// Subject: Leaders' arrival - accreditation details
    ///
    ///  1. Prime Minister of Aldoria - Passport no. 617644717 (diplomatic)
    ///  2. Chancellor of Belmarre - Passport no. 525380048 (diplomatic)
    /// ```
    ///
    /// ## How to fix
    /// Check the recipients, then remove the data the recipients do not need
    /// or send it through an approved secure channel. Values your
    /// organisation publishes on purpose (its own IBAN in a signature or on
    /// invoices) go in `allow`.
    ///
    /// ## Options
    /// ```toml
    /// [rules.personal-data]
    /// kinds = ["card", "iban", "ni", "ssn", "nhs", "passport"]  # what to look for
    /// min_count = 1   # distinct values in one place needed for a finding
    /// allow = []      # values never reported, e.g. ["GB82 WEST 1234 5698 7654 32"]
    /// ```
    id: "personal-data",
    severity: Warning,
    summary: "Card numbers, IBANs, NI numbers, SSNs, NHS numbers or passport numbers in the mail; an error when it leaves the organisation",
    build: PersonalData::build,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Passport,
    Card,
    Iban,
    Ni,
    Ssn,
    Nhs,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::Card,
        Kind::Iban,
        Kind::Ni,
        Kind::Ssn,
        Kind::Nhs,
        Kind::Passport,
    ];

    fn key(self) -> &'static str {
        match self {
            Kind::Card => "card",
            Kind::Iban => "iban",
            Kind::Ni => "ni",
            Kind::Ssn => "ssn",
            Kind::Nhs => "nhs",
            Kind::Passport => "passport",
        }
    }

    fn noun(self, n: u64) -> String {
        let (one, many) = match self {
            Kind::Card => ("payment card number", "payment card numbers"),
            Kind::Iban => ("IBAN", "IBANs"),
            Kind::Ni => (
                "UK National Insurance number",
                "UK National Insurance numbers",
            ),
            Kind::Ssn => ("US Social Security number", "US Social Security numbers"),
            Kind::Nhs => ("NHS number", "NHS numbers"),
            Kind::Passport => ("passport number", "passport numbers"),
        };
        plural(n, one, many)
    }
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct Options {
    kinds: Vec<String>,
    min_count: u64,
    allow: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            kinds: Kind::ALL.iter().map(|k| k.key().to_string()).collect(),
            min_count: 1,
            allow: Vec::new(),
        }
    }
}

struct PersonalData {
    kinds: Vec<Kind>,
    min_count: u64,
    /// Normalised (capitals and digits only) values never reported.
    allow: HashSet<String>,
}

impl PersonalData {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let options: Options = settings.options()?;
        let mut kinds = Vec::new();
        for name in &options.kinds {
            let kind = Kind::ALL
                .into_iter()
                .find(|k| k.key() == name)
                .ok_or_else(|| {
                    OptionError::new(
                        "kinds",
                        format!(
                            "unknown kind `{name}`, expected one of `card`, `iban`, `ni`, `ssn`, `nhs`, `passport`"
                        ),
                    )
                })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        if kinds.is_empty() {
            return Err(OptionError::new(
                "kinds",
                "must name at least one kind (to switch the rule off, use `severity = \"off\"`)",
            ));
        }
        if options.min_count == 0 {
            return Err(OptionError::new("min_count", "must be at least 1"));
        }
        let mut allow = HashSet::new();
        for value in &options.allow {
            let normal = normalise(value);
            if normal.len() < 6 {
                return Err(OptionError::new(
                    "allow",
                    format!("`{value}` is not a card number, IBAN or other identifier"),
                ));
            }
            allow.insert(normal);
        }
        Ok(Box::new(PersonalData {
            kinds,
            min_count: options.min_count,
            allow,
        }))
    }

    fn report(
        &self,
        hits: &Hits,
        place: &str,
        location: Location,
        (severity, audience): (Severity, &str),
    ) -> Option<Diagnostic> {
        if (hits.values.len() as u64) < self.min_count {
            return None;
        }
        let mut counts: Vec<(Kind, u64)> = Vec::new();
        for (kind, _) in &hits.values {
            match counts.iter_mut().find(|(k, _)| k == kind) {
                Some((_, n)) => *n += 1,
                None => counts.push((*kind, 1)),
            }
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let what = counts
            .iter()
            .map(|(k, n)| k.noun(*n))
            .collect::<Vec<_>>()
            .join(", ");
        let shown: Vec<String> = counts
            .iter()
            .flat_map(|(kind, _)| hits.values.iter().filter(move |(k, _)| k == kind))
            .take(EXAMPLES)
            .map(|(_, v)| mask(v))
            .collect();
        let more = hits.values.len().saturating_sub(EXAMPLES) as u64;
        let mut examples = shown.join(", ");
        if more > 0 {
            examples.push_str(&format!(", and {} more", thousands(more)));
        }
        Some(
            Diagnostic::new(
                severity,
                format!("{what} in {place}{audience}: {examples}"),
                location,
            )
            .help("check the recipients; remove what they do not need, or send it through an approved secure channel"),
        )
    }
}

/// Masked examples shown per finding.
const EXAMPLES: usize = 3;

impl Rule for PersonalData {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let msg = cx.message;
        let mass = cx.audience.reaches_mass_list();
        // Mail from a personal mailbox has left the organisation's systems
        // whoever it is to, its own addresses and colleagues included.
        let personal_account = msg
            .sender()
            .and_then(|a| a.domain())
            .filter(|d| cx.audience.is_personal(d) && !cx.audience.is_internal(d))
            .map(|d| format!(" sent from a personal account ({})", d.to_ascii_lowercase()));
        let reach = if cx.audience.goes_outside() {
            (Severity::Error, " going outside the organisation")
        } else if let Some(account) = &personal_account {
            (Severity::Error, account.as_str())
        } else if mass {
            (Severity::Error, " going to an everyone-style list")
        } else {
            (Severity::Warning, "")
        };
        let forward = msg.subject.as_deref().is_some_and(has_forward_prefix);
        // In a reply, the quoted history is what the thread has already seen.
        let new_text_only = msg.is_reply && !forward && !mass;

        if let Some(subject) = &msg.subject {
            let mut hits = Hits::new(&self.allow);
            scan(subject, &self.kinds, &mut hits);
            let location = Location::header("Subject", msg.header_line("Subject"));
            out.extend(self.report(&hits, "the subject", location, reach));
        }
        for part in msg.readable_parts() {
            let text = if new_text_only {
                part.authored()
            } else {
                part.plain()
            };
            let mut hits = Hits::new(&self.allow);
            scan(text, &self.kinds, &mut hits);
            let place = match part.kind {
                BodyKind::Text => "the text body",
                BodyKind::Html => "the HTML body",
            };
            let line = match hits.first.and_then(|at| text.get(at..)) {
                Some(found) => part.line_of(found),
                None => part.line,
            };
            let location = Location::part(part.mime_type(), line);
            out.extend(self.report(&hits, place, location, reach));
        }
        for attachment in &msg.attachments {
            let Some(text) = readable_attachment(attachment) else {
                continue;
            };
            let mut hits = Hits::new(&self.allow);
            if let Some(separator) = table_separator(attachment, text) {
                scan_table(text, separator, &self.kinds, &mut hits);
            }
            scan(text, &self.kinds, &mut hits);
            let place = match &attachment.filename {
                Some(name) => format!("attachment {name}"),
                None if attachment.content_type.starts_with("message/") => {
                    "the attached message".to_string()
                }
                None => format!("attachment {}", attachment.content_type),
            };
            let name = attachment
                .filename
                .clone()
                .unwrap_or_else(|| attachment.content_type.clone());
            out.extend(self.report(&hits, &place, Location::part(name, None), reach));
        }
    }
}

/// The text of an attachment worth reading: plain text, tables, and
/// attached messages (a forward sent as `message/rfc822`).
fn readable_attachment(a: &Attachment) -> Option<&str> {
    let text = a.text.as_deref()?;
    let ext = extension(a);
    let readable = matches!(
        a.content_type.as_str(),
        "text/plain"
            | "text/csv"
            | "text/tab-separated-values"
            | "application/csv"
            | "message/rfc822"
            | "message/global"
    ) || matches!(ext.as_deref(), Some("txt" | "csv" | "tsv"));
    readable.then_some(text)
}

fn extension(a: &Attachment) -> Option<String> {
    let name = a.filename.as_deref()?.trim();
    name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())
}

/// The column separator of a table: a CSV file's is a comma, or the
/// semicolon or tab that spreadsheets set to their locale write, whichever
/// its header line has most of.
fn table_separator(a: &Attachment, text: &str) -> Option<char> {
    let default = match (extension(a).as_deref(), a.content_type.as_str()) {
        (Some("tsv"), _) | (_, "text/tab-separated-values") => '\t',
        (Some("csv"), _) | (_, "text/csv" | "application/csv") => ',',
        _ => return None,
    };
    let header = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let count = |separator: char| split_row(header, separator).count();
    let best = [default, ',', ';', '\t']
        .into_iter()
        .max_by_key(|&separator| (count(separator), separator == default))
        .unwrap_or(default);
    Some(best)
}

/// The distinct values found in one place, in order of appearance.
struct Hits<'a> {
    allow: &'a HashSet<String>,
    seen: HashSet<(Kind, String)>,
    values: Vec<(Kind, String)>,
    /// Byte offset in the scanned text of the first value, for its line.
    first: Option<usize>,
}

impl<'a> Hits<'a> {
    fn new(allow: &'a HashSet<String>) -> Self {
        Hits {
            allow,
            seen: HashSet::new(),
            values: Vec::new(),
            first: None,
        }
    }

    /// Adds a value found `at` this byte offset of the scanned text.
    fn add(&mut self, kind: Kind, raw: &str, at: usize) {
        let value = normalise(raw);
        if self.allow.contains(&value) {
            return;
        }
        if self.seen.insert((kind, value.clone())) {
            self.values.push((kind, value));
            self.first = Some(self.first.map_or(at, |first| first.min(at)));
        }
    }
}

/// Capitals and digits only: the form values are compared and masked in.
fn normalise(value: &str) -> String {
    value
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// All but the last four characters replaced by `•`.
fn mask(value: &str) -> String {
    let n = value.chars().count();
    value
        .chars()
        .enumerate()
        .map(|(i, c)| if i + 4 < n { '•' } else { c })
        .collect()
}

fn scan(text: &str, kinds: &[Kind], hits: &mut Hits<'_>) {
    // Most text has too few digits for a card or an ID number, and no
    // passport label: then those patterns are neither run nor compiled.
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    for kind in kinds {
        let possible = match kind {
            Kind::Card => digits >= 13,
            Kind::Iban => digits >= 2,
            Kind::Ni => digits >= 6,
            Kind::Ssn => digits >= 9,
            Kind::Nhs => digits >= 10 && NHS_WORDS.is_match(text),
            Kind::Passport => PASSPORT_WORDS.is_match(text),
        };
        if !possible {
            continue;
        }
        match kind {
            Kind::Card => scan_cards(text, hits),
            Kind::Iban => scan_ibans(text, hits),
            Kind::Ni => scan_ni(text, hits),
            Kind::Ssn => scan_ssns(text, hits),
            Kind::Nhs => scan_nhs(text, hits),
            Kind::Passport => scan_passports(text, hits),
        }
    }
}

// ---------------------------------------------------------------------------
// Shared helpers

/// Whether `text[start..end]` stands on its own: not glued to letters or
/// digits, and not part of a URL, an address, a path, a file name, a
/// decimal number or a message id.
fn standalone(text: &str, start: usize, end: usize) -> bool {
    const GLUE: &str = "/\\=?&#@_+-%$~|^<>";
    if let Some(c) = text.get(..start).and_then(|s| s.chars().next_back())
        && (c.is_alphanumeric() || GLUE.contains(c) || c == '.')
    {
        return false;
    }
    let mut after = text.get(end..).unwrap_or("").chars();
    if let Some(c) = after.next() {
        if c.is_alphanumeric() || GLUE.contains(c) {
            return false;
        }
        if matches!(c, '.' | ',' | ':') && after.next().is_some_and(char::is_alphanumeric) {
            return false;
        }
    }
    true
}

/// Up to `len` bytes of `text` before `at`, cut at a character boundary.
fn before(text: &str, at: usize, len: usize) -> &str {
    let mut start = at.saturating_sub(len);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text.get(start..at).unwrap_or("")
}

/// Up to `len` bytes of `text` after `at`, cut at a character boundary.
fn after(text: &str, at: usize, len: usize) -> &str {
    let mut end = (at + len).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(at..end).unwrap_or("")
}

/// How far around a value its label is looked for.
const CONTEXT: usize = 40;

// ---------------------------------------------------------------------------
// Payment cards

/// Maximal runs of digit groups separated by single spaces or dashes.
static DIGIT_RUN: LazyLock<Regex> = LazyLock::new(|| constant_regex(r"[0-9]+(?:[ -][0-9]+)*"));

/// Words that say what a nearby number is: group 1, a card; group 2,
/// something else.
static CARD_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    constant_regex(concat!(
        r"(?i)\b(?:",
        r"(cards?|visa|master\s?card|amex|american express|discover|maestro|jcb|diners|union\s?pay|kreditkarte|karte|carte|tarjeta|carta|cc|pan)",
        r"|(orders?|tracking|track|trace|parcels?|packages?|shipments?|consignment|waybill|awb|invoices?|inv|ref|reference|tickets?|booking|confirmation|reservation|customer|member(?:ship)?|account|acct|policy|case|claim|serial|imei|iccid|sim|tel|phone|telephone|fax|mobile|cell|id|transaction|txn|auftrag|bestellung|sendung|rechnung|commande|pedido)",
        r")\b"
    ))
});

fn scan_cards(text: &str, hits: &mut Hits<'_>) {
    for m in DIGIT_RUN.find_iter(text) {
        let run = m.as_str();
        if run.len() < 13 {
            continue;
        }
        if let Some(len) = card_in_run(run)
            && standalone(text, m.start(), m.start() + len)
            && !labelled_otherwise(text, m.start(), m.start() + len)
        {
            hits.add(Kind::Card, &run[..len], m.start());
        }
    }
}

/// The byte length of the card number a run of digit groups is, or starts
/// with when four groups of four are followed by more (a CVV, an expiry).
fn card_in_run(run: &str) -> Option<usize> {
    let bytes = run.as_bytes();
    let separator = bytes.iter().copied().find(|b| !b.is_ascii_digit());
    if separator.is_some_and(|s| bytes.iter().any(|&b| !b.is_ascii_digit() && b != s)) {
        return None; // mixed spaces and dashes: not one number
    }
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    if (13..=19).contains(&digits) {
        let groups: Vec<&str> = match separator {
            Some(s) => run.split(s as char).collect(),
            None => vec![run],
        };
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        if card_grouping(&lens) && is_card(&groups.concat()) {
            return Some(run.len());
        }
        // `4111 1111 1111 1111 123`: the card, then its security code.
        if separator == Some(b' ') && lens.len() == 5 && lens[..4] == [4, 4, 4, 4] {
            let card = groups[..4].concat();
            if is_card(&card) {
                return Some(19);
            }
        }
    }
    None
}

/// How card numbers are written: all together, `4-4-4-4`, `4-4-4-4-3`,
/// `4-4-4-1`, `4-6-5` (Amex), `4-6-4` (Diners).
fn card_grouping(lens: &[usize]) -> bool {
    match lens {
        [n] => (13..=19).contains(n),
        [4, 6, 5] | [4, 6, 4] => true,
        [first @ .., last] => {
            first.len() >= 3 && first.iter().all(|&g| g == 4) && (1..=4).contains(last)
        }
        [] => false,
    }
}

fn is_card(digits: &str) -> bool {
    issuer_accepts(digits) && luhn(digits.as_bytes())
}

/// A known issuer's prefix, with a length that issuer uses.
fn issuer_accepts(d: &str) -> bool {
    let len = d.len();
    let prefix = |n: usize| -> u32 { d.get(..n).and_then(|p| p.parse().ok()).unwrap_or(0) };
    let (p2, p3, p4, p6) = (prefix(2), prefix(3), prefix(4), prefix(6));
    let in_range = |v: u32, lo: u32, hi: u32| (lo..=hi).contains(&v);
    // Visa
    (d.starts_with('4') && matches!(len, 13 | 16 | 19))
        // Mastercard
        || ((in_range(p2, 51, 55) || in_range(p4, 2221, 2720)) && len == 16)
        // American Express
        || (matches!(p2, 34 | 37) && len == 15)
        // Discover
        || ((p4 == 6011 || in_range(p3, 644, 649) || p2 == 65) && (16..=19).contains(&len))
        // JCB
        || (in_range(p4, 3528, 3589) && (16..=19).contains(&len))
        // Diners Club
        || ((in_range(p3, 300, 305) || p4 == 3095 || matches!(p2, 36 | 38 | 39))
            && (14..=19).contains(&len))
        // Maestro
        || (matches!(p4, 5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761 | 6762 | 6763)
            && (13..=19).contains(&len))
        // UnionPay
        || (p2 == 62 && (16..=19).contains(&len) && p6 > 0)
}

fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &b) in digits.iter().rev().enumerate() {
        let mut d = u32::from(b.wrapping_sub(b'0'));
        if d > 9 {
            return false;
        }
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// Whether the words around a number call it something other than a card:
/// the nearest label before it, or failing a card label before it the first
/// label after it.
fn labelled_otherwise(text: &str, start: usize, end: usize) -> bool {
    let mut nearest_before = None;
    for caps in CARD_LABEL.captures_iter(before(text, start, CONTEXT)) {
        nearest_before = Some(caps.get(1).is_some());
    }
    match nearest_before {
        Some(card) => !card,
        None => CARD_LABEL
            .captures(after(text, end, 25))
            .is_some_and(|caps| caps.get(2).is_some()),
    }
}

// ---------------------------------------------------------------------------
// IBANs

static IBAN: LazyLock<Screened> = LazyLock::new(|| {
    Screened::new(
        r"\b[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,8}(?: [A-Z0-9]{1,3})?)\b",
    )
});

/// IBAN lengths by country (the SWIFT IBAN registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

fn scan_ibans(text: &str, hits: &mut Hits<'_>) {
    let Some(iban) = IBAN.screen(text) else {
        return;
    };
    for m in iban.find_iter(text) {
        let candidate = m.as_str();
        let Some(&(_, len)) = IBAN_LENGTHS
            .iter()
            .find(|(cc, _)| candidate.starts_with(cc))
        else {
            continue;
        };
        let compact: String = candidate.chars().filter(|c| *c != ' ').collect();
        let grouped = compact.len() != candidate.len();
        // A grouped IBAN may be followed by a word of four capitals, which
        // the pattern takes as one more group: cut at the country's length.
        let (value, end) = if compact.len() == len {
            (compact.as_str(), m.end())
        } else if grouped && compact.len() > len && len % 4 == 0 {
            (&compact[..len], m.start() + len + len / 4 - 1)
        } else {
            continue;
        };
        if standalone(text, m.start(), end) && mod97(value) {
            hits.add(Kind::Iban, value, m.start());
        }
    }
}

/// ISO 7064 MOD 97-10: the IBAN with its first four characters moved to
/// the end, letters as 10–35, is 1 modulo 97.
fn mod97(iban: &str) -> bool {
    let (head, tail) = iban.split_at(4.min(iban.len()));
    let mut rest = 0u32;
    for c in tail.chars().chain(head.chars()) {
        match c.to_digit(36) {
            Some(v) if v < 10 => rest = (rest * 10 + v) % 97,
            Some(v) => rest = (rest * 100 + v) % 97,
            None => return false,
        }
    }
    rest == 1
}

// ---------------------------------------------------------------------------
// UK National Insurance numbers

static NI: LazyLock<Screened> = LazyLock::new(|| {
    Screened::new(r"\b([A-Z]{2}) ?(?:[0-9]{6}|[0-9]{2} [0-9]{2} [0-9]{2}) ?[A-D]\b")
});

fn scan_ni(text: &str, hits: &mut Hits<'_>) {
    let Some(ni) = NI.screen(text) else {
        return;
    };
    for caps in ni.captures_iter(text) {
        let (Some(m), Some(prefix)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        let &[first, second] = prefix.as_str().as_bytes() else {
            continue;
        };
        let first_ok = !matches!(first, b'D' | b'F' | b'I' | b'Q' | b'U' | b'V');
        let second_ok = !matches!(second, b'D' | b'F' | b'I' | b'O' | b'Q' | b'U' | b'V');
        let prefix_ok = !matches!(
            prefix.as_str(),
            "BG" | "GB" | "KN" | "NK" | "NT" | "TN" | "ZZ"
        );
        if first_ok && second_ok && prefix_ok && standalone(text, m.start(), m.end()) {
            hits.add(Kind::Ni, m.as_str(), m.start());
        }
    }
}

// ---------------------------------------------------------------------------
// US Social Security numbers

static SSN: LazyLock<Screened> =
    LazyLock::new(|| Screened::new(r"\b([0-9]{3})-([0-9]{2})-([0-9]{4})\b"));

static SSN_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    constant_regex(r"(?i)(?:\bssns?\b|\bss#|\bss ?no\b|social[ -]security|\bsoc\.? ?sec\b)")
});

fn valid_ssn(area: &str, group: &str, serial: &str) -> bool {
    area != "000"
        && area != "666"
        && !area.starts_with('9')
        && group != "00"
        && serial != "0000"
        // Published in ads and on a sample card: not anyone's.
        && !matches!((area, group, serial), ("078", "05", "1120") | ("219", "09", "9999"))
}

fn scan_ssns(text: &str, hits: &mut Hits<'_>) {
    let Some(ssn) = SSN.screen(text) else {
        return;
    };
    for caps in ssn.captures_iter(text) {
        let (Some(m), Some(a), Some(g), Some(s)) =
            (caps.get(0), caps.get(1), caps.get(2), caps.get(3))
        else {
            continue;
        };
        if valid_ssn(a.as_str(), g.as_str(), s.as_str())
            && standalone(text, m.start(), m.end())
            && (SSN_LABEL.is_match(before(text, m.start(), CONTEXT))
                || SSN_LABEL.is_match(after(text, m.end(), CONTEXT)))
        {
            hits.add(Kind::Ssn, m.as_str(), m.start());
        }
    }
}

// ---------------------------------------------------------------------------
// NHS numbers

/// Ten digits, together or grouped 3-3-4 by spaces or dashes.
static NHS: LazyLock<Screened> =
    LazyLock::new(|| Screened::new(r"\b[0-9]{3}([ -]?)[0-9]{3}([ -]?)[0-9]{4}\b"));

/// "NHS number", "NHS No.", "NHS#", "NHS:": the word alone is in every
/// nhs.net address.
static NHS_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    constant_regex(r"(?i)\bnhs\s*(?:numbers?\b|nos?\b\.?|num\b|nr\b|#|:|-?\s*ids?\b)")
});

/// A word of every [`NHS_LABEL`] alternative (see `gate.rs`).
static NHS_WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| gate::words(&["nhs"]));

/// The NHS number check (modulus 11): the first nine digits weighted 10
/// down to 2, the check digit 11 minus their sum modulo 11 (11 becomes 0;
/// 10 is never issued).
fn nhs_check(digits: &[u8]) -> bool {
    let [first @ .., check] = digits else {
        return false;
    };
    // All the same digit (0000000000 passes the check): a placeholder.
    let repeated = digits.windows(2).all(|pair| pair[0] == pair[1]);
    if first.len() != 9 || !digits.iter().all(u8::is_ascii_digit) || repeated {
        return false;
    }
    let sum: u32 = first
        .iter()
        .zip((2..=10).rev())
        .map(|(d, weight)| u32::from(d - b'0') * weight)
        .sum();
    let expected = match 11 - sum % 11 {
        11 => 0,
        10 => return false,
        n => n,
    };
    u32::from(check - b'0') == expected
}

fn scan_nhs(text: &str, hits: &mut Hits<'_>) {
    let Some(nhs) = NHS.screen(text) else {
        return;
    };
    for caps in nhs.captures_iter(text) {
        let (Some(m), Some(s1), Some(s2)) = (caps.get(0), caps.get(1), caps.get(2)) else {
            continue;
        };
        let digits: Vec<u8> = m.as_str().bytes().filter(u8::is_ascii_digit).collect();
        if s1.as_str() == s2.as_str()
            && nhs_check(&digits)
            && standalone(text, m.start(), m.end())
            && (NHS_LABEL.is_match(before(text, m.start(), CONTEXT))
                || NHS_LABEL.is_match(after(text, m.end(), CONTEXT)))
        {
            hits.add(Kind::Nhs, m.as_str(), m.start());
        }
    }
}

// ---------------------------------------------------------------------------
// Passport numbers

static PASSPORT_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    constant_regex(r"(?i)\b(?:passports?|reisepass|passeports?|pasaportes?|passaport[oi]|paspoort)")
});

/// A passport number as issuers write them: 6 to 9 capitals and digits,
/// with at least one digit.
fn passport_token(token: &str) -> bool {
    (6..=9).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && token.bytes().any(|b| b.is_ascii_digit())
}

/// A word of every [`PASSPORT_LABEL`] alternative (see `gate.rs`).
static PASSPORT_WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    gate::words(&[
        "passport",
        "reisepass",
        "passeport",
        "pasaporte",
        "passaport",
        "paspoort",
    ])
});

/// Words that say the next value is something other than a passport
/// number: "my passport came, flight BA0500".
const NOT_PASSPORT: &[&str] = &[
    "flight",
    "flights",
    "booking",
    "reference",
    "ref",
    "order",
    "seat",
    "ticket",
    "confirmation",
    "reservation",
    "room",
    "gate",
    "train",
    "tracking",
    "invoice",
    "case",
    "account",
    "phone",
    "tel",
    "code",
    "pnr",
    "application",
];

/// Where the sentence a label is in ends, in the text after it: at `!`,
/// `?`, or a `.` followed by a new sentence's capitalised word (`No.
/// AB1234567` goes on).
fn sentence_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().find_map(|(i, &b)| {
        let ends = match b {
            b'!' | b'?' => true,
            b'.' => {
                let next = &bytes[i + 1..];
                let word = next.iter().position(|c| !c.is_ascii_whitespace());
                word.is_some_and(|w| {
                    w > 0
                        && next[w].is_ascii_uppercase()
                        && next.get(w + 1).is_some_and(u8::is_ascii_lowercase)
                })
            }
            _ => false,
        };
        ends.then_some(i)
    })
}

fn scan_passports(text: &str, hits: &mut Hits<'_>) {
    for m in PASSPORT_LABEL.find_iter(text) {
        let mut window = after(text, m.end(), CONTEXT);
        // The window may cut the last token short, unless it ends with the
        // label's sentence.
        let mut cut_short = m.end() + window.len() < text.len();
        if let Some(end) = sentence_end(window) {
            window = &window[..end];
            cut_short = false;
        }
        let window_end = m.end() + window.len();
        let tokens = window
            .char_indices()
            .filter(|(_, c)| !c.is_ascii_alphanumeric())
            .map(|(i, c)| (i, i + c.len_utf8()))
            .chain(std::iter::once((window.len(), window.len())));
        let mut start = 0;
        for (sep_start, sep_end) in tokens {
            let token = &window[start..sep_start];
            let (abs_start, abs_end) = (m.end() + start, m.end() + sep_start);
            start = sep_end;
            if abs_end == window_end && cut_short {
                break;
            }
            if NOT_PASSPORT.iter().any(|w| token.eq_ignore_ascii_case(w)) {
                break;
            }
            if passport_token(token) && standalone(text, abs_start, abs_end) {
                hits.add(Kind::Passport, token, abs_start);
                break;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Tables

/// In a CSV or TSV file, values in a column headed "Passport ...", "SSN"
/// or "NHS number" are labelled by the header, however far below it they
/// are.
fn scan_table(text: &str, separator: char, kinds: &[Kind], hits: &mut Hits<'_>) {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return;
    };
    let mut columns: Vec<(usize, Kind)> = Vec::new();
    for (i, cell) in split_row(header, separator).enumerate() {
        if kinds.contains(&Kind::Passport) && PASSPORT_LABEL.is_match(cell) {
            columns.push((i, Kind::Passport));
        } else if kinds.contains(&Kind::Ssn) && SSN_LABEL.is_match(cell) {
            columns.push((i, Kind::Ssn));
        } else if kinds.contains(&Kind::Nhs) && NHS_LABEL.is_match(&format!("{cell}:")) {
            columns.push((i, Kind::Nhs));
        }
    }
    if columns.is_empty() {
        return;
    }
    for line in lines {
        let mut next = 0;
        for (i, cell) in split_row(line, separator).enumerate() {
            let Some(&(col, kind)) = columns.get(next) else {
                break;
            };
            if i < col {
                continue;
            }
            next += 1;
            let cell = cell.trim();
            match kind {
                Kind::Passport if passport_token(cell) => hits.add(kind, cell, 0),
                Kind::Nhs => {
                    let digits: Vec<u8> =
                        cell.bytes().filter(|b| *b != b' ' && *b != b'-').collect();
                    if nhs_check(&digits) {
                        hits.add(kind, cell, 0);
                    }
                }
                Kind::Ssn => {
                    if let Some(c) = SSN.pattern().captures(cell)
                        && c.get(0).is_some_and(|m| m.as_str() == cell)
                        && let (Some(a), Some(g), Some(s)) = (c.get(1), c.get(2), c.get(3))
                        && valid_ssn(a.as_str(), g.as_str(), s.as_str())
                    {
                        hits.add(kind, cell, 0);
                    }
                }
                _ => {}
            }
        }
    }
}

/// The cells of one CSV/TSV line, double quotes removed; a separator inside
/// quotes does not split.
fn split_row(line: &str, separator: char) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    line.split(move |c: char| {
        if c == '"' {
            quoted = !quoted;
        }
        c == separator && !quoted
    })
    .map(|cell| cell.trim().trim_matches('"').trim())
}

#[cfg(test)]
mod tests {

    #[test]
    fn documented_options_are_the_defaults() {
        assert_eq!(
            crate::testing::documented_options::<super::Options>(&super::RULE),
            super::Options::default()
        );
    }
    use super::*;
    use crate::testing::{check_rule, check_rule_with, eml, option_error};

    fn found(text: &str) -> Vec<(Kind, String)> {
        let allow = HashSet::new();
        let mut hits = Hits::new(&allow);
        scan(text, &Kind::ALL, &mut hits);
        hits.values
    }

    fn kinds(text: &str) -> Vec<Kind> {
        found(text).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn luhn_and_issuers() {
        assert!(is_card("4111111111111111"));
        assert!(is_card("5500005555555559"));
        assert!(is_card("2223000048400011"));
        assert!(is_card("378282246310005"));
        assert!(is_card("6011000990139424"));
        assert!(is_card("3530111333300000"));
        assert!(is_card("30569309025904"));
        assert!(is_card("6200000000000005"));
        assert!(!is_card("4111111111111112"), "bad check digit");
        // Luhn-valid, but no issuer starts with 1, 7, 8, 9 or 0.
        assert!(luhn(b"1234567812345670") && !is_card("1234567812345670"));
        assert!(luhn(b"9400111202555845") && !is_card("9400111202555845"));
        // An IMEI is Luhn-valid and starts like JCB, but has 15 digits.
        assert!(luhn(b"356938035643809") && !is_card("356938035643809"));
    }

    #[test]
    fn cards_in_text() {
        for text in [
            "Card: 4111 1111 1111 1111, exp 09/27",
            "card number 4111-1111-1111-1111",
            "Visa 4111111111111111.",
            "Amex 3782 822463 10005 please",
            "pay with 4111 1111 1111 1111 123 (CVV)",
        ] {
            assert_eq!(kinds(text), [Kind::Card], "{text}");
        }
        assert_eq!(found("card 4111 1111 1111 1111")[0].1, "4111111111111111");
    }

    #[test]
    fn not_cards() {
        for text in [
            "Order #4111111111111111 has shipped",
            "Order number: 4111 1111 1111 1111",
            "Tracking: 4111111111111111",
            "4111111111111111 is your tracking number",
            "https://parcels.example.com/track/4111111111111111",
            "https://shop.example.com/?id=4111111111111111&x=1",
            "<4111111111111111@mail.example.com>",
            "mail 4111111111111111@example.com",
            "call +4111111111111111",
            "run 94111111111111111 and 41111111111111111",
            "12 4111 1111 1111 1111 5678 9",
            "value 4111111111111111.25",
            "file 4111111111111111.pdf",
            "IMEI 356938035643809",
            "parcel id 1234 5678 1234 5670",
            "timestamp 1700000000000 and 20240101123045",
            "4111 1111-1111 1111",
        ] {
            assert!(kinds(text).is_empty(), "{text}: {:?}", found(text));
        }
    }

    #[test]
    fn ibans() {
        assert!(mod97("GB82WEST12345698765432"));
        assert!(!mod97("GB82WEST12345698765433"));
        for text in [
            "IBAN: GB82 WEST 1234 5698 7654 32",
            "IBAN DE89370400440532013000.",
            "to NL91 ABNA 0417 1643 00 by Friday",
            "BE68 5390 0754 7034 BIC GEBABEBB",
        ] {
            assert_eq!(kinds(text), [Kind::Iban], "{text}");
        }
        assert_eq!(found("BE68 5390 0754 7034 GEBA")[0].1, "BE68539007547034");
        for text in [
            "GB82 WEST 1234 5698 7654 33",
            "DE8937040044053201300",
            "XX89370400440532013000",
            "https://bank.example/DE89370400440532013000",
        ] {
            assert!(kinds(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn national_insurance_numbers() {
        for text in ["NI: AB123456C", "NINO AB 12 34 56 C.", "JK 123456 D"] {
            assert_eq!(kinds(text), [Kind::Ni], "{text}");
        }
        for text in [
            "QQ 12 34 56 C",
            "QQ123456C",
            "GB123456A",
            "AO123456A",
            "DA123456A",
            "AB123456E",
            "XAB123456C",
            "AB1234567C",
        ] {
            assert!(kinds(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn ssns_need_a_label() {
        assert_eq!(kinds("SSN: 123-45-6789"), [Kind::Ssn]);
        assert_eq!(
            kinds("123-45-6789 is her social security number"),
            [Kind::Ssn]
        );
        for text in [
            "call 123-45-6789",
            "SSN: 000-12-3456",
            "SSN: 666-12-3456",
            "SSN: 912-12-3456",
            "SSN: 123-00-3456",
            "SSN: 123-45-0000",
            "SSN: 078-05-1120",
            "SSN: 123-45-6789-01",
        ] {
            assert!(kinds(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn passports_need_a_label() {
        for text in [
            "Passport no. 617644717 (diplomatic)",
            "passport number: C01X00T47",
            "Reisepass Nr. C01X00T47",
            "numéro de passeport 12AB34567",
            "PASSPORT NUMBER 123456789",
            "Passport:\n  AB1234567",
        ] {
            assert_eq!(kinds(text), [Kind::Passport], "{text}");
        }
        for text in [
            "617644717",
            "passport photo 1234567.jpg",
            "passport expires 01/2020",
            "passport office opens at 09:00 on 12 May 2024",
            "Passport.js 0.7.0 released",
            "passport ab1234567",
            "My passport finally came back! Flight is BA0500",
            "my passport came, flight BA0500 on the 28th",
            "Passport renewed. Booking ref XK4471 confirmed",
        ] {
            assert!(kinds(text).is_empty(), "{text}: {:?}", found(text));
        }
    }

    #[test]
    fn nhs_numbers_need_a_valid_check_digit_and_a_label() {
        assert!(nhs_check(b"9434765919"));
        assert!(!nhs_check(b"9434765918"));
        assert!(!nhs_check(b"0000000000"), "a placeholder");
        for text in [
            "NHS number 943 476 5919",
            "NHS No. 9434765919",
            "NHS#: 943-476-5919",
            "Patient: J Bloggs, DOB 01/01/1960, NHS: 943 476 5919",
            "943 476 5919 (NHS number)",
        ] {
            assert_eq!(kinds(text), [Kind::Nhs], "{text}");
        }
        for text in [
            "NHS number 943 476 5918",
            "order 9434765919",
            "ward7@nhs.net 943 476 5919",
            "NHS number 943-476 5919",
            "NHS number 19434765919",
        ] {
            assert!(kinds(text).is_empty(), "{text}: {:?}", found(text));
        }
    }

    #[test]
    fn csv_columns_by_comma_semicolon_or_tab() {
        let attachment = |name: &str| Attachment {
            filename: Some(name.into()),
            content_type: "application/octet-stream".into(),
            size: 0,
            text: None,
            inline: false,
        };
        let csv = attachment("list.csv");
        assert_eq!(table_separator(&csv, "Name,Passport number\n"), Some(','));
        assert_eq!(
            table_separator(&csv, "Name;Passport number;Notes\n"),
            Some(';')
        );
        assert_eq!(table_separator(&csv, "Name\tPassport number\n"), Some('\t'));
        assert_eq!(table_separator(&csv, "\"a;b\",c\n"), Some(','));
        assert_eq!(
            table_separator(&attachment("list.tsv"), "Name\n"),
            Some('\t')
        );
        assert_eq!(table_separator(&attachment("notes.txt"), "a;b;c\n"), None);
        let allow = HashSet::new();
        let mut hits = Hits::new(&allow);
        scan_table(
            "Surname;Passport number;NHS number\nKeller;C4F7K29RM;943 476 5919\n",
            ';',
            &Kind::ALL,
            &mut hits,
        );
        let values: Vec<&str> = hits.values.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(values, ["C4F7K29RM", "9434765919"]);
    }

    #[test]
    fn a_personal_account_sends_outside_the_organisation() {
        let body = "\n\nPassport no. 617644717\n";
        let to_self = eml(&format!(
            "From: Dan <dan.price1979@hotmail.com>\nTo: dan.price1979@hotmail.com\nSubject: list{body}"
        ));
        let f = check_rule("personal-data", &to_self);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(
            f[0].message
                .contains("sent from a personal account (hotmail.com)"),
            "{}",
            f[0].message
        );
        let to_colleague = eml(&format!(
            "From: Dan <dan.price1979@hotmail.com>\nTo: sam@trust.example.org\nSubject: list{body}"
        ));
        let f = check_rule_with(
            "[organization]\ndomains = [\"trust.example.org\"]\n",
            "personal-data",
            &to_colleague,
        );
        assert_eq!(f[0].severity, Severity::Error, "{}", f[0].message);
    }

    #[test]
    fn attached_messages_are_read() {
        let msg = eml(concat!(
            "From: a@org.example\nTo: b@other.example\nSubject: Fw: deposit\n",
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n",
            "--b\nContent-Type: text/plain\n\nSee the note below.\n",
            "--b\nContent-Type: message/rfc822\n\n",
            "From: finance@org.example\nSubject: Deposit\nContent-Type: text/html\n\n",
            "<p>Use card <b>4111 1111 1111 1111</b></p>\n",
            "--b--\n"
        ));
        let f = check_rule("personal-data", &msg);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].message,
            "1 payment card number in the attached message going outside the organisation: ••••••••••••1111"
        );
    }

    #[test]
    fn findings_point_at_the_line_of_the_first_value() {
        let msg = eml(
            "From: a@org.example\nTo: b@other.example\nSubject: list\n\nHello,\n\nthe numbers:\n\nPassport no. 617644717\n",
        );
        assert_eq!(check_rule("personal-data", &msg)[0].location.line, Some(9));
    }

    #[test]
    fn tables_label_whole_columns() {
        let allow = HashSet::new();
        let mut hits = Hits::new(&allow);
        let csv = "Name,\"Country, region\",Passport number,Notes\n\
                   \"Rautio, Katarin\",Aldoria,617644717,\n\
                   \"Halvorsen, Ottilie\",Belmarre,525380048,x\n\
                   Quist,Caskavia,n/a,\n";
        scan_table(csv, ',', &Kind::ALL, &mut hits);
        let values: Vec<&str> = hits.values.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(values, ["617644717", "525380048"]);
    }

    #[test]
    fn masks_all_but_four() {
        assert_eq!(mask("617644717"), "•••••4717");
        assert_eq!(mask("GB82WEST12345698765432"), "••••••••••••••••••5432");
    }

    #[test]
    fn error_outside_warning_inside() {
        let body = "Passport no. 617644717\nPassport no. 525380048\nCard 4111 1111 1111 1111\n";
        let outside = eml(&format!(
            "From: a@org.example\nTo: b@other.example\nSubject: list\n\n{body}"
        ));
        let f = check_rule("personal-data", &outside);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(
            f[0].message,
            "2 passport numbers, 1 payment card number in the text body going outside the organisation: •••••4717, •••••0048, ••••••••••••1111"
        );
        assert_eq!(f[0].location.part.as_deref(), Some("text/plain"));
        assert_eq!(f[0].location.line, Some(5));
        assert!(!f[0].message.contains("617644717"));

        let inside = eml(&format!(
            "From: a@org.example\nTo: b@hr.org.example\nSubject: list\n\n{body}"
        ));
        let f = check_rule("personal-data", &inside);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].message
                .ends_with("in the text body: •••••4717, •••••0048, ••••••••••••1111")
        );

        let everyone = eml(&format!(
            "From: a@org.example\nTo: everyone@org.example\n\n{body}"
        ));
        let f = check_rule("personal-data", &everyone);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].message.contains("going to an everyone-style list"));
    }

    #[test]
    fn subject_html_and_attachments() {
        let msg = eml(concat!(
            "From: a@org.example\nTo: b@other.example\nSubject: card 4111 1111 1111 1111\n",
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n",
            "--b\nContent-Type: text/html\n\n<p>IBAN <b>GB82 WEST 1234 5698 7654 32</b></p>\n",
            "--b\nContent-Type: application/octet-stream\n",
            "Content-Disposition: attachment; filename=staff.csv\n\n",
            "name,passport\nAnn,123456789\nBob,987654321\nCy,555555555\nDee,444444444\n",
            "--b--\n"
        ));
        let f = check_rule("personal-data", &msg);
        let summary: Vec<(Option<&str>, Option<&str>)> = f
            .iter()
            .map(|f| (f.location.header.as_deref(), f.location.part.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                (Some("Subject"), None),
                (None, Some("text/html")),
                (None, Some("staff.csv"))
            ]
        );
        assert!(f[1].message.starts_with("1 IBAN in the HTML body"));
        assert_eq!(
            f[2].message,
            "4 passport numbers in attachment staff.csv going outside the organisation: •••••6789, •••••4321, •••••5555, and 1 more"
        );
    }

    #[test]
    fn quoted_history_of_a_reply_is_not_read() {
        let reply = eml(concat!(
            "From: a@org.example\nTo: b@other.example\nSubject: Re: invoice\n",
            "In-Reply-To: <x@other.example>\n\nPaid, thanks.\n\n",
            "On Mon, 1 Jan 2024, B <b@other.example> wrote:\n> Please pay to GB82 WEST 1234 5698 7654 32\n"
        ));
        assert!(check_rule("personal-data", &reply).is_empty());
        let new_data = eml(concat!(
            "From: a@org.example\nTo: b@other.example\nSubject: Re: invoice\n",
            "In-Reply-To: <x@other.example>\n\nOurs is DE89 3704 0044 0532 0130 00\n\n",
            "> Please pay to GB82 WEST 1234 5698 7654 32\n"
        ));
        let f = check_rule("personal-data", &new_data);
        assert!(
            f[0].message.starts_with("1 IBAN in the text body"),
            "{}",
            f[0].message
        );
        let forward = eml(concat!(
            "From: a@org.example\nTo: c@third.example\nSubject: Fwd: invoice\n",
            "References: <x@other.example>\n\nSee below.\n\n",
            "---------- Forwarded message ---------\nPlease pay to GB82 WEST 1234 5698 7654 32\n"
        ));
        assert_eq!(check_rule("personal-data", &forward).len(), 1);
    }

    #[test]
    fn options() {
        let msg = eml(
            "From: a@org.example\nTo: b@other.example\n\nIBAN GB82 WEST 1234 5698 7654 32\nPassport no. 617644717\n",
        );
        let f = check_rule_with(
            "[rules.personal-data]\nkinds = [\"iban\"]\n",
            "personal-data",
            &msg,
        );
        assert!(f[0].message.starts_with("1 IBAN in"), "{}", f[0].message);
        let f = check_rule_with(
            "[rules.personal-data]\nallow = [\"GB82 WEST 1234 5698 7654 32\"]\n",
            "personal-data",
            &msg,
        );
        assert!(
            f[0].message.starts_with("1 passport number in"),
            "{}",
            f[0].message
        );
        let f = check_rule_with(
            "[rules.personal-data]\nmin_count = 3\n",
            "personal-data",
            &msg,
        );
        assert!(f.is_empty());
        for bad in [
            "kinds = [\"email\"]",
            "kinds = []",
            "min_count = 0",
            "allow = [\"12\"]",
            "colour = 1",
        ] {
            assert!(option_error("personal-data", bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn long_hostile_input_is_fast() {
        let text =
            "4111 ".repeat(400_000) + &"passport ".repeat(200_000) + &"GB82 ".repeat(200_000);
        let start = std::time::Instant::now();
        found(&text);
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn the_ascii_screen_passes_every_text_the_pattern_matches() {
        // Non-ASCII letters, marks and spaces beside and around the numbers.
        let texts = [
            "IBAN\u{a0}DE89370400440532013000\u{a0}",
            "éDE89370400440532013000",
            "\u{301}GB82 WEST 1234 5698 7654 32 ü",
            "N° AB123456C ñ",
            "SSN\u{a0}123-45-6789\u{2003}",
            "NHS:\u{a0}943 476 5919 é",
            "ÄÖ 943 476 5919",
        ];
        for pattern in [&*IBAN, &*NI, &*SSN, &*NHS] {
            for text in texts {
                if pattern.pattern().is_match(text) {
                    assert!(pattern.screen(text).is_some(), "{text}");
                }
            }
        }
        assert!(SSN.screen("SSN\u{a0}123-45-6789").is_some());
        assert!(IBAN.screen("Kontoinhaber: Müller").is_none());
    }
}
