//! One module per subcommand: each turns validated flags and the config into work.

pub mod redact;
pub mod rules;
pub mod serve;
pub mod usage;
pub mod vault;
