//! Personal data in a message: card numbers, IBANs, National Insurance
//! numbers, SSNs, NHS numbers and passport numbers, for personal-data (which
//! reports them) and new-recipient (which weighs a message carrying them).

use super::constant_regex;
use crate::config::{OptionError, RuleSettings};
use crate::finding::Location;
use crate::gate;
use crate::message::{Attachment, BodyKind, Inside, Message, has_forward_prefix};
use crate::numbers::plural;
use regex::Regex;
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input};
use serde::Deserialize;
use std::collections::HashSet;
use std::ops::Range;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(in crate::rules) enum Kind {
    Passport,
    Card,
    Iban,
    Ni,
    Ssn,
    Nhs,
}

impl Kind {
    pub(in crate::rules) const ALL: [Kind; 6] = [
        Kind::Card,
        Kind::Iban,
        Kind::Ni,
        Kind::Ssn,
        Kind::Nhs,
        Kind::Passport,
    ];

    pub(in crate::rules) fn key(self) -> &'static str {
        match self {
            Kind::Card => "card",
            Kind::Iban => "iban",
            Kind::Ni => "ni",
            Kind::Ssn => "ssn",
            Kind::Nhs => "nhs",
            Kind::Passport => "passport",
        }
    }

    pub(in crate::rules) fn noun(self, n: u64) -> String {
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
pub(in crate::rules) struct Options {
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

/// What personal-data looks for, from its options: the rule reports it,
/// new-recipient weighs a message that carries it.
pub(in crate::rules) struct Screen {
    kinds: Vec<Kind>,
    pub(in crate::rules) min_count: u64,
    /// Normalised (capitals and digits only) values never reported.
    allow: HashSet<String>,
}

impl Screen {
    pub(in crate::rules) fn build(settings: &RuleSettings) -> Result<Screen, OptionError> {
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
        Ok(Screen {
            kinds,
            min_count: options.min_count,
            allow,
        })
    }

    /// The values found in each place of the message read that has any:
    /// the subject, each body part (in a reply only its new text, when
    /// `new_text_only`), each text attachment or attached message, and
    /// each sheet or text of the files `inside` the attachments.
    pub(in crate::rules) fn scan_message(
        &self,
        msg: &Message,
        new_text_only: bool,
        inside: &Inside,
    ) -> Vec<Found<'_>> {
        let mut found = Vec::new();
        if let Some(subject) = &msg.subject {
            let mut hits = Hits::new(&self.allow);
            scan(subject, &self.kinds, &mut hits);
            if !hits.values.is_empty() {
                let location = Location::header("Subject", msg.header_line("Subject"));
                found.push(Found {
                    place: "the subject".into(),
                    location,
                    hits,
                });
            }
        }
        for part in msg.readable_parts() {
            let text = if new_text_only {
                part.authored()
            } else {
                part.plain()
            };
            let mut hits = Hits::new(&self.allow);
            scan(text, &self.kinds, &mut hits);
            if hits.values.is_empty() {
                continue;
            }
            let place = match part.kind {
                BodyKind::Text => "the text body",
                BodyKind::Html => "the HTML body",
            };
            let line = match hits.first.and_then(|at| text.get(at..)) {
                Some(found) => part.line_of(found),
                None => part.line,
            };
            found.push(Found {
                place: place.into(),
                location: Location::part(part.mime_type(), line),
                hits,
            });
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
            if hits.values.is_empty() {
                continue;
            }
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
            found.push(Found {
                place,
                location: Location::part(name, None),
                hits,
            });
        }
        for file in &inside.files {
            for section in &file.sections {
                let mut hits = Hits::new(&self.allow);
                if let Some(separator) = section.separator {
                    scan_table(&section.text, separator, &self.kinds, &mut hits);
                }
                scan(&section.text, &self.kinds, &mut hits);
                if hits.values.is_empty() {
                    continue;
                }
                let place = match (&section.name, section.hidden) {
                    (Some(sheet), true) => format!("{}, hidden sheet {sheet}", file.path),
                    (Some(sheet), false) => format!("{}, sheet {sheet}", file.path),
                    (None, _) => file.path.clone(),
                };
                found.push(Found {
                    place,
                    location: Location::part(super::attachment_name(msg, file.attachment), None),
                    hits,
                });
            }
        }
        found
    }

    /// What personal data the message carries, as the rule would report
    /// it (at least `min_count` values in one place): `2 passport numbers
    /// in the text body`, for the first place with any.
    pub(in crate::rules) fn first_found(
        &self,
        msg: &Message,
        new_text_only: bool,
        inside: &Inside,
    ) -> Option<String> {
        let found = self
            .scan_message(msg, new_text_only, inside)
            .into_iter()
            .find(|f| f.hits.values.len() as u64 >= self.min_count)?;
        let (kind, _) = found.hits.values.first()?;
        let n = found.hits.values.iter().filter(|(k, _)| k == kind).count() as u64;
        Some(format!("{} in {}", kind.noun(n), found.place))
    }
}

/// One place of a message and the values found there.
pub(in crate::rules) struct Found<'a> {
    pub(in crate::rules) place: String,
    pub(in crate::rules) location: Location,
    pub(in crate::rules) hits: Hits<'a>,
}

