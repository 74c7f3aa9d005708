//! The console's web pages: sign in with the admin token, the overview
//! (state, uptime, traffic, adapters, suspensions) and the plugins (grant,
//! revoke, resume, and which plugins serve which chat), usage (top
//! commands, per day) and the audit log (filtered by action). Plain HTML forms, no script; the marketplace's
//! stylesheet, so that both look alike.
//!
//! Every page but the sign-in page needs a session ([`session`]); every
//! form posts back its CSRF token. Owner decisions go through the same
//! [`Control`] calls as the JSON API, recorded in the audit log as done
//! by `admin:web`.

mod chat;
mod session;
mod settings;

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use askama::Template;
use axum::Form;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use plugboard_bot::control::Control;
use plugboard_people::ChatChange;
use serde::Deserialize;

use crate::api::{AdapterStatus, ChatSettings};
use crate::auth::AdminToken;
use crate::listing::Listing;
pub(crate) use session::Sessions;
use session::{Notice, SESSION_HOURS, Visitor};

/// Who the audit log says acted through the web pages.
pub const WEB_ACTOR: &str = "admin:web";

/// The one stylesheet, the marketplace's.
const CSS: &str = include_str!("../../../../registry/server/static/style.css");
/// Where it is served; the name changes with its content, so browsers may
/// keep it.
static CSS_PATH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use sha2::{Digest, Sha256};
    let hash = hex::encode(Sha256::digest(CSS.as_bytes()));
    format!("/static/style.{}.css", &hash[..16])
});

/// What the pages share.
#[derive(Clone)]
pub(crate) struct Web {
    pub(crate) control: Arc<Control>,
    pub(crate) token: Arc<AdminToken>,
    pub(crate) token_var: Arc<str>,
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) rates: Arc<Rates>,
    /// The web chat, when the bot runs one.
    pub(crate) chat: Option<crate::webchat::WebChat>,
}

/// The pages' routes.
pub(crate) fn routes(web: Web) -> axum::Router {
    axum::Router::new()
        .route("/", get(overview))
        .route("/signin", get(signin_page).post(signin))
        .route("/signout", post(signout))
        .route("/plugins", get(plugins))
        .route("/plugins/{name}/grant", post(grant))
        .route("/plugins/{name}/revoke", post(revoke))
        .route("/plugins/{name}/resume", post(resume))
        .route(
            "/plugins/{name}/config",
            get(settings::show).post(settings::save),
        )
        .route("/chats", post(chat))
        .route("/audit", get(audit))
        .route("/usage", get(usage))
        .route("/logs", get(logs))
        .route("/chat", get(chat::show))
        .route("/chat/say", post(chat::say))
        .route("/chat/press", post(chat::press))
        .route("/live", get(chat::live))
        .route("/live/socket", get(chat::socket))
        .route(chat::LIVE_JS_PATH.as_str(), get(chat::script))
        .route(CSS_PATH.as_str(), get(stylesheet))
        .with_state(web)
}

/// Events received per second, over about the last minute: the total
/// sampled every few seconds while the console serves.
#[derive(Default)]
pub(crate) struct Rates {
    samples: Mutex<VecDeque<(Instant, u64)>>,
}

/// How often the total is sampled, and how far back the rate looks.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
const RATE_WINDOW: Duration = Duration::from_secs(60);

fn events_total(control: &Control) -> u64 {
    control
        .adapters()
        .iter()
        .map(|a| a.events.load(Ordering::Relaxed))
        .sum()
}

impl Rates {
    /// Samples `control`'s events while it lives (on the running Tokio
    /// runtime; none outside one).
    pub(crate) fn follow(self: &Arc<Self>, control: &Arc<Control>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let rates = Arc::downgrade(self);
        let control: Weak<Control> = Arc::downgrade(control);
        runtime.spawn(async move {
            let mut every = tokio::time::interval(SAMPLE_EVERY);
            loop {
                every.tick().await;
                let (Some(rates), Some(control)) = (rates.upgrade(), control.upgrade()) else {
                    return;
                };
                rates.sample(Instant::now(), events_total(&control));
            }
        });
    }

