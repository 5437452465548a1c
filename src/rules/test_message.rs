use super::{Context, Rule, declare_rule, plural, shared};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::gate;
use crate::message::{
    BodyPart, has_forward_prefix, is_disclaimer, paragraphs, strip_subject_prefixes,
};
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::LazyLock;

declare_rule! {
    /// ## What it checks
    /// A test message sent to an everyone-style list (see `mass-list`), to
    /// at least as many people as the `recipient-count` warning (25 by
    /// default), or as declared bulk mail. A message is a test when
    ///
    /// - its subject is only a test phrase: `test`, `testing`, `test 123`,
    ///   `test message`, `test email`, `this is a test`, `please ignore`,
    ///   `ignore this`, `ignore`, `test - please ignore`, `please disregard`,
    ///   and combinations of them, in any case and with any punctuation
    ///   (`TEST!!`, `[list] testing #3`), also in German, French, Spanish,
    ///   Italian, Portuguese, Dutch, Polish, Swedish, Danish, Norwegian and
    ///   Finnish (`Testnachricht`, `message de test`, `esto es una prueba`,
    ///   `messaggio di prova`, `mensagem de teste`, `dit is een test, graag
    ///   negeren`, `wiadomość testowa`, `testmeddelande`, `testbesked`,
    ///   `testmelding`, `tämä on testi`); or
    /// - its subject marks the test send of a real message: `[TEST] Spring
    ///   newsletter`, `(Test) ...`, `[PROVA] ...`, `(Teste) ...`, `TEST: ...`, `TEST - ...` (in capitals),
    ///   `... [TEST]`, or it names a test mailing (`Integration Test Email
    ///   #1`, `test send 2`); or
    /// - the text the sender wrote is only such a phrase, after an optional
    ///   greeting and before an optional short signature (a few short lines
    ///   without sentences); or
    /// - one of the first lines of that text is a test banner: a test phrase
    ///   framed with marks or in capitals (`*** TEST SEND ***`, `[TEST
    ///   EMAIL]`, `TEST MESSAGE - PLEASE IGNORE`).
    ///
    /// A subject that only contains the word does not count: `Test results
    /// for Q3`, `Testing strategy review`, `A/B test outcome`, `Driving test
    /// booked`, `Test: fire alarm on Tuesday`; nor does `Please ignore the
    /// previous link` in a longer body.
    ///
    /// Mail that declares itself bulk (see `list-unsubscribe`: `Precedence:
    /// bulk`, List-Unsubscribe, a mailing service's campaign headers) is
    /// judged whatever its recipients, since a mailing service sends each
    /// subscriber a copy of their own, by all of the above but the `[TEST]`
    /// labels and banners: with few recipients those are the service's test
    /// send of a real mailing to its sender.
    ///
    /// Replies and forwards (`Re: test`, `Fwd: test`) are judged by their
    /// body only: their subject was written for the message they answer. The
    /// "please remove me" replies of a reply-all storm are `reply-all-to-list`'s
    /// error; a reply that itself says only "test" to everyone is this one's.
    /// A test to a few colleagues is fine.
    ///
    /// ## Why it matters
    /// The national NHSmail storm began with a contractor's test message to
    /// a list that held every NHSmail user (about 1.2 million people);
    /// hundreds replied to all asking to be taken off, some 186 million
    /// messages followed, and the national service was degraded. In June
    /// 2021 a streaming service's mailing list received "Integration Test
    /// Email #1", an empty template meant for its developers.
    ///
    /// ## Example
    /// ```text
    /// From: Dylan Foster <dylan.foster@nhs.example.net>
    /// To: everyone@nhs.example.net
    /// Subject: test
    ///
    /// test
    /// ```
    ///
    /// ## How to fix
    /// Send tests to yourself or to a test list with a handful of members,
    /// never to a real distribution list.
    ///
    /// ## Options
    /// ```toml
    /// [rules.test-message]
    /// min_recipients = 25   # default: the recipient-count warning number
    /// phrases = []          # more test phrases, e.g. ["probe", "ping"]
    /// ```
    id: "test-message",
    severity: Error,
    summary: "A test message (\"test\", \"[TEST] ...\", \"please ignore\") goes to a mass list, many people or a mailing's subscribers",
    build: TestMessage::build,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct Options {
    min_recipients: Option<u64>,
    phrases: Vec<String>,
}

struct TestMessage {
    min_recipients: Option<u64>,
    /// Configured phrases, normalised like the text they are compared to.
    phrases: HashSet<String>,
}

impl TestMessage {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let options: Options = settings.options()?;
        if options.min_recipients == Some(0) {
            return Err(OptionError::new("min_recipients", "must be at least 1"));
        }
        let mut phrases = HashSet::new();
        for phrase in &options.phrases {
            let normal = normalise(phrase);
            if normal.is_empty() {
                return Err(OptionError::new(
                    "phrases",
                    format!("{phrase:?} has no letters or digits"),
                ));
            }
            phrases.insert(normal);
        }
        Ok(Box::new(TestMessage {
            min_recipients: options.min_recipients,
            phrases,
        }))
    }

    fn is_test_phrase(&self, text: &str) -> bool {
        // No test phrase is long; keeps a long subject or line cheap.
        if text.len() > 200 {
            return false;
        }
        let normal = normalise(text);
        !normal.is_empty()
            && ((may_be_test_phrase(&normal) && TEST_PHRASE.is_match(&normal))
                || self.phrases.contains(&normal))
    }

    /// The test phrase a body part consists of, if it is one.
    fn test_body<'p>(&self, part: &'p BodyPart) -> Option<&'p str> {
        let mut lines = paragraphs(part.authored())
            .filter(|p| !is_disclaimer(p))
            .flat_map(str::lines)
            .map(str::trim)
            .filter(|l| !l.is_empty());
        let mut first = lines.next()?;
        if GREETING.is_match(&normalise(first)) {
            first = lines.next()?;
        }
        if !self.is_test_phrase(first) {
            return None;
        }
        // What follows may be more test phrases or a short signature (name,
        // job title, organisation, phone): a few short lines, no sentences.
        let mut rest = 0;
        for line in lines {
            rest += 1;
            if rest > SIGNATURE_LINES
                || line.chars().count() > SIGNATURE_WIDTH
                || (!self.is_test_phrase(line) && is_sentence(line))
            {
                return None;
            }
        }
        Some(first)
    }
}

