//! The `tessera` command.
#![allow(clippy::print_stdout)]

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use serde_json::json;
use tessera_auth::audit_log::AuditLog;
use tessera_auth::external::ExternalIdentity;
use tessera_auth::external::providers::{ClientInput, IntrospectionInput, ProviderInput};
use tessera_auth::hashing::hash_blocking;
use tessera_auth::oauth1::OAuth1Server;
use tessera_auth::oauth1::consumers::ConsumerInput;
use tessera_auth::{policy, tokens};
use tessera_core::authz::{Administer, ManageTokens};
use tessera_core::clock::{Clock, SystemClock};
use tessera_core::ids::TokenId;
use tessera_core::model::PageRequest;
use tessera_core::services::users::{self, UserInput, UserSelector};
use tessera_core::store::{GroupStore, ProjectStore, TokenStore, UserStore};
use tessera_core::tokens::{TokenFilter, TokenRequest};
use tessera_core::validate;
use tessera_server::{Bootstrap, Config, Overrides, open_store, prepare, serve};
use tracing_subscriber::EnvFilter;

/// tessera: a work-tracking server that speaks Jira's REST API.
// No `Debug`: the database URL may carry a password.
#[derive(Parser)]
#[command(name = "tessera", version)]
struct Cli {
    /// A TOML configuration file.
    #[arg(long, global = true, env = "TESSERA_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory of the embedded SQLite database [default: ./tessera-data].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://...` [default: SQLite in the data directory].
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Machine-readable output: JSON lines on stdout, JSON logs on stderr.
    #[arg(long, global = true)]
    json: bool,
    /// The log lines on stderr: `text`, or `json` (one object per line, with the request's
    /// id and path in `span`); JSON by default with `--json`.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Manage users offline (works on the same data as the server).
    #[command(subcommand)]
    User(UserCommand),
    /// Issue, list and revoke personal access tokens and service keys offline.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Show or replace the access policy offline (e.g. after locking yourself out).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Register, list and remove OAuth 1.0a consumers (application links) offline.
    #[command(subcommand)]
    Oauth1(Oauth1Command),
    /// External identity providers whose JWTs tessera accepts.
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Bring the database schema up to date.
    Migrate,
}

