//! Browser tests of the registry's web pages: a real headless Chromium loads
//! the pages from a registry served on `127.0.0.1`, and the tests check what
//! only a browser can tell: layout on a phone-sized viewport (no sideways
//! scrolling), accessibility (axe-core finds no serious or critical
//! violation), the clipboard buttons, and screenshots for the documentation.
//!
//! # Running them
//!
//! `cargo xtask test` installs what they need and runs them with the rest.
//! To run only these:
//!
//! ```text
//! cargo xtask browser-setup
//! cargo test -p plugboard-registry --test browser
//! ```
//!
//! `cargo xtask browser-setup` installs Debian's `chromium` and
//! `chromium-driver` with apt-get when `/usr/bin/chromium` or
//! `/usr/bin/chromedriver` is missing, and axe-core (a pinned version) into
//! `target/web-tools` with npm. Elsewhere, point `PLUGBOARD_CHROMIUM`,
//! `PLUGBOARD_CHROMEDRIVER` and `PLUGBOARD_AXE` at a Chromium or Chrome, the
//! chromedriver of the same version and an `axe.min.js`.
//!
//! Screenshots go to `target/screenshots`, or to `$PLUGBOARD_SCREENSHOTS`;
//! `cargo xtask screenshots` runs these tests with
//! `PLUGBOARD_SCREENSHOTS=docs/images` to refresh the documentation's images.
//!
//! # Writing them
//!
//! [`harness::Browser`] starts a private chromedriver and Chromium per test,
//! so tests run in parallel like any others; give each test its own
//! `Browser::start()` and end it with `browser.close().await` (dropping it,
//! e.g. when an assertion panics, also cleans up). Tests are
//! `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` and return
//! `anyhow::Result<()>`. [`smoke`] tests the harness itself on tiny pages: when
//! it fails, the browser set-up is broken, not the registry.

mod harness;
mod marketplace;
mod smoke;
#[allow(dead_code)]
#[path = "../all/support.rs"]
mod support;
