//! The gateway's Prometheus metrics: messages by action (and by what
//! would have happened, in audit mode), the same per rule, the time a
//! check takes, storm store errors and open MTA connections. Served by
//! `super::http` where `[milter] metrics` is set.

use super::Decision;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    action: &'static str,
    /// The same as `action` unless audit mode let the message through.
    would: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleOutcome {
    /// A rule id or `storm`: as many values as there are rules.
    rule: String,
    action: &'static str,
    would: &'static str,
}

pub(super) struct Metrics {
    registry: Registry,
    messages: Family<Outcome, Counter>,
    rules: Family<RuleOutcome, Counter>,
    check_seconds: Histogram,
    store_errors: Counter,
    connections: Gauge,
}

/// An open MTA connection, counted until dropped.
pub(super) struct Connection<'m>(&'m Gauge);

impl Drop for Connection<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    pub(super) fn new() -> Metrics {
        let mut registry = Registry::default();
        let messages = Family::<Outcome, Counter>::default();
        registry.register(
            "maillint_messages",
            "Messages decided on, by the action taken and the action audit mode held back",
            messages.clone(),
        );
        let rules = Family::<RuleOutcome, Counter>::default();
        registry.register(
            "maillint_rule_messages",
            "Messages with a finding of a rule, by rule, action taken and action audit mode held back",
            rules.clone(),
        );
        // 0.5 ms to about 8 s: a plain message takes a millisecond or
        // two, a mailbox-sized one seconds.
        let check_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 15));
        registry.register(
            "maillint_check_duration_seconds",
            "Time to check one outgoing message",
            check_seconds.clone(),
        );
        let store_errors = Counter::default();
        registry.register(
            "maillint_storm_store_errors",
            "Messages for which the storm store did not answer",
            store_errors.clone(),
        );
        let connections = Gauge::default();
        registry.register(
            "maillint_connections",
            "MTA connections open",
            connections.clone(),
        );
        Metrics {
            registry,
            messages,
            rules,
            check_seconds,
            store_errors,
            connections,
        }
    }

    pub(super) fn decided(&self, decision: &Decision) {
        let (action, would) = (decision.action.as_str(), decision.would.as_str());
        self.messages
            .get_or_create(&Outcome { action, would })
            .inc();
        for rule in &decision.rules {
            self.rules
                .get_or_create(&RuleOutcome {
                    rule: rule.clone(),
                    action,
                    would,
                })
                .inc();
        }
    }

    pub(super) fn checked(&self, took: std::time::Duration) {
        self.check_seconds.observe(took.as_secs_f64());
    }

    pub(super) fn store_error(&self) {
        self.store_errors.inc();
    }

    pub(super) fn connection(&self) -> Connection<'_> {
        self.connections.inc();
        Connection(&self.connections)
    }

    /// The metrics in the OpenMetrics text format Prometheus reads.
    pub(super) fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
