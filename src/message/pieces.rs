//! A large address header parsed on every core.
//!
//! mail-parser reads an address header in one serial pass: for a header of
//! a million addresses, an eighth of checking the message on one core while
//! the others wait. It has no entry point to start in the middle of a
//! header, so the header is cut here, at top-level commas, into pieces that
//! mail-parser parses one by one on every core. A cut is made only where
//! mail-parser is known to be back at the start of an entry, so that the
//! pieces give, in order, exactly the addresses and groups the whole header
//! gives: [`cuts`] follows mail-parser's own state machine (0.11.9,
//! `parsers/fields/address.rs`) byte for byte, and stops cutting where it
//! cannot be sure (an encoded word that may swallow a separator, a comment
//! that may name a later group).

use crate::guard::catch_panic;
use mail_parser::parsers::MessageStream;
use mail_parser::{Addr, Address, HeaderValue};
use rayon::prelude::*;
use std::borrow::Cow;
use std::ops::Range;

/// Which address headers are cut, and how finely.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cutting {
    /// Headers from this many bytes are cut.
    pub(super) from: usize,
    /// About how many bytes each piece holds.
    pub(super) piece: usize,
}

/// Ordinary address headers, a few KB, are parsed whole as they always
/// were; cutting is for headers of thousands of addresses.
pub(super) const CUTTING: Cutting = Cutting {
    from: 256 * 1024,
    piece: 64 * 1024,
};

/// Parses an address header's value (after the colon, up to and including
/// its final line break) in pieces on every core, and hands each piece's
/// addresses to `each`, in header order: `None` when a piece holds none.
pub(super) fn parse_in_pieces<'v>(
    value: &'v [u8],
    piece_bytes: usize,
    mut each: impl FnMut(Option<&mail_parser::Address<'v>>) + Send,
) {
    in_pieces(
        value,
        piece_bytes,
        |_, parsed| parsed,
        |parsed| {
            match parsed {
                HeaderValue::Address(list) => each(Some(&list)),
                _ => each(None),
            }
            true
        },
    );
}

/// Parses an address header's value in pieces on every core and turns
/// each piece's addresses into a `P` there too (`map`, given the piece's
/// range), then hands them to `merge` in header order, serially, until it
/// refuses one (false), which this returns.
///
/// The pieces are parsed a batch at a time while the previous batch is
/// handed over, so that only a few pieces' parsed addresses are held at
/// once, not a million.
pub(super) fn in_pieces<'v, P: Send>(
    value: &'v [u8],
    piece_bytes: usize,
    map: impl Fn(Range<usize>, HeaderValue<'v>) -> P + Sync,
    mut merge: impl FnMut(P) -> bool + Send,
) -> bool {
    let mut start = 0;
    let (cuts, plain) = cuts(value, piece_bytes);
    let pieces: Vec<(Range<usize>, bool)> = cuts
        .into_iter()
        .chain([value.len()])
        .zip(plain)
        .map(|(end, plain)| {
            let piece = start..end;
            start = end;
            (piece, plain)
        })
        .collect();
    let parse = |batch: &[(Range<usize>, bool)]| -> Vec<Result<P, String>> {
        batch
            .par_iter()
            .map(|(piece, plain)| {
                let bytes = value.get(piece.clone()).unwrap_or_default();
                catch_panic(|| {
                    let parsed = bare_addresses(bytes, *plain)
                        .unwrap_or_else(|| MessageStream::new(bytes).parse_address());
                    map(piece.clone(), parsed)
                })
            })
            .collect()
    };
    let mut hand_over = |parsed: Vec<Result<P, String>>| {
        for value in parsed {
            match value {
                Ok(value) => {
                    if !merge(value) {
                        return false;
                    }
                }
                // Raised again here, where the caller catches it (a panic
                // on another thread would be printed there first).
                Err(message) => std::panic::resume_unwind(Box::new(message)),
            }
        }
        true
    };
    let mut batches = pieces.chunks(4 * rayon::current_num_threads().max(1));
    let mut parsed = batches.next().map(parse).unwrap_or_default();
    for batch in batches {
        let (merged, next) = rayon::join(|| hand_over(parsed), || parse(batch));
        if !merged {
            return false;
        }
        parsed = next;
    }
    hand_over(parsed)
}

