use super::*;
use anyhow::Context as _;
use plugboard_schedule::ManualClock;
use plugboard_store::MemoryStore;

const START: u64 = 1_800_000_000_000;

fn people() -> (People, Arc<MemoryStore>, Arc<ManualClock>) {
    let store = Arc::new(MemoryStore::default());
    let clock = Arc::new(ManualClock::at(START));
    let people = People::new(
        Arc::clone(&store) as Arc<dyn PeopleRecords>,
        Arc::clone(&clock) as Arc<dyn Clock>,
    );
    (people, store, clock)
}

fn telegram() -> Account {
    Account::new("telegram", "42")
}

fn discord() -> Account {
    Account::new("discord", "7")
}

#[test]
fn a_code_links_two_accounts_once_and_unlink_splits_them() -> anyhow::Result<()> {
    let (people, _, clock) = people();
    assert_eq!(people.person_of(&telegram())?, None);
    let code = people.issue_code(&telegram())?;
    assert_eq!(code.code.len(), CODE_LEN);
    assert!(code.code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
    assert_eq!(code.expires_ms, START + CODE_TTL_MS);

    clock.advance(1_000);
    // Typed by hand: case and dashes do not matter.
    let typed = format!("{}-{}", &code.code[..4], &code.code[4..]).to_lowercase();
    let linked = people.redeem(&discord(), &typed)?;
    assert_eq!(linked.accounts, [telegram(), discord()]);
    assert_eq!(people.person_of(&telegram())?, Some(linked.person.clone()));
    assert_eq!(people.person_of(&discord())?, Some(linked.person.clone()));
    assert_eq!(people.accounts_of(&linked.person)?, [telegram(), discord()]);

    let reused = people.redeem(&Account::new("discord", "8"), &code.code);
    assert!(matches!(reused, Err(LinkError::UnknownCode)), "{reused:?}");

    let unlinked = people.unlink(&discord())?;
    assert_eq!(unlinked.person, linked.person);
    assert_eq!(unlinked.remaining, [telegram()]);
    assert_eq!(people.person_of(&discord())?, None);
    assert_eq!(
        people.person_of(&telegram())?,
        None,
        "a person of one dissolves"
    );
    assert!(people.accounts_of(&linked.person)?.is_empty());
    assert!(matches!(
        people.unlink(&discord()),
        Err(LinkError::NotLinked)
    ));

    let audit = people.audit(None, 10)?;
    let lines: Vec<(&str, &str, &str)> = audit
        .iter()
        .map(|(_, e)| (e.actor.as_str(), e.action.as_str(), e.subject.as_str()))
        .collect();
    let person = linked.person.as_str();
    assert_eq!(
        lines,
        [
            ("discord:7", "link", person),
            ("discord:7", "unlink", person)
        ]
    );
    assert_eq!(audit[0].1.at_ms, START + 1_000);
    assert_eq!(audit[0].1.detail, "discord:7 joined telegram:42");
    // Paged after the first entry's position.
    let rest = people.audit(Some(&audit[0].0), 10)?;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].1.action, "unlink");
    Ok(())
}

