//! `maillint web`: the page where a sender releases or discards their
//! held message from the link in their notification, and where
//! administrators review held mail, decide it and read the audit log.
//! HTTP on loopback (axum on tokio), behind the organisation's reverse
//! proxy, which adds TLS.
//!
//! `html` draws the pages; here are the routes, sign-in and the form
//! tokens. The store and the MTA's commands are blocking work: they run
//! on tokio's blocking threads, so two releases may truly race, and the
//! store's conditional update lets only one of them run the MTA's command.

mod html;
mod limit;

use crate::config::{Config, Releaser, WebConfig};
use crate::hold::{self, Actor, Held, Holder, Outcome, TokenError, state};
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use html::{Day, escape};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// How long an administrator's sign-in lasts at most.
const SESSION_SECONDS: u64 = 8 * 3600;
/// How long a sign-in lasts unused.
const SESSION_IDLE_SECONDS: u64 = 3600;
/// The longest reason kept, in characters.
const MAX_REASON: usize = 1000;
/// The largest form body read, in bytes: a reason of [`MAX_REASON`]
/// characters, each percent-encoded, and the other fields fit.
const MAX_FORM: usize = 32 * 1024;

struct App {
    holder: Arc<Holder>,
    web: WebConfig,
    /// The path the reverse proxy serves the page under (`/maillint`),
    /// from `[hold] url`, for links and the cookie.
    prefix: String,
    secure_cookie: bool,
    /// Failed sign-ins by account and address.
    attempts: limit::Attempts,
    /// Password verifications, a few at a time.
    verifier: limit::Verifier,
    /// Checked for a name that is no administrator's (see [`dummy_hash`]).
    dummy_hash: String,
    /// Where problems are told (standard error for `maillint web`).
    log: Box<dyn Fn(&str) + Send + Sync>,
}

/// Form fields, as posted.
type Fields = HashMap<String, String>;

/// Serves the page at `[web] listen` until the process is stopped; every
/// second carries out the decisions other gateways' pages handed to this
/// one (held mail shared), tells the senders of newly held mail and
/// discards expired held mail. Problems the pages show are told to `log`
/// too, a line each.
pub fn serve(config: &Config, log: impl Fn(&str) + Send + Sync + 'static) -> Result<(), String> {
    let holder = Arc::new(Holder::new(config.hold.clone())?);
    let url = url::Url::parse(&config.hold.url)
        .map_err(|e| format!("[hold] url = `{}`: {e}", config.hold.url))?;
    let app = Arc::new(App {
        holder,
        web: config.web.clone(),
        prefix: url.path().trim_end_matches('/').to_string(),
        secure_cookie: url.scheme() == "https",
        attempts: limit::Attempts::new(),
        verifier: limit::Verifier::new(limit::MAX_VERIFYING, limit::VERIFY_WAIT),
        dummy_hash: dummy_hash(&config.web.admins)?,
        log: Box::new(log),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(app.web.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", app.web.listen))?;
        let sweeper = Arc::clone(&app.holder);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                every.tick().await;
                let holder = Arc::clone(&sweeper);
                // A store that cannot be read now is tried again next time.
                _ = tokio::task::spawn_blocking(move || {
                    _ = holder.carry_out_requests(hold::now());
                    _ = holder.notify_pending(hold::now());
                    _ = holder.expire_due(hold::now());
                })
                .await;
            }
        });
        // The same bounds as the gateway's /metrics, from `[web]`: idle or
        // slow clients cannot take the page from the others, and a form
        // is read only up to its size.
        let bounds = crate::milter::Bounds {
            connections: app.web.max_connections,
            header: std::time::Duration::from_secs(app.web.header_timeout.max(1)),
            exchange: std::time::Duration::from_secs(app.web.request_timeout.max(1)),
            setting: "[web] max_connections",
        };
        let routes = router(Arc::clone(&app)).layer(DefaultBodyLimit::max(MAX_FORM));
        let log = |line: &str| (app.log)(&format!("maillint web: {line}"));
        crate::milter::serve_bounded(listener, bounds, log, |peer| {
            let service = hyper_util::service::TowerToHyperService::new(routes.clone());
            hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                hyper::service::Service::call(&service, request)
            })
        })
        .await;
        Ok(())
    })
}

