//! The audit log's writer: events are queued without waiting and written by one background
//! worker in batches (one transaction each), so that recording never slows a request. On
//! shutdown the queue is drained before the database closes. Events name credentials by kind
//! and id, never by secret.
//!
//! A flood must not push real events out. Failures that a client can produce at will (failed
//! logins, refused tokens, policy refusals, rate limiting) are therefore coalesced: the first
//! of a kind (same action, outcome, reason, actor, target, credential and address) is written
//! at once, and repeats within [`WINDOW`] become one event carrying their count when the window
//! ends. Such events also only take the first half of the queue; the rest is kept for events
//! nobody outside can cause in bulk (logins, token and policy changes, admin actions).
//! A coalesced summary carries its latest repeat's request id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tessera_core::audit::{AuditEvent, Outcome};
use tessera_core::store::Store;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// Events that may wait to be written.
const QUEUE: usize = 10_000;
/// Most events written in one transaction.
const BATCH: usize = 500;
/// How long repeats of a noisy event are counted before they are written as one.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Most kinds of noisy event counted at once; beyond, repeats are only totalled. Well below
/// the queue, so that the windows' summaries cannot fill it.
const MAX_KINDS: usize = QUEUE / 4;

/// Failures a client outside, or any user, can cause in bulk (`admin.change` refused: any
/// user may knock on the administrative routes).
const NOISY_FAILURES: [&str; 6] = [
    "login.failed",
    "token.refused",
    "request.rate_limited",
    "access.denied",
    "oauth.consent",
    "admin.change",
];

/// Successes a user can repeat at will (a login answered from the remembered password costs
/// nothing).
const NOISY_SUCCESSES: [&str; 1] = ["session.opened"];

fn is_noisy(event: &AuditEvent) -> bool {
    let action = event.action.as_str();
    NOISY_SUCCESSES.contains(&action)
        || (event.outcome != Outcome::Success && NOISY_FAILURES.contains(&action))
}

/// The network an event's address stands for (an IPv6 client holds a whole /64, and could
/// otherwise open a new kind of event per address).
fn network(client_ip: Option<&str>) -> Option<String> {
    let ip: std::net::IpAddr = client_ip?.parse().ok()?;
    Some(match ip {
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!(
                "{}/64",
                std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0)
            )
        }
        v4 => v4.to_string(),
    })
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Kind {
    action: String,
    outcome: &'static str,
    reason: Option<String>,
    actor: Option<String>,
    target: Option<String>,
    credential: Option<String>,
    client_ip: Option<String>,
}

impl Kind {
    fn of(event: &AuditEvent) -> Self {
        Self {
            action: event.action.clone(),
            outcome: event.outcome.name(),
            reason: event.reason.clone(),
            actor: event.actor_name.clone(),
            target: event.target.clone(),
            credential: event.credential_id.clone(),
            client_ip: network(event.client_ip.as_deref()).or_else(|| event.client_ip.clone()),
        }
    }
}

#[derive(Debug)]
struct Window {
    started: Instant,
    /// The latest repeat (its time and user agent are the ones written).
    latest: AuditEvent,
    repeats: i64,
}

#[derive(Debug, Default)]
struct Coalescer {
    windows: HashMap<Kind, Window>,
    /// Noisy events neither written nor counted in a window (too many kinds, or the queue's
    /// half for them was full), written as one `audit.suppressed` event.
    suppressed: i64,
    last_suppressed: Option<AuditEvent>,
}

impl Coalescer {
    /// Whether the event opens a window (and must be written now); repeats are counted. A
    /// window that ended but was not summarised yet is summarised first (into `ended`), so no
    /// count is lost when the next window opens.
    fn admit(&mut self, event: &AuditEvent, now: Instant, ended: &mut Vec<AuditEvent>) -> bool {
        let kind = Kind::of(event);
        if let Some(window) = self.windows.get_mut(&kind) {
            if now.duration_since(window.started) < WINDOW {
                window.repeats += 1;
                window.latest = event.clone();
                return false;
            }
            if window.repeats > 0 {
                let mut summary = window.latest.clone();
                summary.repeats = window.repeats;
                ended.push(summary);
            }
        } else if self.windows.len() >= MAX_KINDS {
            self.suppress(event);
            return false;
        }
        self.windows.insert(
            kind,
            Window {
                started: now,
                latest: event.clone(),
                repeats: 0,
            },
        );
        true
    }

    fn suppress(&mut self, event: &AuditEvent) {
        self.suppressed += 1;
        self.last_suppressed = Some(event.clone());
    }

