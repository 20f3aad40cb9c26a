//! Running an import in the background, in the process that received the file. Its progress
//! lives in the `imports` document (any process answers `GET /api/imports/{id}`) and goes to
//! the owner's sockets (`import.updated`) when it starts, about every [`REPORT_EVERY`], and when
//! it ends. Conversations are read [`BATCH`] at a time: one query finds those imported before,
//! then each of the others is stored in its own transaction. At most [`AT_ONCE`] imports run
//! in a process; others wait `queued`. If the process dies, the lease sweep fails the job, and
//! importing the file again skips what was stored.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use mongodb::bson::oid::ObjectId;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::{Parsed, Problem, chatgpt, confab, file::Upload};
use crate::{
    events::LiveEvent,
    state::AppState,
    store::{
        folders::{self, FolderDoc},
        imports::{self, Format, ImportDoc, ImportError},
        presets as store_presets, users,
    },
    views::ImportView,
};

/// Conversations read and looked up together.
const BATCH: usize = 50;
/// How often progress is written and sent while a job runs.
const REPORT_EVERY: Duration = Duration::from_secs(1);
/// Imports running at once in one process.
const AT_ONCE: usize = 2;

static RUNNING: Semaphore = Semaphore::const_new(AT_ONCE);

/// Runs the job to its end (spawn it: it outlives the request).
pub async fn run(state: AppState, mut job: ImportDoc, upload: Upload) {
    let Ok(_permit) = RUNNING.acquire().await else {
        return;
    };
    let outcome = import_all(&state, &mut job, &upload).await;
    let error = match &outcome {
        Ok(()) => None,
        Err(err) => {
            tracing::warn!(import_id = %job.id, error = %err, "an import failed");
            Some(err.to_string())
        }
    };
    match imports::finish(&state.store.imports, &job, error.as_deref()).await {
        Ok(Some(done)) => announce(&state, &done),
        Ok(None) => {} // failed meanwhile by a sweep
        Err(err) => {
            tracing::warn!(import_id = %job.id, error = %err, "an import's end was not written")
        }
    }
}

fn announce(state: &AppState, job: &ImportDoc) {
    state.events.publish(
        job.user_id,
        LiveEvent::import_updated(ImportView::from(job)),
    );
}

/// Why a whole job stops.
#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error("the account was deleted")]
    AccountGone,
    #[error("the import was ended elsewhere")]
    Ended,
    #[error("the database failed: {0}")]
    Store(#[from] mongodb::error::Error),
    #[error("the file could not be read again: {0}")]
    Parse(#[from] serde_json::Error),
}

/// One conversation's place in the file, for its errors.
struct Source<'a> {
    path: String,
    raw: &'a str,
}

async fn import_all(state: &AppState, job: &mut ImportDoc, upload: &Upload) -> Result<(), Stop> {
    let mut sources = Vec::new();
    for document in &upload.documents {
        let all = document.conversations()?;
        let several = document.is_array();
        for (i, raw) in all.into_iter().enumerate() {
            let path = if several {
                format!("{}[{i}]", document.name)
            } else {
                document.name.clone()
            };
            sources.push(Source {
                path,
                raw: raw.get(),
            });
        }
    }
    job.conversations.total = sources.len() as u64;
    report(state, job).await?;
    let folders = Folders::new(state, job.user_id, &upload.folders).await?;
    import_presets(state, job, &upload.presets).await?;
    let mut last_report = Instant::now();
    for batch in sources.chunks(BATCH) {
        import_batch(state, job, batch, &folders).await?;
        if last_report.elapsed() >= REPORT_EVERY {
            report(state, job).await?;
            last_report = Instant::now();
        }
    }
    Ok(())
}

/// Writes and sends the progress; stops if the account or the job is gone.
async fn report(state: &AppState, job: &ImportDoc) -> Result<(), Stop> {
    if users::find_by_id(&state.store.users, job.user_id)
        .await?
        .is_none()
    {
        return Err(Stop::AccountGone);
    }
    let current = imports::progress(&state.store.imports, job)
        .await?
        .ok_or(Stop::Ended)?;
    announce(state, &current);
    Ok(())
}

fn title_of(value: &Value, format: Format) -> Option<String> {
    let title = match format {
        Format::Chatgpt => value.get("title"),
        Format::Confab => value.get("chat").and_then(|c| c.get("title")),
    };
    let id = match format {
        Format::Chatgpt => value.get("conversation_id").or_else(|| value.get("id")),
        Format::Confab => value.get("chat").and_then(|c| c.get("id")),
    };
    title
        .or(id)
        .and_then(Value::as_str)
        .map(|t| t.chars().take(200).collect())
}

