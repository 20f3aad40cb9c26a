//! The WebSocket side of live events: single-use tickets and the per-socket loop.

mod socket;
mod tickets;

pub use socket::serve;
pub use tickets::Tickets;
