//! `airlock serve`: the proxy, with the engine built from the vault and rules in force.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::engine;

/// How long in-flight requests may take to finish after SIGTERM.
const DRAIN: Duration = Duration::from_secs(10);

pub fn run(config: Config, config_path: Option<PathBuf>) -> Result<()> {
    let rules = engine::load_rules(&config)?;
    let mut vault = engine::open_vault(&config)?;
    let values = engine::registry_values(&mut vault)?;
    let redactor = engine::build_redactor(&mut vault, &config, rules, &values)?;
    let mut proxy_engine = airlock_proxy::Engine::new(redactor.clone());
    proxy_engine.set_credentials(current_values(&values));
    drop(values);
    let learner = if config.learn {
        let (sender, receiver) = tokio::sync::mpsc::channel(LEARN_QUEUE);
        proxy_engine = proxy_engine.with_learner(sender);
        Some(receiver)
    } else {
        None
    };
    // Metering: finished responses' token counts go to home/usage.db from a writer thread.
    let (meter, metered) = tokio::sync::mpsc::unbounded_channel();
    let home = vault.home().to_owned();
    let mut usage = airlock_usage::UsageStore::open(&home).context("opening the usage store")?;
    std::thread::Builder::new()
        .name("airlock-meter".into())
        .spawn(move || record_usage(&mut usage, metered))
        .context("starting the usage writer")?;
    proxy_engine = proxy_engine.with_meter(meter);
    let proxy_engine = Arc::new(proxy_engine);
    let rebuilds = Arc::new(Mutex::new(()));
    {
        let watched = engine::open_vault(&config)?;
        let proxy_engine = proxy_engine.clone();
        let rebuilds = rebuilds.clone();
        std::thread::Builder::new()
            .name("airlock-vault-watch".into())
            .spawn(move || watch(watched, &proxy_engine, &rebuilds))
            .context("starting the vault watcher")?;
    }
    if let Some(receiver) = learner {
        let proxy_engine = proxy_engine.clone();
        let rebuilds = rebuilds.clone();
        std::thread::Builder::new()
            .name("airlock-learner".into())
            .spawn(move || learn(vault, receiver, &proxy_engine, &rebuilds))
            .context("starting the learner thread")?;
    }
    // HTTPS_PROXY tunnels to upstream hosts are intercepted with leaves from this CA.
    let ca = Arc::new(airlock_proxy::LocalCa::load_or_create(&home)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let registry = redactor.registry_len();
        let rules = redactor.rules().rules().len();
        drop(redactor);
        let shutdown = shutdown_signal()?;
        let metrics = Arc::new(airlock_proxy::Metrics::new());
        let listen = config.proxy.listen;
        // The proxy first: binding it checks the upstreams, and a bad upstream must be the
        // error the operator reads, not a metrics port that happens to be taken.
        let proxy = airlock_proxy::Proxy::bind(config.proxy, proxy_engine.clone(), metrics.clone())
            .await?
            .with_local_ca(ca);
        let (metrics_addr, _metrics_task) =
            airlock_proxy::serve_metrics(config.metrics_listen, metrics).await?;
        tracing::info!("metrics on http://{metrics_addr}/metrics");
        let addr = proxy.local_addr().context("reading the bound address")?;
        let reloader = proxy.reloader();
        tokio::spawn(reload_on_sighup(
            config_path,
            listen,
            proxy_engine,
            rebuilds,
            reloader,
        ));
        let scheme = if proxy.is_tls() { "https" } else { "http" };
        tracing::info!(
            registry_secrets = registry,
            rules,
            "airlock proxy listening on {scheme}://{addr}"
        );
        proxy.serve(shutdown, DRAIN).await?;
        Ok(())
    })
}