/// The addresses of a piece written as bare addresses only
/// (`a@x.example,\n b@y.example`), as mail-parser's parser gives them,
/// found without it: each entry's one word, an address if it holds an `@`
/// and a name otherwise. `None` when the piece holds anything else (display
/// names, quotes, comments, angle brackets, groups, encoded words, escapes,
/// non-ASCII), which mail-parser then reads. Programs write large headers
/// this way, and mail-parser's parse, with a string conversion per word,
/// was the largest part of reading one. `plain`: the piece is known to be
/// plain text (see [`plain_text`]).
fn bare_addresses(piece: &[u8], plain: bool) -> Option<HeaderValue<'_>> {
    if !(plain || plain_text(piece)) {
        return None;
    }
    // At most an address an entry: reserved at once, not grown by doubling.
    let mut addresses = Vec::with_capacity(memchr::memchr_iter(b',', piece).count() + 1);
    let bare = for_each_bare_word(piece, |word, is_address| {
        let word = Some(Cow::Borrowed(word));
        addresses.push(if is_address {
            Addr {
                name: None,
                address: word,
            }
        } else {
            Addr {
                name: word,
                address: None,
            }
        });
    });
    Some(match (bare, addresses.is_empty()) {
        (false, _) => return None,
        (true, true) => HeaderValue::Empty,
        (true, false) => HeaderValue::Address(Address::List(addresses)),
    })
}

/// Whether `piece`, plain text (see [`plain_text`]), is bare addresses
/// only: comma-separated entries of one word each, or of none, between
/// white space and folding; the last word, if the piece does not end with
/// a comma, followed by a line break (mail-parser keeps a word only once a
/// separator or line break ends it). Hands each word to `each`, with
/// whether it holds an `@`.
fn for_each_bare_word<'p>(piece: &'p [u8], mut each: impl FnMut(&'p str, bool)) -> bool {
    // Plain text is ASCII: words end on character boundaries.
    let Ok(text) = std::str::from_utf8(piece) else {
        return false;
    };
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let mut start = 0;
    for end in memchr::memchr_iter(b',', piece).chain([piece.len()]) {
        let entry = piece.get(start..end).unwrap_or_default();
        let leading = entry.iter().take_while(|&&b| is_space(b)).count();
        let trailing = entry[leading..]
            .iter()
            .rev()
            .take_while(|&&b| is_space(b))
            .count();
        let word = &entry[leading..entry.len() - trailing];
        if !word.is_empty() {
            // Without a branch per byte, so that it is vectorised.
            let (spaced, is_address) = word.iter().fold((false, false), |(s, a), &b| {
                (s | is_space(b), a | (b == b'@'))
            });
            let ended = end < piece.len() || entry[entry.len() - trailing..].contains(&b'\n');
            match text.get(start + leading..end - trailing) {
                Some(word) if ended && !spaced => each(word, is_address),
                _ => return false,
            }
        }
        start = end + 1;
    }
    true
}

/// Whether mail-parser reads `piece` as words between separators and
/// nothing else: printable ASCII but its specials (`\ < > " ( ) : ;`) and
/// `=` (which may open an encoded word), and white space, where every line
/// break folds or ends the piece (elsewhere it ends the header). Such a
/// piece holds only top-level commas.
fn plain_text(piece: &[u8]) -> bool {
    let plain = |b: u8| {
        let special = (b == b'\\')
            | (b == b'<')
            | (b == b'>')
            | (b == b'"')
            | (b == b'=')
            | (b == b'(')
            | (b == b')')
            | (b == b':')
            | (b == b';');
        let space = (b == b' ') | (b == b'\t') | (b == b'\r') | (b == b'\n');
        (b'!'..=b'~').contains(&b) & !special | space
    };
    let Some((&last, _)) = piece.split_last() else {
        return true;
    };
    // Each byte with the next, without a branch per byte, so that it is
    // vectorised.
    let pairs = piece.iter().zip(piece.get(1..).unwrap_or_default());
    plain(last)
        && pairs.fold(true, |all, (&b, &next)| {
            let folds = (b != b'\n') | (next == b' ') | (next == b'\t');
            all & plain(b) & folds
        })
}

/// mail-parser's address parser states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Name,
    Address,
    Quote,
    Comment,
}

