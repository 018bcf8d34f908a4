//! The live event stream of an alert (Server-Sent Events). Each stream polls the database once
//! a second, so it works the same whichever API instance serves it and whichever worker does
//! the fan-out, and holds a database connection only while it looks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use burgernet_core::alerts::AlertStatus;
use burgernet_core::alerts::dossier::{self, DossierEntry};
use burgernet_core::alerts::progress::{self, Counters};
use burgernet_core::db::dossier as dossier_queries;
use burgernet_core::ids::AlertId;
use serde::Serialize;
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

/// One event of the stream. On the wire: `event:` its name, for `dossier` also `id:`, and `data:`
/// its data as JSON on one line, then a blank line. Comments (`: keep-alive`) come in between.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AlertStreamEvent {
    /// Where the alert stands: first when the stream starts, then whenever a counter changes (at
    /// most once a second).
    Counters { data: Counters },
    /// A new dossier entry, in order. `id` is its number: reconnect with `Last-Event-ID` to resume
    /// after it. A `deliveries` entry's body holds totals (`message_id`, `batch_no`, `sent`,
    /// `failed`, `retrying`) instead of every result.
    Dossier { id: i32, data: DossierEntry },
    /// The alert is closed and every message handed over; the stream ends.
    End { data: EndOfStream },
}

/// The data of `end`: an empty object.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndOfStream {}

impl AlertStreamEvent {
    /// The event as Server-Sent Events text.
    fn to_sse(&self) -> String {
        let (name, id, data) = match self {
            Self::Counters { data } => ("counters", None, serde_json::to_string(data)),
            Self::Dossier { id, data } => ("dossier", Some(id), serde_json::to_string(data)),
            Self::End { data } => ("end", None, serde_json::to_string(data)),
        };
        let id = id.map(|id| format!("id: {id}\n")).unwrap_or_default();
        format!("{id}event: {name}\ndata: {}\n\n", data.unwrap_or_default())
    }
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
        for entry in dossier::readable(&mut conn, entries).await? {
            self.last_seq = entry.seq;
            let entry = summarised(entry);
            out.push_str(&AlertStreamEvent::Dossier { id: entry.seq, data: entry }.to_sse());
        }
        let counters = progress::counters(&mut conn, self.alert).await?;
        if self.last_counters.as_ref() != Some(&counters) {
            let event = AlertStreamEvent::Counters { data: counters.clone() }.to_sse();
            // A new stream starts with where the alert stands.
            if self.last_counters.is_none() { out.insert_str(0, &event) } else { out.push_str(&event) }
        }
        if closed && caught_up && counters.batches_pending == 0 {
            out.push_str(&AlertStreamEvent::End { data: EndOfStream {} }.to_sse());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_is_written_under_the_name_and_with_the_data_the_contract_gives_it() {
        let entry = DossierEntry {
            seq: 7,
            kind: "sent".into(),
            actor: "system".into(),
            actor_name: None,
            body: json!({}),
            recorded_at: chrono::Utc::now(),
            prev_hash: None,
            hash: "00".into(),
        };
        let events = [
            AlertStreamEvent::Counters { data: Counters::default() },
            AlertStreamEvent::Dossier { id: 7, data: entry },
            AlertStreamEvent::End { data: EndOfStream {} },
        ];
        for event in events {
            let described = serde_json::to_value(&event).unwrap();
            let text = event.to_sse();
            let line =
                |field: &str| text.lines().find_map(|line| line.strip_prefix(field)).map(str::to_string);
            assert_eq!(line("event: ").as_deref(), described["event"].as_str(), "{text}");
            assert_eq!(line("id: ").map(|id| id.parse::<i64>().unwrap()), described["id"].as_i64(), "{text}");
            let data: serde_json::Value = serde_json::from_str(&line("data: ").unwrap()).unwrap();
            assert_eq!(data, described["data"], "{text}");
            assert!(text.ends_with("\n\n"), "{text}");
        }
    }
}
