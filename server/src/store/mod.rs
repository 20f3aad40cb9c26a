//! MongoDB storage: one `Client` for the process, typed collections, indexes created at start-up.

mod accounts;
pub mod api_calls;
pub mod api_keys;
pub mod audit;
pub mod batch;
pub mod batched;
pub mod changes;
pub mod chats;
mod errors;
pub mod events;
pub mod folders;
pub mod imports;
pub mod instances;
pub mod invites;
pub mod messages;
pub mod presets;
pub mod sessions;
pub mod shares;
pub mod stored_params;
pub mod throttles;
pub mod tickets;
pub mod usage;
pub mod users;
pub mod votes;

use std::time::{Duration, Instant};

use anyhow::Context;
use mongodb::{
    Client, Collection, Database, IndexModel,
    bson::doc,
    options::{Acknowledgment, ClientOptions, CollectionOptions, IndexOptions, WriteConcern},
};
use secrecy::{ExposeSecret, SecretString};

use crate::env::{BadSetting, Env};

#[derive(Debug, Clone)]
pub struct MongoSettings {
    pub uri: SecretString,
    pub database: String,
    /// How long an operation waits for a reachable server before failing with 503.
    pub timeout: Duration,
    /// How long start-up keeps retrying to reach MongoDB before giving up.
    pub startup_timeout: Duration,
}

impl MongoSettings {
    pub fn from_env(env: &Env<'_>) -> Result<Self, BadSetting> {
        Ok(Self {
            uri: env.secret("MONGODB_URI").unwrap_or_else(|| {
                SecretString::from("mongodb://127.0.0.1:27017/?directConnection=true")
            }),
            database: env.string("MONGODB_DATABASE", "confab"),
            timeout: Duration::from_millis(env.parse("MONGODB_TIMEOUT_MS", 3000)?),
            startup_timeout: env.secs("MONGODB_STARTUP_TIMEOUT_SECS", 30)?,
        })
    }
}
/// Which of `ids` the collection holds (after a multi-document write that failed in part:
/// which documents are in depends on the server, so look).
async fn present_ids<T: Send + Sync>(
    collection: &Collection<T>,
    ids: &[mongodb::bson::oid::ObjectId],
) -> mongodb::error::Result<std::collections::HashSet<mongodb::bson::oid::ObjectId>> {
    let found = ids_matching(collection, doc! { "_id": { "$in": ids } }).await?;
    Ok(found.into_iter().collect())
}

