//! Throttling of failed logins and of sign-ups, shared by every process through MongoDB.
//!
//! The login policy (documented in `.env.example` and the README):
//! - **Per account and address**: after `free_failures` consecutive failures for one account
//!   from one address, that address must wait before trying that account again: `backoff_base`,
//!   doubling with each further failure, at most `backoff_max`. A success clears it.
//! - **Per account**: after `max_per_account` consecutive failures (NIST SP 800-63B allows up
//!   to 100), the account refuses sign-ins from every address that has never signed in to it,
//!   until a success or until `memory` passes without a failure. An address the owner signed
//!   in from before (within `memory` × 30) is exempt, so an attacker elsewhere cannot lock the
//!   owner out from their usual address.
//! - **Per address**: at most `max_per_ip` failures in a fixed window, whatever the accounts.
//!
//! IPv6 addresses are counted by /64 (one subscriber's network), IPv4 by address. Every check
//! happens before a password is verified, and refused attempts count for nothing.

use std::{
    net::IpAddr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use mongodb::{Collection, bson::DateTime};

use crate::store::throttles::{self, Expiry, ThrottleDoc};

#[derive(Debug, Clone)]
pub struct LoginPolicy {
    pub free_failures: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub max_per_account: u32,
    pub max_per_ip: u32,
    pub ip_window: Duration,
    /// How long failures are remembered after the last one.
    pub memory: Duration,
}

/// How long an address that signed in to an account stays exempt from its account lock,
/// in units of `memory`.
const KNOWN_ADDRESS_FACTOR: u32 = 30;

/// The address as counted: IPv4 as is, IPv6 by its /64 prefix.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The fixed window containing now, for a window length: its index and its end.
fn window(length: Duration) -> (u64, DateTime) {
    let length = length.as_millis().max(1) as u64;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let index = now / length;
    let end = (index + 1).saturating_mul(length);
    (
        index,
        DateTime::from_millis(i64::try_from(end).unwrap_or(i64::MAX)),
    )
}

fn until(at: DateTime) -> Duration {
    let left = at.timestamp_millis() - DateTime::now().timestamp_millis();
    Duration::from_millis(u64::try_from(left).unwrap_or(0))
}

struct Keys {
    pair: String,
    account: String,
    ip: String,
    known: String,
    ip_window_end: DateTime,
}

impl LoginPolicy {
    fn keys(&self, account: &str, ip: IpAddr) -> Keys {
        let address = address_key(ip);
        let (index, ip_window_end) = window(self.ip_window);
        Keys {
            pair: format!("login-pair:{account}:{address}"),
            account: format!("login-account:{account}"),
            ip: format!("login-ip:{address}:{index}"),
            known: format!("login-known:{account}:{address}"),
            ip_window_end,
        }
    }

    /// How long an address must wait after `failures` consecutive failures on one account.
    pub fn backoff(&self, failures: u32) -> Option<Duration> {
        let beyond = failures.checked_sub(self.free_failures)?;
        let factor = 2_u32.saturating_pow(beyond.min(30));
        Some(
            self.backoff_base
                .saturating_mul(factor)
                .min(self.backoff_max),
        )
    }

    /// `Err(retry_after)` if `account` may not be tried from `ip` now.
    pub async fn check(
        &self,
        store: &Collection<ThrottleDoc>,
        account: &str,
        ip: IpAddr,
    ) -> mongodb::error::Result<Result<(), Duration>> {
        let keys = self.keys(account, ip);
        let docs = throttles::read(
            store,
            &[
                keys.pair.clone(),
                keys.account.clone(),
                keys.ip.clone(),
                keys.known.clone(),
            ],
        )
        .await?;
        let get = |key: &str| docs.iter().find(|d| d.key == key);
        let count = |doc: &ThrottleDoc| u32::try_from(doc.count).unwrap_or(u32::MAX);
        let mut wait = Duration::ZERO;
        if let Some(ip) = get(&keys.ip).filter(|d| count(d) >= self.max_per_ip) {
            wait = wait.max(until(ip.expires_at));
        }
        if let Some(pair) = get(&keys.pair)
            && let (Some(backoff), Some(last)) = (self.backoff(count(pair)), pair.last_at)
        {
            let millis = i64::try_from(backoff.as_millis()).unwrap_or(i64::MAX / 2);
            wait = wait.max(until(DateTime::from_millis(
                last.timestamp_millis().saturating_add(millis),
            )));
        }
        let known = get(&keys.known).is_some();
        if !known
            && let Some(total) = get(&keys.account).filter(|d| count(d) >= self.max_per_account)
        {
            wait = wait.max(until(total.expires_at));
        }
        if !wait.is_zero() {
            metrics::counter!(crate::metrics::THROTTLE_LOCKS).increment(1);
        }
        Ok(if wait.is_zero() { Ok(()) } else { Err(wait) })
    }

    /// Counts a failed attempt against the pair, the account and the address.
    pub async fn failed(
        &self,
        store: &Collection<ThrottleDoc>,
        account: &str,
        ip: IpAddr,
    ) -> mongodb::error::Result<Option<Burst>> {
        metrics::counter!(crate::metrics::LOGIN_FAILURES).increment(1);
        let keys = self.keys(account, ip);
        let (_, by_account, by_ip) = tokio::try_join!(
            throttles::bump(store, &keys.pair, Expiry::AfterLast(self.memory)),
            throttles::bump(store, &keys.account, Expiry::AfterLast(self.memory)),
            throttles::bump(store, &keys.ip, Expiry::At(keys.ip_window_end)),
        )?;
        // The counts grow atomically: exactly one failure (on whichever process) is the one
        // that reaches a threshold, and reports the burst.
        if by_account.count == i64::from(self.free_failures.max(1)) {
            return Ok(Some(Burst::Account(by_account.count)));
        }
        if by_ip.count == i64::from(self.max_per_ip) {
            return Ok(Some(Burst::Address(by_ip.count)));
        }
        Ok(None)
    }

    /// A success clears the account's consecutive failures (from everywhere) and remembers
    /// the address as one the owner uses.
    pub async fn succeeded(
        &self,
        store: &Collection<ThrottleDoc>,
        account: &str,
        ip: IpAddr,
    ) -> mongodb::error::Result<()> {
        let keys = self.keys(account, ip);
        let cleared = [keys.pair, keys.account];
        tokio::try_join!(
            throttles::clear(store, &cleared),
            throttles::mark(
                store,
                &keys.known,
                self.memory.saturating_mul(KNOWN_ADDRESS_FACTOR)
            ),
        )
        .map(drop)
    }
}

/// A burst of failed sign-ins, reported once when a count reaches its threshold (for the audit
/// log): an account's consecutive failures reaching the free ones (back-off begins), or an
/// address's failures reaching its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Burst {
    Account(i64),
    Address(i64),
}

