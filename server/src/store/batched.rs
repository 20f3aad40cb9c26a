//! The writes (and the reads) every answer makes, group-committed across answers
//! (`batch.rs`): with one answer at a time each is a single command as before; with a
//! thousand at once they share a few commands, so the database's time per answer stays small
//! and no answer's text waits behind another's write.
//!
//! - reading chats with their messages (one aggregate for a lone chat, two reads at once for
//!   several);
//! - inserting an answer's new messages (an ordered `insert`, all or nothing per answer);
//! - saving answers' partial and final text (one `update` command with one statement each);
//! - moving chats' branch on screen (one `update`, then one `find` for the chats as updated);
//! - the accounts' standings and the sessions that the caches do not hold (one `find` each
//!   for a burst of requests).

use std::collections::HashMap;

use futures::TryStreamExt as _;
use mongodb::{
    Collection, Database,
    bson::{self, Bson, DateTime, Document, doc, oid::ObjectId},
    error::{Error, ErrorKind, Result},
};

use super::{
    ChatDoc, MessageDoc,
    batch::{Batcher, Limits},
    chats::ChatUpdate,
    present_ids,
};

/// One update statement: a filter and what to set.
pub type Statement = (Document, Document);

/// Set once a queued write is no longer wanted.
pub type Superseded = std::sync::Arc<std::sync::atomic::AtomicBool>;

/// A chat with its messages, oldest first.
pub type Loaded = (ChatDoc, Vec<MessageDoc>);

/// The batchers of one process (cheap to clone).
#[derive(Clone, Debug)]
pub struct Batched {
    load: Batcher<(ObjectId, ObjectId), Result<Option<Loaded>>>,
    insert: Batcher<Vec<MessageDoc>, Result<()>>,
    partials: Batcher<(Statement, Superseded), Result<()>>,
    finishes: Batcher<Statement, Result<()>>,
    chats: Batcher<(ObjectId, ChatUpdateFor), Result<Option<ChatDoc>>>,
    usage: Batcher<super::usage::Increment, Result<()>>,
    standings: Batcher<ObjectId, Result<Option<super::users::Standing>>>,
    sessions: Batcher<(ObjectId, ObjectId), Result<bool>>,
}

/// A chat's change, with the user it must belong to.
#[derive(Debug)]
struct ChatUpdateFor {
    user_id: ObjectId,
    set: Document,
}

impl Batched {
    pub fn new(
        db: &Database,
        chats: &Collection<ChatDoc>,
        messages: &Collection<MessageDoc>,
        usage: &Collection<super::usage::UsageDoc>,
        users: &Collection<super::UserDoc>,
        sessions: &Collection<super::SessionDoc>,
    ) -> Self {
        let limits = Limits::default();
        let load = {
            let (chats, messages) = (chats.clone(), messages.clone());
            Batcher::new(
                limits,
                |_| 64,
                move |items| load_chats(chats.clone(), messages.clone(), items),
            )
        };
        let insert = {
            let messages = messages.clone();
            Batcher::new(limits, weigh_messages, move |items| {
                insert_all(messages.clone(), items)
            })
        };
        let messages_target = UpdateTarget::of(db, messages);
        // Partial saves go one command at a time, each carrying every answer's newer text since
        // the last, and rest between commands as long as the last took: on a busy database
        // they take at most half its time (each answer's text is saved less often, never
        // lost while the process lives), and the inserts and final saves, which have their
        // own batchers, are not queued behind them.
        // A partial save still queued when its answer ends is dropped (the final write says
        // more).
        let partials = {
            let target = messages_target.clone();
            let limits = Limits {
                in_flight: 1,
                items: 200,
                bytes: 4 << 20,
                rest: Some(std::time::Duration::from_millis(100)),
            };
            Batcher::new(
                limits,
                |(statement, _): &(Statement, Superseded)| weigh_statement(statement),
                move |items| update_still_wanted(target.clone(), items),
            )
        };
        let finishes = Batcher::new(limits, weigh_statement, move |items| {
            update_each(messages_target.clone(), items)
        });
        let chat_updates = {
            let (target, chats) = (UpdateTarget::of(db, chats), chats.clone());
            Batcher::new(
                limits,
                |(_, change): &(ObjectId, ChatUpdateFor)| bson_size(&change.set),
                move |items| update_chats(target.clone(), chats.clone(), items),
            )
        };
        let usage = {
            let target = UpdateTarget {
                upsert: true,
                ..UpdateTarget::of(db, usage)
            };
            // One command at a time: while it runs, the answers ending meanwhile queue up and
            // the next command adds them up per document.
            let one_at_a_time = Limits {
                in_flight: 1,
                ..limits
            };
            Batcher::new(
                one_at_a_time,
                |_| 256,
                move |items| add_usage(target.clone(), items),
            )
        };
        // Accounts' standings, read per request (through a second's cache): the requests that
        // miss the cache at once share one read.
        let standings = {
            let users = users.clone();
            Batcher::new(
                limits,
                |_| 16,
                move |ids| read_standings(users.clone(), ids),
            )
        };
        // Sessions the cache does not know, looked up the same way (a burst of requests on a
        // session the cache has just let go of costs one read, not one each).
        let sessions = {
            let sessions = sessions.clone();
            Batcher::new(
                limits,
                |_| 24,
                move |items| read_sessions(sessions.clone(), items),
            )
        };
        Self {
            load,
            insert,
            partials,
            finishes,
            chats: chat_updates,
            usage,
            standings,
            sessions,
        }
    }