#[test]
fn expired_guessed_and_own_codes_are_refused_and_wrong_ones_are_limited() -> anyhow::Result<()> {
    let (people, _, clock) = people();
    let own = people.issue_code(&telegram())?;
    assert!(matches!(
        people.redeem(&telegram(), &own.code),
        Err(LinkError::OwnCode)
    ));
    // A new code replaces the old one.
    let newer = people.issue_code(&telegram())?;
    assert!(matches!(
        people.redeem(&discord(), &own.code),
        Err(LinkError::UnknownCode)
    ));
    clock.advance(CODE_TTL_MS);
    assert!(matches!(
        people.redeem(&discord(), &newer.code),
        Err(LinkError::Expired { .. })
    ));
    // Expired is used up too.
    assert!(matches!(
        people.redeem(&discord(), &newer.code),
        Err(LinkError::UnknownCode)
    ));

    // Two wrong so far; three more guesses, then a pause.
    for _ in 0..3 {
        assert!(matches!(
            people.redeem(&discord(), "AAAAAAAA"),
            Err(LinkError::UnknownCode)
        ));
    }
    let good = people.issue_code(&telegram())?;
    let refused = people.redeem(&discord(), &good.code);
    match refused {
        Err(LinkError::TooManyAttempts { retry_after_ms }) => {
            assert!(retry_after_ms > 0 && retry_after_ms <= ATTEMPT_WINDOW_MS);
            assert!(
                LinkError::TooManyAttempts { retry_after_ms }
                    .to_string()
                    .starts_with("too many wrong codes; try again in ")
            );
        }
        other => panic!("expected a pause, got {other:?}"),
    }
    // Another account is not held up, and the pause ends.
    let other = Account::new("discord", "8");
    assert!(matches!(
        people.redeem(&other, "AAAAAAAA"),
        Err(LinkError::UnknownCode)
    ));
    clock.advance(ATTEMPT_WINDOW_MS);
    let good = people.issue_code(&telegram())?;
    people.redeem(&discord(), &good.code)?;
    Ok(())
}

#[test]
fn a_third_account_joins_the_person_and_a_linked_account_cannot_join_another() -> anyhow::Result<()>
{
    let (people, store, clock) = people();
    let code = people.issue_code(&telegram())?;
    let person = people.redeem(&discord(), &code.code)?.person;
    let console = Account::new("console", "console");
    // The code of any account of the person works.
    let code = people.issue_code(&discord())?;
    let linked = people.redeem(&console, &code.code)?;
    assert_eq!(linked.person, person);
    assert_eq!(linked.accounts, [telegram(), discord(), console.clone()]);

    let stranger = Account::new("telegram", "99");
    let code = people.issue_code(&stranger)?;
    assert!(matches!(
        people.redeem(&discord(), &code.code),
        Err(LinkError::LinkedElsewhere)
    ));
    let code = people.issue_code(&telegram())?;
    assert!(matches!(
        people.redeem(&console, &code.code),
        Err(LinkError::AlreadyLinked)
    ));

    people.unlink(&discord())?;
    assert_eq!(people.accounts_of(&person)?, [telegram(), console.clone()]);
    assert_eq!(people.person_of(&console)?, Some(person.clone()));

    // Another `People` over the same store (the next run) knows it all.
    let again = People::new(store as Arc<dyn PeopleRecords>, clock as Arc<dyn Clock>);
    assert_eq!(again.person_of(&telegram())?, Some(person.clone()));
    assert_eq!(again.person_of(&discord())?, None);
    assert_eq!(again.audit(None, 100)?.len(), 3);
    Ok(())
}

#[test]
fn a_damaged_record_is_named() -> anyhow::Result<()> {
    let (people, store, _) = people();
    store.people_set("account/telegram/42", b"not json")?;
    let damaged = people.person_of(&telegram());
    match damaged {
        Err(e @ LinkError::Damaged { .. }) => {
            assert!(
                e.to_string()
                    .starts_with("the people record `account/telegram/42` is damaged")
            )
        }
        other => panic!("expected damage, got {other:?}"),
    }
    Ok(())
}

fn set(roles: &[Role]) -> std::collections::BTreeSet<Role> {
    roles.iter().cloned().collect()
}

