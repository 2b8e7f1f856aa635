//! Flags and environment, resolved once into [`Settings`] before a command
//! runs. Nothing below the command line reads the environment.

use std::path::{Path, PathBuf};

use anstream::ColorChoice;
use std::time::Duration;

use periscope_client::{
    ApiKey, ClientConfig, Credentials, MAX_RATE_LIMIT, MIN_RATE_LIMIT, ReadLimits,
};

use crate::error::{CliError, CliResult};
use crate::{ColorWhen, GlobalArgs};

/// Where the API key comes from.
#[derive(Debug)]
enum KeySource {
    File(PathBuf),
    /// `PERISCOPE_API_KEY`, if set.
    Env(Option<ApiKey>),
}

/// Everything a command needs from its flags and environment.
#[derive(Debug)]
pub struct Settings {
    /// The config file or directory.
    pub config: PathBuf,
    /// Whether the config was named (`-f`, `ROLECALL_CONFIG`), not the
    /// default.
    pub config_given: bool,
    /// Whether rolecall chose to read a directory whose `rolecall.yaml` is
    /// its root file (no `-f`, or `-f DIR/rolecall.yaml`).
    pub config_whole: bool,
    /// `ROLECALL_TODAY` (`YYYY-MM-DD`): the day memberships end against,
    /// for reproducible runs; else the clock's UTC day.
    pub today: Option<String>,
    /// The API's base URL.
    pub endpoint: String,
    /// `--site` as given (the emulator serves that site).
    pub site_flag: Option<String>,
    /// `--site`, else `PERISCOPE_SITE`.
    site: Option<String>,
    key: KeySource,
    color: ColorChoice,
    /// `-v`: how much to log.
    pub verbose: u8,
    /// `-q`: print only what was asked for.
    pub quiet: bool,
    /// Per request.
    pub timeout: Duration,
    /// Retries of one call.
    pub retry_budget: Duration,
    /// Bounds on what a server can make rolecall read.
    pub read_limits: ReadLimits,
    /// Bytes of one config file.
    pub max_config_size: usize,
    /// Bytes of a snapshot file (`plan --from-snapshot`).
    pub max_snapshot_size: usize,
    /// Requests per second, at most (`None`: only the adaptive pace).
    pub rate_limit: Option<f64>,
    /// The key to redact from output, read once (from the key file too).
    redact_key: std::sync::OnceLock<Option<ApiKey>>,
}

/// Requests per second, from [`MIN_RATE_LIMIT`] to [`MAX_RATE_LIMIT`].
pub(crate) fn rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if (MIN_RATE_LIMIT..=MAX_RATE_LIMIT).contains(&r) => Ok(r),
        Ok(r) if r.is_finite() => Err(format!(
            "`{text}` is out of range: a rate is {MIN_RATE_LIMIT} to {MAX_RATE_LIMIT} requests per second"
        )),
        _ => Err(format!(
            "`{text}` is not a rate: write requests per second from {MIN_RATE_LIMIT} to {MAX_RATE_LIMIT}, e.g. `50`"
        )),
    }
}

/// The longest duration a flag takes: a week (no wait of rolecall's needs
/// more, and the clock arithmetic stays far from overflow).
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// `30s`, `2m`, `1h30m`: more than 0, a week at most.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}): write e.g. `30s`, `2m`"))
        .and_then(|d| {
            if d.is_zero() {
                Err("a duration must be more than 0".to_string())
            } else if d > MAX_DURATION {
                Err(format!(
                    "`{text}` is out of range: a duration is a week (`7d`) at most"
                ))
            } else {
                Ok(d)
            }
        })
}