    /// The chat, if it belongs to `user_id`, with every message of it (oldest first): what an
    /// answer needs before its upstream request, in one round trip.
    pub async fn chat_with_messages(
        &self,
        user_id: ObjectId,
        chat_id: ObjectId,
    ) -> Result<Option<Loaded>> {
        ran(&self.load, (user_id, chat_id)).await
    }

    /// Inserts one answer's new messages, in order: all of them, or (on error) none.
    pub async fn insert_messages(&self, docs: Vec<MessageDoc>) -> Result<()> {
        ran(&self.insert, docs).await
    }

    /// Saves the partial text of an answer still being generated, unless `superseded` is set
    /// (its answer ended) before the save's turn comes.
    pub async fn save_partial(
        &self,
        message_id: ObjectId,
        content: &str,
        superseded: Superseded,
    ) -> Result<()> {
        let statement = (
            doc! { "_id": message_id, "status": "streaming" },
            doc! { "$set": { "content": content, "updated_at": DateTime::now() } },
        );
        ran(&self.partials, (statement, superseded)).await
    }

    /// Writes the final state of an answer.
    pub async fn finish(&self, message: &MessageDoc) -> Result<()> {
        // Only what an answer's end changes: a smaller write, and a smaller change for every
        // process's change stream to read.
        let mut set: Document = bson::to_document(message)?
            .into_iter()
            .filter(|(key, _)| FINAL_FIELDS.contains(&key.as_str()))
            .collect();
        // A field the end leaves unset is removed (a continued answer's earlier error).
        let unset: Document = FINAL_FIELDS
            .iter()
            .filter(|field| !set.contains_key(**field))
            .map(|field| ((*field).to_owned(), Bson::from("")))
            .collect();
        set.insert("updated_at", DateTime::now());
        let mut update = doc! { "$set": set };
        if !unset.is_empty() {
            update.insert("$unset", unset);
        }
        let statement = (doc! { "_id": message.id }, update);
        ran(&self.finishes, statement).await
    }

    /// The account's role, status and limits (`None`: no such account, or being deleted).
    pub async fn standing(&self, user_id: ObjectId) -> Result<Option<super::users::Standing>> {
        ran(&self.standings, user_id).await
    }

    /// Whether the session exists, belongs to `user_id`, and is neither revoked nor expired.
    pub async fn session_live(&self, session_id: ObjectId, user_id: ObjectId) -> Result<bool> {
        ran(&self.sessions, (session_id, user_id)).await
    }

    /// Adds an answer's tokens to its user's usage of the day and model.
    pub async fn record_usage(&self, increment: super::usage::Increment) -> Result<()> {
        ran(&self.usage, increment).await
    }

    /// Applies `change` to the user's chat and bumps `updated_at`; the chat as it is after it
    /// (`None` if it is not the user's, or is gone).
    pub async fn update_chat(
        &self,
        user_id: ObjectId,
        chat_id: ObjectId,
        change: &ChatUpdate,
    ) -> Result<Option<ChatDoc>> {
        let set = change.to_set()?;
        ran(&self.chats, (chat_id, ChatUpdateFor { user_id, set })).await
    }
}

/// The fields of an answer that its end sets (the others are written with the placeholder).
const FINAL_FIELDS: &[&str] = &[
    "content",
    "status",
    "usage",
    "ttft_ms",
    "duration_ms",
    "tokens_per_second",
    "finish_reason",
    "error",
    "structured",
    "continuations",
];

