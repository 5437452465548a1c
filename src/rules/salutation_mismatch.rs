use super::shared::lists::is_list_host;
use super::{Context, Rule, declare_rule};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::history::{Recall, address_key, fold, name_words};
use crate::message::Address;
use serde::Deserialize;
use std::collections::HashSet;

declare_rule! {
    /// ## What it checks
    /// A greeting that names someone who is not among the recipients: "Hi
    /// Sarah," to `john@example.com`, or "Dear Mr Patel" to a recipient
    /// named otherwise. It reads the first line the sender wrote (not
    /// quoted history, not a forwarded message, not the signature), when
    /// it opens with a greeting:
    ///
    /// - English: `Hi`, `Hello`, `Hey`, `Dear`, `Good morning`, ...;
    /// - German: `Hallo`, `Liebe`, `Lieber`, `Sehr geehrte Frau`, `Guten Tag`, `Moin`, ...;
    /// - French: `Bonjour`, `Bonsoir`, `Salut`, `Cher`, `Chère`, ...;
    /// - Spanish: `Hola`, `Estimado`, `Estimada`, `Querida`, `Buenos días`, ....
    ///
    /// A name is found among the recipients when one of its words is a word
    /// of a recipient's display name, of the local part of its address
    /// (`sarah.jones`, `sarahj`, `s.jones`: an initial where a first name
    /// stands counts for one, a middle initial as in `Jane B. Kim` does
    /// not) or of its domain (`Hi Acme team` to `orders@acme.example`), or
    /// one is short for the other (`Chris` and `Christopher`, `Bob` and
    /// `Robert`).
    ///
    /// It stays silent when it cannot tell: greetings to a group (`Hi all`,
    /// `Hallo zusammen`, `Dear colleagues`, `Bonjour à tous`, `Hola a
    /// todos`, `Dear Sir or Madam`), names written in lower case, mail to a
    /// list, a group or more than `max_recipients` people (anyone on them
    /// may be meant), bulk and automatic mail, copies to the sender's own
    /// other address, and recipients whose name and address say too little
    /// about who they are: a person is told by a display name of two words
    /// (`Sarah Jones`) or a local part of two (`sarah.jones`, `s.jones`),
    /// or by a local part that is a common first name (`tom@`, compared
    /// only with a first name the greeting gives, itself a common one: "Dear
    /// Mr Baker" may be Tom's surname), while another word (`trainer@`,
    /// `jsmith@`, `Reception`) may be a role as easily as a name, and
    /// `info@`, `jd@`, `dev-team@` may be anyone.
    ///
    /// With a history (`maillint learn`), a recipient the message gives no
    /// display name is told by the name you have written its address with
    /// most often: "Hi Sarah," to `tb@example.com`, which you have written
    /// to as `Tom Baker`, is a wrong greeting too (the history's name comes
    /// before the first name a local part spells). A history that keeps
    /// addresses only as keyed hashes (`[history] hash_key_file`) keeps no
    /// names as written, only keyed hashes of their words (and of the
    /// beginnings of the words, for `Chris` in `Christopher`), which the
    /// greeting's name is compared with the same way; the finding then says
    /// "another name in your sent mail" without showing it.
    ///
    /// ## Why it matters
    /// The greeting is written for the person meant; the address is picked
    /// by autocomplete. When they disagree, the message is about to reach
    /// the wrong person: the check Egress and OutlookOkan make before a
    /// message leaves.
    ///
    /// ## Example
    /// ```text
    /// To: John Miller <john.miller@example.com>
    ///
    /// Hi Sarah,
    /// ```
    /// gives "the greeting names Sarah, who is not among the recipients
    /// (John Miller <john.miller@example.com>)".
    ///
    /// ## How to fix
    /// Check the recipients: add the person you greet, or correct the
    /// greeting.
    ///
    /// ## Options
    /// ```toml
    /// [rules.salutation-mismatch]
    /// max_recipients = 10   # silent for messages to more people than this
    /// ```
    id: "salutation-mismatch",
    severity: Warning,
    summary: "The greeting names someone who is not among the recipients",
    build: SalutationMismatch::build,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct SalutationMismatch {
    max_recipients: usize,
}

impl Default for SalutationMismatch {
    fn default() -> Self {
        SalutationMismatch { max_recipients: 10 }
    }
}

impl SalutationMismatch {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let rule: SalutationMismatch = settings.options()?;
        if rule.max_recipients == 0 {
            return Err(OptionError::new("max_recipients", "must be at least 1"));
        }
        Ok(Box::new(rule))
    }
}

/// Words that open a greeting, lower case. The longest that fits is taken
/// (`sehr geehrte` before `sehr`).
const GREETINGS: &[&str] = &[
    // English
    "hi",
    "hiya",
    "hello",
    "hey",
    "dear",
    "dearest",
    "good morning",
    "good afternoon",
    "good evening",
    "good day",
    "morning",
    "greetings",
    // German
    "hallo",
    "liebe",
    "lieber",
    "liebes",
    "sehr geehrte",
    "sehr geehrter",
    "guten morgen",
    "guten tag",
    "guten abend",
    "moin",
    "servus",
    "grüß dich",
    "grüezi",
    // French
    "bonjour",
    "bonsoir",
    "salut",
    "coucou",
    "cher",
    "chère",
    "chers",
    "chères",
    // Spanish
    "hola",
    "estimado",
    "estimada",
    "estimados",
    "estimadas",
    "querido",
    "querida",
    "queridos",
    "queridas",
    "buenos días",
    "buenos dias",
    "buenas tardes",
    "buenas noches",
    "buenas",
];

/// Titles before a name, lower case without their dot: a name after one
/// is a surname.
#[rustfmt::skip]
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "herr", "frau", "hr", "fr",
    "monsieur", "madame", "mademoiselle", "mme", "mlle", "m", "señor", "señora", "señorita", "sr",
    "sra", "srta", "don", "doña", "dña",
];

