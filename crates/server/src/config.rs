//! Configuration: defaults, then a TOML file, then `TESSERA_*` environment variables, then
//! command-line flags, each overriding the one before. Nested keys are spelled with `__` in
//! the environment (`TESSERA_SESSION__IDLE_TIMEOUT_MINUTES=30`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};
use tessera_auth::AuthConfig;
use tessera_auth::hashing::{HashParams, HasherConfig};
use tessera_core::policy::{MethodRule, Policy, Quota, RateLimitPolicy};
use tessera_core::principal::AuthMethod;
use tessera_core::throttle::ThrottlePolicy;
use tessera_core::tokens::{TokenPolicy, parse_network};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the embedded SQLite database lives.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://...`; defaults to SQLite in `data_dir`. A secret: the
    /// URL may carry a password.
    #[serde(skip_serializing)]
    pub database_url: Option<SecretString>,
    /// The public URL (may carry a context path), used in `self` links; defaults to
    /// `http://` and the listening address.
    pub base_url: Option<String>,
    /// The first administrator's password; random (and printed once) if unset.
    #[serde(skip_serializing)]
    pub admin_password: Option<SecretString>,
    /// 32 bytes in base64: the key that seals the client secrets tessera keeps for identity
    /// providers. Without one, a key kept in the database seals them (see the README).
    #[serde(skip_serializing)]
    pub secret_key: Option<SecretString>,
    /// Proxies whose `X-Forwarded-For`/`X-Forwarded-Proto` are believed (CIDR list).
    #[serde(deserialize_with = "list_or_string")]
    pub trusted_proxies: Vec<IpNet>,
    pub max_body_bytes: usize,
    /// Largest upload of attachments (all files of one request together); larger is 413.
    pub max_attachment_bytes: usize,
    /// Connections served at once; further clients wait in the kernel's accept queue. Capped
    /// by the open-file limit (raised to its hard maximum at start).
    pub max_connections: usize,
    /// Connections one client address (an IPv6 client's /64) may hold open at once (a trusted
    /// proxy's are not counted); further ones from it are closed at once, so that one client
    /// cannot take the others' slots.
    pub max_connections_per_address: usize,
    /// How long a client may take to send a request's headers.
    pub header_read_timeout_seconds: u64,
    /// How long a client may take to send a request's body, from its first byte to its last.
    pub body_read_timeout_seconds: u64,
    /// Log filter (`info`, `tessera=debug,info`, ...); `RUST_LOG` overrides it.
    pub log: String,
    /// Bytes of responses remembered for repeated reads of the same caller (`GET issue`),
    /// dropped at any change; 0 for none.
    pub response_cache_bytes: u64,
    pub database: DatabaseConfig,
    pub session: SessionConfig,
    pub passwords: PasswordConfig,
    pub tokens: TokenConfig,
    pub login_throttle: LoginThrottleConfig,
    pub rate_limit: RateLimitConfig,
    pub policy: PolicyConfig,
    pub retention: RetentionConfig,
    pub oauth2: OAuth2Config,
    pub oauth1: OAuth1Config,
    pub identity: IdentityConfig,
    pub metrics: MetricsConfig,
    pub tls: TlsConfig,
}

/// TLS served by tessera itself (`--tls-cert`/`--tls-key`); without both, plain HTTP.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// The certificate chain, leaf first, in PEM.
    pub cert: Option<PathBuf>,
    /// The certificate's private key in PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: Option<PathBuf>,
    /// `Strict-Transport-Security: max-age` sent on every TLS response; 0 sends none.
    pub hsts_max_age_seconds: u64,
    /// How often the files are looked at for a change (then read again); 0 to read them
    /// again only on SIGHUP.
    pub reload_check_seconds: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert: None,
            key: None,
            hsts_max_age_seconds: 365 * 24 * 60 * 60,
            reload_check_seconds: 5,
        }
    }
}

/// Who may read `GET /metrics` besides administrators.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A bearer token for a scraper (`TESSERA_METRICS__TOKEN`); none by default.
    #[serde(skip_serializing)]
    pub token: Option<SecretString>,
    /// Whether clients on the machine itself may read them without a credential.
    pub loopback: bool,
}

