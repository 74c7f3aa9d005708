//! The marketplace's web pages, served beside the API by the same process
//! from the same store: home, search, categories, plugin, version and
//! publisher pages, accounts and publishers' self-service (`settings`: tokens, keys,
//! passwords, yanking), reviews, reports and moderation.
//!
//! Pages are rendered on the server with askama templates
//! (`registry/server/templates/`) and work without JavaScript; the one
//! script (`static/app.js`) adds search as you type and copy buttons. Lists
//! come from the in-memory catalog, plugin pages from one read of each
//! record kind (versions, reviews, downloads), so no page grows with the
//! number of its items in queries.

mod account;
mod assets;
mod moderation;
mod owners;
mod page;
mod render;
mod session;
mod settings;
mod version;

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts as _, Path, Query, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use plugboard_registry_types::api::SearchSort;
use plugboard_registry_types::manifest::{MAX_NAME_LEN, Permission};
use plugboard_registry_types::similar::similar_names;
use serde::Deserialize;

use crate::routes::DOWNLOAD_DAYS;
use crate::search::{Filter, Listing};
use crate::store::{CommandInfo, Ratings, Registry, Summary, Uncounted, VersionRow, newest_usable};
use crate::time;
use page::{Layout, WebError};
use session::Visitor;

/// Results per page of search and category listings.
const PER_PAGE: usize = 20;
/// Plugins in each list of the home page.
const HOME_LIST: usize = 6;

/// The page routes, to merge with the API's.
pub(crate) fn routes() -> Router<Registry> {
    Router::new()
        .route("/", get(home))
        .route("/search", get(search_page))
        .route("/categories", get(categories))
        .route("/categories/{slug}", get(category))
        .route("/plugins/{name}", get(plugin_page))
        .route("/plugins/{name}/{version}", get(version::version_page))
        .route("/plugins/{name}/reviews", post(moderation::post_review))
        .route(
            "/plugins/{name}/reviews/delete",
            post(moderation::delete_review),
        )
        .route(
            "/plugins/{name}/reviews/{author}/reply",
            post(moderation::post_reply),
        )
        .route("/plugins/{name}/reports", post(moderation::post_report))
        .route("/plugins/{name}/owners", get(owners::plugin_owners_page))
        .route(
            "/plugins/{name}/owners/{action}",
            post(owners::change_owners),
        )
        .route("/invitations", get(owners::invitations_page))
        .route(
            "/invitations/{name}/{answer}",
            post(owners::answer_invitation),
        )
        .route("/plugins/{name}/versions/{action}", post(settings::yank))
        .route("/account", get(settings::account_page))
        .route("/account/tokens", post(settings::create_token))
        .route("/account/tokens/{id}/revoke", post(settings::revoke_token))
        .route("/account/keys", post(settings::add_key))
        .route("/account/keys/{id}/revoke", post(settings::revoke_key))
        .route("/account/password", post(settings::change_password))
        .route(
            "/reset-password/{secret}",
            get(settings::reset_page).post(settings::reset),
        )
        .route("/users/{name}", get(user_page))
        .route("/signin", get(account::signin_page).post(account::signin))
        .route("/signup", get(account::signup_page).post(account::signup))
        .route("/signout", post(account::signout))
        .route("/admin", get(moderation::admin_page))
        .route("/admin/{action}", post(moderation::admin_action))
        .route("/static/{name}", get(assets::asset))
        .route("/favicon.ico", get(assets::favicon))
}

/// A plugin in a list.
pub(crate) struct Card {
    name: String,
    version: String,
    description: String,
    downloads: String,
    rating: Option<String>,
    rating_count: u64,
    updated: String,
    permission_free: bool,
}

impl Card {
    fn new(plugin: &Summary, listing: &Listing) -> Self {
        let ratings = listing.ratings_of(&plugin.name);
        Card {
            name: plugin.name.clone(),
            version: plugin.version.to_string(),
            description: plugin.description.clone(),
            downloads: render::plural(listing.downloads_of(&plugin.name), "download"),
            rating: ratings.average().map(|a| format!("{a:.1}")),
            rating_count: ratings.count(),
            updated: render::date(plugin.updated_at),
            permission_free: plugin.permissions.is_empty(),
        }
    }
}

