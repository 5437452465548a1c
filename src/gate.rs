//! Literal gates in front of large regexes.
//!
//! Compiling one of the big case-insensitive phrase regexes takes a few
//! milliseconds, longer than checking a whole ordinary message, and most
//! text contains none of the words such a regex needs. A gate lists words
//! one of which every match contains; text with none of them cannot match,
//! so the regex is neither run nor, for most messages, ever compiled. That
//! keeps a one-message check (before a send) well under 10 ms.

use aho_corasick::AhoCorasick;
use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson::backtrack::{self, BoundedBacktracker};
use regex_automata::nfa::thompson::{self, WhichCaptures, pikevm, pikevm::PikeVM};
use regex_automata::util::{pool::Pool, syntax};
use regex_automata::{Input, hybrid};
use regex_syntax::ast::{
    Alternation, AssertionKind, Ast, ClassBracketed, ClassSet, ClassSetItem, ClassSetRange,
    ClassSetUnion, Flags, Group, GroupKind, HexLiteralKind, Literal, LiteralKind, RepetitionKind,
    RepetitionRange, Span,
};
use regex_syntax::hir::Hir;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::{LazyLock, OnceLock};

/// A matcher for any of `words`, ASCII case-insensitively. The regexes
/// behind gates fold case by Unicode rules; the only letters that differ
/// (the long `ſ` and the Kelvin sign `K`) do not occur in these words'
/// real spellings.
///
/// A word written `\bword` counts only where no ASCII letter, digit or `_`
/// stands before it, `word\b` only where none follows: for a word that
/// other words hold (`legger` in `bootleggers`, `brug` in `Hoogerbrugge`)
/// and that every pattern behind the gate has at a word's edge. Beside any
/// other character it counts, as a Unicode word boundary may stand there.
pub(crate) fn words(words: &[&str]) -> Words {
    let parsed: Vec<Word> = words
        .iter()
        .map(|w| {
            let (start, rest) = match w.strip_prefix(r"\b") {
                Some(rest) => (true, rest),
                None => (false, *w),
            };
            let (end, rest) = match rest.strip_suffix(r"\b") {
                Some(rest) => (true, rest),
                None => (false, rest),
            };
            Word {
                lower: rest.to_ascii_lowercase().into_bytes(),
                start,
                end,
            }
        })
        .collect();
    words_of(parsed)
}

/// A [`Words`] gate of words already parsed.
fn words_of(parsed: Vec<Word>) -> Words {
    let longest = parsed.iter().map(|w| w.lower.len()).max().unwrap_or(0);
    // The searchers stop wherever a word starts: a word that starts with
    // another (`vertraulich`, `vertrau`) is found where that one is, and
    // every word is asked there (see `Words::holds`).
    let mut searched: Vec<&str> = Vec::new();
    for word in &parsed {
        let text = std::str::from_utf8(&word.lower).unwrap_or_default();
        let covered = parsed.iter().any(|other| {
            other.lower.len() < word.lower.len() && word.lower.starts_with(&other.lower)
        });
        if !covered && !searched.contains(&text) {
            searched.push(text);
        }
    }
    let (long, short): (Vec<&str>, Vec<&str>) =
        searched.iter().partition(|w| w.len() >= FINGERPRINT);
    let chunks = long.len().div_ceil(SEARCHED_TOGETHER);
    let long = (0..chunks)
        .map(|chunk| {
            let words: Vec<&str> = long.iter().skip(chunk).step_by(chunks).copied().collect();
            literals(&words)
        })
        .collect();
    assert!(
        parsed.len() <= usize::from(u16::MAX),
        "a gate has a few dozen words"
    );
    let first = |word: &Word| word.lower.first().copied().map_or(0, usize::from);
    let mut starts = Box::new([0u16; 257]);
    for word in &parsed {
        starts[first(word) + 1] += 1;
    }
    for byte in 0..256 {
        starts[byte + 1] += starts[byte];
    }
    let mut by_first: Vec<u16> = (0..=u16::MAX).take(parsed.len()).collect();
    by_first.sort_by_key(|&i| first(&parsed[usize::from(i)]));
    Words {
        long,
        short: (!short.is_empty()).then(|| literals(&short)),
        overlap: longest.saturating_sub(1),
        bounded: parsed.iter().any(|w| w.start || w.end),
        words: parsed,
        by_first,
        starts,
    }
}

/// How many words one SIMD searcher looks for at most. Over 32 it takes
/// 16 bytes of text a step rather than 32, and over 64 it falls back to a
/// searcher that steps through every byte: several searchers of up to 32
/// words each read the text faster than one of all of them.
const SEARCHED_TOGETHER: usize = 32;

/// A word of a [`Words`] gate, lowered, with the edges it must stand at.
#[derive(Debug, Clone, PartialEq)]
struct Word {
    lower: Vec<u8>,
    start: bool,
    end: bool,
}

impl Word {
    /// Whether the word starts at `at` in `lowered`, the window of `text`
    /// from `offset`, and counts there. One cut by the window's end is seen
    /// whole in the next window, which starts at or before `at`.
    fn counts_at(&self, lowered: &[u8], at: usize, text: &[u8], offset: usize) -> bool {
        let is_word_byte = |i: usize| {
            text.get(i)
                .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_')
        };
        let begin = offset + at;
        lowered[at..].starts_with(&self.lower)
            && !(self.start && begin > 0 && is_word_byte(begin - 1))
            && !(self.end && is_word_byte(begin + self.lower.len()))
    }
}

/// A gate for a pattern of alternatives that each need several words:
/// `keep this confidential` needs `keep` and `confiden`. A text passes
/// if, for some alternative, it holds a word of each of that alternative's
/// groups, so that text with `keep` alone, or `confiden` alone, does not.
/// Like a [`words`] gate it is a necessary condition: the groups of an
/// alternative must each list a word of every match of that alternative.
///
/// `alternatives` lists, for each alternative, its groups of words (written
/// as for [`words`]), the rarest first: text is searched for the words of
/// the first groups alone, as by a [`words`] gate, and only text with one
/// of them for which words it holds. Common words (`not`, `only`) make the
/// searcher stop often, at a cost most text is spared.
pub(crate) fn all_of<'w>(alternatives: &[&[&[&'w str]]]) -> AllOf {
    let mut listed: Vec<&'w str> = Vec::new();
    let mut bit = |word: &'w str| {
        let index = index_in(&mut listed, word);
        1u128.checked_shl(u32::try_from(index).unwrap_or(u32::MAX))
    };
    // Constant tables, built by every test run: `expect` cannot fail.
    #[allow(clippy::expect_used)]
    let groups: Vec<Vec<u128>> = alternatives
        .iter()
        .map(|groups| {
            groups
                .iter()
                .map(|group| {
                    group
                        .iter()
                        .map(|w| bit(w).expect("at most 128 words to a gate"))
                        .fold(0, |set, bit| set | bit)
                })
                .collect()
        })
        .collect();
    let first: Vec<&str> = alternatives
        .iter()
        .flat_map(|groups| groups.first().copied().unwrap_or_default())
        .copied()
        .collect();
    AllOf {
        first: words(&first),
        words: words(&listed),
        alternatives: groups,
    }
}

/// Where `word` stands in `listed`, added at the end if it is new: the
/// gates that share words between groups or parts number each once.
fn index_in<'w>(listed: &mut Vec<&'w str>, word: &'w str) -> usize {
    listed.iter().position(|w| *w == word).unwrap_or_else(|| {
        listed.push(word);
        listed.len() - 1
    })
}

