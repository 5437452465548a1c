//! What parsing a message will cost, estimated before mail-parser sees it.
//!
//! mail-parser (0.11) is linear on ordinary mail, but some shapes of input
//! make it scan the same bytes again and again:
//!
//! - every `=?` in a header starts an RFC 2047 decode attempt that, when no
//!   `?=` closes it, reads to the end of the (unfolded) header before giving
//!   up, and the next `=?` starts over: quadratic in the header's length;
//! - every multipart part whose boundary never appears makes the parser
//!   read to the end of the message looking for it, then go back;
//! - every `--` in the message is compared against the boundary in force,
//!   so a very long boundary costs its length at each `--`;
//! - RFC 2231 parameter continuations (`name*1=...`) are merged by
//!   re-copying the parameter for each one: quadratic in their number.
//!
//! One linear pass bounds each of these from above. A message whose bound
//! exceeds a generous multiple of its size is refused with a one-line error
//! naming the cause, rather than hanging the sending path for minutes.

use super::ParseError;
use memchr::{memchr_iter, memmem};
use std::collections::HashMap;
use std::sync::LazyLock;

/// Steps of work allowed beyond one pass, per byte of the message.
const STEPS_PER_BYTE: u64 = 16;
/// Steps allowed whatever the size, so small messages are never refused.
const BASE_STEPS: u64 = 256 * 1024 * 1024;

/// Messages up to this size are never refused, so their cost is not
/// estimated (most real mail is this small). Each estimate below counts at
/// most one event per byte, each reading at most the whole message: at most
/// the square of its length, and the four together within [`BASE_STEPS`].
const ALWAYS_AFFORDABLE: usize = 8 * 1024;
const _: () = assert!(4 * (ALWAYS_AFFORDABLE as u64).pow(2) <= BASE_STEPS);

/// The work budget for a message of `len` bytes.
fn budget(len: usize) -> u64 {
    BASE_STEPS.saturating_add(STEPS_PER_BYTE.saturating_mul(len as u64))
}

/// Refuses a message whose structure would make parsing take far longer
/// than its size warrants. The error is one line, naming the cause.
pub(crate) fn check_parse_cost(raw: &[u8]) -> Result<(), ParseError> {
    if raw.len() <= ALWAYS_AFFORDABLE {
        return Ok(());
    }
    // Independent passes over a large message: on every core.
    let ((encoded, continued), (missing, long)) = rayon::join(
        || rayon::join(|| encoded_word_rescans(raw), || continuation_merges(raw)),
        || boundary_costs(raw),
    );
    let costs = [
        (
            encoded,
            "unterminated encoded words (`=?` without `?=`) in long headers",
        ),
        (missing, "multipart boundaries that never appear"),
        (long, "a very long MIME boundary"),
        (
            continued,
            "too many RFC 2231 parameter continuations (`name*1=`)",
        ),
    ];
    let total = costs
        .iter()
        .fold(0u64, |sum, (c, _)| sum.saturating_add(*c));
    if total <= budget(raw.len()) {
        return Ok(());
    }
    let cause = costs
        .iter()
        .max_by_key(|(c, _)| *c)
        .map_or("its structure", |(_, cause)| cause);
    Err(ParseError::TooCostly(cause))
}

/// Positions of each line break not followed by folding white space, and
/// the end of the input: where a header field (or a body line) ends.
fn unfolded_ends(raw: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr_iter(b'\n', raw)
        .filter(|&i| !matches!(raw.get(i + 1), Some(b' ' | b'\t')))
        .chain(std::iter::once(raw.len()))
}