/// Where to cut an address header's value: offsets just past top-level
/// commas, about `every` bytes apart. At each, mail-parser has just ended an
/// entry, outside any quoted string, comment, angle brackets or group, with
/// nothing pending, so parsing from there starts as it starts on a fresh
/// header. Commas inside a group (`team: a, b;`) are not cut, so that each
/// group is parsed whole.
///
/// Where the state becomes uncertain, cutting stops and the rest is one
/// piece. That piece must not hold a group's colon: mail-parser names the
/// header's last addresses after a comment before such a colon only when
/// it has met a group earlier in the header, which a piece cannot know.
///
/// With the cuts, for each piece, whether it is known to be plain text
/// (see [`plain_text`]).
fn cuts(value: &[u8], every: usize) -> (Vec<usize>, Vec<bool>) {
    if let Some(found) = cuts_on_every_core(value, every) {
        return found;
    }
    let mut cuts = Vec::new();
    let stopped = scan(value, 0, value.len(), every, &mut cuts);
    let rest = value.get(cuts.last().copied().unwrap_or(0)..);
    if stopped && rest.is_some_and(|rest| memchr::memchr(b':', rest).is_some()) {
        cuts.clear();
    }
    let unknown = vec![false; cuts.len() + 1];
    (cuts, unknown)
}

/// [`cuts`] found on every core, for a header of thousands of addresses
/// (following mail-parser's state byte by byte is a serial pass over tens
/// of MB): the header is cut about every `every` bytes just past the next
/// comma, whatever the state there, and each piece is then followed on its
/// own from the state a header starts in. If every piece ends with a comma
/// that leaves that state, with nothing uncertain on the way, then by
/// induction from the header's start each piece does start in it, and the
/// cuts are ones [`scan`] allows. Otherwise `None`, and the serial scan
/// decides.
fn cuts_on_every_core(value: &[u8], every: usize) -> Option<(Vec<usize>, Vec<bool>)> {
    let mut candidates = Vec::new();
    let mut from = every;
    while let Some(comma) = value
        .get(from..)
        .and_then(|rest| memchr::memchr(b',', rest))
    {
        let cut = from + comma + 1;
        if cut >= value.len() {
            break;
        }
        candidates.push(cut);
        from = cut + every.max(1) - 1;
    }
    if candidates.is_empty() {
        return None;
    }
    // Whether each piece is plain text, if every piece is clean.
    let plain: Option<Vec<bool>> = (0..=candidates.len())
        .into_par_iter()
        .map(|i| {
            let start = i.checked_sub(1).map_or(0, |before| candidates[before]);
            let end = candidates.get(i).copied().unwrap_or(value.len());
            // Plain text holds only top-level commas, the piece's last at
            // its end.
            if value.get(start..end).is_some_and(plain_text) {
                return Some(true);
            }
            let mut found = Vec::new();
            // Cutting every `end - start` bytes, the piece's only cut is at
            // its end, if its last comma leaves the state a header starts in.
            let stopped = scan(value, start, end, end - start, &mut found);
            (!stopped && (end == value.len() || found.last() == Some(&end))).then_some(false)
        })
        .collect();
    Some((candidates, plain?))
}

/// Pushes the cuts of [`cuts`] between `from` and `to`, following the
/// state from the one a header starts in at `from`, until the state
/// becomes uncertain, which it says (true) rather than reaching `to`.
fn scan(value: &[u8], from: usize, to: usize, every: usize, cuts: &mut Vec<usize>) -> bool {
    let mut next_cut = from + every;
    let mut state = State::Name;
    let mut stack: Vec<State> = Vec::new();
    // A backslash escaped the next character (mail-parser's `is_escaped`,
    // which a few characters leave set).
    let mut escaped = false;
    let mut in_group = false;
    // A comment since the last separator: before a group's colon it may
    // become the group's name, or outlive the group and name the next one.
    let mut comment = false;
    let mut i = from;
    while let Some(&b) = value.get(i).filter(|_| i < to) {
        i += 1;
        if !escaped && !STEERING_UNESCAPED[b as usize] {
            // Most bytes: part of a name or an address, changing nothing.
            continue;
        }
        match b {
            b'\n' => {
                match value.get(i) {
                    // Outside a quoted string, mail-parser skips the
                    // folding space unread.
                    Some(b' ' | b'\t') if state != State::Quote => i += 1,
                    Some(b' ' | b'\t') => {}
                    None => return false,
                    // Where the header ends for mail-parser.
                    Some(_) => return true,
                }
                continue;
            }
            b'\\' if state != State::Name && !escaped => {
                escaped = true;
                continue;
            }
            b',' if state == State::Name => {
                if !escaped && !in_group && i >= next_cut {
                    cuts.push(i);
                    next_cut = i + every;
                }
                comment = false;
                continue;
            }
            b'<' if state == State::Name => {
                stack.push(state);
                state = State::Address;
                continue;
            }
            b'>' if state == State::Address => {
                state = stack.pop().unwrap_or(State::Name);
                continue;
            }
            b'"' if !escaped && state == State::Name => {
                stack.push(state);
                state = State::Quote;
                continue;
            }
            b'"' if !escaped && state == State::Quote => {
                state = stack.pop().unwrap_or(State::Name);
                continue;
            }
            b'=' if !escaped && value.get(i) == Some(&b'?') => {
                // mail-parser may decode an encoded word here and skip its
                // bytes, or fail and read them one by one: the same to it
                // only if none of them changes its state.
                let end = encoded_word_end(value, i - 1);
                let word = value.get(i..end).unwrap_or_default();
                if word.iter().any(|&b| STEERING.contains(&b)) {
                    return true;
                }
                i = end;
                continue;
            }
            b' ' | b'\t' => {
                escaped = false;
                continue;
            }
            b'\r' => continue,
            b'(' if state != State::Quote && !escaped => {
                stack.push(state);
                if state != State::Comment {
                    state = State::Comment;
                    comment = true;
                    continue;
                }
                // A nested comment's parenthesis is part of the comment.
            }
            b')' if state == State::Comment && !escaped => {
                let outer = stack.pop().unwrap_or(State::Name);
                if outer != State::Comment {
                    state = outer;
                    continue;
                }
            }
            b':' if state == State::Name && !escaped => {
                if comment {
                    return true;
                }
                in_group = true;
                continue;
            }
            b';' if state == State::Name => {
                in_group = false;
                comment = false;
                continue;
            }
            _ => {}
        }
        escaped = false;
    }
    false
}

