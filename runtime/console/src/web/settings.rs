//! A plugin's settings as a form, rendered from what its manifest
//! declares: each field typed after its setting (a choice as a list, a
//! secret as where it is read from, never its value), checked on the
//! server by the same rule as loading, each problem shown at its field.

use askama::Template;
use axum::Form;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use plugboard_bot::control::ControlError;

use super::session::{Notice, Visitor};
use super::{Layout, WEB_ACTOR, Web, forbidden, page, see_other, signed_in};
use crate::api::{PluginSettings, SecretFrom, SettingView};

#[derive(Template)]
#[template(path = "plugin_config.html")]
struct SettingsPage {
    l: Layout,
    plugin: String,
    fields: Vec<Field>,
    /// Each refused setting with what is wrong.
    problems: Vec<(String, String)>,
}

/// One field of the form.
struct Field {
    name: String,
    kind: String,
    description: String,
    allowed: String,
    choices: Vec<String>,
    required: bool,
    secret: bool,
    /// The default, as shown.
    default: Option<String>,
    /// What the box holds: the owner's value, or what they just sent.
    input: String,
    /// For a secret: `env` or `file`.
    from: String,
    /// For a secret: where it is read from now, in words.
    source: Option<String>,
    problem: Option<String>,
}

/// A JSON value as a person types it (a string without quotes, a list
/// one item per line).
fn typed(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items.iter().map(typed).collect::<Vec<_>>().join("\n"),
        other => other.to_string(),
    }
}

impl Field {
    fn of(view: &SettingView) -> Self {
        let (from, source) = match &view.source {
            Some(SecretFrom::Env(name)) => {
                ("env", Some(format!("the environment variable {name}")))
            }
            Some(SecretFrom::File(path)) => ("file", Some(format!("the file {path}"))),
            None => ("env", None),
        };
        Field {
            name: view.name.clone(),
            kind: view.kind.clone(),
            description: view.description.clone(),
            allowed: view.allowed.clone(),
            choices: view.choices.clone(),
            required: view.required,
            secret: view.secret,
            default: view.default.as_ref().map(|d| typed(d).replace('\n', ", ")),
            input: view.value.as_ref().map(typed).unwrap_or_default(),
            from: from.to_owned(),
            source,
            problem: None,
        }
    }
}

fn fields_of(settings: &PluginSettings) -> Vec<Field> {
    settings.settings.iter().map(Field::of).collect()
}

/// The form; `refused` says why what was sent was not saved, when no
/// field says it.
fn settings_page(
    visitor: &Visitor,
    plugin: String,
    fields: Vec<Field>,
    refused: Option<String>,
) -> Response {
    let problems: Vec<(String, String)> = fields
        .iter()
        .filter_map(|f| Some((f.name.clone(), f.problem.clone()?)))
        .collect();
    let mut l = Layout::new("Settings", "plugins", visitor);
    if problems.is_empty() {
        l.problem = refused;
    }
    let template = SettingsPage {
        l,
        plugin,
        fields,
        problems,
    };
    page(&template, visitor)
}

pub(super) async fn show(
    State(web): State<Web>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let Some(visitor) = signed_in(&web, &headers) else {
        return see_other("/signin");
    };
    match crate::server::settings_of(&web.control, &name) {
        Ok(settings) => settings_page(&visitor, name, fields_of(&settings), None),
        Err(e) => {
            web.sessions.tell(&visitor, Notice::Refused(e.to_string()));
            see_other("/plugins")
        }
    }
}

/// The values the form sent, as the owner would write them in the config
/// file: an empty box is left out (its default applies), a secret's empty
/// box keeps where it is read from now, and a number that does not read as
/// one is kept as text for the check to name.
fn values_of(
    settings: &PluginSettings,
    current: &toml::Table,
    form: &[(String, String)],
) -> toml::Table {
    let sent = |prefix: &str, name: &str| {
        form.iter()
            .find(|(key, _)| key.strip_prefix(prefix) == Some(name))
            .map(|(_, value)| value.trim())
            .unwrap_or_default()
    };
    let mut values = toml::Table::new();
    for view in &settings.settings {
        let text = sent("set.", &view.name);
        let value = match view.kind.as_str() {
            _ if view.secret && text.is_empty() => current.get(&view.name).cloned(),
            _ if view.secret => {
                let from = match sent("from.", &view.name) {
                    "file" => "file",
                    _ => "env",
                };
                Some(toml::Value::Table(toml::Table::from_iter([(
                    from.to_owned(),
                    toml::Value::String(text.to_owned()),
                )])))
            }
            _ if text.is_empty() => None,
            "boolean" => match text {
                "true" => Some(toml::Value::Boolean(true)),
                "false" => Some(toml::Value::Boolean(false)),
                other => Some(toml::Value::String(other.to_owned())),
            },
            "integer" => Some(match text.parse::<i64>() {
                Ok(number) => toml::Value::Integer(number),
                Err(_) => toml::Value::String(text.to_owned()),
            }),
            "string-list" => Some(toml::Value::Array(
                text.lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .map(|line| toml::Value::String(line.to_owned()))
                    .collect(),
            )),
            _ => Some(toml::Value::String(text.to_owned())),
        };
        if let Some(value) = value {
            values.insert(view.name.clone(), value);
        }
    }
    values
}

