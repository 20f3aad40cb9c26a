//! Delivery to this process's sockets: a bounded queue per socket, grouped by user. Logged
//! events arrive from the log's tail with their `seq`; text deltas arrive directly (from this
//! process's answers, or from another process's saves) and wait until the answer they belong
//! to has been announced (`generation.started`), so no socket sees text before its answer.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use mongodb::bson::oid::ObjectId;
use tokio::sync::{mpsc, watch};

use super::{CloseReason, Delivery, Frames, Subscription};

#[derive(Debug)]
struct Socket {
    id: u64,
    session_id: ObjectId,
    events: mpsc::Sender<Frames>,
    close: watch::Sender<Option<CloseReason>>,
}

/// Deltas of an answer not announced yet, and since when they wait.
#[derive(Debug)]
struct Early {
    since: Instant,
    user_id: ObjectId,
    frames: Vec<Arc<str>>,
}

/// Deltas wait at most this long for their answer's announcement: an answer announced before
/// this process started listening is never announced here.
const EARLY_WAIT: Duration = Duration::from_secs(1);
/// Deltas kept per unannounced answer (older ones are dropped: the final event has the text).
const EARLY_MAX: usize = 64;

#[derive(Debug, Default)]
struct Inner {
    sockets: HashMap<ObjectId, Vec<Socket>>,
    /// Answers announced and not finished: their user and (when known) chat.
    announced: HashMap<ObjectId, (ObjectId, Option<ObjectId>)>,
    early: HashMap<ObjectId, Early>,
}

#[derive(Debug)]
pub struct LocalBus {
    inner: Mutex<Inner>,
    next_id: AtomicU64,
    queue: usize,
    /// Set by `close_all`: a socket opened during shutdown is closed at once.
    shutting_down: AtomicBool,
}