/// The most lines a signature below a test phrase may have.
const SIGNATURE_LINES: usize = 8;
/// ... and the longest such line, in characters.
const SIGNATURE_WIDTH: usize = 80;

/// A line of prose rather than a signature line: five or more words ending
/// like a sentence.
fn is_sentence(line: &str) -> bool {
    line.split_whitespace().count() >= 5 && line.trim_end().ends_with(['.', '!', '?'])
}

/// Lowercase words separated by single spaces: punctuation, brackets and
/// symbols become spaces, so `Test - please ignore!!` is `test please ignore`.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// The words and phrases test phrases are made of, by their place in
/// [`TEST_PHRASE`] (in normalised text: lowercase words between single
/// spaces).
mod phrase {
    /// `test` and `testing` may have digits after them (`test2`).
    pub(super) const NUMBERED_TEST: &[&str] = &["test", "testing"];
    pub(super) const TEST: &[&str] = &[
        "tst",
        "testmail",
        "testemail",
        "testnachricht",
        "prueba",
        "teste",
        "essai",
        "prova",
        "próba",
        "testowa",
        "testowy",
        "testi",
        "testbericht",
        "proefbericht",
        "testmeddelande",
        "testbesked",
        "testmelding",
        "testiviesti",
    ];
    pub(super) const KIND: &[&str] = &[
        "message",
        "msg",
        "email",
        "e mail",
        "mail",
        "post",
        "only",
        "run",
        "send",
        "nachricht",
        "mensaje",
        "correo",
        "messaggio",
        "mensagem",
        "bericht",
        "wiadomość",
        "meddelande",
        "besked",
        "melding",
        "viesti",
        "sähköposti",
        "e post",
    ];
    /// Besides any number of digits.
    pub(super) const COUNT: &[&str] = &[
        "one", "two", "three", "un", "deux", "trois", "eins", "zwei", "drei", "uno", "dos", "tres",
        "due", "um", "dois", "três", "een", "twee", "drie", "jeden", "dwa", "trzy", "ett", "två",
        "en", "to", "yksi", "kaksi", "kolme",
    ];
    pub(super) const PLEASE: &[&str] = &[
        "please",
        "pls",
        "plz",
        "kindly",
        "bitte",
        "por favor",
        "svp",
        "graag",
        "merci d",
        "merci de",
        "veuillez",
        "per favore",
        "si prega di",
        "favor",
        "gelieve",
        "proszę",
        "vänligen",
        "venligst",
        "vennligst",
    ];
    pub(super) const IGNORE: &[&str] = &[
        "ignore",
        "disregard",
        "ignorieren",
        "ignorer",
        "ignorar",
        "negeren",
        "ignoreren",
        "negeer",
        "ignorare",
        "ignorate",
        "zignoruj",
        "zignorować",
        "ignorować",
        "ignorera",
        "ohita",
        "ohittakaa",
        "voit ohittaa",
        "jätä huomiotta",
    ];
    /// "this is (just) a test" in the languages the rule knows.
    pub(super) const THIS_IS: &[&str] = &[
        "this is",
        "it s",
        "its",
        "dies ist",
        "das ist",
        "ceci est",
        "c est",
        "esto es",
        "es",
        "questo è",
        "è",
        "isto é",
        "é",
        "dit is",
        "to jest",
        "to",
        "detta är",
        "det här är",
        "dette er",
        "det er",
        "tämä on",
    ];
    pub(super) const JUST: &[&str] = &[
        "just",
        "only",
        "nur",
        "juste",
        "seulement",
        "solo",
        "só",
        "alleen",
        "tylko",
        "bara",
        "kun",
        "vain",
    ];
    pub(super) const A: &[&str] = &[
        "a", "ein", "eine", "un", "une", "una", "um", "uma", "een", "ett", "en",
    ];
    /// Between a kind and a test word: `messaggio di prova`.
    pub(super) const OF: &[&str] = &["de", "di", "d"];
    /// What is to be ignored.
    pub(super) const IGNORED: &[&str] = &["this", "me", "it", "that"];
    /// What is to be ignored, besides a kind.
    pub(super) const IGNORED_KIND: &[&str] = &["one", "test"];
    /// What may follow a test phrase.
    pub(super) const AFTER: &[&str] = &["sorry", "thanks", "thank you", "thx"];

