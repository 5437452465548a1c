//! One small message end to end as a process: binary start, config
//! discovery, parse, rules, print. What a person waits for before a send.
// A benchmark: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::process::Command;

fn startup(c: &mut Criterion) {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/incidents/nhs-normal-to-team.eml"
    );
    let dir = std::env::temp_dir();
    c.bench_function("check one small .eml as a process", |b| {
        b.iter(|| {
            let status = Command::new(env!("CARGO_BIN_EXE_maillint"))
                .current_dir(&dir)
                // Never the history index of whoever runs it.
                .env("XDG_DATA_HOME", dir.join("maillint-bench-no-data"))
                .args(["check", fixture, "--color", "never"])
                .output()
                .expect("maillint runs");
            assert!(status.status.success());
        })
    });
}

criterion_group!(benches, startup);
criterion_main!(benches);