/// The routes, at the root (for a reverse proxy that strips the page's
/// path) and under the page's path (for one that does not).
fn router(app: Arc<App>) -> Router {
    let prefix = app.prefix.clone();
    let routes = routes(app);
    if prefix.is_empty() {
        routes
    } else {
        routes.clone().nest(&prefix, routes)
    }
}

fn routes(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/",
            get(|State(app): State<Arc<App>>| async move { redirect(&app, "/admin") }),
        )
        .route("/held/{token}", get(sender_page).post(sender_post))
        .route("/admin", get(admin_page))
        .route("/admin/login", get(login_page).post(login_post))
        .route("/admin/logout", axum::routing::post(logout))
        .route("/admin/held/{id}", axum::routing::post(admin_post))
        .route("/admin/audit.jsonl", get(audit_export))
        .with_state(app)
}

/// An HTML response with headers that keep the page to itself: no
/// scripts, no framing, no referrer (the sender's link carries its
/// token), no caching.
fn respond(status: StatusCode, body: String, extra: &[(header::HeaderName, String)]) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.append(name, value);
        }
    };
    set(headers, header::CONTENT_TYPE, "text/html; charset=utf-8");
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::CACHE_CONTROL, "no-store");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    for (name, value) in extra {
        set(headers, name.clone(), value);
    }
    response
}

fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    respond(
        status,
        html::page(
            title,
            "",
            &format!("<div class=\"card\"><p>{}</p></div>", escape(text)),
        ),
        &[],
    )
}

fn redirect(app: &App, to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("{}{to}", app.prefix)) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Runs blocking work (the store, the MTA's commands, argon2) off the
/// server's thread.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(work).await.ok()
}

/// The page for a store that cannot be read or does not answer (a
/// shared Redis down), whatever was asked: the problem is the server's,
/// and it is logged for whoever looks after it.
fn store_failure(app: &App, e: &str) -> Response {
    // The store's errors name it already.
    let e = e.strip_prefix("held-mail store: ").unwrap_or(e);
    let text = format!("The held-mail store cannot be read: {e}");
    (app.log)(&format!("maillint web: {text}"));
    message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Held-mail store unavailable",
        &format!("{text}. {UNAVAILABLE}."),
    )
}

/// What the page adds: nothing is lost, nothing goes out by mistake.
const UNAVAILABLE: &str = "While it does not answer, nothing is released or discarded, and held messages stay in their gateway's queue";

// ---- the sender's page ----

/// The held message a sender's token opens, or the page that says why not.
async fn sender_message(app: &Arc<App>, token: &str) -> Result<Held, Response> {
    let refused = |text: &str| Err(message_page(StatusCode::FORBIDDEN, "Link not valid", text));
    let id = match app.holder.signer.verify_sender_token(token, hold::now()) {
        Ok(id) => id,
        Err(TokenError::Forged) => {
            return refused("This link is not valid. Use the link in your notification as it is.");
        }
        Err(TokenError::Expired) => {
            return refused(
                "This link has expired: the message was discarded when its time ran out.",
            );
        }
    };
    let holder = Arc::clone(&app.holder);
    match blocking(move || holder.store().get(id)).await {
        Some(Ok(Some(held))) if held.state == state::HELD => Ok(held),
        Some(Ok(Some(held))) => Err(message_page(
            StatusCode::GONE,
            "Already decided",
            &format!(
                "This link has been used: the message was {} already. It works once.",
                decided_word(&held.state)
            ),
        )),
        Some(Ok(None)) => refused("This link is not valid."),
        Some(Err(e)) => Err(store_failure(app, &e)),
        None => Err(store_failure(app, "internal error")),
    }
}

fn decided_word(state: &str) -> &str {
    match state {
        state::RELEASED => "sent",
        state::BUSY => "being decided",
        other => other,
    }
}

async fn sender_page(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    let held = match sender_message(&app, &token).await {
        Ok(held) => held,
        Err(page) => return page,
    };
    respond(StatusCode::OK, sender_html(&app, &held, &token, None), &[])
}

