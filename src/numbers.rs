//! Numbers: counts as people read them (in findings, summaries and the
//! history's evidence), and a hash that is the same everywhere (for keys).
//! A leaf: it names no other module, so every layer may use it.

/// Formats a count with thousands separators, for messages people read.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 address` / `2 addresses`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// FNV-1a, 64 bits: a hash that is the same in every process, run and
/// Rust version (unlike the standard library's hasher), for keys that are
/// stored (the history index's messages and files). Not for keys someone
/// could aim at: those are keyed (SipHash, in the history and storm stores).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_200_000), "1,200,000");
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "message", "messages"), "1 message");
        assert_eq!(plural(1_500, "message", "messages"), "1,500 messages");
    }

    /// The published FNV-1a 64 test vectors: keys already stored in
    /// history indexes and Redis stay the same.
    #[test]
    fn fnv1a_is_the_standard_one() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
