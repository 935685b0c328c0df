//! Connections that have not finished their handshake yet, each with the time it started: the
//! server's accepted TCP connections until they are WebSocket peers with an id, the client's
//! connection until the server's id arrived. `handshake_timeout` bounds all of it (TCP, TLS,
//! the WebSocket upgrade and the id message), and is read at each check, as the engine does.

use std::time::{Duration, Instant};

/// The handshake deadline of one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    started: Instant,
}

impl Deadline {
    pub fn starting(now: Instant) -> Self {
        Deadline { started: now }
    }

    /// Whether more than `timeout` has passed since the start.
    pub fn passed(&self, timeout: Duration, now: Instant) -> bool {
        now.saturating_duration_since(self.started) > timeout
    }
}

/// `handshake_timeout` seconds as a duration; values the setter refuses never get here, but a
/// non-finite or negative one counts as "no time at all" rather than panicking.
pub fn timeout_of(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::ZERO)
}

/// Pending connections with their ids, oldest first.
#[derive(Debug)]
pub struct Pending<T> {
    items: Vec<(i32, Deadline, T)>,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Pending { items: Vec::new() }
    }
}

impl<T> Pending<T> {
    pub fn push(&mut self, id: i32, now: Instant, item: T) {
        self.items.push((id, Deadline::starting(now), item));
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn contains(&self, id: i32) -> bool {
        self.items.iter().any(|(i, _, _)| *i == id)
    }

    /// Removes and returns the connections whose deadline has passed.
    pub fn take_expired(&mut self, timeout: Duration, now: Instant) -> Vec<(i32, T)> {
        let (expired, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.items)
            .into_iter()
            .partition(|(_, d, _)| d.passed(timeout, now));
        self.items = kept;
        expired.into_iter().map(|(id, _, t)| (id, t)).collect()
    }

    /// Keeps the connections for which `keep` returns true (it may inspect and change them).
    pub fn retain(&mut self, mut keep: impl FnMut(i32, &mut T) -> bool) {
        self.items.retain_mut(|(id, _, t)| keep(*id, t));
    }

    /// Removes and returns every connection.
    pub fn drain(&mut self) -> impl Iterator<Item = (i32, T)> + '_ {
        self.items.drain(..).map(|(id, _, t)| (id, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_deadline_passes_strictly_after_the_timeout() {
        let t0 = Instant::now();
        let d = Deadline::starting(t0);
        assert!(!d.passed(3 * S, t0));
        assert!(!d.passed(3 * S, t0 + 3 * S));
        assert!(d.passed(3 * S, t0 + 3 * S + Duration::from_millis(1)));
    }

    #[test]
    fn only_expired_connections_are_taken() {
        let t0 = Instant::now();
        let mut p = Pending::default();
        p.push(2, t0, "old");
        p.push(3, t0 + 2 * S, "new");
        assert!(p.take_expired(3 * S, t0 + 3 * S).is_empty());
        assert_eq!(p.take_expired(3 * S, t0 + 4 * S), vec![(2, "old")]);
        assert_eq!(p.len(), 1);
        assert!(p.contains(3) && !p.contains(2));
        // The timeout is read at each check: shortening it expires the rest at once.
        assert_eq!(p.take_expired(S, t0 + 4 * S), vec![(3, "new")]);
        assert!(p.is_empty());
    }

    #[test]
    fn odd_timeouts_do_not_panic() {
        assert_eq!(timeout_of(3.0), 3 * S);
        assert_eq!(timeout_of(f64::NAN), Duration::ZERO);
        assert_eq!(timeout_of(-1.0), Duration::ZERO);
    }
}