    pub(super) const ALL: &[&[&str]] = &[
        NUMBERED_TEST,
        TEST,
        KIND,
        COUNT,
        PLEASE,
        IGNORE,
        THIS_IS,
        JUST,
        A,
        OF,
        IGNORED,
        IGNORED_KIND,
        AFTER,
    ];
}

/// `(?:a|b|c)`.
fn either(phrases: &[&str]) -> String {
    format!("(?:{})", phrases.join("|"))
}

/// A whole normalised text that is only test phrases.
static TEST_PHRASE: LazyLock<gate::Pattern> = LazyLock::new(|| {
    let test_word = format!(
        r"(?:{}\d*|{})",
        either(phrase::NUMBERED_TEST),
        phrase::TEST.join("|")
    );
    let kind = either(phrase::KIND);
    let count = format!(r"(?:\d+|{})", phrase::COUNT.join("|"));
    let please = either(phrase::PLEASE);
    let ignore = either(phrase::IGNORE);
    let this_is = either(phrase::THIS_IS);
    let just = either(phrase::JUST);
    let a = either(phrase::A);
    let of = either(phrase::OF);
    let ignored = either(phrase::IGNORED);
    let ignored_kind = either(phrase::IGNORED_KIND);
    let test = format!(
        r"(?:(?:{this_is} )?(?:{just} )?(?:{a} )?(?:{test_word}(?: {kind})?|{kind} (?:{of} )?{test_word})(?: {count})*)"
    );
    let ignore = format!(
        r"(?:(?:{please} )?{ignore}(?: {ignored})?(?: (?:{kind}|{ignored_kind}))?(?: {please})?)"
    );
    let phrase = format!(r"(?:{test}|{ignore}|{})", phrase::AFTER.join("|"));
    gate::Pattern::gated(&format!(r"^(?:{test}|{ignore})(?: {phrase})*$"))
});