/// Writes each finished response's usage to the store, until the proxy drops its sender.
fn record_usage(
    store: &mut airlock_usage::UsageStore,
    mut metered: tokio::sync::mpsc::UnboundedReceiver<airlock_proxy::Usage>,
) {
    // Written every quarter second, all that arrived in one transaction: the proxy's send is
    // then a plain queue push (no thread to wake per response), and SQLite sees one commit
    // instead of thousands a second under load.
    const FLUSH: Duration = Duration::from_millis(250);
    let mut batch = Vec::new();
    let mut open = true;
    while open {
        std::thread::sleep(FLUSH);
        loop {
            match metered.try_recv() {
                Ok(next) => batch.push(next),
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => break,
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        // Summed per agent, upstream and model first: one row per flush under load.
        let now = std::time::SystemTime::now();
        let mut sums: std::collections::HashMap<(String, String, String), airlock_usage::Record> =
            std::collections::HashMap::new();
        for usage in batch.drain(..) {
            tracing::debug!(
                agent = %usage.agent,
                upstream = %usage.upstream,
                model = %usage.model,
                input = usage.input_tokens,
                output = usage.output_tokens,
                "metered"
            );
            let sum = sums
                .entry((
                    usage.agent.clone(),
                    usage.upstream.clone(),
                    usage.model.clone(),
                ))
                .or_insert_with(|| {
                    airlock_usage::Record::empty(now, usage.agent, usage.upstream, usage.model)
                });
            sum.requests += 1;
            sum.input_tokens += usage.input_tokens;
            sum.output_tokens += usage.output_tokens;
            sum.cache_creation_tokens += usage.cache_creation_tokens;
            sum.cache_read_tokens += usage.cache_read_tokens;
        }
        let records: Vec<airlock_usage::Record> = sums.into_values().collect();
        if let Err(error) = store.record_all(&records) {
            tracing::warn!(%error, count = records.len(), "usage not recorded");
        }
    }
}

/// Batches of detected values waiting for the learner; beyond this, new ones are dropped
/// (they were replaced in their request all the same).
const LEARN_QUEUE: usize = 256;

/// At most this many learned values are kept: an agent spraying random tokens must not grow
/// the registry (and slow every request) without bound. Past it, detected values are still
/// replaced in each request, just not remembered.
const LEARN_LIMIT: usize = 10_000;

/// Remembers detected values in the vault (source `detected`, named by their handle) and
/// installs an engine whose registry holds them, so later requests catch them in every
/// encoding under the same placeholder. Runs until the proxy drops its sender.
fn learn(
    mut vault: airlock_vault::Vault,
    mut receiver: tokio::sync::mpsc::Receiver<Vec<airlock_redact::Detected>>,
    engine: &airlock_proxy::Engine,
    rebuilds: &Mutex<()>,
) {
    let mut full_warned = false;
    while let Some(batch) = receiver.blocking_recv() {
        let mut added = Vec::new();
        for detected in batch {
            if vault
                .count(airlock_vault::Source::Detected)
                .map_or(true, |n| n >= LEARN_LIMIT)
            {
                if !full_warned {
                    tracing::warn!(limit = LEARN_LIMIT, "learned-value limit reached; detected values are no longer remembered (remove some with `airlock vault rm`)");
                    full_warned = true;
                }
                break;
            }
            let Ok(name) = airlock_vault::SecretName::new(detected.handle()) else {
                continue;
            };
            let value = airlock_vault::Secret::new(detected.expose().to_vec());
            match vault.add_detected(&name, &value) {
                Ok(true) => added.push(name.to_string()),
                Ok(false) => {}
                // Too short, not text, ...: the value stays a regex/entropy finding.
                Err(error) => tracing::debug!(handle = %name, %error, "detected value not learned"),
            }
        }
        if added.is_empty() {
            continue;
        }
        if reload(&mut vault, engine, rebuilds) {
            tracing::info!(handles = ?added, "learned detected values into the registry");
        }
    }
}

/// How often the watcher looks for vault changes made by other processes (`vault add`,
/// `set`, `rm`, `rotate-key`, `import`): well within the one second an operator may wait.
const WATCH_INTERVAL: Duration = Duration::from_millis(200);

/// Rebuilds the registry whenever another connection changes the vault's values, so added,
/// rotated and removed secrets take effect without a restart.
fn watch(mut vault: airlock_vault::Vault, engine: &airlock_proxy::Engine, rebuilds: &Mutex<()>) {
    let mut seen = vault.data_version().ok();
    // What the engine was last built from. Any commit changes `data_version`, audit entries
    // too (every reload writes one), so only a change of the values themselves reloads.
    let mut loaded = vault.values_fingerprint().ok();
    loop {
        std::thread::sleep(WATCH_INTERVAL);
        let now = match vault.data_version() {
            Ok(version) => Some(version),
            Err(error) => {
                tracing::warn!(%error, "cannot read the vault's change counter");
                continue;
            }
        };
        if now == seen {
            continue;
        }
        seen = now;
        let values = match vault.values_fingerprint() {
            Ok(values) => Some(values),
            Err(error) => {
                // Unknown is treated as changed: a reload costs time, a missed one a leak.
                tracing::warn!(%error, "cannot read the vault's values; reloading");
                None
            }
        };
        if values.is_some() && values == loaded {
            continue;
        }
        loaded = values;
        if reload(&mut vault, engine, rebuilds) {
            tracing::info!(
                registry_secrets = engine.current().registry_len(),
                "vault changed; registry reloaded"
            );
        }
    }
}

/// Rebuilds the engine from the vault as it is now and installs it. Rebuilds are serialised
/// so that a slower one built from an older state never replaces a newer one.
fn reload(
    vault: &mut airlock_vault::Vault,
    engine: &airlock_proxy::Engine,
    rebuilds: &Mutex<()>,
) -> bool {
    let _turn = rebuilds
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // One read of the vault serves both the registry (every retained value) and the
    // credentials (the current ones).
    let result = crate::engine::registry_values(vault).and_then(|values| {
        let mut builder = engine.current().rebuilder();
        for (name, value) in &values {
            builder.secret(name.as_str(), value.expose());
        }
        let redactor = Arc::new(builder.build()?);
        engine.set_credentials(current_values(&values));
        Ok(redactor)
    });
    match result {
        Ok(redactor) => {
            engine.replace(redactor);
            true
        }
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "rebuilding the registry failed; the previous engine stays");
            false
        }
    }
}

