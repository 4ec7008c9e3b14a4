//! The client side of the central Hub's contract.
//!
//! This crate will own registering this airlock with the Hub, heartbeats, pulling policy
//! bundles and verifying their signatures before anything reads them, sending approval
//! requests and usage reports, and an outbox that keeps all of that working while the Hub is
//! unreachable.
//!
//! It must never make a policy decision (that is `airlock-gate`'s job) or send a secret value
//! anywhere: only names, placeholders, counts and verdicts leave the server through it.
//! Nothing is implemented yet; the crate exists so that its place in the workspace is fixed.
#![forbid(unsafe_code)]