/// Whether only a reply's new text is read: the quoted history is what the
/// thread has already seen, unless the message forwards it or goes to an
/// everyone-style list.
pub(in crate::rules) fn new_text_only(msg: &Message, mass: bool) -> bool {
    msg.is_reply && !mass && !msg.subject.as_deref().is_some_and(has_forward_prefix)
}

/// The text of an attachment worth reading: plain text, tables, and
/// attached messages (a forward sent as `message/rfc822`).
pub(in crate::rules) fn readable_attachment(a: &Attachment) -> Option<&str> {
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

pub(in crate::rules) fn extension(a: &Attachment) -> Option<String> {
    let name = a.filename.as_deref()?.trim();
    name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())
}

/// The column separator of a table: a CSV file's is a comma, or the
/// semicolon or tab that spreadsheets set to their locale write, whichever
/// its header line has most of.
pub(in crate::rules) fn table_separator(a: &Attachment, text: &str) -> Option<char> {
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
pub(in crate::rules) struct Hits<'a> {
    allow: &'a HashSet<String>,
    seen: HashSet<(Kind, String)>,
    pub(in crate::rules) values: Vec<(Kind, String)>,
    /// Byte offset in the scanned text of the first value, for its line.
    pub(in crate::rules) first: Option<usize>,
}

impl<'a> Hits<'a> {
    pub(in crate::rules) fn new(allow: &'a HashSet<String>) -> Self {
        Hits {
            allow,
            seen: HashSet::new(),
            values: Vec::new(),
            first: None,
        }
    }