fn sender_html(app: &App, held: &Held, token: &str, problem: Option<&str>) -> String {
    let csrf = app.holder.signer.mac(&format!("form:sender:{token}"));
    let action = format!("{}/held/{}", app.prefix, escape(token));
    let may_release = hold::may_release(&Actor::Sender, &held.releaser);
    let problem = problem.map_or(String::new(), |p| {
        format!("<div class=\"error\">{}</div>", escape(p))
    });
    let send = if may_release {
        format!(
            "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"action\" value=\"release\"><p><label for=\"reason\"><strong>Send it anyway.</strong> Why is it right as it is?</label></p><textarea id=\"reason\" name=\"reason\" rows=\"3\" maxlength=\"{MAX_REASON}\" required placeholder=\"e.g. the list is meant to see this\"></textarea><p><button class=\"send\" type=\"submit\" id=\"send\">Send anyway</button></p></form>"
        )
    } else if held.releaser == Releaser::Admin.as_str() {
        "<p class=\"muted\">Policy lets only an administrator send this message; they have it in their list.</p>".into()
    } else {
        "<p class=\"muted\">Policy lets no one send this message as it is: discard it and send a corrected one.</p>".into()
    };
    let help = app
        .holder
        .settings
        .help
        .as_deref()
        .map_or(String::new(), |h| {
            format!("<p class=\"muted\">Questions: {}</p>", escape(h))
        });
    let body = format!(
        "{problem}<div class=\"card\"><h2>Your message is waiting</h2><table><tr><th>Subject</th><td id=\"subject\">{subject}</td></tr><tr><th>To</th><td>{to}</td></tr><tr><th>Held since</th><td>{held_at}. Unless you decide first, it will be discarded {expires}.</td></tr></table></div><div class=\"card\"><h2>What was found</h2>{findings}</div><div class=\"card grid\"><div>{send}</div><div><form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"action\" value=\"discard\"><p><strong>Discard it</strong> and send a corrected message from your mail program.</p><p><button class=\"discard\" type=\"submit\" id=\"discard\">Discard</button></p></form></div></div>{help}",
        subject = escape(&held.subject),
        to = html::recipients(held),
        held_at = html::time(held.held_at),
        expires = escape(&hold::describe_time(held.expires_at)),
        findings = html::findings(held),
    );
    html::page("Held message", "", &body)
}

async fn sender_post(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let held = match sender_message(&app, &token).await {
        Ok(held) => held,
        Err(page) => return page,
    };
    let csrf = fields.get("csrf").map_or("", String::as_str);
    if !app
        .holder
        .signer
        .check(&format!("form:sender:{token}"), csrf)
    {
        return refused_form();
    }
    let reason = reason(&fields);
    let release = fields.get("action").map(String::as_str) == Some("release");
    if release && reason.is_empty() {
        return respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            sender_html(
                &app,
                &held,
                &token,
                Some("Say why it is right to send it as it is."),
            ),
            &[],
        );
    }
    let holder = Arc::clone(&app.holder);
    let id = held.id;
    let outcome = blocking(move || {
        if release {
            holder.release(id, &Actor::Sender, &reason, hold::now())
        } else {
            holder.discard(id, &Actor::Sender, &reason, hold::now())
        }
    })
    .await;
    match outcome {
        Some(Outcome::Done) if release => message_page(
            StatusCode::OK,
            "Sent",
            "Your message is on its way. Thank you for the reason: it is kept in the audit log.",
        ),
        Some(Outcome::Done) => message_page(
            StatusCode::OK,
            "Discarded",
            "Your message was discarded and will not be sent. Send a corrected one from your mail program.",
        ),
        other => outcome_page(&app, other),
    }
}

fn outcome_page(app: &App, outcome: Option<Outcome>) -> Response {
    match outcome {
        Some(Outcome::Done) => message_page(StatusCode::OK, "Done", "Done."),
        Some(Outcome::AlreadyDecided(state)) => message_page(
            StatusCode::CONFLICT,
            "Already decided",
            &format!(
                "The message was {} already: nothing was done.",
                decided_word(&state)
            ),
        ),
        Some(Outcome::HandedOver(gateway)) => message_page(
            StatusCode::ACCEPTED,
            "Handed over",
            &format!(
                "The message is held on gateway {gateway}: the decision was handed to it, and it carries it out as soon as its page service runs; the audit log records the outcome."
            ),
        ),
        Some(Outcome::Unavailable(e)) => store_failure(app, &e),
        Some(Outcome::NotAllowed) => message_page(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Policy does not let this message be released from here.",
        ),
        Some(Outcome::NotFound) => {
            message_page(StatusCode::NOT_FOUND, "Not found", "No such held message.")
        }
        Some(Outcome::Failed(e)) => message_page(
            StatusCode::BAD_GATEWAY,
            "Not done",
            &format!("The mail server's command failed; the message is still held: {e}"),
        ),
        None => message_page(StatusCode::INTERNAL_SERVER_ERROR, "Error", "internal error"),
    }
}

