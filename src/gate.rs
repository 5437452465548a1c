//! Literal gates in front of large regexes.
//!
//! Compiling one of the big case-insensitive phrase regexes takes a few
//! milliseconds, longer than checking a whole ordinary message, and most
//! text contains none of the words such a regex needs. A gate lists words
//! one of which every match contains; text with none of them cannot match,
//! so the regex is neither run nor, for most messages, ever compiled. That
//! keeps a one-message check (before a send) well under 10 ms.

use aho_corasick::AhoCorasick;

/// A matcher for any of `words`, ASCII case-insensitively. The regexes
/// behind gates fold case by Unicode rules; the only letters that differ
/// (the long `ſ` and the Kelvin sign `K`) do not occur in these words'
/// real spellings.
pub(crate) fn words(words: &[&str]) -> AhoCorasick {
    build(words, true)
}

/// A matcher for any of `literals` exactly: for punctuation, where folding
/// case would only slow the search down.
pub(crate) fn literals(literals: &[&str]) -> Literals {
    match aho_corasick::packed::Config::new()
        .builder()
        .extend(literals)
        .build()
    {
        Some(searcher) => Literals::Packed(searcher),
        None => Literals::Automaton(build(literals, false)),
    }
}

/// Exact literals, searched with the SIMD (Teddy) searcher where the
/// processor has one. The automaton cannot skip ahead when a literal is a
/// single byte such as `[`, and reads a 45 MB address header 25 times
/// slower.
pub(crate) enum Literals {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl Literals {
    pub(crate) fn is_match(&self, text: &str) -> bool {
        match self {
            Literals::Packed(searcher) => searcher.find(text).is_some(),
            Literals::Automaton(automaton) => automaton.is_match(text),
        }
    }
}

// A handful of constant literals, built by every test run: `expect` cannot fail.
#[allow(clippy::expect_used)]
fn build(patterns: &[&str], ascii_case_insensitive: bool) -> AhoCorasick {
    AhoCorasick::builder()
        .ascii_case_insensitive(ascii_case_insensitive)
        .build(patterns)
        .expect("gate patterns are valid")
}