#[test]
fn owners_come_from_the_config_and_admins_give_lesser_roles() -> anyhow::Result<()> {
    let (people, _, _) = people();
    let people = people.with_owners(vec![telegram()]);
    // The owner's linked account is the owner too.
    let code = people.issue_code(&telegram())?;
    people.redeem(&discord(), &code.code)?;
    assert_eq!(people.roles_of(&discord())?, set(&[Role::Owner]));

    let owner = set(&[Role::Owner]);
    let ann = Account::new("discord", "ann");
    let bob = Account::new("discord", "bob");
    people.give_role("telegram:42", &owner, &ann, &Role::Admin)?;
    let admin = people.roles_of(&ann)?;
    assert_eq!(admin, set(&[Role::Admin]));
    let premium: Role = "premium".parse().map_err(anyhow::Error::msg)?;
    people.give_role("discord:ann", &admin, &bob, &premium)?;
    people.give_role("discord:ann", &admin, &bob, &Role::Moderator)?;
    assert_eq!(
        people.roles_of(&bob)?,
        set(&[Role::Moderator, premium.clone()])
    );
    assert!(matches!(
        people.give_role("discord:ann", &admin, &bob, &Role::Admin),
        Err(RoleError::NotAllowed {
            needed: Role::Owner
        })
    ));
    assert!(matches!(
        people.give_role("telegram:42", &owner, &bob, &Role::Owner),
        Err(RoleError::OwnerFromConfig)
    ));
    let moderator = people.roles_of(&bob)?;
    assert!(matches!(
        people.give_role("discord:bob", &moderator, &bob, &premium),
        Err(RoleError::NotAllowed {
            needed: Role::Admin
        })
    ));
    assert!(matches!(
        people.give_role("discord:ann", &admin, &bob, &premium),
        Err(RoleError::Unchanged(_))
    ));
    people.take_role("discord:ann", &admin, &bob, &premium)?;
    assert_eq!(people.roles_of(&bob)?, set(&[Role::Moderator]));
    Ok(())
}

#[test]
fn a_ban_covers_every_linked_account_and_spares_those_as_high_as_the_banner() -> anyhow::Result<()>
{
    let (people, store, clock) = people();
    let people = people.with_owners(vec![Account::new("console", "console")]);
    let owner = set(&[Role::Owner]);
    let moderator = set(&[Role::Moderator]);
    let code = people.issue_code(&telegram())?;
    people.redeem(&discord(), &code.code)?;
    assert!(!people.is_banned(&discord())?);
    people.ban("discord:mod", &moderator, &telegram(), "spam")?;
    assert!(people.is_banned(&telegram())?);
    assert!(people.is_banned(&discord())?, "the linked account too");
    assert!(matches!(
        people.ban("discord:mod", &moderator, &telegram(), "again"),
        Err(RoleError::Unchanged(_))
    ));

    let peer = Account::new("discord", "other-mod");
    people.give_role("console:console", &owner, &peer, &Role::Moderator)?;
    assert!(matches!(
        people.ban("discord:mod", &moderator, &peer, "no"),
        Err(RoleError::Protected(_))
    ));
    assert!(matches!(
        people.ban("discord:mod", &set(&[]), &peer, "no"),
        Err(RoleError::NotAllowed { .. })
    ));
    people.ban("console:console", &owner, &peer, "owner may")?;

    people.unban("discord:mod", &moderator, &discord())?;
    assert!(!people.is_banned(&telegram())?);
    // Another `People` over the same store reads the bans back.
    let again = People::new(store as Arc<dyn PeopleRecords>, clock as Arc<dyn Clock>);
    assert!(again.is_banned(&peer)?);
    assert!(!again.is_banned(&telegram())?);
    let actions: Vec<(String, String, String)> = again
        .audit(None, 100)?
        .into_iter()
        .filter(|(_, e)| e.action != "link")
        .map(|(_, e)| (e.actor, e.action, e.detail))
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("discord:mod", "ban", "spam"),
        ("console:console", "role", "+moderator"),
        ("console:console", "ban", "owner may"),
        ("discord:mod", "unban", ""),
    ]
    .iter()
    .map(|(a, b, c)| ((*a).into(), (*b).into(), (*c).into()))
    .collect();
    assert_eq!(actions, expected);
    Ok(())
}

#[test]
fn rates_and_days_are_read_and_written_plainly() {
    assert_eq!(
        "10/minute".parse::<Rate>(),
        Ok(Rate {
            count: 10,
            per_ms: 60_000
        })
    );
    assert_eq!(
        "3/s".parse::<Rate>().map(|r| r.to_string()),
        Ok("3/second".into())
    );
    let bad = "ten/minute".parse::<Rate>().expect_err("not a number");
    assert!(bad.contains("write it like \"10/minute\""), "{bad}");
    assert!("0/hour".parse::<Rate>().is_err());
    assert_eq!(day_of(0), "1970-01-01");
    assert_eq!(day_of(START), "2027-01-15");
    assert_eq!(day_of(951_782_400_000), "2000-02-29");
}

