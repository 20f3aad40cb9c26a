//! Counts failed logins per account and per client address in fixed windows. Once either
//! reaches its limit, further attempts are refused with 429 until the window ends, before any
//! password is checked.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Above this many tracked keys, expired windows are swept on the next failure.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct LoginThrottle {
    windows: Mutex<HashMap<Key, Window>>,
    max_per_account: u32,
    max_per_ip: u32,
    window: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

impl LoginThrottle {
    pub fn new(max_per_account: u32, max_per_ip: u32, window: Duration) -> Self {
        Self {
            windows: Mutex::new(HashMap::new()),
            max_per_account: max_per_account.max(1),
            max_per_ip: max_per_ip.max(1),
            window,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Window>> {
        // A poisoned lock only means another thread panicked mid-update of plain counters.
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err(retry_after)` if the address or the account is locked out.
    pub fn check(&self, account: &str, ip: IpAddr) -> Result<(), Duration> {
        let windows = self.lock();
        let now = Instant::now();
        let blocked = |key: Key, max: u32| {
            windows.get(&key).and_then(|w| {
                let ends = w.started + self.window;
                (w.failures >= max && ends > now).then(|| ends - now)
            })
        };
        match (
            blocked(Key::Ip(ip), self.max_per_ip),
            blocked(Key::Account(account.to_owned()), self.max_per_account),
        ) {
            (None, None) => Ok(()),
            (a, b) => Err(a.max(b).unwrap_or(self.window)),
        }
    }

    pub fn record_failure(&self, account: &str, ip: IpAddr) {
        let mut windows = self.lock();
        let now = Instant::now();
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, w| w.started + self.window > now);
        }
        for key in [Key::Ip(ip), Key::Account(account.to_owned())] {
            let entry = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if entry.started + self.window <= now {
                *entry = Window {
                    started: now,
                    failures: 0,
                };
            }
            entry.failures = entry.failures.saturating_add(1);
        }
    }

    /// A successful login clears the account's failures (not the address's).
    pub fn record_success(&self, account: &str) {
        self.lock().remove(&Key::Account(account.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn locks_an_account_after_its_limit_and_unlocks_after_the_window() {
        let throttle = LoginThrottle::new(2, 100, Duration::from_millis(50));
        assert!(throttle.check("alice", IP).is_ok());
        throttle.record_failure("alice", IP);
        assert!(throttle.check("alice", IP).is_ok());
        throttle.record_failure("alice", IP);
        let retry = throttle.check("alice", IP).expect_err("locked");
        assert!(retry <= Duration::from_millis(50));
        assert!(
            throttle.check("bob", IP).is_ok(),
            "other accounts are unaffected"
        );
        std::thread::sleep(Duration::from_millis(60));
        assert!(throttle.check("alice", IP).is_ok());
    }

    #[test]
    fn locks_an_address_across_accounts() {
        let throttle = LoginThrottle::new(100, 3, Duration::from_secs(60));
        for name in ["a", "b", "c"] {
            throttle.record_failure(name, IP);
        }
        assert!(throttle.check("d", IP).is_err());
        let other_ip = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
        assert!(throttle.check("d", other_ip).is_ok());
    }

    #[test]
    fn success_clears_the_account() {
        let throttle = LoginThrottle::new(2, 100, Duration::from_secs(60));
        throttle.record_failure("alice", IP);
        throttle.record_success("alice");
        throttle.record_failure("alice", IP);
        assert!(throttle.check("alice", IP).is_ok());
    }
}
