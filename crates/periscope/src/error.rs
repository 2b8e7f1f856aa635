//! What can go wrong talking to a site, each with what to do about it. No
//! variant ever holds the API key: URLs and server messages only.

/// An error of the client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `401`: the site refused the credentials.
    #[error(
        "the site `{site}` refused the credentials (401) at {url}: check the site name (the segment after /app/ in a dashboard URL) and the API key"
    )]
    Unauthorized {
        /// The site name the credentials were for.
        site: String,
        /// The URL of the call.
        url: String,
    },
    /// `403`: the call is not allowed (Admin and Everyone cannot be deleted or renamed).
    #[error("forbidden (403) at {url}: {message}")]
    Forbidden {
        /// The URL of the call.
        url: String,
        /// The server's message: the `error` of its JSON body, or the start of the body.
        message: String,
    },
    /// `404`: the object is not there (deleted meanwhile?).
    #[error("not found (404) at {url}: {message}")]
    NotFound {
        /// The URL of the call.
        url: String,
        /// The server's message: the `error` of its JSON body, or the start of the body.
        message: String,
    },
    /// `409`: an object with that email or name exists already.
    #[error("conflict (409) at {url}: {message}")]
    Conflict {
        /// The URL of the call.
        url: String,
        /// The server's message: the `error` of its JSON body, or the start of the body.
        message: String,
    },
    /// Another `4xx`: the server refused the request; its message says why.
    #[error("the server refused the request ({status}) at {url}: {message}")]
    Rejected {
        /// The URL of the call.
        url: String,
        /// The HTTP status of the answer.
        status: u16,
        /// The server's message: the `error` of its JSON body, or the start of the body.
        message: String,
    },
    /// Still `429` after every retry.
    #[error(
        "still rate limited (429) at {url} after {attempts} attempts: send fewer calls at once or per second, or try later"
    )]
    RateLimited {
        /// The URL of the call.
        url: String,
        /// Attempts made, the first included.
        attempts: u32,
    },
    /// `429` with a `Retry-After` longer than what is left of the retry
    /// budget: not waited out (a hostile or confused server may ask for a
    /// year).
    #[error(
        "rate limited (429) at {url}: the site asks to wait {wait_s} s{or_more}, longer than the {budget_s} s left of the retry budget; the call was not sent again (raise `--retry-budget`, or try later)",
        or_more = if *wait_s >= 3600 { " or more" } else { "" }
    )]
    WaitTooLong {
        /// The URL of the call.
        url: String,
        /// The wait `Retry-After` asked for, in seconds, rounded up.
        wait_s: u64,
        /// The seconds left of the retry budget.
        budget_s: u64,
    },
    /// Still `5xx` after every retry.
    #[error("server error ({status}) at {url} after {attempts} attempts: {message}")]
    Server {
        /// The URL of the call.
        url: String,
        /// The HTTP status of the last answer.
        status: u16,
        /// The start of the last answer's body.
        message: String,
        /// Attempts made, the first included.
        attempts: u32,
    },
    /// No answer (connection refused or dropped, timeout) after every retry.
    #[error("no answer from {url} after {attempts} attempts: {reason}")]
    Network {
        /// The URL of the call.
        url: String,
        /// Attempts made, the first included.
        attempts: u32,
        /// Why the last attempt got no answer.
        reason: String,
    },
    /// An answer that is not what the API sends.
    #[error("cannot read the answer of {url}: {reason}; the answer began: {body_start}")]
    Decode {
        /// The URL of the call.
        url: String,
        /// Why the answer could not be read.
        reason: String,
        /// The first 200 characters of what could not be read, on one line.
        body_start: String,
    },
    /// A list could not be read whole; nothing partial is returned.
    #[error("incomplete list at {url}: {reason}")]
    IncompleteList {
        /// The URL of the page where the problem showed.
        url: String,
        /// Why the list is not whole.
        reason: String,
    },
    /// The server answered with a redirect, which is never followed: the
    /// endpoint is most likely wrong.
    #[error(
        "the endpoint answered {status} at {url}, a redirect to {location}; redirects are not followed: check the endpoint"
    )]
    Redirect {
        /// The URL of the call.
        url: String,
        /// The HTTP status of the redirect (`3xx`).
        status: u16,
        /// The host (scheme and authority) of `Location`, or `(none)`.
        location: String,
    },
    /// A bound on what a server can make the client read was hit.
    #[error("stopped reading at {url}: {limit}")]
    Limit {
        /// The URL of the call, or the endpoint for the read deadline.
        url: String,
        /// Which bound was hit, and its value.
        limit: crate::config::Limit,
    },
    /// A plain `http://` endpoint that is not on this machine.
    #[error(
        "refusing plain http to `{endpoint}`: the API key would cross the network unencrypted; use https (plain http is allowed only to 127.0.0.1, ::1 or localhost)"
    )]
    Insecure {
        /// The endpoint as configured.
        endpoint: String,
    },
    /// An endpoint that is not a URL.
    #[error("`{endpoint}` is not an endpoint URL: {reason}")]
    Endpoint {
        /// The endpoint as configured, or a placeholder if it holds credentials.
        endpoint: String,
        /// Why it is not a usable URL.
        reason: String,
    },
    /// Credentials missing or unreadable.
    #[error("{0}")]
    Credentials(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl Error {
    /// The URL the error is about, if it is about a call.
    pub fn url(&self) -> Option<&str> {
        match self {
            Error::Unauthorized { url, .. }
            | Error::Forbidden { url, .. }
            | Error::NotFound { url, .. }
            | Error::Conflict { url, .. }
            | Error::Rejected { url, .. }
            | Error::RateLimited { url, .. }
            | Error::WaitTooLong { url, .. }
            | Error::Server { url, .. }
            | Error::Network { url, .. }
            | Error::Decode { url, .. }
            | Error::IncompleteList { url, .. }
            | Error::Redirect { url, .. }
            | Error::Limit { url, .. } => Some(url),
            Error::Insecure { .. }
            | Error::Endpoint { .. }
            | Error::Credentials(_)
            | Error::Client(_) => None,
        }
    }

    /// The error with every text in it passed through `text` (server
    /// messages, bodies, reasons) and every URL through `url`: the one place
    /// where what a server said is made safe to show.
    pub(crate) fn scrub(self, text: impl Fn(&str) -> String, url: impl Fn(&str) -> String) -> Self {
        let t = |s: String| text(&s);
        let u = |s: String| url(&s);
        match self {
            Error::Unauthorized { site, url } => Error::Unauthorized { site, url: u(url) },
            Error::Forbidden { url, message } => Error::Forbidden {
                url: u(url),
                message: t(message),
            },
            Error::NotFound { url, message } => Error::NotFound {
                url: u(url),
                message: t(message),
            },
            Error::Conflict { url, message } => Error::Conflict {
                url: u(url),
                message: t(message),
            },
            Error::Rejected {
                url,
                status,
                message,
            } => Error::Rejected {
                url: u(url),
                status,
                message: t(message),
            },
            Error::RateLimited { url, attempts } => Error::RateLimited {
                url: u(url),
                attempts,
            },
            Error::WaitTooLong {
                url,
                wait_s,
                budget_s,
            } => Error::WaitTooLong {
                url: u(url),
                wait_s,
                budget_s,
            },
            Error::Server {
                url,
                status,
                message,
                attempts,
            } => Error::Server {
                url: u(url),
                status,
                message: t(message),
                attempts,
            },
            Error::Network {
                url,
                attempts,
                reason,
            } => Error::Network {
                url: u(url),
                attempts,
                reason: t(reason),
            },
            Error::Decode {
                url,
                reason,
                body_start,
            } => Error::Decode {
                url: u(url),
                reason: t(reason),
                body_start: t(body_start),
            },
            Error::IncompleteList { url, reason } => Error::IncompleteList {
                url: u(url),
                reason: t(reason),
            },
            Error::Redirect {
                url,
                status,
                location,
            } => Error::Redirect {
                url: u(url),
                status,
                location: t(location),
            },
            Error::Limit { url, limit } => Error::Limit { url: u(url), limit },
            // What the caller gave, never a server's words: the endpoint
            // as configured, the reason it is not a URL, a credential
            // source's error (never the key), the HTTP client's build.
            // Listed one by one, so that a new variant must say here
            // whether a server's text can reach it.
            Error::Insecure { endpoint } => Error::Insecure { endpoint },
            Error::Endpoint { endpoint, reason } => Error::Endpoint { endpoint, reason },
            Error::Credentials(why) => Error::Credentials(why),
            Error::Client(why) => Error::Client(why),
        }
    }

    /// The HTTP status the server answered, if the error is an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::NotFound { .. } => Some(404),
            Error::Conflict { .. } => Some(409),
            Error::Rejected { status, .. }
            | Error::Server { status, .. }
            | Error::Redirect { status, .. } => Some(*status),
            Error::RateLimited { .. } | Error::WaitTooLong { .. } => Some(429),
            _ => None,
        }
    }
}

/// The first 200 characters of a body, on one line, for messages.
pub(crate) fn body_start(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    if out.is_empty() {
        out.push_str("(empty)");
    }
    out
}
