//! Keepalive pings: one every interval while open; no pong by the next one ends the connection.

use std::time::{Duration, Instant};

/// What the heartbeat wants done now.
#[derive(Debug, PartialEq, Eq)]
pub enum Beat {
    Idle,
    /// Send an empty ping.
    SendPing,
    /// The previous ping got no pong within one interval: drop the connection.
    TimedOut,
}

/// Heartbeat bookkeeping (the engine's semantics, timed from when the connection opened rather
/// than from engine start-up, so the first ping comes one interval after opening).
#[derive(Debug, Default)]
pub struct Heartbeat {
    interval: Option<Duration>,
    last: Option<Instant>,
    waiting: bool,
}

impl Heartbeat {
    /// `None` or zero disables pings. Takes effect at the next tick.
    pub fn set_interval(&mut self, interval: Option<Duration>) {
        self.interval = interval.filter(|d| !d.is_zero());
    }

    /// The connection opened at `now`.
    pub fn start(&mut self, now: Instant) {
        self.last = Some(now);
        self.waiting = false;
    }

    /// Any pong clears the wait, solicited or not (as the engine does).
    pub fn on_pong(&mut self) {
        self.waiting = false;
    }

    pub fn tick(&mut self, now: Instant) -> Beat {
        let (Some(interval), Some(last)) = (self.interval, self.last) else {
            return Beat::Idle;
        };
        if now.saturating_duration_since(last) <= interval {
            return Beat::Idle;
        }
        if self.waiting {
            return Beat::TimedOut;
        }
        self.last = Some(now);
        self.waiting = true;
        Beat::SendPing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_every_interval_and_times_out_without_pong() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut h = Heartbeat::default();
        h.set_interval(Some(s));
        h.start(t0);
        assert_eq!(
            h.tick(t0 + s),
            Beat::Idle,
            "strictly more than one interval"
        );
        assert_eq!(h.tick(t0 + s + Duration::from_millis(1)), Beat::SendPing);
        h.on_pong();
        assert_eq!(
            h.tick(t0 + 2 * s + Duration::from_millis(2)),
            Beat::SendPing
        );
        assert_eq!(
            h.tick(t0 + 3 * s + Duration::from_millis(3)),
            Beat::TimedOut
        );
    }

    #[test]
    fn zero_disables_and_changes_apply_at_the_next_tick() {
        let t0 = Instant::now();
        let mut h = Heartbeat::default();
        h.start(t0);
        h.set_interval(Some(Duration::ZERO));
        assert_eq!(h.tick(t0 + Duration::from_secs(100)), Beat::Idle);
        h.set_interval(Some(Duration::from_millis(10)));
        assert_eq!(h.tick(t0 + Duration::from_secs(100)), Beat::SendPing);
    }
}
