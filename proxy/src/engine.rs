//! The redaction engine in force, swappable while requests run, and where detected values go.
//!
//! Requests take the engine current when they start (a cheap `Arc` load); a vault change or a
//! learned value installs a new one atomically, and the next request uses it. Detected values
//! are handed to a learner (the binary's vault writer) without waiting: learning is best
//! effort, the value was already replaced in the request that carried it.

use std::sync::Arc;

use airlock_redact::{Detected, Redactor};
use arc_swap::ArcSwap;

/// The engine in force and the learner's mailbox.
pub struct Engine {
    current: ArcSwap<Redactor>,
    learner: Option<tokio::sync::mpsc::Sender<Vec<Detected>>>,
}

impl Engine {
    /// An engine that does not learn.
    pub fn new(redactor: Arc<Redactor>) -> Self {
        Engine {
            current: ArcSwap::new(redactor),
            learner: None,
        }
    }

    /// Sends the values each request's regex and entropy layers replaced to `learner`.
    pub fn with_learner(mut self, learner: tokio::sync::mpsc::Sender<Vec<Detected>>) -> Self {
        self.learner = Some(learner);
        self
    }

    /// The engine for a request starting now.
    pub fn current(&self) -> Arc<Redactor> {
        self.current.load_full()
    }

    /// Installs a new engine for the requests that start from now on.
    pub fn replace(&self, redactor: Arc<Redactor>) {
        self.current.store(redactor);
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
