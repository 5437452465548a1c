use super::shared::constant_regex;
use super::{Context, Rule, declare_rule, plural};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};
use crate::gate;
use crate::message::{BodyKind, BodyPart, line_in};
use regex::Regex;
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::{LazyLock, OnceLock};

declare_rule! {
    /// ## What it checks
    /// Merge fields a mail merge or template engine should have replaced,
    /// left in the subject, the headers or the body:
    ///
    /// - `{{ first_name }}`, `{{{ name }}}`, `{% if company %}` (Jinja,
    ///   Liquid, Handlebars, Mustache, HubL),
    /// - `*|FNAME|*` (Mailchimp) and `%%FirstName%%` (Marketing Cloud),
    /// - `${firstName}` (FreeMarker, Velocity, JavaScript) and `<<Name>>`,
    /// - `[firstname,fallback=there]` (Campaign Monitor, Sendy),
    /// - `«FirstName»` (Word mail merge; a word in French quotes is not one
    ///   unless it has a merge-field name, an `_` or an inner capital:
    ///   `«First_Name»`, `«AmountDue»`),
    /// - `[FirstName]`-style bracketed fields, only with a merge-field name:
    ///   FirstName, First_Name, `First Name`, FNAME, LastName, Surname, Name,
    ///   FullName, Email, Company, Organisation, JobTitle, Phone, City,
    ///   Country, Address, Postcode, Salutation, RecipientName, Username,
    ///   UnsubscribeLink... in any case or separator style. `[PATCH]`,
    ///   `[team]` list tags, `[1]` footnotes, `[sic]`, `d[name]` indexing and
    ///   Markdown links `[Email](mailto:...)` are not fields.
    ///
    /// In bulk mail (see `list-unsubscribe`) every such placeholder counts,
    /// everywhere in the message: HTML is read as its visible text and its
    /// links' and images' `href`, `src` and `alt`. In other mail, where `{{ ... }}` or
    /// `${HOME}` is more often code under discussion, only the text the
    /// sender wrote is read (not quoted history), and only placeholders with
    /// a merge-field name (the list above) count, except the unmistakable
    /// `*|...|*`, `%%...%%` and `[...,fallback=...]`.
    ///
    /// With `mode = "template"` the messages are templates and placeholders
    /// are expected: it is an error when `{{`/`}}` or `{%`/`%}` do not pair
    /// up, and when `allowed` is set, when a placeholder uses a variable not
    /// in it (`first_name` allows `first_name`; `user` allows `user.email`
    /// too; variables a template binds itself with `{% for x in ... %}`,
    /// `{% set x = ... %}`, `{% assign %}`, `{% capture %}` or `{{#each ...
    /// as |x|}}` are fine). Trace and structural headers (Received,
    /// DKIM-Signature, Content-Type, Message-ID, ...) are not read.
    ///
    /// ## Why it matters
    /// "Dear {{first_name}}," to ten thousand customers tells each of them
    /// the mail is a broken mass mailing, and spam filters agree. A misspelt
    /// variable in a template renders as nothing, or fails the send, only
    /// when it is too late.
    ///
    /// ## Example
    /// ```text
    /// Subject: *|FNAME|*, your May statement
    ///
    /// Hi {{ first_name }},
    /// ```
    ///
    /// ## How to fix
    /// Render the template before sending, or fix the merge field's name so
    /// that the mailing tool recognises it. For a repository of templates
    /// set `mode = "template"` and list the variables the sending system
    /// supplies in `allowed`.
    ///
    /// ## Options
    /// ```toml
    /// [rules.template-placeholder]
    /// mode = "rendered"   # or "template": the messages are templates
    /// allowed = []        # variables that may appear, e.g. ["first_name", "unsubscribe_url"];
    ///                     # in rendered mode, placeholders the mailing tool fills in later
    /// ```
    id: "template-placeholder",
    severity: Error,
    summary: "Unrendered merge fields ({{ name }}, %%Name%%, [FirstName], «FirstName», ...), or template errors in template mode",
    build: TemplatePlaceholder::build,
}

#[derive(Deserialize, Default, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Mode {
    #[default]
    Rendered,
    Template,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct TemplatePlaceholder {
    mode: Mode,
    allowed: Vec<String>,
}

impl TemplatePlaceholder {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        let rule: TemplatePlaceholder = settings.options()?;
        if let Some(bad) = rule.allowed.iter().find(|a| {
            a.is_empty()
                || !a
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | ':' | '@'))
        }) {
            return Err(OptionError::new(
                "allowed",
                format!("`{bad}` is not a variable name"),
            ));
        }
        Ok(Box::new(rule))
    }

    /// Template mode: whether a variable may appear.
    fn is_allowed(&self, name: &str, bound: &HashSet<String>) -> bool {
        let root = root_of(name);
        BUILTINS.contains(&root) || bound.contains(root) || self.in_allowed(name)
    }

    /// Whether `allowed` names the variable: `user` allows `user.email`;
    /// `user.email` allows itself.
    fn in_allowed(&self, name: &str) -> bool {
        self.allowed.iter().any(|a| {
            name == a
                || name
                    .strip_prefix(a.as_str())
                    .is_some_and(|rest| rest.starts_with(['.', '[']))
        })
    }
}

/// Names template languages define themselves.
const BUILTINS: &[&str] = &[
    "this", "loop", "forloop", "super", "true", "false", "none", "nil", "null", "blank", "empty",
    "self", "else",
];