/// `1048576`, `512K`, `64M`, `1G` (KiB, MiB, GiB).
pub(crate) fn size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => {
            return Err(format!(
                "`{text}` is not a size: write e.g. `1048576`, `512K`, `64M`"
            ));
        }
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size: write e.g. `1048576`, `512K`, `64M`"))?;
    n.checked_mul(1 << shift)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{text}` is not a size that fits"))
}

impl Settings {
    /// Reads the environment once; credentials are checked only when a
    /// command asks for them ([`Settings::credentials`]).
    pub fn resolve(global: &GlobalArgs) -> Self {
        let env = |name: &str| std::env::var(name).ok();
        Self {
            config: global.config.clone(),
            config_given: false,
            config_whole: false,
            today: env("ROLECALL_TODAY"),
            endpoint: global.endpoint.clone(),
            site_flag: global.site.clone(),
            site: global.site.clone().or_else(|| env("PERISCOPE_SITE")),
            key: match &global.api_key_file {
                Some(path) => KeySource::File(path.clone()),
                None => KeySource::Env(env("PERISCOPE_API_KEY").map(ApiKey::new)),
            },
            color: match global.color {
                ColorWhen::Auto => ColorChoice::Auto,
                ColorWhen::Always => ColorChoice::Always,
                ColorWhen::Never => ColorChoice::Never,
            },
            verbose: global.verbose,
            quiet: global.quiet,
            timeout: global.limits.timeout,
            retry_budget: global.limits.retry_budget,
            read_limits: ReadLimits {
                max_body_bytes: global.limits.max_response_size,
                max_pages: global.limits.max_pages as usize,
                max_items: global.limits.max_items as usize,
                read_deadline: global.limits.read_deadline,
            },
            max_config_size: global.limits.max_config_size,
            max_snapshot_size: global.limits.max_snapshot_size,
            rate_limit: global.limits.rate_limit,
            redact_key: std::sync::OnceLock::new(),
        }
    }

    /// The day memberships end against: `ROLECALL_TODAY`, or the clock.
    pub fn today(&self) -> crate::error::CliResult<rolecall_core::config::date::Date> {
        match self.today.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(text) => rolecall_core::config::date::Date::parse(text.trim()).map_err(|why| {
                crate::error::CliError::msg(format!("ROLECALL_TODAY: {why}")).with_hint(
                    "write the day as `YYYY-MM-DD`, or unset ROLECALL_TODAY to use the clock",
                )
            }),
            None => Ok(rolecall_core::config::date::Date::of(
                std::time::SystemTime::now(),
            )),
        }
    }

    /// The config a command reads: without `-f`, the current directory's
    /// config as a whole (a `rolecall.yaml` with files of entries beside it
    /// loads the directory); `-f DIR/rolecall.yaml` of a directory config,
    /// the directory (said on stderr).
    pub fn resolve_config(&mut self) {
        use rolecall_core::config::load;
        if !self.config_given {
            let found = load::default_config(Path::new("."));
            self.config = match found.file_name() {
                Some(name) if found != Path::new(".") => name.into(),
                _ => ".".into(),
            };
            self.config_whole = self.config == Path::new(".");
            return;
        }
        let Some(dir) = load::directory_of_root(&self.config) else {
            return;
        };
        if !self.quiet {
            use std::io::Write as _;
            let _ = writeln!(
                self.stderr(),
                "note: `{}` is the root file of the config in `{}` (files beside it hold roles or users): reading `{}` whole",
                rolecall_core::text::path(&self.config),
                rolecall_core::text::path(&dir),
                rolecall_core::text::path(&dir)
            );
        }
        self.config = dir;
        self.config_whole = true;
    }

    /// How configs are loaded.
    pub fn load_options(&self) -> rolecall_core::LoadOptions {
        rolecall_core::LoadOptions {
            max_file_bytes: self.max_config_size,
            raise_with: Some("`--max-config-size`".into()),
        }
    }

    /// A client config for `endpoint` with these settings' timeouts and limits.
    pub fn client_config(&self, endpoint: String, credentials: Credentials) -> ClientConfig {
        let mut config = ClientConfig::new(endpoint, credentials);
        config.timeout = self.timeout;
        config.connect_timeout = self.timeout.min(config.connect_timeout);
        config.retry.max_elapsed = self.retry_budget;
        config.limits = self.read_limits;
        config.rate_limit = self.rate_limit;
        config
    }

    /// `text` with the API key redacted (as server text is), if a key is
    /// given: every diagnostic and error goes through it before it is shown.
    pub fn redact(&self, text: &str) -> String {
        let key = self.redact_key.get_or_init(|| {
            let key = match &self.key {
                KeySource::Env(key) => key.clone(),
                KeySource::File(path) => std::fs::metadata(path)
                    .is_ok_and(|m| m.is_file())
                    .then(|| std::fs::read_to_string(path).ok())
                    .flatten()
                    .map(|t| ApiKey::new(t.trim())),
            };
            key.filter(|k| !k.is_empty())
        });
        match key {
            Some(key) => key.redact(text),
            None => text.to_string(),
        }
    }

    /// The site and its API key (the key file read now, its surrounding
    /// whitespace removed).
    pub fn credentials(&self) -> CliResult<Credentials> {
        let Some(site) = self.site.clone() else {
            return Err(CliError::msg("no site to connect to").with_hint(
                "set PERISCOPE_SITE or pass `--site` (the segment after /app/ in a dashboard URL)",
            ));
        };
        if site.is_empty() || site.contains(':') {
            return Err(CliError::msg(format!("`{site}` is not a site name"))
                .with_hint("the site is the segment after /app/ in a dashboard URL"));
        }
        let key = match &self.key {
            KeySource::File(path) => {
                if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
                    return Err(CliError::msg(format!(
                        "the API key file `{}` is not a regular file",
                        rolecall_core::text::path(path)
                    )));
                }
                let text = std::fs::read_to_string(path).map_err(|e| {
                    CliError::msg(format!(
                        "cannot read the API key file `{}`: {e}",
                        path.display()
                    ))
                })?;
                ApiKey::new(text.trim())
            }
            KeySource::Env(Some(key)) => key.clone(),
            KeySource::Env(None) => {
                return Err(CliError::msg("no API key")
                    .with_hint("set PERISCOPE_API_KEY or pass `--api-key-file FILE`"));
            }
        };
        if key.is_empty() {
            return Err(CliError::msg("the API key is empty").with_hint(
                "put the key in PERISCOPE_API_KEY or the `--api-key-file`; in CI, a secret that is not set, or a run from a fork, leaves it empty",
            ));
        }
        Ok(Credentials::new(site, key))
    }

    /// Standard error, styled where color is on.
    pub fn stderr(&self) -> anstream::AutoStream<std::io::Stderr> {
        anstream::AutoStream::new(std::io::stderr(), self.color)
    }

    /// Standard output, styled where color is on.
    pub fn stdout(&self) -> anstream::AutoStream<std::io::Stdout> {
        anstream::AutoStream::new(std::io::stdout(), self.color)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(key: KeySource) -> Settings {
        Settings {
            config: "rolecall.yaml".into(),
            config_given: false,
            config_whole: false,
            today: None,
            endpoint: String::new(),
            site_flag: None,
            site: Some("acme".into()),
            key,
            color: ColorChoice::Never,
            verbose: 0,
            quiet: false,
            timeout: Duration::from_secs(30),
            retry_budget: Duration::from_secs(120),
            read_limits: ReadLimits::default(),
            max_config_size: 64 << 20,
            max_snapshot_size: 256 << 20,
            rate_limit: None,
            redact_key: std::sync::OnceLock::new(),
        }
    }

    #[test]
    fn credentials_from_a_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "  s3cr3t-from-file\n").unwrap();
        let creds = settings(KeySource::File(path.clone()))
            .credentials()
            .unwrap();
        assert_eq!(creds.site, "acme");
        assert_eq!(creds.key, ApiKey::new("s3cr3t-from-file"));
        let missing = settings(KeySource::File("/no/such/key".into()))
            .credentials()
            .unwrap_err();
        assert!(
            format!("{missing:?}").contains("cannot read the API key file `/no/such/key`"),
            "{missing:?}"
        );
        std::fs::write(&path, "\n").unwrap();
        let empty = settings(KeySource::File(path)).credentials().unwrap_err();
        assert!(format!("{empty:?}").contains("the API key is empty"));
        let no_key = settings(KeySource::Env(None)).credentials().unwrap_err();
        assert!(format!("{no_key:?}").contains("PERISCOPE_API_KEY"));
        let mut bad_site = settings(KeySource::Env(Some(ApiKey::new("k"))));
        bad_site.site = Some("a:b".into());
        assert!(bad_site.credentials().is_err());
    }
}
