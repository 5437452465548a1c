use super::shared::personal::{Hits, Kind, Screen, mask, new_text_only};
use super::{Context, Rule, declare_rule, thousands};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};

declare_rule! {
    /// ## What it checks
    /// Personal data in the subject, the body (HTML read as text), text
    /// attachments (`.txt`, `.csv`, `.tsv`, `text/plain`), attached
    /// messages (a forward sent as `message/rfc822`, read as text), and
    /// inside attachments, known by their bytes whatever their names say:
    /// each sheet of a spreadsheet (xlsx, xls, ods; hidden sheets too),
    /// documents (docx with its headers and footers, odt, rtf),
    /// presentations (pptx with speaker notes, odp), the text layer of
    /// PDFs, and CSV and text files, also in zip, gzip and tar archives
    /// (nested) and in winmail.dat, within the `[attachments]` limits (see
    /// attachment-limit):
    ///
    /// - **payment card numbers**: 13–19 digits, written together or in
    ///   groups (`4-4-4-4`, `4-6-5`) separated by single spaces or dashes,
    ///   with a known issuer prefix and length (Visa, Mastercard, Amex,
    ///   Discover, JCB, Diners, Maestro, UnionPay) and a valid Luhn check
    ///   digit. A number inside a longer run of digits, a URL, an address
    ///   or a message id, or one labelled as an order, tracking, invoice,
    ///   reference, account, phone, IMEI, ... number is not one, nor are
    ///   the test numbers payment processors publish (`4242 4242 4242
    ///   4242`, `4111 1111 1111 1111`, ...);
    /// - **IBANs**: country code, check digits and the country's length,
    ///   written together or in groups of four, with a valid mod-97 check;
    /// - **UK National Insurance numbers** (`AB123456C`, `AB 12 34 56 C`)
    ///   with the official letter rules (no D, F, I, Q, U, V; no O second;
    ///   no BG, GB, KN, NK, NT, TN, ZZ prefix; so HMRC's `QQ 12 34 56 C`
    ///   placeholder is not one);
    /// - **US Social Security numbers** (`123-45-6789`, valid area, group
    ///   and serial), only with "SSN", "social security", "SS#" ... within
    ///   40 characters;
    /// - **NHS numbers** (`943 476 5919`, `9434765919`, `943-476-5919`)
    ///   with a valid modulus 11 check digit, only with "NHS number", "NHS
    ///   No.", "NHS#" or "NHS:" within 40 characters;
    /// - **passport numbers**: a 6–9 character token of capitals and digits,
    ///   with a digit, within 40 characters after "passport", "passport no",
    ///   "Reisepass", "passeport", "pasaporte", "passaporto" or "paspoort",
    ///   in the same sentence and not after a word that names it something
    ///   else ("my passport came back! Flight BA0500", "passport, booking
    ///   ref AB1234" are not);
    ///   in a CSV or TSV file, also every such value in a column headed
    ///   "passport ..." (and 123-45-6789 values in an "SSN" column, valid
    ///   NHS numbers in an "NHS number" one). A `.csv` file's columns may be
    ///   separated by commas, semicolons or tabs (what its header line
    ///   uses most).
    ///
    /// One finding per place (subject, body part, attachment, file and
    /// sheet inside one: `1,204 NHS numbers in patients.xlsx, hidden sheet
    /// Hidden`; a spreadsheet's columns count as a table's) states the
    /// kinds and how many distinct values, with up to three examples masked
    /// down to their last four characters: the values are never printed.
    ///
    /// It is an error when the message goes outside the organisation, is
    /// sent from a personal mailbox (gmail.com, hotmail.com, ... and
    /// `organization.personal_domains`: the data has left the
    /// organisation's systems whoever it is to) or goes to an everyone-style
    /// list, and a warning for internal mail.
    ///
    /// Data leaving is data leaving, so the whole text is read, forwarded
    /// messages included. One exception: in a reply (that is not a forward
    /// and does not go to an everyone-style list) the quoted history — `>`
    /// lines, and everything from "On … wrote:" or an Outlook header block
    /// on — and the signature are not read: the people in the thread have
    /// seen it already, and repeating it back is not a new disclosure.
    ///
    /// ## Why it matters
    /// A member of the G20 summit's staff accidentally emailed the personal
    /// details, passport numbers included, of 31 world leaders attending the
    /// summit to the organisers of the Asian Cup football tournament. Data
    /// emailed to the wrong people is one of the most common personal data
    /// breaches reported to data protection regulators.
    ///
    /// ## Example
    /// ```text
    /// To: accreditation@footballcup.example
    /// Subject: Leaders' arrival - accreditation details
    ///
    ///  1. Prime Minister of Aldoria - Passport no. 617644717 (diplomatic)
    ///  2. Chancellor of Belmarre - Passport no. 525380048 (diplomatic)
    /// ```
    ///
    /// ## How to fix
    /// Check the recipients, then remove the data the recipients do not need
    /// or send it through an approved secure channel. Values your
    /// organisation publishes on purpose (its own IBAN in a signature or on
    /// invoices) go in `allow`.
    ///
    /// ## Options
    /// ```toml
    /// [rules.personal-data]
    /// kinds = ["card", "iban", "ni", "ssn", "nhs", "passport"]  # what to look for
    /// min_count = 1   # distinct values in one place needed for a finding
    /// allow = []      # values never reported, e.g. ["GB82 WEST 1234 5698 7654 32"]
    /// ```
    id: "personal-data",
    severity: Warning,
    summary: "Card numbers, IBANs, NI numbers, SSNs, NHS numbers or passport numbers in the mail; an error when it leaves the organisation",
    build: PersonalData::build,
}