#[test]
fn a_rate_limit_refuses_with_a_retry_time_and_spares_everyone_else() -> anyhow::Result<()> {
    let (people, _, clock) = people();
    let people = people.with_limits(Limits {
        user_command: Some("2/minute".parse().map_err(anyhow::Error::msg)?),
        ..Limits::default()
    });
    let none = set(&[]);
    let admit = |who: &Account| {
        people.admit(
            &*people.facts(&who.platform, &who.user)?,
            &none,
            ("telegram", "1"),
            "dice",
            "roll",
            "roll",
        )
    };
    assert_eq!(admit(&telegram())?, Ok(()));
    assert_eq!(admit(&telegram())?, Ok(()));
    let refused = admit(&telegram())?;
    assert_eq!(
        refused,
        Err(LimitRefusal::Rate {
            retry_after_ms: 30_000
        })
    );
    assert_eq!(
        refused.err().map(|r| r.to_string()),
        Some("slow down: try again in 30 seconds".into())
    );
    assert_eq!(admit(&discord())?, Ok(()), "another person is served");
    clock.advance(30_000);
    assert_eq!(admit(&telegram())?, Ok(()));
    Ok(())
}

#[test]
fn a_refused_command_takes_nothing_from_the_other_limits() -> anyhow::Result<()> {
    let rate = |text: &str| text.parse::<Rate>().map_err(anyhow::Error::msg);
    let none = set(&[]);
    let admit = |people: &People, who: &Account, command: &str| {
        people.admit(
            &*people.facts(&who.platform, &who.user)?,
            &none,
            ("telegram", "1"),
            "dice",
            command,
            command,
        )
    };
    // Refused by a person's own rate limit: the chat's is untouched.
    let by_rate = people().0.with_limits(Limits {
        user_command: Some(rate("1/minute")?),
        chat: Some(rate("3/minute")?),
        bot: Some(rate("5/minute")?),
        ..Limits::default()
    });
    assert_eq!(admit(&by_rate, &telegram(), "roll")?, Ok(()));
    for _ in 0..5 {
        assert!(admit(&by_rate, &telegram(), "roll")?.is_err());
    }
    assert_eq!(admit(&by_rate, &discord(), "roll")?, Ok(()));
    let third = Account::new("telegram", "98");
    assert_eq!(admit(&by_rate, &third, "roll")?, Ok(()));
    let fourth = Account::new("telegram", "97");
    assert_eq!(
        admit(&by_rate, &fourth, "roll")?,
        Err(LimitRefusal::Rate {
            retry_after_ms: 20_000
        }),
        "the chat's three uses went to three people"
    );
    // Refused by a daily quota: neither is the chat's rate limit.
    let by_quota = people().0.with_limits(Limits {
        chat: Some(rate("2/minute")?),
        quotas: [("dice.flip".to_owned(), 1)].into(),
        ..Limits::default()
    });
    assert_eq!(admit(&by_quota, &telegram(), "flip")?, Ok(()));
    for _ in 0..3 {
        let refused = admit(&by_quota, &telegram(), "flip")?;
        assert!(
            matches!(refused, Err(LimitRefusal::Quota { .. })),
            "{refused:?}"
        );
    }
    assert_eq!(admit(&by_quota, &discord(), "flip")?, Ok(()));
    assert!(matches!(
        admit(&by_quota, &third, "flip")?,
        Err(LimitRefusal::Rate { .. })
    ));
    Ok(())
}