/// Bytes read by RFC 2047 decode attempts: each `=?` reads up to the first
/// `?=` after it, or the end of its unfolded line. Body lines are counted
/// as if they were headers, which only overestimates.
///
/// Only the stretches from a `=?` to what ends its attempt are walked event
/// by event; between them the next `=?` is jumped to, so that a message
/// without one costs a vector search, not a step at each line break.
fn encoded_word_rescans(raw: &[u8]) -> u64 {
    let open_finder = memmem::Finder::new(b"=?");
    let close_finder = memmem::Finder::new(b"?=");
    let find = |finder: &memmem::Finder<'_>, from: usize| {
        raw.get(from..)
            .and_then(|rest| finder.find(rest))
            .map_or(usize::MAX, |i| from + i)
    };
    // The next line break not followed by folding white space, or the end.
    let unfolded_end = |from: usize| {
        let mut at = from;
        while let Some(i) = raw.get(at..).and_then(|rest| memchr::memchr(b'\n', rest)) {
            let end = at + i;
            if !matches!(raw.get(end + 1), Some(b' ' | b'\t')) {
                return end;
            }
            at = end + 1;
        }
        raw.len()
    };
    // The next open, close and end, each at or after where the walk is:
    // searched again only once passed, so every byte is searched once for
    // each.
    let mut open = find(&open_finder, 0);
    let (mut close, mut end) = (0usize, 0usize);
    let mut searched_close = false;
    let mut searched_end = false;
    // Past the last close taken: `=?=` leaves its opening's attempt open
    // after its close.
    let mut close_from = 0usize;
    // Open attempts: how many, the sum of their positions, and the last one.
    let (mut count, mut sum, mut last) = (0u64, 0u64, 0usize);
    let mut cost = 0u64;
    let mut resolve = |count: &mut u64, sum: &mut u64, at: usize| {
        cost = cost.saturating_add((*count).saturating_mul(at as u64).saturating_sub(*sum));
        *count = 0;
        *sum = 0;
    };
    while open != usize::MAX || count > 0 {
        if count == 0 {
            // Nothing open: closes and ends change nothing until the next
            // open, which starts an attempt.
            count = 1;
            sum = open as u64;
            last = open;
            open = find(&open_finder, open + 2);
        }
        if !searched_close || close <= last {
            close = find(&close_finder, close_from.max(last + 1));
            searched_close = true;
        }
        if !searched_end || end < last {
            end = unfolded_end(last);
            searched_end = true;
        }
        if open < close && open < end {
            count += 1;
            sum = sum.saturating_add(open as u64);
            last = open;
            open = find(&open_finder, open + 2);
        } else if close < end {
            // In `=?=` the `?=` is the opening's own `?`: it closes
            // the attempts before it, not that one.
            if last + 1 == close {
                count -= 1;
                sum = sum.saturating_sub(last as u64);
                resolve(&mut count, &mut sum, close);
                count = 1;
                sum = last as u64;
            } else {
                resolve(&mut count, &mut sum, close);
            }
            close_from = close + 2;
            searched_close = false;
        } else {
            resolve(&mut count, &mut sum, end);
            searched_end = false;
        }
    }
    cost
}

/// Where `boundary` stands in any case of its ASCII letters, as
/// aho-corasick's case-insensitive automaton found it (a word that cannot
/// overlap itself: every occurrence). The automaton stepped through every
/// byte of every message of more than 8 KB, twice (22 M instructions on
/// the 250 messages of the SpamAssassin hard ham); then a `b` jumped to
/// with memchr cost 28 M on the public real mail (one byte in seventy of
/// text, one in thirty of base64). Its last four letters, `dary`, are
/// rare (`boundary`, `secondary`, `legendary`): their sixteen cases are
/// searched together, vectorised (aho-corasick's packed Teddy searcher),
/// and the word compared around them.
fn boundary_words(raw: &[u8]) -> impl Iterator<Item = usize> + '_ {
    DARY.iter()
        .flat_map(move |dary| dary.find_iter(raw))
        .filter_map(move |found| {
            let at = found.start().checked_sub(BOUNDARY.len() - 4)?;
            raw.get(at..at + BOUNDARY.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(BOUNDARY))
                .then_some(at)
        })
}

