//! `maillint man`: the whole manual on one page (roff): every subcommand
//! with its options, then exit status, configuration, files and
//! environment.

use super::{ExitStatus, fail};
use clap_mangen::Man;
use std::io::{self, Write};

pub fn run(cli: clap::Command) -> ExitStatus {
    let mut page = Vec::new();
    match render(cli, &mut page).and_then(|()| io::stdout().write_all(&page)) {
        Ok(()) => ExitStatus::Success,
        Err(e) => fail(format!("cannot write the manual: {e}")),
    }
}

fn render(mut cli: clap::Command, out: &mut Vec<u8>) -> io::Result<()> {
    // Building names each subcommand `maillint <name>` in its synopsis.
    cli.build();
    let page = Man::new(cli.clone());
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    out.extend_from_slice(b".SH COMMANDS\n");
    for command in cli.get_subcommands().filter(|c| c.get_name() != "help") {
        let name = command.get_bin_name().unwrap_or(command.get_name());
        writeln!(out, ".SS \"{}\"", name.replace('"', ""))?;
        let mut section = Vec::new();
        let command_page = Man::new(command.clone());
        command_page.render_description_section(&mut section)?;
        section.extend_from_slice(b".PP\n");
        command_page.render_synopsis_section(&mut section)?;
        if command.get_arguments().any(|a| !a.is_hide_set()) {
            command_page.render_options_section(&mut section)?;
        }
        // One page: a command's own headings would end the COMMANDS section.
        for line in section.split_inclusive(|&b| b == b'\n') {
            if !line.starts_with(b".SH ") {
                out.extend_from_slice(line);
            }
        }
    }
    out.extend_from_slice(SECTIONS.as_bytes());
    page.render_version_section(out)
}

/// What the options do not say. Plain roff: no line starts with a dot or
/// an apostrophe, and backslashes are escaped.
const SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
0
no finding at or above \fB\-\-fail\-on\fR
.TP
1
at least one finding at or above \fB\-\-fail\-on\fR (for \fBgit\-hook\fR: the patch is not sent)
.TP
2
a usage, configuration or input error (takes precedence over 1)
.PP
\fBmaillint sendmail\fR returns the real sendmail's exit status when it hands the message on, and otherwise a sysexits(3) code, having kept a copy of the message: 64 (a wrong command line), 65 (blocked by a finding), 69 (the real sendmail could not be run), 73 (no copy could be written: the message was NOT sent), 75 (reading or sending failed part way, or the real sendmail did not finish within \fB[sendmail] timeout\fR), 78 (the configuration is broken). \fBmaillint held\fR lists, shows, resends or drops the copies.
.SH CONFIGURATION
maillint uses \fB\-\-config\fR \fIFILE\fR as it is, else the nearest \fImaillint.toml\fR in the current directory or above it layered over \fI$XDG_CONFIG_HOME/maillint/config.toml\fR (the user's organisation, lists, sendmail and history settings fill in what the project's file leaves out; its rules are its own), else the user's file alone. Without any, the defaults apply and the organisation is the sender's registrable domain. \fBmaillint init\fR writes a commented starter file (\fB\-\-user\fR: the user's).
.PP
Sections: \fB[organization]\fR (domains, mass_list_names, personal_domains), \fB[lists."ADDRESS"]\fR (members, mass, allowed_senders), \fB[rules.ID]\fR (severity = error, warning, info or off, and the rule's options, shown by \fBmaillint explain\fR \fIID\fR), \fB[[custom]]\fR (id, pattern, fields, when, severity, message, help), \fB[input]\fR (max_message_size), \fB[sendmail]\fR (path, held_dir, timeout) and \fB[bulk]\fR (always).
.PP
A message can silence rules for itself with an \fBX\-Maillint\-Allow:\fR header naming rule ids, unless \fB\-\-no\-inline\-allow\fR is given.
.SH FILES
.TP
\fImaillint.toml\fR
the project's configuration, found from the current directory upwards
.TP
\fI$XDG_CONFIG_HOME/maillint/config.toml\fR
the user's configuration (\fI~/.config/maillint/config.toml\fR)
.TP
\fI$XDG_STATE_HOME/maillint/held/\fR
copies of messages the sendmail wrapper did not send (\fI~/.local/state/maillint/held/\fR, or \fB[sendmail] held_dir\fR)
.TP
\fI/usr/sbin/sendmail\fR
the real sendmail, unless \fB\-\-sendmail\fR or \fB[sendmail] path\fR names another
.SH ENVIRONMENT
.TP
\fBNO_COLOR\fR
when set and not empty, \fB\-\-color auto\fR does not colour
.TP
\fBXDG_CONFIG_HOME\fR, \fBXDG_STATE_HOME\fR, \fBHOME\fR
where the user's configuration and the held copies are
.PP
Invoked as \fBsendmail\fR or \fBmaillint\-sendmail\fR (a symlink), maillint is \fBmaillint sendmail \-\-\fR.
"#;