/// Merge-field names, lowercased without `_`, `-`, `.` or spaces.
const FIELD_NAMES: &[&str] = &[
    "firstname",
    "fname",
    "forename",
    "givenname",
    "lastname",
    "lname",
    "surname",
    "familyname",
    "name",
    "fullname",
    "displayname",
    "nickname",
    "yourname",
    "email",
    "emailaddress",
    "company",
    "companyname",
    "yourcompany",
    "organisation",
    "organization",
    "orgname",
    "businessname",
    "jobtitle",
    "phone",
    "phonenumber",
    "mobile",
    "city",
    "country",
    "address",
    "postcode",
    "postalcode",
    "zipcode",
    "salutation",
    "recipient",
    "recipientname",
    "contactname",
    "customername",
    "clientname",
    "username",
    "unsubscribelink",
    "unsubscribeurl",
];

/// Whether a variable (its last dotted part) is a merge-field name.
fn is_field_name(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    let key: String = last
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' ' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    FIELD_NAMES.contains(&key.as_str())
}

/// `AmountDue`, `GreetingLine`: a lowercase letter followed by a capital.
fn is_camel_case(name: &str) -> bool {
    name.as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
}

/// The variable a placeholder is about, up to its first `.` or `[`.
fn root_of(name: &str) -> &str {
    name.split(['.', '[']).next().unwrap_or(name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Curly,
    Tag,
    Mailchimp,
    Percent,
    Bracket,
    Angle,
    Dollar,
    /// `[firstname,fallback=there]` (Campaign Monitor, Sendy).
    Fallback,
    /// `«FirstName»` (Word mail merge).
    Guillemet,
}

impl Syntax {
    /// Never anything but a merge field, whatever the name.
    fn unmistakable(self) -> bool {
        matches!(self, Syntax::Mailchimp | Syntax::Percent | Syntax::Fallback)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    text: String,
    name: Option<String>,
    /// Variables the placeholder binds (`{% for x in xs %}` binds `x`).
    binds: Vec<String>,
    syntax: Syntax,
    /// Byte offset in the scanned text.
    offset: usize,
}

/// Each placeholder syntax's pattern, in the order they are preferred where
/// two match at the same place, with the text every match of it holds.
const SYNTAXES: [(Syntax, &str, &str); 9] = [
    (Syntax::Curly, "{{", r"\{\{\{?[^{}\n]{0,120}\}\}\}?"),
    (Syntax::Tag, "{%", r"\{%[^%\n]{0,120}%\}"),
    (
        Syntax::Mailchimp,
        "*|",
        r"\*\|[A-Za-z0-9_:]{1,40}(?:[ :][^|*\n]{0,40})?\|\*",
    ),
    (
        Syntax::Percent,
        "%%",
        r"%%[A-Za-z_][A-Za-z0-9_.\-]{1,60}%%|%%=[^%\n]{1,80}=%%",
    ),
    (Syntax::Dollar, "${", r"\$\{[A-Za-z_][A-Za-z0-9_.]{0,60}\}"),
    (
        Syntax::Angle,
        "<<",
        r"<<[A-Za-z_][A-Za-z0-9_.\-]{0,40}(?: [A-Za-z0-9_.\-]{1,40}){0,2}>>",
    ),
    (
        Syntax::Fallback,
        "fallback=",
        r"\[[A-Za-z][A-Za-z0-9_ .\-]{0,30},\s*fallback=[^\]\n]{0,60}\]",
    ),
    (Syntax::Guillemet, "«", r"«[A-Za-z][A-Za-z0-9_]{0,40}»"),
    (
        Syntax::Bracket,
        "[",
        r"\[[A-Za-z][A-Za-z0-9_.\-]{0,30}(?: [A-Za-z0-9_.\-]{1,20}){0,2}\]",
    ),
];

/// [`SYNTAXES`]' patterns over bytes, each compiled the first time a text
/// holds its opening: most texts that may hold a placeholder hold one
/// syntax's (a `[Name]`), and the curly and percent patterns' bounded
/// repeats are most of the compiling (one pattern of all of them took 8.8 M
/// instructions to compile, a tenth of the rules' one-time work on the
/// HTML-heavy hard ham). The `[^...]` classes and the `\s` are written for
/// whole characters: the same matches in any text, from a quarter of the
/// instructions to compile (a Unicode `[^{}\n]{0,120}` is 120 copies of a
/// dozen UTF-8 states, in each direction).
static PATTERNS: [OnceLock<regex_automata::meta::Regex>; 9] = [const { OnceLock::new() }; 9];

/// The pattern of [`SYNTAXES`]' `n`th syntax.
fn pattern(n: usize) -> &'static regex_automata::meta::Regex {
    PATTERNS[n].get_or_init(|| over_bytes(SYNTAXES[n].2))
}

fn over_bytes(pattern: &str) -> regex_automata::meta::Regex {
    let mut pattern = pattern.replace(r"\s", r"(?u:\s)");
    for excluded in [r"{}\n", r"%\n", r"|*\n", r"\]\n"] {
        pattern = pattern.replace(&format!("[^{excluded}]"), &gate::any_char_but(excluded));
    }
    gate::bytes(&pattern)
}

/// The placeholders of every syntax in `text`, left to right, as one
/// pattern of all of them (each syntax an alternative, in order) finds
/// them (see [`gate::in_turns`]); a syntax whose opening the text lacks is
/// neither compiled nor run.
fn placeholders(text: &str) -> Vec<(Syntax, std::ops::Range<usize>)> {
    let held: Vec<(Syntax, &regex_automata::meta::Regex)> = (SYNTAXES.iter().enumerate())
        .filter(|(_, (_, opening, _))| text.contains(opening))
        .map(|(n, (syntax, ..))| (*syntax, pattern(n)))
        .collect();
    gate::in_turns(text, held.iter().map(|(_, re)| *re).collect())
        .map(|(n, found)| (held[n].0, found))
        .collect()
}

/// The opening of every [`SYNTAXES`] pattern but the bracketed
/// ones (see `gate.rs`), and the `fallback=` every `fallback` one holds.
static PLACEHOLDER_OPENINGS: LazyLock<gate::Literals> =
    LazyLock::new(|| gate::literals(&["{{", "{%", "*|", "%%", "${", "<<", "«", "fallback="]));

/// Whether a text may hold a placeholder [`scan`] keeps. A bare `[` opens
/// list tags, footnotes and quoted subjects in most mail, so a `bracket`
/// match counts here only as `scan` keeps it: a merge-field name between
/// `[` and `]`. Its name is all of the run of name characters after the
/// `[` (the `]` ends that run), so the run must be one.
fn may_hold_placeholder(text: &str) -> bool {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | ' ');
    PLACEHOLDER_OPENINGS.is_match(text)
        || memchr::memchr_iter(b'[', text.as_bytes()).any(|at| {
            // `[` is ASCII: `at + 1` is a character boundary.
            let rest = &text[at + 1..];
            let name = rest.find(|c| !is_name_char(c)).unwrap_or(rest.len());
            rest.starts_with(|c: char| c.is_ascii_alphabetic())
                && rest[name..].starts_with(']')
                && is_field_name(&rest[..name])
        })
}