/// See [`all_of`].
#[derive(Debug)]
pub(crate) struct AllOf {
    /// The words of every alternative's first group.
    first: Words,
    /// Every word of every group, the `n`th standing for bit `n`.
    words: Words,
    /// For each alternative, the words of each of its groups, as bits.
    alternatives: Vec<Vec<u128>>,
}

impl AllOf {
    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.first.is_match(text) && self.holds_all_from(text, 0)
    }

    /// Whether `text`, known to hold the words `held`, holds every group of
    /// an alternative.
    fn holds_all_from(&self, text: &str, mut held: u128) -> bool {
        self.satisfied(held)
            || self.words.each_counted(text, |index| {
                held |= 1 << index;
                self.satisfied(held)
            })
    }

    fn satisfied(&self, held: u128) -> bool {
        self.alternatives
            .iter()
            .any(|groups| groups.iter().all(|group| held & group != 0))
    }

    /// Whether a first group of some alternative is among `held`.
    fn may_hold(&self, held: u128) -> bool {
        self.alternatives
            .iter()
            .any(|groups| groups.first().is_some_and(|group| held & group != 0))
    }
}

/// Several [`all_of`] gates asked of the same text: their first groups'
/// words are searched together, in one lowering of the text and a few
/// SIMD searches of up to [`SEARCHED_TOGETHER`] words, where each gate
/// alone lowered the text and searched it again. A gate whose first words
/// the text holds then looks for the rest of its words alone, as it would.
pub(crate) fn each_of(gates: &[&'static AllOf]) -> EachOf {
    assert!(gates.len() <= 32, "at most 32 gates together");
    let mut first: Vec<Word> = Vec::new();
    for gate in gates {
        for word in &gate.first.words {
            if !first.contains(word) {
                first.push(word.clone());
            }
        }
    }
    let bits = first
        .iter()
        .map(|word| {
            gates
                .iter()
                .map(|gate| {
                    let index = gate.words.words.iter().position(|w| w == word);
                    index.map_or(0, |index| 1 << index)
                })
                .collect()
        })
        .collect();
    EachOf {
        gates: gates.to_vec(),
        first: words_of(first),
        bits,
    }
}

/// See [`each_of`].
#[derive(Debug)]
pub(crate) struct EachOf {
    gates: Vec<&'static AllOf>,
    /// The words of every gate's first groups.
    first: Words,
    /// For each word of `first`, its bit in each gate's words (none where
    /// it is not one of them).
    bits: Vec<Vec<u128>>,
}

impl EachOf {
    /// The gates `text` passes, as bits: the `n`th gate given, bit `n`.
    pub(crate) fn passing(&self, text: &str) -> u32 {
        let mut held = vec![0u128; self.gates.len()];
        // The search stops once every gate has a first word: each then
        // looks for the rest of its words alone.
        self.first.each_counted(text, |index| {
            for (held, bit) in held.iter_mut().zip(&self.bits[index]) {
                *held |= bit;
            }
            (self.gates.iter().zip(&held)).all(|(gate, held)| gate.may_hold(*held))
        });
        let mut passing = 0;
        for (n, (gate, held)) in self.gates.iter().zip(held).enumerate() {
            if gate.may_hold(held) && gate.holds_all_from(text, held) {
                passing |= 1 << n;
            }
        }
        passing
    }
}

/// How many first bytes of each word the SIMD searcher looks for at most:
/// as many as its shortest word has. A shorter word (`pj`, `web`) in a
/// list makes it stop at every `at`, `an` or `en` of the text, so such
/// words are searched apart (over 2,403 real messages, forgotten-
/// attachment's words took 18 M instructions together, 6 M apart).
const FINGERPRINT: usize = 4;

/// [`words`] for strings of a few dozen bytes, such as local parts, with
/// case folded in the automaton: on them the SIMD searcher falls back to a
/// slower one, and lowering costs more than it saves. Looking up the local
/// parts of 1.2M recipients took 0.57 G instructions lowered, 0.31 G with
/// the folding automaton alone, and less with [`WordStarts`] asked first.
pub(crate) fn short_words(words: &[&str]) -> ShortWords {
    let mut starts = Box::new(WordStarts {
        first: [false; 256],
        pairs: [0; 1 << 10],
    });
    let mut all_pairs = true;
    for word in words {
        match word.as_bytes() {
            [first, second, ..] => {
                starts.first[usize::from(first.to_ascii_uppercase())] = true;
                starts.first[usize::from(first.to_ascii_lowercase())] = true;
                let pair = pair_index(*first, *second);
                starts.pairs[pair >> 6] |= 1 << (pair & 63);
            }
            _ => all_pairs = false,
        }
    }
    ShortWords {
        automaton: build(words, true),
        starts: all_pairs.then_some(starts),
    }
}

/// See [`short_words`].
#[derive(Debug)]
pub(crate) struct ShortWords {
    automaton: AhoCorasick,
    /// `None` when a word is shorter than two bytes.
    starts: Option<Box<WordStarts>>,
}

/// The first two bytes of every word: a string holding none of these
/// pairs holds no word. Nearly no local part holds one, and looking for
/// them costs a few instructions a byte, where the automaton took 200 a
/// local part.
#[derive(Debug)]
struct WordStarts {
    /// Bytes a word starts with, in either case.
    first: [bool; 256],
    /// The pairs, lowered, a bit each.
    pairs: [u64; 1 << 10],
}

impl ShortWords {
    pub(crate) fn is_match(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        let may_hold_a_word = self.starts.as_ref().is_none_or(|starts| {
            let next = bytes.get(1..).unwrap_or_default();
            bytes.iter().zip(next).any(|(&first, &second)| {
                starts.first[usize::from(first)] && {
                    let pair = pair_index(first, second);
                    starts.pairs[pair >> 6] & 1 << (pair & 63) != 0
                }
            })
        });
        may_hold_a_word && self.automaton.is_match(text)
    }
}

/// Two bytes, lowered to ASCII lower case, as one number below 2^16.
fn pair_index(first: u8, second: u8) -> usize {
    usize::from(first.to_ascii_lowercase()) << 8 | usize::from(second.to_ascii_lowercase())
}

/// Words searched in text lowered to ASCII lower case a window at a time.
/// aho-corasick folds case in its automaton, which then steps through
/// every byte behind a prefilter of rare bytes that stops at nearly every
/// `p` or `s`; on lowered text the words are exact literals, which its SIMD
/// (Teddy) searcher skips to. Over 2,403 ordinary messages the gates took
/// 111 M instructions that way and take 42 M this way (see BENCHMARKS.md).
#[derive(Debug)]
pub(crate) struct Words {
    /// The words of [`FINGERPRINT`] bytes or more, lowered, a searcher
    /// for each [`SEARCHED_TOGETHER`] of them.
    long: Vec<Literals>,
    /// The shorter ones, lowered.
    short: Option<Literals>,
    /// How far windows overlap, so that no word is cut between two.
    overlap: usize,
    /// Every word: where the searcher stops, these say which words stand
    /// there and whether they count.
    words: Vec<Word>,
    /// The indexes of `words` by their first byte: those of words starting
    /// with byte `b` are `by_first[starts[b]..starts[b + 1]]`, in order. A
    /// searcher of many words stops often (at every `inte` of `interest`
    /// for `internal`), and only the few words starting there are asked.
    by_first: Vec<u16>,
    starts: Box<[u16; 257]>,
    /// Whether some word must stand at a word's edge: else any word the
    /// searcher finds counts.
    bounded: bool,
}

/// Bytes lowered at a time: small enough to stay in the first-level cache.
const WINDOW: usize = 16 * 1024;

thread_local! {
    static LOWERED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Words {
    pub(crate) fn is_match(&self, text: &str) -> bool {
        if self.bounded {
            // A word found counts only where it stands at its edges.
            return self.each_counted(text, |_| true);
        }
        self.windows(text, |lowered, _, _| {
            self.searchers().any(|searcher| searcher.is_match(lowered))
        })
    }

    /// Calls `counted` with the index of every word that counts where it
    /// stands in `text` (a word as often as it occurs), until it returns
    /// true; returns whether it did.
    fn each_counted(&self, text: &str, mut counted: impl FnMut(usize) -> bool) -> bool {
        self.windows(text, |lowered, text, offset| {
            self.searchers().any(|searcher| {
                // The searcher reports one word where several may start
                // (`pass` and `passport`): every word is asked there.
                let mut from = 0;
                while let Some(at) = searcher.find_from(lowered, from) {
                    let found = self.starting(lowered[at]).any(|index| {
                        self.words[index].counts_at(lowered, at, text, offset) && counted(index)
                    });
                    if found {
                        return true;
                    }
                    from = at + 1;
                }
                false
            })
        })
    }

    /// The indexes of the words starting with `byte`, in order.
    fn starting(&self, byte: u8) -> impl Iterator<Item = usize> {
        let byte = usize::from(byte);
        let (start, end) = (self.starts[byte], self.starts[byte + 1]);
        self.by_first[usize::from(start)..usize::from(end)]
            .iter()
            .map(|&index| usize::from(index))
    }

    fn searchers(&self) -> impl Iterator<Item = &Literals> {
        self.long.iter().chain(&self.short)
    }

    /// Whether `found` says yes for a window of `text`: it gets the
    /// window lowered, the text, and where the window starts in it.
    fn windows(&self, text: &str, mut found: impl FnMut(&[u8], &[u8], usize) -> bool) -> bool {
        let text = text.as_bytes();
        // Windows move on by at least half their length (a gate's words are
        // short; a configured list name may be long).
        let window = WINDOW.max(2 * self.overlap);
        LOWERED.with_borrow_mut(|lowered| {
            let mut start = 0;
            loop {
                let end = (start + window).min(text.len());
                lowered.clear();
                lowered.extend(text[start..end].iter().map(u8::to_ascii_lowercase));
                if found(lowered, text, start) {
                    return true;
                }
                if end == text.len() {
                    return false;
                }
                start = end - self.overlap;
            }
        })
    }
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
#[derive(Debug)]
pub(crate) enum Literals {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl Literals {
    /// Where the leftmost literal at or after `from` starts.
    fn find_from(&self, text: &[u8], from: usize) -> Option<usize> {
        let span = from..text.len();
        match self {
            Literals::Packed(searcher) => searcher.find_in(text, span.into()).map(|m| m.start()),
            Literals::Automaton(automaton) => automaton
                .find(aho_corasick::Input::new(text).span(span))
                .map(|m| m.start()),
        }
    }

    pub(crate) fn is_match(&self, text: impl AsRef<[u8]>) -> bool {
        let text = text.as_ref();
        match self {
            Literals::Packed(searcher) => searcher.find(text).is_some(),
            Literals::Automaton(automaton) => automaton.is_match(text),
        }
    }
}

/// A pattern for text a word gate let through, compiled without the
/// literal prefilter the regex crate extracts by default. For a
/// case-insensitive pattern of many phrases, extracting that prefilter (every
/// case variant of the phrases' first letters, and reverse automata for its
/// inner literals) costs more than the pattern's own automata: a quarter of
/// all compiling on a run over a few thousand ordinary messages. Past a gate
/// the lazy DFA reads little text. Same syntax, same leftmost-first matches
/// as the regex crate's: only the search strategy differs.
pub(crate) fn gated(pattern: &str) -> Regex {
    compile(pattern, &syntax::Config::new(), gated_config())
}

// Constant patterns, compiled by every test run: `expect` cannot fail.
#[allow(clippy::expect_used)]
fn compile(pattern: &str, syntax: &syntax::Config, config: meta::Config) -> Regex {
    Regex::builder()
        .configure(config)
        .syntax(*syntax)
        .build(pattern)
        .expect("the rules' patterns are valid")
}

/// A [`gated`] or [`bytes`] pattern that answers whether it matches with
/// a forward automaton alone, and compiles the whole regex only the first
/// time it matches. The regex crate's engine builds, for every regex, a
/// reverse automaton (to find where a match starts) beside the forward one;
/// behind a word gate little text matches, and over the 2,403 messages of
/// a real ham corpus the reverse searches took 1.3 M instructions where
/// building the reverse automata took about 30 M. The forward search is the one the regex
/// crate makes for `is_match` (a lazy DFA; where it gives up, e.g. at a
/// Unicode `\b` beside a non-ASCII character, the backtracker or the
/// PikeVM), so the answers are the same. A pattern that matches pays for
/// its forward automaton twice: on the whole real-mail set (spam included)
/// compiling still cost less this way.
pub(crate) struct Pattern {
    /// The parsed pattern, for the whole regex when it is first needed.
    hir: Hir,
    config: meta::Config,
    forward: Forward,
    full: OnceLock<Regex>,
}

/// The forward half of a [`Pattern`].
struct Forward {
    /// `None` only if the lazy DFA refused to build (its cache too small
    /// for the pattern): the slower engines then answer alone.
    dfa: Option<hybrid::dfa::DFA>,
    backtrack: BoundedBacktracker,
    pikevm: PikeVM,
    caches: Pool<Caches, CacheFn>,
}

struct Caches {
    dfa: Option<hybrid::dfa::Cache>,
    backtrack: backtrack::Cache,
    pikevm: pikevm::Cache,
}

type CacheFn = Box<dyn Fn() -> Caches + Send + Sync + UnwindSafe + RefUnwindSafe>;

impl Pattern {
    /// See [`gated`].
    pub(crate) fn gated(pattern: &str) -> Self {
        Pattern::new(pattern, &syntax::Config::new(), gated_config())
    }

    // Constant patterns, compiled by every test run: `expect` cannot fail.
    #[allow(clippy::expect_used)]
    fn new(pattern: &str, syntax: &syntax::Config, config: meta::Config) -> Self {
        let hir = syntax::parse_with(pattern, syntax).expect("the rules' patterns are valid");
        Pattern::from_hir(hir, config)
    }

    // A parsed pattern compiles: `expect` cannot fail.
    #[allow(clippy::expect_used)]
    fn from_hir(hir: Hir, config: meta::Config) -> Self {
        // As the regex crate's engine configures its forward automata, but
        // without capture groups, which neither needs to say whether a
        // match exists.
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .utf8(config.get_utf8_empty())
                    .nfa_size_limit(config.get_nfa_size_limit())
                    .shrink(false)
                    .which_captures(WhichCaptures::None),
            )
            .build_from_hir(&hir)
            .expect("the rules' patterns compile");
        let dfa = hybrid::dfa::Builder::new()
            .configure(
                hybrid::dfa::Config::new()
                    .match_kind(config.get_match_kind())
                    .byte_classes(config.get_byte_classes())
                    .unicode_word_boundary(true)
                    .cache_capacity(config.get_hybrid_cache_capacity())
                    .skip_cache_capacity_check(false)
                    .minimum_cache_clear_count(Some(3))
                    .minimum_bytes_per_state(Some(10)),
            )
            .build_from_nfa(nfa.clone())
            .ok();
        let backtrack = BoundedBacktracker::new_from_nfa(nfa.clone())
            .expect("the rules' patterns run in the backtracker");
        let pikevm = PikeVM::new_from_nfa(nfa).expect("the rules' patterns run in the PikeVM");
        let caches: CacheFn = {
            let (dfa, backtrack, pikevm) = (dfa.clone(), backtrack.clone(), pikevm.clone());
            Box::new(move || Caches {
                dfa: dfa.as_ref().map(hybrid::dfa::DFA::create_cache),
                backtrack: backtrack.create_cache(),
                pikevm: pikevm.create_cache(),
            })
        };
        Pattern {
            hir,
            config,
            forward: Forward {
                dfa,
                backtrack,
                pikevm,
                caches: Pool::new(caches),
            },
            full: OnceLock::new(),
        }
    }

    /// Whether the pattern matches in `text`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.is_match_in(Input::new(text))
    }

    /// See [`texts`].
    #[cfg(test)]
    pub(crate) fn texts(&self) -> proptest::strategy::BoxedStrategy<String> {
        texts(&self.hir)
    }

    /// Whether the pattern matches in `input` (a range, maybe anchored).
    pub(crate) fn is_match_in(&self, input: Input<'_>) -> bool {
        let input = input.earliest(true);
        self.lazy_dfa(&input).unwrap_or_else(|| {
            // Where the lazy DFA gives up, as the regex crate's engine
            // does: the backtracker on short text, the PikeVM on the rest.
            let Forward {
                backtrack,
                pikevm,
                caches,
                ..
            } = &self.forward;
            let mut caches = caches.get();
            (input.haystack().len() <= 128)
                .then(|| {
                    backtrack
                        .try_is_match(&mut caches.backtrack, input.clone())
                        .ok()
                })
                .flatten()
                .unwrap_or_else(|| pikevm.is_match(&mut caches.pikevm, input))
        })
    }

    /// Whether the lazy DFA finds a match: `None` where it gave up.
    fn lazy_dfa(&self, input: &Input<'_>) -> Option<bool> {
        let dfa = self.forward.dfa.as_ref()?;
        let mut caches = self.forward.caches.get();
        let cache = caches.dfa.as_mut()?;
        dfa.try_search_fwd(cache, input)
            .ok()
            .map(|found| found.is_some())
    }

    /// The whole regex, to find matches and their groups.
    // A pattern that parsed and compiled forward compiles whole.
    #[allow(clippy::expect_used)]
    pub(crate) fn regex(&self) -> &Regex {
        self.full.get_or_init(|| {
            Regex::builder()
                .configure(self.config.clone())
                .build_from_hir(&self.hir)
                .expect("the rules' patterns compile")
        })
    }

    /// The whole regex if it may match in `text`: where the lazy DFA
    /// gives up, the whole regex searches at once, as the slower engines
    /// would otherwise read the text twice.
    pub(crate) fn matching(&self, text: &str) -> Option<&Regex> {
        match self.lazy_dfa(&Input::new(text).earliest(true)) {
            Some(false) => None,
            _ => Some(self.regex()),
        }
    }
}

fn gated_config() -> meta::Config {
    Regex::config().auto_prefilter(false)
}

/// A [`gated`] pattern over bytes, without Unicode. A class such as
/// `[^{}]` also matches one byte of a multi-byte character: run it on
/// ASCII text, or write such classes for whole characters
/// ([`any_char_but`]).
pub(crate) fn bytes(pattern: &str) -> Regex {
    compile(pattern, &bytes_syntax(), bytes_config())
}

fn bytes_config() -> meta::Config {
    // No pattern of ours matches the empty string, which is all this would
    // keep off a character's inner bytes.
    gated_config().utf8_empty(false)
}

fn bytes_syntax() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

/// In a [`bytes`] pattern run on UTF-8 text: any one character but the
/// ASCII ones `excluded` (written as inside a class). A multi-byte
/// character is a lead byte and the continuation bytes after it; where what
/// follows in the pattern is ASCII or another such character, no other
/// split of its bytes lets a match go on, so a count of these counts
/// characters as `[^...]` does in a Unicode pattern, with a few states
/// where Unicode's takes a dozen.
pub(crate) fn any_char_but(excluded: &str) -> String {
    format!(r"(?:[^{excluded}\x80-\xFF]|{NON_ASCII})")
}

// A handful of constant literals, built by every test run: `expect` cannot fail.
#[allow(clippy::expect_used)]
fn build(patterns: &[&str], ascii_case_insensitive: bool) -> AhoCorasick {
    AhoCorasick::builder()
        .ascii_case_insensitive(ascii_case_insensitive)
        .build(patterns)
        .expect("gate patterns are valid")
}

/// A pattern whose `\b`s all stand next to ASCII letters or digits, with a
/// [`bytes`] copy to screen text first. On text with any non-ASCII
/// character the regex crate checks a Unicode `\b` in its slow engines
/// (two orders of magnitude slower on real mail with a non-breaking
/// space); the copy stays in the fast one. Every match of the pattern is
/// one of the copy's: where the copy finds nothing, neither would the
/// pattern, and where it finds something the pattern itself decides.
///
/// On ASCII text (nearly all text that passes a screen) the copy matches
/// exactly as the pattern does, so it answers alone and the pattern is
/// never compiled. Without Unicode the copy is cheaper to translate (ASCII
/// case folding) and compiles to fewer states (no UTF-8 sequences for `\s`,
/// `\w` or a negated class); [`widen`] says how it is written to also
/// screen other text.
pub(crate) struct Screened {
    ascii: Pattern,
    /// The pattern itself, compiled the first time non-ASCII text passes
    /// the screen: for most patterns, most runs never need it.
    unicode: OnceLock<Pattern>,
    pattern: String,
}

impl Screened {
    /// For text past a word gate: the pattern [`gated`], its copy
    /// [`bytes`].
    // Constant patterns, compiled by every test run: `expect` cannot fail.
    #[allow(clippy::expect_used)]
    pub(crate) fn gated(pattern: &str) -> Self {
        let mut ast = regex_syntax::ast::parse::Parser::new()
            .parse(pattern)
            .expect("the rules' patterns are valid");
        widen(&mut ast);
        let hir = regex_syntax::hir::translate::TranslatorBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .translate(pattern, &ast)
            .expect("the rules' patterns are valid without Unicode");
        Screened {
            ascii: Pattern::from_hir(hir, bytes_config()),
            unicode: OnceLock::new(),
            pattern: pattern.to_string(),
        }
    }

    /// The pattern itself.
    fn unicode(&self) -> &Pattern {
        self.unicode.get_or_init(|| Pattern::gated(&self.pattern))
    }

    /// Whether the pattern may match in `text`, which is not ASCII. A
    /// case-insensitive `s` or `k` also matches the long `ſ` or the Kelvin
    /// sign `K`, which the copy does not: text with either is not screened.
    fn may_match(&self, text: &str) -> bool {
        text.contains(['ſ', '\u{212a}']) || self.ascii.is_match(text)
    }

    /// A regex that finds the pattern's matches in `text`, if it holds
    /// any: the copy itself where `text` is ASCII.
    pub(crate) fn screen(&self, text: &str) -> Option<&Regex> {
        if text.is_ascii() {
            self.ascii.matching(text)
        } else if self.may_match(text) {
            self.unicode().matching(text)
        } else {
            None
        }
    }

    pub(crate) fn is_match(&self, text: &str) -> bool {
        if text.is_ascii() {
            self.ascii.is_match(text)
        } else {
            self.may_match(text) && self.unicode().is_match(text)
        }
    }

    /// See [`texts`].
    #[cfg(test)]
    pub(crate) fn texts(&self) -> proptest::strategy::BoxedStrategy<String> {
        self.unicode().texts()
    }

    /// Whether the copy answers for `text` as it must (see [`widen`]): in
    /// ASCII text it finds what the pattern finds, in other text it
    /// matches wherever the pattern does.
    #[cfg(test)]
    pub(crate) fn copy_agrees(&self, text: &str) -> bool {
        let unicode = self.unicode().regex();
        if text.is_ascii() {
            spans(self.ascii.regex(), text) == spans(unicode, text)
        } else {
            !unicode.is_match(text) || self.may_match(text)
        }
    }
}

/// Where `re` matches in `text`, for tests that compare two patterns'
/// matches.
#[cfg(test)]
pub(crate) fn spans(re: &Regex, text: &str) -> Vec<std::ops::Range<usize>> {
    re.find_iter(text).map(|m| m.range()).collect()
}

/// Rewrites a [`Screened`] pattern for its [`bytes`] copy, to match as it
/// does in ASCII text and wherever it matches in other text (but for the
/// long `ſ` and the Kelvin sign, see [`Screened::may_match`]). Without
/// Unicode, `\s`, `\w`, `\d`, `.` and folded ASCII letters match as in
/// Unicode on ASCII characters and on no other; so what may match another
/// character (a non-ASCII literal, a class that holds one, a negated
/// class, `\w`, `.`) may also match any non-ASCII character, as a whole.
/// Repeated without bound (`\s+`), such a class need only take bytes of
/// 0x80 and more. A `\b` beside an ASCII letter holds wherever a Unicode
/// one does; a `\b{end}`, which follows a word character (possibly a
/// non-ASCII one, as in `podrá`), only asks that no ASCII word character
/// follow (`\b{end-half}`).
fn widen(ast: &mut Ast) {
    match ast {
        Ast::Literal(literal) if !literal.c.is_ascii() => *ast = NON_ASCII_AST.clone(),
        Ast::Dot(_) | Ast::ClassPerl(_) | Ast::ClassUnicode(_) => or_non_ascii(ast),
        Ast::ClassBracketed(class) => {
            if class.negated | ascii_set(&mut class.kind) {
                or_non_ascii(ast);
            }
        }
        Ast::Assertion(assertion) => {
            if assertion.kind == AssertionKind::WordBoundaryEnd {
                assertion.kind = AssertionKind::WordBoundaryEndHalf;
            }
        }
        Ast::Repetition(repetition) => {
            let unbounded = matches!(
                repetition.op.kind,
                RepetitionKind::ZeroOrMore
                    | RepetitionKind::OneOrMore
                    | RepetitionKind::Range(RepetitionRange::AtLeast(_))
            );
            if !(unbounded && with_high_bytes(&mut repetition.ast)) {
                widen(&mut repetition.ast);
            }
        }
        Ast::Group(group) => widen(&mut group.ast),
        Ast::Alternation(alternation) => alternation.asts.iter_mut().for_each(widen),
        Ast::Concat(concat) => concat.asts.iter_mut().for_each(widen),
        Ast::Empty(_) | Ast::Flags(_) | Ast::Literal(_) => {}
    }
}

/// Makes a class (maybe in a group) also match the bytes of 0x80 and
/// more, if `ast` is one (a negated class or `.` already does, without
/// Unicode), and says whether it was.
fn with_high_bytes(ast: &mut Ast) -> bool {
    match ast {
        Ast::Dot(_) => true,
        Ast::ClassPerl(class) if class.negated => true,
        Ast::ClassPerl(class) => {
            let span = class.span;
            let perl = ClassSetItem::Perl((**class).clone());
            *ast = Ast::class_bracketed(ClassBracketed {
                span,
                negated: false,
                kind: ClassSet::Item(high_bytes_and(perl, span)),
            });
            true
        }
        Ast::ClassBracketed(class) => {
            // A negated class takes them already, and a class of ASCII
            // characters alone needs none.
            if !ascii_set(&mut class.kind) || class.negated {
                return true;
            }
            let span = class.span;
            match &mut class.kind {
                ClassSet::Item(item) => {
                    let ascii = std::mem::replace(item, ClassSetItem::Empty(span));
                    *item = high_bytes_and(ascii, span);
                    true
                }
                ClassSet::BinaryOp(_) => false,
            }
        }
        Ast::Group(group) => with_high_bytes(&mut group.ast),
        _ => false,
    }
}

/// `item` and the bytes 0x80 to 0xFF, as one class item.
fn high_bytes_and(item: ClassSetItem, span: Span) -> ClassSetItem {
    let byte = |c| Literal {
        span,
        kind: LiteralKind::HexFixed(HexLiteralKind::X),
        c,
    };
    ClassSetItem::Union(ClassSetUnion {
        span,
        items: vec![
            item,
            ClassSetItem::Range(ClassSetRange {
                span,
                start: byte('\u{80}'),
                end: byte('\u{ff}'),
            }),
        ],
    })
}

/// Drops a class's non-ASCII characters, which a [`bytes`] pattern cannot
/// hold: whether it may match a non-ASCII character (as a Unicode `\s` or
/// a class written with `è` does).
fn ascii_set(set: &mut ClassSet) -> bool {
    match set {
        ClassSet::Item(item) => ascii_item(item),
        ClassSet::BinaryOp(_) => true,
    }
}

/// See [`ascii_set`].
fn ascii_item(item: &mut ClassSetItem) -> bool {
    match item {
        ClassSetItem::Literal(literal) if !literal.c.is_ascii() => {
            *item = ClassSetItem::Empty(literal.span);
            true
        }
        ClassSetItem::Range(range) if !range.end.c.is_ascii() => {
            if range.start.c.is_ascii() {
                range.end.c = '\x7f';
                range.end.kind = LiteralKind::Verbatim;
            } else {
                *item = ClassSetItem::Empty(range.span);
            }
            true
        }
        ClassSetItem::Perl(_) | ClassSetItem::Unicode(_) => true,
        ClassSetItem::Bracketed(class) => class.negated | ascii_set(&mut class.kind),
        ClassSetItem::Union(union) => union
            .items
            .iter_mut()
            .fold(false, |wide, item| ascii_item(item) | wide),
        ClassSetItem::Empty(_)
        | ClassSetItem::Literal(_)
        | ClassSetItem::Range(_)
        | ClassSetItem::Ascii(_) => false,
    }
}

/// `ast` or any non-ASCII character.
fn or_non_ascii(ast: &mut Ast) {
    let span = *ast.span();
    let class = std::mem::replace(ast, Ast::empty(span));
    *ast = Ast::group(Group {
        span,
        kind: GroupKind::NonCapturing(Flags {
            span,
            items: Vec::new(),
        }),
        ast: Box::new(Ast::alternation(Alternation {
            span,
            asts: vec![class, NON_ASCII_AST.clone()],
        })),
    });
}

/// Any one non-ASCII character, in a [`bytes`] pattern (see
/// [`any_char_but`]).
const NON_ASCII: &str = r"(?:[\xC0-\xFF][\x80-\xBF]*)";

// A constant pattern: `expect` cannot fail.
#[allow(clippy::expect_used)]
static NON_ASCII_AST: LazyLock<Ast> = LazyLock::new(|| {
    regex_syntax::ast::parse::Parser::new()
        .parse(NON_ASCII)
        .expect("a valid pattern")
});

/// A [`Screened`] pattern of parts (a language's phrases, a kind of
/// request), each behind the words every match of it holds: for a text,
/// only the parts whose words it holds are searched, each compiled the
/// first time a text needs it. A part without its words in a text cannot
/// match there, so the parts searched find what the whole pattern would
/// (see [`Parts::find_iter`]): mail in English compiles no other language's
/// phrases, and a legal footer's `confidential` none of the requests
/// without that word. Each part is compiled alone, once: a pattern compiled
/// for each set of parts a text holds cost more than the whole pattern
/// over the public real mail, as its texts hold many different sets.
pub(crate) fn parts(flags: &str, parts: &[(&[&str], &str)]) -> Parts {
    assert!(parts.len() < usize::BITS as usize, "a part is a bit");
    let mut listed = Vec::new();
    let mut word_parts = Vec::new();
    for (part, (words, _)) in parts.iter().enumerate() {
        for &word in *words {
            let index = index_in(&mut listed, word);
            word_parts.resize(listed.len(), 0);
            word_parts[index] |= 1 << part;
        }
    }
    Parts {
        flags: flags.to_string(),
        parts: parts.iter().map(|(_, part)| part.to_string()).collect(),
        words: words(&listed),
        word_parts,
        compiled: parts.iter().map(|_| OnceLock::new()).collect(),
    }
}

/// See [`parts`].
pub(crate) struct Parts {
    /// Flags for every part, such as `(?im)`.
    flags: String,
    /// Each part's pattern, in their order.
    parts: Vec<String>,
    /// Every part's words.
    words: Words,
    /// For each word of `words`, the parts it stands for, as bits.
    word_parts: Vec<usize>,
    /// Each part's pattern, compiled when first needed.
    compiled: Vec<OnceLock<Screened>>,
}

impl Parts {
    /// The parts `text` holds words of, in their order.
    fn held<'p>(&'p self, text: &str) -> impl Iterator<Item = &'p Screened> {
        let all = (1 << self.parts.len()) - 1;
        let mut held = 0;
        self.words.each_counted(text, |index| {
            held |= self.word_parts[index];
            held == all
        });
        (self.compiled.iter().zip(&self.parts).enumerate())
            .filter(move |(part, _)| held & 1 << part != 0)
            .map(|(_, (compiled, pattern))| {
                compiled.get_or_init(|| Screened::gated(&format!("{}{pattern}", self.flags)))
            })
    }

    /// The whole pattern's matches in `text`, as the regex crate's
    /// `find_iter` would find them (see [`in_turns`]).
    pub(crate) fn find_iter<'t>(
        &'t self,
        text: &'t str,
    ) -> impl Iterator<Item = std::ops::Range<usize>> + 't {
        let held = self.held(text).filter_map(|part| part.screen(text));
        in_turns(text, held.collect()).map(|(_, found)| found)
    }

    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.held(text).any(|part| part.is_match(text))
    }

    /// All the parts, as one pattern.
    #[cfg(test)]
    pub(crate) fn whole(&self) -> Screened {
        Screened::gated(&format!("{}{}", self.flags, self.parts.join("|")))
    }
}