/// External identity providers: clock tolerance and how their keys are refreshed.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// How far a JWT's `exp`, `nbf` and `iat` may be off.
    pub leeway_seconds: u64,
    /// The least time between two fetches of one provider's keys (a token naming an unknown
    /// key fetches them again, at most this often).
    pub jwks_refetch_seconds: u64,
    /// How long fetched keys are trusted before they are fetched again.
    pub jwks_max_age_seconds: u64,
    /// How long a provider may take to answer.
    pub http_timeout_seconds: u64,
    /// The longest an introspection answer about an opaque token is remembered (never past
    /// the token's expiry).
    pub introspection_cache_seconds: u64,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            leeway_seconds: 60,
            jwks_refetch_seconds: 30,
            jwks_max_age_seconds: 600,
            http_timeout_seconds: 5,
            introspection_cache_seconds: 60,
        }
    }
}

/// Lifetimes of OAuth 2.0 tokens.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OAuth2Config {
    pub access_token_minutes: u64,
    /// A refresh token expires this long after it was issued (each use issues a new one).
    pub refresh_token_days: u64,
}

impl Default for OAuth2Config {
    fn default() -> Self {
        Self {
            access_token_minutes: 60,
            refresh_token_days: 90,
        }
    }
}

/// OAuth 1.0a's windows.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OAuth1Config {
    /// How far a signed request's `oauth_timestamp` may be from the server's clock.
    pub timestamp_window_seconds: u64,
    /// How long a request token may wait for its approval and exchange.
    pub request_token_minutes: u64,
}

impl Default for OAuth1Config {
    fn default() -> Self {
        Self {
            timestamp_window_seconds: 300,
            request_token_minutes: 10,
        }
    }
}

/// The access policy's initial state (with `[tokens]` and `[rate_limit]`): stored on the first
/// start, then changed through `/rest/tessera/1/policy` or the policy page.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Per method (`basic_password`, `basic_token`, `bearer_token`, `service_key`, `session`).
    pub methods: BTreeMap<AuthMethod, MethodConfig>,
    /// Groups whose members may use the REST API; empty for everyone.
    pub api_groups: Vec<String>,
    /// Addresses every request must come from; empty for anywhere.
    #[serde(deserialize_with = "list_or_string")]
    pub allowed_ips: Vec<IpNet>,
    /// Per group, the addresses its members' requests must come from.
    pub group_allowed_ips: BTreeMap<String, Vec<String>>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MethodConfig {
    pub enabled: bool,
    /// Members of these groups get the opposite of `enabled`.
    pub except_groups: Vec<String>,
}

impl Default for MethodConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            except_groups: Vec::new(),
        }
    }
}

/// How long records are kept.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Audit events older than this are deleted; 0 keeps them for ever.
    pub audit_days: u32,
    /// Daily request counts and client addresses per credential.
    pub usage_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            audit_days: 365,
            usage_days: 90,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Off by default, as in Jira Data Center.
    pub enabled: bool,
    /// Requests an authenticated caller may make at once ...
    pub capacity: u32,
    /// ... refilled at this many per second.
    pub per_second: u32,
    /// The same, per client address, for anonymous callers.
    pub anonymous_capacity: u32,
    pub anonymous_per_second: u32,
    /// Members of these groups are not limited.
    pub exempt_groups: Vec<String>,
    /// Quotas for members of a group (the largest of a user's groups applies).
    pub groups: BTreeMap<String, GroupQuota>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GroupQuota {
    pub capacity: u32,
    pub per_second: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let defaults = RateLimitPolicy::default();
        Self {
            enabled: defaults.enabled,
            capacity: defaults.default.capacity,
            per_second: defaults.default.per_second,
            anonymous_capacity: defaults.anonymous.capacity,
            anonymous_per_second: defaults.anonymous.per_second,
            exempt_groups: Vec::new(),
            groups: BTreeMap::new(),
        }
    }
}