/// The placeholders of each place, in order. Most messages have none in
/// any header, link or image: one search of their values together spares
/// each its own, which took 300 instructions a header (mostly setting up)
/// over 2,403 real messages, and as much for each of a newsletter's
/// hundreds of link addresses. A value a placeholder may be in makes the
/// block one too, whatever the values around it (see
/// [`may_hold_placeholder`]: no opening and no bracketed name holds a line
/// break, so none is made by two values side by side); a long value is
/// searched alone, not copied.
fn scan_places(places: &[Place<'_>]) -> Vec<Vec<Found>> {
    const TOGETHER: usize = 1024;
    let together = |p: &Place<'_>| p.text.len() <= TOGETHER;
    let size = places
        .iter()
        .filter(|p| together(p))
        .map(|p| p.text.len() + 1);
    let mut block = String::with_capacity(size.sum());
    for place in places.iter().filter(|p| together(p)) {
        block.push_str(place.text);
        block.push('\n');
    }
    let block_may_hold = may_hold_placeholder(&block);
    places
        .iter()
        .map(|p| {
            if together(p) && !block_may_hold {
                Vec::new()
            } else {
                scan(p.text)
            }
        })
        .collect()
}

/// The leading variable path of an expression: `user.first_name | upper`
/// -> `user.first_name`.
static PATH: LazyLock<Regex> = LazyLock::new(|| {
    constant_regex(r"^[A-Za-z_@][A-Za-z0-9_@]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]]{0,40}\])*")
});

fn path(expr: &str) -> Option<String> {
    let expr = expr.trim_start();
    let expr = expr.trim_start_matches("../");
    PATH.find(expr)
        .map(|m| m.as_str().to_string())
        .filter(|p| !p.starts_with('@'))
}

/// The variable of a `{{ ... }}` expression, and any name it binds
/// (`{{#each items as |item|}}`).
fn curly_name(inner: &str) -> (Option<String>, Vec<String>) {
    let inner = inner.trim_matches(|c: char| c == '{' || c == '}' || c.is_whitespace());
    let inner = inner.trim_start_matches(['-', '~', '&']).trim_start();
    let mut bound = Vec::new();
    let name = match inner.chars().next() {
        None | Some('!' | '/' | '>') => None,
        Some('#' | '^') => {
            let rest = inner[1..].trim_start();
            let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            if let Some((_, alias)) = args.split_once(" as ") {
                bound.extend(
                    alias
                        .split(|c: char| c == '|' || c.is_whitespace())
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                );
            }
            if matches!(word, "if" | "unless" | "each" | "with") {
                path(args)
            } else {
                path(word)
            }
        }
        _ => path(inner).filter(|p| p != "else"),
    };
    (name, bound)
}

/// The variable a `{% ... %}` tag reads, and the name it binds.
fn tag_name(inner: &str) -> (Option<String>, Vec<String>) {
    let inner = inner
        .trim_start_matches("{%")
        .trim_end_matches("%}")
        .trim_matches(|c: char| c == '-' || c == '~' || c.is_whitespace());
    let words: Vec<&str> = inner.split_whitespace().collect();
    match words.as_slice() {
        ["if" | "elif" | "elsif" | "unless", rest @ ..] => {
            (rest.first().and_then(|w| path(w)), Vec::new())
        }
        ["for", rest @ ..] => {
            // `for x in seq`, `for k, v in seq`, `for item in items limit:3`.
            let Some(at) = rest.iter().position(|w| *w == "in") else {
                return (None, Vec::new());
            };
            let bound = rest[..at]
                .iter()
                .flat_map(|v| v.split(','))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .collect();
            (rest.get(at + 1).and_then(|seq| path(seq)), bound)
        }
        ["set" | "assign" | "capture", var, ..] => {
            let var = var.split('=').next().unwrap_or(var);
            (None, vec![var.to_string()])
        }
        _ => (None, Vec::new()),
    }
}

/// The placeholders in a text.
fn scan(text: &str) -> Vec<Found> {
    let mut out = Vec::new();
    if !may_hold_placeholder(text) {
        return out;
    }
    for (syntax, m) in placeholders(text) {
        let s = &text[m.clone()];
        let mut binds = Vec::new();
        let name = match syntax {
            Syntax::Curly => {
                let (name, bound) = curly_name(s);
                binds = bound;
                name
            }
            Syntax::Tag => {
                let (name, bound) = tag_name(s);
                binds = bound;
                name
            }
            Syntax::Mailchimp => {
                let inner = &s[2..s.len() - 2];
                let inner = inner
                    .strip_prefix("IF:")
                    .or_else(|| inner.strip_prefix("ELSEIF:"))
                    .unwrap_or(inner);
                (!inner.starts_with("END:") && inner != "ELSE:")
                    .then(|| inner.split([' ', ':']).next().unwrap_or(inner).to_string())
            }
            Syntax::Percent => {
                let inner = &s[2..s.len() - 2];
                (!inner.starts_with('=')).then(|| inner.to_string())
            }
            Syntax::Dollar => Some(s[2..s.len() - 1].to_string()),
            Syntax::Angle => {
                // `<<<x>>` or `a<<b>>c` is code, not a field.
                let before = text[..m.start].chars().next_back();
                let after = text[m.end..].chars().next();
                if before.is_some_and(|c| c == '<' || c.is_alphanumeric())
                    || after.is_some_and(|c| c == '>' || c.is_alphanumeric())
                {
                    continue;
                }
                Some(s[2..s.len() - 2].to_string())
            }
            Syntax::Fallback => Some(s[1..].split(',').next().unwrap_or("").trim().to_string()),
            Syntax::Guillemet => {
                let inner = s.trim_start_matches('«').trim_end_matches('»');
                // French quotes a word as « mot »: a field is written without
                // spaces, and named like one (`«First_Name»`, `«AddressBlock»`).
                if !(is_field_name(inner) || inner.contains('_') || is_camel_case(inner)) {
                    continue;
                }
                Some(inner.to_string())
            }
            Syntax::Bracket => {
                let inner = &s[1..s.len() - 1];
                let before = text[..m.start].chars().next_back();
                let after = text[m.end..].chars().next();
                // Indexing (`d[name]`, `x)[name]`), Markdown links and
                // reference definitions (`[Email](...)`, `[Name]: ...`), and
                // names that are not merge fields are not placeholders.
                if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | ']' | ')'))
                    || after.is_some_and(|c| matches!(c, '(' | '[' | ':'))
                    || !is_field_name(inner)
                {
                    continue;
                }
                Some(inner.to_string())
            }
        };
        out.push(Found {
            text: s.to_string(),
            name,
            binds,
            syntax,
            offset: m.start,
        });
    }
    out
}

