//! The `imports` collection: one document per import job, read by whichever process a client
//! asks (`GET /api/imports/{id}`) while the process that received the file runs it. At most one
//! job per user is queued or running (`active`, under a partial unique index). A job whose
//! process died is failed by the lease sweep; finished jobs are forgotten after a week.

use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{self, DateTime, doc, oid::ObjectId},
    options::ReturnDocument,
};
use serde::{Deserialize, Serialize};

/// The partial unique index on (user, active): one active job per user.
pub const ACTIVE_INDEX: &str = "imports_active_unique";
/// The most per-conversation errors a job keeps (the count goes on).
pub const MAX_ERRORS: usize = 100;
/// How long a finished job is kept.
pub const KEEP_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = ImportStatus)]
pub enum Status {
    Queued,
    Running,
    Done,
    Failed,
}

/// Where the file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = ImportFormat)]
pub enum Format {
    /// ChatGPT's data export (`conversations.json`, alone or in its zip).
    Chatgpt,
    /// Confab's own export (`confab.chat`, one chat or the account zip).
    Confab,
}

/// How many conversations were read, imported, already there (skipped), or refused (failed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Conversations {
    pub total: u64,
    pub imported: u64,
    /// Already imported before (same source id): left alone.
    pub skipped: u64,
    /// Structurally wrong: each is in `errors`.
    pub failed: u64,
}

/// Messages of the imported conversations: kept, or left out (tool calls and results, hidden
/// system messages, content types Confab does not show).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Messages {
    pub imported: u64,
    pub skipped: u64,
}

/// What one conversation that could not be imported was, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportError {
    /// The conversation's title or id, when it has one.
    pub conversation: Option<String>,
    /// Where in the file (`conversations.json[3].mapping.abc.parent`).
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    pub status: Status,
    /// Set while queued or running (the unique index allows one such job per user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    pub format: Format,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// The process running it (`INSTANCE_ID`).
    pub owner: String,
    pub conversations: Conversations,
    pub messages: Messages,
    /// Non-text content parts (images, files…) left out of messages that were kept.
    pub parts_skipped: u64,
    /// Presets of a Confab account export made here (one of the same name is kept as it is).
    #[serde(default)]
    pub presets_imported: u64,
    pub errors: Vec<ImportError>,
    /// Why the whole job failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime>,
    /// When a finished job is forgotten (TTL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime>,
}

impl ImportDoc {
    pub fn new(
        user_id: ObjectId,
        format: Format,
        file_name: Option<String>,
        owner: String,
    ) -> Self {
        Self {
            id: ObjectId::new(),
            user_id,
            status: Status::Queued,
            active: Some(true),
            format,
            file_name,
            owner,
            conversations: Conversations::default(),
            messages: Messages::default(),
            parts_skipped: 0,
            presets_imported: 0,
            errors: Vec::new(),
            error: None,
            created_at: DateTime::now(),
            finished_at: None,
            expires_at: None,
        }
    }
}

/// Inserts a queued job; a duplicate key on [`ACTIVE_INDEX`] means the user has one already.
pub async fn insert(
    imports: &Collection<ImportDoc>,
    job: &ImportDoc,
) -> mongodb::error::Result<()> {
    imports.insert_one(job).await.map(drop)
}

pub async fn find_owned(
    imports: &Collection<ImportDoc>,
    user_id: ObjectId,
    id: ObjectId,
) -> mongodb::error::Result<Option<ImportDoc>> {
    imports
        .find_one(doc! { "_id": id, "user_id": user_id })
        .await
}

/// The user's latest jobs, newest first.
pub async fn of_user(
    imports: &Collection<ImportDoc>,
    user_id: ObjectId,
    limit: i64,
) -> mongodb::error::Result<Vec<ImportDoc>> {
    imports
        .find(doc! { "user_id": user_id })
        .sort(doc! { "_id": -1 })
        .limit(limit)
        .await?
        .try_collect()
        .await
}

fn counts(job: &ImportDoc) -> mongodb::error::Result<bson::Document> {
    Ok(doc! {
        "conversations": bson::to_bson(&job.conversations)?,
        "messages": bson::to_bson(&job.messages)?,
        "parts_skipped": i64::try_from(job.parts_skipped).unwrap_or(i64::MAX),
        "presets_imported": i64::try_from(job.presets_imported).unwrap_or(i64::MAX),
        "errors": bson::to_bson(&job.errors)?,
    })
}

/// Writes a running job's progress (and `running`); `None` if it is no longer active (failed
/// by a sweep that took this process for dead).
pub async fn progress(
    imports: &Collection<ImportDoc>,
    job: &ImportDoc,
) -> mongodb::error::Result<Option<ImportDoc>> {
    let mut set = counts(job)?;
    set.insert("status", bson::to_bson(&Status::Running)?);
    imports
        .find_one_and_update(doc! { "_id": job.id, "active": true }, doc! { "$set": set })
        .return_document(ReturnDocument::After)
        .await
}