/// Every word of every [`phrase`]: a normalised text with another word
/// (`test sets`, `testing results`) is no test phrase, and
/// [`TEST_PHRASE`] is neither compiled nor run for it.
static PHRASE_WORDS: LazyLock<HashSet<&str>> = LazyLock::new(|| words_of(phrase::ALL));

/// The words of test words and of requests to ignore, one of which every
/// test phrase holds: not `thanks` or `to` alone.
static KEY_WORDS: LazyLock<HashSet<&str>> =
    LazyLock::new(|| words_of(&[phrase::NUMBERED_TEST, phrase::TEST, phrase::IGNORE]));

fn words_of(lists: &[&[&'static str]]) -> HashSet<&'static str> {
    lists
        .iter()
        .flat_map(|phrases| phrases.iter())
        .flat_map(|phrase| phrase.split(' '))
        .collect()
}

/// Whether a normalised text may be a test phrase: every word of it is a
/// word of test phrases, the digits a word may end with (`\d` in
/// [`TEST_PHRASE`]) aside, and one is a [`KEY_WORDS`] word.
fn may_be_test_phrase(normal: &str) -> bool {
    let mut key = false;
    normal.split(' ').all(|word| {
        let word = word.trim_end_matches(char::is_numeric);
        key |= KEY_WORDS.contains(word);
        word.is_empty() || PHRASE_WORDS.contains(word)
    }) && key
}

/// A greeting line before a test phrase: `Hi all,`.
static GREETING: LazyLock<gate::Pattern> = LazyLock::new(|| {
    gate::Pattern::gated(concat!(
        r"^(?:hi|hello|hey|dear|good morning|good afternoon|hallo|bonjour|hola|ciao|buongiorno|salve",
        r"|olá|ola|oi|bom dia|hoi|goedemorgen|guten morgen|buenos días|hej|hei|moi|dzień dobry|cześć|witam)?",
        r"(?: (?:all|everyone|everybody|team|colleagues|folks|there|a tutti|tutti|todos|a todos|allemaal",
        r"|alle|zusammen|à tous|tout le monde|wszystkim|allihopa|kaikki))?$",
    ))
});

impl TestMessage {
    /// A line near the top of the text the sender wrote that announces a
    /// test send of a real message: `*** TEST SEND ***`, `[TEST EMAIL]`,
    /// `TEST MESSAGE - PLEASE IGNORE`.
    fn banner<'p>(&self, part: &'p BodyPart) -> Option<&'p str> {
        part.authored()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(BANNER_LINES)
            .find(|line| {
                let core =
                    line.trim_matches(|c: char| BANNER_MARKS.contains(c) || c.is_whitespace());
                let marked = core.len() < line.len()
                    && line.starts_with(|c| BANNER_MARKS.contains(c))
                    && line.ends_with(|c| BANNER_MARKS.contains(c));
                let shouted =
                    !core.chars().any(char::is_lowercase) && core.split_whitespace().count() >= 2;
                (marked || shouted) && self.is_test_phrase(core)
            })
    }
}

/// The non-blank lines at the top of a text a test banner may be on.
const BANNER_LINES: usize = 5;
/// What a banner is framed with.
const BANNER_MARKS: &str = "*=#~!-_<>[]()";

/// A subject labelled as the test send of a real message: `[TEST] Spring
/// newsletter`, `(Test) ...`, `TEST: ...`, `TEST - ...`, `... [TEST]`.
static TEST_LABEL: LazyLock<gate::Pattern> = LazyLock::new(|| {
    gate::Pattern::gated(concat!(
        r"^\s*(?:\[[^\]]*\]\s*)*(?:",
        r"[\[(]\s*(?:(?i:test(?:\s+(?:send|e-?mail|message|version|copy|only|run))?|prova|prueba|teste|testi|essai)|TESTING)\s*[\])]",
        r"|\*+\s*(?i:test(?:ing)?(?:\s+(?:send|e-?mail|message))?)\s*\*+",
        r"|TEST(?:ING)?\s*(?::|\||\s[-–—]\s)",
        r")",
        r"|[\[(]\s*(?i:test)\s*[\])]\s*$",
    ))
});

/// A subject that names a test mailing: `Integration Test Email #1`,
/// `newsletter test send 2`.
static TEST_MAILING: LazyLock<gate::Screened> = LazyLock::new(|| {
    gate::Screened::gated(concat!(
        r"(?i)^\s*(?:\[[^\]]*\]\s*)*(?:(?:[\w'-]|’)+\s+){0,2}test(?:ing)?\s+",
        r"(?:e-?mail|message|send|campaign|newsletter|mailing)(?:\s*(?:#|no\.?\s*)?\d+)?\s*[.!]*\s*$",
    ))
});

/// The words every [`TEST_MAILING`] holds, an `s` also as the long `ſ`
/// that Unicode case folding matches (see `gate.rs`): `test` and the kind
/// of mail, so that `test` alone (`[Spambayes] test sets?`) does not
/// compile the pattern.
static TEST_WORDS: LazyLock<gate::AllOf> = LazyLock::new(|| {
    gate::all_of(&[&[
        &["test", "teſt"],
        &[
            "mail",
            "message",
            "meſsage",
            "mesſage",
            "meſſage",
            "send",
            "ſend",
            "campaign",
            "newsletter",
            "newſletter",
        ],
    ]])
});

fn names_test_mailing(subject: &str) -> bool {
    TEST_WORDS.is_match(subject) && TEST_MAILING.is_match(subject)
}

impl Rule for TestMessage {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let audience = cx.audience;
        let mass = audience.first_mass_list();
        let reach = audience.reach();
        let min = self.min_recipients.unwrap_or(cx.many_recipients);
        // Declared bulk mail to a few people may be a mailing service's test
        // send to the sender, which labels its subject `[Test]`: only a
        // message that is nothing but a test counts there.
        let labels_count = mass.is_some() || reach >= min;
        let to_whom = if let Some((r, m)) = mass {
            format!("sent to the everyone-style list {}", shared::describe(r, m))
        } else if reach >= min {
            format!("sent to {}", plural(reach, "person", "people"))
        } else if let Some(bulk) = cx.bulk().filter(|b| b.declared) {
            // Each copy of a mailing goes to one subscriber: the message
            // says it is one.
            format!("sent as bulk mail ({})", bulk.reason)
        } else {
            return;
        };
        let msg = cx.message;
        let subject = msg.subject.as_deref().unwrap_or("");
        // A reply's or forward's subject belongs to the earlier message.
        let own_subject = !msg.is_reply && !has_forward_prefix(subject) && subject.len() <= 1000;
        let subject_location = || Location::header("Subject", msg.header_line("Subject"));
        let (what, location) =
            if own_subject && self.is_test_phrase(strip_subject_prefixes(subject)) {
                (
                    format!("the subject is {:?}", shorten(subject.trim())),
                    subject_location(),
                )
            } else if own_subject
                && (names_test_mailing(subject) || (labels_count && TEST_LABEL.is_match(subject)))
            {
                (
                    format!(
                        "the subject marks it as a test: {:?}",
                        shorten(subject.trim())
                    ),
                    subject_location(),
                )
            } else if let Some((part, phrase)) = msg
                .readable_parts()
                .find_map(|p| self.test_body(p).map(|phrase| (p, phrase)))
            {
                (
                    format!("the text says only {:?}", shorten(phrase)),
                    Location::part(part.mime_type(), part.line_of(phrase)),
                )
            } else if let Some((part, banner)) = msg
                .readable_parts()
                .filter(|_| labels_count)
                .find_map(|p| self.banner(p).map(|banner| (p, banner)))
            {
                (
                    format!("the text is marked as a test: {:?}", shorten(banner)),
                    Location::part(part.mime_type(), part.line_of(banner)),
                )
            } else {
                return;
            };
        out.push(
            Diagnostic::new(
                Severity::Error,
                format!("test message {to_whom}: {what}"),
                location,
            )
            .help("send tests to yourself or a small test list, never to a real distribution list"),
        );
    }
}