fn cards<'a>(plugins: impl IntoIterator<Item = &'a Summary>, listing: &Listing) -> Vec<Card> {
    plugins.into_iter().map(|p| Card::new(p, listing)).collect()
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
    /// `12 plugins`.
    total: String,
    categories: Vec<(String, usize)>,
    popular: Vec<Card>,
    recent: Vec<Card>,
    top_rated: Vec<Card>,
}

fn category_counts<'a>(plugins: impl Iterator<Item = &'a Summary>) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for plugin in plugins {
        for category in &plugin.categories {
            *counts.entry(category.clone()).or_default() += 1;
        }
    }
    counts.into_iter().collect()
}

/// `GET /`.
async fn home(State(registry): State<Registry>, visitor: Visitor) -> Result<Response, WebError> {
    let listing = registry.listing()?;
    let list = |sort| listing.find(&Filter::query("", sort));
    let rated = list(SearchSort::Rating)
        .into_iter()
        .filter(|p| listing.ratings_of(&p.name).count() > 0)
        .take(HOME_LIST);
    let page = HomePage {
        l: visitor.layout("Plugboard plugins"),
        total: render::plural(listing.catalog.listed().count() as u64, "plugin"),
        categories: category_counts(listing.catalog.listed()),
        popular: cards(
            list(SearchSort::Downloads).into_iter().take(HOME_LIST),
            &listing,
        ),
        recent: cards(
            list(SearchSort::Recent).into_iter().take(HOME_LIST),
            &listing,
        ),
        top_rated: cards(rated, &listing),
    };
    Ok(visitor.page(StatusCode::OK, &page))
}

/// The query of `/search` and the category pages.
#[derive(Debug, Default, Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    wit: String,
    #[serde(default)]
    free: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: String,
    /// `1`: only the results, for search as you type.
    #[serde(default)]
    fragment: String,
}

/// A choice in a `<select>`.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    l: Layout,
    heading: String,
    /// The form posts here (the search page or the category's page).
    action: String,
    category_fixed: bool,
    q: String,
    free: bool,
    categories: Vec<Choice>,
    wits: Vec<Choice>,
    sorts: Vec<Choice>,
    s: Results,
}

/// One page of results, shown by the search page and, alone, as the
/// fragment that search as you type swaps in.
struct Results {
    results: Vec<Card>,
    /// `12 plugins`.
    total_text: String,
    /// "Did you mean": close plugin names the query did not find.
    did_you_mean: Vec<String>,
    total: usize,
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "results.html")]
struct ResultsFragment<'a> {
    s: &'a Results,
}

impl SearchQuery {
    fn link(&self, action: &str, category_fixed: bool, page: usize) -> String {
        let mut params = Vec::new();
        for (key, value) in [
            ("q", self.q.as_str()),
            ("category", if category_fixed { "" } else { &self.category }),
            ("wit", &self.wit),
            ("free", &self.free),
            ("sort", &self.sort),
        ] {
            if !value.is_empty() {
                params.push(format!("{key}={}", page::url_encode(value)));
            }
        }
        if page > 1 {
            params.push(format!("page={page}"));
        }
        if params.is_empty() {
            action.to_owned()
        } else {
            format!("{action}?{}", params.join("&"))
        }
    }
}

