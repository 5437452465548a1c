//! End to end over a generated corpus of 10,000 varied messages, all rules
//! on: reading the files, parsing, checking. Reported in bytes per second.
// A benchmark: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use maillint::config::Config;
use maillint::input::Input;
use maillint::linter::{Linter, Selection};
use std::hint::black_box;
use std::path::Path;

#[path = "support/corpus.rs"]
#[allow(dead_code)]
mod corpus;

pub const MESSAGES: usize = 10_000;

fn throughput(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-corpus");
    let (_, bytes) = corpus::write_corpus(&dir, MESSAGES);
    let config = Config::parse(corpus::NO_HISTORY, "bench.toml").expect("bench config");
    let linter = Linter::new(config, &Selection::default()).expect("linter");
    let mut group = c.benchmark_group("corpus");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("check 10k messages", |b| {
        b.iter(|| black_box(maillint::check(&[Input::Path(dir.clone())], &linter)))
    });
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
