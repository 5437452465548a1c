use super::{Context, Rule, declare_rule, plural};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::gate::{self, Screened};
use crate::message::{Attachment, has_forward_prefix, is_disclaimer, paragraphs};
use serde::Deserialize;
use std::sync::LazyLock;

declare_rule! {
    /// ## What it checks
    /// A message that says something is attached when nothing is. It reads
    /// the subject and the text the sender wrote (not quoted history, not
    /// the signature, not legal or antivirus footers) for phrases that
    /// promise an attachment:
    ///
    /// - English: `please find attached`, `please find the updated rota
    ///   attached`, `PFA`, `see attached`, `I've attached`, `attached is`,
    ///   `the report is attached.`, `I attach`, `enclosed`, `Attached:`;
    /// - German: `anbei`, `im Anhang`, `als Anhang`, `habe ... angehängt`,
    ///   `beigefügt`;
    /// - French: `ci-joint`, `en pièce jointe`, `je vous joins`;
    /// - Spanish: `te adjunto`, `adjunto el informe`, `archivo adjunto`;
    /// - Dutch: `bijgevoegd`, `bijgaand`, `in de bijlage`, `zie bijlage`;
    /// - Italian: `in allegato`, `allego`, `ti allego`, `allegato trovi`;
    /// - Portuguese: `em anexo`, `segue anexo`, `anexo o relatório`, `anexei`;
    /// - Polish: `w załączniku`, `w załączeniu`, `załączam`;
    /// - Swedish: `bifogar`, `bifogat finns`, `i bilagan`, `se bilaga`;
    /// - Danish and Norwegian: `vedhæftet`, `vedlagt`, `se vedlegg`,
    ///   `legger ved`, `som bilag`;
    /// - Finnish: `liitteenä`, `liitteessä`, `ohessa`, `liitän`.
    ///
    /// Each language's words are looked for first, in one search of the
    /// text for all of them; its patterns run only on text with one.
    ///
    /// Phrases about an attachment someone else sent (`the attachment you
    /// sent`, `thanks for the attached`, `I couldn't open the attached file`,
    /// `no attachment needed`), or about attaching something to another
    /// thing than this message (`I attached gdb to the process`, `I've
    /// attached the logs to the ticket`), do not count. In replies, `the attached
    /// report` and the like usually mean the attachment being answered, so
    /// only the first-person phrases (`I've attached`, `please find
    /// attached`, `attached is`) count there, and a reply's or forward's
    /// subject is not read.
    ///
    /// An inline image of at least 20 KiB counts as the attachment (people
    /// paste a screenshot and write "see attached"); smaller inline images
    /// are signature logos and icons and do not.
    ///
    /// ## Why it matters
    /// A forgotten attachment costs a round trip: the recipient has to ask,
    /// the sender has to send again, and the thread doubles. It is cheap to
    /// catch before sending.
    ///
    /// ## Example
    /// ```text
    /// Subject: Q3 report
    ///
    /// Hi Ann, please find attached the Q3 report.
    /// ```
    ///
    /// ## How to fix
    /// Attach the file, or remove the sentence that says it is attached.
    ///
    /// ## Options
    /// ```toml
    /// [rules.forgotten-attachment]
    /// inline_image_bytes = 20480   # inline images from this size count as attachments
    /// ```
    id: "forgotten-attachment",
    severity: Warning,
    summary: "The text says something is attached, but nothing is",
    build: ForgottenAttachment::build,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct ForgottenAttachment {
    inline_image_bytes: u64,
}

impl Default for ForgottenAttachment {
    fn default() -> Self {
        ForgottenAttachment {
            inline_image_bytes: 20 * 1024,
        }
    }
}

impl ForgottenAttachment {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let rule: ForgottenAttachment = settings.options()?;
        Ok(Box::new(rule))
    }

    /// Whether an attachment is one a sender could mean by "attached".
    fn is_real(&self, a: &Attachment) -> bool {
        !(a.inline && a.content_type.starts_with("image/") && a.size < self.inline_image_bytes)
    }
}

/// The words every phrase of a language holds (see `gate.rs`), by
/// language: the phrases of a language without its words in a text are
/// not compiled or run for it.
const ENGLISH: &[&str] = &["attach", "enclos", "herewith", "pfa"];
const GERMAN: &[&str] = &[
    "anbei",
    "anhang",
    "anhäng",
    "anlage",
    "angehängt",
    "beigefügt",
];
const FRENCH: &[&str] = &["joint", "joins", "pj"];
const SPANISH: &[&str] = &["adjunt"];
const DUTCH: &[&str] = &["bijgevoegd", "bijgaand", "bijlage"];