fn reason(fields: &Fields) -> String {
    let reason = fields.get("reason").map_or("", |r| r.trim());
    reason.chars().take(MAX_REASON).collect()
}

// ---- administrators ----

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The signed-in administrator, and the form token their forms carry;
/// `None` when no one is signed in. A store that cannot be read is not
/// taken for a signed-out administrator (who would be sent to sign in
/// again, and again): its error page is the answer.
async fn admin(app: &App, headers: &HeaderMap) -> Result<Option<(String, String)>, Response> {
    if let Some(name) = app
        .web
        .trusted_header
        .as_deref()
        .and_then(|h| headers.get(h))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        return Ok(Some((
            name.to_string(),
            app.holder.signer.mac(&format!("form:header:{name}")),
        )));
    }
    let Some(session) = cookie(headers, "maillint_admin").map(str::to_string) else {
        return Ok(None);
    };
    let holder = Arc::clone(&app.holder);
    let token = session.clone();
    let name = blocking(move || {
        holder
            .store()
            .session(&token, hold::now(), SESSION_IDLE_SECONDS, SESSION_SECONDS)
    })
    .await;
    let name = match name {
        Some(Ok(Some(name))) => name,
        Some(Ok(None)) => return Ok(None),
        Some(Err(e)) => return Err(store_failure(app, &e)),
        None => return Err(store_failure(app, "internal error")),
    };
    Ok(Some((
        name,
        app.holder.signer.mac(&format!("form:session:{session}")),
    )))
}

/// The client's address: as the reverse proxy forwards it where `[web]
/// forwarded_for` names its header (the last address in it, the one the
/// proxy added), else the connection's.
fn client_address(app: &App, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    app.web
        .forwarded_for
        .as_deref()
        .and_then(|h| headers.get_all(h).iter().next_back())
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(peer.ip())
}

fn cookie_header(app: &App, name: &str, value: &str, max_age: u64) -> (header::HeaderName, String) {
    let secure = if app.secure_cookie { "; Secure" } else { "" };
    let path = if app.prefix.is_empty() {
        "/"
    } else {
        &app.prefix
    };
    (
        header::SET_COOKIE,
        format!(
            "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
        ),
    )
}

fn sign_out_form(app: &App, csrf: &str, name: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}/admin/logout\"><span>{}</span> <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">Sign out</button></form>",
        app.prefix,
        escape(name)
    )
}

async fn login_page(State(app): State<Arc<App>>) -> Response {
    login_form(&app, StatusCode::OK, None)
}

fn login_form(app: &App, status: StatusCode, problem: Option<&str>) -> Response {
    let nonce = match hold::token::random_bytes(16) {
        Ok(bytes) => hold::token::hex(&bytes),
        Err(e) => return message_page(StatusCode::INTERNAL_SERVER_ERROR, "Error", &e),
    };
    let csrf = app.holder.signer.mac(&format!("form:login:{nonce}"));
    let problem = problem.map_or(String::new(), |p| {
        format!("<div class=\"error\">{}</div>", escape(p))
    });
    let body = format!(
        "<div class=\"card\" style=\"max-width:360px\">{problem}<h2>Sign in</h2><form method=\"post\" action=\"{}/admin/login\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><p><label>Name<br><input type=\"text\" name=\"name\" id=\"name\" autocomplete=\"username\"></label></p><p><label>Password<br><input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\"></label></p><p><button class=\"send\" type=\"submit\" id=\"signin\">Sign in</button></p></form></div>",
        app.prefix
    );
    respond(
        status,
        html::page("Administration", "", &body),
        &[cookie_header(app, "maillint_login", &nonce, 3600)],
    )
}

