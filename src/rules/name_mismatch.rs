use super::shared::judged;
use super::shared::{NoOptions, location};
use super::{Context, Rule, declare_rule};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Severity};
use crate::history::{Known, Recall, address_key};

declare_rule! {
    /// ## What it checks
    /// Needs a history: the index `maillint learn` builds from your sent mail
    /// (silent without one). The autocomplete slip: a recipient whose
    /// display name you have always written to at another address
    /// (`Jane Smith <jane@agency.example>` 41 times, now `Jane Smith
    /// <jane.smith@asiancup.example>`), or, without a display name, a new
    /// address whose local part you know at another domain
    /// (`jane.smith@agency.example`, now `jane.smith@asiancup.example`). A
    /// known address under a name that belongs to someone else you write to
    /// is the same slip seen from the other side.
    ///
    /// Names are compared by their words, whatever the order and case
    /// ("Smith, Jane" is "Jane Smith"); a single word (a first name) is too
    /// common to tell people apart and is not compared. Nor are local parts
    /// that do not spell out a whole name (`maria`, `jsmith`: people at
    /// different organisations share them) or that many organisations use
    /// (`sales.team`, `press-office`, ...).
    ///
    /// ## Why it matters
    /// Autocomplete offers every address that matches what was typed; the
    /// name shown is the same, only the domain differs. A G20 staffer sent 31
    /// leaders' passport numbers to a football tournament's organisers that
    /// way.
    ///
    /// ## Example
    /// ```text
    /// From: me@example.org
    /// To: Jane Smith <jane.smith@asiancup.example>
    /// ```
    /// gives "you have written to Jane Smith <jane@agency.example> 41 times,
    /// last on 2026-03-02; never to jane.smith@asiancup.example" (the date
    /// of the last message to her, as its Date header has it).
    ///
    /// ## How to fix
    /// Pick the address you meant. If the person has really moved, send it:
    /// once learned, the new address is familiar too.
    ///
    /// With `[history] hash_key_file` the index keeps addresses only as
    /// keyed hashes, and the finding says "you have written to this name at
    /// another address 30 times" without showing it.
    ///
    /// ## Options
    /// None of its own. The index is `[history] index` (default
    /// `$XDG_DATA_HOME/maillint/history.sqlite`).
    id: "name-mismatch",
    severity: Warning,
    summary: "A familiar name at an unfamiliar address: the autocomplete slip (needs `maillint learn`)",
    build: NameMismatch::build,
}

struct NameMismatch;

impl NameMismatch {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        settings.options::<NoOptions>()?;
        Ok(Box::new(NameMismatch))
    }
}

/// Words of local parts that many organisations use, which say nothing
/// about who is meant.
const SHARED_LOCAL_PARTS: &[&str] = &[
    "accounts",
    "admin",
    "billing",
    "careers",
    "desk",
    "contact",
    "enquiries",
    "feedback",
    "hello",
    "marketing",
    "newsletter",
    "noreply",
    "no-reply",
    "office",
    "postmaster",
    "press",
    "privacy",
    "sales",
    "security",
    "service",
    "support",
    "team",
    "webmaster",
];

impl Rule for NameMismatch {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let Some(history) = cx.history else { return };
        let recipients: Vec<_> = judged(cx)
            .map(|r| {
                let addr = address_key(r.first().addr);
                let known = history.known(&addr);
                (r, addr, known)
            })
            .collect();
        // The organisations of the recipients written to before.
        let familiar_domains: Vec<&str> = recipients
            .iter()
            .filter(|(_, _, known)| known.is_some())
            .filter_map(|(_, addr, _)| addr.rsplit_once('@').map(|(_, d)| d))
            .collect();
        for (r, addr, known) in &recipients {
            let Some(evidence) = slip(
                history,
                addr,
                r.first().name,
                known.as_ref(),
                &familiar_domains,
            ) else {
                continue;
            };
            if evidence.is_hidden() {
                // A hashed index: the other address cannot be shown.
                let what = if r.first().name.is_some() {
                    "this name"
                } else {
                    "this local part"
                };
                out.push(
                    Diagnostic::new(
                        Severity::Warning,
                        format!(
                            "you have written to {what} at another address {}; never to {addr}",
                            evidence.times_and_when()
                        ),
                        location(*r),
                    )
                    .help("check the address: the history keeps addresses only as hashes"),
                );
                continue;
            }
            let message = match (&known, r.first().name) {
                (Some(known), Some(name)) => format!(
                    "you have written to {name} at {} {}; {addr} is {}, never {name}",
                    evidence.addr,
                    evidence.times_and_when(),
                    known.mailbox(),
                ),
                _ => format!(
                    "you have written to {} {}; never to {addr}",
                    evidence.mailbox(),
                    evidence.times_and_when()
                ),
            };
            out.push(
                Diagnostic::new(Severity::Warning, message, location(*r))
                    .help(format!("did you mean {}?", evidence.addr)),
            );
        }
    }
}