#[derive(Subcommand)]
enum Oauth1Command {
    /// Register a consumer with its RSA public key (PEM, BEGIN PUBLIC KEY, 2048 bits or more).
    Add {
        /// What the consumer sends as `oauth_consumer_key`.
        consumer_key: String,
        #[arg(long)]
        name: String,
        /// The PEM file, or `-` for standard input.
        #[arg(long, value_name = "FILE")]
        public_key: PathBuf,
        /// Where users are sent after approving (an absolute URL) [default: oob].
        #[arg(long, value_name = "URL")]
        callback: Option<String>,
        /// Accept two-legged requests (signed by the consumer alone), acting as this user
        /// [default: refused].
        #[arg(long, value_name = "USER")]
        execute_as: Option<String>,
    },
    /// List the consumers.
    List,
    /// Remove a consumer and every token it holds.
    Remove { consumer_key: String },
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
enum IdentityCommand {
    /// Register a provider by its issuer (its discovery document and keys are read first).
    Add {
        #[arg(long)]
        name: String,
        /// Exactly as its tokens' `iss` carry it (https, or http on a loopback address).
        #[arg(long, value_name = "URL")]
        issuer: String,
        /// A token's `aud` must name one of these (repeat the flag for more).
        #[arg(long = "audience", value_name = "AUD", required = true)]
        audiences: Vec<String>,
        /// preferred_username, sub or email [default: preferred_username].
        #[arg(long, value_name = "CLAIM")]
        user_claim: Option<String>,
        /// The claim holding the provider's groups.
        #[arg(long, value_name = "CLAIM")]
        groups_claim: Option<String>,
        /// A provider group and the tessera group it maps to (repeat the flag for more).
        #[arg(long = "map", value_name = "THEIRS=OURS")]
        mappings: Vec<String>,
        /// create, link or off [default: link].
        #[arg(long)]
        provisioning: Option<String>,
        /// When the groups claim is applied: always (every login and token) or provisioning
        /// (only when the user is created) [default: always].
        #[arg(long, value_name = "WHEN")]
        group_sync: Option<String>,
        /// Scopes of tokens that name none (repeat the flag for more) [default: READ].
        #[arg(long = "default-scope", value_name = "SCOPE")]
        default_scopes: Vec<String>,
        /// The client id tessera has at the provider, for "Sign in with" on the login page.
        #[arg(long, value_name = "ID", requires = "login_client_secret_file")]
        login_client_id: Option<String>,
        /// The file holding that client's secret, or `-` for standard input.
        #[arg(long, value_name = "FILE", requires = "login_client_id")]
        login_client_secret_file: Option<PathBuf>,
        /// The client id tessera introspects the provider's opaque tokens as (RFC 7662).
        #[arg(long, value_name = "ID", requires = "introspection_client_secret_file")]
        introspection_client_id: Option<String>,
        /// The file holding that client's secret, or `-` for standard input.
        #[arg(long, value_name = "FILE", requires = "introspection_client_id")]
        introspection_client_secret_file: Option<PathBuf>,
        /// The introspection endpoint [default: the one discovery finds].
        #[arg(long, value_name = "URL", requires = "introspection_client_id")]
        introspection_endpoint: Option<String>,
    },
    /// List the providers.
    List,
    /// Remove a provider; its tokens stop working at once.
    Remove { id: i64 },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Print the stored policy as JSON.
    Show,
    /// Replace the policy with a JSON document (as `GET /rest/tessera/1/policy` shows it),
    /// read from FILE, or from standard input with `-`.
    Set { file: PathBuf },
    /// Put back the configuration's initial policy (`[policy]`, `[tokens]`, `[rate_limit]`).
    Reset,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token for a user (a key, for a service account); the secret is printed once.
    Create {
        /// The owner.
        user: String,
        #[arg(long)]
        name: String,
        /// Days until expiry (default and maximum from the `[tokens]` policy); 0 for none.
        #[arg(long, value_name = "DAYS")]
        expires_days: Option<i64>,
        /// A scope (READ, WRITE, ADMIN, SYSTEM_ADMIN or a fine name); repeat for more.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Limit the token to a project key; repeat for more.
        #[arg(long = "project", value_name = "KEY")]
        projects: Vec<String>,
        /// Allow use only from this address or CIDR range; repeat for more.
        #[arg(long = "allow-ip", value_name = "CIDR")]
        allowed_ips: Vec<String>,
    },
    /// List a user's tokens (never their secrets).
    List { user: String },
    /// Revoke one token by id, or every token of `--user`.
    Revoke {
        id: Option<i64>,
        #[arg(long, conflicts_with = "id")]
        user: Option<String>,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Public URL, used in `self` links; may carry a context path.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key. Read again
    /// on SIGHUP and when the file changes.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user.
    Create {
        name: String,
        /// Read the password from the first line of standard input (asked for, without echo,
        /// on a terminal).
        #[arg(long, conflicts_with = "no_password")]
        password_stdin: bool,
        /// Make a user without a password (who signs in through an identity provider, or
        /// uses tokens an administrator makes).
        #[arg(long)]
        no_password: bool,
        /// Make the user an administrator (jira-administrators).
        #[arg(long)]
        admin: bool,
        #[arg(long, value_name = "E")]
        email: Option<String>,
        #[arg(long, value_name = "D")]
        display_name: Option<String>,
    },
    /// Set a user's password; their sessions end.
    Passwd {
        name: String,
        /// Read the password from the first line of standard input (asked for, without echo,
        /// on a terminal).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

fn load_config(cli: &Cli, serve: Option<&ServeArgs>) -> anyhow::Result<Config> {
    let overrides = Overrides {
        listen: serve.and_then(|s| s.listen),
        base_url: serve.and_then(|s| s.base_url.clone()),
        tls: tessera_server::config::TlsOverrides {
            cert: serve.and_then(|s| s.tls_cert.clone()),
            key: serve.and_then(|s| s.tls_key.clone()),
        },
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
    };
    Ok(Config::load(cli.config.as_deref(), &overrides)?)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Whether log lines are JSON: as `--log-format` says, else as `--json` does.
fn json_logs(cli: &Cli) -> bool {
    cli.log_format
        .map_or(cli.json, |format| format == LogFormat::Json)
}

fn init_logging(config: &Config, json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// A new password for `name`: asked for twice, without echo, when standard input is a
/// terminal; else the first line of standard input.
fn read_password(name: &str) -> anyhow::Result<SecretString> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("New password for '{name}': "))
            .context("cannot read the password from the terminal")?;
        validate::new_password(&first).map_err(|e| anyhow!(e))?;
        let again = rpassword::prompt_password("The same password again: ")
            .context("cannot read the password from the terminal")?;
        if again != first {
            bail!("the two passwords differ; nothing was changed");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let password = line.trim_end_matches(['\n', '\r']).to_string();
        if password.is_empty() {
            bail!(
                "no password on standard input (--password-stdin reads its first line); \
                 nothing was changed"
            );
        }
        password
    };
    validate::new_password(&password).map_err(|e| anyhow!(e))?;
    Ok(SecretString::from(password))
}

/// Prints a result: a JSON line with `--json`, else the human text.
fn report(json: bool, value: serde_json::Value, text: String) {
    if json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

async fn run_serve(cli: &Cli, args: &ServeArgs) -> anyhow::Result<()> {
    let config = load_config(cli, Some(args))?;
    init_logging(&config, json_logs(cli));
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let bound = listener.local_addr()?;
    // Until the database is ready (migrations may take a while), every request is answered
    // 503 STARTING.
    let context = tessera_server::base_url(&config, bound)?
        .context_path()
        .to_string();
    report(
        cli.json,
        json!({"event": "starting", "address": bound.to_string()}),
        format!("tessera starting on {bound}: preparing the database"),
    );
    let (listener, prepared) =
        tessera_server::serve_while_starting(listener, &context, prepare(&config, bound)).await;
    let prepared = prepared?;
    if let Bootstrap::CreatedWithRandomPassword(password) = &prepared.bootstrap {
        report(
            cli.json,
            json!({"event": "admin-created", "username": "admin", "password": password}),
            format!(
                "Created the administrator 'admin' with the password\n\n    {password}\n\n\
                 It is shown only this once. Change it with PUT /rest/api/2/myself/password \
                 or `tessera user passwd admin --password-stdin`."
            ),
        );
    }
    if let Bootstrap::AlreadyDone {
        password_ignored,
        no_administrator,
    } = prepared.bootstrap
    {
        if password_ignored {
            tracing::warn!(
                "TESSERA_ADMIN_PASSWORD is set but ignored: this database already has users. \
                 To change the administrator's password, run `tessera user passwd admin \
                 --password-stdin` (or PUT /rest/api/2/myself/password)."
            );
        }
        if no_administrator {
            tracing::warn!(
                "no active user is in jira-administrators, so nobody may be able to \
                 administer tessera: make one with `tessera user create NAME --admin \
                 --password-stdin` (the server can keep running meanwhile)."
            );
        }
    }
    if let Some(warning) = tessera_server::plain_http_warning(&config, bound) {
        tracing::warn!("{warning}");
    }
    if let Some(certificates) = prepared.transport.tls.clone() {
        reload_on_hangup(certificates)?;
    }
    let base = prepared.state.urls.base().to_string();
    let login = format!("{base}/login");
    report(
        cli.json,
        json!({"event": "listening", "address": bound.to_string(), "baseUrl": base,
               "loginUrl": login, "database": prepared.store.backend_name()}),
        format!(
            "tessera listening on {bound} (base URL {base}, {} database)\n\
             Open {login} in a browser to sign in.",
            prepared.store.backend_name()
        ),
    );
    serve(listener, prepared, shutdown).await?;
    Ok(())
}

/// Reads the TLS certificate again at every SIGHUP.
#[cfg(unix)]
fn reload_on_hangup(certificates: Arc<tessera_server::tls::Certificates>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            certificates.reload_and_report("SIGHUP", false).await;
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn reload_on_hangup(_: Arc<tessera_server::tls::Certificates>) -> anyhow::Result<()> {
    Ok(())
}

/// Resolves at the first SIGTERM or SIGINT; a second one ends the process at once, for when
/// a graceful shutdown takes longer than the operator will wait. The signals are listened
/// for from the call on, so one that arrives while the server starts is not lost (nor does it
/// kill the process the default way).
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    let mut signals = Signals::listen().context("cannot listen for SIGTERM and SIGINT")?;
    Ok(async move {
        signals.next().await;
        tokio::spawn(async move {
            signals.next().await;
            eprintln!("tessera: second signal, exiting without waiting for requests in flight");
            std::process::exit(130);
        });
    })
}

#[cfg(unix)]
struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn listen() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn listen() -> std::io::Result<Self> {
        Ok(Self)
    }

    async fn next(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Configuration and store for an offline command, which logs only warnings.
async fn offline(cli: &Cli) -> anyhow::Result<(Config, tessera_store::SqlStore)> {
    let config = load_config(cli, None)?;
    init_logging(
        &Config {
            log: "warn".into(),
            ..config.clone()
        },
        json_logs(cli),
    );
    let store = open_store(&config).await?;
    Ok((config, store))
}

async fn run_user(cli: &Cli, command: &UserCommand) -> anyhow::Result<()> {
    let (config, store) = offline(cli).await?;
    let admin = Administer::trusted_offline_cli();
    let result = match command {
        UserCommand::Create {
            name,
            password_stdin,
            no_password,
            admin: is_admin,
            email,
            display_name,
        } => {
            if !password_stdin && !no_password {
                bail!(
                    "say how '{name}' signs in: --password-stdin (a password, read from standard \
                     input or asked for on a terminal) or --no-password (only through an \
                     identity provider, or with tokens)"
                );
            }
            let password_hash = if *password_stdin {
                let password = read_password(name)?;
                Some(hash_blocking(config.hash_params(), &password)?)
            } else {
                None
            };
            let input = UserInput {
                name: name.clone(),
                display_name: display_name.clone(),
                email: email.clone(),
                password_hash,
                admin: *is_admin,
            };
            let user = users::create_user(&store, &admin, input, SystemClock.now())
                .await
                .map_err(|e| anyhow!("cannot create the user: {e}"))?;
            report(
                cli.json,
                json!({
                    "id": user.id.0, "key": user.key(), "name": user.name,
                    "displayName": user.display_name, "emailAddress": user.email,
                    "admin": is_admin, "hasPassword": user.has_password,
                }),
                format!(
                    "created user '{}' (id {}){}",
                    user.name,
                    user.id,
                    if *is_admin {
                        " as an administrator"
                    } else {
                        ""
                    }
                ),
            );
            Ok(())
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            if !password_stdin {
                bail!("--password-stdin is required");
            }
            let known = store
                .find_user_by_name(&name.trim().to_lowercase())
                .await
                .map_err(|e| anyhow!("cannot read the users: {e}"))?;
            if known.is_none() {
                bail!("there is no user '{name}'; nothing was changed");
            }
            let password = read_password(name)?;
            let hash = hash_blocking(config.hash_params(), &password)?;
            let user = users::set_password(&store, &admin, UserSelector::Name(name), &hash)
                .await
                .map_err(|e| anyhow!("cannot set the password: {e}"))?;
            report(
                cli.json,
                json!({"name": user.name, "passwordChanged": true}),
                format!(
                    "password of '{}' changed; their sessions have ended",
                    user.name
                ),
            );
            Ok(())
        }
    };
    store.close().await;
    result
}

async fn run_token(cli: &Cli, command: &TokenCommand) -> anyhow::Result<()> {
    let (config, store) = offline(cli).await?;
    let result = token_command(cli, &config, &store, command).await;
    store.close().await;
    result
}

/// The database and an audit log for an offline command whose changes are audited.
struct Audited {
    config: Config,
    store: std::sync::Arc<tessera_store::SqlStore>,
    audit: std::sync::Arc<AuditLog>,
}

impl Audited {
    async fn open(cli: &Cli) -> anyhow::Result<Self> {
        let (config, store) = offline(cli).await?;
        let store = std::sync::Arc::new(store);
        let audit = std::sync::Arc::new(AuditLog::start(store.clone()));
        Ok(Self {
            config,
            store,
            audit,
        })
    }

    /// Writes the command's audit events before it ends, and closes the database.
    async fn close<T>(self, result: T) -> T {
        self.audit.finish().await;
        self.store.close().await;
        result
    }
}

async fn run_oauth1(cli: &Cli, command: &Oauth1Command) -> anyhow::Result<()> {
    let opened = Audited::open(cli).await?;
    let server = OAuth1Server::new(
        opened.store.clone(),
        std::sync::Arc::new(SystemClock),
        opened.audit.clone(),
        opened.config.oauth1_server(),
    );
    let result = oauth1_command(cli, &server, command).await;
    opened.close(result).await
}

async fn oauth1_command(
    cli: &Cli,
    server: &OAuth1Server,
    command: &Oauth1Command,
) -> anyhow::Result<()> {
    let admin = Administer::trusted_offline_cli();
    let describe = |c: &tessera_core::oauth1::Consumer| json!({"consumerKey": c.consumer_key, "name": c.name, "callback": c.callback});
    match command {
        Oauth1Command::Add {
            consumer_key,
            name,
            public_key,
            callback,
            execute_as,
        } => {
            let pem = read_file_or_stdin(public_key)?;
            let input = ConsumerInput {
                consumer_key: consumer_key.clone(),
                name: name.clone(),
                public_key: pem,
                callback: callback.clone(),
                execute_as: execute_as.clone(),
            };
            let made = server
                .register_consumer(&admin, None, input)
                .await
                .map_err(|error| anyhow!("{}", cli_error(error)))?;
            report(
                cli.json,
                describe(&made),
                format!(
                    "consumer {} registered (callback {})",
                    made.consumer_key, made.callback
                ),
            );
        }
        Oauth1Command::List => {
            let consumers = server.consumers(&admin).await?;
            if cli.json {
                for consumer in &consumers {
                    println!("{}", describe(consumer));
                }
            } else if consumers.is_empty() {
                println!("no consumers");
            } else {
                println!("{:<32} {:<32} CALLBACK", "CONSUMER KEY", "NAME");
                for c in &consumers {
                    println!("{:<32} {:<32} {}", c.consumer_key, c.name, c.callback);
                }
            }
        }
        Oauth1Command::Remove { consumer_key } => {
            server
                .delete_consumer(&admin, None, consumer_key)
                .await
                .map_err(|error| anyhow!("{}", cli_error(error)))?;
            report(
                cli.json,
                json!({"removed": consumer_key}),
                format!("consumer {consumer_key} removed, with every token it held"),
            );
        }
    }
    Ok(())
}

/// A file's text, or standard input's for `-`.
fn read_file_or_stdin(path: &std::path::Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read standard input")
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

async fn run_identity(cli: &Cli, command: &IdentityCommand) -> anyhow::Result<()> {
    let opened = Audited::open(cli).await?;
    let server = ExternalIdentity::new(
        opened.store.clone(),
        std::sync::Arc::new(SystemClock),
        opened.audit.clone(),
        opened.config.external()?,
    )
    .await?;
    let result = identity_command(cli, &server, command).await;
    opened.close(result).await
}

async fn identity_command(
    cli: &Cli,
    server: &ExternalIdentity,
    command: &IdentityCommand,
) -> anyhow::Result<()> {
    let admin = Administer::trusted_offline_cli();
    let describe = |p: &tessera_core::identity::IdentityProvider| json!({"id": p.id.0, "name": p.settings.name, "issuer": p.settings.issuer, "enabled": p.settings.enabled});
    match command {
        IdentityCommand::Add {
            name,
            issuer,
            audiences,
            user_claim,
            groups_claim,
            mappings,
            provisioning,
            group_sync,
            default_scopes,
            login_client_id,
            login_client_secret_file,
            introspection_client_id,
            introspection_client_secret_file,
            introspection_endpoint,
        } => {
            let introspection = match (introspection_client_id, introspection_client_secret_file) {
                (Some(client_id), Some(file)) => Some(Some(IntrospectionInput {
                    endpoint: introspection_endpoint.clone(),
                    client: ClientInput {
                        client_id: client_id.clone(),
                        client_secret: Some(read_file_or_stdin(file)?.trim().to_string().into()),
                    },
                })),
                _ => None,
            };
            let login = match (login_client_id, login_client_secret_file) {
                (Some(client_id), Some(file)) => Some(Some(ClientInput {
                    client_id: client_id.clone(),
                    client_secret: Some(read_file_or_stdin(file)?.trim().to_string().into()),
                })),
                _ => None,
            };
            let mut group_mapping = std::collections::BTreeMap::new();
            for mapping in mappings {
                let (theirs, ours) = mapping
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--map: give THEIRS=OURS, not '{mapping}'"))?;
                group_mapping.insert(theirs.to_string(), ours.to_string());
            }
            let input = ProviderInput {
                name: Some(name.clone()),
                issuer: Some(issuer.clone()),
                audiences: Some(audiences.clone()),
                user_claim: user_claim.clone(),
                groups_claim: groups_claim.clone().map(Some),
                group_mapping: Some(group_mapping),
                provisioning: provisioning.clone(),
                group_sync: group_sync.clone(),
                default_scopes: (!default_scopes.is_empty()).then(|| default_scopes.clone()),
                enabled: None,
                login,
                introspection,
            };
            let made = server
                .register_provider(&admin, None, input)
                .await
                .map_err(|error| anyhow!("{}", cli_error(error)))?;
            report(
                cli.json,
                describe(&made),
                format!(
                    "provider {} ({}) registered with id {}",
                    made.settings.name, made.settings.issuer, made.id
                ),
            );
        }
        IdentityCommand::List => {
            let providers = server.providers(&admin).await?;
            if cli.json {
                for provider in &providers {
                    println!("{}", describe(provider));
                }
            } else if providers.is_empty() {
                println!("no identity providers");
            } else {
                println!("{:<8} {:<24} {:<8} ISSUER", "ID", "NAME", "ENABLED");
                for p in &providers {
                    println!(
                        "{:<8} {:<24} {:<8} {}",
                        p.id, p.settings.name, p.settings.enabled, p.settings.issuer
                    );
                }
            }
        }
        IdentityCommand::Remove { id } => {
            server
                .delete_provider(&admin, None, tessera_core::identity::ProviderId(*id))
                .await
                .map_err(|error| anyhow!("{}", cli_error(error)))?;
            report(
                cli.json,
                json!({"removed": id}),
                format!("provider {id} removed; its tokens no longer work"),
            );
        }
    }
    Ok(())
}

/// A domain error in the command line's words: field errors name the flags.
fn cli_error(error: tessera_core::error::Error) -> String {
    match error {
        tessera_core::error::Error::Invalid(errors)
        | tessera_core::error::Error::Conflict(errors) => {
            let flag = |field: &str| match field {
                "consumerKey" => "CONSUMER_KEY".to_string(),
                "publicKey" => "--public-key".to_string(),
                "audiences" => "--audience".to_string(),
                "userClaim" => "--user-claim".to_string(),
                "groupsClaim" => "--groups-claim".to_string(),
                "groupMapping" => "--map".to_string(),
                "defaultScopes" => "--default-scope".to_string(),
                other => format!("--{other}"),
            };
            errors
                .messages
                .iter()
                .cloned()
                .chain(
                    errors
                        .fields
                        .iter()
                        .map(|(f, m)| format!("{}: {m}", flag(f))),
                )
                .collect::<Vec<_>>()
                .join("; ")
        }
        other => other.to_string(),
    }
}

async fn run_policy(cli: &Cli, command: &PolicyCommand) -> anyhow::Result<()> {
    let (config, store) = offline(cli).await?;
    let result = policy_command(cli, &config, &store, command).await;
    store.close().await;
    result
}

async fn policy_command(
    cli: &Cli,
    config: &Config,
    store: &tessera_store::SqlStore,
    command: &PolicyCommand,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let initial = config.initial_policy()?;
    let current = policy::read_or_seed(store, &initial, now).await?;
    let replacement = match command {
        // The document `GET /rest/tessera/1/policy` answers: the policy, with its version and
        // who changed it when; `set` takes it back as it is.
        PolicyCommand::Show => {
            let document = tessera_web::rest::tessera::policy::policy_json(&current);
            report(
                cli.json,
                document.clone(),
                serde_json::to_string_pretty(&document)?,
            );
            return Ok(());
        }
        PolicyCommand::Reset => initial,
        PolicyCommand::Set { file } => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
            } else {
                std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read {}", file.display()))?
            };
            let (based_on, policy) = policy_document(&text)?;
            if let Some(version) = based_on
                && version != current.version
            {
                bail!(
                    "the document was based on version {version}, but the policy is now \
                     version {}: show it again and make the change on that",
                    current.version
                );
            }
            let policy = policy
                .normalised()
                .map_err(|errors| anyhow!("the policy is not valid: {errors}"))?;
            for group in policy.named_groups() {
                if store.find_group(group).await?.is_none() {
                    bail!(
                        "the policy names the group '{group}', which does not exist; nothing was changed"
                    );
                }
            }
            policy
        }
    };
    if replacement == current.policy {
        report(
            cli.json,
            json!({"version": current.version, "changed": ""}),
            format!(
                "the access policy is unchanged (still version {})",
                current.version
            ),
        );
        return Ok(());
    }
    let changed = replacement.changed_sections(&current.policy).join(",");
    let audit = tessera_core::audit::AuditEvent::by_caller(None, now, "policy.changed", "policy")
        .reason(if changed.is_empty() {
            "unchanged"
        } else {
            &changed
        });
    let version =
        policy::replace_stored(store, current.version, &replacement, now, None, &audit).await?;
    report(
        cli.json,
        json!({"version": version, "changed": changed}),
        format!("the access policy is now version {version} (changed: {changed})"),
    );
    Ok(())
}

/// A policy document as `policy show` and `GET /rest/tessera/1/policy` print it (its
/// `version`, `updated` and `updatedBy` beside the policy), or a bare policy: the version it
/// was based on, if it says, and the policy.
fn policy_document(text: &str) -> anyhow::Result<(Option<i64>, tessera_core::policy::Policy)> {
    let value: serde_json::Value =
        serde_json::from_str(text).context("the policy document is not JSON")?;
    let serde_json::Value::Object(mut map) = value else {
        bail!("the policy document must be a JSON object");
    };
    let version = match map.remove("version") {
        None | Some(serde_json::Value::Null) => None,
        Some(version) => Some(
            version
                .as_i64()
                .ok_or_else(|| anyhow!("the document's version is not a number"))?,
        ),
    };
    map.remove("updated");
    map.remove("updatedBy");
    let policy = serde_json::from_value(serde_json::Value::Object(map))
        .context("the policy document is not valid")?;
    Ok((version, policy))
}

async fn token_command(
    cli: &Cli,
    config: &Config,
    store: &tessera_store::SqlStore,
    command: &TokenCommand,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        TokenCommand::Create {
            user,
            name,
            expires_days,
            scopes,
            projects,
            allowed_ips,
        } => {
            let owner = UserSelector::Name(user).get(store).await?;
            let mut ids = Vec::new();
            for key in projects {
                let project = store
                    .find_project_by_key(&key.trim().to_ascii_uppercase())
                    .await?
                    .ok_or_else(|| anyhow!("no project has the key '{key}'"))?;
                ids.push(project.id);
            }
            let request = TokenRequest {
                name: name.clone(),
                expiration_days: *expires_days,
                scopes: (!scopes.is_empty()).then(|| scopes.clone()),
                allowed_ips: (!allowed_ips.is_empty()).then(|| allowed_ips.clone()),
            };
            let manage = ManageTokens::trusted_offline_cli(owner);
            // The stored policy is in force (the configuration only gave its first state).
            let policy = policy::read_or_seed(store, &config.initial_policy()?, now).await?;
            let restriction = (!projects.is_empty()).then_some(ids);
            let issued = tokens::issue(
                store,
                &policy.policy.tokens,
                &manage,
                None,
                &request,
                restriction,
                now,
            )
            .await
            .map_err(|e| anyhow!("cannot issue the token: {}", in_flags(e)))?;
            let raw = issued.raw.expose();
            let token = &issued.token;
            let mut value = token_json(token, now);
            value["rawToken"] = json!(raw);
            report(
                cli.json,
                value,
                format!(
                    "token {} '{}' for '{}'\n  expires: {}\n  scopes:  {}\n  projects: {}\n  \
                     from:    {}\n\nThe token (shown once, store it now):\n{raw}",
                    token.id,
                    token.name,
                    token.owner_name,
                    token.expires.map_or("never".into(), day_and_time),
                    scope_names(token),
                    match &token.projects {
                        Some(_) => projects
                            .iter()
                            .map(|k| k.to_ascii_uppercase())
                            .collect::<Vec<_>>()
                            .join(", "),
                        None => "all the owner can see".into(),
                    },
                    if token.allowed_ips.is_empty() {
                        "anywhere".to_string()
                    } else {
                        token
                            .allowed_ips
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                ),
            );
        }
        TokenCommand::List { user } => {
            let owner = UserSelector::Name(user).get(store).await?;
            let filter = TokenFilter {
                owner: Some(owner.id),
                include_revoked: true,
                ..TokenFilter::default()
            };
            let page = PageRequest {
                start_at: 0,
                limit: 10_000,
            };
            let found = store.list_tokens(&filter, page).await?.items;
            if !cli.json {
                println!("ID\tKIND\tSTATE\tCREATED\tEXPIRES\tLAST USED\tSCOPES\tNAME");
            }
            for token in found {
                report(
                    cli.json,
                    token_json(&token, now),
                    format!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        token.id,
                        token.kind.name(),
                        token_state(&token, now),
                        day_and_time(token.created),
                        token.expires.map_or("never".into(), day_and_time),
                        token.last_used.map_or("never".into(), day_and_time),
                        scope_names(&token),
                        token.name,
                    ),
                );
            }
        }
        TokenCommand::Revoke { id, user } => {
            let admin = Administer::trusted_offline_cli();
            let revoked = match (id, user) {
                (Some(id), _) => {
                    let found = store
                        .find_token(TokenId(*id))
                        .await?
                        .ok_or_else(|| anyhow!("there is no token {id}"))?;
                    if let Some(at) = found.revoked {
                        report(
                            cli.json,
                            json!({"revoked": 0, "alreadyRevoked": day_and_time(at)}),
                            format!("token {id} was already revoked ({})", day_and_time(at)),
                        );
                        return Ok(());
                    }
                    tokens::revoke_any(store, &admin, None, TokenId(*id), now)
                        .await
                        .map_err(|e| anyhow!("cannot revoke: {e}"))?;
                    1
                }
                (None, Some(user)) => {
                    let owner = UserSelector::Name(user).get(store).await?;
                    tokens::revoke_all_of(store, &admin, None, &owner, now).await?
                }
                (None, None) => bail!("give a token id or --user"),
            };
            report(
                cli.json,
                json!({"revoked": revoked}),
                format!("{revoked} token(s) revoked"),
            );
        }
    }
    Ok(())
}

/// A token for `--json`: everything the list shows, and more.
fn token_json(
    token: &tessera_core::tokens::Token,
    now: tessera_core::clock::Timestamp,
) -> serde_json::Value {
    let at = |t: Option<tessera_core::clock::Timestamp>| t.map(tessera_web::render::time);
    json!({
        "id": token.id.0, "name": token.name, "owner": token.owner_name,
        "kind": token.kind.name(), "state": token_state(token, now),
        "scopes": token.scopes.iter().map(|s| s.name()).collect::<Vec<_>>(),
        "projects": token.projects.as_ref().map(|ids| ids.iter().map(|id| id.0).collect::<Vec<_>>()),
        "allowedIps": token.allowed_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "created": tessera_web::render::time(token.created), "expires": at(token.expires),
        "revoked": at(token.revoked), "lastUsed": at(token.last_used),
        "lastUsedIp": token.last_used_ip, "useCount": token.use_count,
    })
}

fn token_state(
    token: &tessera_core::tokens::Token,
    now: tessera_core::clock::Timestamp,
) -> &'static str {
    if token.revoked.is_some() {
        "revoked"
    } else if token.is_expired(now) {
        "expired"
    } else {
        "live"
    }
}

fn scope_names(token: &tessera_core::tokens::Token) -> String {
    token
        .scopes
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(",")
}

/// `2026-12-07 15:04 UTC`: a time for a terminal.
fn day_and_time(at: tessera_core::clock::Timestamp) -> String {
    let text = tessera_web::render::time(at);
    format!("{} {} UTC", &text[..10], &text[11..16])
}

/// A refusal of the token service in the command's words: its flags, not the API's fields.
fn in_flags(error: tessera_core::Error) -> String {
    const FLAGS: [(&str, &str); 5] = [
        ("name", "--name"),
        ("expirationDuration", "--expires-days"),
        ("scopes", "--scope"),
        ("allowedIps", "--allow-ip"),
        ("projects", "--project"),
    ];
    match error {
        tessera_core::Error::Invalid(errors) => {
            let fields = errors.fields.iter().map(|(field, message)| {
                let flag = FLAGS
                    .iter()
                    .find(|(f, _)| f == field)
                    .map_or(field.as_str(), |(_, flag)| flag);
                format!("{flag}: {message}")
            });
            errors
                .messages
                .iter()
                .cloned()
                .chain(fields)
                .collect::<Vec<_>>()
                .join("; ")
        }
        other => other.to_string(),
    }
}

async fn run_migrate(cli: &Cli) -> anyhow::Result<()> {
    let config = load_config(cli, None)?;
    init_logging(
        &Config {
            log: "warn".into(),
            ..config.clone()
        },
        json_logs(cli),
    );
    // Opening applies migrations; report which.
    let url = config.database_url();
    if url.starts_with("sqlite:") && config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    let store =
        tessera_store::SqlStore::connect(&url, tessera_store::PoolOptions::default()).await?;
    let applied = store.migrate().await?;
    store.close().await;
    report(
        cli.json,
        json!({"migrated": true, "applied": applied, "database": tessera_store::redact_url(&url)}),
        if applied.is_empty() {
            "the database schema is up to date".to_string()
        } else {
            format!("applied migrations {applied:?}")
        },
    );
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Serve(args) => run_serve(&cli, args).await,
        Command::User(command) => run_user(&cli, command).await,
        Command::Token(command) => run_token(&cli, command).await,
        Command::Policy(command) => run_policy(&cli, command).await,
        Command::Oauth1(command) => run_oauth1(&cli, command).await,
        Command::Identity(command) => run_identity(&cli, command).await,
        Command::Migrate => run_migrate(&cli).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_output = cli.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tessera: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if json_output {
                println!("{}", json!({"error": format!("{error:#}")}));
            } else {
                eprintln!("tessera: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}
