//! Group commit: many callers' database operations of one kind, written as one command.
//!
//! A caller hands its item to a [`Batcher`] and waits for its own result. A worker takes the
//! first item waiting, then every other one already queued (up to a count and a size), and runs
//! them as one operation. While the database is quick, a batch holds one item and adds no
//! delay; while it is slow (every slot in use), the queue grows and the next batch carries all
//! of it, so the number of operations stays bounded however many answers run at once.

use std::{future::Future, sync::Arc};

use tokio::sync::{Semaphore, mpsc, oneshot};

/// How big a batch may grow, and how many may be written at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Items per batch.
    pub items: usize,
    /// Their total size (by the batcher's `weight`), so that a command stays well under
    /// MongoDB's 16 MiB; a single item heavier than this still goes, alone.
    pub bytes: usize,
    /// Batches in flight together.
    pub in_flight: usize,
    /// For work that may wait (partial saves): after each batch its slot rests as long as the
    /// batch took, and at least this long, so that this batcher never takes more than half of
    /// the database's time, however much is queued (the queue grows into bigger batches).
    pub rest: Option<std::time::Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            items: 500,
            bytes: 4 << 20,
            in_flight: 4,
            rest: None,
        }
    }
}

struct Job<T, R> {
    item: T,
    reply: oneshot::Sender<R>,
}

/// Runs items of type `T` in batches; each caller gets its own `R`.
pub struct Batcher<T, R> {
    queue: mpsc::UnboundedSender<Job<T, R>>,
}

impl<T, R> Clone for Batcher<T, R> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<T, R> std::fmt::Debug for Batcher<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// A batcher whose worker runs until every handle is dropped. `run` gets the items of one
    /// batch and answers one result per item, in order; `weight` is an item's size in bytes.
    pub fn new<F, Fut>(limits: Limits, weight: fn(&T) -> usize, run: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        let (queue, jobs) = mpsc::unbounded_channel();
        tokio::spawn(work(jobs, limits, weight, Arc::new(run)));
        Self { queue }
    }

    /// Runs `item` in the next batch; `None` only if the worker is gone (the runtime is
    /// shutting down) or the batch lost its result.
    pub async fn run(&self, item: T) -> Option<R> {
        let (reply, result) = oneshot::channel();
        self.queue.send(Job { item, reply }).ok()?;
        result.await.ok()
    }
}

async fn work<T, R, F, Fut>(
    mut jobs: mpsc::UnboundedReceiver<Job<T, R>>,
    limits: Limits,
    weight: fn(&T) -> usize,
    run: Arc<F>,
) where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<R>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.in_flight.max(1)));
    // An item that did not fit in the previous batch starts the next one.
    let mut carried: Option<Job<T, R>> = None;

    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match jobs.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        // Waiting for a free slot is what lets the queue grow into a bigger batch.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };

        let mut size = weight(&first.item);
        let mut batch = vec![first];
        while batch.len() < limits.items {
            let Ok(job) = jobs.try_recv() else { break };
            let more = weight(&job.item);
            if size + more > limits.bytes {
                carried = Some(job);
                break;
            }
            size += more;
            batch.push(job);
        }
        let run = Arc::clone(&run);
        let rest = limits.rest;
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let (items, replies): (Vec<T>, Vec<_>) =
                batch.into_iter().map(|job| (job.item, job.reply)).unzip();
            let results = run(items).await;
            for (result, reply) in results.into_iter().zip(replies) {
                let _ = reply.send(result);
            }
            if let Some(rest) = rest {
                tokio::time::sleep(started.elapsed().max(rest)).await;
            }
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use super::*;

    #[tokio::test]
    async fn a_lone_item_runs_at_once_and_a_crowd_shares_few_batches() {
        let batches = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&batches);
        let batcher = Batcher::new(
            Limits {
                items: 100,
                bytes: usize::MAX,
                in_flight: 1,
                rest: None,
            },
            |_: &u32| 1,
            move |items: Vec<u32>| {
                let counted = Arc::clone(&counted);
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    items.into_iter().map(|i| i * 2).collect::<Vec<_>>()
                }
            },
        );
        assert_eq!(batcher.run(21).await, Some(42));
        assert_eq!(batches.load(Ordering::SeqCst), 1);

        let all = futures::future::join_all((0..300).map(|i| batcher.run(i))).await;
        assert_eq!(all, (0..300).map(|i| Some(i * 2)).collect::<Vec<_>>());
        let used = batches.load(Ordering::SeqCst) - 1;
        // The first of the crowd goes alone; the rest wait for it and go 100 at a time.
        assert!((3..=5).contains(&used), "{used} batches for 300 items");
    }

    #[tokio::test(start_paused = true)]
    async fn a_resting_batcher_takes_at_most_half_the_time_and_gathers_the_rest_meanwhile() {
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&sizes);
        let batcher = Batcher::new(
            Limits {
                items: 1000,
                bytes: usize::MAX,
                in_flight: 1,
                rest: Some(Duration::from_millis(100)),
            },
            |_: &u32| 1,
            move |items: Vec<u32>| {
                let seen = Arc::clone(&seen);
                async move {
                    seen.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((tokio::time::Instant::now(), items.len()));
                    // Each batch takes 300 ms.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    items
                }
            },
        );
        // 10 items a second for 3 s.
        let mut waiting = Vec::new();
        for i in 0..30 {
            let batcher = batcher.clone();
            waiting.push(tokio::spawn(async move { batcher.run(i).await }));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for (i, done) in futures::future::join_all(waiting)
            .await
            .into_iter()
            .enumerate()
        {
            assert_eq!(done.ok().flatten(), Some(i as u32));
        }
        let sizes = sizes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        // A batch starts at most every 600 ms (300 ms of work, then as long at rest).
        for pair in sizes.windows(2) {
            assert!(
                pair[1].0 - pair[0].0 >= Duration::from_millis(600),
                "{sizes:?}"
            );
        }
        assert_eq!(sizes.iter().map(|(_, n)| n).sum::<usize>(), 30);
        assert!(sizes.len() <= 7, "{} batches", sizes.len());
    }

    #[tokio::test]
    async fn a_batch_stops_at_its_size_and_the_item_that_did_not_fit_starts_the_next() {
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&sizes);
        let gate = Arc::new(tokio::sync::Notify::new());
        let opened = Arc::clone(&gate);
        let batcher = Batcher::new(
            Limits {
                items: 100,
                bytes: 10,
                in_flight: 1,
                rest: None,
            },
            |item: &usize| *item,
            move |items: Vec<usize>| {
                let (seen, opened) = (Arc::clone(&seen), Arc::clone(&opened));
                async move {
                    if items == [0] {
                        opened.notified().await;
                    }
                    seen.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(items.clone());
                    items
                }
            },
        );
        let blocker = {
            let batcher = batcher.clone();
            tokio::spawn(async move { batcher.run(0).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let queued = {
            let batcher = batcher.clone();
            tokio::spawn(async move {
                futures::future::join_all([4, 4, 4, 12, 1].map(|i| batcher.run(i))).await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        gate.notify_one();
        assert_eq!(blocker.await.ok().flatten(), Some(0));
        let results = queued.await.unwrap_or_default();
        assert_eq!(results, [4, 4, 4, 12, 1].map(Some));
        let sizes = sizes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        assert_eq!(sizes, vec![vec![0], vec![4, 4], vec![4], vec![12], vec![1]]);
    }
}
