//! Owners and invitations on the web: an invitee's page of invitations to
//! accept or decline, and a plugin's owners page where its owners invite,
//! remove (themselves too, never the last one) and withdraw invitations.
//! The rules and the audit log entries are the store's
//! ([`Registry::invite_owner`] and the functions beside it), shared with
//! the API.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::page::{Layout, WebError, url_encode};
use super::render;
use super::session::{CsrfOnly, Visitor, posted};
use crate::store::{Invitation, Invited, Registry, Removed};

/// An invitation as the pages list it.
struct InvitationView {
    plugin: String,
    invitee: String,
    by: String,
    sent: String,
    expires: String,
}

impl From<Invitation> for InvitationView {
    fn from(i: Invitation) -> Self {
        InvitationView {
            sent: render::date(i.record.created_at),
            expires: render::date(i.record.expires_at()),
            by: i.record.by,
            invitee: i.invitee,
            plugin: i.plugin,
        }
    }
}

#[derive(Template)]
#[template(path = "invitations.html")]
struct InvitationsPage {
    l: Layout,
    invitations: Vec<InvitationView>,
}

/// `GET /invitations`: the signed-in user's open invitations.
pub(crate) async fn invitations_page(
    State(registry): State<Registry>,
    visitor: Visitor,
) -> Result<Response, WebError> {
    let user = visitor.require_user("/invitations")?;
    let invitations = registry
        .invitations_for(&user.name)?
        .into_iter()
        .map(InvitationView::from)
        .collect();
    let page = InvitationsPage {
        l: visitor.layout("Invitations"),
        invitations,
    };
    Ok(visitor.page(StatusCode::OK, &page))
}

/// `POST /invitations/<name>/accept` and `…/decline`.
pub(crate) async fn answer_invitation(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path((name, answer)): Path<(String, String)>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, WebError> {
    let user = visitor.require_user("/invitations")?;
    visitor.accept(form)?;
    let accept = match answer.as_str() {
        "accept" => true,
        "decline" => false,
        _ => return Err(no_such("answer")),
    };
    let (store, invitee, plugin) = (registry.clone(), user.name.clone(), name.clone());
    let answered =
        tokio::task::spawn_blocking(move || store.answer_invitation(&plugin, &invitee, accept))
            .await
            .map_err(|_| WebError::internal())??;
    if answered.is_none() {
        return Err(WebError::new(
            StatusCode::NOT_FOUND,
            "No such invitation",
            format!(
                "You have no open invitation to own {name} (it may have been withdrawn, or \
                 answered, or it expired after 30 days). Ask an owner to invite you again."
            ),
        ));
    }
    Ok(visitor.redirect(&if accept {
        format!("/plugins/{}/owners", url_encode(&name))
    } else {
        "/invitations".to_owned()
    }))
}

#[derive(Template)]
#[template(path = "owners.html")]
struct OwnersPage {
    l: Layout,
    name: String,
    owners: Vec<String>,
    invited: Vec<InvitationView>,
    me: String,
    error: Option<String>,
}

fn no_such(what: &str) -> WebError {
    WebError::new(
        StatusCode::NOT_FOUND,
        format!("No such {what}"),
        format!("The {what} this page asks for does not exist. Go back and reload the page."),
    )
}

/// The owners page of `name` for its owner `me`, with `error` shown.
fn owners_page(
    registry: &Registry,
    visitor: &Visitor,
    name: &str,
    error: Option<String>,
) -> Result<Response, WebError> {
    let me = visitor.require_user(&format!("/plugins/{}/owners", url_encode(name)))?;
    let plugin = registry.plugin(name)?.ok_or_else(|| no_such("plugin"))?;
    if !plugin.owners.contains(&me.name) {
        return Err(WebError::forbidden(format!(
            "Only the owners of {name} manage its owners. Its owners are {}.",
            plugin.owners.join(", ")
        )));
    }
    let invited = registry
        .invitations_to(name)?
        .into_iter()
        .map(InvitationView::from)
        .collect();
    let page = OwnersPage {
        l: visitor.layout(format!("Owners of {name}")),
        name: name.to_owned(),
        owners: plugin.owners,
        invited,
        me: me.name.clone(),
        error: error.clone(),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(visitor.page(status, &page))
}

/// `GET /plugins/<name>/owners`.
pub(crate) async fn plugin_owners_page(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path(name): Path<String>,
) -> Result<Response, WebError> {
    owners_page(&registry, &visitor, &name, None)
}

/// `POST /plugins/<name>/owners/<invite|remove>`: the user to invite, or
/// the owner to remove (or whose invitation to withdraw).
#[derive(Debug, Deserialize)]
pub(crate) struct OwnerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
}

posted!(OwnerForm);

/// `POST /plugins/<name>/owners/invite` and `…/remove`.
pub(crate) async fn change_owners(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path((name, action)): Path<(String, String)>,
    form: Result<Form<OwnerForm>, FormRejection>,
) -> Result<Response, WebError> {
    let back = format!("/plugins/{}/owners", url_encode(&name));
    let me = visitor.require_user(&back)?.name.clone();
    let form = visitor.accept(form)?;
    let user = form.user.trim().to_lowercase();
    let store = registry.clone();
    let (plugin, who, by) = (name.clone(), user.clone(), me.clone());
    let not_owner = || WebError::forbidden(format!("Only the owners of {name} manage its owners."));
    let error = match action.as_str() {
        "invite" => {
            let invited =
                tokio::task::spawn_blocking(move || store.invite_owner(&plugin, &by, &who))
                    .await
                    .map_err(|_| WebError::internal())??;
            match invited {
                Invited::Sent | Invited::AlreadyOwner => None,
                Invited::NoSuchUser => Some(format!(
                    "There is no account `{user}` here. They create one by signing up, then \
                     you invite them."
                )),
                Invited::NoSuchPlugin => return Err(no_such("plugin")),
                Invited::NotOwner => return Err(not_owner()),
            }
        }
        "remove" => {
            let removed = tokio::task::spawn_blocking(move || {
                store.remove_owners(&plugin, &by, std::slice::from_ref(&who))
            })
            .await
            .map_err(|_| WebError::internal())??;
            match removed {
                Removed::Done(_) => None,
                Removed::NotOwner => return Err(not_owner()),
                Removed::LastOwner => Some(format!(
                    "{user} is the last owner of {name}, and a plugin keeps at least one. \
                     Invite another owner and wait until they accept first."
                )),
                Removed::NoSuchPlugin => return Err(no_such("plugin")),
            }
        }
        _ => return Err(no_such("action")),
    };
    if error.is_some() {
        return owners_page(&registry, &visitor, &name, error);
    }
    // Who left goes to the plugin's page; the owners page is the others'.
    let still_owner = registry
        .plugin(&name)?
        .is_some_and(|p| p.owners.contains(&me));
    Ok(visitor.redirect(
        if still_owner {
            back
        } else {
            format!("/plugins/{}", url_encode(&name))
        }
        .as_str(),
    ))
}
