//! A generated corpus of varied messages, shared by the benchmarks and
//! `scripts/bench` (which reads the files it writes).
// A benchmark: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Deterministic pseudo-random numbers (xorshift), so every run measures
/// the same corpus.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const WORDS: &[&str] = &[
    "meeting", "budget", "report", "thanks", "please", "review", "attached", "schedule", "project",
    "update", "team", "tomorrow", "agenda", "notes", "draft", "client", "invoice", "question",
];

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    s.push('.');
    s
}

fn base64_block(rng: &mut Rng, bytes: usize, eol: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let chars = bytes.div_ceil(3) * 4;
    let mut out = String::with_capacity(chars + chars / 76 * 2);
    for i in 0..chars {
        if i > 0 && i % 76 == 0 {
            out.push_str(eol);
        }
        out.push(ALPHABET[rng.below(64) as usize] as char);
    }
    out.push_str(eol);
    out
}

/// Message `n` of the corpus: a plain reply, an HTML newsletter with links
/// and images, a message with an attachment of a few MB (one in a hundred)
/// or a small one, LF or CRLF, with RFC 2047 encoded headers.
pub fn message(n: usize, rng: &mut Rng) -> String {
    let eol = if n.is_multiple_of(2) { "\n" } else { "\r\n" };
    let mut m = String::new();
    let to: Vec<String> = (0..1 + rng.below(6))
        .map(|i| format!("person{}@co{}.example", i, rng.below(50)))
        .collect();
    let _ = write!(
        m,
        "From: =?UTF-8?B?QW5uIEV4YW1wbGU=?= <ann@org.example>{eol}"
    );
    let _ = write!(m, "To: {}{eol}", to.join(", "));
    let _ = write!(m, "Date: Mon, 1 Jan 2024 10:{:02}:00 +0000{eol}", n % 60);
    let _ = write!(
        m,
        "Message-ID: <{n}@org.example>{eol}MIME-Version: 1.0{eol}"
    );
    match n % 4 {
        0 | 1 => {
            let _ = write!(
                m,
                "Subject: Re: {}{eol}In-Reply-To: <{}@co.example>{eol}",
                sentence(rng, 3),
                n + 1
            );
            let _ = write!(m, "Content-Type: text/plain; charset=utf-8{eol}{eol}");
            for _ in 0..5 + rng.below(20) {
                let _ = write!(m, "{}{eol}", sentence(rng, 12));
            }
            let _ = write!(m, "{eol}On Mon, 1 Jan 2024, Bob wrote:{eol}");
            for _ in 0..10 {
                let _ = write!(m, "> {}{eol}", sentence(rng, 10));
            }
        }
        2 => {
            let _ = write!(
                m,
                "Subject: =?UTF-8?Q?Newsletter_=E2=80=94_{n}?={eol}List-Unsubscribe: <https://news.example/u/{n}>{eol}List-Unsubscribe-Post: List-Unsubscribe=One-Click{eol}Precedence: bulk{eol}"
            );
            let _ = write!(
                m,
                "Content-Type: multipart/alternative; boundary=\"b{n}\"{eol}{eol}--b{n}{eol}Content-Type: text/plain; charset=utf-8{eol}{eol}"
            );
            for _ in 0..20 {
                let _ = write!(m, "{}{eol}", sentence(rng, 12));
            }
            let _ = write!(
                m,
                "--b{n}{eol}Content-Type: text/html; charset=utf-8{eol}{eol}<html><body>"
            );
            for i in 0..40 {
                let _ = write!(
                    m,
                    "<p>{}</p><a href=\"https://news.example/a/{i}\">read more</a><img src=\"https://news.example/i/{i}.png\" alt=\"picture {i}\">{eol}",
                    sentence(rng, 15)
                );
            }
            let _ = write!(m, "</body></html>{eol}--b{n}--{eol}");
        }
        _ => {
            let size = if n % 100 == 3 {
                3_000_000
            } else {
                20_000 + rng.below(200_000) as usize
            };
            let _ = write!(m, "Subject: {} ({n}){eol}", sentence(rng, 4));
            let _ = write!(
                m,
                "Content-Type: multipart/mixed; boundary=\"m{n}\"{eol}{eol}--m{n}{eol}Content-Type: text/plain; charset=utf-8{eol}{eol}"
            );
            let _ = write!(m, "Please find attached the {}{eol}", sentence(rng, 6));
            let _ = write!(
                m,
                "--m{n}{eol}Content-Type: application/pdf; name=\"report-{n}.pdf\"{eol}Content-Disposition: attachment; filename=\"report-{n}.pdf\"{eol}Content-Transfer-Encoding: base64{eol}{eol}"
            );
            m.push_str(&base64_block(rng, size, eol));
            let _ = write!(m, "--m{n}--{eol}");
        }
    }
    m
}

/// The corpus of `count` messages as files in `dir` (written once and
/// reused), returning their paths and total size.
pub fn write_corpus(dir: &Path, count: usize) -> (Vec<PathBuf>, u64) {
    std::fs::create_dir_all(dir).expect("corpus directory");
    let mut rng = Rng::new(0x5eed);
    let mut paths = Vec::with_capacity(count);
    let mut total = 0u64;
    for n in 0..count {
        let text = message(n, &mut rng);
        let path = dir.join(format!("{n:05}.eml"));
        if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(text.len() as u64) {
            std::fs::write(&path, &text).expect("corpus file");
        }
        total += text.len() as u64;
        paths.push(path);
    }
    (paths, total)
}

/// A message with `n` recipients across To and Cc, one per folded line.
pub fn many_recipients(n: usize) -> Vec<u8> {
    let mut raw = String::with_capacity(n * 40);
    raw.push_str("From: contractor@nhs.example.net\nSubject: test\nTo: ");
    for i in 0..n {
        if i == n / 2 {
            raw.push_str("\nCc: ");
        } else if i > 0 {
            raw.push_str(",\n ");
        }
        let _ = write!(raw, "user{i}@trust{}.nhs.example.net", i % 300);
    }
    raw.push_str("\n\ntest\n");
    raw.into_bytes()
}

/// What every benchmark's configuration starts with: no history index, so
/// that the figures never depend on the index of whoever runs them.
pub const NO_HISTORY: &str = "[history]\nindex = \"/nonexistent/history.sqlite\"\n";

/// A configuration for the organisation the recipients belong to, listing
/// `lists` mailing lists with their member counts.
pub fn lists_config(lists: usize) -> String {
    let mut text = format!("{NO_HISTORY}[organization]\ndomains = [\"nhs.example.net\"]\n");
    for i in 0..lists {
        let _ = write!(
            text,
            "[lists.\"list{i}@nhs.example.net\"]\nmembers = {}\n",
            10 + i
        );
    }
    text
}
