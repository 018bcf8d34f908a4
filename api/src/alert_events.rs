//! The live event streams of alerts (Server-Sent Events), for the control room. One poller per
//! alert reads its progress from the database once a second and hands what it found to every
//! stream of that alert in this process, so the database load grows with the alerts watched, not
//! with the screens watching them; it works the same whichever API instance serves a stream and
//! whichever worker does the fan-out, and holds a connection only while it looks. What a poller
//! reads is the alert's own (status, dossier, counters), the same for everyone allowed to see the
//! alert; who may is checked when a stream opens.
//!
//! Streams are limited per staff member and per process ([`EventStreamSettings`]), and each ends
//! when the token it was opened with expires, or when the server stops.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use burgernet_core::alerts::dossier::{self, DossierEntry};
use burgernet_core::alerts::progress::{self, Counters};
use burgernet_core::auth::staff::StaffMember;
use burgernet_core::config::EventStreamSettings;
use burgernet_core::db::DbPool;
use burgernet_core::ids::AlertId;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, Sleep};

use crate::error::ApiError;
use crate::metrics::EventStreamMetrics;

const POLL_EVERY: Duration = Duration::from_secs(1);
/// Dossier entries read at once at most; the rest follow on the next read.
const ENTRIES_PER_POLL: i64 = 200;
/// Findings a stream may fall behind on before it skips to the latest (and reads what it missed
/// from the database): a slow client never holds up the others, nor makes anything pile up.
const FINDINGS_BUFFERED: usize = 16;

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
    /// The token the stream was opened with has expired; the stream ends. Open it again with a
    /// fresh token, with `Last-Event-ID` to resume.
    TokenExpired { data: TokenExpired },
}

/// The data of `end`: an empty object.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndOfStream {}

/// The data of `token_expired`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenExpired {
    /// When the token the stream was opened with expired.
    pub expired_at: DateTime<Utc>,
}

impl AlertStreamEvent {
    /// The event as Server-Sent Events text.
    fn to_sse(&self) -> String {
        let (name, id, data) = match self {
            Self::Counters { data } => ("counters", None, serde_json::to_string(data)),
            Self::Dossier { id, data } => ("dossier", Some(id), serde_json::to_string(data)),
            Self::End { data } => ("end", None, serde_json::to_string(data)),
            Self::TokenExpired { data } => ("token_expired", None, serde_json::to_string(data)),
        };
        let id = id.map(|id| format!("id: {id}\n")).unwrap_or_default();
        format!("{id}event: {name}\ndata: {}\n\n", data.unwrap_or_default())
    }
}

/// A dossier entry as the stream sends it.
fn dossier_event(entry: DossierEntry) -> String {
    let entry = summarised(entry);
    AlertStreamEvent::Dossier { id: entry.seq, data: entry }.to_sse()
}

/// The event streams open in this process, and the pollers feeding them.
#[derive(Clone)]
pub struct EventStreams {
    shared: Arc<Shared>,
}

struct Shared {
    settings: EventStreamSettings,
    metrics: EventStreamMetrics,
    pool: DbPool,
    open: Mutex<OpenStreams>,
}

#[derive(Default)]
struct OpenStreams {
    total: usize,
    by_staff_member: HashMap<String, usize>,
    watched: HashMap<AlertId, Watched>,
}

/// An alert with streams open, and the poller feeding them.
struct Watched {
    feed: Arc<AlertFeed>,
    streams: usize,
}

/// What the poller of one alert finds, for its streams.
struct AlertFeed {
    /// The latest finding, for a stream that joins (or falls behind).
    latest: Mutex<Option<Arc<Finding>>>,
    findings: broadcast::Sender<Arc<Finding>>,
    /// Turns true when the last stream has left: the poller stops.
    stop: watch::Sender<bool>,
}

/// One poll's finding.
struct Finding {
    /// The dossier entries up to this one had been found before.
    after: i32,
    /// The entries found after it, in order, each as its event (rendered once for every stream).
    entries: Vec<(i32, String)>,
    /// The last entry found: `after` or the last of `entries`.
    last_seq: i32,
    counters: Counters,
    /// The alert is closed, every message handed over and every entry found: streams end.
    over: bool,
}

