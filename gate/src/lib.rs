//! The tool-call gate: decides whether an agent's tool call may run.
//!
//! This crate will own the classification of every OpenClaw `before_tool_call` event into a
//! tier (Green, Yellow, Yellow+External, Red, Critical Red), the autonomy matrix that crosses
//! a tier with the agent's level (1-3) to a verdict (run, ask for approval, never
//! auto-approve), the per-agent and per-channel unlocks of external communication (locked by
//! default at every level), and the local cache of Hub approvals, which expire after 24 h.
//!
//! It must never execute a tool call, talk to the Hub itself (that goes through
//! `airlock-hub-client`), or depend on a sibling crate: it classifies and decides, nothing else.
//! Nothing is implemented yet; the crate exists so that its place in the workspace is fixed.
#![forbid(unsafe_code)]