/// The first `{{`/`}}` or `{%`/`%}` that does not pair up, with its byte
/// offset.
fn unbalanced(text: &str) -> Option<(usize, &'static str)> {
    let bytes = text.as_bytes();
    // The open delimiter and where it was.
    let mut open: Option<(&'static str, usize)> = None;
    let mut i = 0;
    while i + 1 < bytes.len() {
        let pair = &bytes[i..i + 2];
        let found: Option<(&'static str, bool)> = match pair {
            b"{{" => Some(("{{", true)),
            b"{%" => Some(("{%", true)),
            b"}}" => Some(("}}", false)),
            b"%}" => Some(("%}", false)),
            _ => None,
        };
        let Some((delim, opening)) = found else {
            i += 1;
            continue;
        };
        if opening {
            if let Some((prev, at)) = open {
                return Some((
                    at,
                    if prev == "{{" {
                        "`{{` without `}}`"
                    } else {
                        "`{%` without `%}`"
                    },
                ));
            }
            open = Some((delim, i));
            i += 2;
            // `{{{ raw }}}`.
            while bytes.get(i) == Some(&b'{') {
                i += 1;
            }
        } else {
            let expected = if delim == "}}" { "{{" } else { "{%" };
            match open {
                Some((o, _)) if o == expected => open = None,
                Some((o, at)) => {
                    return Some((
                        at,
                        if o == "{{" {
                            "`{{` closed by `%}`"
                        } else {
                            "`{%` closed by `}}`"
                        },
                    ));
                }
                None => {
                    return Some((
                        i,
                        if delim == "}}" {
                            "`}}` without `{{`"
                        } else {
                            "`%}` without `{%`"
                        },
                    ));
                }
            }
            i += 2;
            while bytes.get(i) == Some(&b'}') {
                i += 1;
            }
        }
    }
    open.map(|(o, at)| {
        (
            at,
            if o == "{{" {
                "`{{` without `}}`"
            } else {
                "`{%` without `%}`"
            },
        )
    })
}

/// Headers that are trace or structure, never template output. Asked of
/// every header of every message: the first letter picks the few names
/// to compare (most headers start with none of these letters' names).
fn skipped_header(name: &str) -> bool {
    let starts_with = |prefix: &str| {
        name.get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    };
    let is = |names: &[&str]| names.iter().any(|n| name.eq_ignore_ascii_case(n));
    match name.as_bytes().first().map(u8::to_ascii_lowercase) {
        Some(b'a') => starts_with("arc-") || is(&["authentication-results"]),
        Some(b'c') => starts_with("content-"),
        Some(b'd') => is(&["dkim-signature", "domainkey-signature", "date"]),
        Some(b'i') => is(&["in-reply-to"]),
        Some(b'm') => is(&["mime-version", "message-id"]),
        Some(b'r') => is(&["received", "received-spf", "references"]),
        Some(b'x') => starts_with("x-google-") || is(&["x-maillint-allow"]),
        _ => false,
    }
}

/// One place of the message that was read, and what to call it.
struct Place<'m> {
    text: &'m str,
    location: Where<'m>,
    /// The part the scanned text is from, to turn the first finding's
    /// offset into its line.
    part: Option<&'m BodyPart>,
    /// For text that is not the part's own text (HTML's visible text, an
    /// attribute): the part's source, to look the placeholder up in.
    html_source: Option<&'m str>,
    /// A fixed line (headers, links).
    line: Option<usize>,
}

/// Where a place is: made into a [`Location`] only for a place with
/// findings, not for each of the headers of every message.
#[derive(Clone, Copy)]
enum Where<'m> {
    Header(&'m str, Option<usize>),
    Part(&'static str, Option<usize>),
}

impl Where<'_> {
    fn location(self) -> Location {
        match self {
            Where::Header(name, line) => Location::header(name, line),
            Where::Part(mime_type, line) => Location::part(mime_type, line),
        }
    }
}

