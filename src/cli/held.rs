//! `maillint held`: the messages `maillint sendmail` kept — list them,
//! show one, send one again (once), or drop one.

use super::{ExitStatus, fail, load_config};
use clap::{Args, Subcommand};
use maillint::held::{self, Held};
use maillint::message::Field;
use std::io::Write;
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

#[derive(Args)]
pub struct HeldArgs {
    #[command(subcommand)]
    action: Option<Action>,
    #[arg(long, value_name = "FILE", global = true, help = super::CONFIG_HELP)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Action {
    /// List the held messages: when, subject, recipients, why (the default)
    List,
    /// Print why a message is held, then the message itself
    Show {
        /// The name `maillint held` lists (or its start, or the .eml file)
        name: String,
    },
    /// Send a held message again, checked again, as it was first sent; once sent, the copy is removed
    Resend {
        name: String,
        /// Send it despite its findings: adds an X-Maillint-Allow header naming their rules
        #[arg(long)]
        allow: bool,
        /// Send it even though it may have gone already (maillint or the real sendmail was stopped while handing it over)
        #[arg(long)]
        anyway: bool,
    },
    /// Delete a held message
    Drop { name: String },
}

pub fn run(args: HeldArgs) -> ExitStatus {
    let dir = match held_dir(&args) {
        Ok(dir) => dir,
        Err(e) => return fail(e),
    };
    let found = |name: &str| held::find(&dir, name);
    match args.action.unwrap_or(Action::List) {
        Action::List => list(&dir),
        Action::Show { name } => match found(&name) {
            Ok(copy) => show(&copy),
            Err(e) => fail(e),
        },
        Action::Resend {
            name,
            allow,
            anyway,
        } => match found(&name) {
            Ok(copy) => resend(&copy, allow, anyway),
            Err(e) => fail(e),
        },
        Action::Drop { name } => match found(&name).and_then(|copy| match copy.release() {
            Ok(()) => Ok(copy),
            Err(e) => Err(format!("cannot delete {}: {e}", copy.eml.display())),
        }) {
            Ok(copy) => {
                println!("dropped {}", copy.name());
                ExitStatus::Success
            }
            Err(e) => fail(e),
        },
    }
}

/// Where `maillint sendmail` keeps held mail with this configuration.
fn held_dir(args: &HeldArgs) -> Result<PathBuf, String> {
    let config = load_config(args.config.as_deref())?;
    let settings = config.sendmail_settings().map_err(|e| e.to_string())?;
    settings
        .held_dir
        .or_else(held::default_dir)
        .ok_or_else(|| "no held messages directory (set HOME or XDG_STATE_HOME)".to_string())
}

fn list(dir: &std::path::Path) -> ExitStatus {
    let all = match held::list(dir) {
        Ok(all) => all,
        Err(e) => return fail(format!("cannot read {}: {e}", dir.display())),
    };
    if all.is_empty() {
        println!("No held messages in {}", dir.display());
        return ExitStatus::Success;
    }
    let mut out = std::io::stdout().lock();
    for copy in &all {
        // A closed pipe (`| head`) ends the listing; nothing else to do.
        if describe(copy, &mut out).is_err() {
            return ExitStatus::Success;
        }
    }
    let _ = writeln!(
        out,
        "{} held in {}; `maillint held show NAME`, `resend NAME`, `drop NAME`",
        if all.len() == 1 {
            "1 message".to_string()
        } else {
            format!("{} messages", all.len())
        },
        dir.display()
    );
    ExitStatus::Success
}

