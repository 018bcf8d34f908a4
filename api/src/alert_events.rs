//! The live event stream of an alert (Server-Sent Events). Each stream polls the database once
//! a second, so it works the same whichever API instance serves it and whichever worker does
//! the fan-out, and holds a database connection only while it looks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use burgernet_core::alerts::AlertStatus;
use burgernet_core::alerts::dossier::DossierEntry;
use burgernet_core::alerts::progress::{self, Counters};
use burgernet_core::db::dossier as dossier_queries;
use burgernet_core::ids::AlertId;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

const POLL_EVERY: Duration = Duration::from_secs(1);
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(15);
/// Dossier entries sent per poll at most; the rest follow on the next.
const ENTRIES_PER_POLL: i64 = 200;

struct Watch {
    state: Arc<AppState>,
    alert: AlertId,
    last_seq: i32,
    last_counters: Option<Counters>,
    last_output: Instant,
    first: bool,
    ended: bool,
}

/// Starts the stream after dossier entry `resume_after` (default: the latest, so only what
/// happens from now on is sent; the current counters come first).
pub async fn stream(
    state: Arc<AppState>,
    alert: AlertId,
    resume_after: Option<i32>,
) -> Result<HttpResponse, ApiError> {
    let last_seq = match resume_after {
        Some(seq) => seq,
        None => dossier_queries::last_seq(&mut *state.db().await?, alert).await?,
    };
    let watch = Watch {
        state,
        alert,
        last_seq,
        last_counters: None,
        last_output: Instant::now(),
        first: true,
        ended: false,
    };
    let events = futures_util::stream::unfold(watch, |mut watch| async move {
        if watch.ended {
            return None;
        }
        let chunk = watch.next_chunk().await;
        Some((Ok::<_, actix_web::Error>(Bytes::from(chunk)), watch))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Reverse proxies must not buffer the stream.
        .insert_header(("x-accel-buffering", "no"))
        .streaming(events))
}

impl Watch {
    /// Waits until there is something to send, then returns it as SSE text.
    async fn next_chunk(&mut self) -> String {
        let mut stopping = self.state.stopping.clone();
        loop {
            if !self.first {
                tokio::select! {
                    () = tokio::time::sleep(POLL_EVERY) => {}
                    _ = stopping.wait_for(|stopping| *stopping) => {
                        self.ended = true;
                        return ": the server is stopping; reconnect with Last-Event-ID\n\n".into();
                    }
                }
            }
            self.first = false;
            let mut out = self.poll().await.unwrap_or_else(|error| {
                tracing::warn!(error = %format!("{error:#}"), "could not read an alert's progress for its event stream");
                String::new()
            });
            if out.is_empty() && self.last_output.elapsed() >= KEEP_ALIVE_EVERY {
                out.push_str(": keep-alive\n\n");
            }
            if !out.is_empty() {
                self.last_output = Instant::now();
                return out;
            }
        }
    }

    async fn poll(&mut self) -> anyhow::Result<String> {
        let mut conn = self.state.pool.get().await?;
        let mut out = String::new();
        // The status first: the closing's dossier entry and batches, committed with it, are then
        // among what is read next.
        let closed = burgernet_core::db::alerts::find_state(&mut conn, self.alert)
            .await?
            .is_some_and(|alert| AlertStatus::from_database(&alert.status) == AlertStatus::Closed);
        let entries =
            dossier_queries::entries(&mut conn, self.alert, self.last_seq, ENTRIES_PER_POLL).await?;
        let caught_up = (entries.len() as i64) < ENTRIES_PER_POLL;
        for row in entries {
            self.last_seq = row.seq;
            let entry = summarised(DossierEntry::from(row));
            out.push_str(&format!(
                "id: {}\nevent: dossier\ndata: {}\n\n",
                entry.seq,
                serde_json::to_string(&entry).unwrap_or_default()
            ));
        }
        let counters = progress::counters(&mut conn, self.alert).await?;
        if self.last_counters.as_ref() != Some(&counters) {
            let event = format!(
                "event: counters\ndata: {}\n\n",
                serde_json::to_string(&counters).unwrap_or_default()
            );
            // A new stream starts with where the alert stands.
            if self.last_counters.is_none() { out.insert_str(0, &event) } else { out.push_str(&event) }
        }
        if closed && caught_up && counters.batches_pending == 0 {
            out.push_str("event: end\ndata: {}\n\n");
            self.ended = true;
        }
        self.last_counters = Some(counters);
        Ok(out)
    }
}

/// Delivery entries list every result; the stream carries their totals instead.
fn summarised(mut entry: DossierEntry) -> DossierEntry {
    if entry.kind == "deliveries"
        && let Some(results) = entry.body.get("results").and_then(|results| results.as_array())
    {
        let count = |state: &str| results.iter().filter(|r| r["state"] == state).count();
        let summary = json!({
            "message_id": entry.body["message_id"],
            "batch_no": entry.body["batch_no"],
            "sent": count("sent"),
            "failed": count("failed"),
            "retrying": count("retrying"),
        });
        entry.body = summary;
    }
    entry
}