/// Phrases by which the sender says they attach something.
static OWN: LazyLock<gate::Parts> = LazyLock::new(|| {
    gate::parts(
        "(?im)",
        &[
            (
                ENGLISH,
                concat!(
                    r"\b(?:please\s+)?find\s+(?:the\s+|my\s+|our\s+)?(?:attached|enclosed|herewith|attachments?)\b",
                    // "please find the updated rota attached": a few words between.
                    r"|\b(?:please|kindly|you\s+(?:will|'ll|’ll))\s+find\s+(?:[^\s.,;:!?]+\s+){1,6}?(?:attached|enclosed)\b",
                    // "PFA", short for "please find attached", as a word of its own.
                    r"|(?-i:\b(?:PFA|Pfa|pfa)\b)(?:\s*(?:[.,:;!)]|$)|\s+(?:the|my|our|a|an|your|this|these|both|all|below|herewith|updated|latest|revised|final|signed)\b)",
                    r"|\bsee\s+(?:the\s+)?(?:attached|enclosed|attachments?)\b",
                    r"|\b(?:attached|enclosed)\s+(?:is|are|please\s+find|you\s+(?:will|'ll|’ll)\s+find|herewith|here\s+(?:is|are))\b",
                    r"|\b(?:attached|enclosed)\s+herewith\b|\bherewith\s+(?:attached|enclosed)\b",
                    r"|^\s*(?:attached|enclosed|attachments?)\s*:",
                    r"|^\s*attached\s+(?:the|a|an|my|our|two|three|some)\b",
                    r"|^\s*attaching\b",
                    r"|\b(?:i|we)(?:'ve|’ve|\s+have|\s+had|'d|’d)?\s+(?:also\s+|just\s+|now\s+)?(?:attached|enclosed)\b",
                    r"|\b(?:i|we)(?:'m|’m|\s+am|'re|’re|\s+are)\s+(?:also\s+|now\s+)?(?:attaching|enclosing)\b",
                    r"|\b(?:i|we)\s+(?:also\s+)?(?:attach|enclose)\b",
                    r"|(?:\b(?:is|are)|\bit['’]s)\s+(?:also\s+|now\s+)?(?:attached|enclosed)",
                    r"(?:\s+(?:here|herewith|below|above|again|for\s+(?:your\s+)?(?:review|reference|information|convenience|records)|to\s+this\s+(?:e-?mail|message|note|mail)))?",
                    r"\s*(?:[.,;!:)]|$)",
                ),
            ),
            (
                GERMAN,
                concat!(
                    r"\banbei\b|\b(?:im|als)\s+anhang\b|\bin\s+der\s+anlage\b",
                    r"|\b(?:habe|haben|hab|hast|habt)\b[^.!?\n]{0,60}\b(?:angehängt|beigefügt)\b",
                    r"|\b(?:angehängt|beigefügt)\s+(?:finden|findest|findet|ist|sind|erhalten|erhältst|sende|schicke)\b",
                ),
            ),
            (
                FRENCH,
                concat!(
                    r"\bci[-\s]joint(?:e|s|es)?\b|\ben\s+pi[eè]ces?[-\s]jointes?\b|\ben\s+pj\b",
                    r"|\bje\s+(?:vous\s+|te\s+)?joins\b",
                ),
            ),
            (
                SPANISH,
                // `\b{end}` after `encontrará`, whose last letter is not ASCII.
                concat!(
                    r"\b(?:te|le|les|os)\s+(?:env[ií]o\s+|remito\s+|mando\s+)?adjunt[oa]s?\b",
                    r"|\badjunt[oa]s?\s+(?:encontrar[aá]s?|encontrar[aá]n|podr[aá]s?|va|van|env[ií]o|remito|el|la|los|las|mi|mis|nuestro|nuestra|un|una)\b{end}",
                    r"|\ben\s+(?:el\s+)?(?:archivo\s+)?adjunto\b",
                    r"|\b(?:encontrar[aá]s?|encontrar[aá]n|encuentra[ns]?|va|van|env[ií]o|remito|mando)\s+adjunt[oa]s?\b",
                    r"|^\s*adjuntos?\s*:",
                ),
            ),
            (
                DUTCH,
                concat!(
                    r"\bbijgevoegd\b|\bbijgaand\b|\bin\s+(?:de|het)\s+bijlage\b|\bals\s+bijlage\b|\bzie\s+(?:de\s+)?bijlage\b",
                    r"|^\s*bijlagen?\s*:",
                ),
            ),
        ],
    )
});

/// Phrases about "the attached" thing: the sender's own in a new message,
/// more often the one being answered in a reply.
static NEW_ONLY: LazyLock<gate::Parts> = LazyLock::new(|| {
    gate::parts(
        "(?i)",
        &[
            (
                ENGLISH,
                concat!(
                    r"\b(?:the|my|our|this|these)\s+(?:attached|enclosed)\b",
                    r"|\b(?:in|open|review|check|read|print|sign|complete|return)\s+(?:the|my|our|this)\s+attachments?\b",
                ),
            ),
            (GERMAN, r"\b(?:angehängten?|beigefügten?|anhängenden?)\b"),
            (FRENCH, r"\bpi[eè]ces?\s+jointes?\b"),
            (
                SPANISH,
                r"\b(?:archivo|documento|fichero|informe|factura|presupuesto|contrato|imagen|foto)s?\s+adjunt[oa]s?\b",
            ),
            (DUTCH, r"\b(?:bijgevoegde|bijgaande)\b"),
        ],
    )
});

/// Subject forms: `Report attached`, `Invoice (attached)`, `Attached: minutes`.
static SUBJECT_ONLY: LazyLock<gate::Parts> = LazyLock::new(|| {
    gate::parts(
        "(?i)",
        &[(
            &["attach", "enclos"],
            concat!(
                r"\battached\s*[\])]?\s*$",
                r"|^\s*(?:attached|enclosed)\s*[:\-–]",
                r"|[\[(]\s*(?:attached|attachment|enclosed)\s*[\])]",
            ),
        )],
    )
});

