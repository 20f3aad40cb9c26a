//! Drives the real Confab server over HTTP against a real MongoDB-protocol server.
//! Every test spawns its own app on a random port with its own database.

mod accounts;
mod admin;
mod api_keys;
mod branching;
mod chats;
mod cli;
mod connections;
mod continuation;
mod demo_model;
mod errors;
mod fair_use;
mod first_token;
mod health;
mod interrupted;
mod live;
mod login;
mod logs;
mod many;
mod metrics;
mod my_account;
mod openai_api;
mod openapi;
mod outage;
mod parameters;
mod presets;
mod processes;
mod quotas;
mod reattach;
mod replicas;
mod sessions;
mod streaming;
mod structured;
mod tokens;
mod upstream;
mod votes;
