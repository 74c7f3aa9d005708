//! Test-only plugin whose component targets `plugboard:plugin@1.0.0`, a major
//! version the runtime does not speak. Loading it must fail with a message that
//! names both versions.

mod bindings {
    wit_bindgen::generate!({
        inline: r#"
            package plugboard:plugin@1.0.0;

            interface handler {
                init: func(config: string) -> result<_, string>;
                handle: func(event: string) -> result<list<string>, string>;
            }

            world plugin {
                export handler;
            }
        "#,
        world: "plugin",
    });
}

use bindings::exports::plugboard::plugin::handler::Guest;

/// The guest; it only exists to be refused.
pub struct Future;

impl Guest for Future {
    fn init(_config: String) -> Result<(), String> {
        Ok(())
    }

    fn handle(event: String) -> Result<Vec<String>, String> {
        Ok(vec![event])
    }
}

#[cfg(target_arch = "wasm32")]
bindings::export!(Future with_types_in bindings);
