//! Plugins asking whether the sender holds a role (`plugboard:plugin/people`,
//! the `roles` permission). Real components: the test-only `roles-probe`
//! (`/am <role>` says what the host answered) and the official `economy`
//! (`/daily` pays `premium` people more). The answers come from a small
//! [`RoleOracle`] written here, the seam the bot fills with its people.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Result;
use plugboard_host::plugin::{LoadedPlugin, PluginSettings, load_plugin};
use plugboard_host::roles::{RoleCheckError, RoleFuture, RoleOracle};
use plugboard_model::event::{Chat, ChatKind, Command, Event, Message, Platform, Tick, User};
use plugboard_registry_types::Permission;
use plugboard_registry_types::roles::Role;
use plugboard_store::MemoryStore;

use crate::sandbox::tight_limits;
use crate::support::{engine, plugins_dir, test_plugins_dir, text_of};

/// Who holds which role in which chat: `(chat id, user id, role)`. What a
/// platform says about one chat (a Telegram chat administrator) holds in
/// that chat only, which a per-chat table shows as well as any.
#[derive(Debug, Default)]
struct Oracle {
    held: Vec<(&'static str, &'static str, Role)>,
    /// Fails every question with this reason (the store is down).
    failing: Option<&'static str>,
    /// Says yes to every question, sender or not.
    always: bool,
    /// How many questions reached it.
    asked: AtomicUsize,
}

impl Oracle {
    fn holding(held: &[(&'static str, &'static str, &str)]) -> Result<Arc<Self>> {
        let held = held
            .iter()
            .map(|(chat, user, role)| Ok((*chat, *user, role.parse().map_err(anyhow::Error::msg)?)))
            .collect::<Result<_>>()?;
        Ok(Arc::new(Oracle {
            held,
            ..Oracle::default()
        }))
    }

    fn asked(&self) -> usize {
        self.asked.load(Ordering::Relaxed)
    }
}

impl RoleOracle for Oracle {
    fn sender_has<'a>(&'a self, event: &'a Event, role: &'a Role) -> RoleFuture<'a> {
        Box::pin(async move {
            self.asked.fetch_add(1, Ordering::Relaxed);
            if let Some(why) = self.failing {
                return Err(RoleCheckError(why.into()));
            }
            if self.always {
                return Ok(true);
            }
            let Some(sender) = event.sender() else {
                return Ok(false);
            };
            let chat = &event.chat().id;
            let held: BTreeSet<&Role> = self
                .held
                .iter()
                .filter(|(c, u, _)| c == chat && *u == sender.id)
                .map(|(.., r)| r)
                .collect();
            Ok(role.satisfied_by(held))
        })
    }
}

fn load(
    dir: &Path,
    grants: &[Permission],
    roles: Option<Arc<dyn RoleOracle>>,
) -> Result<LoadedPlugin> {
    let settings = |_: &_| {
        Ok(PluginSettings {
            limits: tight_limits(),
            grants: grants.iter().copied().collect(),
            roles,
            ..Default::default()
        })
    };
    Ok(load_plugin(
        dir,
        &engine()?,
        Arc::new(MemoryStore::default()),
        settings,
    )?)
}

fn probe(grants: &[Permission], roles: Option<Arc<dyn RoleOracle>>) -> Result<LoadedPlugin> {
    load(&test_plugins_dir().join("roles-probe"), grants, roles)
}

/// `line` (`am premium`) as a command `user` sends in the group `chat`.
fn command(chat: &str, user: &str, line: &str) -> Arc<Event> {
    let (name, raw) = line.split_once(' ').unwrap_or((line, ""));
    let chat = Chat {
        platform: Platform::Console,
        id: chat.into(),
        kind: ChatKind::Group,
        title: None,
        locale: None,
    };
    Arc::new(Event::Command(Command {
        name: name.into(),
        args: raw.split_whitespace().map(str::to_owned).collect(),
        raw_args: raw.into(),
        message: Message::new("1", chat, User::new(user, user), format!("/{line}")),
    }))
}

/// The plugin's one answer to `event`.
async fn answer(plugin: &LoadedPlugin, event: Arc<Event>) -> Result<String> {
    let chat = event.chat().to_ref();
    let handled = plugin
        .handle(&event, &chat, Some("1"))
        .await
        .map_err(|failure| anyhow::anyhow!("the event failed: {failure:?}"))?;
    anyhow::ensure!(
        handled.outbound.len() == 1,
        "one answer expected, got {}",
        handled.outbound.len()
    );
    Ok(text_of(&handled.outbound[0]))
}