#[test]
fn a_button_press_shares_the_plugins_rate_limit_but_no_commands_limit_or_quota()
-> anyhow::Result<()> {
    let rate = |text: &str| text.parse::<Rate>().map_err(anyhow::Error::msg);
    let people = people().0.with_limits(Limits {
        user_command: Some(rate("1/minute")?),
        user_plugin: Some(rate("3/minute")?),
        quotas: [("poll".to_owned(), 1)].into(),
        ..Limits::default()
    });
    let facts = people.facts("telegram", "7")?;
    let chat = ("telegram", "1");
    let none = set(&[]);
    assert_eq!(
        people.admit(&facts, &none, chat, "poll", "poll", "poll")?,
        Ok(())
    );
    // The command's limit (1/minute) and the plugin's quota (1) are
    // used up; presses still have the plugin's other two uses.
    for _ in 0..2 {
        assert_eq!(people.admit_press(&facts, chat, "poll"), Ok(()));
    }
    assert!(matches!(
        people.admit_press(&facts, chat, "poll"),
        Err(LimitRefusal::Rate { .. })
    ));
    assert_eq!(
        people.admit_press(&facts, chat, "dice"),
        Ok(()),
        "another plugin"
    );
    let usage = people.usage("1970-01-01")?;
    assert_eq!(usage.len(), 1, "presses are not usage: {usage:?}");
    Ok(())
}

#[test]
fn a_daily_quota_is_higher_for_a_role_survives_a_restart_and_resets_at_midnight()
-> anyhow::Result<()> {
    let (people, store, clock) = people();
    let premium: Role = "premium".parse().map_err(anyhow::Error::msg)?;
    let limits = Limits {
        quotas: [("dice.roll".to_owned(), 2)].into(),
        role_quotas: [(premium.clone(), [("dice.roll".to_owned(), 4)].into())].into(),
        ..Limits::default()
    };
    let people = people.with_limits(limits.clone());
    let (plain, gold) = (set(&[]), set(&[premium]));
    let admit = |who: &Account, roles| {
        people.admit(
            &*people.facts(&who.platform, &who.user)?,
            roles,
            ("test", "c"),
            "dice",
            "roll",
            "roll",
        )
    };
    for _ in 0..2 {
        assert_eq!(admit(&telegram(), &plain)?, Ok(()));
    }
    let refused = admit(&telegram(), &plain)?.err().map(|r| r.to_string());
    let refused = refused.unwrap_or_default();
    assert!(
        refused.starts_with("you have used /roll 2 times today; it resets at midnight UTC, in "),
        "{refused}"
    );
    for _ in 0..4 {
        assert_eq!(admit(&discord(), &gold)?, Ok(()), "premium gets 4");
    }
    assert!(admit(&discord(), &gold)?.is_err());
    people.flush_counts()?;

    // The next run remembers today's uses.
    let again = People::new(
        Arc::clone(&store) as Arc<dyn PeopleRecords>,
        Arc::clone(&clock) as Arc<dyn Clock>,
    )
    .with_limits(limits);
    assert!(
        again
            .admit(
                &*again.facts("telegram", "42")?,
                &plain,
                ("test", "c"),
                "dice",
                "roll",
                "roll"
            )?
            .is_err()
    );
    clock.advance(DAY_MS);
    assert_eq!(
        again.admit(
            &*again.facts("telegram", "42")?,
            &plain,
            ("test", "c"),
            "dice",
            "roll",
            "roll"
        )?,
        Ok(())
    );
    // Yesterday's quota counts decide nothing now: they are deleted (the
    // usage stays, as the owner's history).
    again.flush_counts()?;
    let today = day_of(START + DAY_MS);
    let kept = store.people_scan("quota/", None, 100)?;
    assert!(!kept.is_empty());
    for (key, _) in &kept {
        assert!(key.starts_with(&format!("quota/{today}/")), "{key}");
    }
    assert!(!store.people_scan("usage/", None, 100)?.is_empty());
    Ok(())
}