fn parse_wit(text: &str) -> Option<(u64, u64)> {
    let (major, minor) = text.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Renders a search (or a category, when `fixed_category` is set; 404
/// when no listed plugin is in it).
fn search(
    registry: &Registry,
    visitor: &Visitor,
    query: SearchQuery,
    fixed_category: Option<&str>,
) -> Result<Response, WebError> {
    let listing = registry.listing()?;
    let catalog = &listing.catalog;
    if let Some(slug) = fixed_category
        && !catalog
            .listed()
            .any(|p| p.categories.iter().any(|c| c == slug))
    {
        return not_found_page(registry, visitor, slug, "category");
    }
    let category = fixed_category
        .map(str::to_owned)
        .or_else(|| (!query.category.is_empty()).then(|| query.category.clone()));
    let sort = query.sort.parse().unwrap_or_default();
    let free = !query.free.is_empty();
    let filter = Filter {
        category: category.clone(),
        wit: parse_wit(&query.wit),
        permission_free: free,
        ..Filter::query(&query.q, sort)
    };
    let hits = listing.find(&filter);
    let did_you_mean = listing.did_you_mean(&filter, &hits);
    let total = hits.len();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let page = query.page.parse::<usize>().unwrap_or(1).clamp(1, pages);
    let results = cards(
        hits.into_iter().skip((page - 1) * PER_PAGE).take(PER_PAGE),
        &listing,
    );
    let mut wits: Vec<(u64, u64)> = catalog
        .listed()
        .map(|p| (p.wit.major, p.wit.minor))
        .collect();
    wits.sort_unstable();
    wits.dedup();
    let choice = |value: String, label: String, selected: bool| Choice {
        value,
        label,
        selected,
    };
    let action = match fixed_category {
        Some(slug) => format!("/categories/{slug}"),
        None => "/search".to_owned(),
    };
    let heading = match (fixed_category, filter.needle.is_empty()) {
        (Some(slug), _) => format!("Category: {slug}"),
        (None, true) => "All plugins".to_owned(),
        (None, false) => format!("Results for “{}”", query.q.trim()),
    };
    let mut l = visitor.layout(heading.clone());
    l.q = query.q.clone();
    let page_view = SearchPage {
        category_fixed: fixed_category.is_some(),
        categories: category_counts(catalog.listed())
            .into_iter()
            .map(|(slug, n)| {
                let selected = category.as_deref() == Some(slug.as_str());
                choice(slug.clone(), format!("{slug} ({n})"), selected)
            })
            .collect(),
        wits: wits
            .into_iter()
            .map(|(major, minor)| {
                let value = format!("{major}.{minor}");
                let selected = filter.wit == Some((major, minor));
                choice(value.clone(), value, selected)
            })
            .collect(),
        sorts: [
            (SearchSort::Downloads, "Most downloaded"),
            (SearchSort::Recent, "Recently updated"),
            (SearchSort::Rating, "Best rated"),
            (SearchSort::Name, "Name"),
        ]
        .into_iter()
        .map(|(s, label)| choice(s.to_string(), label.to_owned(), s == sort))
        .collect(),
        q: query.q.clone(),
        free,
        s: Results {
            results,
            did_you_mean,
            total_text: render::plural(total as u64, "plugin"),
            total,
            page,
            pages,
            prev: (page > 1).then(|| query.link(&action, fixed_category.is_some(), page - 1)),
            next: (page < pages).then(|| query.link(&action, fixed_category.is_some(), page + 1)),
        },
        action,
        heading,
        l,
    };
    if query.fragment == "1" {
        return Ok(page::html(
            StatusCode::OK,
            &ResultsFragment { s: &page_view.s },
        ));
    }
    Ok(visitor.page(StatusCode::OK, &page_view))
}

/// `GET /search?q=&category=&wit=&free=&sort=&page=`.
async fn search_page(
    State(registry): State<Registry>,
    visitor: Visitor,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    search(&registry, &visitor, query, None)
}

/// `GET /categories/<slug>`.
async fn category(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path(slug): Path<String>,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    search(&registry, &visitor, query, Some(&slug))
}

#[derive(Template)]
#[template(path = "categories.html")]
struct CategoriesPage {
    l: Layout,
    categories: Vec<(String, usize)>,
}

/// `GET /categories`.
async fn categories(
    State(registry): State<Registry>,
    visitor: Visitor,
) -> Result<Response, WebError> {
    let catalog = registry.catalog()?;
    let page = CategoriesPage {
        l: visitor.layout("Categories"),
        categories: category_counts(catalog.listed()),
    };
    Ok(visitor.page(StatusCode::OK, &page))
}

/// A permission as the plugin page explains it.
struct PermissionView {
    name: &'static str,
    words: &'static str,
    powerful: bool,
}

/// A version in the plugin page's table.
struct VersionView {
    version: String,
    date: String,
    yanked: bool,
    downloads: String,
    wit: String,
}

/// A review as the plugin page shows it.
struct ReviewView {
    author: String,
    rating: u8,
    stars: String,
    date: String,
    edited: bool,
    body: String,
    reply: Option<(String, String, String)>,
    hidden: Option<String>,
    /// Why its rating does not count toward the average, if it does not.
    uncounted: Option<&'static str>,
    mine: bool,
}

#[derive(Template)]
#[template(path = "plugin.html")]
struct PluginPage {
    l: Layout,
    name: String,
    version: String,
    description: String,
    delisted: bool,
    all_yanked: bool,
    readme: std::sync::Arc<str>,
    permissions: Vec<PermissionView>,
    http: Vec<String>,
    commands: Vec<CommandInfo>,
    deps: Vec<(String, String)>,
    /// The interfaces the shown version provides, with their WIT.
    provides: Vec<plugboard_registry_types::api::ProvidedInterface>,
    /// The interfaces it imports, with the dependency providing each.
    imports: Vec<plugboard_registry_types::api::ImportedInterface>,
    /// The listed plugins whose newest version depends on this one.
    used_by: Vec<String>,
    versions: Vec<VersionView>,
    owners: Vec<String>,
    license: Option<String>,
    homepage: Option<String>,
    repository: Option<String>,
    categories: Vec<String>,
    keywords: Vec<String>,
    created: String,
    updated: String,
    downloads: String,
    chart: String,
    rating: Option<String>,
    rating_stars: String,
    rating_count: u64,
    /// Visible reviews whose rating does not count.
    rating_uncounted: u64,
    /// Which ratings count ([`rating_rule`]).
    rating_rule: String,
    /// Since when moderators froze the ratings, if they did; and why, for
    /// moderators.
    ratings_frozen: Option<(String, String)>,
    histogram: Vec<(u8, u64, u64)>,
    reviews: Vec<ReviewView>,
    review_page: usize,
    review_pages: usize,
    reviews_prev: Option<String>,
    reviews_next: Option<String>,
    my_review: Option<(u8, String)>,
    /// Moderators hid the visitor's review: no form to edit it.
    my_review_hidden: bool,
    /// Why the visitor's rating does not count, and what would change it.
    my_review_uncounted: Option<String>,
    is_owner: bool,
    reported: bool,
}

/// `?reported=1` after a report was sent; `?reviews=N` for the Nth page
/// of reviews.
#[derive(Debug, Default, Deserialize)]
struct PluginQuery {
    #[serde(default)]
    reported: String,
    #[serde(default)]
    reviews: String,
}

/// Reviews per page of a plugin page.
const REVIEWS_PER_PAGE: usize = 50;

fn permission_view(permission: Permission) -> PermissionView {
    PermissionView {
        name: permission.as_str(),
        words: permission.describe(),
        powerful: permission != Permission::Kv,
    }
}

/// The newest version that is not yanked (stable before pre-releases), or
/// the newest of all when every version is yanked.
fn shown_version(versions: &[VersionRow]) -> Option<&VersionRow> {
    newest_usable(versions, |v| &v.entry).or_else(|| {
        versions
            .iter()
            .max_by_key(|v| (v.entry.version.pre.is_empty(), &v.entry.version))
    })
}

/// A manifest's link, when it is a web address (never `javascript:` and the like).
fn web_link(url: &Option<String>) -> Option<String> {
    url.clone()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
}

/// Which ratings count, as the plugin page says it next to the rating: the
/// words for the rule [`Registry::rating_uncounted_now`] applies.
fn rating_rule(registry: &Registry) -> String {
    let min_age = registry.config().rating_min_account_age;
    if min_age.is_zero() {
        "Every account's rating counts toward the average, unless moderators froze the \
         ratings."
            .to_owned()
    } else {
        format!(
            "Only ratings from accounts at least {} old when they gave (or last changed) them \
             count toward the average, and none while moderators froze the ratings; the rest \
             show, marked, and do not move it.",
            render::span(min_age)
        )
    }
}

/// Why a review's rating does not count, as its mark says.
fn uncounted_words(why: Uncounted) -> &'static str {
    match why {
        Uncounted::NewAccount => "not counted: the account was new when it rated",
        Uncounted::Frozen => "not counted: given while the ratings were frozen",
    }
}

fn histogram(ratings: &Ratings) -> Vec<(u8, u64, u64)> {
    let most = ratings.counts.iter().copied().max().unwrap_or(0).max(1);
    (1..=5u8)
        .rev()
        .map(|stars| {
            let n = ratings.counts[usize::from(stars) - 1];
            (stars, n, n * 100 / most)
        })
        .collect()
}

/// `GET /plugins/<name>`.
async fn plugin_page(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path(name): Path<String>,
    query: Result<Query<PluginQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let reported = !query.reported.is_empty();
    let Some(plugin) = registry.plugin(&name)? else {
        return not_found_page(&registry, &visitor, &name, "plugin");
    };
    let admin = visitor.user.as_ref().is_some_and(|u| u.admin);
    let mut versions = registry.version_rows(&name)?;
    versions.sort_by(|a, b| b.entry.version.cmp(&a.entry.version));
    let shown = shown_version(&versions).map(|row| row.entry.version.clone());
    let Some(shown) = shown.and_then(|v| registry.version(&name, &v).transpose()) else {
        return not_found_page(&registry, &visitor, &name, "plugin");
    };
    let shown = shown?;
    let readme = registry.rendered_readme(&shown.entry.sha256, || render::readme(&shown.readme));
    let by_version = registry.downloads_by_version(&name)?;
    let today = time::day_of(registry.now());
    let first = today.saturating_sub(DOWNLOAD_DAYS - 1);
    let counted: HashMap<String, u64> = registry
        .daily_downloads(&name, first)?
        .into_iter()
        .collect();
    let days: Vec<(String, u64)> = (first..=today)
        .map(|day| {
            let date = time::date(day);
            let n = counted.get(&date).copied().unwrap_or(0);
            (date, n)
        })
        .collect();
    let ratings = registry.ratings(&name)?;
    let me = visitor.user.as_ref().map(|u| u.name.as_str());
    let is_owner = me.is_some_and(|me| plugin.owners.iter().any(|o| o == me));
    let mut my_review = None;
    let mut my_review_hidden = false;
    let mut my_review_uncounted = None;
    let mut shown_reviews = Vec::new();
    for (author, review) in registry.reviews(&name)? {
        if me == Some(author.as_str()) {
            my_review = Some((review.rating, review.body.clone()));
            my_review_hidden = review.hidden.is_some();
            my_review_uncounted = match review.uncounted {
                None => None,
                Some(Uncounted::NewAccount) => {
                    let min_age = registry.config().rating_min_account_age.as_secs();
                    let from = registry
                        .user(&author)?
                        .map(|u| u.created_at.saturating_add(min_age))
                        .map_or_else(String::new, |at| format!(" from {}", render::date(at)));
                    Some(format!(
                        "Your rating shows but does not count yet: your account was new when \
                         you gave it. Update it{from} on and it counts."
                    ))
                }
                Some(Uncounted::Frozen) => Some(
                    "Your rating shows but does not count: you gave or changed it while the \
                     ratings were frozen."
                        .to_owned(),
                ),
            };
        }
        if review.hidden.is_none() || admin {
            shown_reviews.push((author, review));
        }
    }
    let review_pages = shown_reviews.len().div_ceil(REVIEWS_PER_PAGE).max(1);
    let review_page = query
        .reviews
        .parse::<usize>()
        .unwrap_or(1)
        .clamp(1, review_pages);
    let page_link = |n: usize| format!("/plugins/{name}?reviews={n}#reviews");
    let reviews_prev = (review_page > 1).then(|| page_link(review_page - 1));
    let reviews_next = (review_page < review_pages).then(|| page_link(review_page + 1));
    let mut reviews = Vec::new();
    for (author, review) in shown_reviews
        .into_iter()
        .skip((review_page - 1) * REVIEWS_PER_PAGE)
        .take(REVIEWS_PER_PAGE)
    {
        let mine = me == Some(author.as_str());
        reviews.push(ReviewView {
            stars: render::stars(f64::from(review.rating)),
            rating: review.rating,
            date: render::date(review.created_at),
            edited: review.updated_at != review.created_at,
            body: review.body,
            reply: review.reply.map(|r| (r.by, render::date(r.at), r.body)),
            hidden: review
                .hidden
                .map(|h| format!("hidden by {}: {}", h.by, h.reason)),
            uncounted: review.uncounted.map(uncounted_words),
            author,
            mine,
        });
    }
    let page = PluginPage {
        l: visitor.layout(format!("{name}: {}", shown.description)),
        version: shown.entry.version.to_string(),
        description: shown.description.clone(),
        // A delisted plugin keeps its page, with a notice (bots that use it
        // link to it); it only leaves the lists and search.
        delisted: plugin.delisted,
        all_yanked: shown.entry.yanked,
        readme,
        permissions: shown
            .entry
            .permissions
            .iter()
            .copied()
            .map(permission_view)
            .collect(),
        http: shown.http.clone(),
        commands: shown.commands.clone(),
        deps: shown
            .entry
            .deps
            .iter()
            .map(|(dep, req)| (dep.clone(), req.to_string()))
            .collect(),
        provides: shown.interfaces.clone(),
        imports: crate::interfaces::imported(&registry, &shown.entry)?,
        used_by: crate::interfaces::used_by(&registry, &name)?,
        versions: versions
            .iter()
            .map(|v| VersionView {
                version: v.entry.version.to_string(),
                date: render::date(v.published_at),
                yanked: v.entry.yanked,
                downloads: render::count(
                    by_version
                        .get(&v.entry.version.to_string())
                        .copied()
                        .unwrap_or(0),
                ),
                wit: v.entry.wit.to_string(),
            })
            .collect(),
        owners: plugin.owners.clone(),
        license: shown.license.clone(),
        homepage: web_link(&shown.homepage),
        repository: web_link(&shown.repository),
        categories: shown.categories.clone(),
        keywords: shown.keywords.clone(),
        created: render::date(plugin.created_at),
        updated: render::date(plugin.updated_at),
        // Each download counts in its version's total and the plugin's, in
        // one transaction: the versions' sum is the plugin's total.
        downloads: render::count(by_version.values().sum()),
        chart: render::downloads_chart(&days),
        rating: ratings.average().map(|a| format!("{a:.1}")),
        rating_stars: render::stars(ratings.average().unwrap_or(0.0)),
        rating_count: ratings.count(),
        rating_uncounted: ratings.uncounted,
        rating_rule: rating_rule(&registry),
        ratings_frozen: plugin.ratings_frozen.as_ref().map(|m| {
            (
                render::date(m.at),
                format!("frozen by {}: {}", m.by, m.reason),
            )
        }),
        histogram: histogram(&ratings),
        reviews,
        review_page,
        review_pages,
        reviews_prev,
        reviews_next,
        my_review,
        my_review_hidden,
        my_review_uncounted,
        is_owner,
        reported,
        name,
    };
    Ok(visitor.page(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    l: Layout,
    name: String,
    joined: String,
    plugins: Vec<Card>,
    /// `3 plugins`.
    plugin_count: String,
    downloads: String,
}

/// `GET /users/<name>`: a publisher and their plugins.
async fn user_page(
    State(registry): State<Registry>,
    visitor: Visitor,
    Path(name): Path<String>,
) -> Result<Response, WebError> {
    let Some(user) = registry.user(&name)? else {
        return not_found_page(&registry, &visitor, &name, "user");
    };
    let listing = registry.listing()?;
    let filter = Filter {
        owner: Some(name.clone()),
        ..Filter::default()
    };
    let owned = listing.find(&filter);
    let total: u64 = owned.iter().map(|p| listing.downloads_of(&p.name)).sum();
    let page = UserPage {
        l: visitor.layout(format!("{name}'s plugins")),
        joined: render::date(user.created_at),
        plugin_count: render::plural(owned.len() as u64, "plugin"),
        plugins: cards(owned, &listing),
        downloads: render::plural(total, "download"),
        name,
    };
    Ok(visitor.page(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    l: Layout,
    what: &'static str,
    /// What was asked for, cut to a plugin name's length…
    wanted: String,
    /// …and percent-encoded for the search link.
    wanted_q: String,
    suggestions: Vec<String>,
}

/// Listed plugin names close to `wanted`, closest first: the one rule
/// ([`similar_names`]) that `plugboard install` and search use too.
fn suggestions(registry: &Registry, wanted: &str) -> Result<Vec<String>, WebError> {
    let catalog = registry.catalog()?;
    Ok(similar_names(
        wanted,
        catalog.listed().map(|p| p.name.as_str()),
    ))
}

fn not_found_page(
    registry: &Registry,
    visitor: &Visitor,
    wanted: &str,
    what: &'static str,
) -> Result<Response, WebError> {
    let page = NotFoundPage {
        l: visitor.layout("Not found"),
        what,
        wanted: wanted.chars().take(MAX_NAME_LEN).collect(),
        wanted_q: page::url_encode(&wanted.chars().take(MAX_NAME_LEN).collect::<String>()),
        suggestions: suggestions(registry, wanted)?,
    };
    Ok(visitor.page(StatusCode::NOT_FOUND, &page))
}

/// The page a client past its request rate gets: 429 with `Retry-After`.
pub(crate) fn slow_down(wait: u64) -> Response {
    WebError::too_many(
        "Too many requests",
        format!(
            "This address sent many requests in a short time. Wait {wait} seconds, then reload \
             the page."
        ),
        wait,
    )
    .into_response()
}

/// A known path with a method it does not take: the API's JSON error under
/// `/api/` and `/index/`, else a page (say, `GET /signout`).
pub(crate) async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || path.starts_with("/index/") {
        return crate::routes::method_not_allowed(method, uri)
            .await
            .into_response();
    }
    let message = if method == Method::GET || method == Method::HEAD {
        format!("`{path}` is the target of a form; open the page that has it and use its button.")
    } else {
        format!("`{path}` does not take {method}; open it in the browser instead.")
    };
    WebError::new(StatusCode::METHOD_NOT_ALLOWED, "Not this way", message).into_response()
}

/// Any path nobody serves: the API's JSON error under `/api/` and
/// `/index/`, else a page that suggests plugins with a close name.
pub(crate) async fn fallback(State(registry): State<Registry>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    let (method, uri) = (parts.method.clone(), parts.uri.clone());
    let path = uri.path();
    if path.starts_with("/api/") || path.starts_with("/index/") || method != Method::GET {
        return crate::routes::not_found(method, uri).await.into_response();
    }
    let visitor = match Visitor::from_request_parts(&mut parts, &registry).await {
        Ok(visitor) => visitor,
        Err(error) => return error.into_response(),
    };
    let wanted = path
        .trim_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    not_found_page(&registry, &visitor, wanted, "page").unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wit_filters_parse_major_minor_only() {
        assert_eq!(parse_wit("0.1"), Some((0, 1)));
        for bad in ["", "1", "0.x", "0.1.2", "-1.0", "a.b"] {
            assert_eq!(parse_wit(bad), None, "{bad}");
        }
    }
}
