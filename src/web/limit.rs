//! Limits on the administrators' sign-in: failed attempts counted per
//! account and per client address, and argon2's verifications a few at a
//! time, so that guessing passwords is slow and a flood of sign-ins
//! cannot take the processor from the page (or the mail server beside it).
//!
//! Accounts are counted only for the names in `[web] admins`, so their
//! table is as large as the configuration. Addresses are counted in a
//! table of at most [`MAX_ADDRESSES`] entries (IPv6 by /64, the block one
//! host is given): an attacker with more addresses than that pushes out
//! their own old entries, and still meets the account's limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Failed attempts on one account within [`WINDOW`] before it is locked.
pub const ACCOUNT_FAILURES: u32 = 5;
/// Failed attempts from one address within [`WINDOW`] before it is locked.
pub const ADDRESS_FAILURES: u32 = 20;
/// The period failures are counted over, and how long a lock lasts.
pub const WINDOW: u64 = 15 * 60;
/// Client addresses remembered at once.
pub const MAX_ADDRESSES: usize = 10_000;
/// Password verifications at once: each takes a core for a moment.
pub const MAX_VERIFYING: usize = 2;
/// How long a sign-in waits for its turn before it is told to try again.
pub const VERIFY_WAIT: Duration = Duration::from_secs(10);

/// The failures of one account or address.
#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    /// When the first failure of this window was.
    since: u64,
    /// Until when sign-ins are refused (0: not locked).
    locked_until: u64,
}

impl Record {
    fn locked(&self, now: u64) -> Option<u64> {
        (self.locked_until > now).then(|| self.locked_until - now)
    }

    /// Whether it still counts for anything at `now`.
    fn live(&self, now: u64) -> bool {
        self.locked_until > now || self.since + WINDOW > now
    }

    /// One more failure at `now`; locked when it reaches `limit`.
    fn fail(&mut self, now: u64, limit: u32) {
        if self.since + WINDOW <= now {
            *self = Record {
                failures: 0,
                since: now,
                locked_until: 0,
            };
        }
        self.failures += 1;
        if self.failures >= limit {
            self.locked_until = now + WINDOW;
        }
    }
}

const NEW: Record = Record {
    failures: 0,
    since: 0,
    locked_until: 0,
};

/// The sign-in's failed attempts.
pub struct Attempts {
    accounts: Mutex<HashMap<String, Record>>,
    addresses: Mutex<HashMap<IpAddr, Record>>,
    max_addresses: usize,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The key an address is counted under: an IPv4 address, or an IPv6
/// address's /64 (IPv4-mapped ones as IPv4).
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
        v4 => v4,
    }
}

impl Attempts {
    pub fn new() -> Attempts {
        Attempts::with_capacity(MAX_ADDRESSES)
    }

    fn with_capacity(max_addresses: usize) -> Attempts {
        Attempts {
            accounts: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
            max_addresses: max_addresses.max(1),
        }
    }

    /// `None` when `account` may try to sign in from `address` at `now`;
    /// else the seconds until it may.
    pub fn locked(&self, account: &str, address: IpAddr, now: u64) -> Option<u64> {
        let by_account = lock(&self.accounts)
            .get(account)
            .and_then(|r| r.locked(now));
        let by_address = lock(&self.addresses)
            .get(&address_key(address))
            .and_then(|r| r.locked(now));
        by_account.max(by_address)
    }

    /// Counts a failed attempt; `known` says whether `account` is one of
    /// `[web] admins` (only those are counted by name). The seconds of the
    /// lock this failure started, if it did.
    pub fn failed(&self, account: &str, known: bool, address: IpAddr, now: u64) -> Option<u64> {
        let by_account = if known {
            let mut accounts = lock(&self.accounts);
            let record = accounts.entry(account.to_string()).or_insert(NEW);
            record.fail(now, ACCOUNT_FAILURES);
            record.locked(now)
        } else {
            None
        };
        let mut addresses = lock(&self.addresses);
        let key = address_key(address);
        if !addresses.contains_key(&key) && addresses.len() >= self.max_addresses {
            make_room(&mut addresses, self.max_addresses, now);
        }
        let record = addresses.entry(key).or_insert(NEW);
        record.fail(now, ADDRESS_FAILURES);
        by_account.max(record.locked(now))
    }

    /// A successful sign-in: the account's and the address's failures
    /// are forgotten.
    pub fn succeeded(&self, account: &str, address: IpAddr) {
        lock(&self.accounts).remove(account);
        lock(&self.addresses).remove(&address_key(address));
    }

    #[cfg(test)]
    fn addresses_kept(&self) -> usize {
        lock(&self.addresses).len()
    }
}

/// Frees a place in a table of `max` records: the records that no longer
/// count go; if all still count, the one least worth keeping (not locked
/// before locked, then the oldest).
fn make_room(addresses: &mut HashMap<IpAddr, Record>, max: usize, now: u64) {
    addresses.retain(|_, r| r.live(now));
    if addresses.len() < max {
        return;
    }
    if let Some(oldest) = addresses
        .iter()
        .min_by_key(|(_, r)| (r.locked_until, r.since))
        .map(|(k, _)| *k)
    {
        addresses.remove(&oldest);
    }
}

/// Password verifications, at most [`MAX_VERIFYING`] at once.
#[derive(Clone)]
pub struct Verifier {
    slots: Arc<tokio::sync::Semaphore>,
    wait: Duration,
}