impl Place<'_> {
    fn line_of(&self, found: &str, offset: usize) -> Option<usize> {
        if let Some(line) = self.line {
            return Some(line);
        }
        let part = self.part?;
        match self.html_source {
            Some(source) => source
                .find(found)
                .map_or(part.line, |at| part.source_line(line_in(source, at))),
            None => part.line_of(self.text.get(offset..).unwrap_or_default()),
        }
    }
}

/// The places to read: the subject and other headers, then the body
/// (everything in bulk mail and templates, what the sender wrote otherwise).
fn places<'m>(cx: &Context<'m>, everything: bool) -> Vec<Place<'m>> {
    let msg = cx.message;
    let mut out = Vec::with_capacity(msg.headers().size_hint().0 + msg.body.len());
    for h in msg.headers() {
        if skipped_header(h.name) {
            continue;
        }
        out.push(Place {
            text: h.value,
            location: Where::Header(h.name, h.line),
            part: None,
            html_source: None,
            line: h.line,
        });
    }
    if !everything {
        for part in msg.readable_parts() {
            out.push(Place {
                text: part.authored(),
                location: Where::Part(part.mime_type(), part.line),
                part: Some(part),
                html_source: None,
                line: None,
            });
        }
        return out;
    }
    for part in &msg.body {
        let location = Where::Part(part.mime_type(), part.line);
        match (part.kind, part.html()) {
            (BodyKind::Html, Some(view)) => {
                out.push(Place {
                    text: (view.text.as_str()),
                    location,
                    part: Some(part),
                    html_source: Some(&part.text),
                    line: None,
                });
                let attributes = view.links.iter().map(|l| (l.href.as_str(), l.line)).chain(
                    view.images.iter().flat_map(|i| {
                        [
                            (i.src.as_str(), i.line),
                            (i.alt.as_deref().unwrap_or(""), i.line),
                        ]
                    }),
                );
                for (value, line) in attributes {
                    if value.is_empty() {
                        continue;
                    }
                    out.push(Place {
                        text: (value),
                        location,
                        part: Some(part),
                        html_source: None,
                        line: part.source_line(line),
                    });
                }
            }
            _ => out.push(Place {
                text: (part.text.as_str()),
                location,
                part: Some(part),
                html_source: None,
                line: None,
            }),
        }
    }
    out
}

/// `{{ first_name }}`, shortened for a finding.
fn show(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    format!("`{out}`")
}

/// Findings of one kind, merged per location: count, first line, examples.
struct Report {
    location: Location,
    count: u64,
    examples: Vec<String>,
}

/// Adds a finding to the report of its place. A place's findings arrive
/// together, so only the last report can be the same place; the line is
/// looked up once, for the first finding of a place.
fn merge(
    reports: &mut Vec<Report>,
    location: &Location,
    line: impl FnOnce() -> Option<usize>,
    example: String,
) {
    let same =
        |r: &Report| r.location.header == location.header && r.location.part == location.part;
    if let Some(r) = reports.last_mut().filter(|r| same(r)) {
        r.count += 1;
        if r.examples.len() < 3 && !r.examples.contains(&example) {
            r.examples.push(example);
        }
        return;
    }
    let mut location = location.clone();
    location.line = line().or(location.line);
    reports.push(Report {
        location,
        count: 1,
        examples: vec![example],
    });
}

/// One error finding per merged report, worded by `message`.
fn push_reports(
    out: &mut Vec<Diagnostic>,
    reports: Vec<Report>,
    message: impl Fn(&Report) -> String,
    help: &'static str,
) {
    for r in reports {
        let message = message(&r);
        out.push(Diagnostic::new(Severity::Error, message, r.location).help(help));
    }
}

fn describe_place(location: &Location) -> String {
    match (&location.header, &location.part) {
        (Some(h), _) => h.clone(),
        (None, Some(p)) => format!("the {p} body"),
        (None, None) => "the message".into(),
    }
}

impl Rule for TemplatePlaceholder {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let template = self.mode == Mode::Template;
        let bulk = template || cx.is_bulk();
        let places = places(cx, bulk);
        let scanned = scan_places(&places);

        if template {
            let mut broken = Vec::new();
            for place in &places {
                if let Some((offset, what)) = unbalanced(place.text) {
                    let fragment: String = place.text[offset..]
                        .chars()
                        .take_while(|c| *c != '\n')
                        .take(30)
                        .collect();
                    merge(
                        &mut broken,
                        &place.location.location(),
                        || place.line_of(&fragment, offset),
                        format!("{what} at {}", show(fragment.trim_end())),
                    );
                }
            }
            push_reports(
                out,
                broken,
                |r| {
                    format!(
                        "unbalanced template delimiters in {}: {}",
                        describe_place(&r.location),
                        r.examples.join("; ")
                    )
                },
                "close every `{{` with `}}` and every `{%` with `%}`",
            );
            if self.allowed.is_empty() {
                return;
            }
            let bound: HashSet<String> = scanned
                .iter()
                .flatten()
                .flat_map(|f| f.binds.iter().cloned())
                .collect();
            let mut unknown = Vec::new();
            for (place, found) in places.iter().zip(&scanned) {
                for f in found {
                    let Some(name) = &f.name else { continue };
                    if self.is_allowed(name, &bound) {
                        continue;
                    }
                    merge(
                        &mut unknown,
                        &place.location.location(),
                        || place.line_of(&f.text, f.offset),
                        format!("`{}` in {}", root_of(name), show(&f.text)),
                    );
                }
            }
            push_reports(
                out,
                unknown,
                |r| {
                    format!(
                        "{} not in `allowed` in {}: {}",
                        plural(r.count, "template variable", "template variables"),
                        describe_place(&r.location),
                        r.examples.join(", ")
                    )
                },
                "fix the variable's name, or add it to `allowed` in [rules.template-placeholder] if the sending system supplies it",
            );
            return;
        }

