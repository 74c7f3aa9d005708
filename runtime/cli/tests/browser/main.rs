//! Browser tests of the owner console's pages: a real headless Chromium
//! signs in to a `plugboard run` on `127.0.0.1`, uses the pages as an owner
//! would, and checks what only a browser can tell: axe-core finds no
//! serious or critical violation on any page, at 1280 and 360 pixels wide,
//! and no page scrolls sideways on a phone. Screenshots go to
//! `target/screenshots` (or `$PLUGBOARD_SCREENSHOTS`).
//!
//! The harness is the marketplace's (`registry/server/tests/browser/
//! harness.rs`): `cargo xtask test` installs Chromium, chromedriver and
//! axe-core and runs these with the rest. To run only these:
//!
//! ```text
//! cargo xtask browser-setup
//! cargo xtask plugins
//! cargo test -p plugboard --test browser
//! ```

mod console;
#[allow(dead_code)]
#[path = "../all/console_bot.rs"]
mod console_bot;
#[path = "../../../../registry/server/tests/browser/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../all/support.rs"]
mod support;