#[test]
fn usage_is_counted_per_plugin_command_and_day() -> anyhow::Result<()> {
    let (people, _, clock) = people();
    people.count_use("dice", "roll", false)?;
    people.count_use("dice", "roll", false)?;
    people.count_use("dice", "roll", true)?;
    clock.advance(DAY_MS);
    people.count_use("notes", "recall", false)?;
    people.flush_counts()?;
    let rows: Vec<(String, String, String, u64, u64)> = people
        .usage("2027-01-01")?
        .into_iter()
        .map(|r| (r.day, r.plugin, r.command, r.usage.ran, r.usage.refused))
        .collect();
    assert_eq!(
        rows,
        [
            ("2027-01-15".into(), "dice".into(), "roll".into(), 2, 1),
            ("2027-01-16".into(), "notes".into(), "recall".into(), 1, 0),
        ]
    );
    assert_eq!(people.usage("2027-01-16")?.len(), 1);
    Ok(())
}

const DAY_MS: u64 = 86_400_000;

#[test]
fn a_fast_rate_and_a_part_of_a_token_still_refuse_and_say_a_wait() -> anyhow::Result<()> {
    let (people, _, clock) = people();
    let people = people.with_limits(Limits {
        user_command: Some("1000/second".parse().map_err(anyhow::Error::msg)?),
        user_plugin: Some("3/minute".parse().map_err(anyhow::Error::msg)?),
        ..Limits::default()
    });
    let none = set(&[]);
    let admit = || {
        people.admit(
            &*people.facts("telegram", "42")?,
            &none,
            ("t", "1"),
            "dice",
            "roll",
            "roll",
        )
    };
    for _ in 0..3 {
        assert_eq!(admit()?, Ok(()));
    }
    // The per-plugin bucket is empty: a token drips in every 20 s; 10 s
    // later half of one has.
    assert_eq!(
        admit()?,
        Err(LimitRefusal::Rate {
            retry_after_ms: 20_000
        })
    );
    clock.advance(10_000);
    assert_eq!(
        admit()?,
        Err(LimitRefusal::Rate {
            retry_after_ms: 10_000
        })
    );
    // 1000/second alone: the 1,001st in one millisecond waits 1 ms.
    let fast = People::new(
        Arc::new(MemoryStore::default()) as Arc<dyn PeopleRecords>,
        Arc::clone(&clock) as Arc<dyn Clock>,
    )
    .with_limits(Limits {
        user_command: Some("1000/second".parse().map_err(anyhow::Error::msg)?),
        ..Limits::default()
    });
    for _ in 0..1_000 {
        assert_eq!(
            fast.admit(
                &*fast.facts("telegram", "42")?,
                &none,
                ("t", "1"),
                "dice",
                "roll",
                "roll"
            )?,
            Ok(())
        );
    }
    assert_eq!(
        fast.admit(
            &*fast.facts("telegram", "42")?,
            &none,
            ("t", "1"),
            "dice",
            "roll",
            "roll"
        )?,
        Err(LimitRefusal::Rate { retry_after_ms: 1 })
    );
    Ok(())
}

#[test]
fn a_code_handed_out_before_a_ban_no_longer_links() -> anyhow::Result<()> {
    let (people, _, _) = people();
    let moderator = set(&[Role::Moderator]);
    let code = people.issue_code(&telegram())?;
    people.ban("discord:mod", &moderator, &telegram(), "spam")?;
    assert!(matches!(
        people.redeem(&discord(), &code.code),
        Err(LinkError::UnknownCode)
    ));
    assert_eq!(people.person_of(&discord())?, None);
    Ok(())
}

#[test]
fn a_person_shares_one_daily_quota_and_relinking_does_not_reset_it() -> anyhow::Result<()> {
    let (people, _, _) = people();
    let people = people.with_limits(Limits {
        user_command: Some("3/hour".parse().map_err(anyhow::Error::msg)?),
        quotas: [("dice.roll".to_owned(), 2)].into(),
        ..Limits::default()
    });
    let none = set(&[]);
    let admit = |who: &Account| {
        people.admit(
            &*people.facts(&who.platform, &who.user)?,
            &none,
            ("t", "1"),
            "dice",
            "roll",
            "roll",
        )
    };
    let link = || -> anyhow::Result<()> {
        let code = people.issue_code(&telegram())?;
        people.redeem(&discord(), &code.code)?;
        Ok(())
    };
    link()?;
    assert_eq!(admit(&telegram())?, Ok(()));
    assert_eq!(admit(&discord())?, Ok(()));
    // Two uses between the two accounts: the person's quota is spent.
    assert!(matches!(
        admit(&discord())?,
        Err(LimitRefusal::Quota { .. })
    ));
    // Unlinked, each account has its own count again: one use each.
    people.unlink(&discord())?;
    assert_eq!(admit(&discord())?, Ok(()));
    // Linked again, the day's uses are still theirs: three of two.
    link()?;
    assert!(matches!(
        admit(&telegram())?,
        Err(LimitRefusal::Quota { .. })
    ));
    Ok(())
}

