//! Everyone-style list names (`all-staff`, `everyone`, ...): the built-in
//! ones and `organization.mass_list_names`, matched against local parts.
//! Its own module so that the configuration can check the configured names
//! without depending on the audience.

use crate::gate;
use regex::RegexSet;
use std::sync::OnceLock;

/// Built-in everyone-style list names; `*` matches any run of characters.
const MASS_LIST_NAMES: &[&str] = &[
    "all",
    "all-*",
    "all.*",
    "all_*",
    "*-all",
    "*.all",
    "*_all",
    "allstaff",
    "allusers",
    "allstudents",
    "allemployees",
    "everyone",
    "everyone-*",
    "*-everyone",
    "everybody",
    "wholeschool",
    "whole-school",
    "whole.school",
];

/// Words that, after an everyone-style name and the audience it names,
/// make the address that of the few people who plan or run something for
/// everyone (`all-hands-planning`, `all-staff-social-committee`), not
/// everyone's. Right after the name they are the audience itself: the
/// planning department's `all-planning`.
const SMALL_GROUP_WORDS: &[&str] = &[
    "planning",
    "planners",
    "committee",
    "organisers",
    "organizers",
    "organising",
    "organizing",
    "steering",
    "working",
    "wg",
    "panel",
    "prep",
    "coordinators",
    "admin",
    "admins",
    "editors",
    "approvers",
];

/// The addresses of a mailing list's managers (Mailman's `-owner`,
/// `-request`, `-bounces`; `-moderators`): `all-staff-owner`,
/// `everyone-moderators`.
const LIST_MANAGER_WORDS: &[&str] = &["owner", "owners", "moderators", "request", "bounces"];

/// Whether a local part matching a built-in everyone-style name is the
/// address of a few people: a word of [`LIST_MANAGER_WORDS`] after its first
/// word, or of [`SMALL_GROUP_WORDS`] after its first two.
fn names_a_small_group(local_part: &str) -> bool {
    let is_in = |words: &[&str], word: &str| words.iter().any(|w| w.eq_ignore_ascii_case(word));
    local_part
        .split(['-', '.', '_'])
        .enumerate()
        .skip(1)
        .any(|(i, word)| {
            is_in(LIST_MANAGER_WORDS, word) || (i >= 2 && is_in(SMALL_GROUP_WORDS, word))
        })
}

/// Built-in and configured everyone-style names, compiled once into one
/// regex set: `*` becomes "one or more characters", the rest is literal.
#[derive(Debug)]
pub(crate) struct MassNames {
    names: Vec<String>,
    /// The longest literal piece of every name, one of which a local part
    /// must contain to match (see `gate.rs`); `None` when some name has no
    /// piece the gate can test.
    gate: Option<gate::ShortWords>,
    /// Each name as an anchored, case-insensitive pattern.
    patterns: Vec<String>,
    /// All names in one regex: almost no local part is a list name, and one
    /// `is_match` says so faster than the set's overlapping search.
    any: OnceLock<regex::Regex>,
    set: OnceLock<RegexSet>,
}

impl MassNames {
    /// The built-in names and `configured`; fails when there are too many,
    /// or too long, to compile into one matcher (the regex size limit).
    ///
    /// Configured names are compiled here, so that a configuration with
    /// too many fails as it is read; the built-in ones alone, which always
    /// compile, the first time a local part gets past the gate: most runs
    /// never need them, and compiling them was over half the instructions
    /// of a one-message check's start-up.
    pub(crate) fn new(configured: &[String]) -> Result<Self, String> {
        let names: Vec<String> = MASS_LIST_NAMES
            .iter()
            .map(|n| n.to_string())
            .chain(configured.iter().cloned())
            .collect();
        let patterns: Vec<String> = names
            .iter()
            .map(|name| {
                let parts: Vec<String> = name.split('*').map(regex::escape).collect();
                format!("(?i)^{}$", parts.join(".+"))
            })
            .collect();
        // A piece with non-ASCII letters could differ in case beyond what
        // the gate folds: such a name turns the gate off.
        let pieces: Option<Vec<&str>> = names
            .iter()
            .map(|name| {
                name.split('*')
                    .max_by_key(|piece| piece.len())
                    .filter(|piece| !piece.is_empty() && piece.is_ascii())
            })
            .collect();
        let gate = pieces.map(|pieces| gate::short_words(&pieces));
        let names = MassNames {
            names,
            gate,
            patterns,
            any: OnceLock::new(),
            set: OnceLock::new(),
        };
        if !configured.is_empty() {
            // The names are escaped, so only the size limit can refuse them.
            let too_big = |e: regex::Error| {
                format!(
                    "{} names are too many or too long to match at once ({})",
                    configured.len(),
                    e.to_string().trim_end_matches('.').to_lowercase()
                )
            };
            let any = names.compile_any().map_err(too_big)?;
            let set = names.compile_set().map_err(too_big)?;
            let _ = (names.any.set(any), names.set.set(set));
        }
        Ok(names)
    }