/// Words that greet a group or a role rather than a person, lower case
/// without accents: a greeting with one of them is not compared.
#[rustfmt::skip]
const NOT_A_NAME: &[&str] = &[
    // English
    "all", "everyone", "everybody", "team", "teams", "folks", "guys", "gang", "people", "there",
    "friend", "friends", "colleague", "colleagues", "sir", "sirs", "madam", "customer",
    "customers", "client", "clients", "member", "members", "manager", "managers", "hiring",
    "recruiter", "editor", "editors", "reviewer", "reviewers", "committee", "board", "staff",
    "student", "students", "parent", "parents", "class", "community", "neighbour", "neighbours",
    "neighbor", "neighbors", "partner", "partners", "user", "users", "subscriber", "subscribers",
    "reader", "readers", "support", "sales", "admin", "administrator", "webmaster", "developers",
    "devs", "maintainer", "maintainers", "list", "world", "again", "both", "you", "mate", "mates",
    "buddy", "boss", "doctor", "officer", "coach", "mom", "mum", "dad", "mother", "father",
    "grandma", "grandpa", "uncle", "aunt", "auntie", "brother", "sister", "lady", "ladies",
    "gentlemen", "gents", "lads", "kids", "children", "family", "crew", "squad", "department",
    "office", "desk", "group", "owner", "owners", "applicant", "applicants", "candidate",
    "candidates", "supplier", "suppliers", "vendor", "vendors", "author", "authors", "organizer",
    "organizers", "organiser", "organisers", "volunteer", "volunteers", "contributor",
    "contributors", "participant", "participants", "attendee", "attendees", "guest", "guests",
    "sender", "recipient", "recipients", "concerned", "valued", "new", "future", "fellow",
    // German
    "zusammen", "alle", "allerseits", "kollege", "kollegin", "kollegen", "kolleginnen", "damen",
    "herren", "leute", "freunde", "freundinnen", "mitglieder", "eltern", "kunde", "kundin",
    "kunden", "nachbarn", "mitarbeiter", "mitarbeiterin", "mitarbeiterinnen", "mitarbeitende",
    "studierende", "schuler", "schulerinnen", "teilnehmer", "teilnehmerin", "teilnehmerinnen",
    "teilnehmende", "ihr", "euch", "beide", "ansprechpartner", "geschaftspartner", "vorstand",
    "mama", "papa", "oma", "opa", "schatz", "frau", "herr",
    // French
    "tous", "toutes", "collegue", "collegues", "ami", "amie", "amis", "amies", "membres",
    "equipe", "messieurs", "mesdames", "voisins", "partenaires", "abonnes", "etudiants", "eleves",
    "vous", "toi", "maman", "cheri", "cherie", "monsieur", "madame",
    // Spanish
    "todos", "todas", "companero", "companera", "companeros", "companeras", "amigo", "amiga",
    "amigos", "amigas", "equipo", "senor", "senora", "senores", "senoras", "colega", "colegas",
    "padres", "familia", "chicos", "chicas", "vecinos", "alumnos", "estudiantes", "usted",
    "ustedes", "mama", "papa", "jefe", "jefa", "socios",
];

/// Local parts, or words of them, that name a role or a list rather than a
/// person: such a recipient may be anyone, and the rule stays silent.
#[rustfmt::skip]
const ROLE_WORDS: &[&str] = &[
    "info", "contact", "hello", "mail", "email", "post", "office", "help", "enquiries",
    "inquiries", "noreply", "reply", "lists", "talk", "discuss", "discussion", "devel",
    "announce", "general", "accounts", "billing", "jobs", "careers", "press", "news", "orders",
    "service", "services", "bookings", "reception", "postmaster", "hostmaster", "abuse",
    "security", "privacy", "legal", "finance", "marketing", "hr", "it", "request", "requests",
    "bugs", "tickets", "feedback",
];

/// Names people shorten in ways a prefix does not catch, each with the
/// name it is short for (lower case). Prefixes (`Chris`, `Alex`) need no entry.
const NICKNAMES: &[(&str, &str)] = &[
    ("bob", "robert"),
    ("bobby", "robert"),
    ("rob", "robert"),
    ("bill", "william"),
    ("billy", "william"),
    ("will", "william"),
    ("liam", "william"),
    ("liz", "elizabeth"),
    ("beth", "elizabeth"),
    ("betty", "elizabeth"),
    ("mike", "michael"),
    ("mick", "michael"),
    ("jim", "james"),
    ("jimmy", "james"),
    ("jamie", "james"),
    ("dick", "richard"),
    ("rick", "richard"),
    ("tom", "thomas"),
    ("dave", "david"),
    ("joe", "joseph"),
    ("kate", "katherine"),
    ("kate", "catherine"),
    ("katie", "katherine"),
    ("kathy", "katherine"),
    ("cathy", "catherine"),
    ("peggy", "margaret"),
    ("maggie", "margaret"),
    ("meg", "margaret"),
    ("ted", "edward"),
    ("ed", "edward"),
    ("eddie", "edward"),
    ("tony", "anthony"),
    ("andy", "andrew"),
    ("drew", "andrew"),
    ("steve", "stephen"),
    ("steve", "steven"),
    ("sue", "susan"),
    ("jen", "jennifer"),
    ("jenny", "jennifer"),
    ("chuck", "charles"),
    ("charlie", "charles"),
    ("harry", "henry"),
    ("hank", "henry"),
    ("jack", "john"),
    ("johnny", "john"),
    ("jon", "jonathan"),
    ("nick", "nicholas"),
    ("matt", "matthew"),
    ("pat", "patrick"),
    ("pat", "patricia"),
    ("sandy", "sandra"),
    ("ben", "benjamin"),
    ("sam", "samuel"),
    ("sam", "samantha"),
    ("greg", "gregory"),
    ("jeff", "jeffrey"),
    ("larry", "lawrence"),
    ("becky", "rebecca"),
    ("abby", "abigail"),
    ("debbie", "deborah"),
    ("vicky", "victoria"),
    ("fred", "frederick"),
    ("hans", "johannes"),
    ("sepp", "josef"),
    ("pepe", "jose"),
    ("paco", "francisco"),
    ("pancho", "francisco"),
    ("lola", "dolores"),
    ("nacho", "ignacio"),
    ("manolo", "manuel"),
];

