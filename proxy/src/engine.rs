//! What the proxy knows from the vault, swappable while requests run: the redaction engine in
//! force, the upstream credentials it injects, and where detected values go.
//!
//! Requests take the engine current when they start (a cheap `Arc` load); a vault change or a
//! learned value installs a new one atomically, and the next request uses it. Credentials are
//! held as sensitive header values (hyper keeps them out of its debug output); they are never
//! logged. Detected values
//! are handed to a learner (the binary's vault writer) without waiting: learning is best
//! effort, the value was already replaced in the request that carried it.

use std::collections::HashMap;
use std::sync::Arc;

use airlock_redact::{Detected, Redactor};
use arc_swap::ArcSwap;
use http::HeaderValue;

/// The engine in force, the credentials in force and the learner's mailbox.
pub struct Engine {
    current: ArcSwap<Redactor>,
    credentials: ArcSwap<HashMap<String, HeaderValue>>,
    learner: Option<tokio::sync::mpsc::Sender<Vec<Detected>>>,
    meter: Option<crate::metering::Meter>,
}

impl Engine {
    /// An engine that does not learn.
    pub fn new(redactor: Arc<Redactor>) -> Self {
        Engine {
            current: ArcSwap::new(redactor),
            credentials: ArcSwap::from_pointee(HashMap::new()),
            learner: None,
            meter: None,
        }
    }

    /// Sends the values each request's regex and entropy layers replaced to `learner`.
    pub fn with_learner(mut self, learner: tokio::sync::mpsc::Sender<Vec<Detected>>) -> Self {
        self.learner = Some(learner);
        self
    }

    /// Sends each response's token usage to `meter`.
    pub fn with_meter(mut self, meter: crate::metering::Meter) -> Self {
        self.meter = Some(meter);
        self
    }

    pub(crate) fn meter(&self) -> Option<&crate::metering::Meter> {
        self.meter.as_ref()
    }

    /// The engine for a request starting now.
    pub fn current(&self) -> Arc<Redactor> {
        self.current.load_full()
    }

    /// Installs a new engine for the requests that start from now on.
    pub fn replace(&self, redactor: Arc<Redactor>) {
        self.current.store(redactor);
    }

    /// Installs the upstream credentials, by vault name: each value as the header carries it
    /// (the bearer prefix is added per upstream). A value that cannot be a header (a line
    /// break in it) is left out, and requests that need it are refused.
    pub fn set_credentials<'a>(&self, values: impl IntoIterator<Item = (&'a str, &'a [u8])>) {
        let mut map = HashMap::new();
        for (name, value) in values {
            match HeaderValue::from_bytes(value) {
                Ok(mut header) => {
                    header.set_sensitive(true);
                    map.insert(name.to_owned(), header);
                }
                Err(_) => {
                    tracing::warn!(secret = name, "vault value cannot be sent as an HTTP header (control characters); requests needing it are refused");
                }
            }
        }
        self.credentials.store(Arc::new(map));
    }

    /// The credential stored under `name`.
    pub(crate) fn credential(&self, name: &str) -> Option<HeaderValue> {
        self.credentials.load().get(name).cloned()
    }

    /// Hands detected values to the learner, if there is one and it keeps up.
    pub(crate) fn learn(&self, detected: Vec<Detected>) {
        if detected.is_empty() {
            return;
        }
        if let Some(learner) = &self.learner {
            if learner.try_send(detected).is_err() {
                tracing::debug!("learner busy; detected values not remembered this time");
            }
        }
    }
}