impl Verifier {
    pub fn new(at_once: usize, wait: Duration) -> Verifier {
        Verifier {
            slots: Arc::new(tokio::sync::Semaphore::new(at_once.max(1))),
            wait,
        }
    }

    /// Runs `work` on a blocking thread once a slot is free; `None` when
    /// none came free within the wait (or the work panicked).
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let slot = tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned())
            .await
            .ok()?
            .ok()?;
        let done = tokio::task::spawn_blocking(work).await.ok();
        drop(slot);
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const AWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7));

    #[test]
    fn an_account_is_locked_after_its_failures_from_anywhere() {
        let attempts = Attempts::new();
        for i in 0..ACCOUNT_FAILURES - 1 {
            let from = if i % 2 == 0 { HOME } else { AWAY };
            assert_eq!(attempts.failed("ann", true, from, 100), None);
            assert_eq!(attempts.locked("ann", HOME, 100), None);
        }
        assert_eq!(attempts.failed("ann", true, AWAY, 200), Some(WINDOW));
        // From any address, for the lock's time, then free again.
        assert_eq!(attempts.locked("ann", HOME, 260), Some(WINDOW - 60));
        assert_eq!(attempts.locked("bob", HOME, 260), None);
        assert_eq!(attempts.locked("ann", HOME, 200 + WINDOW), None);
        // Unknown names are not counted by name.
        for _ in 0..ACCOUNT_FAILURES {
            attempts.failed("mallory", false, AWAY, 300);
        }
        assert_eq!(attempts.locked("mallory", HOME, 301), None);
    }

    #[test]
    fn failures_spread_over_more_than_the_window_do_not_lock() {
        let attempts = Attempts::new();
        for i in 0..u64::from(ACCOUNT_FAILURES) * 3 {
            assert_eq!(attempts.failed("ann", true, HOME, i * WINDOW / 4), None);
        }
    }

    #[test]
    fn an_address_is_locked_after_its_failures_whatever_the_names() {
        let attempts = Attempts::new();
        for i in 0..ADDRESS_FAILURES - 1 {
            attempts.failed(&format!("guess{i}"), false, HOME, 10);
        }
        assert_eq!(attempts.locked("ann", HOME, 10), None);
        assert_eq!(attempts.failed("guess", false, HOME, 10), Some(WINDOW));
        assert_eq!(attempts.locked("ann", HOME, 11), Some(WINDOW - 1));
        assert_eq!(attempts.locked("ann", AWAY, 11), None);
        // A success elsewhere forgets nothing of it; one from it, all.
        attempts.succeeded("ann", AWAY);
        assert!(attempts.locked("ann", HOME, 11).is_some());
        attempts.succeeded("ann", HOME);
        assert_eq!(attempts.locked("ann", HOME, 11), None);
    }

    #[test]
    fn an_ipv6_host_is_one_address_across_its_block() {
        let attempts = Attempts::new();
        for i in 0..ADDRESS_FAILURES {
            let address: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
            attempts.failed("x", false, address, 10);
        }
        let other: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert!(attempts.locked("x", other, 11).is_some());
        let next_block: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(attempts.locked("x", next_block, 11), None);
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        attempts.failed("x", false, mapped, 10);
        assert_eq!(attempts.addresses_kept(), 2);
        assert_eq!(address_key(mapped), HOME);
    }

    #[test]
    fn many_addresses_do_not_grow_the_table_past_its_bound() {
        let attempts = Attempts::with_capacity(1000);
        for i in 0..20_000u32 {
            attempts.failed("x", false, IpAddr::V4(i.into()), 10);
        }
        assert_eq!(attempts.addresses_kept(), 1000);
        // Locked addresses keep their place over addresses that failed once.
        let attempts = Attempts::with_capacity(10);
        for _ in 0..ADDRESS_FAILURES {
            attempts.failed("x", false, HOME, 10);
        }
        for i in 0..100u32 {
            attempts.failed("x", false, IpAddr::V4(i.into()), 10);
        }
        assert!(attempts.locked("x", HOME, 11).is_some());
    }

    #[test]
    fn no_more_than_the_allowed_verifications_run_at_once() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let verifier = Verifier::new(2, Duration::from_secs(3600));
            let running = Arc::new(AtomicUsize::new(0));
            let (release, released) = std::sync::mpsc::channel::<()>();
            let released = Arc::new(Mutex::new(released));
            let tasks: Vec<_> = (0..6)
                .map(|_| {
                    let (verifier, running, released) = (
                        verifier.clone(),
                        Arc::clone(&running),
                        Arc::clone(&released),
                    );
                    tokio::spawn(async move {
                        verifier
                            .run(move || {
                                running.fetch_add(1, Ordering::SeqCst);
                                // Held until the test lets one go.
                                _ = lock(&released).recv();
                                running.fetch_sub(1, Ordering::SeqCst);
                            })
                            .await
                    })
                })
                .collect();
            while running.load(Ordering::SeqCst) < 2 {
                tokio::task::yield_now().await;
            }
            // Both slots are taken: a sign-in that may not wait is turned away.
            let impatient = Verifier {
                wait: Duration::ZERO,
                ..verifier.clone()
            };
            assert_eq!(impatient.run(|| ()).await, None);
            assert_eq!(verifier.slots.available_permits(), 0);
            assert_eq!(running.load(Ordering::SeqCst), 2);
            for _ in 0..6 {
                release.send(()).unwrap();
            }
            for task in tasks {
                assert_eq!(task.await.unwrap(), Some(()));
            }
            assert_eq!(verifier.slots.available_permits(), 2);
        });
    }
}