/// Sign-ups per address in a fixed hour. `Err(retry_after)` once `per_hour` is reached; the
/// attempt counts whatever its outcome (a taken e-mail costs as much as a new account).
pub async fn register_attempt(
    store: &Collection<ThrottleDoc>,
    ip: IpAddr,
    per_hour: u32,
) -> mongodb::error::Result<Result<(), Duration>> {
    if per_hour == 0 {
        return Ok(Ok(()));
    }
    let (index, end) = window(Duration::from_secs(3600));
    let key = format!("register-ip:{}:{index}", address_key(ip));
    let counter = throttles::bump(store, &key, Expiry::At(end)).await?;
    Ok(if counter.count > i64::from(per_hour) {
        Err(until(end).max(Duration::from_secs(1)))
    } else {
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LoginPolicy {
        LoginPolicy {
            free_failures: 5,
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(900),
            max_per_account: 100,
            max_per_ip: 50,
            ip_window: Duration::from_secs(900),
            memory: Duration::from_secs(86_400),
        }
    }

    #[test]
    fn the_backoff_starts_after_the_free_failures_doubles_and_is_capped() {
        let p = policy();
        let waits: Vec<Option<u64>> = (0..12).map(|n| p.backoff(n).map(|d| d.as_secs())).collect();
        assert_eq!(
            waits,
            [
                None,
                None,
                None,
                None,
                None,
                Some(30),
                Some(60),
                Some(120),
                Some(240),
                Some(480),
                Some(900),
                Some(900)
            ]
        );
        assert_eq!(p.backoff(u32::MAX), Some(Duration::from_secs(900)));
    }

    #[test]
    fn ipv6_addresses_are_counted_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        let other: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().expect("ip");
        assert_eq!(address_key(mapped), "203.0.113.7");
    }

    #[test]
    fn fixed_windows_end_in_the_future_within_one_length() {
        let (_, end) = window(Duration::from_secs(60));
        let left = until(end);
        assert!(
            left > Duration::ZERO && left <= Duration::from_secs(60),
            "{left:?}"
        );
    }
}
