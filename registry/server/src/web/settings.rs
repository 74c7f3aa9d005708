//! A publisher's self-service pages: the account page (`/account`) with
//! their API tokens (create with scopes, the secret shown once; revoke),
//! their signing keys (register with a proof of possession, revoke) and a
//! password change; the page of a one-time password reset link the
//! operator issues (`/reset-password/<secret>`); and yanking a version
//! with a reason from the plugin's page. Every form carries the CSRF token
//! ([`super::session`]); the store writes the audit log entries
//! ([`Registry::revoke_token_of`] and the functions beside it).

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_registry_types::api::NewKey;
use semver::Version;
use serde::Deserialize;

use super::account::hashing;
use super::page::{Layout, WebError, url_encode};
use super::render;
use super::session::{CsrfOnly, Visitor, posted};
use crate::error::StoreError;
use crate::password::{check_password, hash_password, verify_password};
use crate::store::{KeyRevoked, RESET_SECONDS, Registry};
use crate::tokens::{Scope, TOKEN_PREFIX};

/// The longest name of a token, in characters.
const MAX_TOKEN_NAME: usize = 64;

/// A token as the account page lists it: never the token itself.
struct TokenView {
    id: String,
    name: String,
    scopes: String,
    created: String,
}

/// A signing key as the account page lists it.
struct KeyView {
    id: String,
    public_key: String,
    created: String,
    revoked: Option<String>,
}

/// A token just created: the one time its secret is shown.
struct NewToken {
    secret: String,
    id: String,
    scopes: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    l: Layout,
    me: String,
    tokens: Vec<TokenView>,
    keys: Vec<KeyView>,
    new_token: Option<NewToken>,
    notice: Option<&'static str>,
    tokens_error: Option<String>,
    keys_error: Option<String>,
    password_error: Option<String>,
}

/// `?done=` after a change: which notice to show.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: String,
}

fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "token-revoked" => "The token is revoked: requests with it are refused from now on.",
        "key-added" => "The key is registered: packages signed with it can be published.",
        "key-revoked" => {
            "The key is revoked: it signs no new versions, and what it signed still verifies."
        }
        "password" => "Your password is changed, and your other browsers are signed out.",
        _ => return None,
    })
}

fn scope_names(scopes: &[Scope]) -> String {
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    names.join(", ")
}