fn parse(source: &Source<'_>, format: Format, user_id: ObjectId) -> Result<Parsed, ImportError> {
    let fail = |conversation: Option<String>, problem: Problem| ImportError {
        conversation,
        path: if problem.path.is_empty() {
            source.path.clone()
        } else {
            format!("{}.{}", source.path, problem.path)
        },
        message: problem.message,
    };
    let value: Value =
        serde_json::from_str(source.raw).map_err(|e| fail(None, Problem::at("", e.to_string())))?;
    let title = title_of(&value, format);
    let is_confab = confab::is_export(&value);
    let parsed = match (format, is_confab) {
        (Format::Confab, true) => confab::conversation(value, user_id),
        (Format::Chatgpt, false) => chatgpt::conversation(&value, user_id),
        (Format::Confab, false) => Err(Problem::at("format", "expected a confab.chat export")),
        (Format::Chatgpt, true) => Err(Problem::at(
            "",
            "a Confab chat among ChatGPT's conversations",
        )),
    };
    parsed.map_err(|problem| fail(title, problem))
}

async fn import_batch(
    state: &AppState,
    job: &mut ImportDoc,
    batch: &[Source<'_>],
    folders: &Folders,
) -> Result<(), Stop> {
    let user_id = job.user_id;
    let mut parsed = Vec::with_capacity(batch.len());
    for source in batch {
        match parse(source, job.format, user_id) {
            Ok(conversation) => parsed.push(conversation),
            Err(error) => failed(job, error),
        }
    }
    let keys: Vec<String> = parsed
        .iter()
        .filter_map(|p| p.chat.import_key.clone())
        .collect();
    // A Confab chat still in this account (its own export, imported back) is there already.
    let ids: Vec<ObjectId> = keys
        .iter()
        .filter_map(|k| k.strip_prefix("confab:"))
        .filter_map(|id| ObjectId::parse_str(id).ok())
        .collect();
    let present = state.store.imported_already(user_id, &keys, &ids).await?;
    let mut fresh = Vec::with_capacity(parsed.len());
    for mut conversation in parsed {
        let key = conversation.chat.import_key.clone().unwrap_or_default();
        let own_id = key
            .strip_prefix("confab:")
            .and_then(|id| ObjectId::parse_str(id).ok());
        if present
            .iter()
            .any(|c| c.import_key.as_deref() == Some(key.as_str()) || Some(c.id) == own_id)
        {
            job.conversations.skipped += 1;
            continue;
        }
        conversation.chat.folder_id = conversation
            .folder
            .as_deref()
            .and_then(|f| folders.resolve(f));
        fresh.push(conversation);
    }
    // All of the batch in one transaction; if that fails (one was imported meanwhile, one is
    // too large…), each on its own, so each is still whole or not at all.
    let chats: Vec<_> = fresh.iter().map(|c| &c.chat).collect();
    let messages: Vec<_> = fresh.iter().flat_map(|c| &c.messages).collect();
    let votes: Vec<_> = fresh.iter().flat_map(|c| &c.votes).collect();
    let together = match fresh.len() {
        0 => Ok(()),
        _ => {
            state
                .store
                .insert_conversations(&chats, &messages, &votes)
                .await
        }
    };
    match together {
        Ok(()) => fresh.iter().for_each(|c| imported(job, c)),
        Err(err) if crate::store::is_unavailable(&err) => return Err(err.into()),
        Err(_) => {
            for conversation in &fresh {
                let stored = state
                    .store
                    .insert_conversation(
                        &conversation.chat,
                        &conversation.messages,
                        &conversation.votes,
                    )
                    .await;
                match stored {
                    Ok(true) => imported(job, conversation),
                    // Imported meanwhile (the same file twice at once, on two processes).
                    Ok(false) => job.conversations.skipped += 1,
                    Err(err) if crate::store::is_unavailable(&err) => return Err(err.into()),
                    Err(err) => failed(
                        job,
                        ImportError {
                            conversation: conversation.chat.title.clone(),
                            path: String::new(),
                            message: format!("could not be stored: {err}"),
                        },
                    ),
                }
            }
        }
    }
    Ok(())
}

fn imported(job: &mut ImportDoc, conversation: &Parsed) {
    job.conversations.imported += 1;
    job.messages.imported += conversation.messages.len() as u64;
    job.messages.skipped += conversation.skipped_messages;
    job.parts_skipped += conversation.skipped_parts;
}

fn failed(job: &mut ImportDoc, error: ImportError) {
    job.conversations.failed += 1;
    if job.errors.len() < imports::MAX_ERRORS {
        job.errors.push(error);
    }
}

/// An account export's presets, each checked as `POST /api/presets` checks one (its model
/// must be served here): one whose name the user has already is left alone; one that does not
/// pass is listed in `errors`.
async fn import_presets(
    state: &AppState,
    job: &mut ImportDoc,
    presets: &[super::file::Preset],
) -> Result<(), Stop> {
    if presets.is_empty() {
        return Ok(());
    }
    let user_id = job.user_id;
    let mut taken: Vec<String> = store_presets::list_visible(&state.store.presets, user_id)
        .await?
        .into_iter()
        .filter(|p| p.user_id == Some(user_id))
        .map(|p| p.name_lower)
        .collect();
    for (i, preset) in presets.iter().enumerate() {
        let name = preset.name.trim();
        if taken.contains(&name.to_lowercase()) {
            continue;
        }
        let refuse = |message: String| ImportError {
            conversation: Some(format!("preset {name}")),
            path: format!("presets.json[{i}]"),
            message,
        };
        if name.is_empty() || name.chars().count() > 100 {
            failed_preset(
                job,
                refuse("a name must be 1 to 100 characters long".into()),
            );
            continue;
        }
        if taken.len() as u64 >= store_presets::MAX_PER_OWNER {
            failed_preset(job, refuse("the account has 100 presets already".into()));
            continue;
        }
        let parameters = match crate::domain::SamplingParams::from_json(preset.parameters.clone()) {
            Ok(parameters) => parameters,
            Err(err) => {
                failed_preset(job, refuse(format!("parameters: {err}")));
                continue;
            }
        };
        if let Err(fields) = state.catalog.validate(&parameters, "parameters") {
            let why: Vec<String> = fields.iter().map(|(f, m)| format!("{f}: {m}")).collect();
            failed_preset(job, refuse(why.join("; ")));
            continue;
        }
        let doc = store_presets::PresetDoc::new(user_id, false, name.to_owned(), parameters);
        match store_presets::insert(&state.store.presets, &doc).await {
            Ok(()) => {
                job.presets_imported += 1;
                taken.push(doc.name_lower);
            }
            // Made meanwhile under the same name: that one stays.
            Err(err) if crate::store::duplicate_key_index(&err).is_some() => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

/// A preset that could not be made: in `errors`, without counting as a conversation.
fn failed_preset(job: &mut ImportDoc, error: ImportError) {
    if job.errors.len() < imports::MAX_ERRORS {
        job.errors.push(error);
    }
}

/// Where a Confab chat's folder goes: the folder of the same name (made if missing), from an
/// account export's `folders.json`; else the importer's own folder of that id, if any.
struct Folders {
    by_source: HashMap<String, ObjectId>,
}

impl Folders {
    async fn new(
        state: &AppState,
        user_id: ObjectId,
        named: &HashMap<String, String>,
    ) -> Result<Self, Stop> {
        let mut mine = folders::of_user(&state.store.folders, user_id).await?;
        let mut by_source: HashMap<String, ObjectId> =
            mine.iter().map(|f| (f.id.to_hex(), f.id)).collect();
        for (source_id, name) in named {
            let name = name.trim();
            let lower = name.to_lowercase();
            if name.is_empty() || name.chars().count() > 100 {
                continue;
            }
            if let Some(existing) = mine.iter().find(|f| f.name_lower == lower) {
                by_source.insert(source_id.clone(), existing.id);
                continue;
            }
            if mine.len() as u64 >= folders::MAX_PER_USER {
                continue;
            }
            let folder = FolderDoc::new(user_id, name.to_owned(), mine.len() as i64);
            match folders::insert(&state.store.folders, &folder).await {
                Ok(()) => {
                    state.events.publish(
                        user_id,
                        LiveEvent::folder(crate::views::FolderView::from(&folder), true),
                    );
                    by_source.insert(source_id.clone(), folder.id);
                    mine.push(folder);
                }
                // Made meanwhile under the same name: read again at the next import.
                Err(err) if crate::store::duplicate_key_index(&err).is_some() => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(Self { by_source })
    }

    fn resolve(&self, source_id: &str) -> Option<ObjectId> {
        self.by_source.get(source_id).copied()
    }
}