impl RateLimitConfig {
    pub fn policy(&self) -> RateLimitPolicy {
        RateLimitPolicy {
            enabled: self.enabled,
            default: Quota {
                capacity: self.capacity,
                per_second: self.per_second,
            },
            anonymous: Quota {
                capacity: self.anonymous_capacity,
                per_second: self.anonymous_per_second,
            },
            groups: self
                .groups
                .iter()
                .map(|(group, quota)| {
                    let quota = Quota {
                        capacity: quota.capacity,
                        per_second: quota.per_second,
                    };
                    (group.clone(), quota)
                })
                .collect(),
            exempt_groups: self.exempt_groups.clone(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginThrottleConfig {
    /// Failed password attempts for one user name before its password logins wait.
    pub user_threshold: u32,
    /// Failed attempts from one address (IPv6: one /64) before its password logins wait.
    pub ip_threshold: u32,
    /// The first wait; it doubles with each further failure.
    pub lockout_seconds: u64,
    pub max_lockout_seconds: u64,
    /// Failures are forgotten after this long without one.
    pub window_minutes: u64,
}

impl Default for LoginThrottleConfig {
    fn default() -> Self {
        let policy = ThrottlePolicy::default();
        Self {
            user_threshold: policy.user_threshold,
            ip_threshold: policy.ip_threshold,
            lockout_seconds: policy.lockout.as_secs(),
            max_lockout_seconds: policy.max_lockout.as_secs(),
            window_minutes: policy.window.as_secs() / 60,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    /// Lifetime of a token created without `expirationDuration`; 0 for none (only if
    /// `allow_non_expiring`).
    pub default_lifetime_days: u32,
    /// Longest lifetime a token may be given; 0 for no limit.
    pub max_lifetime_days: u32,
    /// Whether tokens without an expiry may be created.
    pub allow_non_expiring: bool,
    /// Groups whose members may create personal tokens; empty for everyone.
    pub creator_groups: Vec<String>,
    /// Most live tokens one user may hold; 0 for no limit.
    pub max_per_user: u32,
    /// How often coalesced use (tokens' last use, API use per credential) is written.
    pub usage_flush_seconds: u64,
    /// How many verified credentials' answers (tokens, passwords, sessions) are remembered in memory; 0 for none.
    pub verified_capacity: u64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            default_lifetime_days: 90,
            max_lifetime_days: 365,
            allow_non_expiring: false,
            creator_groups: Vec::new(),
            max_per_user: 0,
            usage_flush_seconds: 10,
            verified_capacity: 20_000,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub max_connections: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    pub idle_timeout_minutes: u64,
    pub absolute_timeout_hours: u64,
    /// How long a re-entered password lets a session make administrative changes.
    pub websudo_minutes: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// Argon2id memory cost in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Threads verifying passwords at once; 0 for one per core, at most four (each holds
    /// `memory_kib` of working memory).
    pub workers: usize,
    /// Verifications that may wait; beyond, requests get 503 with `Retry-After`.
    pub queue: usize,
    /// How long a successful verification is remembered; 0 to never.
    pub remember_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("tessera-data"),
            database_url: None,
            base_url: None,
            admin_password: None,
            secret_key: None,
            trusted_proxies: Vec::new(),
            max_body_bytes: 1024 * 1024,
            max_attachment_bytes: 10 * 1024 * 1024,
            max_connections: 10_000,
            max_connections_per_address: 256,
            header_read_timeout_seconds: 15,
            body_read_timeout_seconds: 30,
            log: "info".into(),
            response_cache_bytes: tessera_web::state::DEFAULT_RESPONSE_CACHE_BYTES,
            database: DatabaseConfig::default(),
            session: SessionConfig::default(),
            passwords: PasswordConfig::default(),
            tokens: TokenConfig::default(),
            login_throttle: LoginThrottleConfig::default(),
            rate_limit: RateLimitConfig::default(),
            policy: PolicyConfig::default(),
            retention: RetentionConfig::default(),
            oauth2: OAuth2Config::default(),
            oauth1: OAuth1Config::default(),
            identity: IdentityConfig::default(),
            metrics: MetricsConfig::default(),
            tls: TlsConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { max_connections: 8 }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout_minutes: 60,
            absolute_timeout_hours: 12,
            websudo_minutes: 10,
        }
    }
}

impl Default for PasswordConfig {
    fn default() -> Self {
        let params = HashParams::OWASP;
        Self {
            memory_kib: params.memory_kib,
            iterations: params.iterations,
            parallelism: params.parallelism,
            workers: 0,
            queue: 64,
            remember_seconds: 120,
        }
    }
}

/// Accepts `["10.0.0.0/8", "::1/128"]` (TOML) or `"10.0.0.0/8, ::1/128"` (environment).
fn list_or_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        List(Vec<String>),
        Text(String),
    }
    let items = match Form::deserialize(deserializer)? {
        Form::List(items) => items,
        Form::Text(text) => text
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    };
    items
        .iter()
        .map(|item| {
            parse_network(item).ok_or_else(|| {
                serde::de::Error::custom(format!("'{item}' is not an IP address or CIDR range"))
            })
        })
        .collect()
}

/// Top-level keys read from the environment (others, like `TESSERA_TEST_DATABASE_URL`, are
/// not configuration).
const ENV_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "base_url",
    "admin_password",
    "secret_key",
    "trusted_proxies",
    "max_body_bytes",
    "max_attachment_bytes",
    "max_connections",
    "max_connections_per_address",
    "header_read_timeout_seconds",
    "body_read_timeout_seconds",
    "log",
    "response_cache_bytes",
    "database",
    "session",
    "passwords",
    "metrics",
    "tokens",
    "login_throttle",
    "rate_limit",
    "policy",
    "retention",
    "oauth2",
    "oauth1",
    "identity",
    "tls",
];

/// Values given on the command line.
#[derive(Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(skip_serializing_if = "TlsOverrides::is_empty")]
    pub tls: TlsOverrides,
}