struct PersonalData {
    screen: Screen,
}

impl PersonalData {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        Ok(Box::new(PersonalData {
            screen: Screen::build(settings)?,
        }))
    }

    fn report(
        &self,
        hits: &Hits,
        place: &str,
        location: Location,
        (severity, audience): (Severity, &str),
    ) -> Option<Diagnostic> {
        if (hits.values.len() as u64) < self.screen.min_count {
            return None;
        }
        let mut counts: Vec<(Kind, u64)> = Vec::new();
        for (kind, _) in &hits.values {
            match counts.iter_mut().find(|(k, _)| k == kind) {
                Some((_, n)) => *n += 1,
                None => counts.push((*kind, 1)),
            }
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let what = counts
            .iter()
            .map(|(k, n)| k.noun(*n))
            .collect::<Vec<_>>()
            .join(", ");
        let shown: Vec<String> = counts
            .iter()
            .flat_map(|(kind, _)| hits.values.iter().filter(move |(k, _)| k == kind))
            .take(EXAMPLES)
            .map(|(_, v)| mask(v))
            .collect();
        let more = hits.values.len().saturating_sub(EXAMPLES) as u64;
        let mut examples = shown.join(", ");
        if more > 0 {
            examples.push_str(&format!(", and {} more", thousands(more)));
        }
        Some(
            Diagnostic::new(
                severity,
                format!("{what} in {place}{audience}: {examples}"),
                location,
            )
            .help("check the recipients; remove what they do not need, or send it through an approved secure channel"),
        )
    }
}

/// Masked examples shown per finding.
const EXAMPLES: usize = 3;

