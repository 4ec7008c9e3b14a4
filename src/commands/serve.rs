//! `airlock serve`: the proxy, with the engine built from the vault and rules in force.

use std::time::Duration;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::engine;

/// How long in-flight requests may take to finish after SIGTERM.
const DRAIN: Duration = Duration::from_secs(10);

pub fn run(config: Config) -> Result<()> {
    let rules = engine::load_rules(&config)?;
    let mut vault = engine::open_vault(&config)?;
    let redactor = engine::build_redactor(&mut vault, &config, rules)?;
    drop(vault);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let registry = redactor.registry_len();
        let rules = redactor.rules().rules().len();
        let proxy = airlock_proxy::Proxy::bind(config.proxy, redactor).await?;
        let addr = proxy.local_addr().context("reading the bound address")?;
        tracing::info!(
            registry_secrets = registry,
            rules,
            "airlock proxy listening on http://{addr}"
        );
        proxy.serve(shutdown_signal(), DRAIN).await?;
        Ok(())
    })
}

pub(crate) async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot watch SIGTERM; only Ctrl-C stops the proxy");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = terminate => {},
    }
}
