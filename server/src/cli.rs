//! The operator's command line, on the same binary and the same settings (environment, `.env`)
//! as the server, against the same database; it works while servers run (they read an
//! account's role and status per request, and its ended sessions reach them through the event
//! log).
//!
//! ```text
//! confab user create --username U --email E [--admin]   password: a prompt, or one line of stdin
//! confab user set-role U admin|user
//! confab user reset-password U                          prints a one-time code, valid 1 h
//! confab user disable U
//! ```

use std::{
    io::{BufRead as _, IsTerminal as _, Write as _},
    process::ExitCode,
};

use anyhow::{Context as _, anyhow, bail};
use mongodb::bson::DateTime;

use crate::{
    Settings,
    auth::{password::PasswordHasher, refresh_token::RefreshToken},
    domain::{AccountRole, AccountStatus, Email, Password, Username},
    events::{LiveEvent, append_now},
    store::{
        Store, UserDoc,
        audit::{self, AuditDoc},
        sessions,
        users::{self, AccountChange, ChangeError, InsertError, Taken},
    },
};

const USAGE: &str = "usage:
  confab user create --username U --email E [--admin]   (password from a prompt, or one line of stdin)
  confab user set-role U admin|user
  confab user reset-password U                          (prints a one-time code, valid 1 hour)
  confab user disable U";

/// How long a reset code is valid.
const RESET_CODE_TTL_MS: i64 = 3_600_000;

/// Runs `confab user …` (`args` after `user`).
pub async fn user(args: &[String]) -> ExitCode {
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("confab: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &[String]) -> anyhow::Result<()> {
    let (command, rest) = args.split_first().ok_or_else(|| anyhow!("{USAGE}"))?;
    let settings = Settings::load().context("invalid configuration")?;
    let connect = || async {
        Store::connect(&settings.mongodb)
            .await
            .context("connecting to MongoDB")
    };
    match (command.as_str(), rest) {
        ("create", rest) => {
            let options = Options::parse(rest)?;
            let store = connect().await?;
            create(&store, &options).await
        }
        ("set-role", [name, role]) => {
            let role = match role.as_str() {
                "admin" => AccountRole::Admin,
                "user" => AccountRole::User,
                _ => bail!("the role is admin or user, not {role:?}"),
            };
            let store = connect().await?;
            let user = find(&store, name).await?;
            let change = AccountChange {
                role: Some(role),
                ..AccountChange::default()
            };
            apply(
                &store,
                &user,
                &change,
                &format!("role={role:?}").to_lowercase(),
            )
            .await?;
            println!(
                "{} is now {}",
                user.username,
                format!("{role:?}").to_lowercase()
            );
            Ok(())
        }
        ("reset-password", [name]) => {
            let store = connect().await?;
            let user = find(&store, name).await?;
            let code = RefreshToken::generate();
            let expires =
                DateTime::from_millis(DateTime::now().timestamp_millis() + RESET_CODE_TTL_MS);
            if !users::set_reset_code(&store.users, user.id, code.hash, expires).await? {
                bail!("no account {name:?}");
            }
            audit(
                &store,
                "user.reset_password",
                &user.username,
                "a one-time code, valid 1 hour",
            )
            .await;
            // The code alone on its own line (scripts read it); what it is for on stderr.
            eprintln!(
                "a one-time password reset code for {}, valid 1 hour:",
                user.username
            );
            println!("{}", code.value);
            Ok(())
        }
        ("disable", [name]) => {
            let store = connect().await?;
            let user = find(&store, name).await?;
            let change = AccountChange {
                status: Some(AccountStatus::Disabled),
                ..AccountChange::default()
            };
            apply(&store, &user, &change, "status=disabled").await?;
            let ended = sessions::revoke_all_of(&store.sessions, user.id, None).await?;
            // Every process closes the sessions' sockets and forgets them, through the log.
            let events: Vec<LiveEvent> = ended
                .iter()
                .map(|id| LiveEvent::session_ended(*id))
                .collect();
            if !events.is_empty() {
                append_now(&store.events, user.id, &events).await?;
            }
            println!(
                "{} is disabled; {} session(s) ended",
                user.username,
                ended.len()
            );
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}

/// `create`'s options.
struct Options {
    username: String,
    email: String,
    admin: bool,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let (mut username, mut email, mut admin) = (None, None, false);
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--username" => username = args.next().cloned(),
                "--email" => email = args.next().cloned(),
                "--admin" => admin = true,
                "--password" => bail!(
                    "a password is never an argument (it would stay in the shell's history): type it at the prompt, or give it on stdin"
                ),
                other => bail!("unknown option {other:?}\n{USAGE}"),
            }
        }
        Ok(Self {
            username: username.ok_or_else(|| anyhow!("--username is required\n{USAGE}"))?,
            email: email.ok_or_else(|| anyhow!("--email is required\n{USAGE}"))?,
            admin,
        })
    }
}

/// The password: asked twice at a terminal; otherwise one line of stdin.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password again: ")?;
        if first != again {
            bail!("the two passwords differ");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

async fn create(store: &Store, options: &Options) -> anyhow::Result<()> {
    let username = Username::parse(&options.username).map_err(|e| anyhow!("username: {e}"))?;
    let email = Email::parse(&options.email).map_err(|e| anyhow!("email: {e}"))?;
    let password = read_password()?;
    let password = Password::parse(&password).map_err(|e| anyhow!("password: {e}"))?;
    let hasher = PasswordHasher::new(1).await?;
    let mut user = UserDoc::new(&username, &email, hasher.hash(&password).await?);
    if options.admin || users::claim_first_admin(&store.users, &store.claims, user.id).await? {
        user.role = AccountRole::Admin;
    }
    match users::insert(&store.users, &user).await {
        Ok(()) => {}
        Err(InsertError::Taken(Taken::Email)) => {
            bail!("an account with this e-mail address exists")
        }
        Err(InsertError::Taken(Taken::Username)) => bail!("this username is taken"),
        Err(InsertError::Db(err)) => return Err(err.into()),
    }
    let role = format!("{:?}", user.role).to_lowercase();
    audit(
        store,
        "user.create",
        &user.username,
        &format!("role={role}"),
    )
    .await;
    let _ = std::io::stderr().flush();
    println!("created {} ({role})", user.username);
    Ok(())
}

async fn find(store: &Store, name: &str) -> anyhow::Result<UserDoc> {
    users::find_by_login(&store.users, name)
        .await?
        .ok_or_else(|| anyhow!("no account {name:?}"))
}

async fn apply(
    store: &Store,
    user: &UserDoc,
    change: &AccountChange,
    detail: &str,
) -> anyhow::Result<()> {
    match users::change(&store.users, user.id, change).await {
        Ok(_) => {
            audit(store, "user.update", &user.username, detail).await;
            Ok(())
        }
        Err(ChangeError::NotFound) => bail!("no account {:?}", user.username),
        Err(ChangeError::LastAdmin) => {
            bail!(
                "{} is the last active admin: make another account admin first",
                user.username
            )
        }
        Err(ChangeError::Db(err)) => Err(err.into()),
    }
}

async fn audit(store: &Store, action: &str, target: &str, detail: &str) {
    let entry = AuditDoc {
        target: Some(target.to_owned()),
        detail: Some(format!("{detail} (command line)")),
        ..AuditDoc::new(action)
    };
    if let Err(err) = audit::record(&store.audit, &entry).await {
        eprintln!("confab: recording the action in the audit log failed: {err}");
    }
}