    fn sample(&self, at: Instant, total: u64) {
        let mut samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        samples.push_back((at, total));
        while samples
            .front()
            .is_some_and(|(t, _)| at.duration_since(*t) > RATE_WINDOW + SAMPLE_EVERY)
        {
            samples.pop_front();
        }
    }

    /// Events per second from the oldest sample to `total` now.
    fn per_second(&self, now: Instant, total: u64) -> f64 {
        let samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        match samples.front() {
            Some((at, then)) if now > *at => {
                total.saturating_sub(*then) as f64 / now.duration_since(*at).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

/// What every page's frame shows.
struct Layout {
    title: &'static str,
    here: &'static str,
    css: &'static str,
    signed_in: bool,
    csrf: String,
    notice: Option<String>,
    problem: Option<String>,
}

impl Layout {
    fn new(title: &'static str, here: &'static str, visitor: &Visitor) -> Self {
        let (notice, problem) = match &visitor.notice {
            Some(Notice::Done(text)) => (Some(text.clone()), None),
            Some(Notice::Refused(text)) => (None, Some(text.clone())),
            None => (None, None),
        };
        Layout {
            title,
            here,
            css: CSS_PATH.as_str(),
            signed_in: visitor.signed_in,
            csrf: visitor.csrf.clone(),
            notice,
            problem,
        }
    }
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SigninPage {
    l: Layout,
    var: Arc<str>,
    hours: u64,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    l: Layout,
    ready: bool,
    uptime: String,
    events: u64,
    events_per_second: String,
    failures: u64,
    queue_depth: usize,
    queue_capacity: usize,
    plugins: usize,
    suspended: Vec<(String, String)>,
    adapters: Vec<AdapterStatus>,
}

#[derive(Template)]
#[template(path = "plugins.html")]
struct PluginsPage {
    l: Layout,
    listing: Listing,
    chats: Vec<ChatSettings>,
}

fn page(template: &impl Template, visitor: &Visitor) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                html,
            )
                .into_response();
            if let Some(cookie) = &visitor.set_cookie {
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, cookie.clone());
            }
            response
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot render the page: {e}"),
        )
            .into_response(),
    }
}

/// The visitor of a page, when signed in (else the page sends them to
/// the sign-in page).
fn signed_in(web: &Web, headers: &HeaderMap) -> Option<Visitor> {
    Some(web.sessions.visitor(headers)).filter(|v| v.signed_in)
}

/// Runs `read` against the bot on the blocking pool (it reads the store);
/// a failure is the page's answer.
async fn read<T: Send + 'static>(
    web: &Web,
    read: impl FnOnce(&Control) -> Result<T, plugboard_bot::control::ControlError> + Send + 'static,
) -> Result<T, Response> {
    let control = Arc::clone(&web.control);
    match tokio::task::spawn_blocking(move || read(&control)).await {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(e)) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()),
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()),
    }
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        "This form is out of date or came from another site; reload the page and try again.",
    )
        .into_response()
}

/// `seconds` as days, hours and minutes.
fn duration_words(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes} min"),
        (0, _) => format!("{hours} h {minutes} min"),
        _ => format!("{days} d {hours} h"),
    }
}