async fn login_post(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Response {
    let nonce = cookie(&headers, "maillint_login").unwrap_or("");
    let csrf = fields.get("csrf").map_or("", String::as_str);
    if nonce.is_empty()
        || !app
            .holder
            .signer
            .check(&format!("form:login:{nonce}"), csrf)
    {
        return login_form(&app, StatusCode::FORBIDDEN, Some(NO_FORM_TOKEN));
    }
    let name = fields.get("name").cloned().unwrap_or_default();
    let password = fields.get("password").cloned().unwrap_or_default();
    let name_checked = name.clone();
    let client = client_address(&app, &headers, peer);
    // A locked account or address is refused before its password is
    // looked at, right or wrong.
    if let Some(wait) = app.attempts.locked(&name, client, hold::now()) {
        return too_many_attempts(&app, wait);
    }
    let known = app.web.admins.contains_key(&name);
    let verified = Arc::clone(&app);
    let good = match app
        .verifier
        .run(move || {
            check_password(
                &verified.web.admins,
                &verified.dummy_hash,
                &name_checked,
                &password,
                password_matches,
            )
        })
        .await
    {
        Some(good) => good,
        None => {
            return login_form(
                &app,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Too many sign-ins at once: try again in a moment."),
            );
        }
    };
    if !good {
        if let Some(wait) = app.attempts.failed(&name, known, client, hold::now()) {
            return too_many_attempts(&app, wait);
        }
        return login_form(&app, StatusCode::FORBIDDEN, Some("Wrong name or password."));
    }
    app.attempts.succeeded(&name, client);
    let session = match hold::token::random_bytes(32) {
        Ok(bytes) => hold::token::hex(&bytes),
        Err(e) => return message_page(StatusCode::INTERNAL_SERVER_ERROR, "Error", &e),
    };
    let holder = Arc::clone(&app.holder);
    let token = session.clone();
    let opened = blocking(move || {
        holder
            .store()
            .open_session(&token, &name, hold::now(), SESSION_SECONDS)
    })
    .await;
    match opened {
        Some(Ok(())) => {}
        Some(Err(e)) => return store_failure(&app, &e),
        None => return store_failure(&app, "internal error"),
    }
    let mut response = redirect(&app, "/admin");
    let (name, value) = cookie_header(&app, "maillint_admin", &session, SESSION_SECONDS);
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(name, value);
    }
    response
}

