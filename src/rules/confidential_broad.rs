use super::{Context, Rule, declare_rule, mass_list, plural};
use crate::audience::is_internal;
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::message::{Message, is_disclaimer, paragraphs, strip_subject_prefixes};
use regex::Regex;
use serde::Deserialize;
use std::sync::LazyLock;

declare_rule! {
    /// ## What it checks
    /// A message marked confidential that goes outside the organisation or
    /// to an everyone-style list (see `mass-list`). A marking is
    ///
    /// - in the subject: `Confidential: ...`, `[Confidential]`,
    ///   `... - confidential`, `(in confidence)`, or anywhere `strictly
    ///   confidential`, `private and confidential`, `strictly private`,
    ///   `for internal use only`, `do not forward`, `not for distribution`,
    ///   `embargoed`, `under embargo`;
    /// - in the first five lines the sender wrote: the same, as a label
    ///   (`CONFIDENTIAL`, `Confidential - draft`);
    /// - anywhere in the text the sender wrote, a request: `please keep this
    ///   confidential`, `this is strictly confidential`, `treat it as
    ///   confidential`, `do not forward this`, `not for distribution`,
    ///   `embargoed until ...`;
    /// - a header: `Sensitivity: Company-Confidential` or `Private`, or a
    ///   classification header (`X-Classification`, `Classification`,
    ///   `X-Microsoft-Classification`, `X-Protective-Marking`) whose value
    ///   says confidential, restricted, secret, protected or in confidence.
    ///
    /// An embargo (`embargoed`, `under embargo`, `embargoed until ...`) counts
    /// only for everyone-style lists: press releases go to journalists
    /// outside under embargo by design, but an embargoed result sent to
    /// all staff is as good as published.
    ///
    /// Quoted text of earlier messages is not this message's marking, and
    /// neither is a legal footer ("This email and any attachments are
    /// confidential and intended solely for the addressee... If you have
    /// received this email in error, please notify the sender"): paragraphs
    /// with such phrases are skipped, signature delimiter or not.
    ///
    /// Outside means a recipient outside the organisation's domains, not
    /// counting the sender's own addresses or `trusted_domains`. Without
    /// configured domains the organisation is the sender's domain; mail
    /// from a personal mailbox has no organisation, so only everyone-style
    /// lists count for it.
    ///
    /// ## Why it matters
    /// A publisher's president hit "reply all" on a confidential email and
    /// let slip plans to lay off staff to the entire newsroom of the
    /// newspaper.
    ///
    /// ## Example
    /// ```text
    /// From: Richard Vance <richard.vance@news.example.com>
    /// To: Karen Osei <karen.osei@news.example.com>
    /// Cc: All Newsroom <all-newsroom@news.example.com>
    /// Subject: RE: Newsroom reorganisation - next steps
    ///
    /// ... Please keep this confidential for now.
    /// ```
    ///
    /// ## How to fix
    /// Check that every recipient may read it: take the list and the outside
    /// recipients off, or take the confidential content out. Partners who
    /// routinely receive confidential mail go in `trusted_domains`.
    ///
    /// ## Options
    /// ```toml
    /// [rules.confidential-broad]
    /// trusted_domains = []   # e.g. ["lawfirm.example"]: not "outside" for this rule
    /// markings = []          # more markings for the subject and first lines,
    ///                        # e.g. ["OFFICIAL-SENSITIVE"]
    /// ```
    id: "confidential-broad",
    severity: Error,
    summary: "A message marked confidential goes outside the organisation or to a mass list",
    build: ConfidentialBroad::build,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct Options {
    trusted_domains: Vec<String>,
    markings: Vec<String>,
}

struct ConfidentialBroad {
    trusted_domains: Vec<String>,
    /// The configured markings, as one case-insensitive word-bounded regex.
    markings: Option<Regex>,
}

impl ConfidentialBroad {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let options: Options = settings.options()?;
        let mut trusted_domains = Vec::new();
        for domain in &options.trusted_domains {
            let domain = domain.trim().trim_start_matches('@').to_ascii_lowercase();
            if domain.is_empty() || domain.contains(['@', ' ']) {
                return Err(OptionError::new(
                    "trusted_domains",
                    format!("{domain:?} is not a domain"),
                ));
            }
            trusted_domains.push(domain);
        }
        let mut alternatives = Vec::new();
        for marking in &options.markings {
            let words: Vec<String> = marking.split_whitespace().map(regex::escape).collect();
            if words.is_empty() {
                return Err(OptionError::new("markings", "a marking must not be empty"));
            }
            alternatives.push(words.join(r"\s+"));
        }
        let markings = (!alternatives.is_empty())
            .then(|| {
                Regex::new(&format!(
                    r"(?i)(?:^|(?-i:[^\w]))(?:{})(?:$|(?-i:[^\w]))",
                    alternatives.join("|")
                ))
            })
            .transpose()
            .map_err(|e| OptionError::new("markings", e.to_string()))?;
        Ok(Box::new(ConfidentialBroad {
            trusted_domains,
            markings,
        }))
    }

    /// A marking in a short text (the subject, one of the first lines).
    fn label(&self, text: &str, embargo_counts: bool) -> Option<Kind> {
        if text.len() > 1000 {
            return None;
        }
        for re in [&*STRONG, &*LABEL_START, &*LABEL_END, &*LABEL_BRACKET] {
            if let Some(kind) = first_kind(re, text, embargo_counts) {
                return Some(kind);
            }
        }
        self.markings
            .as_ref()
            .is_some_and(|re| re.is_match(text))
            .then_some(Kind::Confidential)
    }

    /// Where the message is marked, how, and how it says so.
    fn marking(&self, msg: &Message, embargo_counts: bool) -> Option<(Kind, String, Location)> {
        if let Some(subject) = msg.subject.as_deref() {
            let stripped = strip_subject_prefixes(subject);
            if let Some(kind) = self
                .label(stripped, embargo_counts)
                .or_else(|| self.label(subject, embargo_counts))
            {
                return Some((
                    kind,
                    format!("the subject {:?}", shorten(subject.trim())),
                    Location::header("Subject", msg.header_line("Subject")),
                ));
            }
        }
        for header in msg.headers() {
            if header_marks(header.name, header.value) {
                return Some((
                    Kind::Confidential,
                    format!(
                        "the header `{}: {}`",
                        header.name,
                        shorten(header.value.trim())
                    ),
                    Location::header(header.name, header.line),
                ));
            }
        }
        for part in msg.readable_parts() {
            let written: Vec<&str> = paragraphs(part.authored())
                .filter(|p| !is_disclaimer(p))
                .collect();
            let first_lines = written
                .iter()
                .flat_map(|p| p.lines())
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .take(FIRST_LINES);
            for line in first_lines {
                if let Some(kind) = self.label(line, embargo_counts) {
                    return Some((
                        kind,
                        format!("the line {:?}", shorten(line)),
                        Location::part(part.mime_type(), part.line),
                    ));
                }
            }
            for paragraph in &written {
                for m in REQUEST.find_iter(paragraph) {
                    let kind = kind_of(m.as_str());
                    if kind == Kind::Embargoed && !embargo_counts {
                        continue;
                    }
                    return Some((
                        kind,
                        format!("the text {:?}", shorten(&request_words(m.as_str()))),
                        Location::part(part.mime_type(), part.line),
                    ));
                }
            }
        }
        None
    }
}