async fn overview(State(web): State<Web>, headers: HeaderMap) -> Response {
    let Some(visitor) = signed_in(&web, &headers) else {
        return see_other("/signin");
    };
    let control = &web.control;
    let adapters: Vec<AdapterStatus> = control
        .adapters()
        .iter()
        .map(|a| AdapterStatus::of(a))
        .collect();
    let plugins = control.plugins();
    let events = adapters.iter().map(|a| a.events).sum();
    let (queue_depth, queue_capacity) = control.queue();
    let template = OverviewPage {
        l: Layout::new("Overview", "overview", &visitor),
        ready: control.ready(),
        uptime: duration_words(control.uptime().as_secs()),
        events,
        events_per_second: format!("{:.1}", web.rates.per_second(Instant::now(), events)),
        failures: plugins.iter().map(|p| p.stats().1).sum(),
        queue_depth,
        queue_capacity,
        plugins: plugins.len(),
        suspended: plugins
            .iter()
            .filter_map(|p| Some((p.name().to_owned(), p.suspended()?)))
            .collect(),
        adapters,
    };
    page(&template, &visitor)
}

async fn signin_page(State(web): State<Web>, headers: HeaderMap) -> Response {
    let visitor = web.sessions.visitor(&headers);
    if visitor.signed_in {
        return see_other("/");
    }
    let template = SigninPage {
        l: Layout::new("Sign in", "signin", &visitor),
        var: Arc::clone(&web.token_var),
        hours: SESSION_HOURS,
    };
    page(&template, &visitor)
}

#[derive(Deserialize)]
struct SigninForm {
    csrf: String,
    token: String,
}