/// A name the greeting gives.
#[derive(Debug, PartialEq, Eq)]
struct Name {
    /// Each word lower case without accents (`muller`), and as German
    /// addresses spell umlauts (`mueller`).
    words: Vec<[String; 2]>,
    /// As written, for the finding.
    shown: String,
    /// After a title (`Mr`, `Frau`): a surname, which an initial does not
    /// stand for.
    titled: bool,
}

/// A word as German addresses spell it: `Müller` is `mueller`, `Strauß`
/// `strauss`.
fn german(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    for c in word.chars().flat_map(char::to_lowercase) {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            c => out.push(c),
        }
    }
    fold(&out)
}

/// What follows a greeting word at the start of `line`, the longest
/// greeting first.
fn after_greeting(line: &str) -> Option<&str> {
    let mut best: Option<&str> = None;
    for greeting in GREETINGS {
        let Some(rest) = after_prefix(line, greeting) else {
            continue;
        };
        if rest.chars().next().is_some_and(char::is_alphanumeric) {
            continue;
        }
        if best.is_none_or(|b| rest.len() < b.len()) {
            best = Some(rest);
        }
    }
    best
}

/// What follows `line`'s first characters if they, lowercased, are
/// `greeting`. An ASCII greeting against ASCII text is compared byte for
/// byte: lowercasing each line's head into a new string for each of the
/// greetings cost 27,000 instructions a message. Other text is lowercased
/// as a whole, as `str::to_lowercase` treats some characters by what
/// surrounds them (a final `Σ`) and others become ASCII (the Kelvin sign).
fn after_prefix<'l>(line: &'l str, greeting: &str) -> Option<&'l str> {
    if greeting.is_ascii() {
        // Fewer bytes than the greeting are fewer characters too.
        let head = line.as_bytes().get(..greeting.len())?;
        if head.is_ascii() {
            let same = head.iter().map(u8::to_ascii_lowercase).eq(greeting.bytes());
            return same.then(|| &line[greeting.len()..]);
        }
    }
    let n = greeting.chars().count();
    let end = line.char_indices().nth(n).map_or(line.len(), |(i, _)| i);
    let head = &line[..end];
    (head.chars().count() == n && head.to_lowercase() == *greeting).then(|| &line[end..])
}

/// The names a greeting line gives: `Hi Sarah,` → Sarah; `Dear Mr Patel`
/// → Patel (a surname); `Hallo Anna und Jonas!` → Anna, Jonas. `None` when
/// the line is no greeting or greets anyone but named people.
fn greeted(line: &str) -> Option<Vec<Name>> {
    let rest = after_greeting(line.trim())?;
    let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
    let end = rest
        .find([',', '!', ':', ';', '?', '(', '\n', '–', '—'])
        .unwrap_or(rest.len());
    let mut part = &rest[..end];
    if let Some(dash) = part.find(" - ") {
        part = &part[..dash];
    }
    if part.len() > 80 {
        return None;
    }
    let mut names = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut title = None;
    // "Sarah/Tom" is two names.
    let part = part.replace('/', " / ");
    let mut tokens = part.split_whitespace().peekable();
    while let Some(token) = tokens.next() {
        let bare = token.trim_end_matches('.');
        let lower = fold(bare);
        if [
            "and", "&", "/", "und", "et", "y", "e", "or", "oder", "ou", "o",
        ]
        .contains(&lower.as_str())
        {
            names.push(name(&current, title)?);
            current.clear();
            title = None;
            continue;
        }
        if TITLES.contains(&lower.as_str()) && current.is_empty() {
            title = Some(bare);
            continue;
        }
        current.push(bare);
        // "Hi Sarah. Thanks for...": the sentence ends with the name.
        if token.ends_with('.') && bare.chars().count() > 1 {
            break;
        }
        if tokens.peek().is_none() {
            break;
        }
    }
    names.push(name(&current, title)?);
    (names.len() <= 4).then_some(names)
}

/// One name of a greeting, or `None` when its words are not a person's
/// name (lower case, a group, a role, too many words).
fn name(words: &[&str], title: Option<&str>) -> Option<Name> {
    if words.is_empty() || words.len() > 3 {
        return None;
    }
    let mut folded = Vec::with_capacity(words.len());
    for word in words {
        let mut chars = word.chars();
        let first = chars.next()?;
        let is_name_word = first.is_uppercase()
            && word.chars().count() >= 2
            && chars.all(|c| c.is_alphabetic() || c == '-' || c == '\'' || c == '’');
        let lower = fold(word);
        if !is_name_word || NOT_A_NAME.contains(&lower.as_str()) {
            return None;
        }
        folded.push([lower, german(word)]);
    }
    Some(Name {
        words: folded,
        shown: title
            .into_iter()
            .chain(words.iter().copied())
            .collect::<Vec<_>>()
            .join(" "),
        titled: title.is_some(),
    })
}

/// What a recipient's address and display name say about who it is.
struct Identity {
    /// Words of the display name, of the local part and of the domain
    /// (less its last label), lower case without accents.
    words: Vec<String>,
    /// The local part, letters only.
    local: String,
    /// Words where a first name stands (the display name's first word, or
    /// its first after the comma of `Jones, S.`; the local part's first):
    /// only there may an initial stand for the greeted first name. A
    /// middle initial (`Jane B. Kim`) is no `Ben`.
    first: Vec<String>,
    /// Told only by a local part that is a common first name (`tom@`):
    /// only a greeting's first name, itself a common one, is compared.
    by_first_name: bool,
    /// In a hashed history, the keyed hashes of the name the address was
    /// written with before (see [`crate::history::name_tokens`]).
    hashed: HashSet<String>,
}