async fn ask(plugin: &LoadedPlugin, chat: &str, user: &str, line: &str) -> Result<String> {
    answer(plugin, command(chat, user, line)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_roles_grant_the_question_is_a_counted_permission_denied_not_a_trap()
-> Result<()> {
    let oracle = Oracle::holding(&[("c", "alice", "premium")])?;
    let plugin = probe(&[], Some(oracle.clone()))?;
    assert_eq!(plugin.missing_grants(), vec![Permission::Roles]);
    let refused = ask(&plugin, "c", "alice", "am premium").await?;
    assert!(
        refused.starts_with("permission denied: this needs the `roles` permission")
            && refused.contains("`plugboard grant roles-probe roles`"),
        "{refused}"
    );
    assert_eq!(plugin.refused_calls(), 1, "counted like every refusal");
    assert_eq!(
        oracle.asked(),
        0,
        "the bot is not asked for a plugin without the grant"
    );
    // A refusal is a value the plugin saw: its instance is kept.
    assert_eq!(plugin.idle_instances(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_grant_the_bots_yes_and_no_reach_the_plugin_for_that_sender_in_that_chat()
-> Result<()> {
    let oracle = Oracle::holding(&[("c", "alice", "premium"), ("c", "carol", "admin")])?;
    let plugin = probe(&[Permission::Roles], Some(oracle.clone()))?;
    assert!(plugin.missing_grants().is_empty());
    assert_eq!(ask(&plugin, "c", "alice", "am premium").await?, "yes");
    assert_eq!(ask(&plugin, "c", "bob", "am premium").await?, "no");
    // Held in one chat only, as a platform's chat administrators are.
    assert_eq!(ask(&plugin, "d", "alice", "am premium").await?, "no");
    // The role asked for reaches the bot as written: `admin` includes
    // `moderator`, a named role includes nothing.
    assert_eq!(ask(&plugin, "c", "carol", "am moderator").await?, "yes");
    assert_eq!(ask(&plugin, "c", "alice", "am moderator").await?, "no");
    assert_eq!(oracle.asked(), 5);
    assert_eq!(plugin.refused_calls(), 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_is_not_a_role_is_an_invalid_argument_naming_it_and_the_bot_is_not_asked()
-> Result<()> {
    let oracle = Oracle::holding(&[])?;
    let plugin = probe(&[Permission::Roles], Some(oracle.clone()))?;
    let refused = ask(&plugin, "c", "alice", "am Premium!").await?;
    assert!(
        refused.starts_with(
            "invalid argument: the role `Premium!` must start with a lowercase letter"
        ) && refused.contains(
            "roles are `owner`, `admin`, `moderator` or a name of your own like `premium`"
        ),
        "{refused}"
    );
    let empty = ask(&plugin, "c", "alice", "am").await?;
    assert!(
        empty.starts_with("invalid argument: the role is empty"),
        "{empty}"
    );
    assert_eq!(oracle.asked(), 0);
    assert_eq!(
        plugin.refused_calls(),
        0,
        "a malformed name is not a refused permission"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_people_or_when_the_bot_cannot_tell_the_plugin_gets_an_error_and_keeps_its_instance()
-> Result<()> {
    let plugin = probe(&[Permission::Roles], None)?;
    assert_eq!(
        ask(&plugin, "c", "alice", "am premium").await?,
        "roles are not available: the bot runs without people"
    );
    assert_eq!(plugin.idle_instances(), 1);

    let failing = Arc::new(Oracle {
        failing: Some("the store is closed"),
        ..Oracle::default()
    });
    let plugin = probe(&[Permission::Roles], Some(failing.clone()))?;
    assert_eq!(
        ask(&plugin, "c", "alice", "am premium").await?,
        "cannot tell the sender's roles: the store is closed"
    );
    assert_eq!(failing.asked(), 1);
    assert_eq!(plugin.idle_instances(), 1, "an error, not a trap");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_which_nobody_sent_is_answered_no_without_asking_the_bot() -> Result<()> {
    // This oracle says yes to anything: the host must not ask it.
    let oracle = Arc::new(Oracle {
        always: true,
        ..Oracle::default()
    });
    let plugin = probe(&[Permission::Roles], Some(oracle.clone()))?;
    let tick = Arc::new(Event::Tick(Tick {
        plugin: "roles-probe".into(),
        id: "t".into(),
        payload: b"owner".to_vec(),
        scheduled_ms: 0,
        fired_ms: 0,
        chat: Chat {
            platform: Platform::Console,
            id: "c".into(),
            kind: ChatKind::Group,
            title: None,
            locale: None,
        },
        foreign_chat: false,
    }));
    assert_eq!(answer(&plugin, tick).await?, "tick: no");
    assert_eq!(oracle.asked(), 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn economy_daily_pays_premium_200_others_100_and_everyone_100_without_the_roles_grant()
-> Result<()> {
    let economy = plugins_dir().join("economy");
    let oracle = Oracle::holding(&[("c", "alice", "premium"), ("c", "olga", "owner")])?;
    let plugin = load(
        &economy,
        &[Permission::Kv, Permission::Roles],
        Some(oracle.clone()),
    )?;
    assert_eq!(
        ask(&plugin, "c", "alice", "daily").await?,
        "+200 points. You have 200 points."
    );
    assert_eq!(
        ask(&plugin, "c", "bob", "daily").await?,
        "+100 points. You have 100 points."
    );
    // The owner holds every role.
    assert_eq!(
        ask(&plugin, "c", "olga", "daily").await?,
        "+200 points. You have 200 points."
    );
    assert_eq!(oracle.asked(), 3);

    // Granted only `kv`: the question is refused, and `/daily` still pays
    // what everyone gets instead of failing.
    let plugin = load(&economy, &[Permission::Kv], Some(oracle.clone()))?;
    assert_eq!(plugin.missing_grants(), vec![Permission::Roles]);
    assert_eq!(
        ask(&plugin, "c", "alice", "daily").await?,
        "+100 points. You have 100 points."
    );
    assert_eq!(plugin.refused_calls(), 1);
    assert_eq!(oracle.asked(), 3, "not asked without the grant");
    Ok(())
}
