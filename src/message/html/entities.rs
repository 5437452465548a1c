//! The character references the fast path decodes itself (see `scan.rs`):
//! every legacy name (those a reference may use without `;`, all Latin-1)
//! and the common typographic ones, from the WHATWG table that html5gum
//! and html5ever carry too. A name not here, followed by `;`, is left to
//! html5gum's table of all 2,231; a legacy name must be here, since
//! without `;` the longest legacy name that starts a run of letters is the
//! reference.

/// The character `&#…;` with this number stands for, as the numeric
/// character reference end state makes it: NUL, surrogates and numbers
/// past Unicode are U+FFFD, the C1 controls that Windows-1252 prints are
/// its characters.
pub(super) fn numeric_char(code: u32) -> char {
    let code = match code {
        0x80 => 0x20AC,
        0x82 => 0x201A,
        0x83 => 0x0192,
        0x84 => 0x201E,
        0x85 => 0x2026,
        0x86 => 0x2020,
        0x87 => 0x2021,
        0x88 => 0x02C6,
        0x89 => 0x2030,
        0x8A => 0x0160,
        0x8B => 0x2039,
        0x8C => 0x0152,
        0x8E => 0x017D,
        0x91 => 0x2018,
        0x92 => 0x2019,
        0x93 => 0x201C,
        0x94 => 0x201D,
        0x95 => 0x2022,
        0x96 => 0x2013,
        0x97 => 0x2014,
        0x98 => 0x02DC,
        0x99 => 0x2122,
        0x9A => 0x0161,
        0x9B => 0x203A,
        0x9C => 0x0153,
        0x9E => 0x017E,
        0x9F => 0x0178,
        other => other,
    };
    char::from_u32(code)
        .filter(|&c| c != '\0')
        .unwrap_or('\u{fffd}')
}

/// The characters of the name (without `&` and `;`), and whether it is a
/// legacy one.
pub(super) fn named(name: &[u8]) -> Option<(&'static str, bool)> {
    NAMES
        .binary_search_by(|(n, _, _)| n.as_bytes().cmp(name))
        .ok()
        .map(|i| (NAMES[i].1, NAMES[i].2))
}

/// The longest legacy name that starts `run`: its characters and length.
pub(super) fn longest_legacy_prefix(run: &[u8]) -> Option<(&'static str, usize)> {
    (2..=run.len().min(LONGEST_LEGACY)).rev().find_map(|len| {
        named(&run[..len])
            .filter(|&(_, legacy)| legacy)
            .map(|(s, _)| (s, len))
    })
}

const LONGEST_LEGACY: usize = 6;