/// The account page of the signed-in user, with `error` shown on the form
/// it belongs to (422), or the token just created.
fn settings_page(
    registry: &Registry,
    visitor: &Visitor,
    new_token: Option<NewToken>,
    notice: Option<&'static str>,
    error: Option<(String, &'static str)>,
) -> Result<Response, WebError> {
    let me = visitor.require_user("/account")?.name.clone();
    let tokens = registry
        .tokens(Some(&me))?
        .into_iter()
        .map(|t| TokenView {
            scopes: scope_names(&t.scopes),
            created: render::date(t.created_at),
            name: t.name,
            id: t.id,
        })
        .collect();
    let keys = registry
        .keys_of(&me)?
        .into_iter()
        .map(|(id, k)| KeyView {
            id,
            public_key: k.public_key,
            created: render::date(k.created_at),
            revoked: k.revoked_at.map(render::date),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = SettingsPage {
        l: visitor.layout("Your account"),
        me,
        tokens,
        keys,
        new_token,
        notice,
        tokens_error: error
            .as_ref()
            .filter(|e| e.1 == "tokens")
            .map(|e| e.0.clone()),
        keys_error: error
            .as_ref()
            .filter(|e| e.1 == "keys")
            .map(|e| e.0.clone()),
        password_error: error
            .as_ref()
            .filter(|e| e.1 == "password")
            .map(|e| e.0.clone()),
    };
    Ok(visitor.page(status, &page))
}

/// `GET /account`.
pub(crate) async fn account_page(
    State(registry): State<Registry>,
    visitor: Visitor,
    Query(done): Query<Done>,
) -> Result<Response, WebError> {
    settings_page(&registry, &visitor, None, notice(&done.done), None)
}

/// `POST /account/tokens`: a name and the scopes, one checkbox each.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    publish: Option<String>,
    #[serde(default)]
    yank: Option<String>,
    #[serde(default)]
    owners: Option<String>,
}

/// `POST /account/tokens`: creates a token and shows it once.
pub(crate) async fn create_token(
    State(registry): State<Registry>,
    visitor: Visitor,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, WebError> {
    let me = visitor.require_user("/account")?.name.clone();
    let form = visitor.accept(form)?;
    let name = form.name.trim();
    let scopes: Vec<Scope> = [
        (Scope::Publish, &form.publish),
        (Scope::Yank, &form.yank),
        (Scope::Owners, &form.owners),
    ]
    .into_iter()
    .filter(|(_, checked)| checked.is_some())
    .map(|(scope, _)| scope)
    .collect();
    let problem = if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME {
        Some(format!(
            "Name the token (1 to {MAX_TOKEN_NAME} characters), like “laptop” or “CI”, to tell \
             it apart later."
        ))
    } else if name.chars().any(char::is_control) {
        Some("Use a name without control characters.".to_owned())
    } else if scopes.is_empty() {
        Some("Choose at least one thing the token may do.".to_owned())
    } else {
        None
    };
    if let Some(problem) = problem {
        return settings_page(&registry, &visitor, None, None, Some((problem, "tokens")));
    }
    let (store, user, label, chosen) = (
        registry.clone(),
        me.clone(),
        name.to_owned(),
        scopes.clone(),
    );
    let secret = tokio::task::spawn_blocking(move || -> Result<String, StoreError> {
        let secret = store.create_named_token(&user, &chosen, &label)?;
        let id = crate::store::token_id(&secret);
        store.audit(&user, "create-token", &format!("{user}/{id}"), &label)?;
        Ok(secret)
    })
    .await
    .map_err(|_| WebError::internal())??;
    debug_assert!(secret.starts_with(TOKEN_PREFIX));
    tracing::info!(user = %me, "token created on the web");
    let new_token = NewToken {
        id: crate::store::token_id(&secret),
        secret,
        scopes: scope_names(&scopes),
    };
    settings_page(&registry, &visitor, Some(new_token), None, None)
}

/// `POST /account/tokens/<id>/revoke`.
pub(crate) async fn revoke_token(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path(id): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, WebError> {
    let me = visitor.require_user("/account")?.name.clone();
    visitor.accept(form)?;
    match registry.revoke_token_of(&me, &id)? {
        Some(_) => Ok(visitor.redirect("/account?done=token-revoked")),
        None => Err(gone("token")),
    }
}

fn gone(what: &str) -> WebError {
    WebError::new(
        StatusCode::NOT_FOUND,
        format!("No such {what}"),
        format!(
            "Your account has no such {what} (it may be revoked already). Go back to your \
             account page and reload it."
        ),
    )
}

/// `POST /account/keys`: the JSON body `POST /api/v1/keys` takes, pasted.
#[derive(Debug, Deserialize)]
pub(crate) struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
}

/// `POST /account/keys`: registers a key whose proof of possession was
/// made for one of the account's API tokens.
pub(crate) async fn add_key(
    State(registry): State<Registry>,
    visitor: Visitor,
    form: Result<Form<KeyForm>, FormRejection>,
) -> Result<Response, WebError> {
    let me = visitor.require_user("/account")?.name.clone();
    let form = visitor.accept(form)?;
    let body: NewKey = match serde_json::from_str(form.key.trim()) {
        Ok(body) => body,
        Err(_) => {
            let problem = "Paste the key as JSON with its public key and proof, like \
                           {\"public_key\":\"…64 hex digits…\",\"proof\":\"…128 hex digits…\"}."
                .to_owned();
            return settings_page(&registry, &visitor, None, None, Some((problem, "keys")));
        }
    };
    let tokens = registry.token_hashes_of(&me)?;
    match crate::routes::register_key(&registry, &me, &body, &tokens) {
        Ok(_) => Ok(visitor.redirect("/account?done=key-added")),
        Err(error) if error.status().is_server_error() => Err(WebError::internal()),
        Err(error) => {
            let problem = format!("{}.", error.detail().trim_end_matches('.'));
            settings_page(&registry, &visitor, None, None, Some((problem, "keys")))
        }
    }
}

/// `POST /account/keys/<key id>/revoke`.
pub(crate) async fn revoke_key(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path(id): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, WebError> {
    let me = visitor.require_user("/account")?.name.clone();
    visitor.accept(form)?;
    match registry.revoke_key(&me, &id)? {
        KeyRevoked::Revoked | KeyRevoked::Already => {
            Ok(visitor.redirect("/account?done=key-revoked"))
        }
        KeyRevoked::NotFound => Err(gone("key")),
    }
}

/// `POST /account/password`.
#[derive(Debug, Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
}

/// `POST /account/password`: needs the current password; ends the
/// account's other sessions.
pub(crate) async fn change_password(
    State(registry): State<Registry>,
    visitor: Visitor,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Result<Response, WebError> {
    let me = visitor.require_user("/account")?.name.clone();
    let form = visitor.accept(form)?;
    if let Err(error) = check_password(&form.password) {
        let problem = format!("New password: {error}.");
        return settings_page(&registry, &visitor, None, None, Some((problem, "password")));
    }
    let (store, user, current, new) = (
        registry.clone(),
        me.clone(),
        form.current.clone(),
        form.password.clone(),
    );
    let hash = hashing(move || -> Result<Option<String>, StoreError> {
        let phc = store.user(&user)?.and_then(|u| u.password);
        let ok = phc.is_some_and(|phc| verify_password(&current, &phc));
        if !ok {
            return Ok(None);
        }
        hash_password(&new).map(Some).map_err(StoreError::Password)
    })
    .await??;
    let Some(hash) = hash else {
        let problem = "Current password: that is not your password.".to_owned();
        return settings_page(&registry, &visitor, None, None, Some((problem, "password")));
    };
    if !registry.change_password(&me, hash, visitor.session.as_deref(), "on the web")? {
        return Err(WebError::internal());
    }
    Ok(visitor.redirect("/account?done=password"))
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    l: Layout,
    user: Option<String>,
    minutes: u64,
    error: Option<String>,
}

/// `GET /reset-password/<secret>`: the form that sets a new password.
pub(crate) async fn reset_page(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path(secret): Path<String>,
) -> Result<Response, WebError> {
    let user = registry.reset_user(&secret)?;
    let status = if user.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let page = ResetPage {
        l: visitor.layout("Choose a new password"),
        user,
        minutes: RESET_SECONDS / 60,
        error: None,
    };
    Ok(visitor.page(status, &page))
}

/// `POST /reset-password/<secret>`.
#[derive(Debug, Deserialize)]
pub(crate) struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

/// `POST /reset-password/<secret>`: uses the link once, ends the account's
/// sessions and sends the visitor to sign in.
pub(crate) async fn reset(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path(secret): Path<String>,
    form: Result<Form<ResetForm>, FormRejection>,
) -> Result<Response, WebError> {
    let form = visitor.accept(form)?;
    let user = registry.reset_user(&secret)?;
    if let (Some(user), Err(error)) = (&user, check_password(&form.password)) {
        let page = ResetPage {
            l: visitor.layout("Choose a new password"),
            user: Some(user.clone()),
            minutes: RESET_SECONDS / 60,
            error: Some(format!("New password: {error}.")),
        };
        return Ok(visitor.page(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let password = form.password.clone();
    let hash = hashing(move || hash_password(&password))
        .await?
        .map_err(|e| {
            tracing::error!("password hashing failed: {e}");
            WebError::internal()
        })?;
    match registry.use_reset(&secret, hash)? {
        Some(user) => Ok(visitor.redirect(&format!("/signin?reset={}", url_encode(&user)))),
        None => Err(WebError::new(
            StatusCode::NOT_FOUND,
            "This link does not work",
            "This password reset link was used already, or it expired, or it was mistyped. Ask \
             the registry's operator for a new one.",
        )),
    }
}

/// `POST /plugins/<name>/yank` and `…/unyank`: a version and why.
#[derive(Debug, Deserialize)]
pub(crate) struct YankForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    reason: String,
}

/// `POST /plugins/<name>/yank` and `…/unyank`: owners only; the reason goes
/// to the audit log.
pub(crate) async fn yank(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path((name, action)): Path<(String, String)>,
    form: Result<Form<YankForm>, FormRejection>,
) -> Result<Response, WebError> {
    let back = format!("/plugins/{}", url_encode(&name));
    let me = visitor.require_user(&back)?.name.clone();
    let form = visitor.accept(form)?;
    let yanked = match action.as_str() {
        "yank" => true,
        "unyank" => false,
        _ => return Err(gone("action")),
    };
    let plugin = registry.plugin(&name)?.ok_or_else(|| gone("plugin"))?;
    if !plugin.owners.contains(&me) {
        return Err(WebError::forbidden(format!(
            "Only the owners of {name} yank its versions."
        )));
    }
    let why = super::moderation::reason(&form.reason)?;
    let version: Version = form.version.trim().parse().map_err(|_| gone("version"))?;
    let (store, plugin_name) = (registry.clone(), name.clone());
    let changed = tokio::task::spawn_blocking(move || {
        store
            .set_yanked(&plugin_name, &version, yanked)
            .map(|c| (c, version))
    })
    .await
    .map_err(|_| WebError::internal())??;
    let (Some(_), version) = changed else {
        return Err(gone("version"));
    };
    registry.audit(&me, &action, &format!("{name} {version}"), why)?;
    tracing::info!(%name, %version, yanked, by = %me, "yank flag changed on the web");
    Ok(visitor.redirect(&back))
}

posted!(TokenForm, KeyForm, PasswordForm, ResetForm, YankForm);
