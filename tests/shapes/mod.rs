//! Generated inputs shared by tests/extremes.rs (at extreme sizes) and
//! tests/growth.rs (at two sizes, to compare their times).

use maillint::config::Config;

/// The configuration with no history index: never the index of whoever
/// runs the tests, which would make the history rules look up every
/// recipient.
pub fn no_history(mut config: Config) -> Config {
    config.history.index = Some("/nonexistent/history.sqlite".into());
    config
}

pub const HEAD: &str = "From: ann@example.org\nTo: bob@example.org\nSubject: extreme\n";

/// `depth` multiparts, each inside the one before, around one text part.
pub fn nested_multipart(depth: usize) -> Vec<u8> {
    let mut s = HEAD.to_string();
    for i in 0..depth {
        s += &format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n");
    }
    s += "Content-Type: text/plain\n\ninnermost\n";
    for i in (0..depth).rev() {
        s += &format!("--b{i}--\n");
    }
    s.into_bytes()
}

/// A multipart whose boundary never closes, over `lines` lines.
pub fn unclosed_boundary(lines: usize) -> Vec<u8> {
    let mut s = format!(
        "{HEAD}Content-Type: multipart/mixed; boundary=\"open\"\n\n--open\nContent-Type: text/plain\n\nstart\n"
    );
    for _ in 0..lines {
        s += "more text -- but no boundary --\n";
    }
    s.into_bytes()
}

/// `groups` address groups in one To header, none of them closed.
pub fn open_groups(groups: usize) -> Vec<u8> {
    let mut s = "From: ann@example.org\nTo: ".to_string();
    for i in 0..groups {
        s += &format!("team{i}: a{i}@example.com, b{i}@example.net,\n ");
    }
    s += "\nSubject: many open groups\n\nhi\n";
    s.into_bytes()
}

/// A header `name` folded over `lines` continuation lines, each `line`.
pub fn folded_header(name: &str, line: &str, lines: usize) -> Vec<u8> {
    let mut s = format!("From: ann@example.org\n{name}: start");
    s.reserve(line.len() * lines);
    for _ in 0..lines {
        s += line;
    }
    s += "\n\nbody\n";
    s.into_bytes()
}

pub fn header_fields(fields: usize) -> Vec<u8> {
    let mut s = String::from("From: ann@example.org\n");
    for i in 0..fields {
        s += &format!("X-H{i}: v\n");
    }
    s += "\nbody\n";
    s.into_bytes()
}

pub fn unterminated_encoded_words(words: usize) -> Vec<u8> {
    let mut s = String::from("From: ann@example.org\nSubject: ");
    for _ in 0..words {
        s += "=?ab?q? ";
    }
    s += "\n\nbody\n";
    s.into_bytes()
}

/// `names` recipients with RFC 2047 encoded display names.
pub fn encoded_names(names: usize) -> Vec<u8> {
    let mut s = String::from("From: ann@example.org\nTo: ");
    for i in 0..names {
        s += &format!("=?utf-8?q?M=C3=BCller_{i}?= <m{i}@example.com>,\n ");
    }
    s += "\n\nbody\n";
    s.into_bytes()
}