/// What a marking asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Only the intended recipients may read it.
    Confidential,
    /// Nobody may publish it before a time: press releases go to journalists
    /// under embargo, so this matters only for everyone-style lists.
    Embargoed,
}

fn kind_of(marking: &str) -> Kind {
    if marking.to_ascii_lowercase().contains("embargo") {
        Kind::Embargoed
    } else {
        Kind::Confidential
    }
}

/// The kind of the first match of a marking pattern that counts.
fn first_kind(re: &Regex, text: &str, embargo_counts: bool) -> Option<Kind> {
    re.find_iter(text)
        .map(|m| kind_of(m.as_str()))
        .find(|&k| k == Kind::Confidential || embargo_counts)
}

/// How many of the first lines the sender wrote may carry a label.
const FIRST_LINES: usize = 5;

/// Markings that mean the same wherever they stand in a subject or a first line.
static STRONG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\b(?:strictly|highly|company|commercially)[\s-]+confidential\b",
        r"|\b(?:private|personal)\s+(?:and|&)\s+confidential\b",
        r"|\bstrictly\s+private\b",
        r"|\b(?:for\s+)?internal\s+use\s+only\b",
        r"|\bnot\s+for\s+(?:further\s+|external\s+|wider\s+|public\s+)?(?:distribution|circulation|publication)\b",
        r"|\bdo\s+not\s+(?:forward|distribute|circulate)\b",
        r"|\bembargoed\b|\bunder\s+embargo\b",
        r"|\bin\s+strict(?:est)?\s+confidence\b",
    ))
    .expect("marking pattern is valid")
});