        let mut reports = Vec::new();
        for (place, found) in places.iter().zip(&scanned) {
            for f in found {
                let counts = f.syntax.unmistakable()
                    || (bulk && f.syntax != Syntax::Bracket)
                    || f.name.as_deref().is_some_and(is_field_name);
                if !counts || f.name.as_deref().is_some_and(|n| self.in_allowed(n)) {
                    continue;
                }
                merge(
                    &mut reports,
                    &place.location.location(),
                    || place.line_of(&f.text, f.offset),
                    show(&f.text),
                );
            }
        }
        push_reports(
            out,
            reports,
            |r| {
                format!(
                    "{} in {}: {}",
                    plural(r.count, "unrendered merge field", "unrendered merge fields"),
                    describe_place(&r.location),
                    r.examples.join(", ")
                )
            },
            "render the template before sending, or fix the field's name so the mailing tool fills it in",
        );
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn documented_options_are_the_defaults() {
        assert_eq!(
            crate::testing::documented_options::<super::TemplatePlaceholder>(&super::RULE),
            super::TemplatePlaceholder::default()
        );
    }
    use super::{SYNTAXES, Syntax, may_hold_placeholder, placeholders, scan, unbalanced};
    use crate::finding::Severity;
    use crate::testing::{check_rule, check_rule_with, eml, option_error};

    fn names(text: &str) -> Vec<(Syntax, Option<String>)> {
        scan(text).into_iter().map(|f| (f.syntax, f.name)).collect()
    }

    #[test]
    fn finds_every_syntax() {
        let found = names(
            "Hi {{ first_name | default('there') }} {{{raw}}} {% if company %} *|FNAME|* *|IF:LNAME|* %%FirstName%% ${user.firstName} <<First Name>> [FirstName] [first_name]",
        );
        assert_eq!(
            found,
            [
                (Syntax::Curly, Some("first_name".into())),
                (Syntax::Curly, Some("raw".into())),
                (Syntax::Tag, Some("company".into())),
                (Syntax::Mailchimp, Some("FNAME".into())),
                (Syntax::Mailchimp, Some("LNAME".into())),
                (Syntax::Percent, Some("FirstName".into())),
                (Syntax::Dollar, Some("user.firstName".into())),
                (Syntax::Angle, Some("First Name".into())),
                (Syntax::Bracket, Some("FirstName".into())),
                (Syntax::Bracket, Some("first_name".into())),
            ]
        );
    }

    #[test]
    fn fallback_fields_and_word_merge_fields() {
        assert_eq!(
            names(
                "Hi [firstname,fallback=there], [Name, fallback=] «First_Name» «AddressBlock» «Name»"
            ),
            [
                (Syntax::Fallback, Some("firstname".into())),
                (Syntax::Fallback, Some("Name".into())),
                (Syntax::Guillemet, Some("First_Name".into())),
                (Syntax::Guillemet, Some("AddressBlock".into())),
                (Syntax::Guillemet, Some("Name".into())),
            ]
        );
        // Words in French quotes are not fields.
        for text in [
            "le titre «Printemps»",
            "« notre équipe »",
            "«Lyon»",
            "«l'atelier»",
        ] {
            assert!(scan(text).is_empty(), "{text}: {:?}", scan(text));
        }
        // In personal mail only merge-field names count, and fallbacks always.
        let letter = eml(
            "From: a@example.org\nTo: b@example.net\nSubject: =?utf-8?q?Renewal=2C_=C2=ABFirst=5FName=C2=BB?=\n\nDear «Title» «Last_Name»,\nHi [company,fallback=friend]\n",
        );
        let f = check_rule("template-placeholder", &letter);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(f[0].location.header.as_deref(), Some("Subject"));
        assert_eq!(
            f[1].message,
            "2 unrendered merge fields in the text/plain body: `«Last_Name»`, `[company,fallback=friend]`"
        );
        assert_eq!(f[1].location.line, Some(5));
    }

    #[test]
    fn brackets_need_a_field_name() {
        for text in [
            "[PATCH v2] fix",
            "[team] standup",
            "see [1] and [sic]",
            "value = d[name]",
            "[Email](mailto:a@example.com)",
            "[Name]: https://example.com",
            "[Unsubscribe] [View online]",
            "[email protected]",
            "cout << x >> y; a<<b>>c",
        ] {
            assert!(scan(text).is_empty(), "{text}: {:?}", scan(text));
        }
        assert_eq!(scan("Dear [First Name],").len(), 1);
        assert_eq!(scan("Dear [NAME],").len(), 1);
    }

    /// The placeholders one Unicode pattern of all the syntaxes finds, each
    /// syntax a group, in order.
    fn as_one_pattern(text: &str) -> Vec<(Syntax, std::ops::Range<usize>)> {
        static ALL: std::sync::LazyLock<regex_automata::meta::Regex> =
            std::sync::LazyLock::new(|| {
                let all = (SYNTAXES.iter())
                    .map(|(_, _, pattern)| format!("({pattern})"))
                    .collect::<Vec<_>>()
                    .join("|");
                crate::gate::gated(&all)
            });
        ALL.captures_iter(text)
            .filter_map(|c| {
                let group = (1..c.group_len()).find(|&g| c.get_group(g).is_some())?;
                Some((SYNTAXES[group - 1].0, c.get_match()?.range()))
            })
            .collect()
    }

