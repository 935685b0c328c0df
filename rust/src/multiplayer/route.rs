//! Which connected peers a packet goes to, from the target peer set with `set_target_peer`.

/// Where a server's packet goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Target > 0: that peer only.
    One(i32),
    /// Target 0: every connected peer.
    All,
    /// Target < 0: every connected peer but `-target`.
    AllBut(i32),
}

impl Route {
    /// The route for a target peer as `MultiplayerPeer.set_target_peer` defines it.
    pub fn of(target: i32) -> Route {
        match target {
            t if t > 0 => Route::One(t),
            0 => Route::All,
            // -i32::MIN does not fit an i32 and names no peer: everyone.
            t => t.checked_neg().map_or(Route::All, Route::AllBut),
        }
    }

    /// Whether the peer `id` receives a packet on this route.
    pub fn includes(self, id: i32) -> bool {
        match self {
            Route::One(t) => t == id,
            Route::All => true,
            Route::AllBut(t) => t != id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn positive_targets_one_peer() {
        assert_eq!(Route::of(5), Route::One(5));
        assert!(Route::of(5).includes(5));
        assert!(!Route::of(5).includes(6));
        assert!(Route::of(1).includes(1));
    }

    #[test]
    fn zero_broadcasts() {
        assert!([1, 2, 99, i32::MAX]
            .iter()
            .all(|&id| Route::of(0).includes(id)));
    }

    #[test]
    fn negative_excludes_one_peer() {
        let r = Route::of(-7);
        assert_eq!(r, Route::AllBut(7));
        assert!(!r.includes(7));
        assert!(r.includes(8) && r.includes(1));
        assert_eq!(Route::of(i32::MIN), Route::All);
    }
}
