//! Contract versions side by side: a component frozen at 0.1.0 loads and
//! answers next to the official plugins built for 0.2, and 0.2's lean
//! commands still give plugins the message behind them.

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::support::{TestBot, frozen_echo_0_1_dir, plugins_dir, test_plugins_dir};

/// The SHA-256 recorded in the fixture's README when it was frozen.
const FROZEN_ECHO_SHA256: &str = "3db65a81305b168c7b155a5b68a9bceedddf4857c3a7a77f7e31d0c948772998";

#[test]
fn the_frozen_0_1_echo_is_the_one_recorded_and_speaks_0_1_only() -> Result<()> {
    let wasm = std::fs::read(frozen_echo_0_1_dir().join("plugin.wasm"))?;
    assert_eq!(hex::encode(Sha256::digest(&wasm)), FROZEN_ECHO_SHA256);
    let engine = wasmtime::Engine::default();
    let component = wasmtime::component::Component::new(&engine, &wasm)?;
    let ty = component.component_type();
    let names: Vec<String> = ty
        .imports(&engine)
        .map(|(name, _)| name.to_owned())
        .chain(ty.exports(&engine).map(|(name, _)| name.to_owned()))
        .filter(|name| name.starts_with("plugboard:plugin/"))
        .collect();
    assert!(
        names.contains(&"plugboard:plugin/handler@0.1.0".to_owned()),
        "{names:?}"
    );
    assert!(
        names.iter().all(|name| name.ends_with("@0.1.0")),
        "{names:?}"
    );
    Ok(())
}

#[tokio::test]
async fn the_frozen_0_1_echo_and_the_0_2_plugins_answer_in_one_run() -> Result<()> {
    let mut bot = TestBot::start(&[&plugins_dir(), &frozen_echo_0_1_dir()], "")?;
    assert!(bot.report.refused.is_empty(), "{:?}", bot.report.refused);
    assert_eq!(bot.ask("c", "/oldecho from 0.1").await?, "from 0.1");
    assert_eq!(bot.ask("c", "/echo from 0.2").await?, "from 0.2");
    // 0.2 commands carry no message; reading it goes to the host.
    let whoami = bot.ask("c", "/whoami").await?;
    assert!(whoami.contains("user tester, in chat c"), "{whoami}");
    assert_eq!(
        bot.ask("c", "/remember pin 1234").await?,
        "Remembered `pin`."
    );
    assert_eq!(bot.ask("c", "/recall pin").await?, "1234");
    assert!(bot.ask("c", "/roll 2d6").await?.starts_with("🎲 2d6:"));
    bot.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_command_kept_past_its_event_keeps_its_own_message() -> Result<()> {
    let mut bot = TestBot::start(&[&test_plugins_dir().join("hostile")], "")?;
    assert_eq!(bot.ask("c", "/keep the first").await?, "kept");
    // The kept command's message is read lazily; it must not be this one.
    assert_eq!(bot.ask("c", "/kept").await?, "/keep the first");
    assert_eq!(bot.ask("c", "/kept").await?, "/keep the first");
    bot.stop().await?;
    Ok(())
}

#[tokio::test]
async fn echo_notes_and_poll_answer_in_the_senders_language() -> Result<()> {
    let mut bot = TestBot::start(&[&plugins_dir()], "")?;
    assert_eq!(
        bot.ask_in("c", "de", "/remember farbe blau").await?,
        "`farbe` gemerkt."
    );
    assert_eq!(
        bot.ask_in("c", "de-CH", "/forget nichts").await?,
        "Zu `nichts` weiß ich nichts."
    );
    assert_eq!(
        bot.ask_in("c", "fr", "/forget nichts").await?,
        "I don't remember anything about `nichts`."
    );
    let refused = bot.ask_in("c", "de", "/poll Mittag?").await?;
    assert!(refused.starts_with("eine Umfrage braucht"), "{refused}");
    let refused = bot.ask("c", "/poll Lunch?").await?;
    assert!(refused.starts_with("a poll needs"), "{refused}");
    assert_eq!(
        bot.ask_in("c", "de", "/echo").await?,
        "nichts zu wiederholen; so geht's: /echo <Text>"
    );
    assert_eq!(
        bot.ask_in("c", "de", "/whoami").await?,
        "tester, test-Nutzer tester, im Chat c"
    );
    assert_eq!(bot.ask_in("c", "de", "/echo hallo").await?, "hallo");
    assert_eq!(
        bot.ask("c", "/echo").await?,
        "nothing to echo; usage: /echo <text>"
    );
    bot.stop().await?;
    Ok(())
}
