//! `maillint milter`: the gateway. A milter server for Postfix and Sendmail
//! that checks every outgoing message of an organisation at its mail
//! server, with the same rules and configuration as the command line.
//!
//! One job per file: [`protocol`] speaks the wire protocol, `session`
//! follows one MTA connection and rebuilds each message (its macros kept
//! per stage by `macros`), [`Gateway`]
//! (`policy`) decides what happens to it, [`storm`] counts replies and
//! senders across messages, `log` writes the decision log,
//! [`Server`] (`server`) accepts the MTA's connections and serves them
//! from an event loop, and `budget` bounds the memory they hold together;
//! [`tally`] reads the decision log back for `maillint report`, and
//! [`simulate`] replays sent mail under two configurations. `metrics`
//! counts decisions for Prometheus, served over HTTP by `http`.
//! `learner` learns the mail that leaves into its sender's history, and
//! [`share`] carries what is learned and forgotten to the other gateways
//! through Redis; `pool` holds the Redis connections of both `share` and
//! the storm store.
//! Their settings live with the configuration (`crate::config`).

mod budget;
mod http;
mod learner;
mod log;
mod macros;
mod metrics;
mod policy;
pub mod protocol;
mod server;
mod session;
pub mod share;
pub mod simulate;
pub mod storm;
pub mod tally;

pub use crate::config::{Action, Listen, MetricsAddress, MilterConfig, Mode, Network, StormConfig};
pub use http::{Bounds, serve_bounded};
pub use log::mask_address;
pub use policy::{Decision, Envelope, Gateway};
pub use server::{Server, serve};