/// Bytes with a meaning of their own to mail-parser's address parser.
const STEERING: &[u8] = b"\n\r \t\\,<>\"():;";

/// The bytes [`scan`] must look at when no escape is pending: the others
/// (white space and `\r` included) leave its state as it is.
const STEERING_UNESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let bytes = b"\n\\,<>\"=():;";
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
};

/// Where an encoded word starting at `at` (`=?charset?q?text?=`) ends if
/// mail-parser decodes it: past the first `?=` after its charset and
/// encoding, or at the end of `value`.
fn encoded_word_end(value: &[u8], at: usize) -> usize {
    let text = value
        .get(at + 2..)
        .and_then(|rest| memchr::memchr(b'?', rest))
        .map_or(value.len(), |charset_end| at + 2 + charset_end + 3);
    value
        .get(text..)
        .and_then(|rest| memchr::memmem::find(rest, b"?="))
        .map_or(value.len(), |close| text + close + 2)
}

#[cfg(test)]
mod tests {
    use super::{Cutting, bare_addresses, cuts, cuts_on_every_core, scan};
    use crate::message::rfc5322::parse_rfc5322_cut;
    use mail_parser::HeaderValue;
    use mail_parser::parsers::MessageStream;
    use proptest::prelude::*;

    fn pieces(value: &str) -> Vec<&str> {
        let mut start = 0;
        let mut out: Vec<&str> = cuts(value.as_bytes(), 1)
            .0
            .into_iter()
            .map(|end| {
                let piece = &value[start..end];
                start = end;
                piece
            })
            .collect();
        out.push(&value[start..]);
        out
    }

    #[test]
    fn cuts_only_between_entries() {
        assert_eq!(
            pieces(" a@x.com, \"b, c\" <b@x.com>, (d, e) d@x.com,\n e@x.com\n"),
            [
                " a@x.com,",
                " \"b, c\" <b@x.com>,",
                " (d, e) d@x.com,",
                "\n e@x.com\n"
            ]
        );
        assert_eq!(
            pieces(" team: a@x.com, b@x.com;, c@x.com\n"),
            [" team: a@x.com, b@x.com;,", " c@x.com\n"]
        );
        assert_eq!(
            pieces(" <a,b@x.com>, =?utf-8?q?c=2Cd?= <c@x.com>, d@x.com\n"),
            [
                " <a,b@x.com>,",
                " =?utf-8?q?c=2Cd?= <c@x.com>,",
                " d@x.com\n"
            ]
        );
    }