/// The words that mark a text only when they stand as a label.
const LABEL: &str = r"(?:(?:strictly|highly|company|commercially)[\s-]+)?(?:confidential|internal[\s-]+only|in\s+confidence)";

/// `Confidential: ...`, `CONFIDENTIAL`, `** Confidential - draft **`.
static LABEL_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)^[\s\[\(\*#_=~<>|:-]*(?:(?:classification|sensitivity|security|marking|status)\s*:\s*)?{LABEL}\s*(?:$|[\]\)\*:|/.,!;>]|[-–—]\s)"
    ))
    .expect("label pattern is valid")
});

/// `Q3 plan - confidential`, `details (IN CONFIDENCE)`.
static LABEL_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?:[\(\[\*<]|\s[-–—|:/]|,)\s*{LABEL}[\s\]\)\*.!>]*$"
    ))
    .expect("label pattern is valid")
});

/// `[Confidential]` or `(internal only)` anywhere.
static LABEL_BRACKET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)[\[\(\*<]\s*{LABEL}\s*[\]\)\*>]")).expect("label pattern is valid")
});

/// Requests in running text that the message not travel.
static REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    let subject = r"(?:this|it|that|these|them|the\s+(?-i:\w)+(?:\s+(?-i:\w)+)?)";
    let degree = r"(?:(?:strictly|completely|absolutely|totally|highly|very|still)\s+)?";
    // The end of the request: `keep this confidential.`, `... for now`, not
    // `keep the server confidential logs`.
    let end = r"(?:\s*(?:[.,;:!)]|$)|\s+(?:for|until|please|and|from|at|as|within|between|among|to|outside|beyond)\b)";
    Regex::new(&format!(
        concat!(
            r"(?im)\bkeep\s+{subject}\s+{degree}(?:confidential|between\s+(?:us|ourselves|you\s+and\s+me)|under\s+wraps){end}",
            r"|\bkeep\s+(?:this|it|that)\s+{degree}private{end}",
            r"|\b(?:this|it|which|everything\s+below|the\s+following|this\s+(?:e-?mail|message|note|information|list|plan|document|update|news))\s+(?:is|are)\s+{degree}(?:confidential|embargoed|under\s+embargo|not\s+for\s+(?:distribution|circulation|publication)){end}",
            r"|\btreat\s+{subject}\s+(?:as\s+)?{degree}confidential{end}",
            r"|\btreat\s+(?:this|it|these|them)\s+in\s+(?:strict(?:est)?\s+)?confidence\b",
            r"|\b(?:do\s+not|don't|don’t|never)\s+(?:forward|share|circulate|distribute|pass\s+on)\s+(?:this|it|these)",
            r"(?:\s+(?:e-?mail|message|note|information|news|document|plan|update))?",
            r"(?:\s+(?:with\s+anyone|outside|beyond|any\s+further|further|yet|to\s+anyone|with\s+(?:the\s+)?(?:team|others|staff))\b|\s*[.,;!)]|\s*$)",
            r"|\b(?:strictly|highly|company|commercially)[\s-]+confidential\b",
            r"|\b(?:private|personal)\s+(?:and|&)\s+confidential\b",
            r"|\bstrictly\s+private\b",
            r"|\bfor\s+internal\s+use\s+only\b",
            r"|\bnot\s+for\s+(?:further\s+|external\s+|wider\s+|public\s+)?(?:distribution|circulation|publication)\b",
            r"|\b(?:embargoed|under\s+embargo)\s+until\b",
            r"|\bin\s+strict(?:est)?\s+confidence\b",
        ),
        subject = subject,
        degree = degree,
        end = end,
    ))
    .expect("request pattern is valid")
});

