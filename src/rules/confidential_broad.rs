use super::shared::constant_regex;
use super::{Context, Rule, declare_rule, plural, shared};
use crate::audience::{Audience, is_internal, registrable};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::gate::{self, Screened};
use crate::message::{
    Inside, Message, has_forward_prefix, has_reply_prefix, is_disclaimer, paragraphs,
    strip_subject_prefixes,
};
use regex::Regex;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
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
    /// - in either, the UK government's classification markings as labels:
    ///   `OFFICIAL-SENSITIVE` (or `OFFICIAL SENSITIVE`, with `PERSONAL`,
    ///   `COMMERCIAL` or `LOCSEN` after it), and in capitals `SECRET` and
    ///   `TOP SECRET` (`[OFFICIAL-SENSITIVE] Case notes`, `SECRET - UK EYES
    ///   ONLY`). `OFFICIAL` alone is the everyday marking of most government
    ///   mail and does not count, nor do `Secret Santa` or `the official
    ///   sensitive data course`;
    /// - anywhere in the text the sender wrote, a request: `please keep this
    ///   confidential`, `this is strictly confidential`, `treat it as
    ///   confidential`, `do not forward this`, `not for distribution`,
    ///   `embargoed until ...`;
    /// - in German, French, Spanish, Italian, Portuguese, Dutch, Polish,
    ///   Swedish, Danish, Norwegian and Finnish: the same kinds of label
    ///   (`Vertraulich`, `Streng vertraulich`, `VS-NfD`, `Confidentiel`,
    ///   `Diffusion restreinte`, `Confidencial – no reenviar`, `Riservato`,
    ///   `Vertrouwelijk`, `Ściśle poufne`, `Konfidentiellt`, `Strengt
    ///   fortroligt`, `Unntatt offentlighet`, `Luottamuksellinen`, and in
    ///   capitals `GEHEIM`, `TAJNE`, `HEMLIG`, `SALAINEN`), internal-use and
    ///   do-not-forward markings anywhere (`Nur für den Dienstgebrauch`, `Solo
    ///   per uso interno`, `Niet doorsturen`, `Må ikke videresendes`), and
    ///   requests (`bitte vertraulich behandeln`, `merci de ne pas
    ///   transférer`, `Te dane są ściśle poufne`); their legal footers are
    ///   footers here too;
    /// - in the first five lines of a document, sheet or PDF attached
    ///   (read inside by its bytes, within the `[attachments]` limits; a
    ///   docx's header first, where such markings sit), the same labels:
    ///   `STRICTLY CONFIDENTIAL` heading board minutes;
    /// - a header: `Sensitivity: Company-Confidential` or `Private`, or a
    ///   classification header (`X-Classification`, `Classification`,
    ///   `X-Microsoft-Classification`, `X-Protective-Marking`) whose value
    ///   says confidential, restricted, secret, protected, sensitive or in
    ///   confidence.
    ///
    /// An embargo (`embargoed`, `under embargo`, `embargoed until ...`) counts
    /// only for everyone-style lists: press releases go to journalists
    /// outside under embargo by design, but an embargoed result sent to
    /// all staff is as good as published.
    ///
    /// A reply's subject marking (`RE: [Confidential] ...`) was written for
    /// the thread: it counts only for outside recipients new to the thread,
    /// that is, at none of the domains (or, at personal mailbox providers,
    /// none of the addresses) in the quoted history or in the Message-IDs of
    /// In-Reply-To and References. Sending it back to the people who started
    /// the thread is not broad.
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
    /// routinely receive confidential mail go in `trusted_domains` (e.g.
    /// `gov.uk` for OFFICIAL-SENSITIVE mail between government departments).
    ///
    /// ## Options
    /// ```toml
    /// [rules.confidential-broad]
    /// trusted_domains = []   # e.g. ["lawfirm.example"]: not "outside" for this rule
    /// markings = []          # more markings for the subject and first lines,
    ///                        # e.g. ["COMMERCIAL IN CONFIDENCE"]
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
        let english = [&STRONG, &LABEL_START, &LABEL_END, &LABEL_BRACKET];
        let more = [
            &STRONG_MORE,
            &LABEL_START_MORE,
            &LABEL_END_MORE,
            &LABEL_BRACKET_MORE,
        ];
        for (words, patterns) in [(&LABEL_WORDS, english), (&LABEL_WORDS_MORE, more)] {
            if words.is_match(text)
                && let Some(kind) = patterns
                    .iter()
                    .find_map(|re| first_kind(re, text, embargo_counts))
            {
                return Some(kind);
            }
        }
        self.markings
            .as_ref()
            .is_some_and(|re| re.is_match(text))
            .then_some(Kind::Confidential)
    }

    /// Where the message is marked, how, and how it says so. A marking of
    /// this message's own (a header, the text the sender wrote) comes before
    /// one the subject inherited from the thread.
    fn marking<'i>(
        &self,
        msg: &Message,
        embargo_counts: bool,
        inside: impl FnOnce() -> &'i Inside,
    ) -> Option<Marking> {
        let mut inherited = None;
        if let Some(subject) = msg.subject.as_deref() {
            let stripped = strip_subject_prefixes(subject);
            if let Some(kind) = self
                .label(stripped, embargo_counts)
                .or_else(|| self.label(subject, embargo_counts))
            {
                let marking = Marking {
                    kind,
                    by: format!("the subject {:?}", shorten(subject.trim())),
                    location: Location::header("Subject", msg.header_line("Subject")),
                    inherited: false,
                };
                if !self.inherited(subject, embargo_counts) {
                    return Some(marking);
                }
                inherited = Some(Marking {
                    inherited: true,
                    ..marking
                });
            }
        }
        for header in msg.headers() {
            if header_marks(header.name, header.value) {
                return Some(Marking {
                    kind: Kind::Confidential,
                    by: format!(
                        "the header `{}: {}`",
                        header.name,
                        shorten(header.value.trim())
                    ),
                    location: Location::header(header.name, header.line),
                    inherited: false,
                });
            }
        }
        for part in msg.readable_parts() {
            let authored = part.authored();
            let location = |piece: &str| Location::part(part.mime_type(), part.line_of(piece));
            let passing = AUTHORED_GATES.passing(authored);
            // Footers are told apart only where it matters: in the first
            // lines, where the text has a label's word (most have none),
            // and in a paragraph where a request is found.
            if self.markings.is_some() || passing & (LABELS | LABELS_MORE) != 0 {
                let first_lines = paragraphs(authored)
                    .filter(|p| !is_disclaimer(p))
                    .flat_map(|p| p.lines())
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .take(FIRST_LINES);
                for line in first_lines {
                    if let Some(kind) = self.label(line, embargo_counts) {
                        return Some(Marking {
                            kind,
                            by: format!("the line {:?}", shorten(line)),
                            location: location(line),
                            inherited: false,
                        });
                    }
                }
            }
            let requests: Vec<_> = [
                (REQUESTS, &REQUEST_WORDS, &REQUEST),
                (REQUESTS_MORE, &REQUEST_WORDS_MORE, &REQUEST_MORE),
            ]
            .into_iter()
            .filter(|(gate, _, _)| passing & gate != 0)
            .map(|(_, words, pattern)| (words, pattern))
            .collect();
            if requests.is_empty() {
                continue;
            }
            // Where the text has a request's word, most of its paragraphs
            // still have none, found faster than by the pattern.
            for paragraph in paragraphs(authored) {
                let request = requests
                    .iter()
                    .filter(|(words, _)| words.is_match(paragraph))
                    .flat_map(|(_, pattern)| pattern.find_iter(paragraph))
                    .map(|found| &paragraph[found])
                    .map(|found| (found, kind_of(found)))
                    .find(|&(_, kind)| kind == Kind::Confidential || embargo_counts);
                if let Some((found, kind)) = request
                    && !is_disclaimer(paragraph)
                {
                    return Some(Marking {
                        kind,
                        by: format!("the text {:?}", shorten(&request_words(found))),
                        location: location(found),
                        inherited: false,
                    });
                }
            }
        }
        self.marked_file(msg, inside(), embargo_counts)
            .or(inherited)
    }

    /// A marking in the first lines of a document, sheet or PDF inside
    /// an attachment (where a document's header puts it; a docx's header
    /// is read before its body), legal footers left out.
    fn marked_file(&self, msg: &Message, inside: &Inside, embargo_counts: bool) -> Option<Marking> {
        for file in &inside.files {
            for section in &file.sections {
                let first_lines = paragraphs(&section.text)
                    .filter(|p| !is_disclaimer(p))
                    .flat_map(|p| p.lines())
                    .flat_map(|l| l.split('\t'))
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .take(FIRST_LINES);
                for line in first_lines {
                    if let Some(kind) = self.label(line, embargo_counts) {
                        let name = shared::attachment_name(msg, file.attachment);
                        return Some(Marking {
                            kind,
                            by: format!("the line {:?} in {}", shorten(line), file.path),
                            location: Location::part(name, None),
                            inherited: false,
                        });
                    }
                }
            }
        }
        None
    }

    /// Whether a marked subject is a reply's, its marking after the reply
    /// prefix (`RE: [Confidential] plan`, not `[Confidential] RE: plan`):
    /// written for an earlier message of the thread.
    fn inherited(&self, subject: &str, embargo_counts: bool) -> bool {
        if !has_reply_prefix(subject) || has_forward_prefix(subject) {
            return false;
        }
        let before_prefix = subject.split([':', '：']).next().unwrap_or("");
        self.label(before_prefix, embargo_counts).is_none()
    }
}