/// The matches in `text` of several patterns, as the regex crate's
/// `find_iter` would find those of one alternation of them in their order,
/// each with its pattern's index: at each place the leftmost match of any
/// pattern, the first pattern's where several start there (an alternation
/// prefers its first alternative), the search going on after it. A
/// pattern's next match, found once, stays its next until a match before it
/// has been taken. (None of the patterns matches the empty string; were one
/// to, the search would still move on.)
pub(crate) fn in_turns<'t>(
    text: &'t str,
    patterns: Vec<&'t Regex>,
) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> + 't {
    let mut searched: Vec<(&Regex, Option<std::ops::Range<usize>>)> = patterns
        .into_iter()
        .map(|re| (re, re.find(text).map(|m| m.range())))
        .collect();
    let mut at = 0;
    std::iter::from_fn(move || {
        for (re, next) in &mut searched {
            if next.as_ref().is_some_and(|m| m.start < at) {
                *next = re.search(&Input::new(text).range(at..)).map(|m| m.range());
            }
        }
        let found = (searched.iter().enumerate())
            .filter_map(|(n, (_, next))| Some((n, next.clone()?)))
            .min_by_key(|(_, m)| m.start)?;
        at = found.1.end.max(found.1.start + 1);
        Some(found)
    })
}

/// Texts a pattern's `hir` matches, but for its anchors and word
/// boundaries (which the generator cannot write, so that some texts do not
/// match): for tests that a gate lets every match of a pattern through.
/// The long `ſ` and the Kelvin sign, which gates do not fold (see
/// [`words`]), are written `s` and `K`.
#[cfg(test)]
pub(crate) fn texts(hir: &Hir) -> proptest::strategy::BoxedStrategy<String> {
    use proptest::strategy::Strategy;
    use regex_syntax::hir::{Capture, HirKind, Repetition};
    fn without_looks(hir: &Hir) -> Hir {
        match hir.kind() {
            HirKind::Look(_) => Hir::empty(),
            HirKind::Repetition(r) => Hir::repetition(Repetition {
                sub: Box::new(without_looks(&r.sub)),
                ..r.clone()
            }),
            HirKind::Capture(c) => Hir::capture(Capture {
                sub: Box::new(without_looks(&c.sub)),
                ..c.clone()
            }),
            HirKind::Concat(subs) => Hir::concat(subs.iter().map(without_looks).collect()),
            HirKind::Alternation(subs) => {
                Hir::alternation(subs.iter().map(without_looks).collect())
            }
            _ => hir.clone(),
        }
    }
    #[allow(clippy::expect_used)]
    let matching = proptest::string::string_regex_parsed(&without_looks(hir))
        .expect("the generator writes any pattern without anchors");
    ("[ a_.\n]{0,2}", matching, "[ a_.\n]{0,2}")
        .prop_map(|(before, matched, after)| {
            format!("{before}{matched}{after}")
                .replace('ſ', "s")
                .replace('\u{212a}', "K")
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::{Pattern, Screened, WINDOW, spans};
    use proptest::prelude::*;

    proptest! {
        /// The pairs a short word starts with turn away only strings the
        /// automaton finds no word in.
        #[test]
        fn short_words_match_as_their_automaton(
            words in proptest::collection::vec("[aB.-]{1,4}", 1..4),
            text in "[abAB.-]{0,12}",
        ) {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let gate = super::short_words(&words);
            prop_assert_eq!(gate.is_match(&text), gate.automaton.is_match(text.as_str()));
        }
    }

    /// Patterns whose forward automata are compared with the regex crate.
    static PATTERNS: std::sync::LazyLock<Vec<(Pattern, regex::Regex)>> =
        std::sync::LazyLock::new(|| {
            let gated = [
                r"(?i)\bnot[ae]\b",
                r"(?i)\bn(?-i:\w)*e\b{end}",
                r"a.{0,3}b|^\W*note\W*$",
                r"(?m)^\s*ab?\b",
            ];
            let crate_regex = |p: &str| regex::Regex::new(p).expect("valid");
            let mut patterns: Vec<_> = gated
                .into_iter()
                .map(|p| (Pattern::gated(p), crate_regex(p)))
                .collect();
            let bytes = format!(r"(?i)a{}{{0,3}}b", super::any_char_but(r"\n"));
            let bytes = Pattern::new(&bytes, &super::bytes_syntax(), super::bytes_config());
            patterns.push((bytes, crate_regex(r"(?i)a[^\n]{0,3}b")));
            patterns
        });

    proptest! {
        /// A pattern's forward automaton answers as the regex crate does,
        /// also where a Unicode `\b` stands beside a non-ASCII character
        /// (the lazy DFA gives up there and the PikeVM answers), and the
        /// whole regex it hands out on a match finds what the crate finds.
        #[test]
        fn patterns_match_as_the_regex_crate(
            text in "(?:[ab_ .\n1]|é|ſ|\u{a0}|\u{212a}|\u{1F600}|not|note){0,16}",
        ) {
            for (pattern, expected) in PATTERNS.iter() {
                prop_assert_eq!(pattern.is_match(&text), expected.is_match(&text), "{:?}", expected);
                let found = pattern.matching(&text).map(|re| spans(re, &text));
                let expected: Vec<_> = expected.find_iter(&text).map(|m| m.range()).collect();
                prop_assert_eq!(found.unwrap_or_default(), expected);
            }
        }
    }

    #[test]
    fn a_pattern_compiles_whole_only_when_it_matches() {
        let pattern = Pattern::gated(r"(?i)\bnote\b");
        assert!(!pattern.is_match("a notebook, énote"));
        assert!(pattern.matching("a notebook").is_none());
        assert!(pattern.full.get().is_none());
        assert!(pattern.is_match("une note\u{a0}é"));
        let found = pattern
            .matching("see the NOTE")
            .map(|re| re.find("see the NOTE"));
        assert_eq!(found.flatten().map(|m| m.range()), Some(8..12));
        assert!(pattern.full.get().is_some());
    }

    #[test]
    fn short_words_pass_only_strings_with_a_word_start() {
        let gate = super::short_words(&["all", "-all", "everyone"]);
        assert!(gate.starts.is_some());
        assert!(gate.is_match("Staff-ALL"));
        assert!(gate.is_match("EveryOne"));
        assert!(!gate.is_match("user123"));
        assert!(!gate.is_match("a"));
        // A one-byte word leaves the automaton to decide alone.
        let gate = super::short_words(&["x", "all"]);
        assert!(gate.starts.is_none());
        assert!(gate.is_match("x"));
    }

    #[test]
    fn words_are_found_in_any_case_and_across_windows() {
        let gate = super::words(&["Passport", "anhäng"]);
        assert!(gate.is_match("my PASSPORT no."));
        assert!(gate.is_match("im Anhäng"));
        assert!(!gate.is_match("im ANHÄNG"), "only ASCII letters fold");
        assert!(!gate.is_match("a pass port"));
        assert!(!gate.is_match(""));
        // Words shorter than the fingerprint, searched apart, alone or not.
        for words in [&["pj", "passport"][..], &["pj"]] {
            let gate = super::words(words);
            assert!(gate.is_match("voir en PJ"));
            assert!(!gate.is_match("voir en p j"));
        }
        // A word cut by every window edge is still found.
        for at in WINDOW - 8..WINDOW + 2 {
            let mut text = "x".repeat(at);
            text.push_str("pAsSpOrT");
            text.push_str(&"y".repeat(2 * WINDOW));
            assert!(gate.is_match(&text), "at {at}");
            text.replace_range(at..at + 1, "q");
            assert!(!gate.is_match(&text), "at {at}");
        }
        // A configured list name longer than a window.
        let long = "n".repeat(WINDOW + 10);
        let gate = super::words(&[&long]);
        let text = format!("{}{}", "m".repeat(3 * WINDOW), long.to_uppercase());
        assert!(gate.is_match(&text));
        assert!(!gate.is_match(&text[1..text.len() - 1]));
    }

    static KEEP: std::sync::LazyLock<super::AllOf> = std::sync::LazyLock::new(|| {
        super::all_of(&[
            &[&[r"\bkeep\b"], &["confiden", r"\bbetween\b"]],
            &[&["embargo"]],
        ])
    });
    static PASS: std::sync::LazyLock<super::AllOf> = std::sync::LazyLock::new(|| {
        super::all_of(&[
            &[&["vertrau", "vertraulich"]],
            &[&["passport"], &[r"\bpass\b"]],
            &[&["keep"], &[r"\bnot\b"]],
        ])
    });

    proptest! {
        /// Searched together, gates answer as each does alone, with words
        /// shared between them, words that start with another, and words
        /// in either order.
        #[test]
        fn each_of_answers_as_its_gates_alone(
            text in "(?:keep|KEEP|keeper|confidential|between|embargo|Vertraulich|vertrau|passport|pass|not| |x|_){0,10}",
        ) {
            let gates = super::each_of(&[&KEEP, &PASS]);
            let alone = u32::from(KEEP.is_match(&text)) | u32::from(PASS.is_match(&text)) << 1;
            prop_assert_eq!(gates.passing(&text), alone);
        }
    }

    #[test]
    fn words_are_searched_in_chunks_of_at_most_32() {
        let listed: Vec<String> = (0..70).map(|n| format!("word{n:02}")).collect();
        let gate = super::words(&listed.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(gate.long.len(), 3);
        assert!(
            gate.long
                .iter()
                .all(|l| matches!(l, super::Literals::Packed(_)))
        );
        for word in &listed {
            assert!(
                gate.is_match(&format!("a {} b", word.to_uppercase())),
                "{word}"
            );
        }
        assert!(!gate.is_match("word7 word"));
        // A word that starts with another is found where that one is.
        let gate = super::words(&["vertrau", r"vertraulich\b"]);
        assert_eq!(gate.long.len(), 1);
        let mut held = Vec::new();
        gate.each_counted("VERTRAULICH", |index| {
            held.push(index);
            false
        });
        assert_eq!(held, vec![0, 1]);
    }

    #[test]
    fn all_of_needs_a_word_of_each_group_of_an_alternative() {
        let gate = super::all_of(&[
            &[&[r"\bkeep\b"], &["confiden", r"\bbetween\b"]],
            &[&["embargo"]],
            &[&["passport"], &[r"\bpass\b"]],
        ]);
        for (text, passes) in [
            ("Keep it CONFIDENTIAL", true),
            ("keep it between us", true),
            ("keep it", false),
            ("confidential", false),
            ("keeper of the confidential file", false),
            ("in between, keep", true),
            ("under EMBARGO", true),
            ("", false),
            // Words that start where another does are all found.
            ("passport", false),
            ("a passport to pass", true),
            ("pass the passport", true),
        ] {
            assert_eq!(gate.is_match(text), passes, "{text}");
        }
        // The words of one alternative in different windows.
        let mut text = "keep ".to_string();
        text.push_str(&"x ".repeat(WINDOW));
        text.push_str("between");
        assert!(gate.is_match(&text));
        text.truncate(text.len() - 1);
        assert!(!gate.is_match(&text));
    }

    #[test]
    fn parts_compile_only_the_parts_whose_words_a_text_holds() {
        let parts = super::parts(
            "(?i)",
            &[(&["keep"], r"\bkeep\b"), (&["hold"], r"\bhold\b")],
        );
        assert_eq!(parts.find_iter("nothing here").count(), 0);
        assert!(parts.compiled.iter().all(|p| p.get().is_none()));
        assert_eq!(parts.find_iter("KEEP it").collect::<Vec<_>>(), vec![0..4]);
        assert!(parts.compiled[0].get().is_some() && parts.compiled[1].get().is_none());
        assert!(!parts.is_match("the holder"));
        // Both parts, their matches in the text's order.
        let found: Vec<_> = parts.find_iter("hold and keep").collect();
        assert_eq!(found, vec![0..4, 9..13]);
        assert!(parts.compiled[1].get().is_some());
    }

    /// Parts that match at the same places find what their alternation
    /// finds: the first part where two start together, the leftmost
    /// otherwise, and nothing inside a match already taken.
    #[test]
    fn parts_take_turns_as_an_alternation_does() {
        let texts = [
            "xabcd abcd ab",
            "abcdab abab cdab",
            "ab\nabcd\n\u{e9}abcd",
            "abcd",
            "",
        ];
        for order in [["ab", "abcd"], ["abcd", "ab"]] {
            let parts = super::parts(
                "(?m)",
                &[
                    (&["ab"], order[0]),
                    (&["ab", "cd"], &format!("{}$|cd", order[1])),
                ],
            );
            let whole = parts.whole();
            for text in texts {
                let found: Vec<_> = parts.find_iter(text).collect();
                let expected = whole
                    .screen(text)
                    .map(|re| spans(re, text))
                    .unwrap_or_default();
                assert_eq!(found, expected, "{order:?} {text:?}");
                assert_eq!(parts.is_match(text), whole.is_match(text), "{text:?}");
            }
        }
    }

    #[test]
    fn words_at_a_word_edge_count_only_there() {
        let gate = super::words(&[r"\blegger", r"\ballegato\b", "anex", r"\bgoat"]);
        for (text, holds) in [
            ("Jeg legger ved", true),
            ("LEGGER ved", true),
            ("the bootleggers", false),
            ("x_legger", false),
            // Beside a letter other than ASCII a Unicode boundary may stand.
            ("\u{e9}legger", true),
            ("In allegato, il file", true),
            ("allegato", true),
            ("allegations", false),
            ("allegato_", false),
            ("allegatos allegato.", true),
            ("annex anexo", true),
            // A refused word does not hide a word that counts later on.
            ("bootleggers legger", true),
            ("scapegoat", false),
        ] {
            assert_eq!(gate.is_match(text), holds, "{text}");
        }
        // Across windows: a refused word in one, a counted one in the next.
        let mut text = "x".repeat(WINDOW - 3);
        text.push_str("legger ");
        assert!(!gate.is_match(&text));
        text.push_str(&"y ".repeat(WINDOW));
        text.push_str(" legger");
        assert!(gate.is_match(&text));
    }

    #[test]
    fn screened_patterns_match_as_the_unicode_pattern_does() {
        let boundary = Screened::gated(r"\bnote\b");
        assert!(boundary.is_match("a note\u{a0}here"));
        assert!(boundary.is_match("«note»"));
        // A Unicode letter next to the word: no boundary, no match.
        assert!(!boundary.is_match("énote"));
        assert!(boundary.ascii.is_match("énote"));
        assert!(
            boundary
                .screen("énote")
                .is_none_or(|re| !re.is_match("énote"))
        );
        assert!(boundary.screen("«note»").is_some());
        assert!(!boundary.is_match("notes"));
        // The end of a word whose last letter is not ASCII.
        let accented = Screened::gated(r"(?i)\bpodrá\b{end}");
        assert!(accented.is_match("Lo podrá ver mañana."));
        assert!(!accented.is_match("podráx"));
        assert!(!accented.is_match("podráé"));
    }

    /// On ASCII text the copy answers alone: it must find exactly what the
    /// pattern finds, word characters and word ends included.
    #[test]
    fn on_ascii_text_the_copy_finds_what_the_pattern_finds() {
        let screened = Screened::gated(
            r"(?i)\bthank(?:s|\s+you)\s+(?:(?-i:\w)+\s+){0,2}for\b|\b(?:va|podr[aá]s?)\b{end}|\bx(?-i:\w)*y",
        );
        for text in [
            "Thanks a lot for it; thanks for, thank you all for",
            "thanks my dear for, thanks_a_lot for",
            "thanks to all of you for",
            "va vamos va_ va. podras podra va1 podr",
            "xy x_9y x-y xyy",
        ] {
            let expected = spans(screened.unicode().regex(), text);
            assert_eq!(spans(screened.ascii.regex(), text), expected, "{text}");
            let screen = screened.screen(text);
            assert!(screen.is_none_or(|re| std::ptr::eq(re, screened.ascii.regex())));
            assert_eq!(screen.is_some(), !expected.is_empty(), "{text}");
        }
        // Elsewhere the copy is wider, and the pattern decides.
        for (text, matches) in [
            ("thanks très much for", true),
            ("thanks à tous for", true),
            ("va\u{e9}", false),
            ("podrá ver", true),
            ("x\u{e9}y", true),
            ("x\u{a0}y", false),
        ] {
            assert!(screened.ascii.is_match(text), "{text}");
            assert_eq!(screened.is_match(text), matches, "{text}");
            assert_eq!(screened.unicode().regex().is_match(text), matches, "{text}");
        }
    }

    /// Patterns with every construct [`super::widen`] rewrites: Unicode
    /// classes repeated with and without bounds, negated classes, classes
    /// and literals with non-ASCII characters, `\b{end}` and `(?-i:\w)`.
    static WIDENED: std::sync::LazyLock<Vec<(Screened, regex::Regex)>> = std::sync::LazyLock::new(
        || {
            [
                r"(?i)\bthank(?:s|\s+you)\s+(?:(?-i:\w)+\s+){0,2}for\b|\b(?:va|podr[aá]s?)\b{end}|\bx(?-i:\w)*y",
                r"(?im)\bci[-\s]joint(?:e|s)?\b|\bit['’]s\s+(?:[^\s.,;:!?]+\s+){1,2}?ok\b|^\s*bijlagen?\s*:",
                r"(?i)\bhab\b[^.!?\n]{0,4}\bangehängt\b|\bvedh(?:æ|ae)ft\b|[:\-–]\s*$|\bd.{0,2}b\b|\bk\W{1,2}s\b",
            ]
            .into_iter()
            .map(|p| (Screened::gated(p), regex::Regex::new(p).expect("valid")))
            .collect()
        },
    );

    proptest! {
        /// The copy finds what the pattern finds in ASCII text, and matches
        /// wherever it matches in other text: the screened pattern answers
        /// as the pattern.
        #[test]
        fn the_copy_screens_every_match(
            text in prop_oneof![
                WIDENED[0].0.texts(),
                WIDENED[1].0.texts(),
                WIDENED[2].0.texts(),
                "(?:[ a-z_.\n:'1-]|thanks|for|va|podr|hab|ci|ok|it|d|k|s|\u{e9}|\u{e1}|\u{e6}|\u{2019}|\u{2013}|\u{a0}|\u{2003}|\u{17f}|\u{212a}|\u{1F600}){0,12}",
            ]
        ) {
            for (screened, expected) in WIDENED.iter() {
                prop_assert!(screened.copy_agrees(&text), "{:?} {:?}", expected, text);
                prop_assert_eq!(screened.is_match(&text), expected.is_match(&text), "{:?}", expected);
                let found = screened.screen(&text).map(|re| spans(re, &text));
                let expected: Vec<_> = expected.find_iter(&text).map(|m| m.range()).collect();
                prop_assert_eq!(found.unwrap_or_default(), expected);
            }
        }
    }
}