    #[test]
    fn stops_cutting_where_unsure() {
        // The encoded word's text holds a comma: decoded, it is no separator.
        assert_eq!(
            pieces(" a@x.com, =?utf-8?q?c,d?= <c@x.com>, d@x.com\n"),
            [" a@x.com,", " =?utf-8?q?c,d?= <c@x.com>, d@x.com\n"]
        );
        // An escaped `>` leaves the escape pending past the comma.
        assert_eq!(
            pieces(" <a\\>, \"b\" c@x.com, d@x.com\n"),
            [" <a\\>, \"b\" c@x.com,", " d@x.com\n"]
        );
        // A comment before a group's colon may name a later group: not
        // cut at all, since the piece holding the colon would not know of
        // the group before it.
        assert_eq!(
            pieces(" g: (x);, (, ):, a@x.com, \n"),
            [" g: (x);, (, ):, a@x.com, \n"]
        );
        assert_eq!(
            pieces(" a@x.com, =?q?x,y?= g:, b@x.com\n"),
            [" a@x.com, =?q?x,y?= g:, b@x.com\n"]
        );
    }

    /// Entries as people and programs write them, and broken ones.
    fn entry() -> impl Strategy<Value = String> {
        let fragment = prop_oneof![
            Just("ann@example.com".to_string()),
            Just("Bob Smith <bob@Example.org>".to_string()),
            Just("\"Smith, Bob\" <bob@example.org>".to_string()),
            Just("\"a \\\" b, c\" <x@y.example>".to_string()),
            Just("(work, old) carol@example.net".to_string()),
            Just("dave@example.net (Dave, (nested) comment)".to_string()),
            Just("<eve@example.com>".to_string()),
            Just("<>".to_string()),
            Just("< >".to_string()),
            Just("\"john doe\"@example.com".to_string()),
            Just("=?UTF-8?B?QW5uIEV4YW1wbGU=?= <ann@org.example>".to_string()),
            Just("=?utf-8?q?Smith=2C_B?= <bs@example.com>".to_string()),
            Just("=?utf-8?q?Smith,_B?= <bs@example.com>".to_string()),
            Just("=?utf-8?q?broken <x@example.com>".to_string()),
            Just("team: a@example.com, \"b, c\" <b@example.com>;".to_string()),
            Just("undisclosed-recipients:;".to_string()),
            Just("(note) list: x@example.com;".to_string()),
            Just("group: (to follow);".to_string()),
            Just("mrs.khan.hotmail.co.uk".to_string()),
            Just("j.doe@@example.com".to_string()),
            Just("John Smith".to_string()),
            "[a-c@.<>\"(),;:\\= ?]{1,12}",
        ];
        fragment
    }

    fn header() -> impl Strategy<Value = String> {
        let separator = prop_oneof![
            Just(", "),
            Just(","),
            Just(",\n "),
            Just(",\r\n\t"),
            Just(" ,\n  "),
            Just("; "),
            Just("\n "),
        ];
        proptest::collection::vec((entry(), separator), 1..24).prop_map(|entries| {
            entries
                .into_iter()
                .map(|(entry, separator)| entry + separator)
                .collect()
        })
    }

    /// Every comma the serial scan may cut at.
    fn allowed(value: &str) -> Vec<usize> {
        let mut all = Vec::new();
        scan(value.as_bytes(), 0, value.len(), 1, &mut all);
        all
    }