async fn signin(
    State(web): State<Web>,
    headers: HeaderMap,
    form: Result<Form<SigninForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let visitor = web.sessions.visitor(&headers);
    let Ok(Form(form)) = form else {
        return forbidden();
    };
    if !visitor.posted(&form.csrf) {
        return forbidden();
    }
    let now = Instant::now();
    let wait = web.sessions.signin_wait(now);
    if wait.is_some() || !web.token.matches(form.token.trim()) {
        let mut l = Layout::new("Sign in", "signin", &visitor);
        let status = match wait {
            Some(wait) => {
                l.problem = Some(format!(
                    "Too many wrong tokens in the last minute; try again in {} seconds.",
                    wait.as_secs().max(1)
                ));
                StatusCode::TOO_MANY_REQUESTS
            }
            None => {
                tracing::warn!("console: a sign-in with a wrong token");
                web.sessions.wrong_signin(now);
                l.problem = Some(format!(
                    "That is not this bot's admin token. It is the value of {} in the bot's environment.",
                    web.token_var
                ));
                StatusCode::UNAUTHORIZED
            }
        };
        let template = SigninPage {
            l,
            var: Arc::clone(&web.token_var),
            hours: SESSION_HOURS,
        };
        let mut response = page(&template, &visitor);
        *response.status_mut() = status;
        return response;
    }
    let mut response = see_other("/");
    if let Some(cookie) = web.sessions.begin(&headers) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn signout(
    State(web): State<Web>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let visitor = web.sessions.visitor(&headers);
    match form {
        Ok(Form(form)) if visitor.posted(&form.csrf) => {
            let mut response = see_other("/signin");
            let forget: HeaderValue = web.sessions.end(&visitor);
            response.headers_mut().append(header::SET_COOKIE, forget);
            response
        }
        _ => forbidden(),
    }
}

async fn plugins(State(web): State<Web>, headers: HeaderMap) -> Response {
    let Some(visitor) = signed_in(&web, &headers) else {
        return see_other("/signin");
    };
    let found = read(&web, |control| {
        let chats = control
            .chat_plugins()?
            .into_iter()
            .map(|(chat, settings)| ChatSettings::of(chat, &settings))
            .collect();
        Ok((crate::server::listing(control), chats))
    });
    let (listing, chats) = match found.await {
        Ok(found) => found,
        Err(failed) => return failed,
    };
    let template = PluginsPage {
        l: Layout::new("Plugins", "plugins", &visitor),
        listing,
        chats,
    };
    page(&template, &visitor)
}

#[derive(Deserialize)]
struct PermissionForm {
    csrf: String,
    permission: String,
}

/// Runs an owner decision posted from a page, leaves its outcome for the
/// next page, and goes back to the plugins.
async fn decide(
    web: Web,
    headers: HeaderMap,
    csrf: Option<&str>,
    decision: impl FnOnce(&Control) -> Result<String, String> + Send + 'static,
) -> Response {
    let Some(visitor) = signed_in(&web, &headers) else {
        return see_other("/signin");
    };
    if !csrf.is_some_and(|csrf| visitor.posted(csrf)) {
        return forbidden();
    }
    let control = Arc::clone(&web.control);
    let notice = match tokio::task::spawn_blocking(move || decision(&control)).await {
        Ok(Ok(done)) => Notice::Done(done),
        Ok(Err(refused)) => Notice::Refused(refused),
        Err(e) => Notice::Refused(e.to_string()),
    };
    web.sessions.tell(&visitor, notice);
    see_other("/plugins")
}

async fn change(
    web: Web,
    headers: HeaderMap,
    name: String,
    form: Option<PermissionForm>,
    grant: bool,
) -> Response {
    let (csrf, permission) = match form {
        Some(form) => (Some(form.csrf), form.permission),
        None => (None, String::new()),
    };
    decide(web, headers, csrf.as_deref(), move |control| {
        let change = control
            .change_grants(&name, &[permission], grant, WEB_ACTOR)
            .map_err(|e| e.to_string())?;
        let verb = if grant { "Granted" } else { "Revoked" };
        let mut done = format!(
            "{verb} {} for {}; it takes effect now.",
            change.detail(),
            name
        );
        if !change.still_in_config.is_empty() {
            done.push_str(" The config still grants it: remove it from [plugins.");
            done.push_str(&name);
            done.push_str("] grants too.");
        }
        Ok(done)
    })
    .await
}

async fn grant(
    State(web): State<Web>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    form: Result<Form<PermissionForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    change(web, headers, name, form.ok().map(|f| f.0), true).await
}

async fn revoke(
    State(web): State<Web>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    form: Result<Form<PermissionForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    change(web, headers, name, form.ok().map(|f| f.0), false).await
}

async fn resume(
    State(web): State<Web>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let csrf = form.ok().map(|f| f.0.csrf);
    decide(
        web,
        headers,
        csrf.as_deref(),
        move |control| match control.resume(&name, WEB_ACTOR) {
            Ok(Some(_)) => Ok(format!("Resumed {name}; it runs again now.")),
            Ok(None) => Ok(format!("{name} is not suspended.")),
            Err(e) => Err(e.to_string()),
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    l: Layout,
    actions: &'static [&'static str],
    action: String,
    last: usize,
    /// Each entry with its time in words.
    entries: Vec<(String, plugboard_people::AuditEntry)>,
}

#[derive(Deserialize)]
struct AuditFilter {
    #[serde(default)]
    action: String,
    last: Option<usize>,
}

/// Entries shown unless the filter says otherwise, and at most.
const AUDIT_LAST: usize = 100;
const AUDIT_MAX: usize = 10_000;

async fn audit(
    State(web): State<Web>,
    headers: HeaderMap,
    filter: Result<axum::extract::Query<AuditFilter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(visitor) = signed_in(&web, &headers) else {
        return see_other("/signin");
    };
    // A filter that does not parse shows the newest entries.
    let (action, last) = match filter {
        Ok(axum::extract::Query(f)) => (f.action, f.last.unwrap_or(AUDIT_LAST)),
        Err(_) => (String::new(), AUDIT_LAST),
    };
    let last = last.clamp(1, AUDIT_MAX);
    let mut l = Layout::new("Audit log", "audit", &visitor);
    let action = match plugboard_people::check_audit_action(&action) {
        Err(problem) if !action.is_empty() => {
            l.problem = Some(problem);
            String::new()
        }
        _ => action,
    };
    let wanted = (!action.is_empty()).then(|| action.clone());
    let entries = match read(&web, move |c| c.audit_tail(wanted.as_deref(), last)).await {
        Ok(entries) => entries,
        Err(failed) => return failed,
    };
    let template = AuditPage {
        l,
        actions: plugboard_people::AUDIT_ACTIONS,
        action,
        last,
        entries: entries
            .into_iter()
            .map(|e| (plugboard_registry_types::dates::date_time(e.at_ms), e))
            .collect(),
    };
    page(&template, &visitor)
}

/// One command's use over the days shown.
struct TopCommand {
    plugin: String,
    command: String,
    ran: u64,
    refused: u64,
}

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage {
    l: Layout,
    days: u64,
    since: String,
    top: Vec<TopCommand>,
    /// Each day's counts per plugin and command, for up to
    /// [`USAGE_DETAIL_DAYS`] days.
    rows: Vec<plugboard_people::UsageRow>,
    /// Each day's totals, for longer spans.
    day_totals: Vec<DayTotal>,
}

/// One day's commands, all plugins together.
struct DayTotal {
    day: String,
    ran: u64,
    refused: u64,
    /// Plugins that ran a command that day.
    plugins: usize,
}

/// The longest span shown per plugin and command; longer ones are shown
/// as one line per day.
const USAGE_DETAIL_DAYS: u64 = 31;

#[derive(Deserialize)]
struct UsageFilter {
    days: Option<u64>,
}

/// Days shown unless the filter says otherwise, and at most.
const USAGE_DAYS: u64 = 7;
const USAGE_MAX_DAYS: u64 = 3_660;
/// Commands in the top list.
const TOP: usize = 10;

async fn usage(
    State(web): State<Web>,
    headers: HeaderMap,
    filter: Result<axum::extract::Query<UsageFilter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(visitor) = signed_in(&web, &headers) else {
        return see_other("/signin");
    };
    let days = filter
        .ok()
        .and_then(|f| f.0.days)
        .unwrap_or(USAGE_DAYS)
        .clamp(1, USAGE_MAX_DAYS);
    let (since, mut rows) = match read(&web, move |c| c.usage_of_days(days)).await {
        Ok(usage) => usage,
        Err(failed) => return failed,
    };
    let mut totals: std::collections::HashMap<(&str, &str), (u64, u64)> = Default::default();
    for row in &rows {
        let total = totals.entry((&row.plugin, &row.command)).or_default();
        total.0 += row.usage.ran;
        total.1 += row.usage.refused;
    }
    let mut top: Vec<TopCommand> = totals
        .into_iter()
        .map(|((plugin, command), (ran, refused))| TopCommand {
            plugin: plugin.to_owned(),
            command: command.to_owned(),
            ran,
            refused,
        })
        .collect();
    // The busiest first; equal ones by name, so the order holds still.
    top.sort_by(|a, b| {
        (b.ran + b.refused)
            .cmp(&(a.ran + a.refused))
            .then_with(|| (&a.plugin, &a.command).cmp(&(&b.plugin, &b.command)))
    });
    top.truncate(TOP);
    let mut day_totals: Vec<DayTotal> = Vec::new();
    if days > USAGE_DETAIL_DAYS {
        // Rows come by day (the store's order): one line per day.
        let mut plugins: std::collections::HashSet<&str> = Default::default();
        for row in &rows {
            if day_totals.last().is_none_or(|d| d.day != row.day) {
                plugins.clear();
                day_totals.push(DayTotal {
                    day: row.day.clone(),
                    ran: 0,
                    refused: 0,
                    plugins: 0,
                });
            }
            if let Some(total) = day_totals.last_mut() {
                total.ran += row.usage.ran;
                total.refused += row.usage.refused;
                if plugins.insert(&row.plugin) {
                    total.plugins += 1;
                }
            }
        }
        // Newest day first.
        day_totals.reverse();
        rows.clear();
    } else {
        // Newest day first.
        rows.sort_by(|a, b| b.day.cmp(&a.day));
    }
    let template = UsagePage {
        l: Layout::new("Usage", "usage", &visitor),
        days,
        since,
        top,
        rows,
        day_totals,
    };
    page(&template, &visitor)
}

#[derive(Template)]
#[template(path = "logs.html")]
struct LogsPage {
    l: Layout,
    capacity: usize,
    q: String,
    level: String,
    levels: [&'static str; 5],
    lines: Vec<crate::logbook::LogLine>,
    before: Option<u64>,
    /// Where the next page of older lines starts, when there is one.
    older: Option<u64>,
}

#[derive(Deserialize)]
struct LogFilter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    level: String,
    before: Option<u64>,
}

/// Lines per page of the log.
const LOG_PAGE: usize = 100;

async fn logs(
    State(web): State<Web>,
    headers: HeaderMap,
    filter: Result<axum::extract::Query<LogFilter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    use crate::logbook::{CAPACITY, Level, LogBook};
    let Some(visitor) = signed_in(&web, &headers) else {
        return see_other("/signin");
    };
    let LogFilter { q, level, before } = filter.map(|f| f.0).unwrap_or(LogFilter {
        q: String::new(),
        level: String::new(),
        before: None,
    });
    let min = Level::parse(&level);
    let found = LogBook::global().search(&q, min, before, LOG_PAGE);
    let older = found
        .more
        .then(|| found.lines.last().map(|l| l.number))
        .flatten();
    let template = LogsPage {
        l: Layout::new("Log", "logs", &visitor),
        capacity: CAPACITY,
        q,
        level: min.map(|m| m.as_str().to_owned()).unwrap_or_default(),
        levels: ["error", "warn", "info", "debug", "trace"],
        lines: found.lines,
        before,
        older,
    };
    page(&template, &visitor)
}

#[derive(Deserialize)]
struct ChatForm {
    csrf: String,
    chat: String,
    #[serde(default)]
    plugin: String,
    action: String,
}

async fn chat(
    State(web): State<Web>,
    headers: HeaderMap,
    form: Result<Form<ChatForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return decide(web, headers, None, |_| Err(String::new())).await;
    };
    let ChatForm {
        csrf,
        chat,
        plugin,
        action,
    } = form;
    decide(web, headers, Some(&csrf), move |control| {
        let chat = chat.trim();
        let (change, done) = match action.as_str() {
            "off" => (
                ChatChange::Off(plugin.clone()),
                format!("Turned {plugin} off in {chat}."),
            ),
            "on" => (
                ChatChange::On(plugin.clone()),
                format!("Turned {plugin} on in {chat}."),
            ),
            "all" => (
                ChatChange::All,
                format!("Every plugin serves {chat} again."),
            ),
            other => return Err(format!("unknown change {other:?}")),
        };
        control
            .change_chat_plugins(chat, change, WEB_ACTOR)
            .map(|_| done)
            .map_err(|e| e.to_string())
    })
    .await
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        CSS,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_events_since_the_oldest_sample_per_second() {
        let rates = Rates::default();
        let start = Instant::now();
        assert_eq!(rates.per_second(start, 10), 0.0);
        rates.sample(start, 100);
        rates.sample(start + Duration::from_secs(5), 150);
        let rate = rates.per_second(start + Duration::from_secs(10), 200);
        assert!((rate - 10.0).abs() < 1e-9, "{rate}");
        // Samples older than the window are forgotten.
        rates.sample(start + Duration::from_secs(100), 300);
        let rate = rates.per_second(start + Duration::from_secs(110), 400);
        assert!((rate - 10.0).abs() < 1e-9, "{rate}");
    }

    #[test]
    fn durations_read_as_days_hours_and_minutes() {
        assert_eq!(duration_words(59), "0 min");
        assert_eq!(duration_words(3_660), "1 h 1 min");
        assert_eq!(duration_words(90_000), "1 d 1 h");
    }
}