pub(super) async fn save(
    State(web): State<Web>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(visitor) = signed_in(&web, &headers) else {
        return see_other("/signin");
    };
    let Ok(Form(form)) = form else {
        return forbidden();
    };
    let csrf = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if !csrf.is_some_and(|csrf| visitor.posted(csrf)) {
        return forbidden();
    }
    let settings = match crate::server::settings_of(&web.control, &name) {
        Ok(settings) => settings,
        Err(e) => {
            web.sessions.tell(&visitor, Notice::Refused(e.to_string()));
            return see_other("/plugins");
        }
    };
    let current = web
        .control
        .config()
        .map(|config| config.plugin(&name).config)
        .unwrap_or_default();
    let values = values_of(&settings, &current, &form);
    match web
        .control
        .change_plugin_config(&name, values, WEB_ACTOR)
        .await
    {
        Ok(changed) => {
            let done = format!("Saved ({}); {name} runs with them now.", changed.join("; "));
            web.sessions.tell(&visitor, Notice::Done(done));
            see_other(&format!("/plugins/{name}/config"))
        }
        Err(refused) => {
            // The form again, with what was sent and why it was refused.
            let mut fields = fields_of(&settings);
            for field in &mut fields {
                let sent = form
                    .iter()
                    .find(|(key, _)| key.strip_prefix("set.") == Some(field.name.as_str()));
                if let Some((_, value)) = sent {
                    field.input = value.clone();
                }
                if let Some((_, from)) = form
                    .iter()
                    .find(|(key, _)| key.strip_prefix("from.") == Some(field.name.as_str()))
                {
                    field.from = from.clone();
                }
            }
            let status = match &refused {
                ControlError::Settings(problems) => {
                    for problem in problems {
                        if let Some(field) = fields.iter_mut().find(|f| f.name == problem.key) {
                            field.problem = Some(problem.problem.clone());
                        }
                    }
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                ControlError::Unchanged(_) => StatusCode::OK,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let mut response = settings_page(&visitor, name, fields, Some(refused.to_string()));
            *response.status_mut() = status;
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forms_fields_become_the_values_the_owner_would_write() {
        let declared = toml::from_str(
            "[city]\ntype = \"string\"\ndescription = \"d\"\ndefault = \"Oslo\"\n\
             [days]\ntype = \"integer\"\ndescription = \"d\"\ndefault = 3\n\
             [loud]\ntype = \"boolean\"\ndescription = \"d\"\ndefault = false\n\
             [tags]\ntype = \"string-list\"\ndescription = \"d\"\ndefault = []\n\
             [token]\ntype = \"string\"\ndescription = \"d\"\nsecret = true\n\
             [key]\ntype = \"string\"\ndescription = \"d\"\nsecret = true\n",
        )
        .expect("declared");
        let current: toml::Table =
            toml::from_str("token = { env = \"OLD\" }\nkey = { env = \"KEY\" }\n")
                .expect("current");
        let settings = PluginSettings::of("w", &declared, &current);
        let sent = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let values = values_of(
            &settings,
            &current,
            &sent(&[
                ("csrf", "x"),
                ("set.city", "  "),
                ("set.days", "two"),
                ("set.loud", "true"),
                ("set.tags", "a\n\n b \n"),
                ("set.token", ""),
                ("from.key", "file"),
                ("set.key", "key.txt"),
            ]),
        );
        let expected: toml::Table = toml::from_str(
            "days = \"two\"\nloud = true\ntags = [\"a\", \"b\"]\n\
             token = { env = \"OLD\" }\nkey = { file = \"key.txt\" }\n",
        )
        .expect("expected");
        assert_eq!(values, expected);
        // What the form shows: never a secret's value, only its source.
        let token = settings
            .settings
            .iter()
            .find(|s| s.name == "token")
            .expect("token");
        assert_eq!(token.value, None);
        assert_eq!(token.source, Some(SecretFrom::Env("OLD".into())));
    }
}