impl LocalBus {
    /// `queue`: events a socket may have waiting before it is closed as lagging.
    pub fn new(queue: usize) -> Self {
        Self {
            inner: Mutex::default(),
            next_id: AtomicU64::new(1),
            queue: queue.max(1),
            shutting_down: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn close_where(&self, reason: CloseReason, matches: impl Fn(&Socket) -> bool) {
        let mut inner = self.lock();
        for list in inner.sockets.values_mut() {
            list.retain(|socket| {
                if matches(socket) {
                    socket.close.send_replace(Some(reason));
                    false
                } else {
                    true
                }
            });
        }
        inner.sockets.retain(|_, list| !list.is_empty());
    }

    /// Queues `frames` (one slot: a batch of the log counts once) for every socket of
    /// `user_id`; a socket whose queue is full is closed.
    fn send(inner: &mut Inner, user_id: ObjectId, frames: Frames) {
        let Some(list) = inner.sockets.get_mut(&user_id) else {
            return;
        };
        list.retain(
            |socket| match socket.events.try_send(Frames::clone(&frames)) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::info!(socket = socket.id, "closing a socket that fell behind");
                    socket.close.send_replace(Some(CloseReason::Lagged));
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            },
        );
        if list.is_empty() {
            inner.sockets.remove(&user_id);
        }
    }

    /// A logged event (`seq`, frame with its `seq`), in log order.
    #[cfg(test)]
    pub fn deliver_logged(
        &self,
        user_id: ObjectId,
        seq: i64,
        frame: Arc<str>,
        answer: Option<(ObjectId, AnswerStage)>,
    ) {
        self.deliver_batch(user_id, vec![(seq, frame, answer)]);
    }

    /// A batch of the log (`seq`, frame with its `seq`, the answer it starts or ends), in order.
    pub fn deliver_batch(&self, user_id: ObjectId, batch: Vec<LoggedFrame>) {
        let mut inner = self.lock();
        let frames: Frames = batch
            .iter()
            .map(|(seq, frame, _)| Delivery {
                seq: Some(*seq),
                frame: Arc::clone(frame),
            })
            .collect();
        Self::send(&mut inner, user_id, frames);
        for (_, _, answer) in batch {
            match answer {
                Some((message_id, AnswerStage::Started { chat_id })) => {
                    inner.announced.insert(message_id, (user_id, Some(chat_id)));
                    if let Some(early) = inner.early.remove(&message_id) {
                        let waited: Frames = early
                            .frames
                            .into_iter()
                            .map(|frame| Delivery { seq: None, frame })
                            .collect();
                        Self::send(&mut inner, early.user_id, waited);
                    }
                }
                Some((message_id, AnswerStage::Ended)) => {
                    inner.announced.remove(&message_id);
                    inner.early.remove(&message_id);
                }
                None => {}
            }
        }
    }

    /// A text delta of `message_id` (not logged): now if its answer was announced, else once it
    /// is (or after `EARLY_WAIT`).
    pub fn deliver_delta(&self, user_id: ObjectId, message_id: ObjectId, frame: Arc<str>) {
        let mut inner = self.lock();
        if !inner.sockets.contains_key(&user_id) {
            // No socket of that user here: nothing to deliver now, nothing to keep for later (a
            // socket opened later loads the answer's text with the chat).
            return;
        }
        if !inner.announced.contains_key(&message_id) {
            let early = inner.early.entry(message_id).or_insert_with(|| Early {
                since: Instant::now(),
                user_id,
                frames: Vec::new(),
            });
            if early.since.elapsed() < EARLY_WAIT {
                if early.frames.len() < EARLY_MAX {
                    early.frames.push(frame);
                }
                return;
            }
            // Announced before this process listened: deliver what waited, then go on.
            let waited: Frames = inner
                .early
                .remove(&message_id)
                .into_iter()
                .flat_map(|e| e.frames)
                .map(|frame| Delivery { seq: None, frame })
                .collect();
            inner.announced.insert(message_id, (user_id, None));
            Self::send(&mut inner, user_id, waited);
        }
        Self::send(
            &mut inner,
            user_id,
            Arc::new([Delivery { seq: None, frame }]),
        );
    }

    pub fn subscribe(&self, user_id: ObjectId, session_id: ObjectId) -> Subscription {
        let (events, receiver) = mpsc::channel(self.queue);
        let (close, close_receiver) = watch::channel(None);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.lock();
        if self.shutting_down.load(Ordering::SeqCst) {
            close.send_replace(Some(CloseReason::ShuttingDown));
        } else {
            inner.sockets.entry(user_id).or_default().push(Socket {
                id,
                session_id,
                events,
                close,
            });
        }
        Subscription {
            id,
            user_id,
            events: receiver,
            close: close_receiver,
        }
    }

    pub fn unsubscribe(&self, user_id: ObjectId, subscription_id: u64) {
        let mut inner = self.lock();
        if let Some(list) = inner.sockets.get_mut(&user_id) {
            list.retain(|s| s.id != subscription_id);
            if list.is_empty() {
                inner.sockets.remove(&user_id);
            }
        }
    }

    /// Closes every socket opened under this session (logout, revocation).
    pub fn end_session(&self, session_id: ObjectId) {
        self.close_where(CloseReason::SessionEnded, |s| s.session_id == session_id);
    }

    /// Closes every socket (shutdown); sockets opened afterwards close at once.
    pub fn close_all(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.close_where(CloseReason::ShuttingDown, |_| true);
    }

    /// Closes every socket asking it to reconnect at once (this process may have missed events:
    /// the clients catch up from the log with `since`).
    pub fn reconnect_all(&self) {
        self.close_where(CloseReason::Reconnect, |_| true);
    }

    /// The user and chat of an answer announced and not finished (known from the log).
    pub fn answer(&self, message_id: ObjectId) -> Option<(ObjectId, ObjectId)> {
        let inner = self.lock();
        let (user_id, chat_id) = inner.announced.get(&message_id)?;
        Some((*user_id, (*chat_id)?))
    }

    pub fn socket_count(&self) -> usize {
        self.lock().sockets.values().map(Vec::len).sum()
    }
}

/// One event of a log batch: its `seq`, its frame, and the answer it starts or ends.
pub type LoggedFrame = (i64, Arc<str>, Option<(ObjectId, AnswerStage)>);

/// Where an answer is, as far as the order of its deltas is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerStage {
    Started { chat_id: ObjectId },
    Ended,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> Arc<str> {
        Arc::from(text)
    }