    /// Adds a value found `at` this byte offset of the scanned text.
    pub(in crate::rules) fn add(&mut self, kind: Kind, raw: &str, at: usize) {
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
pub(in crate::rules) fn normalise(value: &str) -> String {
    value
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// All but the last four characters replaced by `•`.
pub(in crate::rules) fn mask(value: &str) -> String {
    let n = value.chars().count();
    value
        .chars()
        .enumerate()
        .map(|(i, c)| if i + 4 < n { '•' } else { c })
        .collect()
}

pub(in crate::rules) fn scan(text: &str, kinds: &[Kind], hits: &mut Hits<'_>) {
    let starts = Starts::find(text);
    for kind in kinds {
        match kind {
            Kind::Card => scan_cards(text, &starts.cards, hits),
            Kind::Iban => scan_ibans(text, &starts.ibans, hits),
            Kind::Ni => scan_ni(text, &starts.ni, hits),
            Kind::Ssn => scan_ssns(text, &starts.ssns, hits),
            // The label's word is looked for only where a number can be.
            Kind::Nhs if !starts.nhs.is_empty() && NHS_WORDS.is_match(text) => {
                scan_nhs(text, &starts.nhs, hits);
            }
            Kind::Passport if starts.passport_token && PASSPORT_WORDS.is_match(text) => {
                scan_passports(text, hits);
            }
            Kind::Nhs | Kind::Passport => {}
        }
    }
}

// ---------------------------------------------------------------------------
// Where numbers can start

/// Where the numbers of each kind can start in a text, from one pass over
/// its runs of digits. Most digits in mail are in dates, times, prices and
/// phone numbers, which have none of these shapes: then a kind's pattern is
/// neither run nor compiled, and otherwise it is run only where a match can
/// start. Over 2,403 ordinary messages, searching each whole text with
/// digits enough took 60 M instructions of the 92 M `scan` took; with this
/// pass (and the passport labels looked for only where a passport number
/// can be) `scan` takes 16 M.
#[derive(Default)]
struct Starts {
    /// Maximal runs of digit groups separated by single spaces or dashes,
    /// long enough to be a card number.
    cards: Vec<Range<usize>>,
    /// Two capitals before a run of two or more digits: [`IBAN`].
    ibans: Vec<usize>,
    /// Two capitals, maybe then a space, before a run of six or two
    /// digits: [`NI`].
    ni: Vec<usize>,
    /// Three digits, a dash and a digit: [`SSN`].
    ssns: Vec<usize>,
    /// Ten digits, or three or six then a space or dash and a digit: [`NHS`].
    nhs: Vec<usize>,
    /// Whether some whole word (ASCII letters and digits) is a
    /// [`passport_token`]: the only values `scan_passports` takes, as one
    /// glued to a letter does not stand alone. Without one, the passport
    /// labels are not looked for.
    passport_token: bool,
}

/// The fewest bytes a run of digit groups holding a card number has.
const SHORTEST_CARD: usize = 13;

impl Starts {
    fn find(text: &str) -> Starts {
        let bytes = text.as_bytes();
        let at = |i: Option<usize>| i.and_then(|i| bytes.get(i)).copied();
        let upper = |i: Option<usize>| at(i).is_some_and(|b| b.is_ascii_uppercase());
        // Every pattern starts with `\b` before a word character, which a
        // word character before it rules out (ASCII or Unicode alike).
        let boundary_before = |i: usize| {
            !at(i.checked_sub(1)).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        // A separator the pattern allows, then a digit.
        let goes_on = |end: usize, separators: &[u8]| {
            at(Some(end)).is_some_and(|b| separators.contains(&b))
                && at(Some(end + 1)).is_some_and(|b| b.is_ascii_digit())
        };
        let mut starts = Starts::default();
        let mut group: Option<Range<usize>> = None;
        let mut word_end = 0;
        for run in DigitRuns::new(bytes) {
            let (start, len) = (run.start, run.len());
            // The word (ASCII letters and digits) around the run, but no
            // more of it than a passport number can be, plus one.
            if !starts.passport_token && start >= word_end {
                let alphanumeric = |b: &&u8| b.is_ascii_alphanumeric();
                let before = bytes[..start]
                    .iter()
                    .rev()
                    .take(10)
                    .take_while(alphanumeric);
                let after = bytes[run.end..].iter().take(10).take_while(alphanumeric);
                word_end = run.end + after.count();
                starts.passport_token = text
                    .get(start - before.count()..word_end)
                    .is_some_and(passport_token);
            }
            // Digit groups: runs joined by single spaces or dashes.
            match &mut group {
                Some(g) if g.end + 1 == start && matches!(at(Some(g.end)), Some(b' ' | b'-')) => {
                    g.end = run.end;
                }
                _ => {
                    if let Some(done) = group.replace(run.clone())
                        && done.len() >= SHORTEST_CARD
                    {
                        starts.cards.push(done);
                    }
                }
            }
            let two_back = start.checked_sub(2);
            let capitals_before = upper(two_back) && upper(start.checked_sub(1));
            if len >= 2 && capitals_before && boundary_before(start - 2) {
                starts.ibans.push(start - 2);
            }
            if len == 6 || len == 2 {
                if capitals_before && boundary_before(start - 2) {
                    starts.ni.push(start - 2);
                } else if at(start.checked_sub(1)) == Some(b' ')
                    && upper(start.checked_sub(3))
                    && upper(two_back)
                    && boundary_before(start - 3)
                {
                    starts.ni.push(start - 3);
                }
            }
            if !boundary_before(start) {
                continue;
            }
            if len == 3 && goes_on(run.end, b"-") {
                starts.ssns.push(start);
            }
            if len == 10 || ((len == 3 || len == 6) && goes_on(run.end, b" -")) {
                starts.nhs.push(start);
            }
        }
        if let Some(done) = group
            && done.len() >= SHORTEST_CARD
        {
            starts.cards.push(done);
        }
        starts
    }
}

/// The maximal runs of ASCII digits in a text, in order.
struct DigitRuns<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> DigitRuns<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        DigitRuns { bytes, at: 0 }
    }
}

impl Iterator for DigitRuns<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let bytes = self.bytes;
        // Text between numbers is passed over eight bytes at a time:
        // counting digits with `filter().count()` took 6.7 instructions a
        // byte, this takes under 4 even on text full of numbers (measured).
        while let Some(chunk) = bytes.get(self.at..self.at + 8) {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            let digits = digit_bits(u64::from_le_bytes(word));
            if digits != 0 {
                self.at += (digits.trailing_zeros() / 8) as usize;
                break;
            }
            self.at += 8;
        }
        let rest = bytes.get(self.at..)?;
        let skipped = rest.iter().position(u8::is_ascii_digit)?;
        let len = rest[skipped..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let start = self.at + skipped;
        self.at = start + len;
        Some(start..self.at)
    }
}

/// The high bit of each byte of `word` that is an ASCII digit, and no
/// other bit. No carry crosses from one byte into the next: each byte's low
/// seven bits plus 0x76 stay under 0x100.
fn digit_bits(word: u64) -> u64 {
    const EACH: u64 = 0x0101_0101_0101_0101;
    // Digits become 0 to 9, and only they.
    let offset = word ^ (EACH * u64::from(b'0'));
    // The high bit set where the low seven bits are 10 or more.
    let ten_or_more = (offset & (EACH * 0x7F)) + EACH * 0x76;
    !(ten_or_more | offset) & (EACH * 0x80)
}

/// The matches of `pattern` in `text` that its `captures_iter` finds, given
/// every place one can start (in order), each passed to `each`. An anchored
/// search at a start reads only as far as a match can go, and sees the text
/// around it as a search of the whole text does (`\b`). Without starts, the
/// pattern is not compiled; without a match, only its forward automaton is.
fn captures_at(
    pattern: &gate::Pattern,
    text: &str,
    starts: &[usize],
    mut each: impl FnMut(&Captures),
) {
    let mut captures = None;
    // The whole-text search goes on from the end of each match.
    let mut resume = 0;
    for &start in starts {
        if start < resume {
            continue;
        }
        let input = Input::new(text).range(start..).anchored(Anchored::Yes);
        if !pattern.is_match_in(input.clone()) {
            continue;
        }
        let regex = pattern.regex();
        let captures = captures.get_or_insert_with(|| regex.create_captures());
        regex.search_captures(&input, captures);
        if let Some(m) = captures.get_match() {
            resume = m.end();
            each(captures);
        }
    }
}

// ---------------------------------------------------------------------------
// Shared helpers

/// Whether `text[start..end]` stands on its own: not glued to letters or
/// digits, and not part of a URL, an address, a path, a file name, a
/// decimal number or a message id.
pub(in crate::rules) fn standalone(text: &str, start: usize, end: usize) -> bool {
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
pub(in crate::rules) fn before(text: &str, at: usize, len: usize) -> &str {
    let mut start = at.saturating_sub(len);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text.get(start..at).unwrap_or("")
}

/// Up to `len` bytes of `text` after `at`, cut at a character boundary.
pub(in crate::rules) fn after(text: &str, at: usize, len: usize) -> &str {
    let mut end = (at + len).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(at..end).unwrap_or("")
}

/// How far around a value its label is looked for.
pub(in crate::rules) const CONTEXT: usize = 40;

// ---------------------------------------------------------------------------
// Payment cards

/// Words that say what a nearby number is: group 1, a card; group 2,
/// something else.
pub(in crate::rules) static CARD_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    constant_regex(concat!(
        r"(?i)\b(?:",
        r"(cards?|visa|master\s?card|amex|american express|discover|maestro|jcb|diners|union\s?pay|kreditkarte|karte|carte|tarjeta|carta|cc|pan)",
        r"|(orders?|tracking|track|trace|parcels?|packages?|shipments?|consignment|waybill|awb|invoices?|inv|ref|reference|tickets?|booking|confirmation|reservation|customer|member(?:ship)?|account|acct|policy|case|claim|serial|imei|iccid|sim|tel|phone|telephone|fax|mobile|cell|id|transaction|txn|auftrag|bestellung|sendung|rechnung|commande|pedido)",
        r")\b"
    ))
});