/// The same for Italian, Portuguese, Polish, Swedish, Danish, Norwegian and
/// Finnish, apart: mail in the languages above does not compile or run
/// these, and mail in these runs only these and the clause checks.
static OWN_MORE: LazyLock<gate::Parts> = LazyLock::new(|| {
    gate::parts(
        "(?im)",
        &[(
            MORE,
            concat!(
                // Italian
                r"\bin\s+allegato\b|\b(?:allego|alleghiamo)\b|\b(?:ho|abbiamo)\s+allegato\b",
                r"|\ballegat[oaie]\s+(?:trovi|trovate|troverai|troverete|trova|invio|inviamo|il|la|i|le|lo|gli|un|una)\b",
                r"|^\s*allegat[oi]\s*:",
                // Portuguese
                r"|\bem\s+anexo\b|\bsegue(?:m)?\s+(?:em\s+)?anexos?\b|\b(?:anexei|anexamos|anexo\s+(?:o|a|os|as|segue|seguem))\b",
                r"|\b(?:envio|enviamos|mando|te|lhe|vos)\s+(?:envio\s+)?(?:em\s+)?anexo\b",
                r"|^\s*anexos?\s*:",
                // Polish
                r"|\bw\s+załączniku\b|\bw\s+załączeniu\b|\bzałączam(?:y)?\b|\bzałączył(?:em|am|iśmy)\b",
                r"|^\s*załączniki?\s*:",
                // Swedish
                r"|\bbifogar\b|\b(?:jag|vi)\s+har\s+bifogat\b|\bbifogad?t?\s+(?:finns|finner|hittar|skickar|är)\b{end}",
                r"|\bi\s+bilagan\b|\bse\s+(?:bifogad\s+fil|bilaga|bilagan|bifogade?)\b|\bsom\s+bilaga\b|^\s*bilag(?:a|or)\s*:",
                // Danish and Norwegian
                r"|\bvedh(?:æ|ae)ft(?:et|er)\b|\bvedlagt\b|\bse\s+(?:venligst\s+|vennligst\s+)?(?:vedh(?:æ|ae)ftede|vedlegg(?:et)?|vedlagte)\b",
                r"|\bsom\s+(?:bilag|vedlegg)\b|\bi\s+(?:vedlegget|vedh(?:æ|ae)ftede\s+fil)\b|\blegger\s+(?:jeg\s+|vi\s+)?ved\b",
                r"|^\s*(?:vedlegg|bilag)\s*:",
                // Finnish; `\b{end}` after words whose last letter is not ASCII.
                r"|\bliitteenä\b{end}|\bliitteessä\b{end}|\bohessa\b|\bliitän\b|\b(?:olen|olemme)\s+liittänyt\b",
                r"|^\s*liitteet?\s*:",
            ),
        )],
    )
});

/// [`NEW_ONLY`] for the languages of [`OWN_MORE`].
static NEW_ONLY_MORE: LazyLock<gate::Parts> = LazyLock::new(|| {
    gate::parts(
        "(?i)",
        &[(
            MORE,
            concat!(
                r"\b(?:file|documento|documenti|relazione|fattura|preventivo|contratto|verbale)\s+allegat[oaie]\b",
                r"|\b(?:arquivo|ficheiro|documento|relatório|fatura|proposta|contrato)s?\s+(?:em\s+)?anexos?\b",
                r"|\bzałączon(?:y|a|e|ego|ym|ej)\b",
                r"|\b(?:den|det|de)\s+(?:bifogade|vedh(?:æ|ae)ftede)\b|\bvedlagte\b",
            ),
        )],
    )
});

/// [`NOT_A_PROMISE`] for the languages of [`OWN_MORE`].
static NOT_A_PROMISE_MORE: LazyLock<Screened> = LazyLock::new(|| {
    Screened::gated(concat!(
        r"(?i)\b(?:non|senza|nessun[oa]?|grazie\s+per)\b|\b(?:tuo|suo|vostro)\s+allegato\b|\b(?:mi|ci)\s+(?:hai|ha|avete|hanno)\s+(?:inviato|mandato)\b",
        r"|\bnão\b{end}|\b(?:sem|nenhum|nenhuma)\b|\bobrigad[oa]\s+pel[oa]\b|\b(?:seu|teu)\s+anexo\b|\b(?:me|nos)\s+(?:enviou|mandou|enviaste)\b",
        r"|\b(?:nie|bez|brak)\b|\bdzięk(?:i|uję)\s+za\b",
        r"|\bved\s+siden\b|\b(?:inte|ej|ingen|inga|utan|uden|uten|ikke|ei|ilman)\b|\b(?:tak|takk)\s+for\b|\btack\s+för\b{end}|\bkiitos\b|\b(?:din|ditt|dit|jeres|deres)\s+(?:bilaga|vedlegg|bilag)\b",
    ))
});

/// A word of every [`OWN_MORE`] and [`NEW_ONLY_MORE`] alternative. The
/// Italian words and `legger` stand whole or at a word's start in every
/// pattern: so written, `allegations` and `bootleggers` do not pass.
static MORE_WORDS: LazyLock<gate::Words> = LazyLock::new(|| gate::words(MORE));

