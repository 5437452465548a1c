//! The pages' HTML: every value from mail or a form goes through
//! [`escape`]; the layout, and the chart drawn as inline SVG.

use crate::config::Releaser;
use crate::hold::{AuditEntry, Held};
use std::collections::BTreeMap;

/// `text` safe between tags and inside quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f4f5f7;color:#1f2328}
header{background:#1f3a5f;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:center}
header h1{font-size:18px;margin:0;font-weight:600}
header form{margin:0}
main{max-width:1100px;margin:24px auto;padding:0 24px}
.card{background:#fff;border:1px solid #d8dee4;border-radius:8px;padding:16px 20px;margin-bottom:20px}
.card h2{font-size:16px;margin:0 0 12px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{font-size:13px;color:#57606a;font-weight:600}
.muted{color:#57606a;font-size:13px}
.finding{background:#fff8e1;border-left:4px solid #d4a72c;padding:6px 10px;margin:6px 0;border-radius:4px}
.state{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;background:#eaeef2}
.state-held{background:#fff1c2}.state-released{background:#d2f4dc}.state-discarded,.state-expired{background:#ffd8d3}
input[type=text],input[type=password],select{padding:6px 8px;border:1px solid #d0d7de;border-radius:6px;font:inherit}
textarea{width:100%;box-sizing:border-box;padding:6px 8px;border:1px solid #d0d7de;border-radius:6px;font:inherit}
button{padding:6px 14px;border-radius:6px;border:1px solid #d0d7de;background:#f6f8fa;font:inherit;cursor:pointer}
button.send{background:#1f883d;border-color:#1a7f37;color:#fff}
button.discard{background:#cf222e;border-color:#a40e26;color:#fff}
.actions form{display:inline-flex;gap:4px;margin:2px 0}
.notice{background:#ddf4ff;border:1px solid #54aeff;border-radius:6px;padding:8px 12px;margin-bottom:16px}
.error{background:#ffebe9;border:1px solid #ff8182;border-radius:6px;padding:8px 12px;margin-bottom:16px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:20px}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;border-radius:2px}
";

/// A whole page: `title` and `body` (already HTML), the sign-out form
/// when an administrator is signed in.
pub fn page(title: &str, header_extra: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{t}</title><style>{STYLE}</style></head><body><header><h1>maillint · {t}</h1>{header_extra}</header><main>{body}</main></body></html>",
        t = escape(title)
    )
}

/// A message's recipients, shortened past a few.
pub fn recipients(held: &Held) -> String {
    let shown: Vec<String> = held.recipients.iter().take(5).map(|r| escape(r)).collect();
    let more = held.recipients.len().saturating_sub(5);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// A message's findings for its sender: what was found in words, the
/// rule's id after it, small (the findings are kept as `warning [rule]:
/// what`).
pub fn findings(held: &Held) -> String {
    held.findings
        .iter()
        .map(|f| {
            let parts = f
                .split_once(" [")
                .and_then(|(_, rest)| rest.split_once("]: "));
            match parts {
                Some((rule, what)) => format!(
                    "<div class=\"finding\">{} <span class=\"muted\">({})</span></div>",
                    escape(what),
                    escape(rule)
                ),
                None => format!("<div class=\"finding\">{}</div>", escape(f)),
            }
        })
        .collect()
}

/// A message's state, and while it is held, who may let it out.
pub fn state(held: &Held) -> String {
    let badge = format!(
        "<span class=\"state state-{s}\">{s}</span>",
        s = escape(&held.state)
    );
    if held.state == crate::hold::state::HELD {
        format!(
            "{badge}<br><span class=\"muted\">{}</span>",
            who_releases(&held.releaser)
        )
    } else {
        badge
    }
}

/// Who may let a held message out, in words.
pub fn who_releases(releaser: &str) -> &'static str {
    match Releaser::parse(releaser) {
        Some(Releaser::Sender) => "the sender or an administrator may release",
        Some(Releaser::Admin) => "only an administrator may release",
        Some(Releaser::Nobody) | None => "nobody may release: it expires",
    }
}

/// Who did something, as the audit log records them (`sender`,
/// `admin:NAME`, `maillint`), in words.
pub fn actor(actor: &str) -> String {
    match actor {
        "sender" => "the sender".into(),
        "maillint" => "maillint".into(),
        other => match other.strip_prefix("admin:") {
            Some(name) => format!("{} (administrator)", escape(name)),
            None => escape(other),
        },
    }
}

/// An audit log event, in words.
fn event(event: &str) -> String {
    let words = match event {
        "hold" => "held",
        "notify" => "sender told",
        "notify-failed" => "telling the sender failed",
        "notify-expired" => "sender told it expired",
        "notify-expired-failed" => "telling the sender it expired failed",
        "release" => "released",
        "discard" => "discarded",
        "expire" => "expired (discarded)",
        "release-failed" => "release failed",
        "discard-failed" => "discard failed",
        "expire-failed" => "discard at expiry failed",
        other => return escape(other),
    };
    words.into()
}

/// `seconds` as the page says an age: `3 min`, `5 h`, `2 d`.
pub fn age(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min", seconds / 60),
        3600..86400 => format!("{} h", seconds / 3600),
        _ => format!("{} d", seconds / 86400),
    }
}

/// A time as `2024-11-18 09:00 UTC`.
pub fn time(at: u64) -> String {
    let (y, m, d) = crate::numbers::civil_from_days((at / 86400) as i64);
    let secs = at % 86400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

pub fn audit_table(entries: &[AuditEntry]) -> String {
    let mut rows = String::new();
    for e in entries {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            time(e.at),
            event(&e.event),
            e.held_id.map_or(String::new(), |id| id.to_string()),
            escape(e.queue_id.as_deref().unwrap_or("")),
            actor(&e.actor),
            escape(e.reason.as_deref().or(e.detail.as_deref()).unwrap_or("")),
        ));
    }
    format!(
        "<table><tr><th>When</th><th>What</th><th>#</th><th>Queue ID</th><th>Who</th><th>Reason or detail</th></tr>{rows}</table>"
    )
}

/// What became of one rule's holds on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Day {
    pub released: u32,
    pub discarded: u32,
    pub expired: u32,
    pub waiting: u32,
}

impl Day {
    fn total(&self) -> u32 {
        self.released + self.discarded + self.expired + self.waiting
    }
}

const COLOURS: [(&str, &str); 4] = [
    ("released", "#2da44e"),
    ("discarded", "#cf222e"),
    ("expired", "#8c959f"),
    ("still held", "#d4a72c"),
];

/// Each rule's holds per day over `days` days ending at `last_day` (days
/// since the epoch), as stacked bars in inline SVG.
pub fn charts(per_rule: &BTreeMap<String, BTreeMap<u64, Day>>, last_day: u64, days: u64) -> String {
    if per_rule.is_empty() {
        return "<p class=\"muted\">Nothing held in this period.</p>".into();
    }
    let legend: String = COLOURS
        .iter()
        .map(|(name, colour)| format!("<span style=\"background:{colour}\"></span>{name}"))
        .collect();
    let mut out = format!("<p class=\"legend muted\">{legend}</p>");
    let first_day = last_day.saturating_sub(days - 1);
    for (rule, by_day) in per_rule {
        let max = by_day.values().map(Day::total).max().unwrap_or(1).max(1);
        let (width, height, bar) = (days * 22 + 40, 110u64, 16u64);
        let mut svg = format!(
            "<svg role=\"img\" aria-label=\"{r} per day\" width=\"{width}\" height=\"{}\" viewBox=\"0 0 {width} {}\">",
            height + 20,
            height + 20,
            r = escape(rule)
        );
        svg.push_str(&format!(
            "<text x=\"0\" y=\"12\" font-size=\"11\" fill=\"#57606a\">{max}</text><line x1=\"30\" y1=\"{height}\" x2=\"{width}\" y2=\"{height}\" stroke=\"#d0d7de\"/>"
        ));
        for (i, day) in (first_day..=last_day).enumerate() {
            let x = 34 + i as u64 * 22;
            let counts = by_day.get(&day).copied().unwrap_or_default();
            let mut y = height;
            for (value, (name, colour)) in [
                counts.released,
                counts.discarded,
                counts.expired,
                counts.waiting,
            ]
            .into_iter()
            .zip(COLOURS)
            {
                if value == 0 {
                    continue;
                }
                let h = (u64::from(value) * (height - 16) / u64::from(max)).max(2);
                y -= h;
                svg.push_str(&format!(
                    "<rect x=\"{x}\" y=\"{y}\" width=\"{bar}\" height=\"{h}\" fill=\"{colour}\"><title>{value} {name}</title></rect>"
                ));
            }
            if i % 2 == 0 || days <= 7 {
                let (_, m, d) = crate::numbers::civil_from_days(day as i64);
                svg.push_str(&format!(
                    "<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#57606a\" text-anchor=\"middle\">{d}/{m}</text>",
                    x + bar / 2,
                    height + 14
                ));
            }
        }
        svg.push_str("</svg>");
        out.push_str(&format!(
            "<div><strong>{}</strong><br>{svg}</div>",
            escape(rule)
        ));
    }
    out
}

/// A two-column table of names and counts, most first.
pub fn top(title: &str, counts: &BTreeMap<String, u32>, limit: usize) -> String {
    let mut sorted: Vec<(&String, &u32)> = counts.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let rows: String = sorted
        .iter()
        .take(limit)
        .map(|(name, n)| format!("<tr><td>{}</td><td>{n}</td></tr>", escape(name)))
        .collect();
    format!(
        "<table><tr><th>{}</th><th>Held</th></tr>{rows}</table>",
        escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_is_text() {
        assert_eq!(
            escape("<script>alert(\"x\")</script> & 'y'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn the_page_speaks_in_words() {
        assert_eq!(
            who_releases("sender"),
            "the sender or an administrator may release"
        );
        assert_eq!(who_releases("admin"), "only an administrator may release");
        assert_eq!(who_releases("nobody"), "nobody may release: it expires");
        assert_eq!(actor("admin:<ann>"), "&lt;ann&gt; (administrator)");
        assert_eq!(actor("sender"), "the sender");
        assert_eq!(event("notify"), "sender told");
        assert_eq!(event("<odd>"), "&lt;odd&gt;");
        let held = Held {
            id: 1,
            queue_id: "Q".into(),
            sender: "jane@example.org".into(),
            recipients: vec![],
            subject: String::new(),
            findings: vec![
                "warning [mass-list]: <all-staff@example.org> reaches everyone".into(),
                "odd line".into(),
            ],
            rules: vec![],
            releaser: "admin".into(),
            held_at: 0,
            expires_at: 0,
            state: "held".into(),
            decided_by: None,
            reason: None,
            gateway: String::new(),
        };
        assert_eq!(
            findings(&held),
            "<div class=\"finding\">&lt;all-staff@example.org&gt; reaches everyone <span class=\"muted\">(mass-list)</span></div><div class=\"finding\">odd line</div>"
        );
        assert!(state(&held).ends_with("only an administrator may release</span>"));
        let released = Held {
            state: "released".into(),
            ..held
        };
        assert!(!state(&released).contains("release</span>"));
    }

    #[test]
    fn ages_and_times() {
        assert_eq!(age(5), "5 s");
        assert_eq!(age(300), "5 min");
        assert_eq!(age(7200), "2 h");
        assert_eq!(age(200_000), "2 d");
        assert_eq!(time(1_731_920_400), "2024-11-18 09:00 UTC");
    }

    #[test]
    fn a_chart_has_a_bar_per_outcome_and_escapes_its_rule() {
        let mut per_rule = BTreeMap::new();
        let mut days = BTreeMap::new();
        days.insert(
            100,
            Day {
                released: 2,
                discarded: 1,
                ..Day::default()
            },
        );
        per_rule.insert("<b>".to_string(), days);
        let svg = charts(&per_rule, 101, 7);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("<title>2 released</title>"));
        assert!(svg.contains("&lt;b&gt;"));
        assert!(!svg.contains("<b>"));
    }
}