/// One chat of `user_id` with its messages (oldest first), in one command.
async fn read_joined(
    chats: &Collection<ChatDoc>,
    messages: &str,
    user_id: ObjectId,
    chat_id: ObjectId,
) -> Result<(Vec<ChatDoc>, Vec<MessageDoc>)> {
    let joined: Vec<Document> = chats
        .aggregate([
            doc! { "$match": { "_id": chat_id, "user_id": user_id } },
            doc! { "$lookup": {
                "from": messages, "localField": "_id", "foreignField": "chat_id", "as": "messages",
            } },
        ])
        .await?
        .try_collect()
        .await?;
    let (mut found, mut listed) = (Vec::new(), Vec::new());
    for mut chat in joined {
        if let Ok(list) = chat.get_array_mut("messages") {
            for message in std::mem::take(list) {
                if let bson::Bson::Document(message) = message {
                    listed.push(bson::from_document::<MessageDoc>(message)?);
                }
            }
        }
        chat.remove("messages");
        found.push(bson::from_document::<ChatDoc>(chat)?);
    }
    // The order the two reads give: oldest first, ties by id.
    listed.sort_by_key(|message: &MessageDoc| (message.created_at, message.id));
    Ok((found, listed))
}

/// A batcher's result for `item`, or an error if the batch never answered.
async fn ran<T: Send + 'static, U: Send + 'static>(
    batcher: &Batcher<T, Result<U>>,
    item: T,
) -> Result<U> {
    batcher.run(item).await.unwrap_or_else(|| Err(gone()))
}

fn gone() -> Error {
    Error::custom("the database batch worker has stopped")
}

fn bson_size(document: &Document) -> usize {
    bson::to_vec(document).map_or(1 << 20, |bytes| bytes.len())
}

#[allow(clippy::ptr_arg)] // the batcher weighs its items as they are: `&Vec`
fn weigh_messages(docs: &Vec<MessageDoc>) -> usize {
    docs.iter()
        .map(|doc| 512 + doc.content.len())
        .sum::<usize>()
}

fn weigh_statement((filter, update): &Statement) -> usize {
    bson_size(filter) + bson_size(update)
}

/// The chats and their messages. A chat read alone is one command (an aggregate joining its
/// messages with `$lookup`: one round trip, and one command less for the database to serve);
/// several are two reads at once, `_id` and `chat_id` in the batch's ids (a `$lookup` per chat
/// costs more than the two indexed reads once a batch holds many).
async fn load_chats(
    chats: Collection<ChatDoc>,
    messages: Collection<MessageDoc>,
    items: Vec<(ObjectId, ObjectId)>,
) -> Vec<Result<Option<Loaded>>> {
    let ids: Vec<ObjectId> = items.iter().map(|(_, chat)| *chat).collect();
    let found = async {
        let (found, listed) = if let [(user_id, chat_id)] = items.as_slice() {
            read_joined(&chats, messages.name(), *user_id, *chat_id).await?
        } else {
            tokio::try_join!(
                async {
                    chats
                        .find(doc! { "_id": { "$in": &ids } })
                        .await?
                        .try_collect::<Vec<ChatDoc>>()
                        .await
                },
                async {
                    messages
                        .find(doc! { "chat_id": { "$in": &ids } })
                        .sort(doc! { "created_at": 1, "_id": 1 })
                        .await?
                        .try_collect::<Vec<MessageDoc>>()
                        .await
                },
            )?
        };
        let mut by_chat: HashMap<ObjectId, Loaded> = found
            .into_iter()
            .map(|chat| (chat.id, (chat, Vec::new())))
            .collect();
        for message in listed {
            // Another user's messages can never be read through a chat id.
            if let Some((chat, list)) = by_chat.get_mut(&message.chat_id)
                && chat.user_id == message.user_id
            {
                list.push(message);
            }
        }
        Ok::<_, Error>(by_chat)
    }
    .await;
    match found {
        Ok(found) => items
            .iter()
            .map(|(user_id, chat_id)| {
                Ok(found
                    .get(chat_id)
                    .filter(|(chat, _)| chat.user_id == *user_id)
                    .cloned())
            })
            .collect(),
        Err(err) => items.iter().map(|_| Err(err.clone())).collect(),
    }
}