/// A marking found in a message.
struct Marking {
    kind: Kind,
    /// `the subject "..."`, `the line "..."`, ...
    by: String,
    location: Location,
    /// A reply's subject marking, written for the thread.
    inherited: bool,
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
fn first_kind(re: &Screened, text: &str, embargo_counts: bool) -> Option<Kind> {
    re.screen(text)?
        .find_iter(text)
        .map(|m| kind_of(&text[m.range()]))
        .find(|&k| k == Kind::Confidential || embargo_counts)
}

/// How many of the first lines the sender wrote may carry a label.
const FIRST_LINES: usize = 5;

/// Markings that mean the same wherever they stand in a subject or a first line.
static STRONG: LazyLock<Screened> = LazyLock::new(|| {
    Screened::gated(concat!(
        r"(?i)\b(?:strictly|highly|company|commercially)[\s-]+confidential\b",
        r"|\b(?:private|personal)\s+(?:and|&)\s+confidential\b",
        r"|\bstrictly\s+private\b",
        r"|\b(?:for\s+)?internal\s+use\s+only\b",
        r"|\bnot\s+for\s+(?:further\s+|external\s+|wider\s+|public\s+)?(?:distribution|circulation|publication)\b",
        r"|\bdo\s+not\s+(?:forward|distribute|circulate)\b",
        r"|\bembargoed\b|\bunder\s+embargo\b",
        r"|\bin\s+strict(?:est)?\s+confidence\b",
    ))
});

/// [`STRONG`] in German, French, Spanish, Italian, Portuguese, Dutch,
/// Polish, Swedish, Danish, Norwegian and Finnish: the strict markings,
/// internal use, do not forward. These languages' patterns stand apart,
/// behind their own words, so that mail in English compiles and runs none
/// of them, and mail in these runs only them.
static STRONG_MORE: LazyLock<Screened> =
    LazyLock::new(|| Screened::gated(&format!(r"(?i){STRICT}|{INTERNAL_USE}|{DO_NOT_FORWARD}")));

/// "Strictly confidential" in the other languages the rule knows.
const STRICT: &str = concat!(
    r"ściśle\s+poufn[eay]\b",
    r"|\b(?:streng\s+vertraulich|strictement\s+confidentiel(?:le)?s?|estrictamente\s+confidencial(?:es)?",
    r"|strettamente\s+(?:riservat[oaie]|confidenzial[ei])|estritamente\s+confidencia(?:l|is)",
    r"|strikt\s+vertrouwelijk|strikt\s+konfidentiell[at]?",
    r"|strengt\s+(?:fortrolig[te]?|konfidensiel(?:l?t)?)|ehdottomasti\s+luottamuksellinen",
    r"|riservat[oa]\s+e\s+confidenziale|vertraulich\s+und\s+persönlich|personnel\s+et\s+confidentiel)\b",
);

/// "For internal use only" in the other languages.
const INTERNAL_USE: &str = concat!(
    r"\b(?:nur\s+für\s+den\s+(?:internen\s+gebrauch|dienstgebrauch)|VS(?:-| - | – )NfD",
    r"|(?:à\s+)?usage\s+interne\s+(?:uniquement|seulement|exclusivement)|diffusion\s+restreinte",
    r"|(?:s[oó]lo|solamente|exclusivamente)\s+(?:para|per|de)\s+uso\s+interno|(?:solo\s+)?per\s+uso\s+interno|apenas\s+para\s+uso\s+interno",
    r"|alleen\s+voor\s+intern\s+gebruik|(?:wyłącznie\s+)?do\s+użytku\s+wewnętrznego",
    r"|endast\s+för\s+internt\s+bruk|kun\s+til\s+intern(?:t)?\s+(?:brug|bruk)|unntatt\s+offentlighet",
    r"|vain\s+sisäiseen\s+käyttöön)",
);

/// "Do not forward" in the other languages, as a label or a request.
const DO_NOT_FORWARD: &str = concat!(
    r"\b(?:nicht\s+weiter(?:leiten|geben)|ne\s+pas\s+(?:diffuser|transférer|faire\s+suivre)",
    r"|no\s+(?:reenviar|difundir|distribuir)|non\s+(?:inoltrare|divulgare|diffondere)",
    r"|não\s+(?:reencaminhar|encaminhar|divulgar)|niet\s+doorsturen|nie\s+przekazywać",
    r"|vidarebefordra\s+(?:inte|ej)|får\s+(?:inte|ej)\s+(?:vidarebefordras|spridas)",
    r"|må\s+ikke\s+(?:videresendes|deles)|ikke\s+videresend|videresend\s+ikke)",
    r"|älä\s+välitä\s+(?:tätä\s+)?(?:viestiä\s+)?eteenpäin",
);

/// The words that mark a text only when they stand as a label, the UK
/// government's classifications among them (`SECRET` only in capitals:
/// `Secret Santa`).
const LABEL: &str = concat!(
    r"(?:(?:(?:strictly|highly|company|commercially)[\s-]+)?(?:confidential|internal[\s-]+only|in\s+confidence)",
    r"|official[\s:-]+sensitive(?:[\s:-]+(?:personal|commercial|locsen))?",
    r"|(?-i:(?:UK\s+)?(?:TOP\s+)?SECRET))",
);

/// [`LABEL`] in the languages of [`STRONG_MORE`]: confidential, and the
/// classifications (`VS-NfD`, `Diffusion Restreinte`, `Riservato`,
/// `Zastrzeżone`, `Unntatt offentlighet`, `Salainen`).
const LABEL_MORE: &str = concat!(
    r"(?:(?:streng\s+)?vertraulich|(?:strictement\s+)?confidentiel(?:le)?|diffusion\s+restreinte",
    r"|(?:estrictamente\s+|estritamente\s+)?confidencial|(?:strettamente\s+)?(?:riservat[oa]|riservatissimo|confidenziale)",
    r"|(?:strikt\s+)?vertrouwelijk|(?:ściśle\s+)?poufne|zastrzeżone|(?:strikt\s+)?konfidentiellt?",
    r"|(?:strengt\s+)?(?:fortroligt?|konfidensielt)|(?:ehdottomasti\s+)?luottamuksellinen",
    r"|(?:nur\s+)?für\s+den\s+dienstgebrauch|VS(?:-| - | – )NfD|uso\s+interno|intern\s+gebruik",
    r"|unntatt\s+offentlighet|(?-i:SALAINEN|GEHEIM|TAJNE|HEMLIG))",
);

/// `Confidential: ...`, `CONFIDENTIAL`, `** Confidential - draft **`.
static LABEL_START: LazyLock<Screened> = LazyLock::new(|| label_start(LABEL));
static LABEL_START_MORE: LazyLock<Screened> = LazyLock::new(|| label_start(LABEL_MORE));

fn label_start(label: &str) -> Screened {
    Screened::gated(&format!(
        r"(?i)^[\s\[\(\*#_=~<>|:-]*(?:(?:classification|sensitivity|security|marking|status)\s*:\s*)?{label}\s*(?:$|[\]\)\*:|/.,!;>]|[-–—]\s)"
    ))
}

/// `Q3 plan - confidential`, `details (IN CONFIDENCE)`.
static LABEL_END: LazyLock<Screened> = LazyLock::new(|| label_end(LABEL));
static LABEL_END_MORE: LazyLock<Screened> = LazyLock::new(|| label_end(LABEL_MORE));

fn label_end(label: &str) -> Screened {
    Screened::gated(&format!(
        r"(?i)(?:[\(\[\*<]|\s[-–—|:/]|,)\s*{label}[\s\]\)\*.!>]*$"
    ))
}

/// `[Confidential]` or `(internal only)` anywhere.
static LABEL_BRACKET: LazyLock<Screened> = LazyLock::new(|| label_bracket(LABEL));
static LABEL_BRACKET_MORE: LazyLock<Screened> = LazyLock::new(|| label_bracket(LABEL_MORE));

fn label_bracket(label: &str) -> Screened {
    Screened::gated(&format!(r"(?i)[\[\(\*<]\s*{label}\s*[\]\)\*>]"))
}

/// The words of every [`STRONG`] and [`LABEL`] alternative (see
/// `gate.rs`): the subject and first lines of most messages have none. A
/// label may follow a `_` (see [`label_start`]): its first word has no
/// word edge in front.
static LABEL_WORDS: LazyLock<gate::AllOf> = LazyLock::new(|| {
    gate::all_of(&[
        &[&["confiden", "embargo", "secret"]],
        &[&["internal"], &[r"\bonly\b"]],
        &[&[r"\bstrictly\b"], &[r"\bprivate\b"]],
        &[
            &[
                r"\bdistribut",
                r"\bcirculat",
                r"\bpublication\b",
                r"\bforward\b",
            ],
            &[r"\bnot\b"],
        ],
        &[&["official"], &[r"\bsensitive"]],
    ])
});

/// The words of every [`STRONG_MORE`] and [`LABEL_MORE`] alternative.
static LABEL_WORDS_MORE: LazyLock<gate::AllOf> = LazyLock::new(|| {
    let labels: &[&[&str]] = &[&[
        "vertrau",
        "vertrou",
        "riservat",
        "poufn",
        "zastrze",
        "konfiden",
        "fortrolig",
        "luottamuksel",
        "salainen",
        "geheim",
        "tajne",
        "hemlig",
    ]];
    gate::all_of(
        &std::iter::once(labels)
            .chain(OTHER_LANGUAGE_WORDS.iter().copied())
            .collect::<Vec<_>>(),
    )
});

/// The words of every [`STRICT`], [`INTERNAL_USE`] and [`DO_NOT_FORWARD`]
/// alternative: a word alone where it is rare in other text, else with the
/// words that stand beside it (`ne pas diffuser`, not an English
/// `diffuser`). Only ASCII letters fold (see `gate.rs`): a word with
/// another letter is listed in both cases. A label of [`LABEL_MORE`] may
/// begin with `uso` or `intern` after a `_`.
const OTHER_LANGUAGE_WORDS: &[&[&[&str]]] = &[
    &[&[
        "vertraulich",
        "confidentiel",
        "confidencia",
        "confidenz",
        "vertrouwelijk",
        "poufn",
        "konfiden",
        "fortrolig",
        "luottamuksel",
        "riservat",
        "gebrauch",
        "vs-nfd",
        "vs - nfd",
        "vs – nfd",
        "restreinte",
        "wewn",
        "offentlighet",
        "sisäise",
        "sisÄise",
        "doorsturen",
        "przekazywa",
        "vidarebefordr",
        "spridas",
        "videresend",
        "eteenp",
    ]],
    &[
        &["uniquement", "seulement", "exclusivement"],
        &[r"\binterne\b"],
    ],
    &[&["interno"], &[r"uso\b"]],
    // Danish and Norwegian "use", after a space in every pattern: not
    // the `brug` of Hoogerbrugge.
    &[&["gebruik", r"\bbruk", r"\bbrug"], &["intern"]],
    &[&["weiter"], &[r"\bnicht\b"]],
    &[
        &["diffuser", "transférer", "transfÉrer", "suivre"],
        &[r"\bpas\b"],
    ],
    &[&["reenviar", "difundir", "distribuir"], &[r"\bno\b"]],
    &[
        &["inoltrare", "divulga", "diffondere", "encaminhar"],
        &[r"\bnon\b", "não", "nÃo"],
    ],
    &[&["deles"], &[r"\bikke\b"]],
];

/// Requests in running text that the message not travel. Every `\b`
/// stands beside an ASCII letter (see [`Screened`]). In parts, each behind
/// the words every match of it holds (see `gate.rs`): a legal footer's
/// `confidential` compiles the few requests with that word, not the
/// `keep ...` and `do not forward ...` ones.
static REQUEST: LazyLock<gate::Parts> = LazyLock::new(|| {
    let subject = r"(?:this|it|that|these|them|the\s+(?-i:\w)+(?:\s+(?-i:\w)+)?)";
    let degree = r"(?:(?:strictly|completely|absolutely|totally|highly|very|still)\s+)?";
    // The end of the request: `keep this confidential.`, `... for now`, not
    // `keep the server confidential logs`.
    let end = r"(?:\s*(?:[.,;:!)]|$)|\s+(?:for|until|please|and|from|at|as|within|between|among|to|outside|beyond)\b)";
    let parts: [(&[&str], &str); 10] = [
        (
            &[r"\bkeep\b"],
            concat!(
                r"\bkeep\s+{subject}\s+{degree}(?:confidential|between\s+(?:us|ourselves|you\s+and\s+me)|under\s+wraps){end}",
                r"|\bkeep\s+(?:this|it|that)\s+{degree}private{end}",
            ),
        ),
        (
            &[
                r"\bconfiden",
                r"\bembargo",
                r"\bdistribution\b",
                r"\bcirculation\b",
                r"\bpublication\b",
            ],
            r"\b(?:this|it|which|everything\s+below|the\s+following|this\s+(?:e-?mail|message|note|information|list|plan|document|update|news))\s+(?:is|are)\s+{degree}(?:confidential|embargoed|under\s+embargo|not\s+for\s+(?:distribution|circulation|publication)){end}",
        ),
        (
            &[r"\btreat\b"],
            concat!(
                r"\btreat\s+{subject}\s+(?:as\s+)?{degree}confidential{end}",
                r"|\btreat\s+(?:this|it|these|them)\s+in\s+(?:strict(?:est)?\s+)?confidence\b",
            ),
        ),
        (
            &[
                r"\bforward\b",
                r"\bshare\b",
                r"\bcirculate\b",
                r"\bdistribute\b",
                r"\bpass\b",
            ],
            concat!(
                r"\b(?:do\s+not|don't|don’t|never)\s+(?:forward|share|circulate|distribute|pass\s+on)\s+(?:this|it|these)",
                r"(?:\s+(?:e-?mail|message|note|information|news|document|plan|update))?",
                r"(?:\s+(?:with\s+anyone|outside|beyond|any\s+further|further|yet|to\s+anyone|with\s+(?:the\s+)?(?:team|others|staff))\b|\s*[.,;!)]|\s*$)",
            ),
        ),
        (
            &[r"\bconfiden"],
            concat!(
                r"\b(?:strictly|highly|company|commercially)[\s-]+confidential\b",
                r"|\b(?:private|personal)\s+(?:and|&)\s+confidential\b",
            ),
        ),
        (&[r"\bstrictly\b"], r"\bstrictly\s+private\b"),
        (&[r"\binternal\b"], r"\bfor\s+internal\s+use\s+only\b"),
        (
            &[r"\bdistribution\b", r"\bcirculation\b", r"\bpublication\b"],
            r"\bnot\s+for\s+(?:further\s+|external\s+|wider\s+|public\s+)?(?:distribution|circulation|publication)\b",
        ),
        (
            &[r"\bembargo"],
            r"\b(?:embargoed|under\s+embargo)\s+until\b",
        ),
        (&[r"\bconfiden"], r"\bin\s+strict(?:est)?\s+confidence\b"),
    ];
    let spread = parts.map(|(words, part)| {
        let pattern = part
            .replace("{subject}", subject)
            .replace("{degree}", degree)
            .replace("{end}", end);
        (words, pattern)
    });
    let parts: Vec<(&[&str], &str)> = (spread.iter())
        .map(|(words, pattern)| (*words, pattern.as_str()))
        .collect();
    gate::parts("(?im)", &parts)
});

/// [`REQUEST`] in the languages of [`STRONG_MORE`]: their markings, and
/// requests to keep it so. In parts: the markings of all the languages,
/// each kind behind its words, then each language's requests behind its
/// own, so that a German newsletter's `nicht weiterleiten` compiles the
/// do-not-forward phrases alone.
static REQUEST_MORE: LazyLock<gate::Parts> = LazyLock::new(|| {
    gate::parts(
        "(?im)",
        &[
            (
                &[
                    "poufn",
                    "vertraulich",
                    "confidentiel",
                    "confidencia",
                    "riservat",
                    "confidenzial",
                    "vertrouwelijk",
                    "konfidentiell",
                    "fortrolig",
                    "konfidensiel",
                    "luottamuksel",
                ],
                STRICT,
            ),
            (
                &[
                    "gebrauch",
                    "vs-nfd",
                    "vs - nfd",
                    "vs – nfd",
                    "interne",
                    "restreinte",
                    "interno",
                    "gebruik",
                    "wewn",
                    "bruk",
                    "brug",
                    "offentlighet",
                    "sisäise",
                    "sisÄise",
                ],
                INTERNAL_USE,
            ),
            (
                &[
                    "weiter",
                    "diffuser",
                    "transférer",
                    "transfÉrer",
                    "suivre",
                    "reenviar",
                    "difundir",
                    "distribuir",
                    "inoltrare",
                    "divulga",
                    "diffondere",
                    "encaminhar",
                    "doorsturen",
                    "przekazywa",
                    "vidarebefordr",
                    "spridas",
                    "videresend",
                    "deles",
                    "eteenp",
                ],
                DO_NOT_FORWARD,
            ),
            (
                &["vertraulich"],
                r"\b(?:bitte\s+)?(?:streng\s+)?vertraulich\s+(?:zu\s+)?behandeln\b|\b(?:ist|sind)\s+(?:streng\s+)?vertraulich\b",
            ),
            (
                &["confidentiel"],
                r"\b(?:est|sont)\s+(?:strictement\s+)?confidentiel(?:le)?s?\b|\bgarde[rz]?\s+(?:cela\s+|ceci\s+|le\s+|la\s+|les\s+)?(?:strictement\s+)?confidentiel",
            ),
            (
                &["confidencial"],
                r"\b(?:es|son)\s+(?:estrictamente\s+)?confidencial(?:es)?\b|\bmant[eé]n(?:lo|la|los|las|gan|ga|er|ed)?\s+(?:esto\s+)?(?:en\s+)?(?:estricta\s+)?confidencial",
            ),
            (
                &["riservat", "confidenzial"],
                r"\b(?:trattare|trattate|tenere|tenete|mantenere|mantenete)\s+(?:come\s+)?(?:strettamente\s+)?(?:riservat[oaie]|confidenzial[ei])\b",
            ),
            (
                &["confidencia", "sigilo"],
                r"\btratar\s+como\s+confidencia(?:l|is)\b|\bmanter\s+(?:em\s+)?(?:sigilo|confidencial)",
            ),
            (
                &["vertrouwelijk"],
                r"\b(?:is|zijn)\s+(?:strikt\s+)?vertrouwelijk\b|\bvertrouwelijk\s+behandelen\b",
            ),
            (
                &["poufn"],
                r"\b(?:jest|są)\s+(?:ściśle\s+)?poufn[eay]\b|\btraktowa(?-i:\w)*\s+jako\s+poufn",
            ),
            (
                &["konfidentiell", "fortrolig", "konfidensiel"],
                r"\bbehandl(?:a|as|e|es)\s+(?:detta\s+|dette\s+)?(?:konfidentiellt|fortroligt|konfidensielt)\b",
            ),
            (&["luottamuksel"], r"\bon\s+luottamuksellinen\b"),
        ],
    )
});

/// The words of every [`REQUEST`] alternative (see `gate.rs`): most text
/// has none of its alternatives' words together, and the pattern is not run.
static REQUEST_WORDS: LazyLock<gate::AllOf> = LazyLock::new(|| {
    gate::all_of(&[
        &[
            &[r"\bkeep\b"],
            &[r"\bconfiden", r"\bbetween\b", r"\bwraps\b", r"\bprivate\b"],
        ],
        &[&[
            r"\bconfiden",
            r"\bembargo",
            r"\bdistribution\b",
            r"\bcirculation\b",
            r"\bpublication\b",
        ]],
        &[
            &[
                r"\bforward\b",
                r"\bshare\b",
                r"\bcirculate\b",
                r"\bdistribute\b",
                r"\bpass\b",
            ],
            &[r"\bnot\b", r"\bdon", r"\bnever\b"],
        ],
        &[&[r"\bstrictly\b"], &[r"\bprivate\b"]],
        &[&[r"\binternal\b"], &[r"\bonly\b"]],
    ])
});

/// The words of every [`REQUEST_MORE`] alternative.
static REQUEST_WORDS_MORE: LazyLock<gate::AllOf> = LazyLock::new(|| {
    gate::all_of(
        &std::iter::once(&[&["sigilo"][..]][..])
            .chain(OTHER_LANGUAGE_WORDS.iter().copied())
            .collect::<Vec<_>>(),
    )
});

/// The gates of the text the sender wrote, searched together (see
/// `gate.rs`), and their bits in what it answers.
static AUTHORED_GATES: LazyLock<gate::EachOf> = LazyLock::new(|| {
    gate::each_of(&[
        &LABEL_WORDS,
        &LABEL_WORDS_MORE,
        &REQUEST_WORDS,
        &REQUEST_WORDS_MORE,
    ])
});
const LABELS: u32 = 1;
const LABELS_MORE: u32 = 1 << 1;
const REQUESTS: u32 = 1 << 2;
const REQUESTS_MORE: u32 = 1 << 3;

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
static CLASSIFIED: LazyLock<gate::Pattern> = LazyLock::new(|| {
    gate::Pattern::gated(
        r"(?i)(?:^|(?-i:[^\w-]))(?:confidential|restricted|secret|protected|(?:official[\s:-]+)?sensitive|in[\s-]confidence)\b",
    )
});
static UNCLASSIFIED: LazyLock<gate::Pattern> = LazyLock::new(|| {
    gate::Pattern::gated(
        r"(?i)\b(?:non|not|un)[\s-]*(?:confidential|restricted|secret|protected|sensitive)",
    )
});

/// `Sensitivity: Company-Confidential`, `X-Classification: Confidential`, ...
fn header_marks(name: &str, value: &str) -> bool {
    // Every header of a message is asked: the value is read (and trimmed)
    // only under a marking header's name.
    if name.eq_ignore_ascii_case("Sensitivity") {
        let value = value.trim();
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
    if !classification.iter().any(|h| name.eq_ignore_ascii_case(h)) {
        return false;
    }
    let value = value.trim();
    value.len() <= 1000 && CLASSIFIED.is_match(value) && !UNCLASSIFIED.is_match(value)
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

impl ConfidentialBroad {
    /// How many recipients are outside the organisation and its trusted
    /// domains (and, given a thread, new to it), with the first few domains.
    fn outside(&self, audience: &Audience<'_>, thread: Option<&Thread>) -> (u64, Vec<String>) {
        let mut external = 0u64;
        let mut domains: Vec<String> = Vec::new();
        // Without an organisation (a personal mailbox and no configured
        // domains) nobody is "outside": only lists count.
        if audience.org_domains.is_empty() {
            return (external, domains);
        }
        for r in audience.external() {
            let domain = &r.domain.name;
            if is_internal(domain, &self.trusted_domains)
                || thread.is_some_and(|t| t.includes(r.first().addr, domain, audience))
            {
                continue;
            }
            external += 1;
            if domains.len() < EXAMPLE_DOMAINS && !domains.contains(domain) {
                domains.push(domain.clone());
            }
        }
        (external, domains)
    }
}

/// Who took part in the thread a reply answers, as far as the reply shows:
/// the addresses in its quoted history, and the domains of those and of
/// the Message-IDs it answers. At a personal mailbox provider only the
/// address counts: one gmail.com writer does not make every gmail.com
/// address part of the thread.
#[derive(Default)]
struct Thread {
    addresses: HashSet<String>,
    /// Registrable domains.
    domains: HashSet<String>,
}

impl Thread {
    fn of(msg: &Message, audience: &Audience<'_>) -> Thread {
        let mut thread = Thread::default();
        let replied_to = msg.headers().filter(|h| {
            h.name.eq_ignore_ascii_case("In-Reply-To") || h.name.eq_ignore_ascii_case("References")
        });
        for header in replied_to {
            for id in MESSAGE_ID_DOMAIN.captures_iter(header.value) {
                thread.add_domain(&id[1].to_ascii_lowercase(), audience);
            }
        }
        for part in msg.readable_parts() {
            // The history holds the addresses the whole text has more of
            // than the part the sender wrote.
            let mut history: HashMap<String, i64> = HashMap::new();
            for m in ADDRESS.find_iter(part.plain()) {
                *history.entry(m.as_str().to_ascii_lowercase()).or_default() += 1;
            }
            for m in ADDRESS.find_iter(part.authored()) {
                *history.entry(m.as_str().to_ascii_lowercase()).or_default() -= 1;
            }
            for (address, n) in history {
                if n > 0 {
                    if let Some((_, domain)) = address.rsplit_once('@') {
                        thread.add_domain(domain, audience);
                    }
                    thread.addresses.insert(address);
                }
            }
        }
        thread
    }

    fn add_domain(&mut self, domain: &str, audience: &Audience<'_>) {
        if !audience.is_personal(domain) {
            self.domains
                .insert(registrable(domain).unwrap_or(domain).to_string());
        }
    }

    /// Whether a recipient (its domain lowercase) took part.
    fn includes(&self, addr: &str, domain: &str, audience: &Audience<'_>) -> bool {
        self.addresses.contains(&addr.to_ascii_lowercase())
            || (!audience.is_personal(domain)
                && self.domains.contains(registrable(domain).unwrap_or(domain)))
    }
}

/// The domain of a message identifier: `id@host.example`.
static MESSAGE_ID_DOMAIN: LazyLock<Regex> =
    LazyLock::new(|| constant_regex(r"@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)"));

/// An email address in running text.
static ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| constant_regex(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"));

impl Rule for ConfidentialBroad {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let audience = cx.audience;
        let (mut external, mut domains) = self.outside(audience, None);
        let mut lists = audience.mass_lists();
        let first_list = lists.next();
        if external == 0 && first_list.is_none() {
            return;
        }
        let Some(marking) = self.marking(cx.message, first_list.is_some(), || cx.inside()) else {
            return;
        };
        if marking.inherited && external > 0 {
            let thread = Thread::of(cx.message, audience);
            (external, domains) = self.outside(audience, Some(&thread));
        }
        let mut reach = Vec::new();
        if external > 0 && marking.kind == Kind::Confidential {
            reach.push(format!(
                "{} outside the organisation{} (at {}{})",
                plural(external, "recipient", "recipients"),
                if marking.inherited {
                    " and new to the thread"
                } else {
                    ""
                },
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
            let mut s = format!("the everyone-style list {}", shared::describe(r, m));
            if more > 0 {
                s.push_str(&format!(
                    " and {}",
                    plural(more as u64, "more list", "more lists")
                ));
            }
            reach.push(s);
        }
        if reach.is_empty() {
            return;
        }
        out.push(
            Diagnostic::new(
                Severity::Error,
                format!(
                    "marked {} by {} but sent to {}",
                    match marking.kind {
                        Kind::Confidential => "confidential",
                        Kind::Embargoed => "embargoed",
                    },
                    marking.by,
                    reach.join(" and to ")
                ),
                marking.location,
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
    use crate::testing::{check_rule, check_rule_with, eml, option_error_key};

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
    fn markings_in_other_languages() {
        let r = rule();
        for s in [
            "Streng vertraulich: Umstrukturierung Vertrieb",
            "VERTRAULICH",
            "[Vertraulich] Gehaltsliste 2025",
            "VS-NfD",
            "Nur für den Dienstgebrauch",
            "Confidentiel - projet de fusion",
            "Strictement confidentiel",
            "DIFFUSION RESTREINTE",
            "Confidencial – no reenviar",
            "Estrictamente confidencial: nóminas",
            "Presupuesto 2025 (confidencial)",
            "RISERVATO: piano esuberi",
            "Strettamente riservato",
            "Solo per uso interno",
            "Confidencial: proposta de aquisição",
            "Vertrouwelijk - reorganisatie",
            "Alleen voor intern gebruik",
            "ŚCIŚLE POUFNE",
            "Poufne: lista płac",
            "Konfidentiellt",
            "Endast för internt bruk",
            "Strengt fortroligt",
            "Fortroligt: lønoversigt",
            "Konfidensielt",
            "Unntatt offentlighet",
            "Luottamuksellinen: yt-neuvottelut",
            "Älä välitä eteenpäin",
            "Bitte nicht weiterleiten",
            "Ne pas diffuser",
            "Non inoltrare",
            "Não reencaminhar",
            "Niet doorsturen",
            "Må ikke videresendes",
        ] {
            assert!(r.label(s, false).is_some(), "{s}");
        }
        for s in [
            "Vertraulichkeitserklärung zur Unterschrift",
            "Confidentialité des données : formation lundi",
            "Il tavolo è riservato per le 20",
            "Posti riservati ai soci",
            "Política de confidencialidad actualizada",
            "Luottamuksellisuus ja tietosuoja -koulutus",
            "Weiterleitung der Anrufe am Freitag",
            "Internet outage on Friday",
            "Bilan interne du trimestre",
            "Geheimtipp: das neue Café",
        ] {
            assert!(r.label(s, false).is_none(), "{s}");
        }
    }

    #[test]
    fn requests_in_other_languages() {
        for s in [
            "Bitte vertraulich behandeln.",
            "Die Zahlen sind streng vertraulich.",
            "Ces chiffres sont strictement confidentiels.",
            "Merci de ne pas transférer ce message.",
            "Esta información es confidencial, no reenviar.",
            "Mantenlo en confidencial hasta el lunes.",
            "Vi prego di trattare come strettamente riservate queste cifre.",
            "Por favor, não reencaminhar.",
            "Deze cijfers zijn strikt vertrouwelijk.",
            "Te dane są ściśle poufne.",
            "Proszę nie przekazywać dalej.",
            "Vänligen behandla detta konfidentiellt.",
            "Dette må ikke videresendes.",
            "Tämä tieto on luottamuksellinen.",
            "Älä välitä tätä viestiä eteenpäin.",
        ] {
            assert!(REQUEST_WORDS_MORE.is_match(s), "{s}");
            assert!(REQUEST_MORE.is_match(s), "{s}");
        }
        for s in [
            "Die Vertraulichkeit der Daten ist uns wichtig.",
            "Il posto è riservato.",
            "Nous avons transféré le dossier hier.",
            "Please transfer the funds.",
            "Weiter geht es am Montag.",
        ] {
            assert!(!REQUEST_MORE.is_match(s), "{s}");
        }
    }

    /// The request patterns whole, each with its parts and gate.
    static REQUESTS_WHOLE: LazyLock<[(&gate::Parts, gate::Screened, &gate::AllOf); 2]> =
        LazyLock::new(|| {
            [
                (&*REQUEST, REQUEST.whole(), &*REQUEST_WORDS),
                (&*REQUEST_MORE, REQUEST_MORE.whole(), &*REQUEST_WORDS_MORE),
            ]
        });

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]
        /// Every text a marking or request pattern matches passes the gate
        /// in front of it: each alternative's words are all there. The
        /// copies that screen text answer as the patterns (see `gate.rs`),
        /// and the parts of a request pattern its words pick find what the
        /// whole pattern finds.
        #[test]
        fn the_gates_let_every_marking_through(
            text in proptest::prop_oneof![
                STRONG.texts(),
                LABEL_START.texts(),
                LABEL_END.texts(),
                LABEL_BRACKET.texts(),
                STRONG_MORE.texts(),
                LABEL_START_MORE.texts(),
                LABEL_END_MORE.texts(),
                LABEL_BRACKET_MORE.texts(),
                REQUESTS_WHOLE[0].1.texts(),
                REQUESTS_WHOLE[1].1.texts(),
            ]
        ) {
            let english: [&Screened; 4] = [&STRONG, &LABEL_START, &LABEL_END, &LABEL_BRACKET];
            let more: [&Screened; 4] =
                [&STRONG_MORE, &LABEL_START_MORE, &LABEL_END_MORE, &LABEL_BRACKET_MORE];
            for (gate, patterns) in [(&LABEL_WORDS, english), (&LABEL_WORDS_MORE, more)] {
                let matched = patterns.iter().any(|p| p.is_match(&text));
                proptest::prop_assert!(!matched || gate.is_match(&text), "{:?}", text);
                for pattern in patterns {
                    proptest::prop_assert!(pattern.copy_agrees(&text), "{:?}", text);
                }
            }
            for (parts, whole, gate) in REQUESTS_WHOLE.iter() {
                let matched = whole.is_match(&text);
                proptest::prop_assert!(!matched || gate.is_match(&text), "{:?}", text);
                proptest::prop_assert!(whole.copy_agrees(&text), "{:?}", text);
                proptest::prop_assert_eq!(parts.is_match(&text), matched, "{:?}", text);
                let found: Vec<_> = parts.find_iter(&text).collect();
                let spans = whole.screen(&text).map(|re| gate::spans(re, &text));
                proptest::prop_assert_eq!(found, spans.unwrap_or_default(), "{:?}", text);
            }
            // Searched together, the gates answer as each alone.
            let alone = [&LABEL_WORDS, &LABEL_WORDS_MORE, &REQUEST_WORDS, &REQUEST_WORDS_MORE]
                .iter()
                .enumerate()
                .fold(0, |bits, (n, gate)| bits | u32::from(gate.is_match(&text)) << n);
            proptest::prop_assert_eq!(AUTHORED_GATES.passing(&text), alone, "{:?}", text);
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

    /// The text is searched once for the words of labels and requests;
    /// the first lines and paragraphs that have them are read as before.
    #[test]
    fn labels_and_requests_among_other_paragraphs() {
        let body = |text: &str| {
            eml(&format!(
                "From: a@corp.example\nTo: b@client.example\nSubject: plan\n\n{text}"
            ))
        };
        let label = body("Hi Bob,\n\nDraft two.\nSECRET - UK EYES ONLY\n\nThe numbers.\n");
        assert_eq!(check_rule("confidential-broad", &label).len(), 1);
        // A configured marking has none of the built-in labels' words.
        let config = "[rules.confidential-broad]\nmarkings = [\"eyes only\"]\n";
        let custom = body("Hi Bob,\n\nEyes only: the numbers.\n");
        assert!(check_rule("confidential-broad", &custom).is_empty());
        assert_eq!(
            check_rule_with(config, "confidential-broad", &custom).len(),
            1
        );
        // The words of a request spread over paragraphs make none.
        let spread = body("Please keep\n\nthis confidential.\n");
        assert!(check_rule("confidential-broad", &spread).is_empty());
        let request = body("Please forward the agenda.\n\nThe rest, keep it between us.\n");
        let f = check_rule("confidential-broad", &request);
        assert!(
            f[0].message.contains("\"keep it between us\""),
            "{}",
            f[0].message
        );
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
    fn uk_government_classifications() {
        let r = rule();
        for s in [
            "OFFICIAL-SENSITIVE: case notes",
            "[OFFICIAL SENSITIVE] Evaluation scores - lot 3",
            "OFFICIAL-SENSITIVE PERSONAL",
            "Official-Sensitive Commercial: contract variation",
            "Case notes - OFFICIAL-SENSITIVE",
            "OFFICIAL: Sensitive",
            "SECRET - UK EYES ONLY",
            "TOP SECRET",
            "UK SECRET: trial dates",
        ] {
            assert!(r.label(s, false).is_some(), "{s}");
        }
        for s in [
            "OFFICIAL",
            "OFFICIAL: Resurfacing programme, weeks 48-50",
            "Official sensitive data handling course",
            "OFFICIAL-SENSITIVE handling: new guidance",
            "Secret Santa draw on Friday",
            "SECRET SANTA 2025",
            "Top secret: the surprise party",
            "Company secretary appointment",
        ] {
            assert!(r.label(s, false).is_none(), "{s}");
        }
        assert!(header_marks("X-Protective-Marking", "OFFICIAL-SENSITIVE"));
        assert!(!header_marks("X-Classification", "OFFICIAL"));
        assert!(!header_marks("X-Classification", "Non-Sensitive"));
    }

    #[test]
    fn a_reply_may_send_an_inherited_subject_marking_back_to_the_thread() {
        let reply = |cc: &str, references: &str, quote: &str| {
            eml(&format!(
                "From: nadia@lawfirm.example.com\nTo: tom@client.example.org, jana@client.example.org\n{cc}Subject: RE: [Confidential] Leeds site\nIn-Reply-To: <x@AM6PR04.prod.outlook.com>\nReferences: {references}\n\nThanks, advice by Thursday.\n\n{quote}"
            ))
        };
        let quote = "From: Tom <tom@client.example.org>\nSent: 24 November 2025 18:03\nSubject: [Confidential] Leeds site\n\nPlease keep this confidential.\n";
        let outlook_ids = "<x@AM6PR04.prod.outlook.com>";
        // Back to the people who started it, known from the quoted history
        // or from the Message-IDs the reply answers.
        assert!(check_rule("confidential-broad", &reply("", outlook_ids, quote)).is_empty());
        assert!(
            check_rule(
                "confidential-broad",
                &reply("", "<a1@mail.client.example.org>", "")
            )
            .is_empty()
        );
        // Someone new to the thread.
        let f = check_rule(
            "confidential-broad",
            &reply("Cc: owen@hr.example.net\n", outlook_ids, quote),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "marked confidential by the subject \"RE: [Confidential] Leeds site\" but sent to 1 recipient outside the organisation and new to the thread (at hr.example.net)"
        );
        // Nothing shows who was in the thread: Outlook's Message-IDs and no quote.
        assert_eq!(
            check_rule("confidential-broad", &reply("", outlook_ids, "")).len(),
            1
        );
        // At a personal mailbox provider only the address itself was there.
        let gmail = |to: &str| {
            eml(&format!(
                "From: a@corp.example\nTo: {to}\nSubject: Re: Confidential: offer\nReferences: <CA1@mail.gmail.com>\n\nAgreed.\n\nOn Mon, 24 Nov 2025, Bob <bob@gmail.com> wrote:\n> Confidential: our offer\n"
            ))
        };
        assert!(check_rule("confidential-broad", &gmail("bob@gmail.com")).is_empty());
        assert_eq!(
            check_rule("confidential-broad", &gmail("bob@gmail.com, eve@gmail.com")).len(),
            1
        );
        // The reply's own marking, a marking put before the reply prefix, or
        // a forward's, counts for everyone outside.
        let own_text = eml(&format!(
            "From: nadia@lawfirm.example.com\nTo: tom@client.example.org\nSubject: RE: [Confidential] Leeds site\n\nPlease keep this confidential.\n\n{quote}"
        ));
        let f = check_rule("confidential-broad", &own_text);
        assert!(f[0].message.contains("by the text"), "{}", f[0].message);
        for subject in [
            "[Confidential] RE: Leeds site",
            "FW: [Confidential] Leeds site",
        ] {
            let msg = eml(&format!(
                "From: nadia@lawfirm.example.com\nTo: tom@client.example.org\nSubject: {subject}\n\nx\n\n{quote}"
            ));
            assert_eq!(check_rule("confidential-broad", &msg).len(), 1, "{subject}");
        }
    }

    #[test]
    fn options() {
        let msg = eml(
            "From: a@corp.example\nTo: b@eu.lawfirm.example\nSubject: COMMERCIAL IN CONFIDENCE: bid pricing\n\nx\n",
        );
        assert!(check_rule("confidential-broad", &msg).is_empty());
        let config = "[rules.confidential-broad]\nmarkings = [\"commercial in confidence\"]\n";
        assert_eq!(check_rule_with(config, "confidential-broad", &msg).len(), 1);
        let trusted = "[rules.confidential-broad]\nmarkings = [\"COMMERCIAL IN CONFIDENCE\"]\ntrusted_domains = [\"lawfirm.example\"]\n";
        assert!(check_rule_with(trusted, "confidential-broad", &msg).is_empty());
        assert_eq!(
            option_error_key("confidential-broad", "trusted_domains = [\"a b\"]").as_deref(),
            Some("trusted_domains")
        );
        assert_eq!(
            option_error_key("confidential-broad", "markings = [\" \"]").as_deref(),
            Some("markings")
        );
    }

    #[test]
    fn markings_in_the_first_lines_of_attached_documents() {
        use crate::message::inside_tests::{attach, docx, pdf};
        let doc = docx(
            "STRICTLY CONFIDENTIAL",
            &["Board minutes", "Redundancy plan"],
            "",
        );
        let msg = attach(
            "b@partner.example",
            &[("minutes.docx", "application/octet-stream", &doc)],
        );
        let f = check_rule("confidential-broad", &msg);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.starts_with("marked confidential by the line \"STRICTLY CONFIDENTIAL\" in minutes.docx but sent to 1 recipient outside"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].location.part.as_deref(), Some("minutes.docx"));
        // A legal footer, or the word in running text, is no marking.
        let footer = pdf(
            &[
                "Invoice 2041",
                "This document and any attachments are confidential and intended solely for the addressee. If you have received it in error, please notify the sender.",
            ],
            true,
            false,
        );
        let doc = docx(
            "",
            &["Our confidential supplier list is attached for your review."],
            "",
        );
        let msg = attach(
            "b@partner.example",
            &[
                ("invoice.pdf", "application/pdf", &footer),
                ("notes.docx", "application/octet-stream", &doc),
            ],
        );
        assert!(check_rule("confidential-broad", &msg).is_empty());
    }
}