/// The sign-in page while an account or address is locked, `wait`
/// seconds more.
fn too_many_attempts(app: &App, wait: u64) -> Response {
    let minutes = wait.div_ceil(60).max(1);
    let mut response = login_form(
        app,
        StatusCode::TOO_MANY_REQUESTS,
        Some(&format!(
            "Too many failed sign-ins: try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        )),
    );
    if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Whether `password` is `name`'s, one of `admins`, by `verify`
/// ([`password_matches`]). A name that is no administrator's is verified
/// against `dummy` (and refused whatever the answer), so that it takes
/// the same work as a known one: how long a sign-in takes does not tell
/// which names are administrators.
fn check_password(
    admins: &BTreeMap<String, String>,
    dummy: &str,
    name: &str,
    password: &str,
    verify: impl Fn(&str, &str) -> bool,
) -> bool {
    match admins.get(name) {
        Some(hash) => verify(password, hash),
        None => {
            verify(password, dummy);
            false
        }
    }
}

/// A hash of a random password with the algorithm, version and
/// parameters of the administrators' hashes (the first one that can be
/// read; argon2's defaults, those of `--hash-password`, without one), for
/// [`check_password`] to verify names that are no administrator's against.
fn dummy_hash(admins: &BTreeMap<String, String>) -> Result<String, String> {
    use argon2::PasswordHasher;
    let argon2 = admins
        .values()
        .find_map(|hash| {
            let hash = argon2::PasswordHash::new(hash).ok()?;
            let algorithm = argon2::Algorithm::try_from(hash.algorithm.as_str()).ok()?;
            let version = argon2::Version::try_from(hash.version?).ok()?;
            let params = argon2::Params::try_from(&hash).ok()?;
            Some(argon2::Argon2::new(algorithm, version, params))
        })
        .unwrap_or_default();
    let password = hold::token::hex(&hold::token::random_bytes(32)?);
    argon2
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot make the sign-in's comparison hash: {e}"))
}

/// Whether `password` matches an argon2 hash from the configuration.
pub fn password_matches(password: &str, hash: &str) -> bool {
    use argon2::PasswordVerifier;
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// An argon2 hash of `password`, for `[web.admins]`.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// The signed-in administrator whose form carries its token; else what
/// to answer (the sign-in page, or the refusal).
async fn admin_form(app: &App, headers: &HeaderMap, fields: &Fields) -> Result<String, Response> {
    let Some((name, csrf)) = admin(app, headers).await? else {
        return Err(redirect(app, "/admin/login"));
    };
    let given = fields.get("csrf").map_or("", String::as_str);
    if app.holder.signer.check_same(&csrf, given) {
        Ok(name)
    } else {
        Err(refused_form())
    }
}

fn refused_form() -> Response {
    message_page(StatusCode::FORBIDDEN, "Refused", NO_FORM_TOKEN)
}

const NO_FORM_TOKEN: &str = "This form was not sent from its page (no valid form token).";

async fn logout(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Response {
    if let Err(refused) = admin_form(&app, &headers, &fields).await {
        return refused;
    }
    if let Some(session) = cookie(&headers, "maillint_admin") {
        let (holder, token) = (Arc::clone(&app.holder), session.to_string());
        match blocking(move || holder.store().close_session(&token)).await {
            Some(Ok(())) => {}
            Some(Err(e)) => return store_failure(&app, &e),
            None => return store_failure(&app, "internal error"),
        }
    }
    let mut response = redirect(&app, "/admin/login");
    let (name, value) = cookie_header(&app, "maillint_admin", "", 0);
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(name, value);
    }
    response
}

async fn admin_post(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(fields): Form<Fields>,
) -> Response {
    let name = match admin_form(&app, &headers, &fields).await {
        Ok(name) => name,
        Err(refused) => return refused,
    };
    let reason = reason(&fields);
    let release = fields.get("action").map(String::as_str) == Some("release");
    if release && reason.is_empty() {
        return message_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Reason needed",
            "A release needs a reason, for the audit log: go back and give one.",
        );
    }
    let holder = Arc::clone(&app.holder);
    let actor = Actor::Admin(name);
    let outcome = blocking(move || {
        if release {
            holder.release(id, &actor, &reason, hold::now())
        } else {
            holder.discard(id, &actor, &reason, hold::now())
        }
    })
    .await;
    match outcome {
        Some(Outcome::Done) => redirect(
            &app,
            &format!(
                "/admin?done={}&id={id}",
                if release { "released" } else { "discarded" }
            ),
        ),
        other => outcome_page(&app, other),
    }
}

#[derive(serde::Deserialize, Default)]
struct Filter {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    /// What was just done, and to which message.
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    id: Option<i64>,
}

async fn admin_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(filter): Query<Filter>,
) -> Response {
    let (name, csrf) = match admin(&app, &headers).await {
        Ok(Some(signed_in)) => signed_in,
        Ok(None) => return redirect(&app, "/admin/login"),
        Err(page) => return page,
    };
    let holder = Arc::clone(&app.holder);
    let wanted_state = filter
        .state
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| state::HELD.to_string());
    let now = hold::now();
    let loaded = blocking(move || {
        let store = holder.store();
        let listed = store.list(
            (wanted_state != "all").then_some(wanted_state.as_str()),
            500,
        )?;
        let since = store.since(now.saturating_sub(14 * 86400))?;
        let audit = store.recent_audit(50)?;
        Ok::<_, String>((listed, since, audit))
    })
    .await;
    let (listed, since, audit) = match loaded {
        Some(Ok(loaded)) => loaded,
        Some(Err(e)) => return store_failure(&app, &e),
        None => return store_failure(&app, "internal error"),
    };
    let body = admin_html(&app, &csrf, &filter, &listed, &since, &audit, now);
    respond(
        StatusCode::OK,
        html::page("Held mail", &sign_out_form(&app, &csrf, &name), &body),
        &[],
    )
}

fn admin_html(
    app: &App,
    csrf: &str,
    filter: &Filter,
    listed: &[Held],
    since: &[Held],
    audit: &[hold::AuditEntry],
    now: u64,
) -> String {
    let q = filter.q.as_deref().unwrap_or("").trim().to_lowercase();
    let rule = filter.rule.as_deref().unwrap_or("").trim();
    let shown: Vec<&Held> = listed
        .iter()
        .filter(|h| {
            q.is_empty()
                || h.sender.to_lowercase().contains(&q)
                || h.subject.to_lowercase().contains(&q)
        })
        .filter(|h| rule.is_empty() || h.rules.iter().any(|r| r == rule))
        .collect();
    let mut out = String::new();
    if let (Some(done @ ("released" | "discarded")), Some(id)) = (filter.done.as_deref(), filter.id)
    {
        out.push_str(&format!(
            "<div class=\"notice\" id=\"notice\">Message #{id} {done}.</div>"
        ));
    }
    let state_now = filter.state.as_deref().unwrap_or(state::HELD);
    let options: String = ["held", "released", "discarded", "expired", "all"]
        .iter()
        .map(|s| {
            let selected = if *s == state_now { " selected" } else { "" };
            format!("<option{selected}>{s}</option>")
        })
        .collect();
    out.push_str(&format!(
        "<div class=\"card\"><form method=\"get\" action=\"{p}/admin\" style=\"display:flex;gap:8px;align-items:center;flex-wrap:wrap\"><select name=\"state\">{options}</select><input type=\"text\" name=\"q\" placeholder=\"sender or subject\" value=\"{q}\"><input type=\"text\" name=\"rule\" placeholder=\"rule, e.g. mass-list\" value=\"{r}\"><button type=\"submit\">Filter</button><span class=\"muted\">{n} shown</span></form></div>",
        p = app.prefix,
        q = escape(filter.q.as_deref().unwrap_or("")),
        r = escape(rule),
        n = shown.len()
    ));
    let mut rows = String::new();
    for h in &shown {
        let actions = if h.state == state::HELD {
            let release = if hold::may_release(&Actor::Admin(String::new()), &h.releaser) {
                format!(
                    "<form method=\"post\" action=\"{p}/admin/held/{id}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"action\" value=\"release\"><input type=\"text\" name=\"reason\" placeholder=\"reason (needed)\" maxlength=\"{MAX_REASON}\" required><button class=\"send\" type=\"submit\" id=\"release-{id}\">Release</button></form>",
                    p = app.prefix,
                    id = h.id
                )
            } else {
                "<span class=\"muted\">policy allows no release</span><br>".into()
            };
            format!(
                "{release}<form method=\"post\" action=\"{p}/admin/held/{id}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"action\" value=\"discard\"><input type=\"text\" name=\"reason\" placeholder=\"reason (optional)\" maxlength=\"{MAX_REASON}\"><button class=\"discard\" type=\"submit\" id=\"discard-{id}\">Discard</button></form>",
                p = app.prefix,
                id = h.id
            )
        } else {
            let reason = h.reason.as_deref().map_or(String::new(), |r| {
                format!("<br><span class=\"muted\">“{}”</span>", escape(r))
            });
            let by = h
                .decided_by
                .as_deref()
                .map_or(String::new(), |who| format!("by {}", html::actor(who)));
            format!("{by}{reason}")
        };
        rows.push_str(&format!(
            "<tr id=\"held-{id}\"><td>{id}</td><td>{sender}</td><td class=\"subject\">{subject}</td><td title=\"{all}\">{n}</td><td title=\"{lines}\">{findings}</td><td>{age}</td><td>{state}{gateway}</td><td class=\"actions\">{actions}</td></tr>",
            id = h.id,
            sender = escape(&h.sender),
            subject = escape(&h.subject),
            all = escape(&h.recipients.join(", ")),
            n = h.recipients.len(),
            findings = h.rules.iter().map(|r| escape(r)).collect::<Vec<_>>().join("<br>"),
            lines = escape(&h.findings.join("\n")),
            age = html::age(now.saturating_sub(h.held_at)),
            state = html::state(h),
            gateway = if h.gateway.is_empty() {
                String::new()
            } else {
                format!("<br><span class=\"muted\">on {}</span>", escape(&h.gateway))
            },
        ));
    }
    out.push_str(&format!(
        "<div class=\"card\"><h2>Messages</h2><table id=\"held\"><tr><th>#</th><th>Sender</th><th>Subject</th><th>Recipients</th><th>Findings</th><th>Age</th><th>State</th><th>Decision</th></tr>{rows}</table></div>"
    ));
    // The last 14 days: each rule's holds per day, and who and what was stopped most.
    let mut per_rule: BTreeMap<String, BTreeMap<u64, Day>> = BTreeMap::new();
    let mut senders: BTreeMap<String, u32> = BTreeMap::new();
    let mut rules: BTreeMap<String, u32> = BTreeMap::new();
    for h in since {
        *senders.entry(h.sender.clone()).or_default() += 1;
        for r in &h.rules {
            *rules.entry(r.clone()).or_default() += 1;
            let day = per_rule
                .entry(r.clone())
                .or_default()
                .entry(h.held_at / 86400)
                .or_default();
            match h.state.as_str() {
                state::RELEASED => day.released += 1,
                state::DISCARDED => day.discarded += 1,
                state::EXPIRED => day.expired += 1,
                _ => day.waiting += 1,
            }
        }
    }
    out.push_str(&format!(
        "<div class=\"card\"><h2>Held per rule and day, last 14 days</h2>{}</div>",
        html::charts(&per_rule, now / 86400, 14)
    ));
    out.push_str(&format!(
        "<div class=\"grid\"><div class=\"card\"><h2>Top senders stopped</h2>{}</div><div class=\"card\"><h2>Top rules</h2>{}</div></div>",
        html::top("Sender", &senders, 10),
        html::top("Rule", &rules, 10)
    ));
    out.push_str(&format!(
        "<div class=\"card\"><h2>Audit log <a class=\"muted\" href=\"{}/admin/audit.jsonl\">(export as JSON lines)</a></h2>{}</div>",
        app.prefix,
        html::audit_table(audit)
    ));
    out
}

async fn audit_export(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match admin(&app, &headers).await {
        Ok(Some(_)) => {}
        Ok(None) => return redirect(&app, "/admin/login"),
        Err(page) => return page,
    }
    let holder = Arc::clone(&app.holder);
    match blocking(move || audit_json_lines(holder.store())).await {
        Some(Ok(lines)) => {
            let mut response = (StatusCode::OK, lines).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jsonl; charset=utf-8"),
            );
            response.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"maillint-audit.jsonl\""),
            );
            response
        }
        Some(Err(e)) => store_failure(&app, &e),
        None => store_failure(&app, "internal error"),
    }
}

