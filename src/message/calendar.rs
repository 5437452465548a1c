//! Meeting invitations: the attendees of an iCalendar request (RFC 5545,
//! RFC 5546 `METHOD:REQUEST`), which every invitee's calendar shows, so
//! that they count among the message's audience. Replies, cancellations
//! and published calendars name no audience of this message.

/// One ATTENDEE of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Attendee {
    pub(super) address: String,
    /// Its `CN` parameter, unquoted.
    pub(super) name: Option<String>,
    /// The line of the calendar text (from 0) its property starts on.
    pub(super) line: usize,
}

/// Whether a part is a calendar: `text/calendar` (or `application/ics`),
/// or a file named `.ics`.
pub(super) fn is_calendar(content_type: &str, filename: Option<&str>) -> bool {
    matches!(content_type, "text/calendar" | "application/ics")
        || filename.is_some_and(|n| {
            n.trim()
                .trim_matches('"')
                .to_ascii_lowercase()
                .ends_with(".ics")
        })
}

/// The attendees of a calendar whose method is REQUEST; none otherwise.
pub(super) fn request_attendees(ics: &str) -> Vec<Attendee> {
    let mut attendees = Vec::new();
    let mut request = false;
    for (line, property) in unfolded(ics) {
        let (name_and_params, value) = split_value(&property);
        let mut params = name_and_params.split(';');
        let name = params.next().unwrap_or_default().trim();
        if name.eq_ignore_ascii_case("METHOD") {
            request = value.trim().eq_ignore_ascii_case("REQUEST");
        } else if name.eq_ignore_ascii_case("ATTENDEE") {
            let value = value.trim();
            let address = match value.get(..7) {
                Some(scheme) if scheme.eq_ignore_ascii_case("mailto:") => &value[7..],
                _ => value,
            };
            if !address.contains('@') {
                continue;
            }
            let name = params.find_map(|p| {
                let (key, value) = p.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("CN")
                    .then(|| value.trim().trim_matches('"').to_string())
                    .filter(|n| !n.is_empty())
            });
            attendees.push(Attendee {
                address: address.to_string(),
                name,
                line,
            });
        }
    }
    if request { attendees } else { Vec::new() }
}

/// The content lines of a calendar, folded lines joined (a line break
/// followed by a space or tab continues the line), each with the line it
/// starts on.
fn unfolded(ics: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, line) in ics.lines().enumerate() {
        match (line.strip_prefix([' ', '\t']), out.last_mut()) {
            (Some(rest), Some((_, last))) => last.push_str(rest),
            _ => out.push((i, line.to_string())),
        }
    }
    out
}

/// A content line cut at the colon that ends its name and parameters
/// (colons inside quoted parameter values, as in `CN="Smith: Ann"`, do
/// not count).
fn split_value(line: &str) -> (&str, &str) {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return (&line[..i], &line[i + 1..]),
            _ => {}
        }
    }
    (line, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attendees_of_requests_only() {
        let ics = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nORGANIZER;CN=GP Practice:mailto:practice@org.example\r\nATTENDEE;CN=\"Smith: Ann\";ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:ann.s\r\n mith@mail.example\r\nATTENDEE;RSVP=TRUE:MAILTO:bob@mail.example\r\nATTENDEE:not-an-address\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(
            request_attendees(ics),
            [
                Attendee {
                    address: "ann.smith@mail.example".into(),
                    name: Some("Smith: Ann".into()),
                    line: 4
                },
                Attendee {
                    address: "bob@mail.example".into(),
                    name: None,
                    line: 6
                },
            ]
        );
        for method in ["REPLY", "CANCEL", "PUBLISH"] {
            let other = ics.replace("METHOD:REQUEST", &format!("METHOD:{method}"));
            assert!(request_attendees(&other).is_empty(), "{method}");
        }
        assert!(is_calendar("application/octet-stream", Some("invite.ICS")));
        assert!(!is_calendar("text/plain", Some("notes.txt")));
    }
}
