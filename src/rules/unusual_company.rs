use super::shared::judged;
use super::shared::{NoOptions, location};
use super::{Context, Rule, declare_rule};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Severity};
use crate::history::{Known, MAX_CIRCLE};
use std::collections::HashSet;

declare_rule! {
    /// ## What it checks
    /// Needs a history: the index `maillint learn` builds from your sent mail
    /// (silent without one). A recipient you know, but never together with
    /// the others, who do belong together: someone from a different circle
    /// of contacts, picked by autocomplete in place of a namesake.
    ///
    /// It takes a message to at least two other familiar recipients who have
    /// had mail together (at least half of their pairs), and exactly one
    /// familiar recipient who never had mail with any of them, at a domain
    /// none of them is at (a colleague of theirs is no stranger), and with
    /// no companion in common with them either (someone who had mail with
    /// one of your other correspondents' companions is of the same wider
    /// circle). Two or more
    /// strangers to each other make a mixed thread, which is ordinary; so is
    /// a message to more than 20 recipients (whose company the index does not
    /// learn either). A warning; replies stay infos, since others chose who
    /// is in a thread.
    ///
    /// ## Why it matters
    /// The wrong person from your own address book is the misdirection no
    /// address check can see: the address is valid and familiar. Only who
    /// you usually write to together gives it away.
    ///
    /// ## Example
    /// ```text
    /// From: me@example.org
    /// To: ann@board.example, bob@board.example, kim@school.example
    /// ```
    /// gives "you have written to kim@school.example 12 times, last on
    /// 2026-03-02, never together
    /// with ann@board.example or bob@board.example (who have had 30 messages
    /// together)".
    ///
    /// ## How to fix
    /// Check the recipient is the person you meant, not a namesake or a
    /// neighbour in the address book.
    ///
    /// ## Options
    /// None of its own. The index is `[history] index` (default
    /// `$XDG_DATA_HOME/maillint/history.sqlite`).
    id: "unusual-company",
    severity: Warning,
    summary: "A familiar recipient never written to together with the others, who belong together (needs `maillint learn`)",
    build: UnusualCompany::build,
}

struct UnusualCompany;

impl UnusualCompany {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        settings.options::<NoOptions>()?;
        Ok(Box::new(UnusualCompany))
    }
}

impl Rule for UnusualCompany {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let Some(history) = cx.history else { return };
        if cx.audience.len() > MAX_CIRCLE {
            return;
        }
        let familiar: Vec<(Known, _)> = judged(cx)
            .filter_map(|r| Some((history.known(r.first().addr)?, r)))
            .collect();
        if familiar.len() < 3 {
            return;
        }
        // together[i][j]: messages that went to both.
        let n = familiar.len();
        let mut together = vec![vec![0u64; n]; n];
        for i in 0..n {
            for j in i + 1..n {
                let both = history.together(&familiar[i].0.addr, &familiar[j].0.addr);
                together[i][j] = both;
                together[j][i] = both;
            }
        }
        let strangers: Vec<usize> = (0..n)
            .filter(|&i| (0..n).all(|j| together[i][j] == 0))
            .collect();
        let [stranger] = strangers[..] else { return };
        let others: Vec<usize> = (0..n).filter(|&i| i != stranger).collect();
        let domain = |i: usize| familiar[i].1.first().domain().map(str::to_ascii_lowercase);
        if others.iter().any(|&i| domain(i) == domain(stranger)) {
            return;
        }
        let theirs: HashSet<String> = others
            .iter()
            .flat_map(|&i| history.companions(&familiar[i].0.addr))
            .collect();
        if history
            .companions(&familiar[stranger].0.addr)
            .iter()
            .any(|c| theirs.contains(c))
        {
            return;
        }
        let pairs = others.len() * (others.len() - 1) / 2;
        let mut connected = 0;
        let mut shared = 0;
        for (k, &i) in others.iter().enumerate() {
            for &j in &others[k + 1..] {
                connected += usize::from(together[i][j] > 0);
                shared = shared.max(together[i][j]);
            }
        }
        if connected * 2 < pairs {
            return;
        }
        let (known, r) = &familiar[stranger];
        let names: Vec<&str> = others
            .iter()
            .take(3)
            .map(|&i| familiar[i].0.addr.as_str())
            .collect();
        let names = match others.len() {
            2 => names.join(" or "),
            3 => format!("{}, {} or {}", names[0], names[1], names[2]),
            more => format!(
                "{} or {}",
                names.join(", "),
                super::plural(more as u64 - 3, "other", "others")
            ),
        };
        let severity = if cx.message.is_reply {
            Severity::Info
        } else {
            Severity::Warning
        };
        out.push(
            Diagnostic::new(
                severity,
                format!(
                    "you have written to {} {}, never together with {names} (who have had up to {} together)",
                    known.mailbox(),
                    known.times_and_when(),
                    super::plural(shared, "message", "messages"),
                ),
                location(*r),
            )
            .help("check that this recipient belongs in this conversation"),
        );
    }
}

// Every test here learns an index: the `history` feature.
#[cfg(feature = "history")]
#[cfg(test)]
mod tests {
    use crate::finding::Severity;
    use crate::testing::{check_rule_with, eml, history};

    const SENT: &[&str] = &[
        "From: me@example.org\nTo: ann@board.example, bob@board.example, cy@board.example\nMessage-ID: <1@x>\n\nx\n",
        "From: me@example.org\nTo: ann@board.example, bob@board.example\nMessage-ID: <2@x>\n\nx\n",
        "From: me@example.org\nTo: kim@school.example, lee@school.example\nMessage-ID: <3@x>\n\nx\n",
        "From: me@example.org\nTo: dee@board.example\nMessage-ID: <4@x>\n\nx\n",
        "From: me@example.org\nTo: eve@else.example, cy@board.example\nMessage-ID: <5@x>\n\nx\n",
    ];

    fn check(headers: &str) -> Vec<crate::finding::Finding> {
        let (_dir, config) = history(SENT);
        let msg = eml(&format!("From: me@example.org\n{headers}\nx\n"));
        check_rule_with(&config, "unusual-company", &msg)
    }

    #[test]
    fn one_recipient_from_another_circle() {
        let f = check("To: ann@board.example, bob@board.example, kim@school.example\n");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(
            f[0].message,
            "you have written to kim@school.example once, never together with \
             ann@board.example or bob@board.example (who have had up to 2 messages together)"
        );
        let f =
            check("To: ann@board.example, bob@board.example, kim@school.example\nSubject: Re: x\n");
        assert_eq!(f[0].severity, Severity::Info);
    }

    #[test]
    fn silent_for_one_circle_mixed_threads_and_few_recipients() {
        assert!(check("To: ann@board.example, bob@board.example, cy@board.example\n").is_empty());
        // Two circles meeting: nobody stands out.
        assert!(
            check(
                "To: ann@board.example, bob@board.example, kim@school.example, lee@school.example\n"
            )
            .is_empty()
        );
        // One familiar companion says too little.
        assert!(check("To: ann@board.example, kim@school.example\n").is_empty());
        // A colleague of theirs they never met.
        assert!(check("To: ann@board.example, bob@board.example, dee@board.example\n").is_empty());
        // Someone who had mail with a companion of theirs.
        assert!(check("To: ann@board.example, bob@board.example, eve@else.example\n").is_empty());
        // Strangers are new-recipient's business.
        assert!(check("To: ann@board.example, bob@board.example, new@else.example\n").is_empty());
    }
}