/// See [`MORE_WORDS`].
const MORE: &[&str] = &[
    r"\ballegato\b",
    r"\ballegata\b",
    r"\ballegati\b",
    r"\ballegate\b",
    r"\ballego\b",
    r"\balleghiamo\b",
    "anex",
    // Only ASCII letters fold: `ZAŁĄCZNIK` lowered is `zaŁĄcznik`.
    "załącz",
    "zaŁĄcz",
    "bifoga",
    "bilag",
    "vedh",
    "vedlag",
    "vedlegg",
    r"\blegger",
    "liit",
    "ohessa",
];

/// The phrases of a group of languages, behind their gate.
struct Phrases {
    words: &'static LazyLock<gate::Words>,
    own: &'static LazyLock<gate::Parts>,
    new_only: &'static LazyLock<gate::Parts>,
    subject_only: Option<&'static LazyLock<gate::Parts>>,
    /// Whether a clause of these languages' phrases promises nothing; the
    /// other languages' words also count ("pas", "sin", "kein").
    not_a_promise: fn(&str) -> bool,
}

/// English, German, French, Spanish and Dutch; then the others.
static LANGUAGES: [Phrases; 2] = [
    Phrases {
        words: &ATTACHMENT_WORDS,
        own: &OWN,
        new_only: &NEW_ONLY,
        subject_only: Some(&SUBJECT_ONLY),
        not_a_promise: promises_nothing,
    },
    Phrases {
        words: &MORE_WORDS,
        own: &OWN_MORE,
        new_only: &NEW_ONLY_MORE,
        subject_only: None,
        not_a_promise: promises_nothing_more,
    },
];

/// Which of a group's patterns to look for.
#[derive(Clone, Copy)]
enum Where {
    /// A reply's text: only the sender's own first-person phrases.
    Reply,
    Text,
    Subject,
}

/// The first phrase in a text that promises an attachment, in any of the
/// languages.
fn promise(text: &str, place: Where) -> Option<&str> {
    LANGUAGES.iter().find_map(|phrases| {
        let patterns = [
            Some(phrases.own),
            (!matches!(place, Where::Reply)).then_some(phrases.new_only),
            phrases
                .subject_only
                .filter(|_| matches!(place, Where::Subject)),
        ];
        promise_in(text, phrases, patterns.into_iter().flatten())
    })
}

/// Whether a text holds a word of any language's phrases.
fn may_promise(text: &str) -> bool {
    ANY_LANGUAGE_WORDS.is_match(text)
}

/// The words of every language in one gate: a text is lowered and
/// searched once for all of them, where each group's gate did it again.
static ANY_LANGUAGE_WORDS: LazyLock<gate::Words> =
    LazyLock::new(|| gate::words(&[ENGLISH, GERMAN, FRENCH, SPANISH, DUTCH, MORE].concat()));