    /// The patterns over bytes, one at a time, find what one Unicode
    /// pattern of all of them finds, each syntax a group, where characters
    /// of two to four bytes are counted.
    #[test]
    fn the_patterns_over_bytes_count_characters_and_take_turns() {
        let many = |c: &str, n: usize| c.repeat(n);
        let texts = [
            "{{ prénom }} and {% if société %} *|NAME é|* %%=é=%%".to_string(),
            format!("{{{{{}}}}}", many("é", 120)),
            format!("{{{{{}}}}} {{{{x}}}}", many("é", 121)),
            format!("{{{{{}}}}} {{{{x}}}}", many("名", 121)),
            format!("%%={}=%% %%={}=%%", many("ü", 80), many("ü", 81)),
            format!(
                "*|NAME {}|* *|NAME {}|*",
                many("\u{1F600}", 40),
                many("\u{1F600}", 41)
            ),
            format!(
                "[Name,\u{a0}fallback={}] [Name,\u{3000}fallback={}]",
                many("é", 60),
                many("é", 61)
            ),
            "{{ a\u{2028}b }} «Prénom» «First_Name» [Prénom] [Name]».".to_string(),
            "x\u{1F600}{{name}}\u{85}${user} <<Name>>\u{a0}[First Name]".to_string(),
            // Syntaxes overlapping, nested and side by side: the earlier
            // match wins, then the first syntax of those at one place.
            "[Name,fallback=[First Name]] {{[Name]}} [[Name]] {%[x]%} <<[Name]>>".to_string(),
            "{{ *|FNAME|* }} *|{{x}}|* %%[Name]%% ${[Name]} «[Name]» [Name]«x»".to_string(),
        ];
        for text in &texts {
            let expected = as_one_pattern(text);
            assert!(!expected.is_empty(), "{text}");
            assert_eq!(placeholders(text), expected, "{text}");
        }
    }

    proptest::proptest! {
        /// On text made of the syntaxes' pieces, the patterns taking turns
        /// find what one pattern of all of them finds.
        #[test]
        fn the_patterns_take_turns_as_one_pattern_finds(
            pieces in proptest::collection::vec(proptest::sample::select(&[
                "{{", "}}", "{%", "%}", "*|", "|*", "%%", "%%=", "=%%", "${", "}", "<<", ">>",
                "[", "]", ",fallback=", "«", "»", "Name", "x", " ", "é", "\n", ":", "_",
            ][..]), 0..30),
        ) {
            let text = pieces.concat();
            proptest::prop_assert_eq!(placeholders(&text), as_one_pattern(&text));
        }
    }

    #[test]
    fn the_gate_lets_through_every_placeholder_scan_keeps() {
        for text in [
            "Dear [First Name],",
            "Dear [NAME],",
            "Hi [f_i-r s t_name]!",
            "[crm.contact.Email]",
            "x [[Surname]] y",
            "«Last_Name»",
            "Hi [firstname,fallback=there]",
            "{{ name }}",
            "{% if company %}",
            "*|FNAME|*",
            "%%FirstName%%",
            "${user}",
            "<<Name>>",
        ] {
            assert!(!scan(text).is_empty(), "{text}");
            assert!(may_hold_placeholder(text), "{text}");
        }
        // A `[` without a merge-field name after it is not read further.
        for text in [
            "[PATCH v2] fix",
            "Re: [team] standup",
            "see [1] and [sic]",
            "[Unsubscribe] [View online] [",
            "[Name",
            "[Naïve]",
        ] {
            assert!(!may_hold_placeholder(text), "{text}");
        }
    }

