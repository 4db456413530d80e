//! Argon2id password hashing and verification on a fixed pool of threads with a bounded queue.
//!
//! One verification costs about 20 ms of CPU and 19 MiB of memory with OWASP's parameters. Run
//! on the async runtime's threads it would stall every other request; run with unbounded
//! concurrency (e.g. one `spawn_blocking` per request) a flood of Basic requests grows the
//! process without limit (8.5 GiB was measured: every blocking thread keeps its own malloc
//! arena with freed 19 MiB blocks). So verification runs on `workers` dedicated threads
//! (about one per core), and at most `queue` jobs wait for them; beyond that the request is
//! refused at once as busy, which costs nothing. Memory is thereby bounded by
//! `workers` × 19 MiB, whatever the load.
//!
//! Unknown users and users without a password are checked against a dummy hash with the same
//! parameters, so that the answer takes as long as for a real user.

use std::thread;
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, PasswordHash, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::oneshot;

use crate::secret::constant_time_eq;

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl HashParams {
    /// OWASP's recommendation for Argon2id: 19 MiB, 2 iterations, 1 lane.
    pub const OWASP: Self = Self {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
}

impl Default for HashParams {
    fn default() -> Self {
        Self::OWASP
    }
}

#[derive(Clone, Copy, Debug)]
pub struct HasherConfig {
    pub params: HashParams,
    /// Threads verifying at once; 0 means one per available core.
    pub workers: usize,
    /// Jobs that may wait for a thread before further requests are refused as busy.
    pub queue: usize,
}

impl Default for HasherConfig {
    fn default() -> Self {
        Self {
            params: HashParams::OWASP,
            workers: 0,
            queue: 64,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many password checks are waiting; try again shortly")]
    Busy,
    #[error("the password hashing threads have stopped")]
    Stopped,
    #[error("invalid Argon2 parameters: {0}")]
    Params(String),
    #[error("hashing failed: {0}")]
    Hash(String),
}

enum Job {
    Hash {
        password: SecretString,
        reply: oneshot::Sender<Result<String, HashError>>,
    },
    Verify {
        hash: String,
        password: SecretString,
        reply: oneshot::Sender<bool>,
    },
}

/// The password hashing service. Dropping it stops its threads once the queue is drained.
#[derive(Debug)]
pub struct PasswordHasher {
    jobs: flume::Sender<Job>,
    dummy_hash: String,
    verification_time: std::time::Duration,
    params: HashParams,
    workers: usize,
}

fn argon2(params: HashParams) -> Result<Argon2<'static>, HashError> {
    let params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        None,
    )
    .map_err(|e| HashError::Params(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes with a fresh random salt, in `memory` (PHC string format, as `argon2` writes it).
fn hash_now(hasher: &Argon2<'_>, memory: &mut Memory, password: &str) -> Result<String, HashError> {
    let failed = |e: &dyn std::fmt::Display| HashError::Hash(e.to_string());
    let params = hasher.params();
    let salt = Salt::new(&crate::secret::random_bytes::<{ Salt::RECOMMENDED_LENGTH }>())
        .map_err(|e| failed(&e))?;
    let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    hasher
        .hash_password_into_with_memory(
            password.as_bytes(),
            &salt,
            &mut out,
            memory.take(params.block_count()),
        )
        .map_err(|e| failed(&e))?;
    let hash = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| failed(&e))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(hash.to_string())
}

/// glibc maps an allocation larger than this on its own and unmaps it when it is freed,
/// whatever came before (its mmap threshold rises with the blocks it has unmapped, to at most
/// 32 MiB). Argon2's 19 MiB block would otherwise stay in the thread's heap once freed.
const ALWAYS_MAPPED: usize = 33 * 1024 * 1024;

/// How long a hashing thread keeps Argon2's working memory after its last verification.
const RELEASE_AFTER: Duration = Duration::from_secs(2);

/// Argon2 working memory, allocated once per worker thread and reused by every verification.
///
/// Allocating 19 MiB per verification (as `verify_password` does) fragments glibc's heaps
/// when small allocations from other threads land between the big blocks: under a flood the
/// process was measured growing past 250 MiB even with two workers. Reusing one buffer per
/// thread keeps the memory at `workers` × the largest `m_cost` seen while verifications keep
/// coming. A worker takes its buffer at its first verification, and gives it back after
/// [`RELEASE_AFTER`] without one: a server whose callers use tokens (or whose passwords the
/// verified-credential cache remembers) does not hold 19 MiB per idle worker. (The `tessera`
/// binary's allocator, mimalloc, returns the freed block to the system; glibc's kept it.)
struct Memory {
    blocks: Vec<Block>,
    /// The most memory a verification may use: four times the configured cost, at least
    /// 64 MiB. A stored hash costlier than that (planted, or from a much stronger setup) never
    /// matches rather than taking the server's memory.
    limit: usize,
}

impl Memory {
    fn for_params(params: HashParams) -> Self {
        let configured = params.memory_kib as usize;
        Self {
            blocks: Vec::new(),
            limit: (configured * 4).max(64 * 1024),
        }
    }

    /// Gives the working memory back (taken again by the next verification).
    fn release(&mut self) {
        self.blocks = Vec::new();
    }

    /// `count` blocks of working memory: the buffer kept, or a new one. A new one is reserved
    /// past [`ALWAYS_MAPPED`], so that it goes back to the system when released; pages past
    /// `count` are never written, so they are never resident.
    fn take(&mut self, count: usize) -> &mut [Block] {
        if self.blocks.len() < count {
            let reserve = count.max(ALWAYS_MAPPED / std::mem::size_of::<Block>());
            let mut blocks = Vec::with_capacity(reserve);
            blocks.resize(count, Block::default());
            self.blocks = blocks;
        }
        &mut self.blocks[..count]
    }

    /// Verifies with the parameters stored in the hash (RFC 9106 Argon2 via the `argon2`
    /// crate; PHC string parsing via `password-hash`; constant-time comparison via `subtle`).
    /// A malformed hash never matches.
    fn verify(&mut self, hash: &str, password: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return false;
        };
        let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
            return false;
        };
        let version = match parsed.version.map(Version::try_from) {
            None => Version::default(),
            Some(Ok(version)) => version,
            Some(Err(_)) => return false,
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        if params.block_count() > self.limit {
            return false;
        }
        // Grows to the largest cost seen (within the limit) and stays until released: shrinking
        // after each costlier hash would bring back the allocation churn it exists to avoid.
        let mut computed = vec![0u8; expected.len()];
        let count = params.block_count();
        let hasher = Argon2::new(algorithm, version, params);
        hasher
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt.as_ref(),
                &mut computed,
                self.take(count),
            )
            .is_ok()
            && constant_time_eq(&computed, expected.as_bytes())
    }
}

fn work(jobs: flume::Receiver<Job>, hasher: Argon2<'static>, params: HashParams) {
    let mut memory = Memory::for_params(params);
    loop {
        let job = match jobs.recv_timeout(RELEASE_AFTER) {
            Ok(job) => job,
            Err(flume::RecvTimeoutError::Timeout) => {
                memory.release();
                match jobs.recv() {
                    Ok(job) => job,
                    Err(_) => return,
                }
            }
            Err(flume::RecvTimeoutError::Disconnected) => return,
        };
        match job {
            Job::Hash { password, reply } => {
                if !reply.is_closed() {
                    let _ = reply.send(hash_now(&hasher, &mut memory, password.expose_secret()));
                }
            }
            Job::Verify {
                hash,
                password,
                reply,
            } => {
                // The caller may have gone away (client disconnected) while the job waited.
                if !reply.is_closed() {
                    let _ = reply.send(memory.verify(&hash, password.expose_secret()));
                }
            }
        }
    }
}

impl PasswordHasher {
    /// Starts the worker threads and prepares the dummy hash.
    pub fn start(config: HasherConfig) -> Result<Self, HashError> {
        let hasher = argon2(config.params)?;
        // Hashing the dummy costs what one verification costs: it is the time every failed
        // login is padded to.
        let started = std::time::Instant::now();
        let dummy_hash = hash_now(
            &hasher,
            &mut Memory::for_params(config.params),
            "tessera dummy password: never matches a request",
        )?;
        let verification_time = started.elapsed();
        // One per core, but at most four by default: each holds the Argon2 working memory
        // (19 MiB with OWASP's parameters), and the server must stay small under a flood.
        let workers = match config.workers {
            0 => thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            n => n,
        };
        let (sender, receiver) = flume::bounded(config.queue.max(1));
        for index in 0..workers {
            let receiver = receiver.clone();
            let hasher = hasher.clone();
            let params = config.params;
            thread::Builder::new()
                .name(format!("tessera-argon2-{index}"))
                .spawn(move || work(receiver, hasher, params))
                .map_err(|e| HashError::Hash(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(Self {
            jobs: sender,
            dummy_hash,
            verification_time,
            params: config.params,
            workers,
        })
    }

    /// How long one verification with the configured parameters took at start.
    pub fn verification_time(&self) -> std::time::Duration {
        self.verification_time
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    fn submit(&self, job: Job) -> Result<(), HashError> {
        self.jobs.try_send(job).map_err(|e| match e {
            flume::TrySendError::Full(_) => HashError::Busy,
            flume::TrySendError::Disconnected(_) => HashError::Stopped,
        })
    }

    /// Hashes a new password with the configured parameters and a fresh random salt.
    pub async fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash {
            password: password.clone(),
            reply,
        })?;
        answer.await.map_err(|_| HashError::Stopped)?
    }

    /// Whether `password` matches `hash`.
    pub async fn verify(&self, hash: &str, password: &SecretString) -> Result<bool, HashError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify {
            hash: hash.to_string(),
            password: password.clone(),
            reply,
        })?;
        answer.await.map_err(|_| HashError::Stopped)
    }

    /// Spends the time a real verification would take, for an unknown user; always `false`.
    pub async fn verify_dummy(&self, password: &SecretString) -> Result<bool, HashError> {
        self.verify(&self.dummy_hash, password).await.map(|_| false)
    }

    /// Whether a stored hash is weaker than the configured parameters (or not Argon2id), and
    /// should be replaced after the next successful login.
    pub fn needs_rehash(&self, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return true;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        parsed.algorithm != ARGON2ID_IDENT
            || parsed.version != Some(Version::V0x13.into())
            || params.m_cost() < self.params.memory_kib
            || params.t_cost() < self.params.iterations
    }
}

/// Hashes on the calling thread, for the offline command line (no runtime needed).
pub fn hash_blocking(params: HashParams, password: &SecretString) -> Result<String, HashError> {
    hash_now(
        &argon2(params)?,
        &mut Memory::for_params(params),
        password.expose_secret(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher as _;

    const CHEAP: HashParams = HashParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[tokio::test]
    async fn hashes_verify_and_differ_by_salt() {
        let hasher = PasswordHasher::start(HasherConfig {
            params: CHEAP,
            workers: 1,
            queue: 4,
        })
        .unwrap();
        let a = hasher.hash(&secret("correct horse")).await.unwrap();
        let b = hasher.hash(&secret("correct horse")).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert_ne!(a, b, "a fresh salt each time");
        assert!(hasher.verify(&a, &secret("correct horse")).await.unwrap());
        assert!(!hasher.verify(&a, &secret("correct horse ")).await.unwrap());
        assert!(!hasher.verify("not a hash", &secret("x")).await.unwrap());
        assert!(!hasher.verify_dummy(&secret("anything")).await.unwrap());
    }

    #[test]
    fn reused_memory_verifies_like_the_crate_verifier() {
        use argon2::PasswordVerifier;
        let mut memory = Memory::for_params(CHEAP);
        let weak = hash_blocking(CHEAP, &secret("one")).unwrap();
        let strong = hash_blocking(
            HashParams {
                memory_kib: 256,
                iterations: 3,
                parallelism: 2,
            },
            &secret("two"),
        )
        .unwrap();
        for (hash, password) in [(&weak, "one"), (&strong, "two"), (&weak, "one")] {
            let parsed = PasswordHash::new(hash).unwrap();
            assert!(
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            );
            assert!(memory.verify(hash, password), "{hash}");
            assert!(!memory.verify(hash, "wrong"));
        }
        // Argon2i and Argon2d hashes (e.g. imported from elsewhere) verify too.
        for algorithm in [Algorithm::Argon2i, Algorithm::Argon2d] {
            let params = Params::new(64, 1, 1, None).unwrap();
            let other = Argon2::new(algorithm, Version::V0x13, params)
                .hash_password(b"x")
                .unwrap()
                .to_string();
            assert!(memory.verify(&other, "x"), "{other}");
        }
        let absurd = weak.replace("m=64", "m=262144");
        assert!(
            !memory.verify(&absurd, "one"),
            "an absurd memory cost is refused, not allocated"
        );
        assert!(
            !memory.verify("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ", "one"),
            "no hash part"
        );
    }

    #[tokio::test]
    async fn stored_parameters_win_over_configured_ones() {
        let strong = hash_blocking(
            HashParams {
                memory_kib: 128,
                iterations: 2,
                parallelism: 1,
            },
            &secret("pw"),
        )
        .unwrap();
        let hasher = PasswordHasher::start(HasherConfig {
            params: CHEAP,
            workers: 1,
            queue: 4,
        })
        .unwrap();
        assert!(hasher.verify(&strong, &secret("pw")).await.unwrap());
        assert!(!hasher.needs_rehash(&strong));
        let stronger = PasswordHasher::start(HasherConfig {
            params: HashParams {
                memory_kib: 256,
                iterations: 2,
                parallelism: 1,
            },
            workers: 1,
            queue: 4,
        })
        .unwrap();
        assert!(stronger.needs_rehash(&strong));
        assert!(stronger.needs_rehash("garbage"));
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        // One worker busy with slow hashes, a queue of one: the third concurrent job is refused.
        let slow = HashParams {
            memory_kib: 8 * 1024,
            iterations: 8,
            parallelism: 1,
        };
        let hasher = std::sync::Arc::new(
            PasswordHasher::start(HasherConfig {
                params: slow,
                workers: 1,
                queue: 1,
            })
            .unwrap(),
        );
        let hash = hash_blocking(slow, &secret("pw")).unwrap();
        let mut results = Vec::new();
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let hasher = hasher.clone();
            let hash = hash.clone();
            tasks.push(tokio::spawn(async move {
                hasher.verify(&hash, &secret("pw")).await
            }));
        }
        for task in tasks {
            results.push(task.await.unwrap());
        }
        assert!(
            results.iter().any(|r| matches!(r, Err(HashError::Busy))),
            "{results:?}"
        );
        assert!(results.iter().any(|r| matches!(r, Ok(true))), "{results:?}");
    }
}
