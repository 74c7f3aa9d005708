//! Reviews, owners' replies, reports, and the admin page where moderators
//! close reports, hide reviews, yank versions, delist plugins and freeze a
//! plugin's ratings while it is under attack. Every moderation action is
//! written to the audit log the admin page shows.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use semver::Version;
use serde::Deserialize;

use super::page::{Layout, SignedIn, WebError};
use super::render;
use super::session::{CsrfOnly, Posted, Visitor, posted};
use crate::store::{Moderation, Registry, Reply, ReportTarget};
use crate::time;

/// Longest review or reply, in characters.
pub(crate) const MAX_REVIEW: usize = 5_000;
/// Longest report or moderation reason, in characters.
pub(crate) const MAX_REASON: usize = 500;

/// `POST /plugins/<name>/reviews`.
#[derive(Debug, Deserialize)]
pub(crate) struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    body: String,
}

posted!(ReviewForm, ReplyForm, ReportForm, AdminForm);

/// Accepts a signed-in visitor's write: the form read, the visitor signed
/// in (else off to the sign-in page, then back to `back`), its CSRF token
/// right, and the account under its write limit.
fn accept_write<'v, T: Posted>(
    registry: &Registry,
    visitor: &'v Visitor,
    form: Result<Form<T>, FormRejection>,
    back: &str,
) -> Result<(T, &'v SignedIn), WebError> {
    let Form(form) = form.map_err(WebError::bad_form)?;
    let user = visitor.require_user(back)?;
    visitor.check_csrf(form.csrf())?;
    admit_write(registry, user)?;
    Ok((form, user))
}

/// 429 when `user` wrote too much lately (reviews, answers and reports).
fn admit_write(registry: &Registry, user: &SignedIn) -> Result<(), WebError> {
    let key = crate::store::token_hash(&format!("write:{}", user.name));
    registry
        .limiter()
        .take(&key, registry.config().write_rate)
        .map_err(|wait| {
            WebError::too_many(
                "Slow down",
                format!(
                    "You wrote a lot in a short time. Wait {wait} seconds, then send it again."
                ),
                wait,
            )
        })
}

fn plugin_path(name: &str) -> String {
    format!("/plugins/{}", super::page::url_encode(name))
}

fn too_long(what: &str, max: usize) -> WebError {
    WebError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!("The {what} is too long"),
        format!("Keep the {what} under {max} characters. Go back and shorten it."),
    )
}

/// The plugin's owners, or 404.
fn owners_of(registry: &Registry, name: &str) -> Result<Vec<String>, WebError> {
    match registry.plugin(name)? {
        Some(plugin) => Ok(plugin.owners),
        None => Err(WebError::new(
            StatusCode::NOT_FOUND,
            "No such plugin",
            format!("There is no plugin named `{name}` here; search for it from the home page."),
        )),
    }
}

pub(crate) async fn post_review(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path(name): Path<String>,
    form: Result<Form<ReviewForm>, FormRejection>,
) -> Result<Response, WebError> {
    let back = format!("{}#reviews", plugin_path(&name));
    let (form, user) = accept_write(&registry, &visitor, form, &back)?;
    let owners = owners_of(&registry, &name)?;
    if owners.contains(&user.name) {
        return Err(WebError::forbidden(
            "Owners cannot rate their own plugin; answer reviews instead.",
        ));
    }
    let rating = form
        .rating
        .parse::<u8>()
        .ok()
        .filter(|r| (1..=5).contains(r))
        .ok_or_else(|| {
            WebError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Choose a rating",
                "A review needs a rating from 1 to 5 stars. Go back and pick one.",
            )
        })?;
    let body = form.body.trim();
    if body.chars().count() > MAX_REVIEW {
        return Err(too_long("review", MAX_REVIEW));
    }
    if !registry.put_review(&name, &user.name, rating, body)? {
        return Err(hidden_review());
    }
    Ok(visitor.redirect(&back))
}

/// `POST /plugins/<name>/reviews/delete`: the visitor deletes their review.
pub(crate) async fn delete_review(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path(name): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, WebError> {
    let back = format!("{}#reviews", plugin_path(&name));
    let (_, user) = accept_write(&registry, &visitor, form, &back)?;
    owners_of(&registry, &name)?;
    let deleted = registry.delete_review(&name, &user.name)?;
    if !deleted && registry.review(&name, &user.name)?.is_some() {
        return Err(hidden_review());
    }
    Ok(visitor.redirect(&back))
}

/// The answer to editing or deleting a review moderators hid.
fn hidden_review() -> WebError {
    WebError::forbidden(
        "Moderators hid your review, so it stays as it was, for the record. You can write to \
         the registry's operators if you think that was a mistake.",
    )
}

/// `POST /plugins/<name>/reviews/<author>/reply`.
#[derive(Debug, Deserialize)]
pub(crate) struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
}