/// The ids of the documents `filter` matches (only the ids are read).
pub(crate) async fn ids_matching<T: Send + Sync>(
    collection: &Collection<T>,
    filter: mongodb::bson::Document,
) -> mongodb::error::Result<Vec<mongodb::bson::oid::ObjectId>> {
    use futures::TryStreamExt as _;
    let found: Vec<mongodb::bson::Document> = collection
        .clone_with_type::<mongodb::bson::Document>()
        .find(filter)
        .projection(doc! { "_id": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(found
        .iter()
        .filter_map(|d| d.get_object_id("_id").ok())
        .collect())
}

pub use chats::ChatDoc;
pub use errors::{duplicate_key_index, is_unavailable};
pub use messages::MessageDoc;
pub use sessions::SessionDoc;
pub use users::UserDoc;
pub use votes::VoteDoc;

/// Handles to every collection. Cheap to clone (the driver shares one connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    db: Database,
    pub users: Collection<UserDoc>,
    pub sessions: Collection<SessionDoc>,
    pub chats: Collection<ChatDoc>,
    pub messages: Collection<MessageDoc>,
    pub votes: Collection<VoteDoc>,
    /// Shared counters: failed logins, sign-ups per address.
    pub throttles: Collection<throttles::ThrottleDoc>,
    /// The per-user event log.
    pub events: Collection<events::EventBatchDoc>,
    /// Single-use WebSocket tickets.
    pub tickets: Collection<tickets::TicketDoc>,
    /// The processes sharing this database and their leases.
    pub instances: Collection<instances::InstanceDoc>,
    /// Sign-up codes.
    pub invites: Collection<invites::InviteDoc>,
    /// Read-only snapshots of chats behind share links.
    pub shares: Collection<shares::ShareDoc>,
    /// Users' folders of chats.
    pub folders: Collection<folders::FolderDoc>,
    /// Import jobs and their progress.
    pub imports: Collection<imports::ImportDoc>,
    /// Named parameter sets, private and shared.
    pub presets: Collection<presets::PresetDoc>,
    /// `/v1` calls not saved as chats, counted against the fair-use limits.
    pub api_calls: Collection<api_calls::ApiCallDoc>,
    /// Personal API keys (by hash) for the `/v1` routes.
    pub api_keys: Collection<api_keys::ApiKeyDoc>,
    /// Tokens used per user, day and model.
    pub usage: Collection<usage::UsageDoc>,
    /// Admin actions and sign-in failure bursts.
    pub audit: Collection<audit::AuditDoc>,
    /// One-off claims (the first admin).
    pub claims: Collection<mongodb::bson::Document>,
    /// What every answer reads and writes, group-committed across answers.
    pub batched: batched::Batched,
}

impl Store {
    /// Connects and creates every index, retrying until `startup_timeout` while MongoDB is
    /// still coming up (as it may be under docker compose).
    pub async fn connect(settings: &MongoSettings) -> anyhow::Result<Self> {
        let mut options = ClientOptions::parse(settings.uri.expose_secret())
            .await
            .context("MONGODB_URI is not a valid MongoDB connection string")?;
        options.app_name = Some("confab".to_owned());
        // Every command's duration, for `confab_mongodb_operation_seconds{op}`.
        options.command_event_handler = Some(mongodb::event::EventHandler::callback(
            |event: mongodb::event::command::CommandEvent| match event {
                mongodb::event::command::CommandEvent::Succeeded(done) => {
                    crate::metrics::mongodb_command(&done.command_name, done.duration);
                }
                mongodb::event::command::CommandEvent::Failed(failed) => {
                    crate::metrics::mongodb_command(&failed.command_name, failed.duration);
                }
                mongodb::event::command::CommandEvent::Started(_) => {}
                _ => {}
            },
        ));
        options.server_selection_timeout = Some(settings.timeout);
        options.connect_timeout = Some(settings.timeout);
        let client = Client::with_options(options).context("creating the MongoDB client")?;
        let db = client.database(&settings.database);

        // Accounts and sessions must survive a crash: majority write concern, journaled.
        let durable = CollectionOptions::builder()
            .write_concern(
                WriteConcern::builder()
                    .w(Acknowledgment::Majority)
                    .journal(true)
                    .build(),
            )
            .build();
        let store = Self {
            users: db.collection_with_options("users", durable.clone()),
            sessions: db.collection_with_options("sessions", durable.clone()),
            chats: db.collection_with_options("chats", durable.clone()),
            messages: db.collection_with_options("messages", durable.clone()),
            votes: db.collection_with_options("votes", durable.clone()),
            throttles: db.collection("throttles"),
            events: db.collection("events"),
            tickets: db.collection("tickets"),
            instances: db.collection("instances"),
            invites: db.collection_with_options("invites", durable.clone()),
            presets: db.collection_with_options("presets", durable.clone()),
            folders: db.collection_with_options("folders", durable.clone()),
            imports: db.collection("imports"),
            shares: db.collection_with_options("shares", durable.clone()),
            api_keys: db.collection_with_options("api_keys", durable.clone()),
            api_calls: db.collection("api_calls"),
            usage: db.collection("usage"),
            audit: db.collection("audit"),
            claims: db.collection_with_options("claims", durable.clone()),
            batched: batched::Batched::new(
                &db,
                &db.collection_with_options("chats", durable.clone()),
                &db.collection_with_options("messages", durable.clone()),
                &db.collection("usage"),
                &db.collection_with_options("users", durable.clone()),
                &db.collection_with_options("sessions", durable),
            ),
            db,
        };

        let deadline = Instant::now() + settings.startup_timeout;
        loop {
            match store.ensure_indexes().await {
                Ok(()) => return Ok(store),
                Err(err) if is_unavailable(&err) && Instant::now() < deadline => {
                    tracing::warn!(error = %err, "MongoDB is not reachable yet; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(err) => return Err(err).context("preparing the MongoDB database"),
            }
        }
    }

    async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        let unique = |name: &str| {
            IndexOptions::builder()
                .unique(true)
                .name(name.to_owned())
                .build()
        };
        let named = |name: &str| IndexOptions::builder().name(name.to_owned()).build();

        self.users
            .create_indexes([
                IndexModel::builder()
                    .keys(doc! { "email_lower": 1 })
                    .options(unique(users::EMAIL_INDEX))
                    .build(),
                IndexModel::builder()
                    .keys(doc! { "username_lower": 1 })
                    .options(unique(users::USERNAME_INDEX))
                    .build(),
            ])
            .await?;
        self.sessions
            .create_indexes([
                IndexModel::builder()
                    .keys(doc! { "token_hash": 1 })
                    .options(unique("sessions_token_hash_unique"))
                    .build(),
                IndexModel::builder()
                    .keys(doc! { "previous_hashes": 1 })
                    .options(named("sessions_previous_hashes"))
                    .build(),
                IndexModel::builder()
                    .keys(doc! { "user_id": 1 })
                    .options(named("sessions_user_id"))
                    .build(),
                // Expired sessions are removed by MongoDB itself.
                IndexModel::builder()
                    .keys(doc! { "expires_at": 1 })
                    .options(
                        IndexOptions::builder()
                            .name("sessions_expiry_ttl".to_owned())
                            .expire_after(Duration::ZERO)
                            .build(),
                    )
                    .build(),
            ])
            .await?;
        self.chats
            .create_indexes([IndexModel::builder()
                .keys(doc! { "user_id": 1, "updated_at": -1, "_id": -1 })
                .options(named("chats_by_user_recent"))
                .build()])
            .await?;
        self.messages
            .create_indexes([
                IndexModel::builder()
                    .keys(doc! { "chat_id": 1, "created_at": 1, "_id": 1 })
                    .options(named("messages_by_chat"))
                    .build(),
                IndexModel::builder()
                    .keys(doc! { "parent_id": 1, "created_at": -1 })
                    .options(named("messages_by_parent"))
                    .build(),
                // A user's messages (search), and their recent answers (fair use).
                IndexModel::builder()
                    .keys(doc! { "user_id": 1, "_id": 1 })
                    .options(named("messages_by_user_recent"))
                    .build(),
                // Answers being generated (fair use at once, the sweep of dead processes).
                IndexModel::builder()
                    .keys(doc! { "status": 1 })
                    .options(named("messages_by_status"))
                    .build(),
                // One submission (client_request_id) creates one message: sparse, so messages
                // without a key are not indexed.
                IndexModel::builder()
                    .keys(doc! { "request_key": 1 })
                    .options(
                        IndexOptions::builder()
                            .name(messages::REQUEST_KEY_INDEX.to_owned())
                            .unique(true)
                            .sparse(true)
                            .build(),
                    )
                    .build(),
            ])
            .await?;
        // Older versions also kept `messages_by_user` (user_id alone), which the index above
        // serves: one index fewer to maintain on every insert.
        if let Err(err) = self.messages.drop_index("messages_by_user").await {
            tracing::debug!(error = %err, "no messages_by_user index to drop");
        }
        self.votes
            .create_indexes([
                // One vote per user per message.
                IndexModel::builder()
                    .keys(doc! { "user_id": 1, "message_id": 1 })
                    .options(unique(votes::USER_MESSAGE_INDEX))
                    .build(),
                // A chat's votes: shown with its messages, removed with it.
                IndexModel::builder()
                    .keys(doc! { "chat_id": 1, "user_id": 1 })
                    .options(named("votes_by_chat"))
                    .build(),
                // The feedback export, oldest vote first.
                IndexModel::builder()
                    .keys(doc! { "user_id": 1, "updated_at": 1, "_id": 1 })
                    .options(named("votes_by_user"))
                    .build(),
            ])
            .await?;
        self.throttles
            .create_indexes([IndexModel::builder()
                .keys(doc! { "expires_at": 1 })
                .options(
                    IndexOptions::builder()
                        .name("throttles_expiry_ttl".to_owned())
                        .expire_after(Duration::ZERO)
                        .build(),
                )
                .build()])
            .await?;
        self.events
            .create_indexes([
                // One batch after each batch: the order of a user's log (see `events`).
                IndexModel::builder()
                    .keys(doc! { "user_id": 1, "prev": 1 })
                    .options(unique(events::CHAIN_INDEX))
                    .build(),
                IndexModel::builder()
                    .keys(doc! { "user_id": 1, "last": 1 })
                    .options(named("events_by_user"))
                    .build(),
                IndexModel::builder()
                    .keys(doc! { "at": 1 })
                    .options(named("events_by_age"))
                    .build(),
            ])
            .await?;
        self.presets
            .create_indexes([IndexModel::builder()
                .keys(doc! { "user_id": 1, "name_lower": 1 })
                .options(unique(presets::NAME_INDEX))
                .build()])
            .await?;
        self.shares
            .create_indexes([
                IndexModel::builder()
                    .keys(doc! { "token": 1 })
                    .options(unique(shares::TOKEN_INDEX))
                    .build(),
                IndexModel::builder()
                    .keys(doc! { "user_id": 1 })
                    .options(named("shares_by_user"))
                    .build(),
            ])
            .await?;
        self.folders
            .create_indexes([IndexModel::builder()
                .keys(doc! { "user_id": 1, "name_lower": 1 })
                .options(unique(folders::NAME_INDEX))
                .build()])
            .await?;
        self.chats
            .create_indexes([
                IndexModel::builder()
                    .keys(doc! { "user_id": 1, "pinned": -1, "updated_at": -1, "_id": -1 })
                    .options(named("chats_by_user_pinned"))
                    .build(),
                // One chat per imported conversation: importing a file twice adds nothing.
                IndexModel::builder()
                    .keys(doc! { "user_id": 1, "import_key": 1 })
                    .options(
                        IndexOptions::builder()
                            .name(chats::IMPORT_KEY_INDEX.to_owned())
                            .unique(true)
                            .partial_filter_expression(doc! { "import_key": { "$exists": true } })
                            .build(),
                    )
                    .build(),
            ])
            .await?;
        self.imports
            .create_indexes([
                // One queued or running import per user.
                IndexModel::builder()
                    .keys(doc! { "user_id": 1, "active": 1 })
                    .options(
                        IndexOptions::builder()
                            .name(imports::ACTIVE_INDEX.to_owned())
                            .unique(true)
                            .partial_filter_expression(doc! { "active": true })
                            .build(),
                    )
                    .build(),
                IndexModel::builder()
                    .keys(doc! { "user_id": 1, "_id": -1 })
                    .options(named("imports_by_user"))
                    .build(),
                // The sweep's look for jobs of dead processes.
                IndexModel::builder()
                    .keys(doc! { "active": 1 })
                    .options(
                        IndexOptions::builder()
                            .name("imports_active".to_owned())
                            .sparse(true)
                            .build(),
                    )
                    .build(),
                IndexModel::builder()
                    .keys(doc! { "expires_at": 1 })
                    .options(
                        IndexOptions::builder()
                            .name("imports_expiry_ttl".to_owned())
                            .expire_after(Duration::ZERO)
                            .build(),
                    )
                    .build(),
            ])
            .await?;
        self.api_calls
            .create_indexes([
                IndexModel::builder()
                    .keys(doc! { "user_id": 1, "_id": 1 })
                    .options(named("api_calls_by_user"))
                    .build(),
                IndexModel::builder()
                    .keys(doc! { "expires_at": 1 })
                    .options(
                        IndexOptions::builder()
                            .name("api_calls_expiry_ttl".to_owned())
                            .expire_after(Duration::ZERO)
                            .build(),
                    )
                    .build(),
            ])
            .await?;
        self.api_keys
            .create_indexes([
                IndexModel::builder()
                    .keys(doc! { "hash": 1 })
                    .options(unique(api_keys::HASH_INDEX))
                    .build(),
                IndexModel::builder()
                    .keys(doc! { "user_id": 1 })
                    .options(named("api_keys_by_user"))
                    .build(),
                IndexModel::builder()
                    .keys(doc! { "expires_at": 1 })
                    .options(
                        IndexOptions::builder()
                            .name("api_keys_expiry_ttl".to_owned())
                            .expire_after(Duration::ZERO)
                            .build(),
                    )
                    .build(),
            ])
            .await?;
        self.invites
            .create_indexes([IndexModel::builder()
                .keys(doc! { "code_hash": 1 })
                .options(unique("invites_code_unique"))
                .build()])
            .await?;
        self.usage
            .create_indexes([
                IndexModel::builder()
                    .keys(doc! { "user_id": 1, "month": 1 })
                    .options(named("usage_by_user_month"))
                    .build(),
                IndexModel::builder()
                    .keys(doc! { "day": 1 })
                    .options(named("usage_by_day"))
                    .build(),
            ])
            .await?;
        self.audit
            .create_indexes([IndexModel::builder()
                .keys(doc! { "at": 1 })
                .options(
                    IndexOptions::builder()
                        .name("audit_retention_ttl".to_owned())
                        .expire_after(audit::RETENTION)
                        .build(),
                )
                .build()])
            .await?;
        self.users
            .create_indexes([IndexModel::builder()
                .keys(doc! { "role": 1, "status": 1 })
                .options(named("users_by_role"))
                .build()])
            .await?;
        self.tickets
            .create_indexes([IndexModel::builder()
                .keys(doc! { "expires_at": 1 })
                .options(
                    IndexOptions::builder()
                        .name("tickets_expiry_ttl".to_owned())
                        .expire_after(Duration::ZERO)
                        .build(),
                )
                .build()])
            .await?;
        Ok(())
    }

    /// Round trip to the server, for readiness checks.
    pub async fn ping(&self) -> mongodb::error::Result<()> {
        self.db.run_command(doc! { "ping": 1 }).await.map(drop)
    }

    pub fn database(&self) -> &Database {
        &self.db
    }
}