#[test]
fn admins_turn_plugins_off_or_allow_only_some_per_chat_and_each_change_is_audited()
-> anyhow::Result<()> {
    let (people, store, clock) = people();
    let admin = set(&[Role::Admin]);
    assert_eq!(people.chat_plugins("telegram", "-100")?, None);
    // Members cannot.
    let refused = people.change_chat_plugins(
        "telegram:7",
        &set(&[Role::Moderator]),
        "telegram",
        "-100",
        ChatChange::Off("dice".into()),
    );
    assert!(matches!(
        refused,
        Err(RoleError::NotAllowed {
            needed: Role::Admin
        })
    ));

    let off = people.change_chat_plugins(
        "telegram:42",
        &admin,
        "telegram",
        "-100",
        ChatChange::Off("dice".into()),
    )?;
    assert!(!off.allows("dice") && off.allows("notes"));
    let read = people
        .chat_plugins("telegram", "-100")?
        .context("settings kept")?;
    assert!(!read.allows("dice"));
    // Other chats, and the same id on another platform, are untouched.
    assert_eq!(people.chat_plugins("telegram", "-200")?, None);
    assert_eq!(people.chat_plugins("discord", "-100")?, None);

    clock.advance(1_000);
    let only: std::collections::BTreeSet<String> = ["notes".into(), "dice".into()].into();
    let narrowed = people.change_chat_plugins(
        "telegram:42",
        &admin,
        "telegram",
        "-100",
        ChatChange::Only(only),
    )?;
    // Named on the allow-list: on again; anything else: off.
    assert!(narrowed.allows("dice") && narrowed.allows("notes") && !narrowed.allows("poll"));
    assert!(matches!(
        people.change_chat_plugins(
            "telegram:42",
            &admin,
            "telegram",
            "-100",
            ChatChange::On("dice".into())
        ),
        Err(RoleError::Unchanged(_))
    ));

    // Kept across a restart (a later one: audit entries are ordered by
    // time, then by a count that starts over with the process).
    clock.advance(1_000);
    let again = People::new(
        Arc::clone(&store) as Arc<dyn PeopleRecords>,
        Arc::clone(&clock) as Arc<dyn Clock>,
    );
    let kept = again.chat_plugins("telegram", "-100")?.context("kept")?;
    assert!(!kept.allows("poll") && kept.allows("dice"));

    let open = again.change_chat_plugins(
        "owner",
        &set(&[Role::Owner]),
        "telegram",
        "-100",
        ChatChange::All,
    )?;
    assert!(open.is_open());
    assert_eq!(again.chat_plugins("telegram", "-100")?, None);

    let audit: Vec<(String, String, String, String)> = again
        .audit(None, 10)?
        .into_iter()
        .map(|(_, e)| (e.actor, e.action, e.subject, e.detail))
        .collect();
    let entry = |actor: &str, detail: &str| {
        (
            actor.to_owned(),
            "chat-plugins".to_owned(),
            "telegram:-100".to_owned(),
            detail.to_owned(),
        )
    };
    assert_eq!(
        audit,
        [
            entry("telegram:42", "off dice"),
            entry("telegram:42", "only dice notes"),
            entry("owner", "all"),
        ]
    );
    Ok(())
}

