//! `economy`: points per person, and an interface other plugins call.
//!
//! Users: `/balance`, `/give <user> <points>`, `/daily` (100 points, 200
//! for people holding the `premium` role); admins:
//! `/mint <user> <points>`. Other plugins
//! import `plugins:economy/api@1.0.0` (see `wit/economy.wit`) and list
//! `economy` in their `dependencies`; their calls run here, in economy's
//! own instance, against economy's own data. A person is
//! `<platform>:<user id>` (what `/whoami` shows), so accounts on different
//! platforms stay apart.

use plugboard_sdk::kv::Scope;
use plugboard_sdk::prelude::*;
use serde::{Deserialize, Serialize};

// The interface other plugins call (wit/economy.wit).
plugboard_sdk::interfaces!({ path: "wit", world: "economy" });

use exports::plugins::economy::api;

/// Points `/daily` gives.
const DAILY_BONUS: i64 = 100;
/// Points `/daily` gives people holding [`PREMIUM`].
const PREMIUM_DAILY_BONUS: i64 = 200;
/// The role whose holders get [`PREMIUM_DAILY_BONUS`] (the bot owner
/// defines it and gives it with `/role`).
const PREMIUM: &str = "premium";
/// Milliseconds in a day (days are counted in UTC).
const DAY_MS: u64 = 86_400_000;
/// Most accounts `top` returns.
const MAX_TOP: u32 = 100;

/// One person's account, stored as JSON under their key.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Account {
    name: String,
    balance: i64,
    /// The last UTC day (days since the epoch) `/daily` paid out.
    #[serde(default)]
    daily_day: Option<u64>,
}

fn accounts() -> Scope {
    Scope::global().nested("accounts")
}

fn load(user: &str) -> Result<Account> {
    Ok(accounts().get(user)?.unwrap_or_default())
}

fn save(user: &str, account: &Account) -> Result<()> {
    accounts().set(user, account)
}

/// Moves points; the one rule for `/give` and for other plugins.
fn transfer(from: &str, to: &str, amount: i64) -> Result<i64> {
    if amount <= 0 {
        return Err(Error::invalid_input("give a number of points above 0"));
    }
    if from == to {
        return Err(Error::invalid_input("you cannot give points to yourself"));
    }
    let mut payer = load(from)?;
    if payer.balance < amount {
        return Err(Error::invalid_input(format!(
            "not enough points: {} has {}, needs {amount}",
            display(from, &payer),
            payer.balance
        )));
    }
    let mut payee = load(to)?;
    payer.balance -= amount;
    payee.balance = payee.balance.saturating_add(amount);
    // Debit first: an interrupted transfer loses points, never mints them.
    save(from, &payer)?;
    save(to, &payee)?;
    Ok(payer.balance)
}

/// The person and the points `/give` and `/mint` (written as `command`)
/// name: `<user id or @mention> <points>`. Returns the person's key, the
/// id as shown, and the points.
fn recipient(cmd: &Command, command: &str) -> Result<(String, String, i64)> {
    let message = &cmd.message;
    let usage = format!("usage: {command} <user id or @mention> <points>");
    let (Some(who), Some(amount)) = (cmd.args.first(), cmd.args.get(1)) else {
        return Err(Error::invalid_input(usage));
    };
    let amount: i64 = amount
        .parse()
        .map_err(|_| Error::invalid_input(format!("`{amount}` is not a number; {usage}")))?;
    // A Discord mention names its user in the text, and so does an id;
    // a name the app linked (Telegram) is the message's mention; else the
    // name as typed. (A reply also pings whom it answers: the text wins.)
    let is_id = !who.is_empty() && who.bytes().all(|b| b.is_ascii_digit());
    let to_id = match (plugboard_sdk::mention_id(who), message.mentions.first()) {
        (Some(id), _) => id.to_owned(),
        (None, _) if is_id => who.clone(),
        (None, Some(user)) => user.id.clone(),
        (None, None) => who.trim_start_matches('@').to_owned(),
    };
    let to = format!("{}:{to_id}", message.chat.platform.as_str());
    Ok((to, to_id, amount))
}

/// What `/daily` pays the sender: more for `premium` people. Without the
/// `roles` grant (or when the bot cannot tell) the question fails; then
/// the sender gets what everyone gets, and the command still works.
fn daily_bonus() -> i64 {
    match plugboard_sdk::people::sender_has_role(PREMIUM) {
        Ok(true) => PREMIUM_DAILY_BONUS,
        Ok(false) => DAILY_BONUS,
        Err(e) => {
            plugboard_sdk::log::debug(format!("paying the normal daily bonus: {e}"));
            DAILY_BONUS
        }
    }
}

fn display(user: &str, account: &Account) -> String {
    if account.name.is_empty() {
        user.to_owned()
    } else {
        account.name.clone()
    }
}

/// The plugin; its state lives in KV.
#[derive(Default)]
pub struct Economy;

impl Plugin for Economy {
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        let message = &cmd.message;
        let me = format!("{}:{}", message.chat.platform.as_str(), message.sender.id);
        let mut account = load(&me)?;
        // Remember the name people go by, for leaderboards.
        if account.name != message.sender.display_name {
            account.name = message.sender.display_name.clone();
            save(&me, &account)?;
        }
        match cmd.name.as_str() {
            "balance" => out.reply(format!("You have {} points.", account.balance)),
            "daily" => {
                let today = message.timestamp_ms / DAY_MS;
                if account.daily_day == Some(today) {
                    out.reply("You already collected today's bonus; come back tomorrow (UTC).");
                } else {
                    let bonus = daily_bonus();
                    account.daily_day = Some(today);
                    account.balance = account.balance.saturating_add(bonus);
                    save(&me, &account)?;
                    out.reply(format!(
                        "+{bonus} points. You have {} points.",
                        account.balance
                    ));
                }
            }
            "give" => {
                let (to, to_id, amount) = recipient(&cmd, "/give")?;
                let left = transfer(&me, &to, amount)?;
                out.reply(format!(
                    "Gave {amount} points to {to_id}. You have {left} points."
                ));
            }
            // Declared for admins only: the host refuses it to anyone else.
            "mint" => {
                let (to, to_id, amount) = recipient(&cmd, "/mint")?;
                if amount <= 0 {
                    return Err(Error::invalid_input("mint a number of points above 0"));
                }
                let mut payee = load(&to)?;
                payee.balance = payee.balance.saturating_add(amount);
                save(&to, &payee)?;
                out.reply(format!(
                    "Minted {amount} points for {to_id}. They have {} points.",
                    payee.balance
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

impl api::Guest for Economy {
    fn balance(user: String) -> Result<i64, String> {
        Ok(load(&user)?.balance)
    }

    fn transfer(payer: String, payee: String, amount: i64) -> Result<i64, String> {
        Ok(transfer(&payer, &payee, amount)?)
    }

    fn top(count: u32) -> Result<Vec<api::Account>, String> {
        let keys = accounts().keys("")?;
        let mut all = Vec::with_capacity(keys.len());
        for user in keys {
            let account = load(&user)?;
            all.push(api::Account {
                name: display(&user, &account),
                balance: account.balance,
                user,
            });
        }
        all.sort_by(|a, b| b.balance.cmp(&a.balance).then_with(|| a.user.cmp(&b.user)));
        all.truncate(count.min(MAX_TOP) as usize);
        Ok(all)
    }
}

// The handler, and `api` implemented above.
plugboard_sdk::export_plugin!(Economy, provides);