/// At most 60 characters of a phrase, for messages.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check_rule, check_rule_with, eml, option_error_key};

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]
        /// Every text a test phrase matches has only the phrases' words,
        /// and a key word among them.
        #[test]
        fn test_phrases_have_only_phrase_words(text in TEST_PHRASE.texts()) {
            proptest::prop_assert!(!TEST_PHRASE.is_match(&text) || may_be_test_phrase(&text));
        }
    }

    proptest::proptest! {
        /// Every subject that names a test mailing holds its gate's words.
        #[test]
        fn test_mailings_hold_their_words(text in TEST_MAILING.texts()) {
            proptest::prop_assert!(!TEST_MAILING.is_match(&text) || TEST_WORDS.is_match(&text));
            proptest::prop_assert!(TEST_MAILING.copy_agrees(&text), "{:?}", text);
        }
    }

    #[test]
    fn words_of_other_text_are_not_phrase_words() {
        for (normal, may) in [
            ("test", true),
            ("test2 please ignore", true),
            ("testing 1 2 3", true),
            ("testing ١٢", true),
            ("test sets", false),
            ("testing results", false),
            ("messaggio di prova", true),
            ("tst5", true),
            ("thanks", false),
            ("this is it", false),
            ("voit ohittaa", true),
        ] {
            assert_eq!(may_be_test_phrase(normal), may, "{normal}");
        }
    }

    /// The documented `min_recipients` is the recipient-count warning
    /// number, which it follows when not set.
    #[test]
    fn documented_options_are_the_defaults() {
        let many = super::super::many_recipients(&crate::config::Config::default());
        assert_eq!(
            crate::testing::documented_options::<Options>(&RULE),
            Options {
                min_recipients: Some(many),
                ..Default::default()
            }
        );
    }

    fn rule() -> TestMessage {
        TestMessage {
            min_recipients: None,
            phrases: HashSet::new(),
        }
    }

    #[test]
    fn test_phrases() {
        let r = rule();
        for s in [
            "test",
            "Test",
            "TEST!!!",
            "testing",
            "Testing, testing",
            "test 123",
            "Testing 1 2 3",
            "test message",
            "Test Email",
            "test e-mail",
            "please ignore",
            "Ignore this",
            "ignore",
            "test - please ignore",
            "Test (please ignore)",
            "This is a test",
            "this is just a test message",
            "Please ignore this email",
            "please disregard",
            "test #5",
            "test2",
            "Testnachricht",
            "bitte ignorieren",
            "Test, sorry",
            "Messaggio di prova",
            "Prova, si prega di ignorare",
            "Questo è un test",
            "Mensagem de teste - favor ignorar",
            "Isto é um teste",
            "Dit is een test, graag negeren",
            "Testbericht",
            "Wiadomość testowa, proszę zignorować",
            "To jest test",
            "Testmeddelande – vänligen ignorera",
            "Detta är ett test",
            "Testbesked, ignorer venligst",
            "Dette er en test",
            "Testmelding",
            "Testiviesti, voit ohittaa",
            "Tämä on testi",
            "Ceci est un test, merci d'ignorer",
            "Message de test",
            "Esto es una prueba",
            "Mensaje de prueba",
            "Dies ist ein Test",
        ] {
            assert!(r.is_test_phrase(s), "{s}");
        }
        for s in [
            "Test results for Q3",
            "Testing strategy review",
            "A/B test outcome",
            "Driving test booked",
            "Please ignore the previous link",
            "Test message from Netscape Communicator 4.7",
            "MIME test 1",
            "Please test this",
            "",
            "!!!",
            "Latest",
            "Contest",
            "Prova d'esame il 12 giugno",
            "Teste de Covid amanhã",
            "Testi tulokset",
            "Proefbericht over de nieuwe kassa",
            "Prova generale dello spettacolo",
        ] {
            assert!(!r.is_test_phrase(s), "{s}");
        }
    }

    fn to_everyone(subject: &str, body: &str) -> crate::message::Message {
        eml(&format!(
            "From: a@org.example\nTo: everyone@org.example\nSubject: {subject}\n\n{body}"
        ))
    }

    #[test]
    fn fires_on_a_test_subject_to_a_mass_list() {
        let f = check_rule("test-message", &to_everyone("test", "test\n"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(
            f[0].message,
            "test message sent to the everyone-style list everyone@org.example (name matches `everyone`): the subject is \"test\""
        );
        assert_eq!(f[0].location.header.as_deref(), Some("Subject"));
        assert_eq!(f[0].location.line, Some(3));
    }

    #[test]
    fn fires_on_a_test_body_with_a_signature() {
        let body = "Hi all,\n\nTesting, please ignore.\n\nDylan Foster\nIT Infrastructure (contractor)\nTel: 01632 960 123\n";
        let f = check_rule("test-message", &to_everyone("Ward lists", body));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .ends_with("the text says only \"Testing, please ignore.\""),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].location.part.as_deref(), Some("text/plain"));
    }

    fn marked(subject: &str) -> bool {
        TEST_LABEL.is_match(subject) || names_test_mailing(subject)
    }

    #[test]
    fn test_marks_on_a_real_subject() {
        for s in [
            "[TEST] Spring appeal: help us replant the riverbank",
            "[newsletter] [Test] May news",
            "(test send) May news",
            "*** TEST *** May news",
            "TEST: May news",
            "TEST - May news",
            "May news [TEST]",
            "Integration Test Email #1",
            "Test email",
            "newsletter test send 2",
            "Jürgen's test email",
            "Newsletter te\u{17f}t send",
            "It\u{2019}s a test email",
            "[PROVA] Newsletter di maggio",
            "(Teste) Boletim de junho",
        ] {
            assert!(marked(s), "{s}");
        }
        for s in [
            "Test: fire alarm on Tuesday",
            "Test results for Q3",
            "How to A/B test email subject lines",
            "[org/repo] Fix test email (#12)",
            "[testing] new release",
            "Latest news",
        ] {
            assert!(!marked(s), "{s}");
        }
    }

    #[test]
    fn banners_and_bulk_mail() {
        let banner = to_everyone(
            "Spring appeal",
            "Dear friend,\n\n*** TEST SEND ***\n\nThis spring we are replanting the riverbank. Please give what you can.\n",
        );
        let f = check_rule("test-message", &banner);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .ends_with("the text is marked as a test: \"*** TEST SEND ***\""),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].location.line, Some(7));
        for body in [
            "TEST\n\nThis spring we are replanting the riverbank.\n",
            "Dear friend,\n\n*** Spring appeal ***\n\nWe are testing a new way to give.\n",
        ] {
            assert!(
                check_rule("test-message", &to_everyone("Spring appeal", body)).is_empty(),
                "{body}"
            );
        }
        let bulk = |headers: &str| {
            eml(&format!(
                "From: news@shop.example\nTo: ann@example.net\nSubject: Integration Test Email #1\n{headers}\nThis template is used by integration tests only.\n"
            ))
        };
        let f = check_rule(
            "test-message",
            &bulk("List-Unsubscribe: <https://shop.example/u>\n"),
        );
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .starts_with("test message sent as bulk mail (List-Unsubscribe present): the subject marks it as a test"),
            "{}",
            f[0].message
        );
        // One person, no bulk declaration: a colleague testing a template.
        assert!(check_rule("test-message", &bulk("")).is_empty());
        // A mailing service's test send of a real mailing, to its sender.
        let test_send = eml(
            "From: news@shop.example\nTo: me@shop.example\nSubject: [Test] Spring sale\nList-Unsubscribe: <https://shop.example/u>\n\n*** TEST SEND ***\n\nOur spring sale starts on Friday with 20% off all garden tools.\n",
        );
        assert!(check_rule("test-message", &test_send).is_empty());
    }

    #[test]
    fn a_real_body_under_an_ordinary_subject_is_silent() {
        for body in [
            "Please ignore the previous link, the right one is below.\n",
            "Test\n\nThe fire alarm will be tested on Tuesday at 10:00. Please do not leave the building.\n",
            "test\n\n1\n2\n3\n4\n5\n6\n7\n8\n9\n",
        ] {
            assert!(
                check_rule("test-message", &to_everyone("Fire alarm", body)).is_empty(),
                "{body}"
            );
        }
    }

    #[test]
    fn replies_are_judged_by_their_body() {
        let storm = eml(
            "From: b@org.example\nTo: everyone@org.example\nSubject: Re: test\nIn-Reply-To: <x@org.example>\n\nplease remove me from this list\n\n> test\n",
        );
        assert!(check_rule("test-message", &storm).is_empty());
        let again = eml(
            "From: b@org.example\nTo: everyone@org.example\nSubject: Re: test\n\ntest\n\nOn Mon, 1 Jan 2024, A <a@org.example> wrote:\n> test\n",
        );
        assert_eq!(check_rule("test-message", &again).len(), 1);
        let forward = eml(
            "From: b@org.example\nTo: everyone@org.example\nSubject: Fwd: test\n\nSee below.\n\n---------- Forwarded message ---------\ntest\n",
        );
        assert!(check_rule("test-message", &forward).is_empty());
    }

    #[test]
    fn counts_people_without_a_mass_list() {
        let many = |n: usize| {
            let to: Vec<String> = (0..n).map(|i| format!("p{i}@org.example")).collect();
            eml(&format!(
                "From: a@org.example\nTo: {}\nSubject: Test email\n\nx\n",
                to.join(", ")
            ))
        };
        let f = check_rule("test-message", &many(25));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.starts_with("test message sent to 25 people"),
            "{}",
            f[0].message
        );
        assert!(check_rule("test-message", &many(24)).is_empty());
        let one = eml("From: a@org.example\nTo: b@org.example\nSubject: test\n\ntest\n");
        assert!(check_rule("test-message", &one).is_empty());
        // Options: a lower threshold, and the shared recipient-count one.
        assert_eq!(
            check_rule_with(
                "[rules.test-message]\nmin_recipients = 1\n",
                "test-message",
                &one
            )
            .len(),
            1
        );
        assert_eq!(
            check_rule_with(
                "[rules.recipient-count]\nwarning = 10\n",
                "test-message",
                &many(10)
            )
            .len(),
            1
        );
    }

    #[test]
    fn configured_lists_count_as_their_members() {
        let config = "[lists.\"ward7@org.example\"]\nmembers = 40\n";
        let msg = eml("From: a@org.example\nTo: ward7@org.example\nSubject: testing\n\n");
        let f = check_rule_with(config, "test-message", &msg);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.starts_with("test message sent to 40 people"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn extra_phrases_and_option_errors() {
        let config = "[rules.test-message]\nphrases = [\"Probe!\"]\n";
        let msg = to_everyone("probe", "x\n");
        assert_eq!(check_rule_with(config, "test-message", &msg).len(), 1);
        assert!(check_rule("test-message", &msg).is_empty());
        assert_eq!(
            option_error_key("test-message", "min_recipients = 0").as_deref(),
            Some("min_recipients")
        );
        assert_eq!(
            option_error_key("test-message", "phrases = [\"--\"]").as_deref(),
            Some("phrases")
        );
    }
}