/// A stream's place in the limits and among its alert's streams; leaving (the client went away,
/// or the stream ended) gives it up.
struct Place {
    shared: Arc<Shared>,
    subject: String,
    alert: AlertId,
    feed: Arc<AlertFeed>,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; if something ever did, the counts are still whole.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl EventStreams {
    pub fn new(settings: EventStreamSettings, metrics: EventStreamMetrics, pool: DbPool) -> Self {
        let open = Mutex::new(OpenStreams::default());
        Self { shared: Arc::new(Shared { settings, metrics, pool, open }) }
    }

    /// Takes a place for a stream of `member` watching `alert` (whom the caller has let see it),
    /// starting the alert's poller if it has none; 429 past a limit.
    fn open(&self, member: &StaffMember, alert: AlertId) -> Result<Place, ApiError> {
        let shared = &self.shared;
        let mut open = locked(&shared.open);
        let of_member = open.by_staff_member.get(&member.subject).copied().unwrap_or_default();
        let refusal = if of_member >= shared.settings.per_staff_member {
            let detail = format!("You have {of_member} event streams open, as many as one person may.");
            Some(("per_staff_member", format!("{detail} Close one (another screen or tab) and try again.")))
        } else if open.total >= shared.settings.per_process {
            let detail = "This server has as many event streams open as it can take; try again shortly.";
            Some(("per_process", detail.to_string()))
        } else {
            None
        };
        if let Some((limit, detail)) = refusal {
            shared.metrics.refused.with_label_values(&[limit]).inc();
            // A client that left is noticed within two keep-alives, freeing its place.
            let retry_after = shared.settings.keep_alive * 2;
            return Err(ApiError::too_many_requests("too_many_event_streams", detail, retry_after));
        }
        open.total += 1;
        *open.by_staff_member.entry(member.subject.clone()).or_default() += 1;
        let feed = match open.watched.entry(alert) {
            Entry::Occupied(mut watched) => {
                watched.get_mut().streams += 1;
                watched.get().feed.clone()
            }
            Entry::Vacant(vacant) => {
                let feed = Arc::new(AlertFeed::new());
                tokio::spawn(poll_for_streams(shared.clone(), alert, feed.clone()));
                vacant.insert(Watched { feed: feed.clone(), streams: 1 });
                feed
            }
        };
        shared.metrics.open.inc();
        Ok(Place { shared: shared.clone(), subject: member.subject.clone(), alert, feed })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut open = locked(&self.shared.open);
        open.total -= 1;
        if let Entry::Occupied(mut count) = open.by_staff_member.entry(self.subject.clone()) {
            *count.get_mut() -= 1;
            if *count.get() == 0 {
                count.remove();
            }
        }
        // The alert may have a new poller already, if this one stopped when the alert was over.
        if let Entry::Occupied(mut watched) = open.watched.entry(self.alert)
            && Arc::ptr_eq(&watched.get().feed, &self.feed)
        {
            watched.get_mut().streams -= 1;
            if watched.get().streams == 0 {
                watched.remove();
                self.feed.stop.send_replace(true);
            }
        }
        self.shared.metrics.open.dec();
    }
}

impl AlertFeed {
    fn new() -> Self {
        Self {
            latest: Mutex::new(None),
            findings: broadcast::channel(FINDINGS_BUFFERED).0,
            stop: watch::channel(false).0,
        }
    }

    fn publish(&self, finding: Finding) {
        let finding = Arc::new(finding);
        let mut latest = locked(&self.latest);
        *latest = Some(finding.clone());
        // Sent under the lock, so a stream subscribing in between misses nothing.
        let _no_stream_left = self.findings.send(finding);
    }

    /// What comes next, and the latest finding (none before the first poll) to start from.
    fn subscribe(&self) -> (broadcast::Receiver<Arc<Finding>>, Option<Arc<Finding>>) {
        let latest = locked(&self.latest);
        (self.findings.subscribe(), latest.clone())
    }
}

/// Polls `alert` for its streams until the last has left or the alert is over.
async fn poll_for_streams(shared: Arc<Shared>, alert: AlertId, feed: Arc<AlertFeed>) {
    shared.metrics.pollers.inc();
    let mut stop = feed.stop.subscribe();
    let mut last_seq = None;
    loop {
        shared.metrics.polls.inc();
        match find_progress(&shared.pool, alert, last_seq).await {
            Ok(finding) => {
                last_seq = Some(finding.last_seq);
                let over = finding.over;
                feed.publish(finding);
                if over {
                    break;
                }
            }
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "could not read an alert's progress for its event streams");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(POLL_EVERY) => {}
            _ = stop.wait_for(|stop| *stop) => break,
        }
    }
    // Once the alert is over, streams opened later get a poller of their own that reads afresh.
    let mut open = locked(&shared.open);
    if let Entry::Occupied(watched) = open.watched.entry(alert)
        && Arc::ptr_eq(&watched.get().feed, &feed)
    {
        watched.remove();
    }
    drop(open);
    shared.metrics.pollers.dec();
}

