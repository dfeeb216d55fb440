//! Configuration: defaults < TOML file < `ATOMIK_*` environment < flags.
//!
//! Every setting is listed in docs/CONFIGURATION.md. clap resolves flags and
//! their environment variables; the TOML file fills what neither gave.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// A secret given as a flag, variable or in the file: `Debug` never shows it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct SecretArg(String);

impl std::str::FromStr for SecretArg {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SecretArg(s.to_string()))
    }
}

impl std::fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Settings shared by every subcommand.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// TOML configuration file [default: ./atomik.toml if it exists]
    #[arg(long, global = true, env = "ATOMIK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for the embedded database and key files [default: ./atomik-data]
    #[arg(long, global = true, env = "ATOMIK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: SQLite in the data directory]
    #[arg(long, global = true, env = "ATOMIK_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Log format [default: human]
    #[arg(long, global = true, env = "ATOMIK_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `info` or `atomik=debug,sqlx=warn` [default: info]
    #[arg(long, global = true, env = "ATOMIK_LOG")]
    pub log: Option<String>,
    /// Vault key file (created with mode 0600 on first start) [default: <data_dir>/vault.key]
    #[arg(long, global = true, env = "ATOMIK_VAULT_KEY_FILE")]
    pub vault_key_file: Option<PathBuf>,
}

/// Settings of `atomik serve`.
#[derive(Debug, Args, Clone, Default)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "ATOMIK_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Mark cookies Secure; set when users reach atomik over HTTPS [default: false]
    #[arg(long, env = "ATOMIK_SECURE_COOKIES")]
    pub secure_cookies: Option<bool>,
    /// Allow public sign-up [default: true]
    #[arg(long, env = "ATOMIK_SIGNUP_ENABLED")]
    pub signup_enabled: Option<bool>,
    /// Plan given to new sign-ups [default: starter]
    #[arg(long, env = "ATOMIK_SIGNUP_PLAN")]
    pub signup_plan: Option<String>,
    /// Proxies whose X-Forwarded-For is trusted (comma-separated IPs) [default: none]
    #[arg(long, env = "ATOMIK_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<IpAddr>>,
    /// Session lifetime in hours [default: 168]
    #[arg(long, env = "ATOMIK_SESSION_TTL_HOURS")]
    pub session_ttl_hours: Option<u64>,
    /// URL users reach atomik at, for OAuth redirects [default: http://<listen>]
    #[arg(long, env = "ATOMIK_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Start the built-in broker simulators as the Demo environments [default: true]
    #[arg(long, env = "ATOMIK_DEMO")]
    pub demo: Option<bool>,
    /// Use a Tradovate simulator running elsewhere (e.g. `atomik sim`) as the Demo environment [default: in-process]
    #[arg(long, env = "ATOMIK_TRADOVATE_SIM_URL")]
    pub tradovate_sim_url: Option<String>,
    /// Binance Testnet spot REST base [default: the built-in simulator in demo mode, else https://testnet.binance.vision]
    #[arg(long, env = "ATOMIK_BINANCE_TESTNET_SPOT_URL")]
    pub binance_testnet_spot_url: Option<String>,
    /// Binance Testnet USDⓈ-M futures REST base [default: the built-in simulator in demo mode, else https://testnet.binancefuture.com]
    #[arg(long, env = "ATOMIK_BINANCE_TESTNET_FUTURES_URL")]
    pub binance_testnet_futures_url: Option<String>,
    /// Binance Live spot REST base [default: https://api.binance.com]
    #[arg(long, env = "ATOMIK_BINANCE_LIVE_SPOT_URL")]
    pub binance_live_spot_url: Option<String>,
    /// Binance Live USDⓈ-M futures REST base [default: https://fapi.binance.com]
    #[arg(long, env = "ATOMIK_BINANCE_LIVE_FUTURES_URL")]
    pub binance_live_futures_url: Option<String>,
    /// Polymarket CLOB for the Demo environment (a staging CLOB or a simulator elsewhere; it must also serve /gamma and /data-api, as `atomik sim` does) [default: the built-in simulator in demo mode]
    #[arg(long, env = "ATOMIK_POLYMARKET_DEMO_CLOB_URL")]
    pub polymarket_demo_clob_url: Option<String>,
    /// A Polymarket market order's worst price beyond the best on the book, in price units, when the alert carries no price [default: 0.05]
    #[arg(long, env = "ATOMIK_POLYMARKET_MAX_SLIPPAGE")]
    pub polymarket_max_slippage: Option<rust_decimal::Decimal>,
    /// Identical webhook payloads within this many milliseconds are duplicates [default: 1000]
    #[arg(long, env = "ATOMIK_DUPLICATE_WINDOW_MS")]
    pub duplicate_window_ms: Option<i64>,
    /// Default webhook rate limit, requests per second (a webhook may set its own within its plan's ceiling) [default: 10]
    #[arg(long, env = "ATOMIK_WEBHOOK_RATE_PER_SECOND")]
    pub webhook_rate_per_second: Option<u32>,
    /// Default webhook burst on top of the rate [default: 50]
    #[arg(long, env = "ATOMIK_WEBHOOK_BURST")]
    pub webhook_burst: Option<u32>,
    /// Bearer token that /metrics answers on the main listener [default: not served there]
    #[arg(long, env = "ATOMIK_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<SecretArg>,
    /// Serve /metrics without authentication on this (private) address, e.g. 127.0.0.1:9090 [default: off]
    #[arg(long, env = "ATOMIK_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds a client has to send a request's headers [default: 10]
    #[arg(long, env = "ATOMIK_HEADER_READ_TIMEOUT_SECS")]
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds an idle connection (no request in flight) stays open [default: 60]
    #[arg(long, env = "ATOMIK_IDLE_TIMEOUT_SECS")]
    pub idle_timeout_secs: Option<u64>,
    /// Connections open at once [default: from the file-descriptor limit, at most 50000]
    #[arg(long, env = "ATOMIK_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Connections open at once from one address (trusted proxies exempt) [default: 256]
    #[arg(long, env = "ATOMIK_MAX_CONNECTIONS_PER_IP")]
    pub max_connections_per_ip: Option<usize>,
}

