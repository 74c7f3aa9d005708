//! `/metrics`: the bot in Prometheus's text format (0.0.4), encoded by
//! `prometheus-client`.
//!
//! Nothing is counted for Prometheus's sake: every figure is read, at
//! scrape time, from what the bot keeps anyway (the dispatcher's per-adapter
//! counters and queue, the adapters' health, each plugin's event and
//! failure counts, its circuit breaker), through one [`Collector`]. An event costs no metrics work, and
//! a plugin installed while the bot runs appears at the next scrape.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `plugboard_up` | gauge: 1 while the bot serves (`/readyz`) | |
//! | `plugboard_uptime_seconds` | gauge | |
//! | `plugboard_queue_depth`, `plugboard_queue_capacity` | gauge | |
//! | `plugboard_events_received_total` | counter | `platform` |
//! | `plugboard_deliveries_total`, `plugboard_deliveries_dropped_total` | counter | `platform` |
//! | `plugboard_adapter_up` | gauge: 1 while connected | `platform` |
//! | `plugboard_adapter_reconnects_total` | counter | `platform` |
//! | `plugboard_plugins` | gauge: plugins running | |
//! | `plugboard_plugin_events_total`, `plugboard_plugin_failures_total` | counter | `plugin` |
//! | `plugboard_plugin_refused_host_calls_total`, `plugboard_plugin_log_lines_dropped_total` | counter | `plugin` |
//! | `plugboard_plugin_suspended`, `plugboard_plugin_disabled` | gauge: 1 or 0 | `plugin` |
//! | `plugboard_refusals_total` | counter | `reason`: `role`, `rate`, `quota`, `chat-off`, `banned`, `press-rate` |
//! | `plugboard_store_size_bytes` | gauge | |

use std::sync::Arc;
use std::sync::atomic::Ordering;

use plugboard_bot::access::Refusal;
use plugboard_bot::control::Control;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

/// The bot's metrics registry.
pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    /// Metrics of the bot `control` sees.
    pub fn new(control: Arc<Control>) -> Self {
        let mut registry = Registry::with_prefix("plugboard");
        registry.register_collector(Box::new(BotCollector { control }));
        Self { registry }
    }

    /// The exposition, as of now.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

struct BotCollector {
    control: Arc<Control>,
}

impl std::fmt::Debug for BotCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotCollector")
    }
}

/// Encodes one metric without labels.
fn single(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    metric: impl EncodeMetric,
) -> Result<(), std::fmt::Error> {
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// Encodes one metric with a value per `label` value.
fn family<M: EncodeMetric, const N: usize>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    labels: [&str; N],
    values: impl IntoIterator<Item = ([String; N], M)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (value, m) in values {
        let pairs: [(&str, &str); N] = std::array::from_fn(|i| (labels[i], value[i].as_str()));
        m.encode(metric.encode_family(&pairs)?)?;
    }
    Ok(())
}

/// An adapter's labels: its platform, and its account's name.
fn account_labels(adapter: &plugboard_bot::control::AdapterStats) -> [String; 2] {
    [adapter.platform.to_string(), adapter.account.to_string()]
}

fn flag(on: bool) -> ConstGauge {
    ConstGauge::new(i64::from(on))
}

fn gauge(n: usize) -> ConstGauge {
    ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX))
}