/// Ends a job: `done`, or `failed` with `error`.
pub async fn finish(
    imports: &Collection<ImportDoc>,
    job: &ImportDoc,
    error: Option<&str>,
) -> mongodb::error::Result<Option<ImportDoc>> {
    let now = DateTime::now();
    let mut set = counts(job)?;
    let status = if error.is_some() {
        Status::Failed
    } else {
        Status::Done
    };
    set.insert("status", bson::to_bson(&status)?);
    set.insert("finished_at", now);
    set.insert(
        "expires_at",
        DateTime::from_millis(now.timestamp_millis() + KEEP_DAYS * 86_400_000),
    );
    if let Some(error) = error {
        set.insert("error", error);
    }
    imports
        .find_one_and_update(
            doc! { "_id": job.id, "active": true },
            doc! { "$set": set, "$unset": { "active": "" } },
        )
        .return_document(ReturnDocument::After)
        .await
}

/// Fails the active jobs of processes that are gone (not in `alive`); returns them as they
/// are now.
pub async fn fail_orphans(
    imports: &Collection<ImportDoc>,
    alive: &[String],
) -> mongodb::error::Result<Vec<ImportDoc>> {
    fail_where(imports, doc! { "active": true, "owner": { "$nin": alive } }).await
}

/// Fails the active jobs this process (`me`: a restart keeps its `INSTANCE_ID`) had before it
/// started at `since`: none of them runs any more.
pub async fn fail_restarted(
    imports: &Collection<ImportDoc>,
    me: &str,
    since: DateTime,
) -> mongodb::error::Result<Vec<ImportDoc>> {
    fail_where(
        imports,
        doc! { "active": true, "owner": me, "created_at": { "$lt": since } },
    )
    .await
}

async fn fail_where(
    imports: &Collection<ImportDoc>,
    filter: bson::Document,
) -> mongodb::error::Result<Vec<ImportDoc>> {
    let orphans: Vec<ImportDoc> = imports.find(filter).await?.try_collect().await?;
    let mut failed = Vec::new();
    for orphan in orphans {
        let message = "the server stopped during the import; import the file again: \
                       conversations already imported are skipped";
        if let Some(job) = finish(imports, &orphan, Some(message)).await? {
            failed.push(job);
        }
    }
    Ok(failed)
}

pub async fn delete_of_user(
    imports: &Collection<ImportDoc>,
    user_id: ObjectId,
) -> mongodb::error::Result<()> {
    imports
        .delete_many(doc! { "user_id": user_id })
        .await
        .map(drop)
}

impl super::Store {
    /// Stores one chat with its messages and votes whole or not at all (one transaction; a
    /// fork and a shared chat's copy are stored this way too): the chat first, so a
    /// conversation imported before (its `import_key` under the unique index) writes nothing
    /// and answers `false`.
    pub async fn insert_conversation(
        &self,
        chat: &super::ChatDoc,
        messages: &[super::MessageDoc],
        votes: &[super::VoteDoc],
    ) -> mongodb::error::Result<bool> {
        let messages: Vec<_> = messages.iter().collect();
        let votes: Vec<_> = votes.iter().collect();
        match self.insert_conversations(&[chat], &messages, &votes).await {
            Ok(()) => Ok(true),
            Err(err)
                if super::duplicate_key_index(&err)
                    .is_some_and(|index| index.contains(super::chats::IMPORT_KEY_INDEX)) =>
            {
                Ok(false)
            }
            Err(err) => Err(err),
        }
    }

    /// Stores several conversations in one transaction (three writes and a commit, however
    /// many): all of them or, on any error, none.
    pub async fn insert_conversations(
        &self,
        chats: &[&super::ChatDoc],
        messages: &[&super::MessageDoc],
        votes: &[&super::VoteDoc],
    ) -> mongodb::error::Result<()> {
        let mut session = self.db.client().start_session().await?;
        session.start_transaction().await?;
        let written = async {
            self.chats
                .insert_many(chats.iter().copied())
                .session(&mut session)
                .await?;
            if !messages.is_empty() {
                self.messages
                    .insert_many(messages.iter().copied())
                    .session(&mut session)
                    .await?;
            }
            if !votes.is_empty() {
                self.votes
                    .insert_many(votes.iter().copied())
                    .session(&mut session)
                    .await?;
            }
            Ok::<_, mongodb::error::Error>(())
        }
        .await;
        match written {
            Ok(()) => session.commit_transaction().await,
            Err(err) => {
                let _ = session.abort_transaction().await;
                Err(err)
            }
        }
    }

    /// Which of these source ids the user has imported already (or, for Confab chats, still
    /// has: `ids` are the exported chat ids that parse as ids).
    pub async fn imported_already(
        &self,
        user_id: ObjectId,
        keys: &[String],
        ids: &[ObjectId],
    ) -> mongodb::error::Result<Vec<super::ChatDoc>> {
        let mut any = vec![doc! { "import_key": { "$in": keys } }];
        if !ids.is_empty() {
            any.push(doc! { "_id": { "$in": ids } });
        }
        self.chats
            .find(doc! { "user_id": user_id, "$or": any })
            .projection(
                doc! { "_id": 1, "user_id": 1, "import_key": 1, "created_at": 1, "updated_at": 1 },
            )
            .await?
            .try_collect()
            .await
    }
}