    /// The summaries of windows that ended (all of them with `all`), as events to write.
    fn ended(&mut self, now: Instant, all: bool) -> Vec<AuditEvent> {
        let mut out = Vec::new();
        self.windows.retain(|_, window| {
            let done = all || now.duration_since(window.started) >= WINDOW;
            if done && window.repeats > 0 {
                let mut summary = window.latest.clone();
                summary.repeats = window.repeats;
                out.push(summary);
            }
            !done
        });
        if self.suppressed > 0
            && let Some(last) = self.last_suppressed.take()
        {
            let mut summary = AuditEvent::anonymous(
                last.at,
                std::net::Ipv4Addr::UNSPECIFIED.into(),
                "audit.suppressed",
                "audit",
            )
            .outcome(Outcome::Failure)
            .reason("too_many_events");
            summary.client_ip = None;
            summary.repeats = std::mem::take(&mut self.suppressed);
            out.push(summary);
        }
        out
    }
}

#[derive(Debug)]
pub struct AuditLog {
    queue: mpsc::Sender<AuditEvent>,
    /// Asks the writer to write everything queued so far and say when it has.
    flushes: mpsc::Sender<oneshot::Sender<()>>,
    coalescer: Arc<Mutex<Coalescer>>,
    stop: watch::Sender<bool>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl AuditLog {
    /// Starts the writer (needs a Tokio runtime).
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (queue, events) = mpsc::channel(QUEUE);
        let (stop, stopped) = watch::channel(false);
        let (flushes, flush_requests) = mpsc::channel(8);
        let coalescer = Arc::new(Mutex::new(Coalescer::default()));
        let worker = tokio::spawn(write_events(
            store,
            Inbox {
                events,
                flushes: flush_requests,
                stopped,
            },
            coalescer.clone(),
            queue.clone(),
        ));
        Self {
            queue,
            flushes,
            coalescer,
            stop,
            worker: Mutex::new(Some(worker)),
        }
    }

    /// Queues an event; never waits.
    pub fn record(&self, event: AuditEvent) {
        if is_noisy(&event) {
            let mut coalescer = self.coalescer.lock().unwrap_or_else(|e| e.into_inner());
            let mut ended = Vec::new();
            let opens = coalescer.admit(&event, Instant::now(), &mut ended);
            for summary in ended {
                send_noisy(&self.queue, &mut coalescer, summary);
            }
            if opens {
                send_noisy(&self.queue, &mut coalescer, event);
            }
            return;
        }
        send(&self.queue, event);
    }

    /// Waits until every event recorded before the call is written (repeats of a noisy event
    /// still wait for their window). For whoever must read the trail at once: tests, instead
    /// of polling it.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.flushes.send(done).await.is_ok() {
            let _ = written.await;
        }
    }

    /// Events queued and not yet written.
    pub fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Writes everything queued and counted so far, then stops the writer (at shutdown).
    pub async fn finish(&self) {
        let _ = self.stop.send(true);
        let worker = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(worker) = worker
            && let Err(error) = worker.await
        {
            tracing::error!(%error, "the audit writer failed");
        }
    }
}

/// Noisy events and their summaries take only the first half of the queue; beyond, they are
/// totalled into one `audit.suppressed` event.
fn send_noisy(queue: &mpsc::Sender<AuditEvent>, coalescer: &mut Coalescer, event: AuditEvent) {
    if queue.capacity() <= QUEUE / 2 {
        coalescer.suppress(&event);
        return;
    }
    send(queue, event);
}

fn send(queue: &mpsc::Sender<AuditEvent>, event: AuditEvent) {
    match queue.try_send(event) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(event)) => {
            tracing::error!(action = %event.action, "the audit queue is full: an event was dropped");
        }
        Err(mpsc::error::TrySendError::Closed(event)) => {
            tracing::warn!(action = %event.action, "an audit event came after the log closed");
        }
    }
}

/// What the writer listens to.
struct Inbox {
    events: mpsc::Receiver<AuditEvent>,
    flushes: mpsc::Receiver<oneshot::Sender<()>>,
    stopped: watch::Receiver<bool>,
}

async fn write_events(
    store: Arc<dyn Store>,
    inbox: Inbox,
    coalescer: Arc<Mutex<Coalescer>>,
    queue: mpsc::Sender<AuditEvent>,
) {
    let Inbox {
        mut events,
        mut flushes,
        mut stopped,
    } = inbox;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            Some(first) = events.recv() => {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match events.try_recv() {
                        Ok(event) => batch.push(event),
                        Err(_) => break,
                    }
                }
                write_batch(&*store, &batch).await;
            }
            Some(done) = flushes.recv() => {
                let mut queued = Vec::new();
                while let Ok(event) = events.try_recv() {
                    queued.push(event);
                }
                for batch in queued.chunks(BATCH) {
                    write_batch(&*store, batch).await;
                }
                let _ = done.send(());
            }
            _ = tick.tick() => {
                let mut coalescer = coalescer.lock().unwrap_or_else(|e| e.into_inner());
                for summary in coalescer.ended(Instant::now(), false) {
                    send_noisy(&queue, &mut coalescer, summary);
                }
            }
            _ = stopped.changed() => {
                let mut rest = Vec::new();
                while let Ok(event) = events.try_recv() {
                    rest.push(event);
                }
                rest.extend(
                    coalescer
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .ended(Instant::now(), true),
                );
                for batch in rest.chunks(BATCH) {
                    write_batch(&*store, batch).await;
                }
                return;
            }
        }
    }
}