/// One ordered insert of every item's documents. An error names the failing document: its
/// item gets the error, and the others are checked against what the database holds (MongoDB
/// keeps the documents before the failing one; other servers keep none): an item that is all
/// in is saved, any other is inserted again (its stray documents taken out first).
async fn insert_all(
    messages: Collection<MessageDoc>,
    items: Vec<Vec<MessageDoc>>,
) -> Vec<Result<()>> {
    let mut results: Vec<Option<Result<()>>> = items.iter().map(|_| None).collect();
    let mut pending: Vec<usize> = (0..items.len()).collect();
    while !pending.is_empty() {
        let docs: Vec<&MessageDoc> = pending.iter().flat_map(|&i| &items[i]).collect();
        let Err(err) = messages.insert_many(docs).ordered(true).await else {
            for &i in &pending {
                results[i] = Some(Ok(()));
            }
            break;
        };
        let failed_at = match err.kind.as_ref() {
            ErrorKind::InsertMany(failure) if failure.write_concern_error.is_none() => {
                failure.write_errors.iter().flatten().map(|e| e.index).min()
            }
            _ => None,
        };
        // Which item the failing document belongs to.
        let failing = failed_at.and_then(|at| {
            let mut start = 0;
            pending.iter().copied().find(|&i| {
                start += items[i].len();
                at < start
            })
        });
        let present = match failing {
            Some(failing) => {
                let ids: Vec<ObjectId> = pending
                    .iter()
                    .flat_map(|&i| &items[i])
                    .map(|d| d.id)
                    .collect();
                present_ids(&messages, &ids)
                    .await
                    .ok()
                    .map(|present| (failing, present))
            }
            None => None,
        };
        let Some((failing, present)) = present else {
            // Not one document's fault (the database is unreachable, or the write was not
            // acknowledged as durable): none of the remaining items is known to be saved.
            for &i in &pending {
                results[i] = Some(Err(err.clone()));
            }
            break;
        };
        let mut again = Vec::new();
        let mut strays = Vec::new();
        for &i in &pending {
            let inside: Vec<ObjectId> = items[i]
                .iter()
                .map(|d| d.id)
                .filter(|id| present.contains(id))
                .collect();
            if i == failing {
                strays.extend(inside);
                results[i] = Some(Err(err.clone()));
            } else if inside.len() == items[i].len() {
                results[i] = Some(Ok(()));
            } else {
                strays.extend(inside);
                again.push(i);
            }
        }
        if !strays.is_empty()
            && let Err(cleanup) = messages
                .delete_many(doc! { "_id": { "$in": strays } })
                .await
        {
            tracing::warn!(error = %cleanup, "taking out half an answer's messages failed");
        }
        pending = again;
    }
    results
        .into_iter()
        .map(|result| result.unwrap_or_else(|| Err(gone())))
        .collect()
}

/// The standings of a batch's accounts, in one read of the distinct ids.
async fn read_standings(
    users: Collection<super::UserDoc>,
    ids: Vec<ObjectId>,
) -> Vec<Result<Option<super::users::Standing>>> {
    let mut distinct = ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    match super::users::standings(&users, &distinct).await {
        Ok(found) => ids.iter().map(|id| Ok(found.get(id).copied())).collect(),
        Err(err) => ids.iter().map(|_| Err(err.clone())).collect(),
    }
}

async fn read_sessions(
    sessions: Collection<super::SessionDoc>,
    items: Vec<(ObjectId, ObjectId)>,
) -> Vec<Result<bool>> {
    let mut distinct: Vec<ObjectId> = items.iter().map(|(session, _)| *session).collect();
    distinct.sort_unstable();
    distinct.dedup();
    match super::sessions::live_among(&sessions, &distinct).await {
        Ok(live) => items
            .iter()
            .map(|(session, user)| Ok(live.get(session) == Some(user)))
            .collect(),
        Err(err) => items.iter().map(|_| Err(err.clone())).collect(),
    }
}

/// A batch of usage increments: one upsert per document (the answers of one user, day and
/// model add up), each answer told its document's result.
async fn add_usage(target: UpdateTarget, items: Vec<super::usage::Increment>) -> Vec<Result<()>> {
    let (merged, slots) = super::usage::coalesce(&items);
    let statements = merged
        .iter()
        .map(super::usage::Increment::statement)
        .collect();
    let results = update_each(target, statements).await;
    slots
        .into_iter()
        .map(|slot| match results.get(slot) {
            Some(Ok(())) => Ok(()),
            Some(Err(err)) => Err(err.clone()),
            None => Err(gone()),
        })
        .collect()
}

/// Where `update` commands go: a collection, with its write concern.
#[derive(Clone)]
struct UpdateTarget {
    db: Database,
    collection: String,
    write_concern: Option<mongodb::options::WriteConcern>,
    /// Statements insert the document they do not find.
    upsert: bool,
}

impl UpdateTarget {
    fn of<T: Send + Sync>(db: &Database, collection: &Collection<T>) -> Self {
        Self {
            db: db.clone(),
            collection: collection.name().to_owned(),
            write_concern: collection.write_concern().cloned(),
            upsert: false,
        }
    }
}