/// Card numbers in the maximal runs of digit groups separated by single
/// spaces or dashes (`groups`, from [`Starts`]).
pub(in crate::rules) fn scan_cards(text: &str, groups: &[Range<usize>], hits: &mut Hits<'_>) {
    for group in groups {
        let Some(run) = text.get(group.clone()) else {
            continue;
        };
        if let Some(len) = card_in_run(run)
            && standalone(text, group.start, group.start + len)
            && !labelled_otherwise(text, group.start, group.start + len)
            && !is_published_test_card(&run[..len])
        {
            hits.add(Kind::Card, &run[..len], group.start);
        }
    }
}

/// Card numbers the payment processors and card schemes publish for
/// testing payment systems (Stripe, Braintree and PayPal, Adyen, Worldpay,
/// Visa's and Mastercard's own): they fill developers' and support mail,
/// and identify nobody. Sorted, for a binary search.
pub(in crate::rules) const PUBLISHED_TEST_CARDS: [&str; 58] = [
    "2223000048400011",
    "2223003122003222",
    "3056930009020004",
    "30569309025904",
    "3530111333300000",
    "3566002020360505",
    "36227206271667",
    "370000000000002",
    "371449635398431",
    "378282246310005",
    "378734493671000",
    "38520000023237",
    "4000000000000002",
    "4000000000000077",
    "4000000000000093",
    "4000000000000101",
    "4000000000000341",
    "4000000000003220",
    "4000000000009995",
    "4000002500003155",
    "4000002760003184",
    "4000008260003178",
    "4000056655665556",
    "4005519200000004",
    "4009348888881881",
    "4012000033330026",
    "4012000077777777",
    "4012888888881881",
    "4111111111111111",
    "4111111145551142",
    "4217651111111119",
    "4222222222222",
    "4242424242424242",
    "4444333322221111",
    "4462030000000000",
    "4484070000000000",
    "4500600000000061",
    "4911830000000",
    "4917610000000000",
    "4917610000000000003",
    "4988438843884305",
    "5105105105105100",
    "5200828282828210",
    "5431111111111111",
    "5500000000000004",
    "5555341244441115",
    "5555555555554444",
    "6011000990139424",
    "6011000991300009",
    "6011111111111117",
    "6011601160116611",
    "6011981111111113",
    "6200000000000005",
    "6200000000000047",
    "6205500000000000004",
    "6304000000000000",
    "6555900000604105",
    "6759649826438453",
];

