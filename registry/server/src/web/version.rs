//! The page of one published version, `/plugins/<name>/<version>`: its
//! README, date, publisher, contract, commands and dependencies, what its
//! permissions changed since the version before it, and its checksum and
//! signature with how to check them.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use plugboard_registry_types::Permission;
use semver::Version;

use super::page::{Layout, WebError};
use super::session::Visitor;
use super::{PermissionView, not_found_page, permission_view, render, web_link};
use crate::store::{CommandInfo, Registry};

/// A permission of the version, and whether the version before it lacked it.
struct PermissionChange {
    view: PermissionView,
    added: bool,
}

#[derive(Template)]
#[template(path = "version.html")]
struct VersionPage {
    l: Layout,
    name: String,
    version: String,
    description: String,
    yanked: bool,
    /// The version the plugin page shows, when it is another one.
    newest: Option<String>,
    date: String,
    publisher: String,
    /// The `plugboard:plugin` WIT version the component was built against.
    wit: String,
    license: Option<String>,
    repository: Option<String>,
    /// `1 download`.
    downloads: String,
    readme: std::sync::Arc<str>,
    commands: Vec<CommandInfo>,
    deps: Vec<(String, String)>,
    permissions: Vec<PermissionChange>,
    /// Permissions the version before it asked for and this one does not.
    dropped: Vec<PermissionView>,
    http: Vec<(String, bool)>,
    dropped_http: Vec<String>,
    /// The version compared against: the highest one below this.
    previous: Option<String>,
    sha256: String,
    signature: String,
    key_id: String,
}

/// `GET /plugins/<name>/<version>`.
pub(super) async fn version_page(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path((name, version)): Path<(String, String)>,
) -> Result<Response, WebError> {
    if registry.plugin(&name)?.is_none() {
        return not_found_page(&registry, &visitor, &name, "plugin");
    }
    let rows = registry.version_rows(&name)?;
    let wanted = version.parse::<Version>().ok();
    let Some(record) = (match &wanted {
        Some(wanted) => registry.version(&name, wanted)?,
        None => None,
    }) else {
        return not_found_page(&registry, &visitor, &version, "version");
    };
    let this = &record.entry.version;
    let previous_version = rows
        .iter()
        .map(|row| &row.entry.version)
        .filter(|v| *v < this)
        .max()
        .cloned();
    let previous = match &previous_version {
        Some(v) => registry.version(&name, v)?,
        None => None,
    };
    let newest = super::shown_version(&rows)
        .map(|row| &row.entry.version)
        .filter(|v| *v != this)
        .map(ToString::to_string);
    let before: &[Permission] = previous.as_ref().map_or(&[], |p| &p.entry.permissions);
    let before_http: &[String] = previous.as_ref().map_or(&[], |p| &p.http);
    let permissions = record
        .entry
        .permissions
        .iter()
        .map(|p| PermissionChange {
            view: permission_view(*p),
            added: previous.is_some() && !before.contains(p),
        })
        .collect();
    let dropped = before
        .iter()
        .filter(|p| !record.entry.permissions.contains(p))
        .copied()
        .map(permission_view)
        .collect();
    let http = record
        .http
        .iter()
        .map(|origin| {
            (
                origin.clone(),
                previous.is_some() && !before_http.contains(origin),
            )
        })
        .collect();
    let dropped_http = before_http
        .iter()
        .filter(|origin| !record.http.contains(origin))
        .cloned()
        .collect();
    let downloads = registry
        .downloads_by_version(&name)?
        .get(&this.to_string())
        .copied()
        .unwrap_or(0);
    let readme = registry.rendered_readme(&record.entry.sha256, || render::readme(&record.readme));
    let page = VersionPage {
        l: visitor.layout(format!("{name} {this}")),
        version: this.to_string(),
        description: record.description.clone(),
        yanked: record.entry.yanked,
        newest,
        date: render::date(record.published_at),
        publisher: record.published_by.clone(),
        wit: record.entry.wit.to_string(),
        license: record.license.clone(),
        repository: web_link(&record.repository),
        downloads: render::plural(downloads, "download"),
        readme,
        commands: record.commands.clone(),
        deps: record
            .entry
            .deps
            .iter()
            .map(|(dep, req)| (dep.clone(), req.to_string()))
            .collect(),
        permissions,
        dropped,
        http,
        dropped_http,
        previous: previous_version.map(|v| v.to_string()),
        sha256: record.entry.sha256.clone(),
        signature: record.entry.signature.clone(),
        key_id: record.entry.key_id.clone(),
        name,
    };
    Ok(visitor.page(StatusCode::OK, &page))
}