/// One held message in the listing: its name, date and subject, its
/// recipients, why it is held and its findings.
fn describe(copy: &Held, out: &mut dyn Write) -> std::io::Result<()> {
    let why = copy.why();
    let raw = std::fs::read(&copy.eml).unwrap_or_default();
    let message = maillint::input::parse_message(&raw, &maillint::input::Limits::default()).ok();
    let date = std::fs::metadata(&copy.eml)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or_else(|| "-".to_string(), |d| utc(d.as_secs()));
    let subject = message
        .as_ref()
        .and_then(|m| m.subject.clone())
        .unwrap_or_else(|| "(no subject)".to_string());
    writeln!(
        out,
        "{}  {date}  {}",
        copy.name(),
        maillint::guard::one_line(&subject)
    )?;
    let mut fields: Vec<String> = Vec::new();
    if let Some(message) = &message {
        for field in [Field::To, Field::Cc, Field::Bcc] {
            let addrs: Vec<&str> = message.addresses_in(field).map(|a| a.addr).collect();
            if !addrs.is_empty() {
                fields.push(format!("{}: {}", field.header_name(), few(&addrs)));
            }
        }
    }
    if !why.recipients.is_empty() {
        let addrs: Vec<&str> = why.recipients.iter().map(String::as_str).collect();
        fields.push(format!("envelope: {}", few(&addrs)));
    }
    if !fields.is_empty() {
        writeln!(out, "  {}", fields.join("; "))?;
    }
    if why.maybe_sent {
        writeln!(out, "  may have been sent: {}", why.reason)?;
    } else if !why.reason.is_empty() {
        writeln!(out, "  held: {}", why.reason)?;
    }
    for finding in &why.findings {
        writeln!(out, "  {finding}")?;
    }
    Ok(())
}

/// Up to five addresses, and how many more.
fn few(addrs: &[&str]) -> String {
    let shown = addrs.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    match addrs.len() {
        0..=5 => shown,
        n => format!("{shown} and {} more", n - 5),
    }
}

fn show(copy: &Held) -> ExitStatus {
    let mut out = std::io::stdout().lock();
    let shown = describe(copy, &mut out)
        .and_then(|()| writeln!(out))
        .and_then(|()| std::fs::read(&copy.eml))
        .and_then(|raw| out.write_all(&raw));
    match shown {
        Ok(()) => ExitStatus::Success,
        Err(e) => fail(format!("cannot show {}: {e}", copy.eml.display())),
    }
}

/// Runs the copy's `.resend` script, which checks it again and, once the
/// real sendmail has taken it, removes the copy.
fn resend(copy: &Held, allow: bool, anyway: bool) -> ExitStatus {
    let why = copy.why();
    if why.maybe_sent && !anyway {
        return fail(format!(
            "{} may have been sent already ({}); check, then `maillint held resend {} --anyway`",
            copy.name(),
            why.reason,
            copy.name()
        ));
    }
    if allow {
        let rules = why.rules();
        if rules.is_empty() {
            return fail(format!("{} is held without findings to allow", copy.name()));
        }
        let allowed =
            std::fs::read(&copy.eml).and_then(|raw| copy.rewrite(&with_allow_header(&raw, &rules)));
        if let Err(e) = allowed {
            return fail(format!(
                "cannot add the header to {}: {e}",
                copy.eml.display()
            ));
        }
    }
    match std::process::Command::new("sh").arg(copy.resend()).status() {
        Ok(status) if status.success() => {
            println!("sent {}", copy.name());
            ExitStatus::Success
        }
        Ok(status) => ExitStatus::Sendmail(status.code().unwrap_or(75)),
        Err(e) => fail(format!("cannot run sh {}: {e}", copy.resend().display())),
    }
}

/// The message with an `X-Maillint-Allow` header first, in the message's
/// own line ending.
fn with_allow_header(raw: &[u8], rules: &[&str]) -> Vec<u8> {
    let crlf = raw
        .iter()
        .position(|&b| b == b'\n')
        .is_some_and(|i| i > 0 && raw[i - 1] == b'\r');
    let mut out = format!(
        "{}: {}; reason=maillint held resend --allow{}",
        maillint::allow::ALLOW_HEADER,
        rules.join(", "),
        if crlf { "\r\n" } else { "\n" }
    )
    .into_bytes();
    out.extend_from_slice(raw);
    out
}

/// `2026-03-02 16:05 UTC`.
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    let (year, month, d) = maillint::numbers::civil_from_days(days);
    format!("{year:04}-{month:02}-{d:02} {h:02}:{m:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_772_467_512), "2026-03-02 16:05 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn allow_header_keeps_the_line_ending() {
        assert_eq!(
            with_allow_header(b"From: a@x\r\n\r\nhi\r\n", &["cc-exposure"]),
            b"X-Maillint-Allow: cc-exposure; reason=maillint held resend --allow\r\nFrom: a@x\r\n\r\nhi\r\n"
        );
        assert!(
            with_allow_header(b"From: a@x\n\nhi\n", &["a", "b"])
                .starts_with(b"X-Maillint-Allow: a, b; reason=maillint held resend --allow\nFrom")
        );
    }
}
