//! Every kind of configuration error, through the binary: one line on
//! standard error naming the file, the line and the key, and exit code 2.
//! Nothing is checked with a configuration maillint could not read.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use std::fs;
use tempfile::TempDir;

const CLEAN: &str = "From: a@example.org\nTo: b@example.org\nSubject: lunch\n\nNoon?\n";

/// Runs `maillint check m.eml` beside a `maillint.toml` holding `config`
/// and asserts the whole of standard error.
fn assert_config_error(config: &str, expected: &str) {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("maillint.toml"), config).unwrap();
    fs::write(dir.path().join("m.eml"), CLEAN).unwrap();
    let output = Command::cargo_bin("maillint")
        .unwrap()
        .current_dir(dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join(".no-config"))
        .env("XDG_DATA_HOME", dir.path().join(".no-data"))
        .args(["check", "m.eml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{config}");
    assert!(output.stdout.is_empty(), "nothing is checked");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr, format!("maillint: error: {expected}\n"), "{config}");
}

#[test]
fn toml_syntax_error() {
    assert_config_error(
        "[rules.cc-exposure]\nwarning = 10\nerror = \n",
        "maillint.toml:3: rules.cc-exposure.error: string values must be quoted, expected literal string",
    );
    assert_config_error(
        "[organization]\ndomains = [\"example.org\"\n",
        "maillint.toml:2: organization.domains: unclosed array, expected `]`",
    );
    assert_config_error(
        "[rules.cc-exposure\nwarning = 10\n",
        "maillint.toml:1: unclosed table, expected `]`",
    );
}

#[test]
fn duplicate_key() {
    assert_config_error(
        "[rules.cc-exposure]\nwarning = 10\nwarning = 12\n",
        "maillint.toml:3: rules.cc-exposure.warning: duplicate key",
    );
}

#[test]
fn unknown_key() {
    assert_config_error(
        "[organization]\ndomains = [\"example.org\"]\ncolour = 1\n",
        "maillint.toml:3: organization.colour: unknown field `colour`, expected one of `domains`, `mass_list_names`, `personal_domains`",
    );
    assert_config_error(
        "[lists.\"all@example.org\"]\nmembers = 10\nallowed = []\n",
        "maillint.toml:3: lists.\"all@example.org\".allowed: unknown field `allowed`, expected one of `members`, `mass`, `allowed_senders`",
    );
    assert_config_error(
        "[input]\nmax_size = \"1MB\"\n",
        "maillint.toml:2: input.max_size: unknown field `max_size`, expected `max_message_size`",
    );
}

#[test]
fn unknown_section() {
    assert_config_error(
        "[orgnization]\ndomains = [\"example.org\"]\n",
        "maillint.toml:1: orgnization: unknown field `orgnization`, expected one of `organization`, `lists`, `rules`, `custom`, `sendmail`, `bulk`, `history`, `input`, `milter`, `storm`, `hold`, `web`",
    );
}

#[test]
fn milter_and_storm_sections() {
    assert_config_error(
        "[milter]\nerror = \"bounce\"\n",
        "maillint.toml:2: milter.error: unknown variant `bounce`, expected one of `accept`, `tag`, `confirm`, `quarantine`, `tempfail`, `reject`",
    );
    assert_config_error(
        "[milter]\nnetworks = [\"10.0.0.0/8\", \"10.0.0/8\"]\n",
        "maillint.toml:2: milter.networks[1]: `10.0.0/8` is not a network such as 10.0.0.0/8 or 2001:db8::/32",
    );
    assert_config_error(
        "[storm]\nmax_replys = 3\n",
        "maillint.toml:2: storm.max_replys: unknown field `max_replys`, expected one of `enabled`, `audience`, `max_replies`, `window_minutes`, `block_hours`, `action`, `sender_limit_per_hour`, `store`, `store_timeout_ms`, `key_prefix`, `memory_entries`, `on_store_error`",
    );
    assert_config_error(
        "[hold]\nrelease_rules = { mass-list = \"everyone\" }\n",
        "maillint.toml:2: hold.release_rules.mass-list: unknown variant `everyone`, expected one of `sender`, `admin`, `nobody`",
    );
}

#[test]
fn unknown_rule() {
    assert_config_error(
        "[rules.cc-exposur]\nwarning = 10\n",
        "maillint.toml:1: unknown rule `cc-exposur` in [rules.cc-exposur]",
    );
}

#[test]
fn unknown_rule_option() {
    assert_config_error(
        "[rules.recipient-count]\nwarning = 10\nwarnign = 20\n",
        "maillint.toml:3: rules.recipient-count.warnign: unknown field `warnign`, expected `warning` or `error`",
    );
}

#[test]
fn bad_regex_in_custom_rule() {
    assert_config_error(
        "[[custom]]\nid = \"falcon\"\npattern = \"(?i)project (falcon\"\nfields = [\"body\"]\nmessage = \"m\"\n",
        "maillint.toml:3: custom.pattern of `falcon`: error: unclosed group",
    );
}

