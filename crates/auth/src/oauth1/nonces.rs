//! Spending nonces together: every signed request's nonce must be written to the shared store
//! before the request is accepted (so that a replay is refused on every instance, and after a
//! restart), and a durable write costs a commit. The nonces of requests arriving while one
//! write is under way wait for the next, which writes them all in one statement (group
//! commit): under load a commit carries dozens of nonces, and an idle server writes a lone
//! nonce at once, with no added wait.
//!
//! A nonce is answered only once its write committed; a failed write refuses every request in
//! it (fail closed).

use std::sync::{Arc, OnceLock};

use tessera_core::oauth1::Nonce;
use tessera_core::store::Store;
use tokio::sync::{mpsc, oneshot};

/// The most nonces one write carries (the store writes up to 200 in one statement and commit).
const MAX_BATCH: usize = 200;
/// How many nonces may wait for their write before requests wait to queue theirs.
const QUEUE: usize = 4096;

/// Why a nonce could not be spent: its write failed (logged by the writer, once per write).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteFailed;

struct Waiting {
    nonce: Nonce,
    answer: oneshot::Sender<Result<bool, WriteFailed>>,
}

/// The nonce writer: a task started by the first nonce, which ends when this is dropped.
pub struct NonceWriter {
    store: Arc<dyn Store>,
    queue: OnceLock<mpsc::Sender<Waiting>>,
}

impl std::fmt::Debug for NonceWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceWriter").finish_non_exhaustive()
    }
}

impl NonceWriter {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            queue: OnceLock::new(),
        }
    }

    /// Spends a nonce: `true` if it was not seen before, once that is durably recorded.
    pub async fn spend(&self, nonce: Nonce) -> Result<bool, WriteFailed> {
        let queue = self.queue.get_or_init(|| {
            let (queue, waiting) = mpsc::channel(QUEUE);
            tokio::spawn(write_batches(self.store.clone(), waiting));
            queue
        });
        let (answer, answered) = oneshot::channel();
        queue
            .send(Waiting { nonce, answer })
            .await
            .map_err(|_| WriteFailed)?;
        answered.await.map_err(|_| WriteFailed)?
    }
}

/// Writes whatever is waiting, in one write, until the writer is dropped.
async fn write_batches(store: Arc<dyn Store>, mut waiting: mpsc::Receiver<Waiting>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let nonces: Vec<Nonce> = batch.iter().map(|w| w.nonce.clone()).collect();
        match store.use_nonces(&nonces).await {
            Ok(fresh) if fresh.len() == batch.len() => {
                for (waiting, fresh) in batch.drain(..).zip(fresh) {
                    // A request that went away no longer waits for its answer.
                    let _ = waiting.answer.send(Ok(fresh));
                }
            }
            outcome => {
                match outcome {
                    Err(error) => {
                        tracing::error!(%error, nonces = batch.len(), "OAuth 1.0a nonces could not be recorded")
                    }
                    Ok(_) => tracing::error!(
                        nonces = batch.len(),
                        "the store answered for another number of OAuth 1.0a nonces"
                    ),
                }
                for waiting in batch.drain(..) {
                    let _ = waiting.answer.send(Err(WriteFailed));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_store::{PoolOptions, SqlStore};
    use tessera_testkit::TestDatabase;

    fn nonce(value: &str) -> Nonce {
        Nonce {
            consumer_key: "jira-cli".into(),
            token: "tok".into(),
            timestamp: 100,
            nonce: value.into(),
        }
    }

    #[tokio::test]
    async fn many_requests_at_once_each_get_their_own_answer() {
        let db = TestDatabase::sqlite();
        let store = SqlStore::open(&db.url, PoolOptions::default()).await;
        let store: Arc<dyn Store> = Arc::new(store.unwrap());
        let writer = Arc::new(NonceWriter::new(store.clone()));
        assert_eq!(writer.spend(nonce("alone")).await, Ok(true));
        assert_eq!(writer.spend(nonce("alone")).await, Ok(false), "a replay");
        // 300 requests at once, ten for each of 30 nonces: exactly one of each ten wins.
        let mut racers = Vec::new();
        for i in 0..300 {
            let writer = writer.clone();
            racers.push(tokio::spawn(async move {
                (i % 30, writer.spend(nonce(&format!("n{}", i % 30))).await)
            }));
        }
        let mut wins = [0; 30];
        for racer in racers {
            let (which, fresh) = racer.await.unwrap();
            wins[which] += usize::from(fresh.unwrap());
        }
        assert_eq!(wins, [1; 30]);
        // What the writer recorded, the store refuses (another instance's writer would too).
        assert!(!store.use_nonce(&nonce("n7")).await.unwrap());
    }
}