/// `--tls-cert` and `--tls-key`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TlsOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
}

impl TlsOverrides {
    fn is_empty(&self) -> bool {
        self.cert.is_none() && self.key.is_none()
    }
}

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "<redacted>"),
            )
            .field("base_url", &self.base_url)
            .field("tls", &self.tls)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads the layers. `file` is `--config` (or `TESSERA_CONFIG`).
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError::MissingFile(file.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        let env = Env::prefixed("TESSERA_")
            .filter(|key| {
                let top = key.as_str().split("__").next().unwrap_or("");
                ENV_KEYS.iter().any(|known| top.eq_ignore_ascii_case(known))
            })
            .split("__");
        let config: Self = figment
            .merge(env)
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        config.initial_policy()?;
        config.tls_files()?;
        Ok(config)
    }

    /// The access policy the configuration describes (stored on the first start only).
    pub fn initial_policy(&self) -> Result<Policy, ConfigError> {
        let mut group_allowed_ips = BTreeMap::new();
        for (group, texts) in &self.policy.group_allowed_ips {
            let mut list = Vec::new();
            for text in texts {
                list.push(parse_network(text).ok_or_else(|| {
                    ConfigError::Invalid(format!(
                        "policy.group_allowed_ips.{group}: '{text}' is not an IP address or \
                         CIDR range"
                    ))
                })?);
            }
            group_allowed_ips.insert(group.clone(), list);
        }
        let tokens = &self.tokens;
        let policy = Policy {
            methods: self
                .policy
                .methods
                .iter()
                .map(|(method, rule)| {
                    let rule = MethodRule {
                        enabled: rule.enabled,
                        except_groups: rule.except_groups.clone(),
                    };
                    (*method, rule)
                })
                .collect(),
            api_groups: self.policy.api_groups.clone(),
            allowed_ips: self.policy.allowed_ips.clone(),
            group_allowed_ips,
            tokens: TokenPolicy {
                default_lifetime_days: (tokens.default_lifetime_days > 0)
                    .then_some(tokens.default_lifetime_days),
                max_lifetime_days: (tokens.max_lifetime_days > 0)
                    .then_some(tokens.max_lifetime_days),
                allow_non_expiring: tokens.allow_non_expiring,
                creator_groups: tokens.creator_groups.clone(),
                max_per_user: (tokens.max_per_user > 0).then_some(tokens.max_per_user),
            },
            rate_limit: self.rate_limit.policy(),
        };
        policy
            .normalised()
            .map_err(|errors| ConfigError::Invalid(format!("access policy: {errors}")))
    }

    /// The files TLS is served with; `None` for plain HTTP. One without the other is an error.
    pub fn tls_files(&self) -> Result<Option<crate::tls::TlsFiles>, ConfigError> {
        match (&self.tls.cert, &self.tls.key) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => Ok(Some(crate::tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            })),
            (Some(_), None) => Err(ConfigError::Invalid(
                "tls.cert is set but tls.key is not: give both (--tls-cert and --tls-key)".into(),
            )),
            (None, Some(_)) => Err(ConfigError::Invalid(
                "tls.key is set but tls.cert is not: give both (--tls-cert and --tls-key)".into(),
            )),
        }
    }

    /// The database URL, defaulting to SQLite in the data directory.
    pub fn database_url(&self) -> String {
        self.database_url
            .as_ref()
            .map(|url| url.expose_secret().to_string())
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("tessera.db").display()))
    }

    pub fn hash_params(&self) -> HashParams {
        HashParams {
            memory_kib: self.passwords.memory_kib,
            iterations: self.passwords.iterations,
            parallelism: self.passwords.parallelism,
        }
    }

    /// The OAuth 2.0 server's token lifetimes.
    pub fn oauth2_server(&self) -> tessera_auth::oauth2::OAuth2Config {
        tessera_auth::oauth2::OAuth2Config {
            access_lifetime: Duration::from_secs(self.oauth2.access_token_minutes.max(1) * 60),
            refresh_lifetime: Duration::from_secs(
                self.oauth2.refresh_token_days.max(1) * 24 * 60 * 60,
            ),
            // The same bound as the verified-credential cache's.
            remembered_capacity: self.tokens.verified_capacity,
            ..tessera_auth::oauth2::OAuth2Config::default()
        }
    }

    /// The OAuth 1.0a server's windows (each at least a second, or a minute).
    pub fn oauth1_server(&self) -> tessera_auth::oauth1::OAuth1Config {
        tessera_auth::oauth1::OAuth1Config {
            timestamp_window: Duration::from_secs(self.oauth1.timestamp_window_seconds.max(1)),
            request_token_lifetime: Duration::from_secs(
                self.oauth1.request_token_minutes.max(1) * 60,
            ),
        }
    }

    /// External identity's tolerances, key refresh and sealing key.
    pub fn external(&self) -> Result<tessera_auth::external::ExternalConfig, ConfigError> {
        let timeout = Duration::from_secs(self.identity.http_timeout_seconds.max(1));
        let secret_key = match &self.secret_key {
            None => None,
            Some(text) => Some(
                tessera_auth::sealed::SealingKey::from_base64(text.expose_secret()).ok_or_else(
                    || {
                        ConfigError::Invalid(
                            "secret_key: give 32 random bytes in base64 (openssl rand -base64 32)"
                                .into(),
                        )
                    },
                )?,
            ),
        };
        Ok(tessera_auth::external::ExternalConfig {
            http_timeout: timeout,
            leeway: Duration::from_secs(self.identity.leeway_seconds),
            keys: tessera_auth::external::keys::KeyRefresh {
                refetch_interval: Duration::from_secs(self.identity.jwks_refetch_seconds),
                max_age: Duration::from_secs(self.identity.jwks_max_age_seconds.max(1)),
                timeout,
            },
            secret_key,
            introspection_cache: Duration::from_secs(self.identity.introspection_cache_seconds),
        })
    }

    /// The authenticator's settings, with the initial access policy.
    pub fn auth(&self) -> Result<AuthConfig, ConfigError> {
        Ok(AuthConfig {
            session_idle: Duration::from_secs(self.session.idle_timeout_minutes.max(1) * 60),
            session_absolute: Duration::from_secs(
                self.session.absolute_timeout_hours.max(1) * 3600,
            ),
            verified_password_ttl: Duration::from_secs(self.passwords.remember_seconds),
            verified_capacity: self.tokens.verified_capacity,
            hasher: HasherConfig {
                params: self.hash_params(),
                workers: self.passwords.workers,
                queue: self.passwords.queue,
            },
            websudo: Duration::from_secs(self.session.websudo_minutes.max(1) * 60),
            initial_policy: self.initial_policy()?,
            oauth1: self.oauth1_server(),
            external: self.external()?,
            throttle: ThrottlePolicy {
                user_threshold: self.login_throttle.user_threshold.max(1),
                ip_threshold: self.login_throttle.ip_threshold.max(1),
                lockout: Duration::from_secs(self.login_throttle.lockout_seconds.max(1)),
                max_lockout: Duration::from_secs(self.login_throttle.max_lockout_seconds.max(1)),
                window: Duration::from_secs(self.login_throttle.window_minutes.max(1) * 60),
            },
            ..AuthConfig::default()
        })
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's test jail returns its own error type
mod tests {
    use super::*;

    #[test]
    fn oauth1_windows_come_from_their_section() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("tessera.toml", "[oauth1]\ntimestamp_window_seconds = 60\n")?;
            jail.set_env("TESSERA_OAUTH1__REQUEST_TOKEN_MINUTES", "0");
            let config =
                Config::load(Some(Path::new("tessera.toml")), &Overrides::default()).unwrap();
            let server = config.oauth1_server();
            assert_eq!(server.timestamp_window, Duration::from_secs(60));
            assert_eq!(
                server.request_token_lifetime,
                Duration::from_secs(60),
                "at least a minute"
            );
            assert_eq!(
                Config::default().oauth1_server(),
                tessera_auth::oauth1::OAuth1Config::default()
            );
            Ok(())
        });
    }

    #[test]
    fn layers_override_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "tessera.toml",
                r#"
                listen = "127.0.0.1:9000"
                base_url = "https://file.example/jira"
                trusted_proxies = ["10.0.0.0/8"]
                [session]
                idle_timeout_minutes = 5
                "#,
            )?;
            jail.set_env("TESSERA_BASE_URL", "https://env.example");
            jail.set_env("TESSERA_SESSION__ABSOLUTE_TIMEOUT_HOURS", "2");
            jail.set_env("TESSERA_TRUSTED_PROXIES", "192.168.0.0/16, ::1");
            jail.set_env("TESSERA_TEST_DATABASE_URL", "postgres://ignored");
            let overrides = Overrides {
                listen: Some("127.0.0.1:7000".parse().unwrap()),
                ..Default::default()
            };
            let config = Config::load(Some(Path::new("tessera.toml")), &overrides).unwrap();
            assert_eq!(
                config.listen,
                "127.0.0.1:7000".parse().unwrap(),
                "flags beat the file"
            );
            assert_eq!(
                config.base_url.as_deref(),
                Some("https://env.example"),
                "env beats the file"
            );
            assert_eq!(config.session.idle_timeout_minutes, 5);
            assert_eq!(config.session.absolute_timeout_hours, 2);
            assert_eq!(config.trusted_proxies.len(), 2);
            assert_eq!(
                config.data_dir,
                PathBuf::from("tessera-data"),
                "default kept"
            );
            Ok(())
        });
    }

    #[test]
    fn mistakes_are_reported() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "lisen = \"x\"")?;
            assert!(matches!(
                Config::load(Some(Path::new("bad.toml")), &Overrides::default()),
                Err(ConfigError::Invalid(_))
            ));
            assert!(matches!(
                Config::load(Some(Path::new("missing.toml")), &Overrides::default()),
                Err(ConfigError::MissingFile(_))
            ));
            jail.set_env("TESSERA_TRUSTED_PROXIES", "not-an-ip");
            assert!(Config::load(None, &Overrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn the_policy_sections_set_the_initial_policy() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "policy.toml",
                r#"
                [policy]
                api_groups = ["Integrators"]
                allowed_ips = ["10.0.0.0/8", "192.0.2.7"]
                [policy.methods.basic_password]
                enabled = false
                except_groups = ["legacy-bots"]
                [policy.group_allowed_ips]
                contractors = ["10.1.0.0/16"]
                [tokens]
                max_per_user = 5
                creator_groups = ["developers"]
                "#,
            )?;
            jail.set_env("TESSERA_POLICY__METHODS__SESSION__ENABLED", "false");
            let config = Config::load(Some(Path::new("policy.toml")), &Overrides::default())
                .map_err(|e| e.to_string())?;
            let policy = config.initial_policy().map_err(|e| e.to_string())?;
            assert_eq!(policy.api_groups, ["integrators"]);
            assert_eq!(policy.allowed_ips.len(), 2);
            let basic = policy.method(AuthMethod::BasicPassword);
            assert!(!basic.enabled);
            assert_eq!(basic.except_groups, ["legacy-bots"]);
            assert!(!policy.method(AuthMethod::Session).enabled);
            assert!(policy.method(AuthMethod::BearerToken).enabled);
            assert_eq!(policy.group_allowed_ips["contractors"].len(), 1);
            assert_eq!(policy.tokens.max_per_user, Some(5));
            assert_eq!(policy.tokens.creator_groups, ["developers"]);
            jail.create_file("bad.toml", "[policy.methods.telepathy]\nenabled = false\n")?;
            assert!(Config::load(Some(Path::new("bad.toml")), &Overrides::default()).is_err());
            jail.create_file("worse.toml", "[tokens]\ndefault_lifetime_days = 500\n")?;
            assert!(Config::load(Some(Path::new("worse.toml")), &Overrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn defaults() {
        let config = Config::default();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert!(config.database_url().starts_with("sqlite://tessera-data"));
    }
}