/// The familiar address this recipient was probably meant to be, if it
/// looks like a slip. `familiar_domains` are the domains of the message's
/// recipients written to before.
fn slip(
    history: &dyn Recall,
    addr: &str,
    name: Option<&str>,
    known: Option<&Known>,
    familiar_domains: &[&str],
) -> Option<Known> {
    if let Some(name) = name {
        let namesakes = history.named(name);
        if !namesakes.is_empty() {
            // Written to under this name before: whoever it is, it is no slip.
            if namesakes.iter().any(|k| history.is_address(&k.addr, addr)) {
                return None;
            }
            // A known address under another's name: a slip only when the
            // address never went by this name, which `named` just said.
            return namesakes.into_iter().next();
        }
    }
    if known.is_some() {
        return None;
    }
    let (local, domain) = addr.rsplit_once('@')?;
    // A new address at the organisation of a familiar recipient of the
    // same message is one of their colleagues who shares a name with
    // someone elsewhere (`jane.park@` is common), not a slip: autocomplete's
    // wrong pick sits at another organisation than the company it keeps.
    if familiar_domains.contains(&domain) {
        return None;
    }
    let whole_name = local.contains(['.', '_', '-'])
        && !local
            .split(['.', '_', '-'])
            .any(|part| part.is_empty() || SHARED_LOCAL_PARTS.contains(&part));
    if !whole_name {
        return None;
    }
    history.with_local_part(local).into_iter().next()
}

// Every test here learns an index: the `history` feature.
#[cfg(feature = "history")]
#[cfg(test)]
mod tests {
    use crate::testing::{check_rule_with, eml, history};

    const SENT: &[&str] = &[
        "From: me@example.org\nTo: Jane Smith <jane.smith@agency.example>\nMessage-ID: <1@x>\n\nx\n",
        "From: me@example.org\nTo: \"Smith, Jane\" <jane.smith@agency.example>\nMessage-ID: <2@x>\n\nx\n",
        "From: me@example.org\nTo: Tom Jones <tom.jones@club.example>\nMessage-ID: <3@x>\n\nx\n",
        "From: me@example.org\nTo: support@agency.example\nMessage-ID: <4@x>\n\nx\n",
    ];

    fn check(to: &str) -> Vec<String> {
        let (_dir, config) = history(SENT);
        let msg = eml(&format!("From: me@example.org\nTo: {to}\n\nx\n"));
        check_rule_with(&config, "name-mismatch", &msg)
            .into_iter()
            .map(|f| f.message)
            .collect()
    }

    #[test]
    fn a_familiar_name_or_local_part_at_a_new_address() {
        assert_eq!(
            check("Jane Smith <jane.smith@asiancup.example>"),
            [
                "you have written to \"Smith, Jane\" <jane.smith@agency.example> twice; never to jane.smith@asiancup.example"
            ]
        );
        assert_eq!(
            check("jane.smith@asiancup.example"),
            [
                "you have written to \"Smith, Jane\" <jane.smith@agency.example> twice; never to jane.smith@asiancup.example"
            ]
        );
        assert_eq!(
            check("Jane Smith <tom.jones@club.example>"),
            [
                "you have written to Jane Smith at jane.smith@agency.example twice; \
                 tom.jones@club.example is Tom Jones <tom.jones@club.example>, never Jane Smith"
            ]
        );
    }

    #[test]
    fn silent_for_familiar_pairs_and_weak_evidence() {
        assert!(check("\"SMITH, jane\" <Jane.Smith@agency.example>").is_empty());
        assert!(check("Jane <jane@elsewhere.example>").is_empty());
        assert!(check("support@elsewhere.example").is_empty());
        assert!(check("jane@elsewhere.example").is_empty());
        assert!(check("Ann Lee <ann.lee@elsewhere.example>").is_empty());
        assert!(check("Tom Jones <tom.jones@club.example>").is_empty());
    }

    #[test]
    fn a_known_local_part_beside_a_familiar_colleague_is_their_colleague() {
        // Tom is at club.example: a new jane.smith there is his colleague.
        assert!(check("tom.jones@club.example, jane.smith@club.example").is_empty());
        // Elsewhere, with the same company, it is still the slip.
        assert_eq!(
            check("tom.jones@club.example, jane.smith@asiancup.example"),
            [
                "you have written to \"Smith, Jane\" <jane.smith@agency.example> twice; never to jane.smith@asiancup.example"
            ]
        );
        // A familiar name at the colleague's organisation is judged by the
        // name, as before.
        assert_eq!(
            check("tom.jones@club.example, Jane Smith <jane.smith@club.example>").len(),
            1
        );
    }
}