/// The TOML file's shape: the same names as the flags, with underscores.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub log_format: Option<LogFormat>,
    pub log: Option<String>,
    pub listen: Option<SocketAddr>,
    pub secure_cookies: Option<bool>,
    pub signup_enabled: Option<bool>,
    pub signup_plan: Option<String>,
    pub trusted_proxies: Option<Vec<IpAddr>>,
    pub session_ttl_hours: Option<u64>,
    pub public_url: Option<String>,
    pub demo: Option<bool>,
    pub duplicate_window_ms: Option<i64>,
    pub webhook_rate_per_second: Option<u32>,
    pub webhook_burst: Option<u32>,
    pub metrics_token: Option<SecretArg>,
    pub metrics_listen: Option<SocketAddr>,
    pub header_read_timeout_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub max_connections: Option<usize>,
    pub max_connections_per_ip: Option<usize>,
    pub tradovate_sim_url: Option<String>,
    pub vault_key_file: Option<PathBuf>,
    pub tradovate_client_id: Option<String>,
    pub binance_testnet_spot_url: Option<String>,
    pub binance_testnet_futures_url: Option<String>,
    pub binance_live_spot_url: Option<String>,
    pub binance_live_futures_url: Option<String>,
    pub polymarket_demo_clob_url: Option<String>,
    pub polymarket_max_slippage: Option<rust_decimal::Decimal>,
}

impl FileConfig {
    /// Read the file named by `--config`, or `./atomik.toml` if present.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<FileConfig> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let default = PathBuf::from("atomik.toml");
                if !default.exists() {
                    return Ok(FileConfig::default());
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read configuration file {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("invalid configuration file {}", path.display()))
    }
}

/// Fully resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub log_format: LogFormat,
    pub log: String,
    pub listen: SocketAddr,
    pub public_url: String,
    pub demo: bool,
    /// An external Tradovate simulator for the Demo environment.
    pub tradovate_sim_url: Option<String>,
    pub vault_key_file: PathBuf,
    /// Base64 vault key from `ATOMIK_VAULT_KEY` (instead of the key file),
    /// and older keys still needed during a rotation (`ATOMIK_VAULT_OLD_KEYS`).
    pub vault_key_env: Option<(String, Vec<String>)>,
    /// A real Tradovate OAuth application (`ATOMIK_TRADOVATE_CLIENT_SECRET` holds its secret).
    pub tradovate_client_id: Option<String>,
    /// Binance REST bases: Testnet (spot, futures) when set — else the
    /// built-in simulator in demo mode, else Binance's testnet — and Live.
    pub binance_testnet: Option<(String, String)>,
    pub binance_live: (String, String),
    /// Polymarket's Demo-environment CLOB (else the built-in simulator in
    /// demo mode, else no Demo environment).
    pub polymarket_demo_clob_url: Option<String>,
    /// A market order's worst price beyond the best on the book.
    pub polymarket_max_slippage: rust_decimal::Decimal,
    /// A private address serving `/metrics` without authentication.
    pub metrics_listen: Option<SocketAddr>,
    pub server: atomik_server::ServerConfig,
}