/// The whole audit log as JSON lines, oldest first.
pub fn audit_json_lines(store: &dyn hold::HeldStore) -> Result<String, String> {
    let mut out = String::new();
    let mut after = 0;
    loop {
        let batch = store.audit_log(after, 1000)?;
        let Some(last) = batch.last() else {
            return Ok(out);
        };
        after = last.seq;
        for entry in &batch {
            out.push_str(&serde_json::to_string(entry).map_err(|e| e.to_string())?);
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn an_unknown_name_costs_one_verification_like_a_known_one_and_is_refused() {
        let admins = BTreeMap::from([("ann".to_string(), "ann's hash".to_string())]);
        let verified = RefCell::new(Vec::new());
        // A verification that says yes to anything: only a known name may
        // be let in by it.
        let verify = |password: &str, hash: &str| {
            verified
                .borrow_mut()
                .push((password.to_string(), hash.to_string()));
            true
        };
        assert!(check_password(&admins, "dummy", "ann", "pw", verify));
        assert!(!check_password(&admins, "dummy", "mallory", "pw", verify));
        assert!(!check_password(&admins, "dummy", "", "", verify));
        assert_eq!(
            verified.into_inner(),
            [
                ("pw".to_string(), "ann's hash".to_string()),
                ("pw".to_string(), "dummy".to_string()),
                (String::new(), "dummy".to_string()),
            ]
        );
    }

    /// Argon2's parameters and algorithm as a hash carries them.
    fn parameters(hash: &str) -> (String, Option<u32>, String) {
        let hash = argon2::PasswordHash::new(hash).unwrap();
        (
            hash.algorithm.to_string(),
            hash.version,
            hash.params.to_string(),
        )
    }

    #[test]
    fn the_comparison_hash_has_the_administrators_parameters_and_matches_nothing_they_type() {
        use argon2::PasswordHasher;
        let params = argon2::Params::new(8 * 1024, 3, 1, None).unwrap();
        let custom =
            argon2::Argon2::new(argon2::Algorithm::Argon2i, argon2::Version::V0x13, params)
                .hash_password(b"ann's password")
                .unwrap()
                .to_string();
        let admins = BTreeMap::from([("ann".to_string(), custom.clone())]);
        let dummy = dummy_hash(&admins).unwrap();
        assert_eq!(parameters(&dummy), parameters(&custom));
        assert!(!password_matches("ann's password", &dummy));
        assert!(!password_matches("", &dummy));
        // Without administrators, those of --hash-password.
        let default = hash_password("x").unwrap();
        assert_eq!(
            parameters(&dummy_hash(&BTreeMap::new()).unwrap()),
            parameters(&default)
        );
        // Two pages do not share one.
        assert_ne!(dummy_hash(&admins).unwrap(), dummy);
    }
}