#[test]
fn bad_custom_rule_fields() {
    assert_config_error(
        "[[custom]]\nid = \"falcon\"\npattern = \"falcon\"\nfields = \"body\"\nmessage = \"m\"\n",
        "maillint.toml:4: custom[0].fields: invalid type: string \"body\", expected a sequence",
    );
    assert_config_error(
        "[[custom]]\nid = \"falcon\"\npattern = \"falcon\"\nfields = [\"body\"]\n",
        "maillint.toml:1: custom[0]: missing field `message`",
    );
    assert_config_error(
        "[[custom]]\nid = \"falcon\"\npattern = \"falcon\"\nfields = [\"body\"]\nmessage = \"m\"\nseverity = \"loud\"\n",
        "maillint.toml:6: custom[0].severity: unknown variant `loud`, expected one of `info`, `warning`, `error`",
    );
}

#[test]
fn bad_threshold() {
    assert_config_error(
        "[rules.recipient-count]\nwarning = 100\nerror = 50\n",
        "maillint.toml:3: rules.recipient-count.error: must not be below `warning`",
    );
}

#[test]
fn negative_numbers() {
    assert_config_error(
        "[rules.recipient-count]\nwarning = -5\n",
        "maillint.toml:2: rules.recipient-count.warning: invalid value: integer `-5`, expected u64",
    );
    assert_config_error(
        "[lists.\"all@example.org\"]\nmembers = -5\n",
        "maillint.toml:2: lists.\"all@example.org\".members: invalid value: integer `-5`, expected u64",
    );
    assert_config_error(
        "[input]\nmax_message_size = -5\n",
        "maillint.toml:2: input.max_message_size: expected a size such as \"100MB\" or a number of bytes, not -5",
    );
}

#[test]
fn wrong_types() {
    assert_config_error(
        "[organization]\ndomains = \"example.org\"\n",
        "maillint.toml:2: organization.domains: invalid type: string \"example.org\", expected a sequence",
    );
    assert_config_error(
        "[rules.cc-exposure]\nwarning = \"ten\"\n",
        "maillint.toml:2: rules.cc-exposure.warning: invalid type: string \"ten\", expected u64",
    );
    assert_config_error(
        "[rules.cc-exposure]\nmin_parties = 2.5\n",
        "maillint.toml:2: rules.cc-exposure.min_parties: invalid type: floating point `2.5`, expected u64",
    );
    assert_config_error(
        "[rules.cc-exposure]\nseverity = 3\n",
        "maillint.toml:2: rules.cc-exposure.severity: expected one of error, warning, info, off",
    );
    assert_config_error(
        "[lists.\"all@example.org\"]\nmass = \"yes\"\n",
        "maillint.toml:2: lists.\"all@example.org\".mass: invalid type: string \"yes\", expected a boolean",
    );
    assert_config_error(
        "rules = 5\n",
        "maillint.toml:1: rules: invalid type: integer `5`, expected a map",
    );
}

#[test]
fn bad_values() {
    assert_config_error(
        "[organization]\npersonal_domains = [\"mail.example\"]\ndomains = [\"not a domain\"]\n",
        "maillint.toml:3: organization.domains: `not a domain` is not a domain name",
    );
    assert_config_error(
        "[lists.\"all-staff\"]\nmembers = 10\n",
        "maillint.toml:1: lists: `all-staff` is not an email address",
    );
}

#[test]
fn bad_message_size() {
    for (value, reason) in [
        ("0", "must be at least 1 byte"),
        ("\"3GB\"", "must be at most 2 GB"),
        (
            "\"lots\"",
            "expected a size such as \"100MB\" or a number of bytes, not \"lots\"",
        ),
        (
            "\"1.5MB\"",
            "expected a size such as \"100MB\" or a number of bytes, not \"1.5MB\"",
        ),
        (
            "true",
            "expected a size such as \"100MB\" or a number of bytes, not a boolean",
        ),
    ] {
        assert_config_error(
            &format!("[input]\nmax_message_size = {value}\n"),
            &format!("maillint.toml:2: input.max_message_size: {reason}"),
        );
    }
}

#[test]
fn a_key_with_a_line_break_stays_on_one_line() {
    assert_config_error(
        "[organization]\n\"col\\nour\" = 1\n",
        "maillint.toml:2: organization.\"col\\nour\": unknown field `col\\nour`, expected one of `domains`, `mass_list_names`, `personal_domains`",
    );
}

#[test]
fn an_explicit_config_that_is_missing_or_not_text() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("m.eml"), CLEAN).unwrap();
    fs::write(dir.path().join("binary.toml"), [0xff, 0xfe, 0x00]).unwrap();
    for (file, expected) in [
        ("nope.toml", "nope.toml: cannot read config: "),
        ("binary.toml", "binary.toml: cannot read config: "),
    ] {
        Command::cargo_bin("maillint")
            .unwrap()
            .current_dir(dir.path())
            .env("XDG_DATA_HOME", dir.path().join(".no-data"))
            .args(["check", "m.eml", "--config", file])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicates::str::starts_with(format!(
                "maillint: error: {expected}"
            )));
    }
}

/// Everyone-style list names are compiled into one matcher; a list too big
/// for it was a panic at startup, and is now a located error.
#[test]
fn too_many_mass_list_names() {
    let names: Vec<String> = (0..2000)
        .map(|i| format!("\"team-{i}-{}*\"", "x".repeat(100)))
        .collect();
    let config = format!(
        "[organization]\ndomains = [\"example.org\"]\nmass_list_names = [{}]\n",
        names.join(", ")
    );
    assert_config_error(
        &config,
        "maillint.toml:3: organization.mass_list_names: 2000 names are too many or too long to match at once (compiled regex exceeds size limit of 10485760 bytes)",
    );
}