/// Writes a batch, retrying a passing database failure twice.
async fn write_batch(store: &dyn Store, batch: &[AuditEvent]) {
    for attempt in 0..3u32 {
        match store.record_audit(batch).await {
            Ok(()) => return,
            Err(error) if attempt < 2 => {
                tracing::warn!(%error, "could not write audit events; retrying");
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            Err(error) if batch.len() > 1 => {
                // One event the store refuses must not take the rest of the batch with it.
                tracing::warn!(%error, "could not write a batch of audit events; one by one");
                let mut lost = 0;
                for event in batch {
                    if let Err(error) = store.record_audit(std::slice::from_ref(event)).await {
                        tracing::error!(%error, action = %event.action, "could not write an audit event");
                        lost += 1;
                    }
                }
                if lost > 0 {
                    tracing::error!(lost, "audit events lost");
                }
            }
            Err(error) => {
                tracing::error!(%error, lost = batch.len(), "could not write audit events");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::clock::Timestamp;

    fn failure(ip: &str, at: i64) -> AuditEvent {
        AuditEvent::anonymous(
            Timestamp::from_millis(at),
            ip.parse().unwrap(),
            "login.failed",
            "user:alice",
        )
        .outcome(Outcome::Failure)
        .reason("bad_credentials")
    }

    #[test]
    fn repeats_within_a_window_become_one_event() {
        let mut coalescer = Coalescer::default();
        let start = Instant::now();
        let mut ended = Vec::new();
        assert!(coalescer.admit(&failure("192.0.2.1", 1), start, &mut ended));
        for n in 2..=100 {
            assert!(!coalescer.admit(&failure("192.0.2.1", n), start, &mut ended));
        }
        // Another address is another kind; another address of the same IPv6 /64 is not.
        assert!(coalescer.admit(&failure("192.0.2.2", 5), start, &mut ended));
        assert!(coalescer.admit(&failure("2001:db8::1", 5), start, &mut ended));
        assert!(!coalescer.admit(&failure("2001:db8::ffff", 5), start, &mut ended));
        assert!(coalescer.ended(start, false).is_empty());
        let summaries = coalescer.ended(start + WINDOW, false);
        assert_eq!(summaries.len(), 2);
        let first = summaries
            .iter()
            .find(|e| e.client_ip.as_deref() == Some("192.0.2.1"))
            .unwrap();
        assert_eq!(first.repeats, 99);
        assert_eq!(first.at, Timestamp::from_millis(100));
        // The window is over: the next one is written again.
        assert!(coalescer.admit(&failure("192.0.2.1", 200), start + WINDOW, &mut ended));
        assert!(ended.is_empty());
    }

    #[test]
    fn an_ended_window_is_summarised_before_the_next_opens() {
        let mut coalescer = Coalescer::default();
        let start = Instant::now();
        let mut ended = Vec::new();
        coalescer.admit(&failure("192.0.2.1", 1), start, &mut ended);
        for n in 2..=50 {
            coalescer.admit(&failure("192.0.2.1", n), start, &mut ended);
        }
        // The tick has not run yet; the next failure comes after the window.
        assert!(coalescer.admit(&failure("192.0.2.1", 60), start + WINDOW, &mut ended));
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].repeats, 49);
    }

    #[test]
    fn too_many_kinds_are_totalled() {
        let mut coalescer = Coalescer::default();
        let now = Instant::now();
        let mut ended = Vec::new();
        for n in 0..(MAX_KINDS as u32 + 50) {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + n).to_string();
            coalescer.admit(&failure(&ip, 1), now, &mut ended);
        }
        let ended = coalescer.ended(now, true);
        let summary = ended
            .iter()
            .find(|e| e.action == "audit.suppressed")
            .unwrap();
        assert_eq!(summary.repeats, 50);
    }

    #[test]
    fn only_failures_anyone_can_cause_are_noisy() {
        assert!(is_noisy(&failure("192.0.2.1", 1)));
        let created = AuditEvent::anonymous(
            Timestamp::from_millis(1),
            "192.0.2.1".parse().unwrap(),
            "token.created",
            "token:1",
        );
        assert!(!is_noisy(&created));
        // Anyone may knock on an administrative route: refusals are counted, changes are not.
        let change = AuditEvent::anonymous(
            Timestamp::from_millis(1),
            "192.0.2.1".parse().unwrap(),
            "admin.change",
            "PUT /rest/tessera/1/policy",
        );
        assert!(!is_noisy(&change));
        assert!(is_noisy(&change.outcome(Outcome::Denied)));
    }
}
