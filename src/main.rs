//! The `maillint` command line.

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use maillint::config::Config;
use maillint::input::{self, Input};
use maillint::linter::{Linter, Selection};
use maillint::message::{Field, Message};
use maillint::report::{self, EXIT_ERROR, FailOn, MessageReport, Report};
use maillint::rules::{self, REGISTRY};
use maillint::sendmail::{self, Delivery, Envelope, exit};
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Invoked under one of these names (a symlink, or a client such as s-nail
/// that sets argv[0] to `sendmail`), maillint is `maillint sendmail --`:
/// for clients that take only a program path.
const SENDMAIL_NAMES: &[&str] = &["maillint-sendmail", "sendmail"];

#[derive(Parser)]
#[command(name = "maillint", version, about = "A linter for outgoing email")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check messages: .eml files, JSON drafts, mbox files, Maildirs, directories, or stdin (`-`)
    Check(CheckArgs),
    /// A drop-in sendmail: check the message on stdin, then pass it to the real sendmail or hold it
    Sendmail(SendmailArgs),
    /// git send-email's sendemail-validate hook: check a patch mail before it is sent
    GitHook(GitHookArgs),
    /// Learn from your sent mail (Maildirs, mbox files, .eml directories) for the history rules
    Learn {
        /// Sent mail to learn from; messages learned before are skipped
        #[arg(required_unless_present = "forget")]
        paths: Vec<String>,
        /// Remove everything the index knows about this address
        #[arg(long, value_name = "ADDRESS", conflicts_with = "paths")]
        forget: Option<String>,
        /// The index (default: [history] index, else $XDG_DATA_HOME/maillint/history.sqlite)
        #[arg(long, value_name = "FILE")]
        index: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Write a commented starter maillint.toml in the current directory
    Init {
        /// The organisation's domain (default: the domain of `git config user.email`)
        #[arg(long)]
        domain: Option<String>,
    },
    /// Print a shell completion script
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff)
    Man,
    /// List every rule, built-in and custom, with its default severity
    Rules {
        /// `markdown` prints the built-in rules as the table in README.md
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Show the documentation of a rule
    Explain {
        /// Rule id, e.g. cc-exposure
        rule: String,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// Options every checking command shares.
#[derive(Args)]
struct LintArgs {
    /// Configuration file (default: nearest maillint.toml, then $XDG_CONFIG_HOME/maillint/config.toml)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run only these rules
    #[arg(long, value_delimiter = ',', value_name = "RULE,...")]
    select: Vec<String>,
    /// Do not run these rules
    #[arg(long, value_delimiter = ',', value_name = "RULE,...")]
    ignore: Vec<String>,
    /// Fail (exit 1; block, for sendmail and git-hook) on a finding at or above this severity
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    /// Ignore X-Maillint-Allow headers in messages (for CI)
    #[arg(long)]
    no_inline_allow: bool,
}

#[derive(Args)]
struct CheckArgs {
    /// Files or directories to check; `-` or nothing reads standard input
    paths: Vec<String>,
    #[command(flatten)]
    lint: LintArgs,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Args)]
struct SendmailArgs {
    #[command(flatten)]
    lint: LintArgs,
    /// The real sendmail (default: [sendmail] path in the config, else /usr/sbin/sendmail)
    #[arg(long, value_name = "PATH")]
    sendmail: Option<PathBuf>,
    /// Ask on the terminal ("Send anyway?") instead of blocking, when there is one
    #[arg(long)]
    confirm: bool,
    /// The sendmail arguments, after `--`, passed on unchanged
    #[arg(last = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

#[derive(Args)]
struct GitHookArgs {
    #[command(flatten)]
    lint: LintArgs,
    /// Write .git/hooks/sendemail-validate (or into core.hooksPath) to run this hook
    #[arg(long)]
    install: bool,
    /// The patch mail git is about to send
    #[arg(required_unless_present = "install")]
    patch: Option<PathBuf>,
    /// The file of SMTP envelope headers git passes (git 2.41 and later)
    envelope: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
    Sarif,
    Github,
}

#[derive(Clone, Copy, ValueEnum)]
enum RulesFormat {
    Text,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    // A panic in the parser is reported as that input's one-line error.
    maillint::guard::quiet_caught_panics();
    let invoked_as = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    let code = if invoked_as
        .as_deref()
        .is_some_and(|name| SENDMAIL_NAMES.contains(&name))
    {
        run_sendmail(SendmailArgs {
            lint: LintArgs {
                config: None,
                select: Vec::new(),
                ignore: Vec::new(),
                fail_on: FailOn::Error,
                no_inline_allow: false,
            },
            sendmail: None,
            confirm: false,
            args: std::env::args().skip(1).collect(),
        })
    } else {
        match Cli::parse().command {
            Command::Check(args) => run_check(args),
            Command::Sendmail(args) => run_sendmail(args),
            Command::GitHook(args) => run_git_hook(args),
            Command::Learn {
                paths,
                forget,
                index,
                config,
            } => match load_config(config.as_deref()) {
                Ok(config) => {
                    maillint::history::run_learn(&config, &paths, forget.as_deref(), index)
                }
                Err(e) => fail(e),
            },
            Command::Init { domain } => init(domain),
            Command::Completions { shell } => {
                clap_complete::generate(shell, &mut Cli::command(), "maillint", &mut io::stdout());
                0
            }
            Command::Man => match clap_mangen::Man::new(Cli::command()).render(&mut io::stdout()) {
                Ok(()) => 0,
                Err(e) => fail(format!("cannot write the manual: {e}")),
            },
            Command::Rules { format, config } => print_rules(format, config),
            Command::Explain { rule, config } => explain(&rule, config),
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("maillint: error: {message}");
    EXIT_ERROR
}

/// The configuration in force: `--config`, or discovered, or the defaults.
fn load_config(explicit: Option<&Path>) -> Result<Config, String> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    match Config::discover(explicit, &cwd) {
        Some(path) => Config::load(&path).map_err(|e| e.to_string()),
        None => Ok(Config::default()),
    }
}

fn build_linter(lint: &LintArgs) -> Result<Linter, String> {
    let config = load_config(lint.config.as_deref())?;
    let selection = Selection {
        select: lint.select.clone(),
        ignore: lint.ignore.clone(),
        no_inline_allow: lint.no_inline_allow,
    };
    Linter::new(config, &selection).map_err(|e| e.to_string())
}

fn set_color(color: Color, terminal: bool) {
    let enabled = match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    colored::control::set_override(enabled);
}

fn run_check(args: CheckArgs) -> i32 {
    set_color(args.color, io::stdout().is_terminal());
    let linter = match build_linter(&args.lint) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let inputs: Vec<Input> = if args.paths.is_empty() {
        if io::stdin().is_terminal() {
            return fail(
                "no input: name files to check, or pipe a message into `maillint check -`",
            );
        }
        vec![Input::Stdin]
    } else {
        args.paths.iter().map(|p| Input::from_arg(p)).collect()
    };

    let progress = BatchProgress::new(io::stderr().is_terminal());
    let report = maillint::check_with_progress(&inputs, &linter, &|| progress.checked());
    progress.finish();
    for err in &report.errors {
        // A file name may hold a line break too.
        let source = maillint::guard::one_line(&err.source);
        eprintln!("maillint: error: {source}: {}", err.error);
    }
    let mut out = io::stdout().lock();
    let printed = match args.format {
        Format::Human => report::print_human(&report, &mut out),
        Format::Json => report::print_json(&report, &mut out),
        Format::Sarif => report::print_sarif(&report, linter.config(), &mut out),
        Format::Github => report::print_github(&report, &mut out),
    };
    if let Err(e) = printed.and_then(|()| out.flush()) {
        // A closed pipe (`| head`) is the reader's choice, not a failure to report.
        if e.kind() != io::ErrorKind::BrokenPipe {
            return fail(format!("cannot write output: {e}"));
        }
    }
    report.exit_code(args.lint.fail_on)
}

/// A progress bar on stderr for batch runs, drawn only on a terminal and
/// only once a few hundred messages are checked: a single message or a
/// small folder is done before a bar would be read.
struct BatchProgress {
    bar: Option<indicatif::ProgressBar>,
    checked: AtomicUsize,
}

impl BatchProgress {
    const SHOWN_AFTER: usize = 300;

    fn new(terminal: bool) -> Self {
        let bar = terminal.then(|| {
            let bar = indicatif::ProgressBar::hidden();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {human_pos} messages checked ({elapsed})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar
        });
        BatchProgress {
            bar,
            checked: AtomicUsize::new(0),
        }
    }

    fn checked(&self) {
        let Some(bar) = &self.bar else { return };
        if self.checked.fetch_add(1, Ordering::Relaxed) + 1 == Self::SHOWN_AFTER {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        bar.inc(1);
    }

    /// Clears the bar before the report is printed.
    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// One message's findings, printed for a person (on stderr or a terminal).
fn print_findings(
    source: &str,
    message: &Message,
    findings: Vec<maillint::finding::Finding>,
    out: &mut dyn Write,
) {
    let report = Report {
        messages: vec![MessageReport {
            source: source.to_string(),
            index: 0,
            message_id: message.message_id.clone(),
            findings,
        }],
        errors: Vec::new(),
    };
    // Nothing useful can be done when the terminal itself cannot be written.
    let _ = report::print_human(&report, out);
}

fn run_sendmail(args: SendmailArgs) -> i32 {
    set_color(Color::Auto, io::stderr().is_terminal());
    let mut raw = Vec::new();
    if let Err(e) = io::stdin().lock().read_to_end(&mut raw) {
        // Whatever arrived is still worth keeping.
        return hold_and_report(
            &raw,
            None,
            exit::TEMPFAIL,
            &format!("cannot read the message: {e}"),
        );
    }
    let linter = match build_linter(&args.lint) {
        Ok(l) => l,
        Err(e) => return hold_and_report(&raw, None, exit::CONFIG, &e),
    };
    let held_dir = linter.config().sendmail.held_dir.clone();
    let mut message = match input::parse_message(&raw, &linter.config().input) {
        Ok(m) => m,
        Err(e) => {
            return hold_and_report(
                &raw,
                held_dir,
                exit::DATAERR,
                &format!("message not sent: {e}"),
            );
        }
    };
    let envelope = Envelope::parse(&args.args);
    // Recipients only on the command line are invisible to the others: Bcc.
    if let Err(e) = message.add_recipients(Field::Bcc, &envelope.recipients) {
        return hold_and_report(
            &raw,
            held_dir,
            exit::DATAERR,
            &format!("message not sent: {e}"),
        );
    }

    let findings = linter.check(&message);
    let blocking = sendmail::blocking(&findings, args.lint.fail_on);
    if blocking > 0 {
        let confirmed = args.confirm && confirm_on_tty(&message, &findings);
        if !confirmed {
            print_findings("message", &message, findings, &mut io::stderr());
            let reason = format!(
                "message not sent: {} at or above --fail-on",
                if blocking == 1 {
                    "1 finding".to_string()
                } else {
                    format!("{blocking} findings")
                }
            );
            return hold_and_report(&raw, held_dir, exit::DATAERR, &reason);
        }
    } else if !findings.is_empty() {
        // Below the threshold: shown, and sent.
        print_findings("message", &message, findings, &mut io::stderr());
    }

    let path = args
        .sendmail
        .or_else(|| linter.config().sendmail.path.clone())
        .unwrap_or_else(|| PathBuf::from(sendmail::DEFAULT_SENDMAIL));
    if is_this_program(&path) {
        return hold_and_report(
            &raw,
            held_dir,
            exit::CONFIG,
            &format!(
                "{} is maillint itself; set [sendmail] path to the real sendmail",
                path.display()
            ),
        );
    }
    match sendmail::deliver(&path, &args.args, &raw) {
        Delivery::Exited(0) => {
            maillint::history::learn_sent(linter.config(), &message, &raw);
            0
        }
        Delivery::Exited(code) => code,
        Delivery::NotStarted(e) => hold_and_report(
            &raw,
            held_dir,
            exit::UNAVAILABLE,
            &format!("message not sent: {e}"),
        ),
        Delivery::Failed(e) => hold_and_report(
            &raw,
            held_dir,
            exit::TEMPFAIL,
            &format!("message may not have been sent: {e}"),
        ),
    }
}

/// Saves the message and says where; if even that fails, says so plainly.
fn hold_and_report(raw: &[u8], held_dir: Option<PathBuf>, code: i32, reason: &str) -> i32 {
    eprintln!("maillint: {reason}");
    let Some(dir) = held_dir.or_else(sendmail::default_held_dir) else {
        eprintln!(
            "maillint: no place to keep a copy (set HOME or XDG_STATE_HOME); the message was NOT sent"
        );
        return exit::CANTCREAT;
    };
    match sendmail::hold(&dir, raw) {
        Ok(path) => {
            eprintln!(
                "maillint: a copy of the message is kept in {}",
                path.display()
            );
            code
        }
        Err(e) => {
            eprintln!(
                "maillint: cannot keep a copy in {}: {e}; the message was NOT sent",
                dir.display()
            );
            exit::CANTCREAT
        }
    }
}

fn is_this_program(path: &Path) -> bool {
    match (
        std::env::current_exe().and_then(|p| p.canonicalize()),
        path.canonicalize(),
    ) {
        (Ok(me), Ok(target)) => me == target,
        _ => false,
    }
}

/// Shows the findings on the terminal and asks. No terminal: no.
fn confirm_on_tty(message: &Message, findings: &[maillint::finding::Finding]) -> bool {
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return false;
    };
    let Ok(mut writer) = tty.try_clone() else {
        return false;
    };
    print_findings("message", message, findings.to_vec(), &mut writer);
    if write!(writer, "Send anyway? [y/N] ")
        .and_then(|()| writer.flush())
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    if io::BufReader::new(tty).read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
}

fn run_git_hook(args: GitHookArgs) -> i32 {
    set_color(Color::Auto, io::stderr().is_terminal());
    if args.install {
        return install_git_hook();
    }
    let linter = match build_linter(&args.lint) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let Some(patch) = args.patch else {
        return fail("no patch file given");
    };
    let source = patch.display().to_string();
    let mut message = match std::fs::read(&patch)
        .map_err(|e| e.to_string())
        .and_then(|b| input::parse_message(&b, &linter.config().input))
    {
        Ok(m) => m,
        Err(e) => return fail(format!("{source}: {e}")),
    };
    if let Some(envelope) = &args.envelope {
        match std::fs::read(envelope)
            .map_err(|e| e.to_string())
            .and_then(|b| input::parse_message(&b, &linter.config().input))
        {
            Ok(headers) => {
                for field in [Field::To, Field::Cc, Field::Bcc] {
                    let addrs: Vec<String> = headers
                        .addresses_in(field)
                        .map(|a| a.addr.to_string())
                        .collect();
                    if let Err(e) = message.add_recipients(field, &addrs) {
                        return fail(format!("{}: {e}", envelope.display()));
                    }
                }
            }
            Err(e) => return fail(format!("{}: {e}", envelope.display())),
        }
    }
    let findings = linter.check(&message);
    let blocking = sendmail::blocking(&findings, args.lint.fail_on);
    if !findings.is_empty() {
        print_findings(&source, &message, findings, &mut io::stderr());
    }
    if blocking > 0 {
        eprintln!(
            "maillint: not sending {source}: fix the findings above, or run git send-email --no-validate"
        );
        return 1;
    }
    0
}

const GIT_HOOK: &str = "#!/bin/sh\n# Installed by `maillint git-hook --install`: check each patch mail before git send-email sends it.\nexec maillint git-hook \"$@\"\n";

fn install_git_hook() -> i32 {
    let hooks = match std::process::Command::new("git")
        .args(["rev-parse", "--git-path", "hooks"])
        .output()
    {
        Ok(out) if out.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
        Ok(out) => {
            return fail(format!(
                "not in a git repository: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Err(e) => return fail(format!("cannot run git: {e}")),
    };
    let path = hooks.join("sendemail-validate");
    if path.exists() {
        return fail(format!(
            "{} already exists; add `maillint git-hook \"$@\"` to it by hand",
            path.display()
        ));
    }
    let written = std::fs::create_dir_all(&hooks).and_then(|()| std::fs::write(&path, GIT_HOOK));
    if let Err(e) = written {
        return fail(format!("cannot write {}: {e}", path.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)) {
            return fail(format!("cannot make {} executable: {e}", path.display()));
        }
    }
    println!("installed {}", path.display());
    0
}

fn init(domain: Option<String>) -> i32 {
    let path = Path::new(maillint::config::FILE_NAME);
    if path.exists() {
        return fail(format!(
            "{} already exists; not overwriting it",
            path.display()
        ));
    }
    let domain = domain.or_else(git_email_domain);
    let text = maillint::config::starter(domain.as_deref());
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = created {
        return fail(format!("cannot write {}: {e}", path.display()));
    }
    match domain {
        Some(d) => println!("wrote {} for the organisation {d}", path.display()),
        None => println!("wrote {}; set [organization] domains in it", path.display()),
    }
    0
}

/// The domain of the user's git email, a good guess at their organisation.
fn git_email_domain() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["config", "user.email"])
        .output()
        .ok()?;
    let email = String::from_utf8(out.stdout).ok()?;
    let domain = email.trim().rsplit_once('@')?.1.to_ascii_lowercase();
    (!domain.is_empty()).then_some(domain)
}

fn print_rules(format: RulesFormat, config: Option<PathBuf>) -> i32 {
    let config = match load_config(config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    match format {
        RulesFormat::Text => {
            for rule in &config.custom {
                println!(
                    "{:<20} {:<8} {} (custom)",
                    rule.id,
                    rule.severity.as_str(),
                    rule.message
                );
            }
            for rule in REGISTRY {
                println!(
                    "{:<20} {:<8} {}",
                    rule.id,
                    rule.default_severity.as_str(),
                    rule.summary
                );
            }
        }
        RulesFormat::Markdown => print!("{}", rules::markdown_table()),
    }
    0
}

fn explain(id: &str, config: Option<PathBuf>) -> i32 {
    if let Some(rule) = rules::find(id) {
        println!(
            "# {}\n\nDefault severity: {}\n\n{}",
            rule.id,
            rule.default_severity,
            rule.doc_text()
        );
        return 0;
    }
    let config = match load_config(config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let Some(rule) = config.custom.iter().find(|c| c.id == id) else {
        return fail(format!("unknown rule `{id}` (see `maillint rules`)"));
    };
    let fields: Vec<&str> = rule.fields.iter().map(|f| f.as_str()).collect();
    println!(
        "# {} (custom rule in {})\n\nSeverity: {}\n\n{}\n\nPattern `{}` over {}; when = \"{}\".",
        rule.id,
        config.file_name(),
        rule.severity,
        rule.message,
        rule.pattern,
        fields.join(", "),
        rule.when.as_str()
    );
    0
}
