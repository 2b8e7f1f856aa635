//! `periscope-emulator`: the Periscope Data User & Role Management API
//! (`docs/periscope-api.md` in the repository) in memory, for integration tests, benchmarks,
//! `--sandbox` and rehearsals on a copy of a site.
//!
//! [`spawn`] starts one on `127.0.0.1` (a free port by default) on its own
//! thread and runtime, so it works from sync tests and async code alike, and
//! stops when the [`Emulator`] handle is dropped. [`router`] is the bare axum
//! router for in-process use.

mod model;
mod options;
mod server;
mod site;

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

pub use model::{Dashboard, Id, Permission, Privilege, Role, Snapshot, User};
pub use options::{
    DEFAULT_SITE, Faults, LOCAL_API_KEY, Logged, Options, Outcome, Quirks, RequestHook,
};
pub use server::{AUTH_HEADER, Shared, router};
pub use site::{ACTIONS, ApiError, Site, is_email};

use server::{Bucket, lock};

/// Why an emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The seed file could not be read.
    #[error("cannot read seed `{}`", path.display())]
    ReadSeed {
        /// The seed file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The seed file is not a snapshot.
    #[error("`{}` is not a snapshot file", path.display())]
    ParseSeed {
        /// The seed file.
        path: PathBuf,
        /// Why it is not a snapshot, with the JSON position.
        source: serde_json::Error,
    },
    /// The snapshot contradicts itself.
    #[error("invalid seed for site `{site}`: {message}")]
    InvalidSeed {
        /// The seed's site name.
        site: String,
        /// What the snapshot contradicts.
        message: String,
    },
    /// `site` was given and differs from the seed's.
    #[error("the seed is for site `{seed}`, not `{given}`")]
    SiteMismatch {
        /// The seed's site name.
        seed: String,
        /// The site name of the options.
        given: String,
    },
    /// The port could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}")]
    Bind {
        /// The port asked for (`0`: any free one).
        port: u16,
        /// Why it could not be bound.
        source: std::io::Error,
    },
    /// The runtime could not start.
    #[error("cannot start the emulator's runtime")]
    Runtime(#[source] std::io::Error),
}

/// Builds the shared state of an emulator from its options.
pub fn shared(options: &Options) -> Result<Arc<Shared>, Error> {
    let site = match &options.seed {
        Some(seed) => {
            if let Some(given) = &options.site
                && *given != seed.site
            {
                return Err(Error::SiteMismatch {
                    seed: seed.site.clone(),
                    given: given.clone(),
                });
            }
            Site::from_snapshot(seed, options.rng_seed, &options.extra_actions).map_err(
                |message| Error::InvalidSeed {
                    site: seed.site.clone(),
                    message,
                },
            )?
        }
        None => Site::new(
            options.site.as_deref().unwrap_or(DEFAULT_SITE),
            options.rng_seed,
            &options.extra_actions,
        ),
    };
    let api_key = options
        .api_key
        .clone()
        .or_else(|| options.seed.as_ref().and_then(|s| s.api_key.clone()))
        .unwrap_or_else(|| LOCAL_API_KEY.to_string());
    Ok(Arc::new(Shared {
        site_name: site.name.clone(),
        site: Mutex::new(site),
        api_key,
        page_size: options.page_size.max(1),
        quirks: options.quirks,
        bucket: Mutex::new(Bucket::of(&options.faults)),
        faults: Mutex::new(options.faults.clone()),
        rng: Mutex::new(fastrand::Rng::with_seed(options.rng_seed)),
        log: Mutex::new(VecDeque::new()),
        log_capacity: options.log_capacity.max(1),
        seq: AtomicU64::new(0),
        writes: AtomicU64::new(0),
        in_flight: std::sync::atomic::AtomicUsize::new(0),
        hook: options.on_request.clone(),
    }))
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts an emulator on `127.0.0.1:<options.port>` on a thread of its own.
pub fn spawn(options: Options) -> Result<Emulator, Error> {
    let shared = shared(&options)?;
    let listener =
        std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, options.port)).map_err(|source| {
            Error::Bind {
                port: options.port,
                source,
            }
        })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| Error::Bind {
            port: options.port,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Bind {
        port: options.port,
        source,
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.worker_threads.max(1))
        .thread_name("periscope-emulator")
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let (stop, stopped) = oneshot::channel();
    let state = shared.clone();
    let thread = std::thread::Builder::new()
        .name("periscope-emulator".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("a bound listener");
                serve(listener, state, stopped).await;
            });
        })
        .map_err(Error::Runtime)?;
    Ok(Emulator {
        addr,
        shared,
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// Serves on the current runtime until `stop` fires (or is dropped).
pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let app = router(shared.clone());
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let (shared, app) = (shared.clone(), app.clone());
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        server::handle(shared.clone(), app.clone(), request)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // Dropping the set aborts the connections still open.
}

impl Emulator {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on, `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The name of the site it serves.
    pub fn site(&self) -> &str {
        &self.shared.site_name
    }

    /// The key it accepts. (An emulator's key is not a secret: it guards
    /// nothing but this process.)
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// The `HTTP-X-PARTNER-AUTH` value to send.
    pub fn auth_header(&self) -> String {
        format!("{}:{}", self.shared.site_name, self.shared.api_key)
    }

    /// The whole site as it is now.
    pub fn snapshot(&self) -> Snapshot {
        lock(&self.shared.site).snapshot()
    }

    /// The requests seen so far (the newest `log_capacity` of them).
    pub fn requests(&self) -> Vec<Logged> {
        lock(&self.shared.log).iter().cloned().collect()
    }

    /// Forgets the requests seen so far.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Renames a dashboard of the running site, as a BI user does in the
    /// web UI (the API has no call for it); `false` when there is none.
    pub fn rename_dashboard(&self, id: &str, name: &str) -> bool {
        lock(&self.shared.site).rename_dashboard(id, name)
    }

    /// Changes the faults of a running emulator (e.g. after seeding it
    /// through the API with none).
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.bucket) = Bucket::of(&faults);
        *lock(&self.shared.faults) = faults;
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
