//! Writes the inputs `scripts/bench` measures, the same ones the criterion
//! benches generate: the corpus of 10,000 varied messages, the 120,000- and
//! 1,200,000-recipient messages, and the configuration listing 10,000 lists.
//!
//! `cargo run --release --example bench_corpus -- DIR`
// An example: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../benches/support/corpus.rs"]
mod corpus;

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "bench-data".into()),
    );
    let (paths, bytes) = corpus::write_corpus(&dir.join("corpus"), 10_000);
    println!(
        "{} messages, {bytes} bytes in {}",
        paths.len(),
        dir.join("corpus").display()
    );
    for n in [120_000, 1_200_000] {
        let path = dir.join(format!("recipients-{n}.eml"));
        std::fs::write(&path, corpus::many_recipients(n)).expect("recipients message");
        println!("{}", path.display());
    }
    std::fs::write(dir.join("lists.toml"), corpus::lists_config(10_000)).expect("config");
}