impl Settings {
    pub fn resolve(global: &GlobalArgs, serve: &ServeArgs) -> anyhow::Result<Settings> {
        let file = FileConfig::load(global.config.as_deref())?;
        let data_dir = global
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("atomik-data"));
        let database_url = match global.database_url.clone().or(file.database_url) {
            Some(url) => url,
            None => format!("sqlite://{}", data_dir.join("atomik.db").display()),
        };
        let defaults = atomik_server::ServerConfig::default();
        let session_ttl_hours = serve
            .session_ttl_hours
            .or(file.session_ttl_hours)
            .unwrap_or(168);
        if session_ttl_hours == 0 {
            bail!("session_ttl_hours must be at least 1");
        }
        let listen = serve
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let public_url = serve
            .public_url
            .clone()
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        let vault_key_file = global
            .vault_key_file
            .clone()
            .or(file.vault_key_file)
            .unwrap_or_else(|| data_dir.join("vault.key"));
        let vault_key_env = std::env::var("ATOMIK_VAULT_KEY")
            .ok()
            .filter(|k| !k.is_empty())
            .map(|k| {
                let old = std::env::var("ATOMIK_VAULT_OLD_KEYS")
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                (k, old)
            });
        let testnet_spot = serve
            .binance_testnet_spot_url
            .clone()
            .or(file.binance_testnet_spot_url);
        let testnet_futures = serve
            .binance_testnet_futures_url
            .clone()
            .or(file.binance_testnet_futures_url);
        let binance_testnet = match (testnet_spot, testnet_futures) {
            (None, None) => None,
            (spot, futures) => {
                let spot = spot.or(futures.clone()).unwrap_or_default();
                Some((spot.clone(), futures.unwrap_or(spot)))
            }
        };
        let binance_live = (
            serve
                .binance_live_spot_url
                .clone()
                .or(file.binance_live_spot_url)
                .unwrap_or_else(|| "https://api.binance.com".into()),
            serve
                .binance_live_futures_url
                .clone()
                .or(file.binance_live_futures_url)
                .unwrap_or_else(|| "https://fapi.binance.com".into()),
        );
        let polymarket_demo_clob_url = serve
            .polymarket_demo_clob_url
            .clone()
            .or(file.polymarket_demo_clob_url);
        let polymarket_max_slippage = serve
            .polymarket_max_slippage
            .or(file.polymarket_max_slippage)
            .unwrap_or(atomik_polymarket::PolymarketConfig::DEFAULT_SLIPPAGE);
        if polymarket_max_slippage <= rust_decimal::Decimal::ZERO
            || polymarket_max_slippage >= rust_decimal::Decimal::ONE
        {
            anyhow::bail!(
                "polymarket_max_slippage must be above 0 and below 1 (a price difference, e.g. 0.05); it is {polymarket_max_slippage}"
            );
        }
        let webhook_rate = atomik_server::ratelimit::Rate {
            per_second: serve
                .webhook_rate_per_second
                .or(file.webhook_rate_per_second)
                .unwrap_or(defaults.webhook_rate.per_second),
            burst: serve
                .webhook_burst
                .or(file.webhook_burst)
                .unwrap_or(defaults.webhook_rate.burst),
        };
        if webhook_rate.per_second == 0 || webhook_rate.burst < webhook_rate.per_second {
            bail!(
                "webhook_rate_per_second must be at least 1 and webhook_burst at least the rate (got {} and {})",
                webhook_rate.per_second,
                webhook_rate.burst
            );
        }
        let metrics_token = serve.metrics_token.clone().or(file.metrics_token);
        if metrics_token.as_ref().is_some_and(|t| t.0.len() < 16) {
            bail!("metrics_token must be at least 16 characters (it guards /metrics)");
        }
        let limits = atomik_server::listener::ConnectionLimits::default();
        let secs = |v: Option<u64>, name: &str, default: std::time::Duration| match v {
            Some(0) => bail!("{name} must be at least 1 second"),
            Some(s) => Ok(Duration::from_secs(s)),
            None => Ok(default),
        };
        let connections = atomik_server::listener::ConnectionLimits {
            header_read_timeout: secs(
                serve
                    .header_read_timeout_secs
                    .or(file.header_read_timeout_secs),
                "header_read_timeout_secs",
                limits.header_read_timeout,
            )?,
            idle_timeout: secs(
                serve.idle_timeout_secs.or(file.idle_timeout_secs),
                "idle_timeout_secs",
                limits.idle_timeout,
            )?,
            max_connections: serve.max_connections.or(file.max_connections),
            max_per_ip: serve
                .max_connections_per_ip
                .or(file.max_connections_per_ip)
                .unwrap_or(limits.max_per_ip)
                .max(1),
        };
        Ok(Settings {
            metrics_listen: serve.metrics_listen.or(file.metrics_listen),
            binance_testnet,
            binance_live,
            polymarket_demo_clob_url,
            polymarket_max_slippage,
            public_url,
            demo: serve.demo.or(file.demo).unwrap_or(true),
            tradovate_sim_url: serve.tradovate_sim_url.clone().or(file.tradovate_sim_url),
            vault_key_file,
            vault_key_env,
            tradovate_client_id: std::env::var("ATOMIK_TRADOVATE_CLIENT_ID")
                .ok()
                .or(file.tradovate_client_id),
            data_dir,
            database_url,
            log_format: global
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Human),
            log: global
                .log
                .clone()
                .or(file.log)
                .unwrap_or_else(|| "info".into()),
            listen,
            server: atomik_server::ServerConfig {
                secure_cookies: serve
                    .secure_cookies
                    .or(file.secure_cookies)
                    .unwrap_or(defaults.secure_cookies),
                session_ttl: Duration::from_secs(session_ttl_hours * 3600),
                signup_enabled: serve
                    .signup_enabled
                    .or(file.signup_enabled)
                    .unwrap_or(defaults.signup_enabled),
                signup_plan: serve
                    .signup_plan
                    .clone()
                    .or(file.signup_plan)
                    .unwrap_or(defaults.signup_plan),
                trusted_proxies: serve
                    .trusted_proxies
                    .clone()
                    .or(file.trusted_proxies)
                    .unwrap_or_default(),
                throttle: defaults.throttle,
                duplicate_window_ms: serve
                    .duplicate_window_ms
                    .or(file.duplicate_window_ms)
                    .unwrap_or(defaults.duplicate_window_ms)
                    .max(0),
                webhook_rate,
                metrics_token: metrics_token.map(|t| atomik_secrets::Secret::new(t.0)),
                connections,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(config: &Path) -> GlobalArgs {
        GlobalArgs {
            config: Some(config.to_path_buf()),
            data_dir: None,
            database_url: None,
            log_format: None,
            log: None,
            vault_key_file: None,
        }
    }

    #[test]
    fn flags_beat_file_and_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("atomik.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nsignup_plan = \"trader\"\nlog_format = \"json\"\n",
        )
        .unwrap();
        let g = global(&path);
        let from_file = Settings::resolve(&g, &ServeArgs::default()).unwrap();
        assert_eq!(from_file.listen.port(), 9000);
        assert_eq!(from_file.server.signup_plan, "trader");
        assert_eq!(from_file.log_format, LogFormat::Json);
        assert!(from_file.database_url.starts_with("sqlite://atomik-data/"));
        let serve = ServeArgs {
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..ServeArgs::default()
        };
        let with_flag = Settings::resolve(&g, &serve).unwrap();
        assert_eq!(with_flag.listen.port(), 9100);
        assert_eq!(with_flag.server.signup_plan, "trader");
    }

    #[test]
    fn unknown_keys_in_file_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("atomik.toml");
        std::fs::write(&path, "listne = \"127.0.0.1:9000\"\n").unwrap();
        let err = Settings::resolve(&global(&path), &ServeArgs::default()).unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown field `listne`"),
            "{err:#}"
        );
    }
}