/// A matched request as words, without the punctuation or word that ended it.
fn request_words(matched: &str) -> String {
    let trimmed = matched.trim_end_matches(|c: char| c.is_whitespace() || ".,;:!)".contains(c));
    let mut words: Vec<&str> = trimmed.split_whitespace().collect();
    if words.len() > 3
        && words
            .last()
            .is_some_and(|w| END_WORDS.iter().any(|e| w.eq_ignore_ascii_case(e)))
    {
        words.pop();
    }
    words.join(" ")
}

/// Words that may follow a request, listed in the pattern's end.
const END_WORDS: &[&str] = &[
    "for", "until", "please", "and", "from", "at", "as", "within", "between", "among", "to",
    "outside", "beyond",
];

/// Classification values that restrict who may read a message.
static CLASSIFIED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:^|(?-i:[^\w-]))(?:confidential|restricted|secret|protected|in[\s-]confidence)\b",
    )
    .expect("classification pattern is valid")
});
static UNCLASSIFIED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:non|not|un)[\s-]*(?:confidential|restricted|secret|protected)")
        .expect("classification pattern is valid")
});

/// `Sensitivity: Company-Confidential`, `X-Classification: Confidential`, ...
fn header_marks(name: &str, value: &str) -> bool {
    let value = value.trim();
    if name.eq_ignore_ascii_case("Sensitivity") {
        return value.eq_ignore_ascii_case("company-confidential")
            || value.eq_ignore_ascii_case("private");
    }
    let classification = [
        "X-Classification",
        "Classification",
        "X-Microsoft-Classification",
        "X-Protective-Marking",
        "X-Security-Classification",
    ];
    classification.iter().any(|h| name.eq_ignore_ascii_case(h))
        && value.len() <= 1000
        && CLASSIFIED.is_match(value)
        && !UNCLASSIFIED.is_match(value)
}

/// At most 60 characters of a text, for messages.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// How many example domains a finding names.
const EXAMPLE_DOMAINS: usize = 3;