#[test]
fn the_console_cannot_be_banned_so_the_owner_is_never_locked_out() -> anyhow::Result<()> {
    let (people, _, _) = people();
    let console = Account::new("console", "console");
    let refused = people.ban("telegram:9", &set(&[Role::Admin]), &console, "spite");
    assert!(
        matches!(refused, Err(RoleError::Protected(_))),
        "{refused:?}"
    );
    assert!(!people.is_banned(&console)?);
    Ok(())
}

#[test]
fn spans_read_in_seconds_minutes_or_hours_rounded_up() {
    assert_eq!(in_words(CODE_TTL_MS), "10 minutes");
    assert_eq!(in_words(60_000), "1 minute");
    assert_eq!(in_words(1_000), "1 second");
    assert_eq!(in_words(90_000), "90 seconds");
    assert_eq!(in_words(1), "1 second");
    assert_eq!(in_words(0), "1 second");
    assert_eq!(in_words(119_001), "2 minutes");
    assert_eq!(in_words(3_600_001), "61 minutes");
    assert_eq!(in_words(7_200_000), "2 hours");
    assert_eq!(in_words(7_200_001), "3 hours");
}

#[test]
fn an_audit_action_the_log_never_records_is_refused_with_the_list() {
    assert!(check_audit_action("ban").is_ok());
    assert!(check_audit_action("grant").is_ok());
    assert_eq!(
        check_audit_action("bann"),
        Err("\"bann\" is not an action the audit log records; use one of link, unlink, role, ban, unban, chat-plugins, grant, revoke, resume, install, update, remove, config, api-token".into())
    );
}

#[test]
fn the_audit_tail_keeps_the_newest_entries_of_one_action_oldest_first() -> anyhow::Result<()> {
    let (people, _, clock) = people();
    for i in 0..2_500 {
        let action = if i % 2 == 0 { "grant" } else { "revoke" };
        people.record("admin:api", action, &format!("p{i}"), "kv")?;
        clock.advance(1);
    }
    let tail = people.audit_tail(Some("revoke"), 3)?;
    let subjects: Vec<&str> = tail.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(subjects, ["p2495", "p2497", "p2499"]);
    assert_eq!(people.audit_tail(None, 2_600)?.len(), 2_500);
    assert!(people.audit_tail(None, 0)?.is_empty());
    Ok(())
}

#[test]
fn usage_over_many_days_is_read_once_for_settled_days_and_stays_exact_as_days_pass()
-> anyhow::Result<()> {
    const DAY: u64 = 86_400_000;
    let (people, _, clock) = people();
    let ran = |rows: &[UsageRow]| -> Vec<(String, u64)> {
        rows.iter().map(|r| (r.day.clone(), r.usage.ran)).collect()
    };
    let day = |n: u64| day_of(START + n * DAY);
    for _ in 0..5 {
        people.count_use("dice", "roll", false)?;
        clock.advance(DAY);
    }
    people.count_use("dice", "roll", false)?;
    // Days 0..=5; the first read keeps days 0..=3, settled.
    let (since, rows) = people.usage_of_days(6)?;
    assert_eq!(since, day(0));
    assert_eq!(ran(&rows), (0..6).map(|n| (day(n), 1)).collect::<Vec<_>>());
    // Today and yesterday are read afresh every time.
    people.count_use("dice", "roll", false)?;
    let (_, rows) = people.usage_of_days(6)?;
    assert_eq!(ran(&rows).last(), Some(&(day(5), 2)));
    // A shorter span inside the settled days.
    let (_, rows) = people.usage_of_days(3)?;
    assert_eq!(ran(&rows), vec![(day(3), 1), (day(4), 1), (day(5), 2)]);
    // A day later the settled days move on, and nothing is lost or stale.
    clock.advance(DAY);
    people.count_use("dice", "roll", true)?;
    let (_, rows) = people.usage_of_days(7)?;
    assert_eq!(
        ran(&rows),
        (0..5)
            .map(|n| (day(n), 1))
            .chain([(day(5), 2), (day(6), 0)])
            .collect::<Vec<_>>()
    );
    assert_eq!(rows.last().map(|r| r.usage.refused), Some(1));
    Ok(())
}