/// A clause that talks about someone else's attachment, or about a missing
/// one, or uses "attach" in another sense. Every `\b` stands beside an
/// ASCII letter (see [`Screened`]; `ningún` ends with `\b{end}`). Each
/// language's part stands behind words of every one of its alternatives.
static NOT_A_PROMISE: LazyLock<gate::Parts> = LazyLock::new(|| {
    gate::parts(
        "(?i)",
        &[
            (
                &[
                    "attach",
                    "enclos",
                    "adjunt",
                    r"\bsent\b",
                    r"\bsend\b",
                    "forwarded",
                    "shared",
                    "provided",
                    "included",
                    "mentioned",
                    r"\byour\b",
                    r"\bthank",
                    r"\breceived\b",
                    r"\bgot\b",
                    r"\bfile",
                    r"\bdocument",
                    r"\bmissing\b",
                    r"\bforgot",
                    r"\bforget\b",
                    r"\bneglected\b",
                    r"\bomitted\b",
                    r"\bnot\b",
                    r"\bnever\b",
                    r"\bcannot\b",
                    "n't",
                    "n’t",
                ],
                concat!(
                    r"\b(?:you|you've|you’ve|they|he|she)\s+(?:have\s+|had\s+|just\s+|kindly\s+)?(?:sent|send|attached|forwarded|enclosed|shared|provided|included|mentioned)\b",
                    r"|\byour\s+(?:attachments?|attached|e-?mail|message|mail|file|document|letter)\b",
                    r"|\bsent\s+(?:me|us)\b",
                    r"|\bthank(?:s|\s+you)\s+(?:(?-i:\w)+\s+){0,2}for\b",
                    r"|\b(?:i|we|i've|we've|have|has)\s+(?:just\s+)?(?:received|got)\b",
                    r"|\bno\s+(?:attachments?|files?|documents?)\b|\bwithout\s+(?:an?\s+|the\s+|any\s+)?(?:attach|file|document)",
                    r"|\b(?:missing|forgot|forgotten|forget|neglected|omitted)\b",
                    r"|\b(?:not|never|cannot|can't|can’t|couldn't|couldn’t|didn't|didn’t|doesn't|doesn’t|don't|don’t|isn't|isn’t|aren't|aren’t|wasn't|wasn’t|won't|won’t|wouldn't|shouldn't)\b",
                    // "the enclosed message" of bounces and forwards is usually inline below
                    r"|\b(?:attached|enclosed)\s+(?:original\s+|returned\s+)?(?:message|e-?mail)\b",
                    r"|\battach(?-i:\w)*\s+(?:great\s+|much\s+|little\s+|no\s+|any\s+|some\s+)?(?:importance|significance|value|weight|conditions?|strings|blame)\b",
                    r"|\b(?:director|directora|subdirector|subdirectora|profesor|profesora|secretario|secretaria|gerente|jefe|jefa|coordinador|coordinadora|fiscal|delegado|delegada|ministro|ministra|editor)\s+adjunt",
                ),
            ),
            (
                &[
                    r"\bkein",
                    r"\bohne\b",
                    r"\bnicht\b",
                    r"\bfehl",
                    r"\bdanke\b",
                    "anhang",
                    "geschickt",
                    "gesendet",
                    "angehängt",
                    "angehÄngt",
                ],
                concat!(
                    r"\b(?:kein|keine|keinen|ohne|nicht|fehlt|fehlen)\b|\bdanke\s+für\b|\b(?:ihr|ihrem|ihren|dein|deinem|deinen)\s+anhang\b",
                    r"|\b(?:Sie|du)\s+(?:haben|hast)\b[^.!?]{0,40}\b(?:geschickt|gesendet|angehängt)\b",
                ),
            ),
            (
                &[
                    r"\bpas\b",
                    r"\bsans\b",
                    r"\baucun",
                    r"\bmerci\b",
                    "joint",
                    "m'a",
                    "m’a",
                ],
                r"\b(?:pas|sans|aucune?)\b|\bmerci\s+pour\b|\b(?:votre|vos|ta|tes)\s+pi[eè]ces?\s+jointes?\b|\b(?:vous\s+m'avez|tu\s+m'as|vous\s+m’avez|tu\s+m’as)\b",
            ),
            (
                &[
                    r"\bsin\b",
                    r"\bning",
                    r"\bgracias\b",
                    "adjunt",
                    "enviado",
                    "mandado",
                ],
                r"\b(?:sin\b|ningún\b{end}|ninguna\b)|\bgracias\s+por\b|\b(?:tu|su)\s+(?:archivo\s+)?adjunto\b|\bme\s+(?:has|ha|han)\s+(?:enviado|mandado)\b",
            ),
            (
                &[
                    r"\bgeen\b",
                    r"\bzonder\b",
                    r"\bniet\b",
                    r"\bbedankt\b",
                    r"\bdank\b",
                    r"\bjouw\b",
                    "bijlage",
                    "stuurde",
                    "stuurt",
                    "gestuurd",
                ],
                r"\b(?:geen|zonder|niet)\b|\b(?:bedankt|dank)\s+voor\b|\bjouw\b|\buw\s+bijlage\b|\b(?:je|jij|u)\s+(?:stuurde|stuurt|hebt\s+gestuurd|heeft\s+gestuurd)\b",
            ),
        ],
    )
});

/// Whether a clause of English, German, French, Spanish or Dutch phrases
/// promises nothing.
fn promises_nothing(clause: &str) -> bool {
    NOT_A_PROMISE.is_match(clause)
}

/// [`promises_nothing`] for the other languages' phrases, whose clauses
/// may also use the first languages' words.
fn promises_nothing_more(clause: &str) -> bool {
    NOT_A_PROMISE_MORE.is_match(clause) || promises_nothing(clause)
}

/// "attached ddd to the processes", "attached the logs to the ticket": a
/// thing joined to something other than this message; its noun is taken
/// (see [`Screened`]).
static ATTACHED_TO: LazyLock<Screened> = LazyLock::new(|| {
    Screened::gated(
        r"(?i)\battach(?:ed)?\s+(?:[^\s.,;:!?]+\s+){1,4}?to\s+(?:the|a|an|its|their|his|her|my|our|your|each|every|all)\s+((?-i:\w)+)",
    )
});

/// What "attached to the ..." may name when it means this message.
const THIS_MESSAGE: &[&str] = &[
    "email",
    "e-mail",
    "mail",
    "message",
    "note",
    "reply",
    "letter",
    "invite",
    "invitation",
    "thread",
];

/// Whether a clause attaches something to another thing than this message.
fn attached_elsewhere(clause: &str) -> bool {
    ATTACHED_TO.screen(clause).is_some_and(|re| {
        re.captures_iter(clause).any(|c| {
            c.get_group(1).is_some_and(|noun| {
                !THIS_MESSAGE
                    .iter()
                    .any(|m| clause[noun.range()].eq_ignore_ascii_case(m))
            })
        })
    })
}

/// The clause around a match: from the previous to the next `.`, `!`, `?`,
/// `;`, `,` or dash between spaces, at most a few hundred characters each way.
fn clause(text: &str, start: usize, end: usize) -> &str {
    const REACH: usize = 300;
    let is_boundary = |c: char| matches!(c, '.' | '!' | '?' | ';' | ',' | '–' | '—');
    let before = &text[..start];
    let mut from = start;
    for (i, c) in before.char_indices().rev().take(REACH) {
        if is_boundary(c) || before[i..].starts_with(" - ") {
            break;
        }
        from = i;
    }
    let after = &text[end..];
    let mut to = end;
    for (i, c) in after.char_indices().take(REACH) {
        if is_boundary(c) || after[i..].starts_with(" - ") {
            break;
        }
        to = end + i + c.len_utf8();
    }
    &text[from..to]
}