    #[tokio::test]
    async fn events_reach_every_socket_of_the_user_and_no_one_else() {
        let bus = LocalBus::new(8);
        let (alice, bob, session) = (ObjectId::new(), ObjectId::new(), ObjectId::new());
        let mut a1 = bus.subscribe(alice, session);
        let mut a2 = bus.subscribe(alice, session);
        let mut b = bus.subscribe(bob, ObjectId::new());
        bus.deliver_logged(alice, 7, frame("deleted"), None);
        for sub in [&mut a1, &mut a2] {
            assert!(
                matches!(sub.events.try_recv(), Ok(d) if d[0].seq == Some(7) && &*d[0].frame == "deleted")
            );
        }
        assert!(b.events.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_full_queue_closes_only_that_socket() {
        let bus = LocalBus::new(2);
        let user = ObjectId::new();
        let slow = bus.subscribe(user, ObjectId::new());
        let mut fast = bus.subscribe(user, ObjectId::new());
        for seq in 0..3 {
            bus.deliver_logged(user, seq, frame("x"), None);
            while fast.events.try_recv().is_ok() {}
        }
        assert_eq!(*slow.close.borrow(), Some(CloseReason::Lagged));
        assert_eq!(*fast.close.borrow(), None);
        assert_eq!(bus.socket_count(), 1);
        bus.deliver_logged(user, 4, frame("x"), None);
        assert!(fast.events.try_recv().is_ok());
    }

    #[tokio::test]
    async fn deltas_wait_for_their_answer_to_be_announced() {
        let bus = LocalBus::new(8);
        let (user, answer) = (ObjectId::new(), ObjectId::new());
        let mut socket = bus.subscribe(user, ObjectId::new());
        bus.deliver_delta(user, answer, frame("d1"));
        bus.deliver_delta(user, answer, frame("d2"));
        assert!(
            socket.events.try_recv().is_err(),
            "no text before its answer"
        );
        bus.deliver_logged(
            user,
            1,
            frame("started"),
            Some((
                answer,
                AnswerStage::Started {
                    chat_id: ObjectId::new(),
                },
            )),
        );
        let order: Vec<String> = std::iter::from_fn(|| socket.events.try_recv().ok())
            .flat_map(|frames| {
                frames
                    .iter()
                    .map(|d| d.frame.to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(order, ["started", "d1", "d2"]);
        bus.deliver_delta(user, answer, frame("d3"));
        assert_eq!(&*socket.events.try_recv().expect("live")[0].frame, "d3");
    }

    #[tokio::test]
    async fn closing_all_closes_every_socket_and_any_opened_afterwards() {
        let bus = LocalBus::new(8);
        let (user, session) = (ObjectId::new(), ObjectId::new());
        let open = bus.subscribe(user, session);
        bus.close_all();
        assert_eq!(*open.close.borrow(), Some(CloseReason::ShuttingDown));
        let late = bus.subscribe(user, session);
        assert_eq!(*late.close.borrow(), Some(CloseReason::ShuttingDown));
        assert_eq!(bus.socket_count(), 0);
    }

    #[tokio::test]
    async fn ending_a_session_closes_its_sockets_only() {
        let bus = LocalBus::new(8);
        let user = ObjectId::new();
        let (s1, s2) = (ObjectId::new(), ObjectId::new());
        let one = bus.subscribe(user, s1);
        let two = bus.subscribe(user, s2);
        bus.end_session(s1);
        assert_eq!(*one.close.borrow(), Some(CloseReason::SessionEnded));
        assert_eq!(*two.close.borrow(), None);
        assert_eq!(bus.socket_count(), 1);
    }
}
