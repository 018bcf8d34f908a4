//! Wakes the runner when a job is inserted: one dedicated connection `LISTEN`s on the queue's
//! channel. When that connection drops, the runner keeps polling while the listener reconnects.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use burgernet_core::db::{self, Connection, PooledConnection};
use futures_util::StreamExt;

use crate::runner::RunnerState;

const RECONNECT_DELAY: Duration = Duration::from_secs(5);

/// Subscribes, then returns the task that forwards notifications and reconnects.
pub(crate) async fn start(state: Arc<RunnerState>) -> impl Future<Output = ()> + Send {
    let mut subscribed = subscribe(&state).await;
    async move {
        loop {
            if let Some(conn) = subscribed {
                forward_notifications(conn, &state).await;
                tracing::warn!("lost the job notification connection; polling until it is back");
            }
            tokio::time::sleep(RECONNECT_DELAY).await;
            subscribed = subscribe(&state).await;
        }
    }
}

async fn subscribe(state: &RunnerState) -> Option<Connection> {
    let result = async {
        // Taken out of the pool: it stays subscribed for the runner's life.
        let mut conn = PooledConnection::take(state.pool.get().await?);
        db::jobs::listen(&mut conn).await?;
        anyhow::Ok(conn)
    }
    .await;
    result
        .inspect_err(|error| {
            tracing::warn!(error = %format!("{error:#}"), "could not listen for new jobs");
        })
        .ok()
}

async fn forward_notifications(mut conn: Connection, state: &RunnerState) {
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    while let Some(notification) = notifications.next().await {
        match notification {
            Ok(notification) => {
                if let Some(group) = state.registry.group_of(&notification.payload)
                    && let Some(group) = state.groups.iter().find(|g| g.name == group)
                {
                    group.wake.notify_one();
                }
            }
            Err(error) => {
                tracing::warn!(%error, "job notification connection failed");
                return;
            }
        }
    }
}