impl Collector for BotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let control = &self.control;
        let e = &mut encoder;
        single(
            e,
            "up",
            "1 while the bot serves events",
            flag(control.ready()),
        )?;
        single(
            e,
            "uptime_seconds",
            "Seconds since the bot started",
            ConstGauge::new(control.uptime().as_secs_f64()),
        )?;
        let (depth, capacity) = control.queue();
        single(
            e,
            "queue_depth",
            "Events accepted but not yet handled",
            gauge(depth),
        )?;
        single(
            e,
            "queue_capacity",
            "Events that may wait before adapters are slowed down",
            gauge(capacity),
        )?;
        let adapters = control.adapters();
        let per_adapter = |read: fn(&plugboard_bot::control::AdapterStats) -> u64| {
            adapters
                .iter()
                .map(move |a| (account_labels(a), ConstCounter::new(read(a))))
        };
        family(
            e,
            "events_received",
            "Events received from each platform",
            MetricType::Counter,
            ["platform", "account"],
            per_adapter(|a| a.events.load(Ordering::Relaxed)),
        )?;
        family(
            e,
            "deliveries",
            "Messages, edits and reactions handed to each platform's adapter",
            MetricType::Counter,
            ["platform", "account"],
            per_adapter(|a| a.deliveries.load(Ordering::Relaxed)),
        )?;
        family(
            e,
            "deliveries_dropped",
            "Deliveries dropped because the platform's adapter had stopped",
            MetricType::Counter,
            ["platform", "account"],
            per_adapter(|a| a.dropped.load(Ordering::Relaxed)),
        )?;
        family(
            e,
            "adapter_up",
            "1 while the adapter is connected to its platform",
            MetricType::Gauge,
            ["platform", "account"],
            adapters
                .iter()
                .map(|a| (account_labels(a), flag(a.health.connected()))),
        )?;
        family(
            e,
            "adapter_reconnects",
            "Times the adapter connected again after losing its platform",
            MetricType::Counter,
            ["platform", "account"],
            per_adapter(|a| a.health.reconnects()),
        )?;
        let plugins = control.plugins();
        single(e, "plugins", "Plugins running", gauge(plugins.len()))?;
        let per_plugin = |read: fn(&plugboard_host::plugin::LoadedPlugin) -> u64| {
            plugins
                .iter()
                .map(move |p| ([p.name().to_owned()], ConstCounter::new(read(p))))
        };
        family(
            e,
            "plugin_events",
            "Events each plugin handled",
            MetricType::Counter,
            ["plugin"],
            per_plugin(|p| p.stats().0),
        )?;
        family(
            e,
            "plugin_failures",
            "Events each plugin failed (trap, timeout, limit, error)",
            MetricType::Counter,
            ["plugin"],
            per_plugin(|p| p.stats().1),
        )?;
        family(
            e,
            "plugin_cpu_seconds",
            "CPU time each plugin used, sampled every 5 ms (epoch ticks that found it running)",
            MetricType::Counter,
            ["plugin"],
            plugins.iter().map(|p| {
                (
                    [p.name().to_owned()],
                    ConstCounter::new(p.cpu_time().as_secs_f64()),
                )
            }),
        )?;
        family(
            e,
            "plugin_refused_host_calls",
            "Host calls refused to each plugin (missing grant, HTTP policy)",
            MetricType::Counter,
            ["plugin"],
            per_plugin(|p| p.refused_calls()),
        )?;
        family(
            e,
            "plugin_log_lines_dropped",
            "Log lines each plugin wrote beyond its rate",
            MetricType::Counter,
            ["plugin"],
            per_plugin(|p| p.logs_dropped()),
        )?;
        family(
            e,
            "plugin_suspended",
            "1 while the plugin's circuit breaker holds it suspended",
            MetricType::Gauge,
            ["plugin"],
            plugins
                .iter()
                .map(|p| ([p.name().to_owned()], flag(p.suspended().is_some()))),
        )?;
        family(
            e,
            "plugin_disabled",
            "1 when the plugin refused its configuration at start",
            MetricType::Gauge,
            ["plugin"],
            plugins
                .iter()
                .map(|p| ([p.name().to_owned()], flag(p.disabled().is_some()))),
        )?;
        if let Some(access) = control.router().access() {
            let refusals = access.refusals();
            family(
                e,
                "refusals",
                "Commands and events the bot refused, by reason",
                MetricType::Counter,
                ["reason"],
                Refusal::ALL.iter().map(|why| {
                    (
                        [why.as_str().to_owned()],
                        ConstCounter::new(refusals.of(*why)),
                    )
                }),
            )?;
        }
        if let Some(bytes) = control.store().size_on_disk() {
            single(
                e,
                "store_size_bytes",
                "Bytes the store takes on disk",
                ConstGauge::new(i64::try_from(bytes).unwrap_or(i64::MAX)),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_bot() -> Arc<Control> {
        let router = plugboard_bot::router::Router::new(Vec::new(), vec!["/".into()]);
        let store = Arc::new(plugboard_store::MemoryStore::default());
        let bot = plugboard_bot::bot::Bot::new(Arc::new(router), store, 1, 8);
        Arc::clone(bot.control())
    }

    #[test]
    fn every_metric_the_example_alert_rules_use_is_exported() {
        let text = Metrics::new(empty_bot()).render().expect("renders");
        let rules = include_str!("../../../examples/prometheus/plugboard-alerts.yml");
        let mut used: Vec<&str> = rules
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|word| word.starts_with("plugboard_"))
            .collect();
        used.sort_unstable();
        used.dedup();
        assert!(used.len() >= 7, "{used:?}");
        for name in used {
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "the alert rules use {name}, which /metrics does not export:\n{text}"
            );
        }
    }
}