/// The alert's progress since dossier entry `after` (on the first poll: from the latest entry).
async fn find_progress(pool: &DbPool, alert: AlertId, after: Option<i32>) -> anyhow::Result<Finding> {
    let mut conn = pool.get().await?;
    // The status first: the closing's dossier entry and batches, committed with it, are then
    // among what is read next.
    let closed = progress::is_closed(&mut conn, alert).await?;
    let (after, rows) = match after {
        Some(after) => (after, dossier::entries_after(&mut conn, alert, after, ENTRIES_PER_POLL).await?),
        None => (dossier::last_seq(&mut conn, alert).await?, Vec::new()),
    };
    let caught_up = (rows.len() as i64) < ENTRIES_PER_POLL;
    let entries: Vec<(i32, String)> =
        rows.into_iter().map(|entry| (entry.seq, dossier_event(entry))).collect();
    let last_seq = entries.last().map_or(after, |(seq, _)| *seq);
    let counters = progress::counters(&mut conn, alert).await?;
    let over = closed && caught_up && counters.batches_pending == 0;
    Ok(Finding { after, entries, last_seq, counters, over })
}

/// Opens a stream of `alert` for `member`, whom the caller has let see it, sending the dossier
/// entries after `resume_after` (the current counters come first). It ends when `member`'s token
/// expires.
pub fn stream(
    streams: &EventStreams,
    stopping: watch::Receiver<bool>,
    member: &StaffMember,
    alert: AlertId,
    resume_after: i32,
) -> Result<HttpResponse, ApiError> {
    let viewer = streams.watch(stopping, member, alert, resume_after)?;
    let events = futures_util::stream::unfold(viewer, |mut viewer| async move {
        let chunk = viewer.next_chunk().await?;
        Some((Ok::<_, actix_web::Error>(Bytes::from(chunk)), viewer))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Reverse proxies must not buffer the stream.
        .insert_header(("x-accel-buffering", "no"))
        .streaming(events))
}

impl EventStreams {
    fn watch(
        &self,
        stopping: watch::Receiver<bool>,
        member: &StaffMember,
        alert: AlertId,
        resume_after: i32,
    ) -> Result<Viewer, ApiError> {
        let place = self.open(member, alert)?;
        let (findings, latest) = place.feed.subscribe();
        let until_expiry = (member.token_expires_at - Utc::now()).to_std().unwrap_or_default();
        Ok(Viewer {
            pool: self.shared.pool.clone(),
            place,
            findings,
            pending: latest,
            sent_seq: resume_after,
            sent_counters: None,
            token_expiry: Box::pin(tokio::time::sleep(until_expiry)),
            token_expires_at: member.token_expires_at,
            stopping,
            keep_alive: self.shared.settings.keep_alive,
            last_output: Instant::now(),
            ended: false,
        })
    }
}

/// One stream: what it has sent, and what it waits for.
struct Viewer {
    pool: DbPool,
    place: Place,
    findings: broadcast::Receiver<Arc<Finding>>,
    /// A finding still to send: after the entries before it that this stream missed.
    pending: Option<Arc<Finding>>,
    /// The last dossier entry sent (or, where the stream starts, skipped).
    sent_seq: i32,
    sent_counters: Option<Counters>,
    token_expiry: Pin<Box<Sleep>>,
    token_expires_at: DateTime<Utc>,
    stopping: watch::Receiver<bool>,
    keep_alive: Duration,
    last_output: Instant,
    ended: bool,
}

impl Viewer {
    /// Waits until there is something to send, then returns it as SSE text; none once ended.
    async fn next_chunk(&mut self) -> Option<String> {
        if self.ended {
            return None;
        }
        loop {
            let mut failed = false;
            if let Some(finding) = self.pending.take() {
                match self.send(finding).await {
                    Ok(out) if !out.is_empty() => {
                        self.last_output = Instant::now();
                        return Some(out);
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(error = %format!("{error:#}"), "could not read an alert's dossier for its event stream");
                        failed = true;
                    }
                }
                // More to read from the database: go on at once, or after a pause if it failed.
                if self.pending.is_some() && !failed {
                    continue;
                }
            }
            tokio::select! {
                biased;
                _ = self.stopping.wait_for(|stopping| *stopping) => {
                    self.ended = true;
                    return Some(": the server is stopping; reconnect with Last-Event-ID\n\n".into());
                }
                () = &mut self.token_expiry => {
                    self.ended = true;
                    let data = TokenExpired { expired_at: self.token_expires_at };
                    return Some(AlertStreamEvent::TokenExpired { data }.to_sse());
                }
                received = self.findings.recv(), if self.pending.is_none() => match received {
                    Ok(finding) => self.pending = Some(finding),
                    // Too slow for the pace of findings: on from the latest, reading what was
                    // missed from the database.
                    Err(RecvError::Lagged(_)) => (self.findings, self.pending) = self.place.feed.subscribe(),
                    // The poller's feed lives as long as this stream's place.
                    Err(RecvError::Closed) => return None,
                },
                () = tokio::time::sleep(POLL_EVERY), if self.pending.is_some() => {}
                () = tokio::time::sleep_until(self.last_output + self.keep_alive) => {
                    self.last_output = Instant::now();
                    return Some(": keep-alive\n\n".into());
                }
            }
        }
    }

    /// What `finding` holds that this stream has not sent, as SSE text. First the dossier entries
    /// before it that the stream missed (it resumed from an earlier one, or fell behind): a page
    /// at a time from the database, keeping `finding` pending until they are sent.
    async fn send(&mut self, finding: Arc<Finding>) -> anyhow::Result<String> {
        let sent_seq = self.sent_seq;
        let missed = if sent_seq < finding.after {
            self.pending = Some(finding.clone());
            let mut conn = self.pool.get().await?;
            Some(dossier::entries_after(&mut conn, self.place.alert, sent_seq, ENTRIES_PER_POLL).await?)
        } else {
            None
        };
        let mut out = String::new();
        // A new stream starts with where the alert stands.
        if self.sent_counters.is_none() {
            out.push_str(&AlertStreamEvent::Counters { data: finding.counters.clone() }.to_sse());
            self.sent_counters = Some(finding.counters.clone());
        }
        if let Some(rows) = missed {
            let complete = (rows.len() as i64) < ENTRIES_PER_POLL
                || rows.last().is_some_and(|row| row.seq >= finding.after);
            for entry in rows.into_iter().take_while(|entry| entry.seq <= finding.after) {
                self.sent_seq = entry.seq;
                out.push_str(&dossier_event(entry));
            }
            if !complete {
                return Ok(out);
            }
            self.pending = None;
            self.sent_seq = finding.after;
        }
        let sent_seq = self.sent_seq;
        for (seq, event) in finding.entries.iter().filter(|(seq, _)| *seq > sent_seq) {
            out.push_str(event);
            self.sent_seq = *seq;
        }
        if self.sent_counters.as_ref() != Some(&finding.counters) {
            out.push_str(&AlertStreamEvent::Counters { data: finding.counters.clone() }.to_sse());
            self.sent_counters = Some(finding.counters.clone());
        }
        if finding.over {
            out.push_str(&AlertStreamEvent::End { data: EndOfStream {} }.to_sse());
            self.ended = true;
        }
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
    use burgernet_core::auth::staff::StaffRole;
    use diesel_async::AsyncPgConnection;
    use diesel_async::pooled_connection::AsyncDieselConnectionManager;

    use super::*;
    use crate::metrics::Metrics;

    /// Streams over a database that cannot be reached: the findings come from the test.
    fn streams() -> EventStreams {
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new("postgres://127.0.0.1:1/none");
        let pool = DbPool::builder(manager).build().unwrap();
        let settings =
            EventStreamSettings { per_staff_member: 5, per_process: 5, keep_alive: Duration::from_secs(60) };
        EventStreams::new(settings, Metrics::new().event_streams, pool)
    }

    fn finding(tips: i64) -> Finding {
        let counters = Counters { tips, ..Counters::default() };
        Finding { after: 0, entries: Vec::new(), last_seq: 0, counters, over: false }
    }

    #[tokio::test]
    async fn a_stream_that_falls_behind_goes_on_from_the_latest_finding_without_holding_up_the_rest() {
        let streams = streams();
        let member = StaffMember {
            subject: "d-1".into(),
            name: None,
            role: StaffRole::Admin,
            token_expires_at: Utc::now() + chrono::Duration::minutes(5),
        };
        let alert = AlertId(uuid::Uuid::new_v4());
        let (_stop, stopping) = watch::channel(false);
        let mut slow = streams.watch(stopping.clone(), &member, alert, 0).unwrap();
        let mut keeping_up = streams.watch(stopping, &member, alert, 0).unwrap();
        let feed = slow.place.feed.clone();
        feed.publish(finding(0));
        assert!(keeping_up.next_chunk().await.unwrap().contains(r#""tips":0"#));

        // Far more findings than a stream may fall behind on: publishing never waits for it.
        for tips in 1..=3 * FINDINGS_BUFFERED as i64 {
            feed.publish(finding(tips));
            assert!(keeping_up.next_chunk().await.unwrap().contains(&format!(r#""tips":{tips}"#)));
        }
        // The slow one skips what it missed: its first event is where the alert stands now.
        let first = slow.next_chunk().await.unwrap();
        assert!(first.contains(&format!(r#""tips":{}"#, 3 * FINDINGS_BUFFERED)), "{first}");
        assert_eq!(first.matches("event: ").count(), 1, "{first}");
    }

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
            AlertStreamEvent::TokenExpired { data: TokenExpired { expired_at: chrono::Utc::now() } },
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
