//! The in-process `EventBus`: a bounded queue per socket, grouped by user.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use mongodb::bson::oid::ObjectId;
use tokio::sync::{mpsc, watch};

use super::{CloseReason, EventBus, LiveEvent, Subscription};

#[derive(Debug)]
struct Socket {
    id: u64,
    session_id: ObjectId,
    events: mpsc::Sender<Arc<str>>,
    close: watch::Sender<Option<CloseReason>>,
}

#[derive(Debug)]
pub struct LocalBus {
    sockets: Mutex<HashMap<ObjectId, Vec<Socket>>>,
    next_id: AtomicU64,
    queue: usize,
    /// Set by `close_all`: a socket opened during shutdown is closed at once.
    shutting_down: AtomicBool,
}

impl LocalBus {
    /// `queue`: events a socket may have waiting before it is closed as lagging.
    pub fn new(queue: usize) -> Self {
        Self {
            sockets: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            queue: queue.max(1),
            shutting_down: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectId, Vec<Socket>>> {
        self.sockets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn close_where(&self, reason: CloseReason, matches: impl Fn(&Socket) -> bool) {
        let mut sockets = self.lock();
        for list in sockets.values_mut() {
            list.retain(|socket| {
                if matches(socket) {
                    socket.close.send_replace(Some(reason));
                    false
                } else {
                    true
                }
            });
        }
        sockets.retain(|_, list| !list.is_empty());
    }
}

impl EventBus for LocalBus {
    fn publish(&self, user_id: ObjectId, event: LiveEvent) {
        let Ok(json) = event.frame() else {
            return;
        };
        let payload: Arc<str> = json.into();
        let mut sockets = self.lock();
        let Some(list) = sockets.get_mut(&user_id) else {
            return;
        };
        list.retain(
            |socket| match socket.events.try_send(Arc::clone(&payload)) {
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
            sockets.remove(&user_id);
        }
    }

    fn subscribe(&self, user_id: ObjectId, session_id: ObjectId) -> Subscription {
        let (events, receiver) = mpsc::channel(self.queue);
        let (close, close_receiver) = watch::channel(None);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut sockets = self.lock();
        if self.shutting_down.load(Ordering::SeqCst) {
            close.send_replace(Some(CloseReason::ShuttingDown));
        } else {
            sockets.entry(user_id).or_default().push(Socket {
                id,
                session_id,
                events,
                close,
            });
        }
        Subscription {
            id,
            events: receiver,
            close: close_receiver,
        }
    }

    fn unsubscribe(&self, user_id: ObjectId, subscription_id: u64) {
        let mut sockets = self.lock();
        if let Some(list) = sockets.get_mut(&user_id) {
            list.retain(|s| s.id != subscription_id);
            if list.is_empty() {
                sockets.remove(&user_id);
            }
        }
    }

    fn end_session(&self, session_id: ObjectId) {
        self.close_where(CloseReason::SessionEnded, |s| s.session_id == session_id);
    }

    fn close_all(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.close_where(CloseReason::ShuttingDown, |_| true);
    }

    fn socket_count(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deleted() -> LiveEvent {
        LiveEvent::chat_deleted(ObjectId::new())
    }

    #[tokio::test]
    async fn events_reach_every_socket_of_the_user_and_no_one_else() {
        let bus = LocalBus::new(8);
        let (alice, bob, session) = (ObjectId::new(), ObjectId::new(), ObjectId::new());
        let mut a1 = bus.subscribe(alice, session);
        let mut a2 = bus.subscribe(alice, session);
        let mut b = bus.subscribe(bob, ObjectId::new());
        bus.publish(alice, deleted());
        for sub in [&mut a1, &mut a2] {
            assert!(matches!(sub.events.try_recv(), Ok(e) if e.contains("chat.deleted")));
        }
        assert!(b.events.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_full_queue_closes_only_that_socket() {
        let bus = LocalBus::new(2);
        let user = ObjectId::new();
        let slow = bus.subscribe(user, ObjectId::new());
        let mut fast = bus.subscribe(user, ObjectId::new());
        for _ in 0..3 {
            bus.publish(user, deleted());
            while fast.events.try_recv().is_ok() {}
        }
        assert_eq!(*slow.close.borrow(), Some(CloseReason::Lagged));
        assert_eq!(*fast.close.borrow(), None);
        assert_eq!(bus.socket_count(), 1);
        bus.publish(user, deleted());
        assert!(fast.events.try_recv().is_ok());
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