    fn header_places(values: &[String]) -> Vec<super::Place<'_>> {
        values
            .iter()
            .map(|v| super::Place {
                text: v,
                location: super::Where::Header("X-Test", None),
                part: None,
                html_source: None,
                line: None,
            })
            .collect()
    }

    proptest::proptest! {
        /// Places searched together (headers here; links and images are
        /// batched alike) find what each searched alone finds.
        #[test]
        fn places_together_find_what_each_finds(
            values in proptest::collection::vec(
                "(?:[{}%*|$<>\\[\\], =a-z\n]|«|Name|Email|fallback=|\\[Email\\]|\\{\\{x\\}\\}){0,8}",
                0..6,
            ),
            long in proptest::option::of(0usize..6),
        ) {
            let mut values = values;
            if let Some(at) = long.filter(|&at| at < values.len()) {
                values[at].insert_str(0, &"x".repeat(1100));
            }
            let places = header_places(&values);
            let alone: Vec<_> = places.iter().map(|p| scan(p.text)).collect();
            proptest::prop_assert_eq!(super::scan_places(&places), alone);
        }
    }

    #[test]
    fn placeholders_in_one_header_among_many_and_in_a_long_one() {
        let msg = |header: &str| {
            eml(&format!(
                "From: a@org.example\nTo: b@org.example\nX-Mailer: x [1] <<\nSubject: [list] hi\n{header}\n\nHi\n"
            ))
        };
        let f = check_rule("template-placeholder", &msg("X-Campaign: *|FNAME|*"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].location.header.as_deref(), Some("X-Campaign"));
        let long = format!("X-Note: {} %%FirstName%%", "word ".repeat(300));
        let f = check_rule("template-placeholder", &msg(&long));
        assert_eq!(f[0].location.header.as_deref(), Some("X-Note"));
        assert!(check_rule("template-placeholder", &msg("X-Campaign: none")).is_empty());
    }

    #[test]
    fn trace_and_structure_headers_are_skipped() {
        for name in [
            "Received",
            "DKIM-Signature",
            "DomainKey-Signature",
            "Authentication-Results",
            "Received-SPF",
            "MIME-Version",
            "Message-ID",
            "References",
            "In-Reply-To",
            "Date",
            "X-Maillint-Allow",
            "ARC-Seal",
            "arc-",
            "Content-Type",
            "CONTENT-TRANSFER-ENCODING",
            "X-Google-Smtp-Source",
        ] {
            assert!(super::skipped_header(name), "{name}");
            assert!(super::skipped_header(&name.to_lowercase()), "{name}");
        }
        for name in [
            "",
            "Subject",
            "From",
            "To",
            "Cc",
            "Reply-To",
            "Return-Path",
            "X-Mailer",
            "Arc",
            "Content",
            "Dates",
            "Receiveds",
            "Delivery-Date",
            "Mailing-List",
            "Importance",
            "\u{e9}",
            "X-Google",
        ] {
            assert!(!super::skipped_header(name), "{name}");
        }
    }

    #[test]
    fn delimiters_pair_up() {
        assert_eq!(
            unbalanced("Hi {{ name }}, {% if x %}y{% endif %} {{{raw}}}"),
            None
        );
        assert!(unbalanced("Hi {{ name }").is_some());
        assert!(unbalanced("Hi { name }}").is_some());
        assert!(unbalanced("{% if x }}").is_some());
        assert!(unbalanced("{{ a {{ b }}").is_some());
    }

    const SENT: &str = "From: News <news@example.com>\nTo: ann@example.net\nSubject: *|FNAME|*, May news\nPrecedence: bulk\n\nHi {{ first_name }},\n\n[FirstName] [PATCH] ${HOME}\n";

    #[test]
    fn reports_per_place_with_lines() {
        let f = check_rule("template-placeholder", &eml(SENT));
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(f[0].location.header.as_deref(), Some("Subject"));
        assert_eq!(f[0].location.line, Some(3));
        assert!(f[1].message.starts_with("3 unrendered merge fields in the text/plain body: `{{ first_name }}`, `[FirstName]`, `${HOME}`"), "{}", f[1].message);
        assert_eq!(f[1].location.line, Some(6));
    }

    #[test]
    fn personal_mail_counts_only_merge_field_names_in_new_text() {
        let code = eml(
            "From: a@example.com\nTo: b@example.net\nSubject: template question\n\nUse {{ form.as_p }} and ${RPM_BUILD_ROOT}; {% for x in items %}.\n\nOn Mon, Ann wrote:\n> Hi {{ first_name }}\n",
        );
        assert!(check_rule("template-placeholder", &code).is_empty());
        let merge = eml(
            "From: a@example.com\nTo: b@example.net\nSubject: hello\n\nDear {{ first_name }},\n",
        );
        assert_eq!(check_rule("template-placeholder", &merge).len(), 1);
        let mc = eml("From: a@example.com\nTo: b@example.net\nSubject: hello\n\nHi *|MERGE7|*\n");
        assert_eq!(check_rule("template-placeholder", &mc).len(), 1);
    }

    #[test]
    fn html_text_and_links_are_read() {
        let msg = eml(
            "From: a@example.com\nTo: b@example.net\nSubject: hi\nPrecedence: bulk\nContent-Type: text/html\n\n<p>Hi &lbrace;&lbrace;name&rbrace;&rbrace;</p>\n<a href=\"https://example.com/u?id={{ id }}\">Unsubscribe</a>\n",
        );
        let f = check_rule("template-placeholder", &msg);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].message.starts_with(
                "2 unrendered merge fields in the text/html body: `{{name}}`, `{{ id }}`"
            ),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].location.line, Some(7));
    }

    #[test]
    fn a_placeholder_in_one_link_among_many_and_none_made_by_two() {
        let msg = |links: &str| {
            eml(&format!(
                "From: a@example.com\nTo: b@example.net\nSubject: hi\nPrecedence: bulk\nContent-Type: text/html\n\n<p>Hi</p>\n{links}\n"
            ))
        };
        let f = check_rule(
            "template-placeholder",
            &msg(
                "<a href=\"https://example.com/a\">a</a>\n<a href=\"https://example.com/b?u=%%FirstName%%\">b</a>\n<img src=\"https://example.com/c.png\" alt=\"c\">",
            ),
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("`%%FirstName%%`"), "{}", f[0].message);
        assert_eq!(f[0].location.line, Some(9));
        // `{` ending one value and `{` starting the next are no opening.
        let split = msg("<a href=\"https://example.com/a{\">a</a><a href=\"{x}}\">b</a>");
        assert!(check_rule("template-placeholder", &split).is_empty());
    }

    const TEMPLATE: &str = "[rules.template-placeholder]\nmode = \"template\"\nallowed = [\"first_name\", \"user\", \"unsubscribe_url\", \"items\"]\n";

    #[test]
    fn template_mode_checks_delimiters_and_names() {
        let good = eml(
            "From: a@example.com\nTo: b@example.net\nSubject: Hi {{ first_name }}\n\n{{ user.email }} {% for item in items %}{{ item.title }}{% endfor %} {{ loop.index }}\n",
        );
        assert!(check_rule_with(TEMPLATE, "template-placeholder", &good).is_empty());
        let bad = eml(
            "From: a@example.com\nTo: b@example.net\nSubject: Hi {{ firstname }}\n\nHello {{ first_name }\n",
        );
        let f = check_rule_with(TEMPLATE, "template-placeholder", &bad);
        assert_eq!(f.len(), 2, "{f:?}");
        // In the order of the lines: the Subject first.
        assert_eq!(
            f[0].message,
            "1 template variable not in `allowed` in Subject: `firstname` in `{{ firstname }}`"
        );
        assert!(
            f[1].message
                .starts_with("unbalanced template delimiters in the text/plain body"),
            "{}",
            f[1].message
        );
        assert_eq!(f[1].location.line, Some(5));
        let no_names = "[rules.template-placeholder]\nmode = \"template\"\n";
        let f = check_rule_with(no_names, "template-placeholder", &bad);
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn allowed_names_stay_in_rendered_mode_and_options_are_checked() {
        let config = "[rules.template-placeholder]\nallowed = [\"FNAME\"]\n";
        let msg = eml("From: a@example.com\nTo: b@example.net\nSubject: *|FNAME|*\n\nhi\n");
        assert!(check_rule_with(config, "template-placeholder", &msg).is_empty());
        for bad in [
            "mode = \"draft\"\n",
            "allowed = [\"a b\"]\n",
            "alowed = []\n",
        ] {
            assert!(option_error("template-placeholder", bad).is_some(), "{bad}");
        }
    }
}
