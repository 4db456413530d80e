//! The audit log's writer: events are queued without waiting and written by one background
//! worker in batches (one transaction each), so that recording never slows a request. On
//! shutdown the queue is drained before the database closes. Events name credentials by kind
//! and id, never by secret.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tessera_core::audit::AuditEvent;
use tessera_core::store::Store;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Events that may wait to be written; beyond, new ones are dropped (and the drop logged).
const QUEUE: usize = 10_000;
/// Most events written in one transaction.
const BATCH: usize = 500;

#[derive(Debug)]
pub struct AuditLog {
    queue: mpsc::Sender<AuditEvent>,
    stop: watch::Sender<bool>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl AuditLog {
    /// Starts the writer (needs a Tokio runtime).
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (queue, events) = mpsc::channel(QUEUE);
        let (stop, stopped) = watch::channel(false);
        let worker = tokio::spawn(write_events(store, events, stopped));
        Self {
            queue,
            stop,
            worker: Mutex::new(Some(worker)),
        }
    }

    /// Queues an event; never waits.
    pub fn record(&self, event: AuditEvent) {
        match self.queue.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(event)) => {
                tracing::error!(action = %event.action, "the audit queue is full: an event was dropped");
            }
            Err(mpsc::error::TrySendError::Closed(event)) => {
                tracing::warn!(action = %event.action, "an audit event came after the log closed");
            }
        }
    }

    /// Writes everything queued so far, then stops the writer (at shutdown).
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

async fn write_events(
    store: Arc<dyn Store>,
    mut events: mpsc::Receiver<AuditEvent>,
    mut stopped: watch::Receiver<bool>,
) {
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
            _ = stopped.changed() => {
                let mut rest = Vec::new();
                while let Ok(event) = events.try_recv() {
                    rest.push(event);
                }
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
            Err(error) => {
                tracing::error!(%error, lost = batch.len(), "could not write audit events");
            }
        }
    }
}