/// Whether a card number (with its separators) is a published test one.
fn is_published_test_card(number: &str) -> bool {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    PUBLISHED_TEST_CARDS.binary_search(&digits.as_str()).is_ok()
}

/// The byte length of the card number a run of digit groups is, or starts
/// with when four groups of four are followed by more (a CVV, an expiry).
pub(in crate::rules) fn card_in_run(run: &str) -> Option<usize> {
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
pub(in crate::rules) fn card_grouping(lens: &[usize]) -> bool {
    match lens {
        [n] => (13..=19).contains(n),
        [4, 6, 5] | [4, 6, 4] => true,
        [first @ .., last] => {
            first.len() >= 3 && first.iter().all(|&g| g == 4) && (1..=4).contains(last)
        }
        [] => false,
    }
}

pub(in crate::rules) fn is_card(digits: &str) -> bool {
    issuer_accepts(digits) && luhn(digits.as_bytes())
}

/// A known issuer's prefix, with a length that issuer uses.
pub(in crate::rules) fn issuer_accepts(d: &str) -> bool {
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

pub(in crate::rules) fn luhn(digits: &[u8]) -> bool {
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
pub(in crate::rules) fn labelled_otherwise(text: &str, start: usize, end: usize) -> bool {
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

/// Searched only where [`Starts`] finds one can start.
pub(in crate::rules) static IBAN: LazyLock<gate::Pattern> = LazyLock::new(|| {
    gate::Pattern::gated(
        r"\b[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,8}(?: [A-Z0-9]{1,3})?)\b",
    )
});

/// IBAN lengths by country (the SWIFT IBAN registry).
pub(in crate::rules) const IBAN_LENGTHS: &[(&str, usize)] = &[
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

pub(in crate::rules) fn scan_ibans(text: &str, starts: &[usize], hits: &mut Hits<'_>) {
    captures_at(&IBAN, text, starts, |caps| {
        let Some(m) = caps.get_match() else {
            return;
        };
        let candidate = &text[m.range()];
        let Some(&(_, len)) = IBAN_LENGTHS
            .iter()
            .find(|(cc, _)| candidate.starts_with(cc))
        else {
            return;
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
            return;
        };
        if standalone(text, m.start(), end) && mod97(value) {
            hits.add(Kind::Iban, value, m.start());
        }
    });
}

/// ISO 7064 MOD 97-10: the IBAN with its first four characters moved to
/// the end, letters as 10–35, is 1 modulo 97.
pub(in crate::rules) fn mod97(iban: &str) -> bool {
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

/// Searched only where [`Starts`] finds one can start.
pub(in crate::rules) static NI: LazyLock<gate::Pattern> = LazyLock::new(|| {
    gate::Pattern::gated(r"\b([A-Z]{2}) ?(?:[0-9]{6}|[0-9]{2} [0-9]{2} [0-9]{2}) ?[A-D]\b")
});

pub(in crate::rules) fn scan_ni(text: &str, starts: &[usize], hits: &mut Hits<'_>) {
    captures_at(&NI, text, starts, |caps| {
        let (Some(m), Some(prefix)) = (caps.get_match(), caps.get_group(1)) else {
            return;
        };
        let prefix = &text[prefix.range()];
        let &[first, second] = prefix.as_bytes() else {
            return;
        };
        let first_ok = !matches!(first, b'D' | b'F' | b'I' | b'Q' | b'U' | b'V');
        let second_ok = !matches!(second, b'D' | b'F' | b'I' | b'O' | b'Q' | b'U' | b'V');
        let prefix_ok = !matches!(prefix, "BG" | "GB" | "KN" | "NK" | "NT" | "TN" | "ZZ");
        if first_ok && second_ok && prefix_ok && standalone(text, m.start(), m.end()) {
            hits.add(Kind::Ni, &text[m.range()], m.start());
        }
    });
}

// ---------------------------------------------------------------------------
// US Social Security numbers

/// Searched only where [`Starts`] finds one can start.
pub(in crate::rules) static SSN: LazyLock<gate::Pattern> =
    LazyLock::new(|| gate::Pattern::gated(r"\b([0-9]{3})-([0-9]{2})-([0-9]{4})\b"));

pub(in crate::rules) static SSN_LABEL: LazyLock<gate::Pattern> = LazyLock::new(|| {
    gate::Pattern::gated(r"(?i)(?:\bssns?\b|\bss#|\bss ?no\b|social[ -]security|\bsoc\.? ?sec\b)")
});

pub(in crate::rules) fn valid_ssn(area: &str, group: &str, serial: &str) -> bool {
    area != "000"
        && area != "666"
        && !area.starts_with('9')
        && group != "00"
        && serial != "0000"
        // Published in ads and on a sample card: not anyone's.
        && !matches!((area, group, serial), ("078", "05", "1120") | ("219", "09", "9999"))
}

pub(in crate::rules) fn scan_ssns(text: &str, starts: &[usize], hits: &mut Hits<'_>) {
    captures_at(&SSN, text, starts, |caps| {
        let (Some(m), Some(a), Some(g), Some(s)) = (
            caps.get_match(),
            caps.get_group(1),
            caps.get_group(2),
            caps.get_group(3),
        ) else {
            return;
        };
        if valid_ssn(&text[a.range()], &text[g.range()], &text[s.range()])
            && standalone(text, m.start(), m.end())
            && (SSN_LABEL.is_match(before(text, m.start(), CONTEXT))
                || SSN_LABEL.is_match(after(text, m.end(), CONTEXT)))
        {
            hits.add(Kind::Ssn, &text[m.range()], m.start());
        }
    });
}

// ---------------------------------------------------------------------------
// NHS numbers

/// Ten digits, together or grouped 3-3-4 by spaces or dashes. Searched
/// only where [`Starts`] finds one can start.
pub(in crate::rules) static NHS: LazyLock<gate::Pattern> =
    LazyLock::new(|| gate::Pattern::gated(r"\b[0-9]{3}([ -]?)[0-9]{3}([ -]?)[0-9]{4}\b"));

/// "NHS number", "NHS No.", "NHS#", "NHS:": the word alone is in every
/// nhs.net address.
pub(in crate::rules) static NHS_LABEL: LazyLock<gate::Pattern> = LazyLock::new(|| {
    gate::Pattern::gated(r"(?i)\bnhs\s*(?:numbers?\b|nos?\b\.?|num\b|nr\b|#|:|-?\s*ids?\b)")
});

/// A word of every [`NHS_LABEL`] alternative (see `gate.rs`).
pub(in crate::rules) static NHS_WORDS: LazyLock<gate::Words> =
    LazyLock::new(|| gate::words(&["nhs"]));

/// The NHS number check (modulus 11): the first nine digits weighted 10
/// down to 2, the check digit 11 minus their sum modulo 11 (11 becomes 0;
/// 10 is never issued).
pub(in crate::rules) fn nhs_check(digits: &[u8]) -> bool {
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

pub(in crate::rules) fn scan_nhs(text: &str, starts: &[usize], hits: &mut Hits<'_>) {
    captures_at(&NHS, text, starts, |caps| {
        let (Some(m), Some(s1), Some(s2)) =
            (caps.get_match(), caps.get_group(1), caps.get_group(2))
        else {
            return;
        };
        let number = &text[m.range()];
        let digits: Vec<u8> = number.bytes().filter(u8::is_ascii_digit).collect();
        if text[s1.range()] == text[s2.range()]
            && nhs_check(&digits)
            && standalone(text, m.start(), m.end())
            && (NHS_LABEL.is_match(before(text, m.start(), CONTEXT))
                || NHS_LABEL.is_match(after(text, m.end(), CONTEXT)))
        {
            hits.add(Kind::Nhs, number, m.start());
        }
    });
}

// ---------------------------------------------------------------------------
// Passport numbers

/// A word that says a passport number may follow, at a word's start. The
/// edge before it is ASCII's (`(?-u:\b)`): the lazy DFA gives up at a
/// Unicode `\b` in text with any other character, and the PikeVM then read
/// each such text whole (55 M instructions over the public real mail's
/// spam). [`passport_labels`] drops the matches that follow another
/// letter, where a Unicode `\b` would not stand.
static PASSPORT_LABEL: LazyLock<gate::Pattern> = LazyLock::new(|| {
    gate::Pattern::gated(
        r"(?i)(?-u:\b)(?:passports?|reisepass|passeports?|pasaportes?|passaport[oi]|paspoort)",
    )
});

/// Where [`PASSPORT_LABEL`] matches in `text` as it would with a Unicode
/// `\b`: no label starts inside another's match, so a match dropped hides
/// none.
fn passport_labels(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    (PASSPORT_LABEL.matching(text).into_iter())
        .flat_map(move |re| re.find_iter(text))
        .map(|m| m.range())
        .filter(move |m| {
            !(text[..m.start].chars().next_back()).is_some_and(regex_syntax::is_word_character)
        })
}

/// A passport number as issuers write them: 6 to 9 capitals and digits,
/// with at least one digit.
pub(in crate::rules) fn passport_token(token: &str) -> bool {
    (6..=9).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && token.bytes().any(|b| b.is_ascii_digit())
}

/// A word of every [`PASSPORT_LABEL`] alternative (see `gate.rs`).
pub(in crate::rules) static PASSPORT_WORDS: LazyLock<gate::Words> = LazyLock::new(|| {
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
pub(in crate::rules) const NOT_PASSPORT: &[&str] = &[
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
pub(in crate::rules) fn sentence_end(text: &str) -> Option<usize> {
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

pub(in crate::rules) fn scan_passports(text: &str, hits: &mut Hits<'_>) {
    for label in passport_labels(text) {
        let mut window = after(text, label.end, CONTEXT);
        // The window may cut the last token short, unless it ends with the
        // label's sentence.
        let mut cut_short = label.end + window.len() < text.len();
        if let Some(end) = sentence_end(window) {
            window = &window[..end];
            cut_short = false;
        }
        let window_end = label.end + window.len();
        let tokens = window
            .char_indices()
            .filter(|(_, c)| !c.is_ascii_alphanumeric())
            .map(|(i, c)| (i, i + c.len_utf8()))
            .chain(std::iter::once((window.len(), window.len())));
        let mut start = 0;
        for (sep_start, sep_end) in tokens {
            let token = &window[start..sep_start];
            let (abs_start, abs_end) = (label.end + start, label.end + sep_start);
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
pub(in crate::rules) fn scan_table(
    text: &str,
    separator: char,
    kinds: &[Kind],
    hits: &mut Hits<'_>,
) {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return;
    };
    let mut columns: Vec<(usize, Kind)> = Vec::new();
    for (i, cell) in split_row(header, separator).enumerate() {
        if kinds.contains(&Kind::Passport) && passport_labels(cell).next().is_some() {
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
                    let ssn = SSN.regex();
                    let mut c = ssn.create_captures();
                    ssn.captures(cell, &mut c);
                    if c.get_match().is_some_and(|m| m.range() == (0..cell.len()))
                        && let (Some(a), Some(g), Some(s)) =
                            (c.get_group(1), c.get_group(2), c.get_group(3))
                        && valid_ssn(&cell[a.range()], &cell[g.range()], &cell[s.range()])
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
pub(in crate::rules) fn split_row(line: &str, separator: char) -> impl Iterator<Item = &str> {
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
    use super::*;
    use proptest::prelude::*;

    /// What `scan_cards` searched the whole text with before [`Starts`].
    static DIGIT_GROUPS: LazyLock<Regex> =
        LazyLock::new(|| constant_regex(r"[0-9]+(?:[ -][0-9]+)*"));

    type Groups = Vec<Vec<Option<Range<usize>>>>;

    fn groups(caps: &Captures) -> Vec<Option<Range<usize>>> {
        (0..caps.group_len())
            .map(|i| caps.get_group(i).map(|span| span.range()))
            .collect()
    }

    /// Searching only where [`Starts`] says a number can start finds what
    /// searching the whole text finds: the same matches, groups included;
    /// and passport numbers are found only in text with a passport token.
    fn starts_agree_with_whole_text_search(text: &str) {
        let starts = Starts::find(text);
        for (name, pattern, starts) in [
            ("iban", &IBAN, &starts.ibans),
            ("ni", &NI, &starts.ni),
            ("ssn", &SSN, &starts.ssns),
            ("nhs", &NHS, &starts.nhs),
        ] {
            let whole: Groups = pattern
                .regex()
                .captures_iter(text)
                .map(|c| groups(&c))
                .collect();
            let mut found: Groups = Vec::new();
            captures_at(pattern, text, starts, |caps| found.push(groups(caps)));
            assert_eq!(found, whole, "{name} in {text:?}");
        }
        let long_groups: Vec<Range<usize>> = DIGIT_GROUPS
            .find_iter(text)
            .map(|m| m.range())
            .filter(|r| r.len() >= SHORTEST_CARD)
            .collect();
        assert_eq!(starts.cards, long_groups, "cards in {text:?}");
        if !starts.passport_token {
            let allow = HashSet::new();
            let mut hits = Hits::new(&allow);
            scan_passports(text, &mut hits);
            assert!(hits.values.is_empty(), "passports in {text:?}");
        }
    }

    #[test]
    fn starts_let_through_every_match() {
        for text in [
            "",
            "IBAN: GB82 WEST 1234 5698 7654 32",
            "IBAN DE89370400440532013000.",
            "DE89370400440532013000",
            "xDE89370400440532013000 _DE89370400440532013000 -DE89370400440532013000",
            "GB82 WEST 1234 5698 7654 32 GB82WEST12345698765432GB82 WEST",
            "BE68 5390 0754 7034 BIC GEBABEBB",
            // Non-ASCII letters, marks and spaces beside and around the numbers.
            "IBAN\u{a0}DE89370400440532013000\u{a0}",
            "éDE89370400440532013000",
            "\u{301}GB82 WEST 1234 5698 7654 32 ü",
            "N° AB123456C ñ",
            "SSN\u{a0}123-45-6789\u{2003}",
            "NHS:\u{a0}943 476 5919 é",
            "ÄÖ 943 476 5919",
            "NI: AB123456C, NINO AB 12 34 56 C. JK 123456 D AB 12 34 56C AB12 34 56 D",
            "QQ 12 34 56 C XAB123456C AB1234567C AB 1234 56 C",
            "SSN: 123-45-6789 123-45-6789-01 1234-45-6789 123-456-789 a123-45-6789",
            "NHS number 943 476 5919, 943-476-5919, 9434765919, 943476 5919, 943 4765919",
            "19434765919 943 476 59190 943-476 5919 943  476 5919",
            "Card: 4556 7375 8689 9855, exp 09/27 4556-7375-8689-9855 4556737586899855.",
            "12 4556 7375 8689 9855 5678 9 and 4556 7375-8689 9855 and 1 2 3 4 5 6 7",
            "1234567890123",
            "123456789012",
            "on 2024-01-15 at 10:30, 1,299.00 EUR, +44 20 7946 0958",
            "Passport no. 617644717 (diplomatic), passport number: C01X00T47",
            "Reisepass Nr. C01X00T47. numéro de passeport 12AB34567",
            "passport AB12345 passport 12345 passport ABCDEFGHIJ1 passport 1234567890",
            "passport:AB12345\u{a0}passport\u{a0}AB12345é passport éAB12345 passportAB12345",
            "passport no. xAB12345 passport no. AB12345x passport no. AB1234567!",
        ] {
            starts_agree_with_whole_text_search(text);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn starts_let_through_every_match_in_generated_text(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "0", "1", "4", "9", "12", "34", "82", "123", "4567", "943", "476", "5919",
                    "A", "B", "C", "GB", "DE", "AB", "WEST", " ", " ", "-", "_", ".", ",", "x",
                    "é", "\u{a0}", "\n", "!", "passport", "Passport no. ", "PASSPORT ",
                ]),
                0..40,
            )
        ) {
            starts_agree_with_whole_text_search(&pieces.concat());
        }
    }

    #[test]
    fn digit_bits_mark_exactly_the_digits() {
        for byte in 0..=u8::MAX {
            for at in 0..8 {
                for filler in [b'a', b'5', 0xB5, b'/'] {
                    let mut word = [filler; 8];
                    word[at] = byte;
                    let expected = word.iter().enumerate().fold(0, |bits, (i, b)| {
                        bits | (u64::from(b.is_ascii_digit()) << (8 * i + 7))
                    });
                    assert_eq!(digit_bits(u64::from_le_bytes(word)), expected, "{word:?}");
                }
            }
        }
    }

    #[test]
    fn digit_runs_across_and_at_the_edges_of_words() {
        let runs = |text: &str| {
            DigitRuns::new(text.as_bytes())
                .map(|run| (run.start, run.end))
                .collect::<Vec<_>>()
        };
        assert_eq!(runs(""), []);
        assert_eq!(runs("abcdefghijklmnop"), []);
        assert_eq!(runs("1"), [(0, 1)]);
        assert_eq!(runs("abcdefg12345678x9"), [(7, 15), (16, 17)]);
        assert_eq!(runs("abcdefgh12345678"), [(8, 16)]);
        assert_eq!(runs("é1234567ü0"), [(2, 9), (11, 12)]);
        for at in 0..20 {
            let text = format!("{}42{}", "x".repeat(at), "y".repeat(20 - at));
            assert_eq!(runs(&text), [(at, at + 2)], "{text}");
        }
    }
}