    fn parsed_by_mail_parser(piece: &str) -> HeaderValue<'_> {
        MessageStream::new(piece.as_bytes()).parse_address()
    }

    #[test]
    fn bare_addresses_are_read_as_mail_parser_reads_them() {
        for piece in [
            " a@x.com,\r\n b@y.org,\n\tc@z.net\n",
            "a@x.com,,  ,b@y.org ,",
            " mrs.khan.hotmail.co.uk, @x.com, a@@b, [a]@b!#$%&'*+-/?^_`{|}~.c\n",
            "",
            " ,\n ",
            "a@x.com \r\n",
        ] {
            let bare = bare_addresses(piece.as_bytes(), false);
            assert_eq!(bare, Some(parsed_by_mail_parser(piece)), "{piece:?}");
        }
        // mail-parser joins these, or stops, or decodes: it reads them.
        for piece in [
            "a@x.com b@y.org,",
            "a@x.com\nb@y.org,",
            "a@x.com",
            "a@x.com ",
            "Ann <a@x.com>,",
            "=?utf-8?q?a?=@x.com,",
            "a@x.com (c),",
            "g: a@x.com;",
            "\"a\"@x.com,",
            "caf\u{e9}@x.com,",
        ] {
            assert_eq!(bare_addresses(piece.as_bytes(), false), None, "{piece:?}");
        }
    }

    #[test]
    fn cuts_found_on_every_core_are_cuts_the_serial_scan_allows() {
        let plain: String = (0..2_000)
            .map(|i| format!("u{i}@example.com,\r\n "))
            .collect::<String>()
            + "last@example.com\r\n";
        let (found, known_plain) = cuts_on_every_core(plain.as_bytes(), 1_000).unwrap();
        assert!(found.len() > 30);
        assert!(known_plain.len() == found.len() + 1 && known_plain.iter().all(|&p| p));
        let all = allowed(&plain);
        assert!(found.iter().all(|cut| all.contains(cut)));
        // A long quoted name holds the commas past the first cut: that
        // piece does not end where a header starts again, so the serial
        // scan decides.
        let quoted = format!("a@x.com, \"{}\" <b@x.com>, c@x.com\n", "n, ".repeat(1_000));
        assert_eq!(cuts_on_every_core(quoted.as_bytes(), 100), None);
        assert_eq!(
            cuts(quoted.as_bytes(), 100).0,
            [quoted.find(">,").unwrap() + 2]
        );
    }

    /// Pieces of bare addresses, and of bytes that make them not bare.
    fn bare_piece() -> impl Strategy<Value = String> {
        let word = prop_oneof!["[a-c@.]{0,6}", "[a-c@.=<>\"(),;:\\!\u{e9}]{1,4}",];
        let separator = prop_oneof![
            Just(","),
            Just(", "),
            Just(",\n "),
            Just(",\r\n\t"),
            Just(" ,"),
            Just(" "),
            Just("\n"),
            Just("\r"),
            Just("\n \n "),
            Just(""),
        ];
        proptest::collection::vec((separator.clone(), word, separator), 0..8).prop_map(|words| {
            words
                .into_iter()
                .map(|(before, word, after)| format!("{before}{word}{after}"))
                .collect()
        })
    }

    proptest! {
        /// Whatever is read as bare addresses is what mail-parser reads.
        #[test]
        fn bare_addresses_are_what_mail_parser_reads(piece in bare_piece()) {
            if let Some(bare) = bare_addresses(piece.as_bytes(), false) {
                prop_assert_eq!(bare, parsed_by_mail_parser(&piece));
            }
        }

        /// Cuts found on every core, when they are found, are cuts the
        /// serial scan allows.
        #[test]
        fn cuts_on_every_core_are_allowed(value in header(), every in 1usize..40) {
            if let Some((found, plain)) = cuts_on_every_core(value.as_bytes(), every) {
                prop_assert_eq!(plain.len(), found.len() + 1);
                let all = allowed(&value);
                prop_assert!(found.iter().all(|cut| all.contains(cut)), "{:?} not all in {:?}", found, all);
            }
        }

        /// Cutting every header at commas it can (every one it can, or
        /// about every `piece` bytes) gives the model the whole-header
        /// parse gives: the same addresses, names, groups, header values
        /// and lines, string for string, whether the pieces' addresses
        /// were placed on every core or, that found unsure, serially.
        #[test]
        fn pieces_parse_as_the_whole_header(to in header(), cc in header(), piece in 1usize..80) {
            let raw = format!("From: me@example.com\nTo: {to}\nSubject: s\nCc: {cc}\n\nbody\n");
            let whole = Cutting { from: usize::MAX, piece: 1 };
            let cut = Cutting { from: 0, piece };
            let expected = parse_rfc5322_cut(raw.as_bytes(), 3, whole);
            let got = parse_rfc5322_cut(raw.as_bytes(), 3, cut);
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn a_large_header_is_cut_and_parses_as_a_whole() {
        let to: Vec<String> = (0..20_000)
            .map(|i| match i % 5 {
                0 => format!("\"Smith, {i}\" <u{i}@example.com>"),
                1 => format!("team{i}: a{i}@example.com, b{i}@example.org;"),
                2 => format!("(c, {i}) c{i}@example.net"),
                3 => format!("=?utf-8?q?d=2C_{i}?= <d{i}@example.com>"),
                _ => format!("e{i}@example.com"),
            })
            .collect();
        let to = to.join(",\r\n ");
        assert!(cuts(to.as_bytes(), super::CUTTING.piece).0.len() > 4);
        let raw = format!("From: me@example.com\r\nTo: {to}\r\n\r\nbody\r\n");
        let whole = Cutting {
            from: usize::MAX,
            piece: 1,
        };
        let msg = parse_rfc5322_cut(raw.as_bytes(), 1, super::CUTTING).unwrap();
        assert_eq!(msg.groups.len(), 4_000);
        assert_eq!(msg.recipients().count(), 24_000);
        assert_eq!(msg, parse_rfc5322_cut(raw.as_bytes(), 1, whole).unwrap());
    }
}
