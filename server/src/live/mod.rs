//! The WebSocket side of live events: single-use tickets and the per-socket loop.

mod socket;
mod tickets;

use std::time::Duration;

pub use socket::serve;
pub use tickets::Tickets;

use crate::env::{BadSetting, Env};

#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// How long the event log keeps events for reconnecting sockets (`since`).
    pub retention: Duration,
    /// Batches of events a socket may have waiting; one that falls further behind is closed
    /// (4008) and catches up from the log when it reconnects.
    pub queue: usize,
    /// How often the server pings each socket; one silent for two intervals is dropped.
    pub ping_interval: Duration,
    /// Lifetime of a single-use WebSocket ticket.
    pub ticket_ttl: Duration,
}

impl LiveSettings {
    pub fn from_env(env: &Env<'_>) -> Result<Self, BadSetting> {
        Ok(Self {
            retention: Duration::from_secs(
                env.positive::<u64>("EVENT_LOG_RETENTION_HOURS", 24)?
                    .saturating_mul(3600),
            ),
            queue: env.parse("WS_QUEUE", 256)?,
            ping_interval: Duration::from_millis(env.parse("WS_PING_INTERVAL_MS", 20_000)?),
            ticket_ttl: env.secs("WS_TICKET_TTL_SECS", 30)?,
        })
    }
}