/// Each secret's current value, as upstream credentials (an upstream's `auth` names which one
/// it sends; a missing one is reported when a request needs it). `registry_values` lists a
/// secret's versions oldest first, so the current one is the last of its name.
fn current_values(
    values: &[(airlock_vault::SecretName, airlock_vault::Secret)],
) -> impl Iterator<Item = (&str, &[u8])> {
    values
        .iter()
        .enumerate()
        .filter(|(i, (name, _))| values.get(i + 1).is_none_or(|(next, _)| next != name))
        .map(|(_, (name, value))| (name.as_str(), value.expose()))
}

/// SIGHUP: re-reads the config file and the rule files and installs them without dropping a
/// connection. Anything wrong (a bad file, a rule that does not compile, an upstream that
/// does not validate) keeps the running configuration and says why.
async fn reload_on_sighup(
    config_path: Option<PathBuf>,
    listen: std::net::SocketAddr,
    engine: Arc<airlock_proxy::Engine>,
    rebuilds: Arc<Mutex<()>>,
    reloader: airlock_proxy::Reloader,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot watch SIGHUP; reload by restarting");
        return;
    };
    while hangup.recv().await.is_some() {
        let (path, engine, rebuilds, reloader) = (
            config_path.clone(),
            engine.clone(),
            rebuilds.clone(),
            reloader.clone(),
        );
        let outcome = tokio::task::spawn_blocking(move || {
            reload_everything(path.as_deref(), listen, &engine, &rebuilds, &reloader)
        })
        .await;
        match outcome {
            Ok(Ok(rules)) => tracing::info!(rules, "reloaded configuration and rules"),
            Ok(Err(error)) => tracing::error!(
                error = %format!("{error:#}"),
                "reload failed; the running configuration stays"
            ),
            Err(error) => tracing::error!(%error, "reload failed; the running configuration stays"),
        }
    }
}

fn reload_everything(
    path: Option<&Path>,
    listen: std::net::SocketAddr,
    engine: &airlock_proxy::Engine,
    rebuilds: &Mutex<()>,
    reloader: &airlock_proxy::Reloader,
) -> Result<usize> {
    let config = Config::load(path)?;
    if config.proxy.listen != listen {
        tracing::warn!(
            configured = %config.proxy.listen,
            running = %listen,
            "proxy.listen changes only with a restart"
        );
    }
    let rules = engine::load_rules(&config)?;
    let count = rules.rules().len();
    let mut vault = engine::open_vault(&config)?;
    // One rebuild at a time: the vault watcher and the learner wait for this one.
    let _turn = rebuilds
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let values = engine::registry_values(&mut vault)?;
    let redactor = engine::build_redactor(&mut vault, &config, rules, &values)?;
    // The proxy's part validates last; until it succeeds nothing was swapped in.
    reloader.reload(config.proxy)?;
    engine.replace(redactor);
    engine.set_credentials(current_values(&values));
    Ok(count)
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is called, not when
/// the future is first polled: a SIGTERM right after the "listening" line must not find the
/// default action (immediate death) still in place.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).context("watching SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("watching SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {},
            _ = interrupt.recv() => {},
        }
    })
}
