//! One change stream for the whole process: what other processes do that this one must act
//! on, from the collections it follows, in the order the database committed it. One stream
//! rather than one per collection, because a MongoDB-protocol server wakes every open change
//! stream on every write: each stream more costs a command per write on a busy database.
//!
//! - `events`: every batch appended to the per-user event log (its sockets deliver them);
//! - `messages`: partial saves, stop requests and deletions (`messages::change_filter`);
//! - `users`: changes to an account's standing (`users::change_filter`).

use futures::{StreamExt as _, stream::BoxStream};
use mongodb::{
    bson::{self, Document, doc, oid::ObjectId},
    change_stream::event::{ChangeStreamEvent, OperationType, ResumeToken},
    error::Result,
};

use super::{
    Store,
    events::EventBatchDoc,
    messages::{self, MessageChange},
    users,
};

/// A change this process acts on.
#[derive(Debug)]
pub enum Change {
    /// A batch appended to the event log.
    Logged(Box<EventBatchDoc>),
    /// A message's partial save, stop request or deletion.
    Message(MessageChange),
    /// An account whose standing may have changed (or that was deleted).
    Account(ObjectId),
}

/// An item of the stream: the change (`None` for one this process has nothing to do with, which
/// the filter lets through only in odd cases) or the stream's error, and where to resume from
/// (the latest point the stream has reached, also when it failed).
pub type Followed = (Result<Option<Change>>, Option<ResumeToken>);

/// The process's change stream, as `watch_changes` opens it.
pub type Changes = BoxStream<'static, Followed>;

impl Store {
    /// The changes from now on (or after `resume`). Returns once the stream listens.
    pub async fn watch_changes(&self, resume: Option<ResumeToken>) -> Result<Changes> {
        let names = Names {
            events: self.events.name().to_owned(),
            messages: self.messages.name().to_owned(),
            users: self.users.name().to_owned(),
        };
        let filter = doc! { "$or": [
            { "ns.coll": &names.events, "operationType": "insert" },
            { "$and": [{ "ns.coll": &names.messages }, messages::change_filter()] },
            { "$and": [{ "ns.coll": &names.users }, users::change_filter()] },
        ] };
        let stream = self
            .db
            .watch()
            .pipeline([doc! { "$match": filter }])
            .resume_after(resume)
            .await?;
        Ok(
            futures::stream::unfold((stream, names), |(mut stream, names)| async move {
                let next = stream.next().await?;
                let item = (next.map(|event| names.read(event)), stream.resume_token());
                Some((item, (stream, names)))
            })
            .boxed(),
        )
    }
}

struct Names {
    events: String,
    messages: String,
    users: String,
}

impl Names {
    fn read(&self, event: ChangeStreamEvent<Document>) -> Option<Change> {
        let collection = event.ns.as_ref()?.coll.as_deref()?;
        if collection == self.events {
            if event.operation_type != OperationType::Insert {
                return None;
            }
            let batch = event.full_document?;
            match bson::from_document::<EventBatchDoc>(batch) {
                Ok(batch) => Some(Change::Logged(Box::new(batch))),
                Err(err) => {
                    tracing::warn!(error = %err, "an event batch could not be read");
                    None
                }
            }
        } else if collection == self.messages {
            messages::read_change(&event).map(Change::Message)
        } else if collection == self.users {
            event
                .document_key
                .as_ref()
                .and_then(|key| key.get_object_id("_id").ok())
                .map(Change::Account)
        } else {
            None
        }
    }
}
