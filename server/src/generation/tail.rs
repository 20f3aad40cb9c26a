//! What other processes do to answers, seen through the process's change stream (`crate::follow`): a stop
//! requested or a chat deleted elsewhere stops the answer here (its owner); the periodic saves of
//! an answer generated elsewhere become `generation.delta` events for this process's sockets
//! (coalesced by the owner's save interval, so database writes do not grow with the token rate).

use std::collections::HashMap;

use mongodb::bson::oid::ObjectId;

use crate::{
    events::LiveEvent,
    state::AppState,
    store::messages::{self, MessageChange},
    views::TextDelta,
};

/// Answers generated elsewhere whose text this process has relayed: bytes and UTF-16 units.
#[derive(Default)]
pub struct Relayed(HashMap<ObjectId, (usize, usize)>);

const RELAYED_MAX: usize = 10_000;

/// Acts on a change of a message made by any process (seen through the process's change
/// stream, `crate::follow`).
pub fn handle(state: &AppState, change: MessageChange, relayed: &mut Relayed) {
    match change {
        MessageChange::Deleted(id) => {
            relayed.0.remove(&id);
            if let Some(generation) = state.generations.get(id) {
                tracing::info!(message_id = %id, "the answer was deleted elsewhere: stopping it");
                generation.stop();
            }
        }
        MessageChange::Updated {
            id,
            content,
            stop_requested,
        } => {
            if let Some(generation) = state.generations.get(id) {
                if stop_requested {
                    tracing::info!(message_id = %id, "stop requested elsewhere");
                    generation.stop();
                }
                return;
            }
            if let Some(content) = content {
                relay(state, id, &content, relayed);
            }
        }
    }
}

/// The text an answer generated elsewhere gained since the last save this process saw, for
/// an answer this process knows from the log (its `generation.started`).
fn relay(state: &AppState, id: ObjectId, content: &str, relayed: &mut Relayed) {
    let Some((user_id, chat_id)) = state.events.answer(id) else {
        relayed.0.remove(&id);
        return;
    };
    if relayed.0.len() > RELAYED_MAX {
        relayed.0.clear();
    }
    let (bytes, units) = relayed.0.get(&id).copied().unwrap_or((0, 0));
    if content.len() <= bytes || !content.is_char_boundary(bytes) {
        return;
    }
    let added = &content[bytes..];
    let event = LiveEvent::generation_delta(
        chat_id,
        id,
        TextDelta {
            content: added.to_owned(),
            offset: units,
        },
    );
    relayed
        .0
        .insert(id, (content.len(), units + added.encode_utf16().count()));
    state.events.deliver_delta(user_id, &event);
}

/// After a gap in the change stream: stop the answers this process owns that were stopped or
/// deleted meanwhile.
pub async fn catch_up(state: &AppState) {
    for generation in state.generations.running() {
        match messages::find_by_id(&state.store.messages, generation.message_id()).await {
            Ok(None) => generation.stop(),
            Ok(Some(doc)) if doc.stop_requested == Some(true) => generation.stop(),
            Ok(Some(_)) => {}
            Err(err) => tracing::warn!(error = %err, "checking an answer after a gap failed"),
        }
    }
}