impl Rule for PersonalData {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        let msg = cx.message;
        let mass = cx.audience.reaches_mass_list();
        let found = self
            .screen
            .scan_message(msg, new_text_only(msg, mass), cx.inside());
        // Where the mail goes matters only when it carries something.
        if found.is_empty() {
            return;
        }
        // Mail from a personal mailbox has left the organisation's systems
        // whoever it is to, its own addresses and colleagues included.
        let personal_account = msg
            .sender()
            .and_then(|a| a.domain())
            .filter(|d| cx.audience.is_personal(d) && !cx.audience.is_internal(d))
            .map(|d| format!(" sent from a personal account ({})", d.to_ascii_lowercase()));
        let reach = if cx.audience.goes_outside() {
            (Severity::Error, " going outside the organisation")
        } else if let Some(account) = &personal_account {
            (Severity::Error, account.as_str())
        } else if mass {
            (Severity::Error, " going to an everyone-style list")
        } else {
            (Severity::Warning, "")
        };
        for found in found {
            out.extend(self.report(&found.hits, &found.place, found.location, reach));
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn documented_options_are_the_defaults() {
        assert_eq!(
            crate::testing::documented_options::<Options>(&super::RULE),
            Options::default()
        );
    }
    use super::super::shared::personal::*;
    use super::*;
    use crate::message::Attachment;
    use crate::testing::{check_rule, check_rule_with, eml, option_error};
    use std::collections::HashSet;

    fn found(text: &str) -> Vec<(Kind, String)> {
        let allow = HashSet::new();
        let mut hits = Hits::new(&allow);
        scan(text, &Kind::ALL, &mut hits);
        hits.values
    }

    fn kinds(text: &str) -> Vec<Kind> {
        found(text).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn luhn_and_issuers() {
        assert!(is_card("4556737586899855"));
        assert!(is_card("5500005555555559"));
        assert!(is_card("2223000048400011"));
        assert!(is_card("378282246310005"));
        assert!(is_card("6011000990139424"));
        assert!(is_card("3530111333300000"));
        assert!(is_card("30569309025904"));
        assert!(is_card("6200000000000005"));
        assert!(!is_card("4111111111111112"), "bad check digit");
        // Luhn-valid, but no issuer starts with 1, 7, 8, 9 or 0.
        assert!(luhn(b"1234567812345670") && !is_card("1234567812345670"));
        assert!(luhn(b"9400111202555845") && !is_card("9400111202555845"));
        // An IMEI is Luhn-valid and starts like JCB, but has 15 digits.
        assert!(luhn(b"356938035643809") && !is_card("356938035643809"));
    }

    #[test]
    fn published_test_cards_are_not_personal_data() {
        for text in [
            "Use 4242 4242 4242 4242 with any future expiry in the sandbox",
            "Braintree test card 4111 1111 1111 1111 declined",
            "Amex test number 3782 822463 10005, Mastercard 5555555555554444",
            "Worldpay: card 4444333322221111",
        ] {
            assert!(kinds(text).is_empty(), "{text}: {:?}", found(text));
        }
        // Every listed number passes the checks a card must: each entry
        // keeps a real false alarm away.
        for number in super::super::shared::personal::PUBLISHED_TEST_CARDS {
            assert!(is_card(number), "{number}");
        }
    }

    #[test]
    fn cards_in_text() {
        for text in [
            "Card: 4556 7375 8689 9855, exp 09/27",
            "card number 4556-7375-8689-9855",
            "Visa 4556737586899855.",
            "Amex 3782 822463 10021 please",
            "pay with 4556 7375 8689 9855 123 (CVV)",
        ] {
            assert_eq!(kinds(text), [Kind::Card], "{text}");
        }
        assert_eq!(found("card 4556 7375 8689 9855")[0].1, "4556737586899855");
    }

    #[test]
    fn not_cards() {
        for text in [
            "Order #4556737586899855 has shipped",
            "Order number: 4556 7375 8689 9855",
            "Tracking: 4556737586899855",
            "4556737586899855 is your tracking number",
            "https://parcels.example.com/track/4556737586899855",
            "https://shop.example.com/?id=4556737586899855&x=1",
            "<4556737586899855@mail.example.com>",
            "mail 4556737586899855@example.com",
            "call +4556737586899855",
            "run 94556737586899855 and 45567375868998551",
            "12 4556 7375 8689 9855 5678 9",
            "value 4556737586899855.25",
            "file 4556737586899855.pdf",
            "IMEI 356938035643809",
            "parcel id 1234 5678 1234 5670",
            "timestamp 1700000000000 and 20240101123045",
            "4556 7375-8689 9855",
        ] {
            assert!(kinds(text).is_empty(), "{text}: {:?}", found(text));
        }
    }

    #[test]
    fn ibans() {
        assert!(mod97("GB82WEST12345698765432"));
        assert!(!mod97("GB82WEST12345698765433"));
        for text in [
            "IBAN: GB82 WEST 1234 5698 7654 32",
            "IBAN DE89370400440532013000.",
            "to NL91 ABNA 0417 1643 00 by Friday",
            "BE68 5390 0754 7034 BIC GEBABEBB",
        ] {
            assert_eq!(kinds(text), [Kind::Iban], "{text}");
        }
        assert_eq!(found("BE68 5390 0754 7034 GEBA")[0].1, "BE68539007547034");
        for text in [
            "GB82 WEST 1234 5698 7654 33",
            "DE8937040044053201300",
            "XX89370400440532013000",
            "https://bank.example/DE89370400440532013000",
        ] {
            assert!(kinds(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn national_insurance_numbers() {
        for text in ["NI: AB123456C", "NINO AB 12 34 56 C.", "JK 123456 D"] {
            assert_eq!(kinds(text), [Kind::Ni], "{text}");
        }
        for text in [
            "QQ 12 34 56 C",
            "QQ123456C",
            "GB123456A",
            "AO123456A",
            "DA123456A",
            "AB123456E",
            "XAB123456C",
            "AB1234567C",
        ] {
            assert!(kinds(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn ssns_need_a_label() {
        assert_eq!(kinds("SSN: 123-45-6789"), [Kind::Ssn]);
        assert_eq!(
            kinds("123-45-6789 is her social security number"),
            [Kind::Ssn]
        );
        for text in [
            "call 123-45-6789",
            "SSN: 000-12-3456",
            "SSN: 666-12-3456",
            "SSN: 912-12-3456",
            "SSN: 123-00-3456",
            "SSN: 123-45-0000",
            "SSN: 078-05-1120",
            "SSN: 123-45-6789-01",
        ] {
            assert!(kinds(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn passports_need_a_label() {
        for text in [
            "Passport no. 617644717 (diplomatic)",
            "passport number: C01X00T47",
            "Reisepass Nr. C01X00T47",
            "numéro de passeport 12AB34567",
            "PASSPORT NUMBER 123456789",
            "Passport:\n  AB1234567",
            // A label's edge beside characters other than ASCII: after a
            // quote or a dash, and in text with other letters elsewhere.
            "«Passport» AB1234567",
            "Reiseunterlagen für Jörg \u{2014}passport AB1234567",
        ] {
            assert_eq!(kinds(text), [Kind::Passport], "{text}");
        }
        for text in [
            "617644717",
            "passport photo 1234567.jpg",
            "passport expires 01/2020",
            "passport office opens at 09:00 on 12 May 2024",
            "Passport.js 0.7.0 released",
            "passport ab1234567",
            "My passport finally came back! Flight is BA0500",
            "my passport came, flight BA0500 on the 28th",
            "Passport renewed. Booking ref XK4471 confirmed",
            // Glued to a letter other than ASCII: not a word's start.
            "Épassport AB1234567",
        ] {
            assert!(kinds(text).is_empty(), "{text}: {:?}", found(text));
        }
    }

    #[test]
    fn nhs_numbers_need_a_valid_check_digit_and_a_label() {
        assert!(nhs_check(b"9434765919"));
        assert!(!nhs_check(b"9434765918"));
        assert!(!nhs_check(b"0000000000"), "a placeholder");
        for text in [
            "NHS number 943 476 5919",
            "NHS No. 9434765919",
            "NHS#: 943-476-5919",
            "Patient: J Bloggs, DOB 01/01/1960, NHS: 943 476 5919",
            "943 476 5919 (NHS number)",
        ] {
            assert_eq!(kinds(text), [Kind::Nhs], "{text}");
        }
        for text in [
            "NHS number 943 476 5918",
            "order 9434765919",
            "ward7@nhs.net 943 476 5919",
            "NHS number 943-476 5919",
            "NHS number 19434765919",
        ] {
            assert!(kinds(text).is_empty(), "{text}: {:?}", found(text));
        }
    }

    #[test]
    fn csv_columns_by_comma_semicolon_or_tab() {
        let attachment = |name: &str| Attachment {
            filename: Some(name.into()),
            content_type: "application/octet-stream".into(),
            size: 0,
            ..Attachment::default()
        };
        let csv = attachment("list.csv");
        assert_eq!(table_separator(&csv, "Name,Passport number\n"), Some(','));
        assert_eq!(
            table_separator(&csv, "Name;Passport number;Notes\n"),
            Some(';')
        );
        assert_eq!(table_separator(&csv, "Name\tPassport number\n"), Some('\t'));
        assert_eq!(table_separator(&csv, "\"a;b\",c\n"), Some(','));
        assert_eq!(
            table_separator(&attachment("list.tsv"), "Name\n"),
            Some('\t')
        );
        assert_eq!(table_separator(&attachment("notes.txt"), "a;b;c\n"), None);
        let allow = HashSet::new();
        let mut hits = Hits::new(&allow);
        scan_table(
            "Surname;Passport number;NHS number\nKeller;C4F7K29RM;943 476 5919\n",
            ';',
            &Kind::ALL,
            &mut hits,
        );
        let values: Vec<&str> = hits.values.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(values, ["C4F7K29RM", "9434765919"]);
    }

    #[test]
    fn a_personal_account_sends_outside_the_organisation() {
        let body = "\n\nPassport no. 617644717\n";
        let to_self = eml(&format!(
            "From: Dan <dan.price1979@hotmail.com>\nTo: dan.price1979@hotmail.com\nSubject: list{body}"
        ));
        let f = check_rule("personal-data", &to_self);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(
            f[0].message
                .contains("sent from a personal account (hotmail.com)"),
            "{}",
            f[0].message
        );
        let to_colleague = eml(&format!(
            "From: Dan <dan.price1979@hotmail.com>\nTo: sam@trust.example.org\nSubject: list{body}"
        ));
        let f = check_rule_with(
            "[organization]\ndomains = [\"trust.example.org\"]\n",
            "personal-data",
            &to_colleague,
        );
        assert_eq!(f[0].severity, Severity::Error, "{}", f[0].message);
    }

    #[test]
    fn attached_messages_are_read() {
        let msg = eml(concat!(
            "From: a@org.example\nTo: b@other.example\nSubject: Fw: deposit\n",
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n",
            "--b\nContent-Type: text/plain\n\nSee the note below.\n",
            "--b\nContent-Type: message/rfc822\n\n",
            "From: finance@org.example\nSubject: Deposit\nContent-Type: text/html\n\n",
            "<p>Use card <b>4556 7375 8689 9855</b></p>\n",
            "--b--\n"
        ));
        let f = check_rule("personal-data", &msg);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].message,
            "1 payment card number in the attached message going outside the organisation: ••••••••••••9855"
        );
    }

    #[test]
    fn findings_point_at_the_line_of_the_first_value() {
        let msg = eml(
            "From: a@org.example\nTo: b@other.example\nSubject: list\n\nHello,\n\nthe numbers:\n\nPassport no. 617644717\n",
        );
        assert_eq!(check_rule("personal-data", &msg)[0].location.line, Some(9));
    }

    #[test]
    fn tables_label_whole_columns() {
        let allow = HashSet::new();
        let mut hits = Hits::new(&allow);
        let csv = "Name,\"Country, region\",Passport number,Notes\n\
                   \"Rautio, Katarin\",Aldoria,617644717,\n\
                   \"Halvorsen, Ottilie\",Belmarre,525380048,x\n\
                   Quist,Caskavia,n/a,\n";
        scan_table(csv, ',', &Kind::ALL, &mut hits);
        let values: Vec<&str> = hits.values.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(values, ["617644717", "525380048"]);
    }

    #[test]
    fn masks_all_but_four() {
        assert_eq!(mask("617644717"), "•••••4717");
        assert_eq!(mask("GB82WEST12345698765432"), "••••••••••••••••••5432");
    }

    #[test]
    fn error_outside_warning_inside() {
        let body = "Passport no. 617644717\nPassport no. 525380048\nCard 4556 7375 8689 9855\n";
        let outside = eml(&format!(
            "From: a@org.example\nTo: b@other.example\nSubject: list\n\n{body}"
        ));
        let f = check_rule("personal-data", &outside);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(
            f[0].message,
            "2 passport numbers, 1 payment card number in the text body going outside the organisation: •••••4717, •••••0048, ••••••••••••9855"
        );
        assert_eq!(f[0].location.part.as_deref(), Some("text/plain"));
        assert_eq!(f[0].location.line, Some(5));
        assert!(!f[0].message.contains("617644717"));

        let inside = eml(&format!(
            "From: a@org.example\nTo: b@hr.org.example\nSubject: list\n\n{body}"
        ));
        let f = check_rule("personal-data", &inside);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].message
                .ends_with("in the text body: •••••4717, •••••0048, ••••••••••••9855")
        );

        let everyone = eml(&format!(
            "From: a@org.example\nTo: everyone@org.example\n\n{body}"
        ));
        let f = check_rule("personal-data", &everyone);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].message.contains("going to an everyone-style list"));
    }

    #[test]
    fn subject_html_and_attachments() {
        let msg = eml(concat!(
            "From: a@org.example\nTo: b@other.example\nSubject: card 4556 7375 8689 9855\n",
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n",
            "--b\nContent-Type: text/html\n\n<p>IBAN <b>GB82 WEST 1234 5698 7654 32</b></p>\n",
            "--b\nContent-Type: application/octet-stream\n",
            "Content-Disposition: attachment; filename=staff.csv\n\n",
            "name,passport\nAnn,123456789\nBob,987654321\nCy,555555555\nDee,444444444\n",
            "--b--\n"
        ));
        let f = check_rule("personal-data", &msg);
        let summary: Vec<(Option<&str>, Option<&str>)> = f
            .iter()
            .map(|f| (f.location.header.as_deref(), f.location.part.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                (Some("Subject"), None),
                (None, Some("text/html")),
                (None, Some("staff.csv"))
            ]
        );
        assert!(f[1].message.starts_with("1 IBAN in the HTML body"));
        assert_eq!(
            f[2].message,
            "4 passport numbers in attachment staff.csv going outside the organisation: •••••6789, •••••4321, •••••5555, and 1 more"
        );
    }

    #[test]
    fn quoted_history_of_a_reply_is_not_read() {
        let reply = eml(concat!(
            "From: a@org.example\nTo: b@other.example\nSubject: Re: invoice\n",
            "In-Reply-To: <x@other.example>\n\nPaid, thanks.\n\n",
            "On Mon, 1 Jan 2024, B <b@other.example> wrote:\n> Please pay to GB82 WEST 1234 5698 7654 32\n"
        ));
        assert!(check_rule("personal-data", &reply).is_empty());
        let new_data = eml(concat!(
            "From: a@org.example\nTo: b@other.example\nSubject: Re: invoice\n",
            "In-Reply-To: <x@other.example>\n\nOurs is DE89 3704 0044 0532 0130 00\n\n",
            "> Please pay to GB82 WEST 1234 5698 7654 32\n"
        ));
        let f = check_rule("personal-data", &new_data);
        assert!(
            f[0].message.starts_with("1 IBAN in the text body"),
            "{}",
            f[0].message
        );
        let forward = eml(concat!(
            "From: a@org.example\nTo: c@third.example\nSubject: Fwd: invoice\n",
            "References: <x@other.example>\n\nSee below.\n\n",
            "---------- Forwarded message ---------\nPlease pay to GB82 WEST 1234 5698 7654 32\n"
        ));
        assert_eq!(check_rule("personal-data", &forward).len(), 1);
    }

    #[test]
    fn options() {
        let msg = eml(
            "From: a@org.example\nTo: b@other.example\n\nIBAN GB82 WEST 1234 5698 7654 32\nPassport no. 617644717\n",
        );
        let f = check_rule_with(
            "[rules.personal-data]\nkinds = [\"iban\"]\n",
            "personal-data",
            &msg,
        );
        assert!(f[0].message.starts_with("1 IBAN in"), "{}", f[0].message);
        let f = check_rule_with(
            "[rules.personal-data]\nallow = [\"GB82 WEST 1234 5698 7654 32\"]\n",
            "personal-data",
            &msg,
        );
        assert!(
            f[0].message.starts_with("1 passport number in"),
            "{}",
            f[0].message
        );
        let f = check_rule_with(
            "[rules.personal-data]\nmin_count = 3\n",
            "personal-data",
            &msg,
        );
        assert!(f.is_empty());
        for bad in [
            "kinds = [\"email\"]",
            "kinds = []",
            "min_count = 0",
            "allow = [\"12\"]",
            "colour = 1",
        ] {
            assert!(option_error("personal-data", bad).is_some(), "{bad}");
        }
    }

    /// Megabytes of number groups, labels and IBAN openings that are
    /// none of these: nothing found (how long it takes is a benchmark's
    /// to say, not a test's).
    #[test]
    fn long_hostile_input_finds_nothing() {
        let text =
            "4111 ".repeat(400_000) + &"passport ".repeat(200_000) + &"GB82 ".repeat(200_000);
        assert_eq!(found(&text), Vec::new());
    }

    #[test]
    fn counts_per_file_and_sheet_inside_attachments() {
        use crate::message::inside_tests::{Sheet, attach, nhs_numbers, xlsx, zip_with};
        let mut rows = vec![vec!["Name".to_string(), "NHS number".to_string()]];
        rows.extend(
            nhs_numbers(1_204, 400_000_000)
                .into_iter()
                .map(|n| vec!["A Patient".to_string(), n]),
        );
        let book = xlsx(&[
            Sheet {
                name: "Summary",
                hidden: false,
                rows: vec![vec!["Total".into(), "1204".into()]],
                hidden_columns: &[],
            },
            Sheet {
                name: "Hidden",
                hidden: true,
                rows,
                hidden_columns: &[],
            },
        ]);
        let msg = attach(
            "b@partner.example",
            &[("patients.xlsx", "application/octet-stream", &book)],
        );
        let f = check_rule("personal-data", &msg);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].severity, Severity::Error);
        assert!(
            f[0].message.starts_with("1,204 NHS numbers in patients.xlsx, hidden sheet Hidden going outside the organisation: "),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].location.part.as_deref(), Some("patients.xlsx"));
        // The same inside an archive, named by its path.
        let zip = zip_with(&[("export/patients.xlsx", &book, false)]);
        let msg = attach(
            "b@partner.example",
            &[("export.zip", "application/zip", &zip)],
        );
        let f = check_rule("personal-data", &msg);
        assert!(
            f[0].message.starts_with(
                "1,204 NHS numbers in export.zip › export/patients.xlsx, hidden sheet Hidden"
            ),
            "{}",
            f[0].message
        );
        // Without a heading, numbers alone are not NHS numbers.
        let bare = xlsx(&[Sheet {
            name: "S",
            hidden: false,
            rows: vec![vec!["9434765919".into()]],
            hidden_columns: &[],
        }]);
        let msg = attach(
            "b@partner.example",
            &[("n.xlsx", "application/octet-stream", &bare)],
        );
        assert!(check_rule("personal-data", &msg).is_empty());
    }
}
