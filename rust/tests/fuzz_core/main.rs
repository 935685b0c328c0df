//! Fuzzing the network-facing core: random and mutated handshakes and frame streams fed to a
//! `Connection` in both roles, in virtual time, with every read chunked at random and the write
//! side throttled.
//!
//! Each case builds what a remote would send (a valid handshake and frame stream, then maybe
//! mutated: structural damage to frames, then bit flips, truncation, splices...), drives one
//! connection the way a `poll()` does while the "game" sends, closes, reads packets and time
//! passes, then ends the remote (EOF, silence, our close, a heartbeat) and checks:
//!
//! - no panic, and no hang (a watchdog aborts the run if a case stops making progress);
//! - the connection is CLOSED within a bounded number of steps and of virtual time;
//! - ready states only move forward; close codes reported are -1, 0 or valid wire codes;
//! - every byte we wrote is a valid request/response head followed by valid frames (masking,
//!   RSV, control sizes, close codes, UTF-8), nothing after our close frame, at most one close;
//! - the messages we wrote are a prefix of those the game sent successfully;
//! - queues stay within the configured limits, and the heap the connection holds (counted by a
//!   per-thread allocator) stays within a bound set by the limits and the bytes received;
//! - for unmutated input, the messages received are exactly the model's (up to the remote's close
//!   or the first message over the limit), and the close code is the remote's (or 1009).
//!
//! `cargo test -p godot_websocket fuzz -- --nocapture` runs the default count (both roles);
//! `FUZZ_SEED=<n>|random` and `FUZZ_CASES=<n>` (total over both roles) override it, and
//! `FUZZ_ONE=<case seed>` replays one case, printing what it does. A failure prints the case seed.
//! `FUZZ_BIG_LIMITS=1` also gives some cases `inbound_buffer_size` = 1 GiB (heap must then follow
//! the bytes received, not the lengths the remote claims).

mod alloc;
mod case;
mod deflate;
mod frames;
mod handshakes;
mod harness;
mod mutate;
mod rng;
mod wire;
mod written;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use godot_websocket::core::state::Role;

use crate::case::Case;
use crate::rng::mix;

// ---- running many cases ------------------------------------------------------------------------

const DEFAULT_CASES: u64 = 100_000;

/// `FUZZ_BIG_LIMITS=1`: some cases get `inbound_buffer_size` = 1 GiB, which checks that the heap
/// a connection takes follows the bytes received, not the lengths the remote claims.
fn big_limits() -> bool {
    std::env::var_os("FUZZ_BIG_LIMITS").is_none_or(|v| v != "0")
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    if let Some(hex) = v.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()
    } else {
        v.parse().ok()
    }
}

fn base_seed() -> u64 {
    match std::env::var("FUZZ_SEED").as_deref() {
        Ok("random") => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            t.as_nanos() as u64
        }
        _ => env_u64("FUZZ_SEED").unwrap_or(0x5eed_2026),
    }
}

fn fuzz_role(role: Role, salt: u64) {
    let seed = base_seed();
    if let Some(one) = env_u64("FUZZ_ONE") {
        let out = Case {
            seed: one,
            verbose: true,
        }
        .run(role);
        eprintln!("case {one:#x} {role:?}: {out:?}");
        return;
    }
    let total = env_u64("FUZZ_CASES").unwrap_or(DEFAULT_CASES);
    let cases = total.div_ceil(2);
    eprintln!(
        "fuzz {role:?}: FUZZ_SEED={seed:#x}, {cases} cases (FUZZ_CASES={total} over both roles)"
    );

    // A watchdog: a case that stops making progress is a hang.
    let progress = Arc::new(AtomicU64::new(0));
    let current = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (progress, current, done) = (progress.clone(), current.clone(), done.clone());
        std::thread::spawn(move || {
            let mut last = u64::MAX;
            let mut still = 0;
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(250));
                let p = progress.load(Ordering::Relaxed);
                if p == last {
                    still += 1;
                    if still >= 80 {
                        eprintln!(
                            "HANG: fuzz {role:?} case {:#x} made no progress for 20 s; replay with FUZZ_ONE={:#x}",
                            current.load(Ordering::Relaxed),
                            current.load(Ordering::Relaxed)
                        );
                        std::process::abort();
                    }
                } else {
                    (last, still) = (p, 0);
                }
            }
        })
    };

    let started = Instant::now();
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {})); // failures are reported below, with their seed
    let mut failures: Vec<(u64, String)> = Vec::new();
    let (mut opened, mut coded, mut steps) = (0u64, 0u64, 0u64);
    for i in 0..cases {
        let case_seed = mix(seed ^ salt, i);
        current.store(case_seed, Ordering::Relaxed);
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            Case {
                seed: case_seed,
                verbose: false,
            }
            .run(role)
        }));
        progress.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(out) => {
                opened += u64::from(out.opened);
                coded += u64::from(out.remote_code);
                steps += out.steps as u64;
            }
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push((case_seed, msg));
                if failures.len() >= 20 {
                    break;
                }
            }
        }
    }
    panic::set_hook(hook);
    done.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    eprintln!(
        "fuzz {role:?}: {cases} cases in {:.1} s: {opened} opened, {coded} ended with a close code, \
         {steps} steps, {} failures",
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    if !failures.is_empty() {
        for (s, msg) in &failures {
            eprintln!("FAIL {role:?} case FUZZ_ONE={s:#x}: {msg}");
        }
        panic!(
            "{} fuzz cases failed ({role:?}); replay one with FUZZ_ONE=<seed>",
            failures.len()
        );
    }
}

#[test]
fn fuzz_client_connection() {
    fuzz_role(Role::Client, 0xc11e);
}

#[test]
fn fuzz_server_connection() {
    fuzz_role(Role::Server, 0x5e7e);
}