/// Name, characters, legacy; sorted by name's bytes.
static NAMES: &[(&str, &str, bool)] = &[
    ("AElig", "\u{c6}", true),
    ("AMP", "\u{26}", true),
    ("Aacute", "\u{c1}", true),
    ("Acirc", "\u{c2}", true),
    ("Agrave", "\u{c0}", true),
    ("Aring", "\u{c5}", true),
    ("Atilde", "\u{c3}", true),
    ("Auml", "\u{c4}", true),
    ("COPY", "\u{a9}", true),
    ("Ccedil", "\u{c7}", true),
    ("Dagger", "\u{2021}", false),
    ("ETH", "\u{d0}", true),
    ("Eacute", "\u{c9}", true),
    ("Ecirc", "\u{ca}", true),
    ("Egrave", "\u{c8}", true),
    ("Euml", "\u{cb}", true),
    ("GT", "\u{3e}", true),
    ("Iacute", "\u{cd}", true),
    ("Icirc", "\u{ce}", true),
    ("Igrave", "\u{cc}", true),
    ("Iuml", "\u{cf}", true),
    ("LT", "\u{3c}", true),
    ("Ntilde", "\u{d1}", true),
    ("OElig", "\u{152}", false),
    ("Oacute", "\u{d3}", true),
    ("Ocirc", "\u{d4}", true),
    ("Ograve", "\u{d2}", true),
    ("Oslash", "\u{d8}", true),
    ("Otilde", "\u{d5}", true),
    ("Ouml", "\u{d6}", true),
    ("Prime", "\u{2033}", false),
    ("QUOT", "\u{22}", true),
    ("REG", "\u{ae}", true),
    ("Scaron", "\u{160}", false),
    ("THORN", "\u{de}", true),
    ("Uacute", "\u{da}", true),
    ("Ucirc", "\u{db}", true),
    ("Ugrave", "\u{d9}", true),
    ("Uuml", "\u{dc}", true),
    ("Yacute", "\u{dd}", true),
    ("Yuml", "\u{178}", false),
    ("aacute", "\u{e1}", true),
    ("acirc", "\u{e2}", true),
    ("acute", "\u{b4}", true),
    ("aelig", "\u{e6}", true),
    ("agrave", "\u{e0}", true),
    ("alpha", "\u{3b1}", false),
    ("amp", "\u{26}", true),
    ("apos", "\u{27}", false),
    ("aring", "\u{e5}", true),
    ("atilde", "\u{e3}", true),
    ("auml", "\u{e4}", true),
    ("bdquo", "\u{201e}", false),
    ("beta", "\u{3b2}", false),
    ("brvbar", "\u{a6}", true),
    ("bull", "\u{2022}", false),
    ("ccedil", "\u{e7}", true),
    ("cedil", "\u{b8}", true),
    ("cent", "\u{a2}", true),
    ("circ", "\u{2c6}", false),
    ("clubs", "\u{2663}", false),
    ("copy", "\u{a9}", true),
    ("curren", "\u{a4}", true),
    ("dagger", "\u{2020}", false),
    ("darr", "\u{2193}", false),
    ("deg", "\u{b0}", true),
    ("diams", "\u{2666}", false),
    ("divide", "\u{f7}", true),
    ("eacute", "\u{e9}", true),
    ("ecirc", "\u{ea}", true),
    ("egrave", "\u{e8}", true),
    ("emsp", "\u{2003}", false),
    ("ensp", "\u{2002}", false),
    ("equiv", "\u{2261}", false),
    ("eth", "\u{f0}", true),
    ("euml", "\u{eb}", true),
    ("euro", "\u{20ac}", false),
    ("fnof", "\u{192}", false),
    ("frac12", "\u{bd}", true),
    ("frac14", "\u{bc}", true),
    ("frac34", "\u{be}", true),
    ("frasl", "\u{2044}", false),
    ("ge", "\u{2265}", false),
    ("gt", "\u{3e}", true),
    ("harr", "\u{2194}", false),
    ("hearts", "\u{2665}", false),
    ("hellip", "\u{2026}", false),
    ("iacute", "\u{ed}", true),
    ("icirc", "\u{ee}", true),
    ("iexcl", "\u{a1}", true),
    ("igrave", "\u{ec}", true),
    ("infin", "\u{221e}", false),
    ("iquest", "\u{bf}", true),
    ("iuml", "\u{ef}", true),
    ("laquo", "\u{ab}", true),
    ("larr", "\u{2190}", false),
    ("ldquo", "\u{201c}", false),
    ("le", "\u{2264}", false),
    ("lrm", "\u{200e}", false),
    ("lsaquo", "\u{2039}", false),
    ("lsquo", "\u{2018}", false),
    ("lt", "\u{3c}", true),
    ("macr", "\u{af}", true),
    ("mdash", "\u{2014}", false),
    ("micro", "\u{b5}", true),
    ("middot", "\u{b7}", true),
    ("minus", "\u{2212}", false),
    ("mu", "\u{3bc}", false),
    ("nbsp", "\u{a0}", true),
    ("ndash", "\u{2013}", false),
    ("ne", "\u{2260}", false),
    ("not", "\u{ac}", true),
    ("ntilde", "\u{f1}", true),
    ("oacute", "\u{f3}", true),
    ("ocirc", "\u{f4}", true),
    ("oelig", "\u{153}", false),
    ("ograve", "\u{f2}", true),
    ("oline", "\u{203e}", false),
    ("ordf", "\u{aa}", true),
    ("ordm", "\u{ba}", true),
    ("oslash", "\u{f8}", true),
    ("otilde", "\u{f5}", true),
    ("ouml", "\u{f6}", true),
    ("para", "\u{b6}", true),
    ("permil", "\u{2030}", false),
    ("pi", "\u{3c0}", false),
    ("plusmn", "\u{b1}", true),
    ("pound", "\u{a3}", true),
    ("prime", "\u{2032}", false),
    ("quot", "\u{22}", true),
    ("radic", "\u{221a}", false),
    ("raquo", "\u{bb}", true),
    ("rarr", "\u{2192}", false),
    ("rdquo", "\u{201d}", false),
    ("reg", "\u{ae}", true),
    ("rlm", "\u{200f}", false),
    ("rsaquo", "\u{203a}", false),
    ("rsquo", "\u{2019}", false),
    ("sbquo", "\u{201a}", false),
    ("scaron", "\u{161}", false),
    ("sect", "\u{a7}", true),
    ("shy", "\u{ad}", true),
    ("spades", "\u{2660}", false),
    ("sum", "\u{2211}", false),
    ("sup1", "\u{b9}", true),
    ("sup2", "\u{b2}", true),
    ("sup3", "\u{b3}", true),
    ("szlig", "\u{df}", true),
    ("thinsp", "\u{2009}", false),
    ("thorn", "\u{fe}", true),
    ("tilde", "\u{2dc}", false),
    ("times", "\u{d7}", true),
    ("trade", "\u{2122}", false),
    ("uacute", "\u{fa}", true),
    ("uarr", "\u{2191}", false),
    ("ucirc", "\u{fb}", true),
    ("ugrave", "\u{f9}", true),
    ("uml", "\u{a8}", true),
    ("uuml", "\u{fc}", true),
    ("yacute", "\u{fd}", true),
    ("yen", "\u{a5}", true),
    ("yuml", "\u{ff}", true),
    ("zwj", "\u{200d}", false),
    ("zwnj", "\u{200c}", false),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_are_sorted_and_legacy_ones_short() {
        assert!(
            NAMES
                .windows(2)
                .all(|w| w[0].0.as_bytes() < w[1].0.as_bytes())
        );
        let legacy: Vec<_> = NAMES.iter().filter(|n| n.2).collect();
        assert_eq!(legacy.len(), 106);
        assert!(legacy.iter().all(|n| n.0.len() <= LONGEST_LEGACY));
    }

    #[test]
    fn numbers_as_the_end_state_makes_them() {
        assert_eq!(numeric_char(0), '\u{fffd}');
        assert_eq!(numeric_char(0xD800), '\u{fffd}');
        assert_eq!(numeric_char(0x110000), '\u{fffd}');
        assert_eq!(numeric_char(0x95), '\u{2022}');
        assert_eq!(numeric_char(0x81), '\u{81}');
        assert_eq!(numeric_char(0x41), 'A');
        assert_eq!(longest_legacy_prefix(b"notit"), Some(("\u{ac}", 3)));
        assert_eq!(longest_legacy_prefix(b"amplifier"), Some(("&", 3)));
        assert_eq!(longest_legacy_prefix(b"brand"), None);
    }
}