/// A word of every [`OWN`], [`NEW_ONLY`] and [`SUBJECT_ONLY`] alternative
/// (see `gate.rs`).
static ATTACHMENT_WORDS: LazyLock<gate::Words> =
    LazyLock::new(|| gate::words(&[ENGLISH, GERMAN, FRENCH, SPANISH, DUTCH].concat()));

/// The first phrase in a text that promises an attachment, by one group's
/// patterns. The patterns are compiled on first use, past the gate.
fn promise_in<'t>(
    text: &'t str,
    phrases: &Phrases,
    patterns: impl Iterator<Item = &'static LazyLock<gate::Parts>>,
) -> Option<&'t str> {
    if !phrases.words.is_match(text) {
        return None;
    }
    for pattern in patterns {
        for found in pattern.find_iter(text) {
            let clause = clause(text, found.start, found.end);
            if !(phrases.not_a_promise)(clause) && !attached_elsewhere(clause) {
                let phrase = text[found].trim();
                // "PFA" is matched with the word after it.
                return Some(match phrase.get(..3) {
                    Some(pfa) if pfa.eq_ignore_ascii_case("pfa") => pfa,
                    _ => phrase,
                });
            }
        }
    }
    None
}

impl Rule for ForgottenAttachment {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let msg = cx.message;
        if msg.attachments.iter().any(|a| self.is_real(a)) {
            return;
        }
        let body = if msg.is_reply {
            Where::Reply
        } else {
            Where::Text
        };
        let subject = msg.subject.as_deref().unwrap_or("");
        let found = if !msg.is_reply && !has_forward_prefix(subject) && subject.len() <= 1000 {
            promise(subject, Where::Subject).map(|p| {
                (
                    p,
                    "subject",
                    Location::header("Subject", msg.header_line("Subject")),
                )
            })
        } else {
            None
        };
        let found = found.or_else(|| {
            msg.readable_parts().find_map(|part| {
                let authored = part.authored();
                // A promise needs a word of the gate: one search of the
                // whole text spares most texts the split into paragraphs
                // and a search of each (2,000 instructions a paragraph,
                // mostly setting up). A footer is told apart only where a
                // promise is found.
                if !may_promise(authored) {
                    return None;
                }
                // Most of its paragraphs hold none: one search each.
                paragraphs(authored)
                    .filter(|p| may_promise(p))
                    .find_map(|p| promise(p, body).filter(|_| !is_disclaimer(p)))
                    .map(|p| (p, "text", Location::part(part.mime_type(), part.line_of(p))))
            })
        });
        let Some((phrase, where_, location)) = found else {
            return;
        };
        let phrase = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
        let small = msg.attachments.len() as u64;
        let mut message = format!("the {where_} says {phrase:?}, but nothing is attached");
        if small > 0 {
            message.push_str(&format!(
                " (only {}, such as signature logos)",
                plural(small, "small inline image", "small inline images")
            ));
        }
        out.push(
            Diagnostic::new(Severity::Warning, message, location)
                .help("attach the file, or take out the sentence that says it is attached"),
        );
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn documented_options_are_the_defaults() {
        assert_eq!(
            crate::testing::documented_options::<super::ForgottenAttachment>(&super::RULE),
            super::ForgottenAttachment::default()
        );
    }
    use super::*;
    use crate::testing::{check_rule, check_rule_with, eml};

    fn promises(text: &str) -> bool {
        promise(text, Where::Text).is_some()
    }

    #[test]
    fn promising_phrases() {
        for s in [
            "Please find attached the minutes.",
            "Hi Ann, please find attached the Q3 report",
            "See attached.",
            "see attachment",
            "I've attached the slides from today.",
            "I have attached two options",
            "We are attaching the signed contract.",
            "I attach the agenda for Monday.",
            "Attached is the invoice for March.",
            "Attached: minutes.pdf",
            "Attaching the photos from Saturday",
            "The revised budget is attached.",
            "The plan is attached to this email.",
            "I have attached the form to the email.",
            "I've attached the slides to my reply.",
            "It's attached.",
            "Please review the attached document and let me know.",
            "Enclosed please find our offer",
            "Anbei die Unterlagen für Montag.",
            "Im Anhang finden Sie das Protokoll.",
            "ich habe Ihnen die Rechnung angehängt",
            "Veuillez trouver ci-joint le compte rendu.",
            "Je vous envoie le rapport en pièce jointe.",
            "Te adjunto el informe de ventas.",
            "Adjunto el presupuesto actualizado.",
            // A word ending in a non-ASCII letter, in text with others.
            "Buenos días: adjunto encontrará el presupuesto.",
            "Adjunto podrá ver la factura.",
            "Bijgevoegd vindt u de offerte.",
            "In de bijlage vindt u het verslag.",
            "Zie bijlage.",
            "Anbei Ihre Rechnung.",
            "Please find the updated rota attached.",
            "Kindly find our signed offer letter enclosed",
            "PFA the minutes.",
            "Hi Karen, PFA.",
            "pfa my timesheet",
            "Voir en PJ le devis.",
            "le compte rendu en\tpj",
            "Ciao Marco, in allegato trovi il verbale della riunione.",
            "Ti allego il preventivo aggiornato.",
            "Il file allegato contiene i dati.",
            "Segue em anexo o relatório de vendas.",
            "Bom dia, anexo o orçamento revisto.",
            "W załączniku przesyłam protokół ze spotkania.",
            "Załączam fakturę za marzec.",
            "ZAŁĄCZAM fakturę.",
            "Hej! Jag bifogar rapporten från mötet.",
            "Bifogat finns protokollet.",
            "Se bilaga.",
            "Vedhæftet finder du referatet fra mødet.",
            "Jeg har vedlagt tilbuddet.",
            "Se vedlegg.",
            "Jeg legger ved fakturaen for mars.",
            "Liitteenä pöytäkirja eiliseltä kokoukselta.",
            "Ohessa tarjous.",
        ] {
            assert!(promises(s), "{s}");
        }
    }

