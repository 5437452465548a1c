//! Work grows linearly with the input: each shape that could make some
//! stage quadratic is timed at two sizes. A file of its own, so that no
//! other test runs beside it and disturbs the times.

use cpu_time::ProcessTime;
use maillint::config::Config;
use maillint::linter::{Linter, Selection};
use shapes::*;
use std::time::Duration;

mod shapes;

/// How much CPU one check of `bytes` takes, on every thread of the test
/// process (large headers are parsed on several).
fn check_time(linter: &Linter, bytes: &[u8]) -> Duration {
    let start = ProcessTime::now();
    let report = maillint::check_bytes("t", bytes, linter);
    let took = start.elapsed();
    assert_eq!(report.messages.len() + report.errors.len(), 1);
    took
}

/// A kind of input: its name, a size, and how to make it at a size.
type Shape = (&'static str, usize, fn(usize) -> Vec<u8>);

/// Sixteen times the input takes about sixteen times as long, not 256:
/// each shape that could make some stage quadratic (folding, fields,
/// address lists and groups, encoded words, MIME scanning and nesting, the
/// cost guard's own pass) is timed at n and 16n. Each size is checked at
/// least five times, in turn with the other, and the fastest run of each
/// is compared: the runs least disturbed by whatever else the machine is
/// doing. The bound of three times linear leaves room for what disturbance
/// remains and for memory effects, while quadratic work would take 256
/// times as long.
#[test]
fn work_grows_linearly() {
    const FACTOR: usize = 16;
    const BOUND: f64 = 3.0 * FACTOR as f64;
    let linter = Linter::new(no_history(Config::default()), &Selection::default()).unwrap();
    let shapes: [Shape; 8] = [
        ("folded Subject lines", 12_500, |n| {
            folded_header("Subject", "\n word", n)
        }),
        ("folded Cc lines", 12_500, |n| folded_header("Cc", "\n ", n)),
        ("header fields", 2_500, header_fields),
        ("open address groups", 500, open_groups),
        ("encoded display names", 500, encoded_names),
        (
            "lines inside an unclosed boundary",
            5_000,
            unclosed_boundary,
        ),
        (
            "unterminated encoded words (refused)",
            50_000,
            unterminated_encoded_words,
        ),
        ("multiparts nested deep", 500, nested_multipart),
    ];
    for (name, n, shape) in shapes {
        let (small_input, large_input) = (shape(n), shape(FACTOR * n));
        let (mut small, mut large) = (Duration::MAX, Duration::MAX);
        let mut ratio = f64::INFINITY;
        // On a busy machine, more rounds until the fastest runs show the
        // ratio, which quadratic work would never reach.
        for round in 1..=20 {
            small = small.min(check_time(&linter, &small_input));
            large = large.min(check_time(&linter, &large_input));
            ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-6);
            if round >= 5 && ratio < BOUND {
                break;
            }
        }
        eprintln!(
            "{name}: x{n} {small:.2?}, x{} {large:.2?}: {ratio:.1} times",
            FACTOR * n
        );
        assert!(
            ratio < BOUND,
            "{name}: {FACTOR} times the input took {ratio:.1} times as long (linear: {FACTOR}, quadratic: {})",
            FACTOR * FACTOR
        );
    }
}