/// The sixteen cases of `dary`. Sixteen patterns of four bytes are
/// within what the packed searcher takes everywhere (on machines without
/// its vector code, by Rabin-Karp); a test checks that it is built.
static DARY: LazyLock<Option<aho_corasick::packed::Searcher>> = LazyLock::new(|| {
    let cases = (0..16u8).map(|upper| {
        b"dary"
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                if upper >> i & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect::<Vec<u8>>()
    });
    aho_corasick::packed::Searcher::new(cases)
});

const BOUNDARY: &[u8] = b"boundary";

/// Each `boundary=` parameter with its value and where it is declared. A
/// `boundary` inside the value of the one before is part of that value,
/// which also keeps this scan linear (`boundary=boundary=boundary=...`).
fn boundary_declarations(raw: &[u8]) -> impl Iterator<Item = (usize, &[u8])> + '_ {
    let mut value_end = 0;
    boundary_words(raw).filter_map(move |found| {
        if found < value_end {
            return None;
        }
        let skip = |at: usize, what: fn(&u8) -> bool| {
            at + raw
                .get(at..)
                .map_or(0, |r| r.iter().take_while(|b| what(b)).count())
        };
        let mut at = found + BOUNDARY.len();
        // `boundary*0=` continuations: the first piece stands in for it.
        if raw.get(at) == Some(&b'*') {
            at = skip(at + 1, u8::is_ascii_digit);
            if raw.get(at) == Some(&b'*') {
                at += 1;
            }
        }
        at = skip(at, |b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
        if raw.get(at) != Some(&b'=') {
            return None;
        }
        at = skip(at + 1, |b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
        let (start, end) = if raw.get(at) == Some(&b'"') {
            (at + 1, skip(at + 1, |&b| b != b'"' && b != b'\n'))
        } else {
            let token = |&b: &u8| b != b';' && b != b'"' && !b.is_ascii_whitespace();
            (at, skip(at, token))
        };
        value_end = end;
        let value = raw.get(start..end)?;
        (!value.is_empty()).then_some((found, value))
    })
}

/// Bytes read looking for boundaries that never appear after their
/// declaration, and bytes compared against boundaries too long; one pass
/// over the declarations for both.
///
/// Each multipart whose boundary never appears after its declaration makes
/// the parser read to the end. A boundary counts as present only as a
/// whole `--boundary` line (as senders write them); the parser also finds
/// it inside a line, so this only overestimates.
///
/// At each `--` the parser compares up to the length of the longest
/// boundary declared: counted when that is longer than any sender uses.
fn boundary_costs(raw: &[u8]) -> (u64, u64) {
    let mut declarations = boundary_declarations(raw).peekable();
    if declarations.peek().is_none() {
        return (0, 0);
    }
    // The last line start where each `--token` line appears. Lines that
    // start with `--` are jumped to: stepping through every line break
    // cost more than the rest of the estimate.
    let mut last_seen: HashMap<&[u8], usize, foldhash::fast::RandomState> = HashMap::default();
    let starts = std::iter::once(0).chain(memmem::find_iter(raw, b"\n--").map(|i| i + 1));
    for start in starts {
        let Some(line) = raw.get(start..).and_then(|r| r.strip_prefix(b"--")) else {
            continue;
        };
        let len = memchr::memchr(b'\n', line).unwrap_or(line.len());
        let token = line[..len].trim_ascii_end();
        last_seen.insert(token, start);
        if let Some(open) = token.strip_suffix(b"--") {
            last_seen.insert(open, start);
        }
    }
    let (mut missing, mut longest) = (0u64, 0usize);
    for (at, value) in declarations {
        if last_seen.get(value).is_none_or(|&seen| seen < at) {
            missing = missing.saturating_add((raw.len() - at) as u64);
        }
        longest = longest.max(value.len());
    }
    if longest <= ORDINARY_BOUNDARY_LEN {
        return (missing, 0);
    }
    // Non-overlapping matches: `----` counts 2 of its 3 pairs.
    let dashes = 2 * memmem::find_iter(raw, b"--").count() as u64;
    (missing, dashes.saturating_mul(longest as u64))
}

/// Boundaries up to this long cost at most this many bytes per `--`: a
/// constant factor, not counted. RFC 2046 allows 70; senders stay below.
const ORDINARY_BOUNDARY_LEN: usize = 256;

/// Work merging parameter continuations: per header field, the number of
/// `*<digit>` markers times the field's length.
fn continuation_merges(raw: &[u8]) -> u64 {
    let mut markers = memchr_iter(b'*', raw)
        .filter(|&i| raw.get(i + 1).is_some_and(u8::is_ascii_digit))
        .peekable();
    if markers.peek().is_none() {
        return 0;
    }
    let mut cost = 0u64;
    let mut start = 0usize;
    for end in unfolded_ends(raw) {
        let mut count = 0u64;
        while markers.next_if(|&m| m < end).is_some() {
            count += 1;
        }
        cost = cost.saturating_add(count.saturating_mul((end - start) as u64));
        start = end;
    }
    cost
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing_boundary_rescans(raw: &[u8]) -> u64 {
        boundary_costs(raw).0
    }

    fn boundary_comparisons(raw: &[u8]) -> u64 {
        boundary_costs(raw).1
    }

    /// [`encoded_word_rescans`] by its definition, attempt by attempt:
    /// each `=?` reads to the first `?=` after it that is not its own `?`
    /// followed by `=`, or to the end of its unfolded line.
    fn rescans_by_definition(raw: &[u8]) -> u64 {
        let closes: Vec<usize> = memmem::find_iter(raw, b"?=").collect();
        let ends: Vec<usize> = unfolded_ends(raw).collect();
        memmem::find_iter(raw, b"=?")
            .map(|open| {
                let close = closes.iter().find(|&&c| c > open + 1);
                let end = ends.iter().find(|&&e| e > open);
                let stop = close.into_iter().chain(end).min().copied();
                (stop.unwrap_or(raw.len()) - open) as u64
            })
            .sum()
    }

    #[test]
    fn messages_skipped_as_small_are_within_the_budget_whatever_their_shape() {
        let fill = |unit: &str| {
            unit.repeat(ALWAYS_AFFORDABLE / unit.len() + 1)[..ALWAYS_AFFORDABLE].to_owned()
        };
        let shapes = [
            fill("=?"),
            fill("=?="),
            fill("boundary=b\n"),
            format!("Content-Type: multipart/mixed; boundary={}", fill("-")),
            fill("n*1=a;"),
            fill("*1"),
            fill("--"),
        ];
        for shape in shapes {
            let raw = &shape.as_bytes()[..ALWAYS_AFFORDABLE];
            let total = encoded_word_rescans(raw)
                + missing_boundary_rescans(raw)
                + boundary_comparisons(raw)
                + continuation_merges(raw);
            assert!(total <= budget(raw.len()), "{total}");
        }
    }

    #[test]
    fn the_searcher_for_boundary_words_is_built() {
        assert!(DARY.is_some());
    }

    proptest::proptest! {
        /// The walk from `=?` to `=?` counts what each attempt reads.
        #[test]
        fn encoded_word_rescans_agree_with_the_reference(text in "(?:=\\?|\\?=|=|\\?|\n|\n |\n\t|x{1,3}){0,40}") {
            proptest::prop_assert_eq!(
                encoded_word_rescans(text.as_bytes()),
                rescans_by_definition(text.as_bytes())
            );
        }

        /// `boundary` is found where a case-insensitive automaton finds it.
        #[test]
        fn boundary_words_are_found_in_any_case(text in "(?:[bB][oO]?[uU]?[nN]?[dD]?[aA]?[rR]?[yY]?|ary|[=x ]){0,12}") {
            let automaton = aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(["boundary"])
                .unwrap();
            let expected: Vec<usize> = automaton.find_iter(&text).map(|m| m.start()).collect();
            let found: Vec<usize> = boundary_words(text.as_bytes()).collect();
            proptest::prop_assert_eq!(found, expected);
        }
    }

    #[test]
    fn ordinary_mail_costs_nothing_extra() {
        let raw = b"From: =?utf-8?q?Ann_M=C3=BCller?= <ann@example.org>\nSubject: =?utf-8?b?SGVsbG8=?= =?utf-8?q?x?=\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain; name*0=\"a\"; name*1=\"b\"\n\nhi -- there\n--b1--\n";
        assert!(encoded_word_rescans(raw) < 200);
        assert_eq!(missing_boundary_rescans(raw), 0);
        assert_eq!(boundary_comparisons(raw), 0);
        // A message of dashes with an ordinary boundary is not refused.
        let mut dashes = b"Content-Type: multipart/mixed; boundary=\"----=_NextPart_000_0012_01D6ABCD.12345678\"\n\n".to_vec();
        dashes.extend(b"-".repeat(20 << 20));
        assert!(check_parse_cost(&dashes).is_ok());
        assert!(continuation_merges(raw) < 200);
        assert!(check_parse_cost(raw).is_ok());
    }

    #[test]
    fn unterminated_encoded_words_are_quadratic() {
        let mut raw = b"Subject: ".to_vec();
        raw.extend(b"=?ab?q? ".repeat(1000));
        raw.extend(b"\n\nbody\n");
        let cost = encoded_word_rescans(&raw);
        assert!(cost > 1000 * 8000 / 2 - 8000, "{cost}");
        // Closed words cost only their own length.
        let closed = b"Subject: =?ab?q?x?= ".repeat(1000);
        assert!(encoded_word_rescans(&closed) < 20_000);
        // `=?=` does not close itself.
        assert!(encoded_word_rescans(b"X: =?=aaaaaaaaaa\n") >= 10);
    }

    #[test]
    fn missing_boundaries_cost_the_rest_of_the_message() {
        let raw = b"Content-Type: multipart/mixed; BOUNDARY=abc\n\n--abc\nx\n--nope\n";
        assert_eq!(missing_boundary_rescans(raw), 0);
        let raw = b"Content-Type: multipart/mixed; boundary = \"zz\"\n\n--abc\nx\n";
        assert_eq!(missing_boundary_rescans(raw), raw.len() as u64 - 31);
        let closed_only = b"Content-Type: multipart/mixed; boundary=zz\n\n--zz--\n";
        assert_eq!(missing_boundary_rescans(closed_only), 0);
    }

    #[test]
    fn the_estimate_itself_is_linear() {
        // Each value would run to the end of the input if it were
        // scanned anew for every `boundary=` in it.
        let raw = b"boundary=".repeat(200_000);
        let declared: Vec<_> = boundary_declarations(&raw).collect();
        assert_eq!(declared.len(), 1);
        assert_eq!(declared[0].1.len(), raw.len() - 9);
        let quoted = b"boundary=\"a\" boundary=\"b\"";
        let values: Vec<_> = boundary_declarations(quoted).map(|(_, v)| v).collect();
        assert_eq!(values, [b"a", b"b"]);
    }

    #[test]
    fn refuses_what_would_hang_and_says_why() {
        let mut raw = b"From: a@example.org\nSubject: ".to_vec();
        raw.extend(b"=?ab?q? ".repeat(20_000));
        raw.extend(b"\n\nbody\n");
        let err = check_parse_cost(&raw).unwrap_err().to_string();
        assert!(err.contains("encoded words"), "{err}");
        assert!(!err.contains('\n'));

        let mut raw = b"Content-Type: multipart/mixed; boundary=\"".to_vec();
        raw.extend(b"-".repeat(100_000));
        raw.extend(b"x\"\n\n");
        raw.extend(b"-".repeat(10_000));
        let err = check_parse_cost(&raw).unwrap_err().to_string();
        assert!(err.contains("long MIME boundary"), "{err}");
    }
}
