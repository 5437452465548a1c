//! A message as large as the NHSmail list: 1,200,000 recipients across To and
//! Cc, all rules on, with a configuration listing 10,000 lists; and a tenth
//! of it, to show the growth is linear.
// A benchmark: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use maillint::config::Config;
use maillint::linter::{Linter, Selection};
use maillint::message::parse_rfc5322;
use std::hint::black_box;

#[path = "support/corpus.rs"]
#[allow(dead_code)]
mod corpus;

/// Lists in the configuration: each recipient is looked up among them.
const LISTS: usize = 10_000;

fn recipients(c: &mut Criterion) {
    let linter = Linter::new(
        Config::parse(&corpus::lists_config(LISTS), "bench.toml").expect("bench config"),
        &Selection::default(),
    )
    .expect("linter");
    let mut group = c.benchmark_group("recipients");
    group.sample_size(10);
    for n in [120_000, 1_200_000] {
        let raw = corpus::many_recipients(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("{n}"), |b| {
            b.iter(|| {
                let msg = parse_rfc5322(black_box(&raw), 1).expect("parses");
                black_box(linter.check(&msg))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, recipients);
criterion_main!(benches);