    fn compile_any(&self) -> Result<regex::Regex, regex::Error> {
        regex::Regex::new(&self.patterns.join("|"))
    }

    fn compile_set(&self) -> Result<RegexSet, regex::Error> {
        RegexSet::new(&self.patterns)
    }

    // Compiled in `new` unless every name is built in, and those compile
    // (the tests compile them): `expect` cannot fail.
    #[allow(clippy::expect_used)]
    fn any(&self) -> &regex::Regex {
        self.any
            .get_or_init(|| self.compile_any().expect("the built-in names compile"))
    }

    // As `any`.
    #[allow(clippy::expect_used)]
    fn set(&self) -> &RegexSet {
        self.set
            .get_or_init(|| self.compile_set().expect("the built-in names compile"))
    }

    /// The name `local_part` matches, if any.
    pub(crate) fn find(&self, local_part: &str) -> Option<&str> {
        // No list name is this long; keeps hostile input cheap.
        if local_part.len() > 128
            || self.gate.as_ref().is_some_and(|g| !g.is_match(local_part))
            || !self.any().is_match(local_part)
        {
            return None;
        }
        // The built-in names come first; configured ones are the
        // organisation's own and match as written.
        let small_group = names_a_small_group(local_part);
        self.set()
            .matches(local_part)
            .iter()
            .find(|&i| i >= MASS_LIST_NAMES.len() || !small_group)
            .map(|i| self.names[i].as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mass_list_names() {
        let names = MassNames::new(&["staff-announce".to_string()]).unwrap();
        assert_eq!(names.find("All-Students"), Some("all-*"));
        assert_eq!(names.find("sales-all"), Some("*-all"));
        assert_eq!(names.find("everyone"), Some("everyone"));
        assert_eq!(names.find("staff-announce"), Some("staff-announce"));
        for not in [
            "all-",
            "install",
            "allison",
            "hall",
            "overall-results",
            "staff-announcements",
        ] {
            assert_eq!(names.find(not), None, "{not}");
        }
    }

    #[test]
    fn the_few_who_run_an_everyone_list_are_not_everyone() {
        let names = MassNames::new(&[]).unwrap();
        for group in [
            "all-hands-planning",
            "All_Staff_Committee",
            "all.staff.owner",
            "everyone-moderators",
            "all-staff-social-committee",
        ] {
            assert_eq!(names.find(group), None, "{group}");
        }
        for list in [
            "all-hands",
            "all-staff-london",
            "all-planning",
            "all-admins",
        ] {
            assert!(names.find(list).is_some(), "{list}");
        }
        // Names the organisation configures match as written.
        let names = MassNames::new(&["all-hands-*".to_string()]).unwrap();
        assert_eq!(names.find("all-hands-planning"), Some("all-hands-*"));
    }

    #[test]
    fn configured_names_the_literal_gate_cannot_test_still_match() {
        // A bare wildcard and a non-ASCII name leave nothing the ASCII gate
        // can require, so the gate is off and the regex decides.
        let names = MassNames::new(&["TÜM-personel".to_string()]).unwrap();
        assert!(names.gate.is_none());
        assert_eq!(names.find("tüm-personel"), Some("TÜM-personel"));
        let names = MassNames::new(&["*".to_string()]).unwrap();
        assert!(names.gate.is_none());
        assert_eq!(names.find("anything"), Some("*"));
        // Otherwise the gate holds each name's longest literal piece.
        let names = MassNames::new(&["staff-*-all-hands".to_string()]).unwrap();
        assert!(names.gate.is_some());
        assert_eq!(
            names.find("STAFF-north-ALL-HANDS"),
            Some("staff-*-all-hands")
        );
        assert_eq!(names.find("staff-north"), None);
    }
}
