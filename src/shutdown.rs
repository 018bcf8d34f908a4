//! Waiting for the signal to stop: Ctrl-C in a terminal, SIGTERM from Kubernetes.

use tokio::signal::unix::{SignalKind, signal};

pub async fn signalled() {
    let mut terminate = signal(SignalKind::terminate()).expect("install the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