/// The words of an address: its local part's (letters only) and its
/// domain's labels but the last, lower case without accents. `None` for
/// a list's host, whose addresses may be anyone.
fn address_words(address: Address<'_>) -> Option<(Vec<String>, Vec<String>)> {
    let domain = address.domain().unwrap_or("");
    if is_list_host(domain) {
        return None;
    }
    let local_words = address
        .local_part()
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(fold)
        .collect();
    let mut labels: Vec<String> = domain.split('.').map(fold).collect();
    labels.pop();
    Some((local_words, labels))
}

impl Identity {
    /// `None` when the recipient may be anyone. A person is told by a
    /// display name of two words or more (`Sarah Jones`), or by a local
    /// part of two (`sarah.jones`, `s.jones`), or a local part that is a
    /// common first name (`tom@`); another word alone (`trainer@`,
    /// `Reception`) may be a role as easily as a name, and
    /// role and list addresses (`info@`, `dev-team@`, `lists.`) are anyone.
    fn of(address: Address<'_>) -> Option<Identity> {
        let is_role =
            |w: &String| ROLE_WORDS.contains(&w.as_str()) || NOT_A_NAME.contains(&w.as_str());
        let display: Vec<String> = address
            .name
            .filter(|n| !n.contains('@'))
            .map(|n| {
                name_words(n)
                    .filter(|w| w.chars().any(char::is_alphabetic))
                    .collect()
            })
            .unwrap_or_default();
        let (local_words, labels) = address_words(address)?;
        let mut first: Vec<String> = local_words.first().cloned().into_iter().collect();
        if let Some(name) = address.name.filter(|n| !n.contains('@')) {
            let given = name.split_once(',').map_or(name, |(_, given)| given);
            first.extend(name_words(given).next());
        }
        let personal_display = display.len() >= 2 && !display.iter().any(is_role);
        let personal_local = local_words.len() >= 2
            && local_words.iter().any(|w| w.chars().count() >= 3)
            && !local_words.iter().any(is_role);
        // `tom@`: a one-word local part that is a common first name, with
        // no role in its display name (`Reception <mary@>`).
        let by_first_name = !personal_display
            && !personal_local
            && address.local_part().chars().all(char::is_alphabetic)
            && local_words.len() == 1
            && is_first_name(&local_words[0])
            && !display.iter().any(is_role);
        if !personal_display && !personal_local && !by_first_name {
            return None;
        }
        let mut words = display;
        words.extend(local_words.iter().cloned());
        words.extend(labels);
        Some(Identity {
            local: local_words.concat(),
            words,
            first,
            by_first_name,
            hashed: HashSet::new(),
        })
    }

    /// A recipient the message gives no display name, in a hashed history
    /// that has kept the hashes of the name its address was written with
    /// (see [`crate::history::name_tokens`]): told by its local part and
    /// domain, and by that name's hashes. `None` when the name is a role's
    /// (`Sales Team`) or there are none.
    fn recalled_hashed(history: &dyn Recall, address: Address<'_>) -> Option<Identity> {
        let hashed: HashSet<String> = history
            .name_hashes(&address_key(address.addr))
            .into_iter()
            .collect();
        let is_role = |w: &&str| hashed.contains(&history.hashed(w));
        if hashed.is_empty() || ROLE_WORDS.iter().chain(NOT_A_NAME).any(is_role) {
            return None;
        }
        let (local_words, labels) = address_words(address)?;
        let mut words = local_words.clone();
        words.extend(labels);
        Some(Identity {
            local: local_words.concat(),
            first: local_words.first().cloned().into_iter().collect(),
            words,
            by_first_name: false,
            hashed,
        })
    }

    /// A recipient the message gives no display name, told by the name the
    /// sender's history has written its address with most often (which a
    /// hashed index does not keep): that name, and the identity.
    fn recalled(history: &dyn Recall, address: Address<'_>) -> Option<(String, Identity)> {
        if address.name.is_some_and(|n| !n.trim().is_empty()) {
            return None;
        }
        let Some(name) = history.known(&address_key(address.addr))?.name else {
            let identity = Identity::recalled_hashed(history, address)?;
            return Some(("another name".to_string(), identity));
        };
        let identity = Identity::of(Address {
            name: Some(&name),
            ..address
        })?;
        Some((name, identity))
    }

    /// Whether the greeting's name may be this recipient (`history`: the
    /// one [`hashed`](Self::hashed) came from, to hash the name with).
    fn may_be(&self, name: &Name, history: Option<&dyn Recall>) -> bool {
        if self.by_first_name
            && (name.titled || !name.words.first().is_some_and(|w| is_first_name(&w[0])))
        {
            // `Dear Mr Baker` may be tom@; `Hi Acme` says nothing of him.
            return true;
        }
        if let Some(history) = history.filter(|_| !self.hashed.is_empty())
            && self.may_be_hashed(name, history)
        {
            return true;
        }
        name.words.iter().enumerate().any(|(i, spellings)| {
            let is_first_name = i == 0 && !name.titled;
            let initial = spellings[0].chars().next();
            let initial_fits =
                |w: &str| is_first_name && w.chars().count() == 1 && w.chars().next() == initial;
            self.first.iter().any(|w| initial_fits(w))
                || spellings.iter().any(|word| {
                    self.words.iter().any(|w| same_name(word, w))
                        || (word.chars().count() >= 3 && self.local.contains(word.as_str()))
                })
        })
    }
}

impl Identity {
    /// [`may_be`](Self::may_be) against the hashes of a name: each of the
    /// greeting's words is looked for as the name's tokens would hold it.
    fn may_be_hashed(&self, name: &Name, history: &dyn Recall) -> bool {
        let has = |token: &str| self.hashed.contains(&history.hashed(token));
        name.words.iter().enumerate().any(|(i, spellings)| {
            let is_first_name = i == 0 && !name.titled;
            let initial = spellings[0].chars().next().map(|c| format!("^{c}"));
            (is_first_name && initial.is_some_and(|t| has(&t)))
                || spellings.iter().any(|word| {
                    let starts: Vec<usize> = word.char_indices().map(|(i, _)| i).skip(3).collect();
                    // The same word, one it is short for, one short for it.
                    has(word)
                        || (word.chars().count() >= 3 && has(&format!("<{word}")))
                        || starts.iter().any(|&end| has(&word[..end]))
                        || NICKNAMES.iter().any(|&(nick, full)| {
                            (nick == word && has(full)) || (full == word && has(nick))
                        })
                })
        })
    }
}