impl Rule for ConfidentialBroad {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let audience = cx.audience;
        // Without an organisation (a personal mailbox and no configured
        // domains) nobody is "outside": only lists count.
        let has_org = !audience.org_domains.is_empty();
        let mut external = 0u64;
        let mut domains: Vec<String> = Vec::new();
        if has_org {
            for r in audience.external() {
                let domain = r.first.domain().unwrap_or("").to_ascii_lowercase();
                if is_internal(&domain, &self.trusted_domains) {
                    continue;
                }
                external += 1;
                if domains.len() < EXAMPLE_DOMAINS && !domains.contains(&domain) {
                    domains.push(domain);
                }
            }
        }
        let mut lists = audience.mass_lists();
        let first_list = lists.next();
        if external == 0 && first_list.is_none() {
            return;
        }
        let Some((kind, marking, location)) = self.marking(cx.message, first_list.is_some()) else {
            return;
        };
        let mut reach = Vec::new();
        if external > 0 && kind == Kind::Confidential {
            reach.push(format!(
                "{} outside the organisation (at {}{})",
                plural(external, "recipient", "recipients"),
                domains.join(", "),
                if external as usize > domains.len() && domains.len() == EXAMPLE_DOMAINS {
                    ", ..."
                } else {
                    ""
                }
            ));
        }
        if let Some((r, m)) = first_list {
            let more = lists.count();
            let mut s = format!("the everyone-style list {}", mass_list::describe(r, m));
            if more > 0 {
                s.push_str(&format!(
                    " and {}",
                    plural(more as u64, "more list", "more lists")
                ));
            }
            reach.push(s);
        }
        out.push(
            Diagnostic::new(
                Severity::Error,
                format!(
                    "marked {} by {marking} but sent to {}",
                    match kind {
                        Kind::Confidential => "confidential",
                        Kind::Embargoed => "embargoed",
                    },
                    reach.join(" and to ")
                ),
                location,
            )
            .help("make sure every recipient may read it: remove the list and outside recipients, or the confidential content"),
        );
    }
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
    use crate::testing::{check_rule, check_rule_with, eml};

    fn rule() -> ConfidentialBroad {
        ConfidentialBroad {
            trusted_domains: Vec::new(),
            markings: None,
        }
    }

    #[test]
    fn labels_in_subjects_and_first_lines() {
        let r = rule();
        for s in [
            "Confidential: Q3 headcount",
            "CONFIDENTIAL",
            "[Confidential] Q3 headcount",
            "Q3 headcount - CONFIDENTIAL",
            "Q3 headcount (confidential)",
            "Leaders' arrival - accreditation details (IN CONFIDENCE)",
            "Strictly confidential - board minutes",
            "Board minutes: strictly private",
            "Private and confidential",
            "Q3 figures (internal only)",
            "For internal use only",
            "Do not forward: salary review",
            "Not for distribution",
            "EMBARGOED until 00:01 Tuesday",
            "Results under embargo",
            "** Confidential - draft **",
            "Classification: Confidential",
        ] {
            assert!(r.label(s, true).is_some(), "{s}");
        }
        for s in [
            "Confidential waste collection on Friday",
            "Confidentiality agreement for signature",
            "The confidential report is ready",
            "Investing in confidence: the 2024 survey",
            "Newsroom reorganisation - next steps",
            "Internal audit schedule",
            "Private dining room booking",
            "Is this confidential?",
        ] {
            assert!(r.label(s, true).is_none(), "{s}");
        }
    }

    #[test]
    fn requests_in_running_text() {
        for s in [
            "Please keep this confidential for now.",
            "keep the figures strictly confidential",
            "Keep it between us.",
            "This is strictly confidential.",
            "please treat it as confidential",
            "Please do not forward this.",
            "Don't share this with the team",
            "The results are embargoed until Tuesday.",
        ] {
            assert!(REQUEST.is_match(s), "{s}");
        }
        for s in [
            "Please do not share this link with students who have not enrolled",
            "The confidential waste bins are full.",
            "We keep the server confidential logs for a year.",
            "How do I keep my account private?",
            "Privacy and confidentiality training is on Monday.",
        ] {
            assert!(!REQUEST.is_match(s), "{s}");
        }
    }

    #[test]
    fn classification_headers() {
        assert!(header_marks("Sensitivity", "Company-Confidential"));
        assert!(header_marks("sensitivity", " private "));
        assert!(!header_marks("Sensitivity", "Personal"));
        assert!(header_marks("X-Classification", "Confidential"));
        assert!(header_marks(
            "X-Protective-Marking",
            "VER=2018.1, NS=gov.au, SEC=PROTECTED, ORIGIN=a@agency.example"
        ));
        assert!(!header_marks("X-Classification", "Unrestricted"));
        assert!(!header_marks("X-Classification", "Non-Confidential"));
        assert!(!header_marks("X-Classification", "NON CONFIDENTIAL"));
        assert!(!header_marks("X-Classification", "Public"));
        assert!(!header_marks("X-Mailer", "Confidential Mailer 2.0"));
    }

    #[test]
    fn fires_outside_with_count_and_domains() {
        let msg = eml(concat!(
            "From: Ann <ann@corp.example>\n",
            "To: bob@corp.example, c@partner.example, d@partner.example, e@gmail.com, f@other.example, g@fourth.example\n",
            "Subject: [Confidential] Q3 numbers\n\nHi\n"
        ));
        let f = check_rule("confidential-broad", &msg);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(
            f[0].message,
            "marked confidential by the subject \"[Confidential] Q3 numbers\" but sent to 5 recipients outside the organisation (at partner.example, gmail.com, other.example, ...)"
        );
        assert_eq!(f[0].location.header.as_deref(), Some("Subject"));
        assert_eq!(f[0].location.line, Some(3));
    }

    #[test]
    fn fires_on_a_mass_list_inside() {
        let msg = eml(concat!(
            "From: r@news.example.com\nTo: k@news.example.com\nCc: all-newsroom@news.example.com\n",
            "Subject: RE: plans\nIn-Reply-To: <x@news.example.com>\n\n",
            "Karen,\n\nThe plan is to cut 40 roles.\nPlease keep this\nconfidential for now.\n\n",
            "-----Original Message-----\nFrom: Karen\nSent: today\n\nold\n"
        ));
        let f = check_rule("confidential-broad", &msg);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.starts_with(
                "marked confidential by the text \"keep this confidential\" but sent to the everyone-style list all-newsroom@news.example.com"
            ),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].location.part.as_deref(), Some("text/plain"));
    }

    #[test]
    fn embargoes_count_only_for_mass_lists() {
        let press = "From: press@uni.example.ac.uk\nTo: desk@paper.example.com\nSubject: EMBARGOED until 00:01 Thursday: trial results\n\nx\n";
        assert!(check_rule("confidential-broad", &eml(press)).is_empty());
        let staff = eml(
            "From: press@uni.example.ac.uk\nTo: all-staff@uni.example.ac.uk\nSubject: Trial results\n\nThe results are under embargo until Thursday.\n",
        );
        let f = check_rule("confidential-broad", &staff);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.starts_with("marked embargoed by the line \"The results are under embargo until Thursday.\" but sent to the everyone-style list all-staff@"),
            "{}",
            f[0].message
        );
        // A confidentiality marking after an embargo still counts outside.
        let both = eml(
            "From: press@uni.example.ac.uk\nTo: desk@paper.example.com\nSubject: EMBARGOED: trial results\n\nStrictly confidential: the patient numbers.\n",
        );
        let f = check_rule("confidential-broad", &both);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.starts_with("marked confidential by the line"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn headers_and_first_lines() {
        let header = eml(
            "From: a@corp.example\nTo: b@client.example\nSensitivity: Company-Confidential\nSubject: plan\n\nhi\n",
        );
        let f = check_rule("confidential-broad", &header);
        assert_eq!(f[0].location.header.as_deref(), Some("Sensitivity"));
        let line = eml(
            "From: a@corp.example\nTo: b@client.example\nSubject: plan\n\nHi Bob,\n\nCONFIDENTIAL - DRAFT\n\nThe numbers.\n",
        );
        assert_eq!(check_rule("confidential-broad", &line).len(), 1);
        // Only the first lines carry labels.
        let late = eml(
            "From: a@corp.example\nTo: b@client.example\nSubject: plan\n\n1\n2\n3\n4\n5\n6\nConfidential\n",
        );
        assert!(check_rule("confidential-broad", &late).is_empty());
    }

    #[test]
    fn silent_for_footers_quotes_and_internal_mail() {
        let footer = eml(concat!(
            "From: a@corp.example\nTo: b@client.example\nSubject: lunch\n\nSee you at noon.\n\n",
            "This email and any attachments are confidential and intended solely for the addressee.\n",
            "If you have received this email in error please notify the sender.\n"
        ));
        assert!(check_rule("confidential-broad", &footer).is_empty());
        let quoted = eml(concat!(
            "From: a@corp.example\nTo: b@client.example\nSubject: Re: plan\n\nThanks, noted.\n\n",
            "On Mon, 1 Jan 2024, Bob <b@client.example> wrote:\n> CONFIDENTIAL\n> Please keep this confidential.\n"
        ));
        assert!(check_rule("confidential-broad", &quoted).is_empty());
        let internal = eml(
            "From: a@corp.example\nTo: b@corp.example, c@eu.corp.example\nSubject: Confidential: plan\n\nx\n",
        );
        assert!(check_rule("confidential-broad", &internal).is_empty());
        let personal =
            eml("From: a@gmail.com\nTo: b@gmail.com\nSubject: Confidential: surprise party\n\nx\n");
        assert!(check_rule("confidential-broad", &personal).is_empty());
    }

    #[test]
    fn options() {
        let msg = eml(
            "From: a@corp.example\nTo: b@eu.lawfirm.example\nSubject: OFFICIAL-SENSITIVE: case notes\n\nx\n",
        );
        assert!(check_rule("confidential-broad", &msg).is_empty());
        let config = "[rules.confidential-broad]\nmarkings = [\"official-sensitive\"]\n";
        assert_eq!(check_rule_with(config, "confidential-broad", &msg).len(), 1);
        let trusted = "[rules.confidential-broad]\nmarkings = [\"OFFICIAL-SENSITIVE\"]\ntrusted_domains = [\"lawfirm.example\"]\n";
        assert!(check_rule_with(trusted, "confidential-broad", &msg).is_empty());
        let settings = |toml: &str| {
            crate::config::Config::parse(toml, "t.toml").unwrap().rules["confidential-broad"]
                .clone()
        };
        let bad = ConfidentialBroad::build(&settings(
            "[rules.confidential-broad]\ntrusted_domains = [\"a b\"]\n",
        ));
        assert_eq!(bad.err().unwrap().key.as_deref(), Some("trusted_domains"));
        let bad = ConfidentialBroad::build(&settings(
            "[rules.confidential-broad]\nmarkings = [\" \"]\n",
        ));
        assert_eq!(bad.err().unwrap().key.as_deref(), Some("markings"));
    }
}