    /// A group's patterns, the whole pattern of each and the group's words.
    static WHOLE: LazyLock<Vec<(&gate::Parts, Screened, &gate::Words)>> = LazyLock::new(|| {
        LANGUAGES
            .iter()
            .flat_map(|p| {
                [p.own, p.new_only]
                    .into_iter()
                    .chain(p.subject_only)
                    .map(|parts| (&**parts, parts.whole(), &**p.words))
            })
            .collect()
    });

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]
        /// Every text a promise pattern matches holds a word of the
        /// languages' gate, and the parts of the pattern its words pick
        /// find what the whole pattern finds in text that passes the gate.
        #[test]
        fn the_gates_let_every_promise_through(
            text in proptest::prop_oneof![
                WHOLE[0].1.texts(),
                WHOLE[1].1.texts(),
                WHOLE[2].1.texts(),
                WHOLE[3].1.texts(),
                WHOLE[4].1.texts(),
                "(?:en|EN|En|PFA|Pfa|pfa|pFa|pj|PJ|pJ|Pj|p|j|the|see|attached|[jJ]oins|ci-joint|anbei|adjunto|[zZ]ałączam|ZAŁĄCZAM|w|W|[aA]llego|[aA]llegat[oi]|allegations|boot|[aA]nexo|[bB]ifogar|[vV]edlagt|[lL]iitteenä|[lL]egger|ved|[ \t\n.,:]|\u{e9}){0,10}",
            ]
        ) {
            let spans = |re: Option<&regex_automata::meta::Regex>| {
                re.map(|re| crate::gate::spans(re, &text)).unwrap_or_default()
            };
            for (parts, whole, words) in WHOLE.iter() {
                proptest::prop_assert!(whole.copy_agrees(&text), "{:?}", text);
                let gated = words.is_match(&text);
                proptest::prop_assert_eq!(
                    parts.is_match(&text),
                    gated && whole.is_match(&text),
                    "{:?}",
                    text
                );
                let found: Vec<_> = parts.find_iter(&text).collect();
                proptest::prop_assert_eq!(found, if gated { spans(whole.screen(&text)) } else { vec![] });
            }
            for phrases in &LANGUAGES {
                let matched = [phrases.own, phrases.new_only]
                    .into_iter()
                    .chain(phrases.subject_only)
                    .any(|p| p.is_match(&text));
                proptest::prop_assert!(!matched || phrases.words.is_match(&text), "{:?}", text);
            }
            // The one gate of every language answers as the groups' gates.
            let any_group = LANGUAGES.iter().any(|p| p.words.is_match(&text));
            proptest::prop_assert_eq!(may_promise(&text), any_group, "{:?}", text);
        }
    }

    static NOT_A_PROMISE_WHOLE: LazyLock<Screened> = LazyLock::new(|| NOT_A_PROMISE.whole());

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]
        /// The parts of the clauses that promise nothing, picked by their
        /// words, find what the whole pattern finds.
        #[test]
        fn clauses_that_promise_nothing_are_found_by_their_parts(
            text in NOT_A_PROMISE_WHOLE.texts()
        ) {
            proptest::prop_assert!(NOT_A_PROMISE_WHOLE.copy_agrees(&text), "{:?}", text);
            proptest::prop_assert_eq!(
                NOT_A_PROMISE.is_match(&text),
                NOT_A_PROMISE_WHOLE.is_match(&text),
                "{:?}",
                text
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]
        /// The screens of the other clause patterns let every match through.
        #[test]
        fn the_clause_screens_let_every_match_through(
            text in proptest::prop_oneof![ATTACHED_TO.texts(), NOT_A_PROMISE_MORE.texts()]
        ) {
            for screened in [&*ATTACHED_TO, &*NOT_A_PROMISE_MORE] {
                proptest::prop_assert!(screened.copy_agrees(&text), "{:?}", text);
            }
        }
    }

    #[test]
    fn phrases_that_promise_nothing() {
        for s in [
            "Thanks for the attached report.",
            "The attachment you sent is corrupted.",
            "I couldn't open the attached file, can you resend?",
            "No attachment needed, the details are below.",
            "Is the report attached?",
            "I am attached to this plan.",
            "An error was detected while processing the enclosed message.",
            "He is attached to the Leeds office.",
            "Your attachment was too large for our server.",
            "We attach great importance to privacy.",
            "The attachment size limit is 25 MB.",
            "I forgot to attach it, sorry.",
            "El director adjunto presentó el informe.",
            "Danke für den Anhang.",
            "Merci pour la pièce jointe.",
            "Ik heb geen bijlage ontvangen.",
            "Please attach your CV to the application.",
            "Can you send it as an attachment?",
            "I have attached ddd to the processes and they wait on semop().",
            "We've attached the logs to the ticket.",
            "Ningún informe adjunto.",
            "I have attached the notes to the café's menu.",
            "Grazie per l'allegato.",
            "Non trovo l'allegato.",
            "Obrigado pelo anexo.",
            "Não recebi o anexo.",
            "Nie widzę załącznika.",
            "Dziękuję za załącznik.",
            "Tack för bilagan.",
            "Jeg kunne ikke åbne den vedhæftede fil.",
            "Takk for vedlegget.",
            "Liitettä ei ollut viestissä.",
            "Kiitos liitteestä.",
            "Sono molto legato alla mia città.",
            "O anexo do edifício fica à esquerda.",
            "Projektet är ett bilaga till avtalet som vi diskuterade",
            "Hun legger ved siden av oss i kveld.",
        ] {
            assert!(!promises(s), "{s}");
        }
    }

    /// The clause patterns are screened by ASCII copies: a word ending in a
    /// non-ASCII letter, and word characters beyond ASCII, as the patterns
    /// read them.
    #[test]
    fn clause_patterns_read_non_ascii_words() {
        assert!(NOT_A_PROMISE.is_match("no hay ningún archivo"));
        assert!(NOT_A_PROMISE.is_match("ningún"));
        assert!(!NOT_A_PROMISE.is_match("ningúné archivo"));
        assert!(!NOT_A_PROMISE.is_match("ningúnx archivo"));
        assert!(NOT_A_PROMISE.is_match("thanks très much for"));
        assert!(attached_elsewhere("attached the notes to the café"));
        assert!(!attached_elsewhere("attached the notes to the mail"));
        assert!(attached_elsewhere("attached the notes to the mail\u{e9}"));
    }

    #[test]
    fn fires_without_attachment() {
        let msg = eml(
            "From: a@org.example\nTo: b@org.example\nSubject: Q3\n\nHi Bob,\n\nPlease find attached the Q3 report.\n\nAnn\n",
        );
        let f = check_rule("forgotten-attachment", &msg);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(
            f[0].message,
            "the text says \"Please find attached\", but nothing is attached"
        );
        assert_eq!(f[0].location.part.as_deref(), Some("text/plain"));
        let subject =
            eml("From: a@org.example\nTo: b@org.example\nSubject: Invoice 1043 attached\n\nHi\n");
        let f = check_rule("forgotten-attachment", &subject);
        assert_eq!(f[0].location.header.as_deref(), Some("Subject"));
    }

    fn with_part(headers: &str, size: usize) -> crate::message::Message {
        let data = "A".repeat(size);
        eml(&format!(
            "From: a@org.example\nTo: b@org.example\nSubject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nSee attached.\n--b\n{headers}\n\n{data}\n--b--\n"
        ))
    }

    #[test]
    fn attachments_and_inline_images() {
        let pdf = with_part(
            "Content-Type: application/pdf\nContent-Disposition: attachment; filename=q3.pdf",
            100,
        );
        assert!(check_rule("forgotten-attachment", &pdf).is_empty());
        let logo = with_part(
            "Content-Type: image/png\nContent-ID: <logo@x>\nContent-Disposition: inline",
            4000,
        );
        let f = check_rule("forgotten-attachment", &logo);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .ends_with("(only 1 small inline image, such as signature logos)"),
            "{}",
            f[0].message
        );
        let screenshot = with_part("Content-Type: image/png\nContent-ID: <shot@x>", 30_000);
        assert!(check_rule("forgotten-attachment", &screenshot).is_empty());
        let config = "[rules.forgotten-attachment]\ninline_image_bytes = 1000\n";
        assert!(check_rule_with(config, "forgotten-attachment", &logo).is_empty());
    }

    #[test]
    fn silent_for_quotes_footers_and_replies_about_the_attachment() {
        let quoted = eml(
            "From: a@org.example\nTo: b@org.example\nSubject: Re: Q3\nIn-Reply-To: <x@y>\n\nLooks good.\n\nOn Mon, 1 Jan 2024, Bob <b@org.example> wrote:\n> Please find attached the Q3 report.\n",
        );
        assert!(check_rule("forgotten-attachment", &quoted).is_empty());
        let reply = eml(
            "From: a@org.example\nTo: b@org.example\nSubject: Re: Q3\nIn-Reply-To: <x@y>\n\nI read the attached report, two comments below.\n",
        );
        assert!(check_rule("forgotten-attachment", &reply).is_empty());
        let footer = eml(
            "From: a@org.example\nTo: b@org.example\nSubject: lunch\n\nNoon is fine.\n\nThis email and any attachments are confidential. Attachments may contain viruses; we accept no liability.\n",
        );
        assert!(check_rule("forgotten-attachment", &footer).is_empty());
        let reply_own = eml(
            "From: a@org.example\nTo: b@org.example\nSubject: Re: Q3\nIn-Reply-To: <x@y>\n\nI've attached the corrected version.\n",
        );
        assert_eq!(check_rule("forgotten-attachment", &reply_own).len(), 1);
        let reply_subject = eml(
            "From: a@org.example\nTo: b@org.example\nSubject: Re: Report attached\n\nThanks!\n",
        );
        assert!(check_rule("forgotten-attachment", &reply_subject).is_empty());
    }
}
