use super::shared::NoOptions;
use super::{Context, Rule, declare_rule, plural};
use crate::config::{OptionError, RuleSettings};
use crate::finding::{Diagnostic, Location, Severity};

declare_rule! {
    /// ## What it checks
    /// Images without an `alt` attribute in the HTML of bulk mail (see
    /// `list-unsubscribe`). `alt=""` marks a decorative image on purpose and
    /// is fine; so are tracking pixels (1x1 or smaller, or hidden), and
    /// images in quoted history. Personal mail is not checked: its images
    /// are signature logos and pasted screenshots, whose markup the mail
    /// client writes.
    ///
    /// ## Why it matters
    /// Outlook and many corporate clients block images until the reader
    /// allows them, and screen readers read out the alt text (or the file
    /// name) of every image. A newsletter built of images without alt text
    /// arrives as empty boxes, and its call to action with them.
    ///
    /// ## Example
    /// ```text
    /// <img src="https://cdn.example.com/spring-sale-banner.png" width="600">
    /// ```
    ///
    /// ## How to fix
    /// Give every image that carries content an `alt` saying what it says
    /// ("Spring sale: 20% off until 30 April"), and decorative ones `alt=""`.
    ///
    /// ## Options
    /// None besides `severity`.
    id: "image-alt",
    severity: Info,
    summary: "Images without alt text in bulk mail",
    build: ImageAlt::build,
}

struct ImageAlt;

impl ImageAlt {
    fn build(settings: &RuleSettings) -> Result<Box<dyn Rule>, OptionError> {
        settings.options::<NoOptions>()?;
        Ok(Box::new(ImageAlt))
    }
}

/// An image as a finding names it: its file name, without path or query.
fn shown(src: &str) -> String {
    if let Some(cid) = src.strip_prefix("cid:") {
        return format!("`cid:{}`", cid.split('@').next().unwrap_or(cid));
    }
    if src.starts_with("data:") {
        return "an embedded image".into();
    }
    let path = src.split(['?', '#']).next().unwrap_or(src);
    let name = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or(path);
    let mut out: String = name.chars().take(40).collect();
    if out.len() < name.len() {
        out.push('…');
    }
    format!("`{out}`")
}

impl Rule for ImageAlt {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
        if !cx.is_bulk() {
            return;
        }
        for part in &cx.message.body {
            let Some(view) = part.html() else { continue };
            let missing: Vec<_> = view
                .images
                .iter()
                .filter(|i| !i.quoted && i.alt.is_none() && !i.is_tracking_pixel())
                .collect();
            let Some(first) = missing.first() else {
                continue;
            };
            let mut names: Vec<String> = Vec::new();
            for image in &missing {
                let name = shown(&image.src);
                if names.len() < 3 && !names.contains(&name) {
                    names.push(name);
                }
            }
            out.push(
                Diagnostic::new(
                    Severity::Info,
                    format!(
                        "{} without alt text: {}",
                        plural(missing.len() as u64, "image", "images"),
                        names.join(", ")
                    ),
                    Location::part(part.mime_type(), part.source_line(first.line)),
                )
                .help("give each image that carries content an alt text saying what it shows, and decorative ones alt=\"\""),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::finding::Severity;
    use crate::testing::{check_rule, html_eml as html};

    #[test]
    fn images_without_alt_in_bulk_mail() {
        let body = "<img src=\"https://cdn.example.com/img/banner.png?v=3\" width=\"600\">\n<img src=\"cid:logo@example.com\">";
        let f = check_rule("image-alt", &html("Precedence: bulk\n", body));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(
            f[0].message,
            "2 images without alt text: `banner.png`, `cid:logo`"
        );
        assert_eq!(f[0].location.line, Some(8));
    }

    #[test]
    fn decorative_pixels_quoted_and_personal_are_silent() {
        let body = "<img src=\"a.png\" alt=\"\"><img src=\"b.png\" alt=\"Spring sale\">\
            <img src=\"https://t.example.com/o.gif\" width=\"1\" height=\"1\">\
            <img src=\"p.gif\" style=\"display:none\">\
            <blockquote type=\"cite\"><img src=\"old.png\"></blockquote>";
        assert!(check_rule("image-alt", &html("Precedence: bulk\n", body)).is_empty());
        assert!(check_rule("image-alt", &html("", "<img src=\"sig.png\">")).is_empty());
    }
}