/// One `update` command with a statement per item (unordered: a failing statement does not
/// hold up the others). Each item gets its own statement's error, or the command's.
async fn update_each(target: UpdateTarget, items: Vec<Statement>) -> Vec<Result<()>> {
    let UpdateTarget {
        db,
        collection,
        write_concern,
        upsert,
    } = target;
    let count = items.len();
    let updates: Vec<Document> = items
        .into_iter()
        .map(|(q, u)| doc! { "q": q, "u": u, "upsert": upsert })
        .collect();
    let mut command = doc! { "update": collection, "updates": updates, "ordered": false };
    if let Some(concern) = write_concern
        && let Ok(concern) = bson::to_document(&concern)
    {
        command.insert("writeConcern", concern);
    }
    let reply = match db.run_command(command).await {
        Ok(reply) => reply,
        Err(err) => return (0..count).map(|_| Err(err.clone())).collect(),
    };
    if let Ok(concern) = reply.get_document("writeConcernError") {
        let err = Error::custom(format!(
            "the update was not acknowledged as durable: {}",
            concern.get_str("errmsg").unwrap_or("write concern error")
        ));
        return (0..count).map(|_| Err(err.clone())).collect();
    }
    let mut results: Vec<Result<()>> = (0..count).map(|_| Ok(())).collect();
    for failure in reply
        .get_array("writeErrors")
        .map(|errors| errors.iter().filter_map(bson::Bson::as_document))
        .into_iter()
        .flatten()
    {
        let index = failure
            .get_i32("index")
            .ok()
            .and_then(|i| usize::try_from(i).ok());
        if let Some(slot) = index.and_then(|i| results.get_mut(i)) {
            *slot = Err(Error::custom(format!(
                "update failed ({}): {}",
                failure.get_i32("code").unwrap_or_default(),
                failure.get_str("errmsg").unwrap_or("write error")
            )));
        }
    }
    results
}

/// `update_each` for the statements still wanted; the others are done with at once.
async fn update_still_wanted(
    target: UpdateTarget,
    items: Vec<(Statement, Superseded)>,
) -> Vec<Result<()>> {
    use std::sync::atomic::Ordering;
    let wanted: Vec<bool> = items
        .iter()
        .map(|(_, superseded)| !superseded.load(Ordering::Acquire))
        .collect();
    let statements: Vec<Statement> = items
        .into_iter()
        .zip(&wanted)
        .filter(|(_, wanted)| **wanted)
        .map(|((statement, _), _)| statement)
        .collect();
    let mut written = if statements.is_empty() {
        Vec::new()
    } else {
        update_each(target, statements).await
    }
    .into_iter();
    wanted
        .into_iter()
        .map(|wanted| {
            if wanted {
                written.next().unwrap_or_else(|| Err(gone()))
            } else {
                Ok(())
            }
        })
        .collect()
}

/// The chats' changes as one `update`, then the chats as they are after it in one `find` (a
/// lone change: one `findAndModify`).
async fn update_chats(
    target: UpdateTarget,
    chats: Collection<ChatDoc>,
    mut items: Vec<(ObjectId, ChatUpdateFor)>,
) -> Vec<Result<Option<ChatDoc>>> {
    if items.len() == 1
        && let Some((chat_id, change)) = items.pop()
    {
        // Alone: one command that answers with the chat as updated.
        return vec![super::chats::set_fields(&chats, change.user_id, chat_id, change.set).await];
    }
    let ids: Vec<ObjectId> = items.iter().map(|(id, _)| *id).collect();
    let owners: Vec<ObjectId> = items.iter().map(|(_, change)| change.user_id).collect();
    let statements = items
        .into_iter()
        .map(|(chat_id, change)| {
            (
                doc! { "_id": chat_id, "user_id": change.user_id },
                doc! { "$set": change.set },
            )
        })
        .collect();
    let written = update_each(target, statements).await;
    let read: Result<HashMap<ObjectId, ChatDoc>> = async {
        let found: Vec<ChatDoc> = chats
            .find(doc! { "_id": { "$in": &ids } })
            .await?
            .try_collect()
            .await?;
        Ok(found.into_iter().map(|chat| (chat.id, chat)).collect())
    }
    .await;
    written
        .into_iter()
        .zip(ids.iter().zip(owners))
        .map(|(written, (id, owner))| {
            written?;
            match &read {
                Ok(found) => Ok(found.get(id).filter(|c| c.user_id == owner).cloned()),
                Err(err) => Err(err.clone()),
            }
        })
        .collect()
}