pub(crate) async fn post_reply(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path((name, author)): Path<(String, String)>,
    form: Result<Form<ReplyForm>, FormRejection>,
) -> Result<Response, WebError> {
    let back = format!("{}#reviews", plugin_path(&name));
    let (form, user) = accept_write(&registry, &visitor, form, &back)?;
    if !owners_of(&registry, &name)?.contains(&user.name) {
        return Err(WebError::forbidden(
            "Only the plugin's owners can answer its reviews.",
        ));
    }
    let body = form.body.trim();
    if body.chars().count() > MAX_REVIEW {
        return Err(too_long("reply", MAX_REVIEW));
    }
    let reply = (!body.is_empty()).then(|| Reply {
        by: user.name.clone(),
        body: body.to_owned(),
        at: registry.now(),
    });
    if !registry.reply_to_review(&name, &author, reply)? {
        return Err(WebError::new(
            StatusCode::NOT_FOUND,
            "No such review",
            format!("`{author}` has not reviewed `{name}`."),
        ));
    }
    Ok(visitor.redirect(&back))
}

/// `POST /plugins/<name>/reports`: `author` set reports that review,
/// else the plugin.
#[derive(Debug, Deserialize)]
pub(crate) struct ReportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    reason: String,
}

pub(super) fn reason(text: &str) -> Result<&str, WebError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(WebError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Say why",
            "Write a short reason; the moderators read it. Go back and add one.",
        ));
    }
    if text.chars().count() > MAX_REASON {
        return Err(too_long("reason", MAX_REASON));
    }
    Ok(text)
}

pub(crate) async fn post_report(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path(name): Path<String>,
    form: Result<Form<ReportForm>, FormRejection>,
) -> Result<Response, WebError> {
    let (form, user) = accept_write(&registry, &visitor, form, &plugin_path(&name))?;
    owners_of(&registry, &name)?;
    let why = reason(&form.reason)?;
    let thanks = visitor.redirect(&format!("{}?reported=1#reviews", plugin_path(&name)));
    let target = if form.author.is_empty() {
        ReportTarget::Plugin {
            plugin: name.clone(),
        }
    } else {
        // A review that does not exist, or that moderators already hid, is
        // thanked for like any other, and not filed: the answer must not
        // tell whether a hidden review is there.
        let review = registry.review(&name, &form.author)?;
        if review.is_none_or(|r| r.hidden.is_some()) {
            return Ok(thanks);
        }
        ReportTarget::Review {
            plugin: name.clone(),
            author: form.author.clone(),
        }
    };
    registry.add_report(target, &user.name, why)?;
    Ok(thanks)
}

/// A report as the admin page lists it.
struct ReportView {
    id: u64,
    plugin: String,
    author: Option<String>,
    /// The review's text, for review reports.
    excerpt: Option<String>,
    review_hidden: bool,
    reporter: String,
    reason: String,
    date: String,
    closed: Option<String>,
}

/// An audit log line.
struct AuditView {
    at: String,
    admin: String,
    action: String,
    target: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    l: Layout,
    open: Vec<ReportView>,
    closed: Vec<ReportView>,
    audit: Vec<AuditView>,
}

/// How many closed reports and audit entries the admin page shows.
const ADMIN_HISTORY: usize = 100;

fn require_admin<'a>(visitor: &'a Visitor, back: &str) -> Result<&'a SignedIn, WebError> {
    let user = visitor.require_user(back)?;
    if !user.admin {
        return Err(WebError::forbidden(
            "This page is for the registry's moderators. The registry's operator makes \
             moderators with `plugboard-registry admin grant <user>`.",
        ));
    }
    Ok(user)
}