/// Common first names (lower case, without accents) that are rarely
/// anything else: a local part that is one of them (`tom@`) is taken for
/// a person of that name. Names that are as often surnames (`lee`, `kim`)
/// or words and roles (`bill`, `dean`, `will`) are left out. Hand-written:
/// no small permissively licensed crate holds such a list.
#[rustfmt::skip]
const FIRST_NAMES: &[&str] = &[
    "aaron", "ada", "adam", "ahmed", "alan", "albert", "alex", "alexander", "alice", "amanda",
    "amy", "andrea", "andreas", "andrew", "andy", "angela", "ann", "anna", "anne", "anthony",
    "antoine", "arjun", "arthur", "barbara", "ben", "benjamin", "betty", "bob", "brian",
    "camille", "carlos", "carmen", "carol", "catherine", "charles", "charlotte", "chris",
    "christina", "christine", "christopher", "claudia", "daniel", "dave", "david", "deborah",
    "diana", "diego", "donna", "dorothy", "edward", "elena", "elizabeth", "emily", "emma",
    "eric", "ethan", "eva", "fatima", "frank", "george", "grace", "hannah", "hans", "heather",
    "helen", "helene", "hugo", "ines", "isabel", "isabella", "ivan", "jack", "jacob", "james",
    "jane", "janet", "jason", "javier", "jean", "jennifer", "jessica", "jim", "joan", "joe",
    "john", "jonathan", "jose", "joseph", "joshua", "juan", "judith", "julia", "julie",
    "julien", "jurgen", "karen", "kate", "katherine", "kathleen", "kevin", "klaus", "laura",
    "lauren", "leo", "linda", "lisa", "lucia", "luis", "margaret", "maria", "marie", "mark",
    "marta", "martha", "mary", "matthew", "megan", "melissa", "mia", "michael", "michelle",
    "miguel", "mike", "mohammed", "monika", "nancy", "natalie", "nicholas", "nicolas",
    "nicole", "nina", "noah", "olivia", "omar", "pablo", "pamela", "patricia", "patrick",
    "paul", "pedro", "peter", "petra", "pierre", "priya", "rachel", "rahul", "raj", "rebecca",
    "richard", "robert", "ruth", "ryan", "sabine", "sam", "samantha", "samuel", "sandra",
    "sara", "sarah", "sharon", "sofia", "sophia", "sophie", "stefan", "stephanie", "stephen",
    "steve", "steven", "susan", "thomas", "timothy", "tom", "tony", "ursula", "victoria",
    "wolfgang", "yuki", "yusuf", "zoe",
];

fn is_first_name(word: &str) -> bool {
    FIRST_NAMES.binary_search(&word).is_ok()
}

/// A display name of at least two words, as words lower case without
/// accents.
fn person_key(name: &str) -> Option<Vec<String>> {
    let words: Vec<String> = name_words(name).collect();
    (words.len() >= 2).then_some(words)
}

/// Whether a recipient's display name is the sender's: each of its (at
/// least two) words is one of the sender's name (`Jonas Sterr` for
/// `Jonas Sterr - ProxForge`).
fn is_sender(sender: Option<&[String]>, recipient: Option<&str>) -> bool {
    match (sender, recipient.and_then(person_key)) {
        (Some(sender), Some(recipient)) => recipient.iter().all(|w| sender.contains(w)),
        _ => false,
    }
}

/// Whether two words may name one person: equal, one short for the other
/// (`chris`, `christopher`), or a known nickname (`bob`, `robert`).
fn same_name(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    (short.chars().count() >= 3 && long.starts_with(short))
        || NICKNAMES
            .iter()
            .any(|&(nick, full)| (nick == a && full == b) || (nick == b && full == a))
}