/// `GET /admin`.
pub(crate) async fn admin_page(
    State(registry): State<Registry>,
    visitor: Visitor,
) -> Result<Response, WebError> {
    require_admin(&visitor, "/admin")?;
    let mut open = Vec::new();
    let mut closed = Vec::new();
    for (id, report) in registry.reports()? {
        let (plugin, author) = match report.target {
            ReportTarget::Plugin { plugin } => (plugin, None),
            ReportTarget::Review { plugin, author } => (plugin, Some(author)),
        };
        let review = match &author {
            Some(author) if report.closed.is_none() => registry.review(&plugin, author)?,
            _ => None,
        };
        let view = ReportView {
            id,
            excerpt: review.as_ref().map(|r| {
                let text: String = r.body.chars().take(300).collect();
                format!("{} — {text}", render::stars(f64::from(r.rating)))
            }),
            review_hidden: review.is_some_and(|r| r.hidden.is_some()),
            plugin,
            author,
            reporter: report.reporter,
            reason: report.reason,
            date: time::rfc3339(report.created_at),
            closed: report.closed.map(|c| {
                format!(
                    "{} by {} on {}: {}",
                    "closed",
                    c.by,
                    render::date(c.at),
                    c.reason
                )
            }),
        };
        if view.closed.is_none() {
            open.push(view);
        } else if closed.len() < ADMIN_HISTORY {
            closed.push(view);
        }
    }
    let audit = registry
        .audit_log(ADMIN_HISTORY)?
        .into_iter()
        .map(|a| AuditView {
            at: time::rfc3339(a.at),
            admin: a.by,
            action: a.action,
            target: a.target,
            reason: a.reason,
        })
        .collect();
    let page = AdminPage {
        l: visitor.layout("Moderation"),
        open,
        closed,
        audit,
    };
    Ok(visitor.page(StatusCode::OK, &page))
}

/// `POST /admin/<action>`: the fields each action uses.
#[derive(Debug, Deserialize)]
pub(crate) struct AdminForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    plugin: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    report: String,
    #[serde(default)]
    reason: String,
}

fn missing(what: &str) -> WebError {
    WebError::new(
        StatusCode::NOT_FOUND,
        format!("No such {what}"),
        format!(
            "The {what} this form names does not exist (any more). Go back and reload the page."
        ),
    )
}

/// `POST /admin/hide-review`, `show-review`, `delist`, `relist`, `yank`,
/// `unyank`, `freeze-ratings`, `unfreeze-ratings`, `dismiss`.
pub(crate) async fn admin_action(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path(action): Path<String>,
    form: Result<Form<AdminForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(WebError::bad_form)?;
    let admin = require_admin(&visitor, "/admin")?;
    visitor.check_csrf(form.csrf())?;
    let why = reason(&form.reason)?;
    let closed = Moderation {
        by: admin.name.clone(),
        at: registry.now(),
        reason: why.to_owned(),
    };
    let plugin = form.plugin.as_str();
    let target = match action.as_str() {
        "hide-review" | "show-review" => {
            let hide = action == "hide-review";
            let hidden = hide.then(|| closed.clone());
            if !registry.moderate_review(plugin, &form.author, hidden)? {
                return Err(missing("review"));
            }
            if hide {
                let target = ReportTarget::Review {
                    plugin: plugin.to_owned(),
                    author: form.author.clone(),
                };
                registry.close_reports(None, Some(&target), &closed)?;
            }
            format!("review of {plugin} by {}", form.author)
        }
        "delist" | "relist" => {
            let delist = action == "delist";
            if registry.set_delisted(plugin, delist)?.is_none() {
                return Err(missing("plugin"));
            }
            if delist {
                let target = ReportTarget::Plugin {
                    plugin: plugin.to_owned(),
                };
                registry.close_reports(None, Some(&target), &closed)?;
            }
            format!("plugin {plugin}")
        }
        "yank" | "unyank" => {
            let version: Version = form.version.trim().parse().map_err(|_| {
                WebError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Not a version",
                    format!(
                        "`{}` is not a version; write it in full, like 1.2.3.",
                        form.version
                    ),
                )
            })?;
            if registry
                .set_yanked(plugin, &version, action == "yank")?
                .is_none()
            {
                return Err(missing("version"));
            }
            format!("{plugin} {version}")
        }
        "freeze-ratings" | "unfreeze-ratings" => {
            let freeze = action == "freeze-ratings";
            if registry
                .set_ratings_frozen(plugin, freeze.then(|| closed.clone()))?
                .is_none()
            {
                return Err(missing("plugin"));
            }
            format!("ratings of {plugin}")
        }
        "dismiss" => {
            let id = form.report.parse::<u64>().map_err(|_| missing("report"))?;
            if registry.close_reports(Some(id), None, &closed)? == 0 {
                return Err(missing("report"));
            }
            format!("report #{id}")
        }
        _ => {
            return Err(WebError::new(
                StatusCode::NOT_FOUND,
                "No such action",
                format!("`{action}` is not a moderation action."),
            ));
        }
    };
    registry.audit(&admin.name, &action, &target, why)?;
    tracing::info!(admin = %admin.name, %action, %target, "moderation");
    Ok(visitor.redirect("/admin"))
}