impl Rule for SalutationMismatch {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let msg = cx.message;
        if cx.is_bulk()
            || msg.is_automatic()
            || msg.is_discussion_list_post()
            || !msg.groups.is_empty()
        {
            return;
        }
        // A copy to the sender's other address (`Jonas Sterr
        // <jonas@home.example>` from `Jonas Sterr <jonas@work.example>`)
        // says nothing of who is greeted: the person meant is then usually
        // in Bcc, outside the headers.
        let sender_name = msg.sender().and_then(|s| s.name).and_then(person_key);
        let recipients: Vec<_> = cx
            .audience
            .recipients()
            .filter(|r| !r.own && r.first().addr.contains('@'))
            .filter(|r| !is_sender(sender_name.as_deref(), r.first().name))
            .collect();
        if recipients.is_empty()
            || recipients.len() > self.max_recipients
            || recipients
                .iter()
                .any(|r| r.mass.is_some() || r.list.is_some())
        {
            return;
        }
        // The greeting first: most messages greet nobody by name, and then
        // the history is not asked about their recipients.
        let Some(part) = msg.readable_parts().next() else {
            return;
        };
        let Some(line) = part.authored().lines().find(|l| !l.trim().is_empty()) else {
            return;
        };
        let Some(names) = greeted(line) else { return };
        // Each recipient's identity, with the name the history told it by
        // when the message gives none; a first name as the local part
        // (`tom@`) only when the history knows no better.
        let Some(identities) = recipients
            .iter()
            .map(|r| {
                let own = Identity::of(r.first());
                if own.as_ref().is_some_and(|id| !id.by_first_name) {
                    return own.map(|id| (None, id));
                }
                cx.history
                    .and_then(|h| Identity::recalled(h, r.first()))
                    .map(|(name, identity)| (Some(name), identity))
                    .or(own.map(|id| (None, id)))
            })
            .collect::<Option<Vec<_>>>()
        else {
            return;
        };
        let Some(stranger) = names
            .iter()
            .find(|n| !identities.iter().any(|(_, id)| id.may_be(n, cx.history)))
        else {
            return;
        };
        let shown: Vec<String> = recipients
            .iter()
            .zip(&identities)
            .take(3)
            .map(|(r, (recalled, _))| match (r.first().name, recalled) {
                (Some(name), _) if !name.trim().is_empty() => {
                    format!("{} <{}>", name.trim(), r.first().addr)
                }
                (_, Some(recalled)) => {
                    format!("{}: {recalled} in your sent mail", r.first().addr)
                }
                _ => r.first().addr.to_string(),
            })
            .collect();
        let more = recipients.len().saturating_sub(shown.len());
        let mut list = shown.join(", ");
        if more > 0 {
            list.push_str(&format!(" and {more} more"));
        }
        out.push(
            Diagnostic::new(
                Severity::Warning,
                format!(
                    "the greeting names {}, who is not among the recipients ({list})",
                    stranger.shown
                ),
                Location::part(part.mime_type(), part.line_of(line)),
            )
            .help("check the recipients: add the person you greet, or correct the greeting"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check_rule, check_rule_with, eml};

    /// [`after_greeting`] as it was: each head lowercased into a string.
    fn after_greeting_lowercasing(line: &str) -> Option<&str> {
        let mut best: Option<&str> = None;
        for greeting in GREETINGS {
            let n = greeting.chars().count();
            let end = line.char_indices().nth(n).map_or(line.len(), |(i, _)| i);
            let head = &line[..end];
            if head.chars().count() != n || head.to_lowercase() != *greeting {
                continue;
            }
            let rest = &line[end..];
            if rest.chars().next().is_some_and(char::is_alphanumeric) {
                continue;
            }
            if best.is_none_or(|b| rest.len() < b.len()) {
                best = Some(rest);
            }
        }
        best
    }

    #[test]
    fn greetings_are_found_in_any_case() {
        assert_eq!(after_greeting("HELLO Anna"), Some(" Anna"));
        assert_eq!(after_greeting("Good Morning, Tom"), Some(", Tom"));
        assert_eq!(after_greeting("Grüß dich Anna"), Some(" Anna"));
        assert_eq!(after_greeting("GRÜSS dich"), None);
        assert_eq!(after_greeting("Hi"), Some(""));
        assert_eq!(after_greeting("Hiker"), None);
        assert_eq!(after_greeting("H"), None);
    }

    proptest::proptest! {
        /// Lines made of greetings in any case, letters that lowercase
        /// oddly and the text around names are read as lowercasing did.
        #[test]
        fn greeting_found_as_by_lowercasing(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "hi", "Hi", "HI", "hello", "HeLLo", "good morning", "GOOD ", "morning",
                    "dear", "DEAR", "liebe", "grüß dich", "GRÜSS", "Grüß", "grüezi",
                    "\u{212A}", "k", "\u{130}", "\u{3A3}", "\u{3C3}", "\u{3C2}", "ä", "Ä",
                    " ", ",", "!", "Anna", "tom", "-", "é", "x", "\n",
                ]),
                0..6,
            ),
        ) {
            let line = pieces.concat();
            proptest::prop_assert_eq!(
                after_greeting(&line),
                after_greeting_lowercasing(&line)
            );
        }
    }

    #[test]
    fn documented_options_are_the_defaults() {
        assert_eq!(
            crate::testing::documented_options::<SalutationMismatch>(&RULE),
            SalutationMismatch::default()
        );
    }

    fn names(line: &str) -> Option<Vec<String>> {
        greeted(line).map(|ns| ns.into_iter().map(|n| n.shown).collect())
    }

    #[test]
    fn greetings_give_the_names_they_greet() {
        for (line, expected) in [
            ("Hi Sarah,", vec!["Sarah"]),
            ("Hello, John!", vec!["John"]),
            ("Dear Mr Patel,", vec!["Mr Patel"]),
            ("Dear Mr. Patel,", vec!["Mr Patel"]),
            ("Hi Sarah. Thanks for the update", vec!["Sarah"]),
            ("Hallo Anna und Jonas,", vec!["Anna", "Jonas"]),
            ("Sehr geehrte Frau Müller,", vec!["Frau Müller"]),
            ("Chère Hélène,", vec!["Hélène"]),
            ("Bonjour Pierre,", vec!["Pierre"]),
            ("Hola María José:", vec!["María José"]),
            ("Buenos días Carmen,", vec!["Carmen"]),
            ("Good morning Mary Ann", vec!["Mary Ann"]),
            ("Hi Sarah/Tom,", vec!["Sarah", "Tom"]),
        ] {
            assert_eq!(
                names(line),
                Some(expected.iter().map(|s| s.to_string()).collect()),
                "{line}"
            );
        }
    }

    #[test]
    fn group_and_role_greetings_and_other_openings_give_none() {
        for line in [
            "Hi all,",
            "Hi All,",
            "Hello everyone!",
            "Hi team,",
            "Hi Team,",
            "Dear colleagues,",
            "Dear Sir or Madam,",
            "Dear Sir/Madam,",
            "Dear Hiring Manager,",
            "Hallo zusammen,",
            "Liebe Kolleginnen und Kollegen,",
            "Sehr geehrte Damen und Herren,",
            "Bonjour à tous,",
            "Madame, Monsieur,",
            "Hola a todos,",
            "Estimados señores:",
            "Hi there,",
            "Hello,",
            "hi sarah,",
            "High time we talked.",
            "Hey, quick question about the invoice",
            "Hi Sarah thanks for the update on the contract we talked about",
            "Thanks Sarah,",
            "Dear Customer,",
            "Hello World",
        ] {
            assert_eq!(names(line), None, "{line}");
        }
    }

    fn to(header: &str, body: &str) -> Vec<crate::finding::Finding> {
        check_rule(
            "salutation-mismatch",
            &eml(&format!(
                "From: Ann Lee <ann@example.org>\nTo: {header}\nSubject: s\n\n{body}\n"
            )),
        )
    }

    #[test]
    fn a_greeting_to_someone_else_fires() {
        let f = to("john.miller@example.com", "Hi Sarah,\n\nthe contract.\n");
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "the greeting names Sarah, who is not among the recipients (john.miller@example.com)"
        );
        assert_eq!(f[0].location.line, Some(5));
        assert_eq!(
            to("Raj Shah <r.shah@example.com>", "Dear Mr Patel,\n\nx").len(),
            1
        );
        assert_eq!(
            to("j.smith@example.com", "Hi Sarah,\n\nx").len(),
            1,
            "another initial"
        );
        assert_eq!(
            to("Jane B. Kim <jane.kim@example.com>", "Hi Ben,\n\nx").len(),
            1,
            "a middle initial is no first name"
        );
        assert_eq!(
            to("Kim, Jane B. <jkim@example.com>", "Hi Ben,\n\nx").len(),
            1,
            "nor after the comma"
        );
        assert_eq!(
            to(
                "Hans Weber <hw@example.de>",
                "Sehr geehrte Frau Müller,\n\nx"
            )
            .len(),
            1
        );
    }

    #[test]
    fn a_greeting_to_a_recipient_is_silent() {
        for (header, body) in [
            ("Sarah Jones <sj@example.com>", "Hi Sarah,"),
            ("sarah.jones@example.com", "Hi Sarah,"),
            ("s.jones@example.com", "Hi Sarah,"),
            ("S. Jones <sj@example.com>", "Hi Sarah,"),
            ("Jones, S. <sj@example.com>", "Hi Sarah,"),
            ("sarahj@example.com", "Hi Sarah,"),
            ("Christopher Lee <cl@example.com>", "Hi Chris,"),
            ("robert.king@example.com", "Hi Bob,"),
            ("Priya Patel <priya@example.com>", "Dear Mr Patel,"),
            ("ppatel@example.com", "Dear Ms Patel,"),
            ("Hélène Dubois <h.dubois@example.fr>", "Chère Hélène,"),
            ("helene.roux@example.fr", "Chère Hélène,"),
            ("john.doe@acme.example", "Hi Acme,"),
            ("eva.mueller@example.de", "Sehr geehrte Frau Müller,"),
            (
                "john.doe@example.com, Sarah Kay <sk@example.com>",
                "Hi Sarah,",
            ),
            (
                "john.doe@example.com, sarah.kay@example.com",
                "Hi John and Sarah,",
            ),
            (
                "Müller, Eva <eva.mueller@example.de>",
                "Sehr geehrte Frau Müller,",
            ),
        ] {
            assert_eq!(to(header, body), vec![], "{header}: {body}");
        }
    }

    #[test]
    fn silent_when_the_recipients_may_be_anyone() {
        for header in [
            "info@example.com",
            "jd@example.com",
            "jsmith@example.com",
            "trainer@consultancy.example",
            "Reception <mary@example.com>",
            "Reception <r@example.com>",
            "linux-kernel@lists.example.org",
            "dev-team@example.com",
            "Team: a@example.com, b@example.com;",
        ] {
            assert_eq!(to(header, "Hi Sarah,"), vec![], "{header}");
        }
        let many: Vec<String> = (b'a'..=b'k')
            .map(|c| format!("mark.{}x@example.com", c as char))
            .collect();
        assert_eq!(to(&many.join(", "), "Hi Sarah,"), vec![]);
        let config = "[rules.salutation-mismatch]\nmax_recipients = 20\n";
        let msg = eml(&format!(
            "From: a@example.org\nTo: {}\n\nHi Sarah,\n",
            many.join(", ")
        ));
        assert_eq!(
            check_rule_with(config, "salutation-mismatch", &msg).len(),
            1
        );
    }

    #[test]
    fn a_local_part_that_is_a_first_name_tells_that_person() {
        let f = to("tom@example.com", "Hi Sarah,");
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "the greeting names Sarah, who is not among the recipients (tom@example.com)"
        );
        assert_eq!(to("Tom <tom@example.com>", "Hi Sarah,").len(), 1);
        for (header, greeting) in [
            ("tom@example.com", "Hi Tom,"),
            ("tom@example.com", "Hi Thomas,"),
            ("tom@example.com", "Hi Tommy,"),
            // A surname, which may be his; a word that is no first name.
            ("tom@example.com", "Dear Mr Baker,"),
            ("tom@example.com", "Dear Dr Sarah Baker,"),
            ("tom@example.com", "Hi Acme,"),
            ("Sarah <tom@example.com>", "Hi Sarah,"),
            ("tom@example.com, anna@example.com", "Hi all,"),
            ("tom@example.com, anna@example.com", "Hi Tom and Anna,"),
            ("tom2@example.com", "Hi Sarah,"),
        ] {
            assert_eq!(to(header, greeting), vec![], "{header}: {greeting}");
        }
    }

    #[test]
    fn first_names_are_sorted_for_their_search() {
        assert!(FIRST_NAMES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_copy_to_the_senders_other_address_is_silent() {
        let msg = |from: &str| {
            eml(&format!(
                "From: {from}\nTo: Jonas Sterr <jonas.sterr@home.example>\n\nHallo Stoiko,\n"
            ))
        };
        let copy = msg("Jonas Sterr - Example <jsterr@work.example>");
        assert_eq!(check_rule("salutation-mismatch", &copy), vec![]);
        let other = msg("Anna Berg <anna@work.example>");
        assert_eq!(check_rule("salutation-mismatch", &other).len(), 1);
    }

    #[test]
    fn only_the_senders_own_opening_line_counts() {
        let quoted =
            "Sounds good.\n\nOn Mon, 1 Jan 2024, Sarah <s@x.example> wrote:\n> Hi Sarah,\n";
        assert_eq!(to("john.miller@example.com", quoted), vec![]);
        let forwarded =
            "---------- Forwarded message ---------\nFrom: Sarah <s@x.example>\n\nHi Sarah,\n";
        assert_eq!(to("john.miller@example.com", forwarded), vec![]);
        assert_eq!(
            to("john.miller@example.com", "Thanks.\n\nHi Sarah, later\n"),
            vec![]
        );
        let signed = "See you Monday.\n\n-- \nHi Sarah,\n";
        assert_eq!(to("john.miller@example.com", signed), vec![]);
    }

    #[cfg(feature = "history")]
    #[test]
    fn with_a_history_a_recipient_without_a_name_is_told_by_the_name_written_before() {
        let sent = "From: Ann Lee <ann@example.org>\nTo: Tom Baker <tb@example.com>\n\
                    Subject: s\nMessage-ID: <1@example.org>\n\nHi Tom,\n";
        let msg = |to: &str, greeting: &str| {
            eml(&format!(
                "From: Ann Lee <ann@example.org>\nTo: {to}\nSubject: s\n\n{greeting}\n\nx\n"
            ))
        };
        let (_dir, config) = crate::testing::history(&[sent]);
        let f = check_rule_with(
            &config,
            "salutation-mismatch",
            &msg("tb@example.com", "Hi Sarah,"),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "the greeting names Sarah, who is not among the recipients (tb@example.com: Tom \
             Baker in your sent mail)"
        );
        for (to, greeting) in [
            ("tb@example.com", "Hi Tom,"),
            ("tb@example.com", "Dear Mr Baker,"),
            // The message's own name counts, not the history's.
            ("Sarah <tb@example.com>", "Hi Sarah,"),
            // Never written to: may be anyone.
            ("ab@example.com", "Hi Sarah,"),
        ] {
            let f = check_rule_with(&config, "salutation-mismatch", &msg(to, greeting));
            assert_eq!(f, vec![], "{to}: {greeting}");
        }
        // Without a history, nothing tells who `tb@` is.
        let f = check_rule("salutation-mismatch", &msg("tb@example.com", "Hi Sarah,"));
        assert_eq!(f, vec![]);
        // The history's name comes before the first name an address
        // spells: `tom@` written to as Sarah Baker is Sarah.
        let (_other, config) = crate::testing::history(&[
            "From: Ann Lee <ann@example.org>\nTo: Sarah Baker <tom@example.com>\nMessage-ID: <2@x>\n\nx\n",
        ]);
        let f = check_rule_with(
            &config,
            "salutation-mismatch",
            &msg("tom@example.com", "Hi Sarah,"),
        );
        assert_eq!(f, vec![]);
    }

    #[cfg(feature = "history")]
    #[test]
    fn a_hashed_history_tells_a_recipient_by_the_hashes_of_its_name() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("history.sqlite");
        let key_file = dir.path().join("hash.key");
        std::fs::write(&key_file, "000102030405060708090a0b0c0d0e0f\n").expect("key");
        // The key in the file, as `history::hash_key` reads it.
        let key: [u8; 16] = std::array::from_fn(|i| i as u8);
        let history = crate::history::History::create(&path)
            .expect("index")
            .with_hash_key(Some(key))
            .expect("hashed");
        for (n, to) in [
            "Tom Baker <tb@example.com>",
            "Christopher Lee <cl@example.com>",
            "\"Smith, J.\" <js@example.com>",
            "Sales Team <st@example.com>",
            "Hélène Dubois <hd@example.fr>",
        ]
        .iter()
        .enumerate()
        {
            let sent = format!(
                "From: Ann Lee <ann@example.org>\nTo: {to}\nSubject: s\nMessage-ID: <{n}@example.org>\n\nx\n"
            );
            crate::history::learn_message(&history, &eml(&sent), sent.as_bytes(), None)
                .expect("learned");
        }
        let config = format!(
            "[history]\nindex = {:?}\nhash_key_file = {:?}\n",
            path.display().to_string(),
            key_file.display().to_string()
        );
        let check = |to: &str, greeting: &str| {
            let msg = eml(&format!(
                "From: Ann Lee <ann@example.org>\nTo: {to}\nSubject: s\n\n{greeting}\n\nx\n"
            ));
            check_rule_with(&config, "salutation-mismatch", &msg)
        };
        let f = check("tb@example.com", "Hi Sarah,");
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "the greeting names Sarah, who is not among the recipients (tb@example.com: another \
             name in your sent mail)"
        );
        assert_eq!(check("js@example.com", "Hi Sarah,").len(), 1);
        for (to, greeting) in [
            ("tb@example.com", "Hi Tom,"),
            ("tb@example.com", "Hi Tommy,"),
            ("tb@example.com", "Hi Thomas,"),
            ("tb@example.com", "Dear Mr Baker,"),
            ("cl@example.com", "Hi Chris,"),
            ("cl@example.com", "Hi Christopher,"),
            ("js@example.com", "Hi John,"),
            ("hd@example.fr", "Chère Hélène,"),
            // A role's name, and an address never written with a name.
            ("st@example.com", "Hi Sarah,"),
            ("zz@example.com", "Hi Sarah,"),
        ] {
            assert_eq!(check(to, greeting), vec![], "{to}: {greeting}");
        }
        // The index keeps hashes, never the name.
        let known = crate::history::Recall::known(&history, "tb@example.com").expect("known");
        assert_eq!(known.name, None);
        drop(history);
        let mut bytes = std::fs::read(&path).expect("index");
        bytes.extend(std::fs::read(dir.path().join("history.sqlite-wal")).unwrap_or_default());
        for word in [&b"baker"[..], b"Baker", b"christopher", b"tom"] {
            assert!(!bytes.windows(word.len()).any(|w| w == word));
        }
    }

    #[test]
    fn zero_recipients_is_refused() {
        assert!(
            crate::testing::option_error("salutation-mismatch", "max_recipients = 0").is_some()
        );
    }
}
