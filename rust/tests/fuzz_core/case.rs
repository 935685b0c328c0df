//! One case: a plan, the remote's input, a script of game actions, the remote's end, and the
//! checks against the model.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use godot_websocket::core::config::{InboundLimits, OutboundLimits, Timeouts};
use godot_websocket::core::connection::Connection;
use godot_websocket::core::handshake::client::{ClientHandshake, ClientRequest};
use godot_websocket::core::handshake::server::{ServerConfig, ServerHandshake};
use godot_websocket::core::state::{ReadyState, Role};

use crate::alloc::live;
use crate::big_limits;
use crate::deflate::{add_header, RemoteDeflate};
use crate::frames::{gen_stream, utf8_text};
use crate::handshakes::{gen_request, gen_response, some_protocols};
use crate::harness::Harness;
use crate::mutate::{damage_bytes, damage_frames};
use crate::rng::Rng;
use crate::wire::{Sink, Wire};
use crate::written::check_output;

/// What the game and the remote do in a case, chosen up front (the rest is steered step by step).
pub struct Plan {
    pub role: Role,
    pub clean: bool,
    pub inbound: InboundLimits,
    pub outbound: OutboundLimits,
    pub heartbeat: Option<Duration>,
    /// permessage-deflate offered (client) or accepted (server), and the remote uses it.
    pub deflate: bool,
    pub notes: Vec<&'static str>,
}

#[derive(Default, Debug)]
pub struct Outcome {
    pub opened: bool,
    pub remote_code: bool,
    pub steps: usize,
}

pub struct Case {
    pub seed: u64,
    pub verbose: bool,
}

pub fn fail(msg: String) -> ! {
    panic!("{msg}")
}

impl Case {
    pub fn run(&self, role: Role) -> Outcome {
        let mut rng = Rng(self.seed);
        let clean = rng.one_in(4);
        let max_message =
            *rng.pick(&[0usize, 1, 10, 125, 1000, 4096, 65535, 65535, 65535, 200_000]);
        let huge = rng.one_in(10) && big_limits();
        let inbound = InboundLimits {
            max_message: if huge { 1 << 30 } else { max_message },
            max_packets: *rng.pick(&[0usize, 1, 2, 7, 4096, 4096]),
        };
        let outbound = OutboundLimits {
            max_bytes: *rng.pick(&[None, Some(0), Some(100), Some(65535), Some(65535)]),
            max_frames: *rng.pick(&[0usize, 1, 3, 4096, 4096]),
        };
        let heartbeat = if !clean && rng.one_in(5) {
            Some(Duration::from_millis(rng.range(1, 5000) as u64))
        } else {
            None
        };
        let deflate = rng.one_in(3);
        let mut plan = Plan {
            role,
            clean,
            inbound,
            outbound,
            heartbeat,
            deflate,
            notes: vec![],
        };
        let mut remote_deflate = deflate.then(|| match role {
            Role::Client => RemoteDeflate::server_answer(&mut rng),
            Role::Server => RemoteDeflate::client_offer(&mut rng),
        });
        let t0 = Instant::now();
        let timeouts = Timeouts::default();

        // The connection and what its remote sends.
        let offered = some_protocols(&mut rng);
        let (mut conn, our_head, remote_head) = match role {
            Role::Client => {
                let request = ClientRequest {
                    host_header: "127.0.0.1:9080".into(),
                    resource: "/".into(),
                    protocols: offered.clone(),
                    headers: if rng.one_in(3) {
                        vec!["X-Token: abc".into()]
                    } else {
                        vec![]
                    },
                    compression: deflate,
                };
                let (hs, req) = ClientHandshake::start(&request).expect("our request is valid");
                let conn = Connection::client(hs, req.clone(), timeouts);
                let mut resp = gen_response(&mut rng, &req, &offered, clean);
                if let Some(d) = &remote_deflate {
                    add_header(&mut resp, &d.header);
                }
                (conn, req, resp)
            }
            Role::Server => {
                // Clean cases: protocols the two sides agree on.
                let ours = if clean {
                    offered.clone()
                } else {
                    some_protocols(&mut rng)
                };
                let config = ServerConfig {
                    protocols: ours,
                    headers: if rng.one_in(3) {
                        vec!["X-Server: fuzz".into()]
                    } else {
                        vec![]
                    },
                    secure: rng.one_in(4),
                    compression: deflate.then_some(15),
                };
                let hs = ServerHandshake::new(config).expect("our config is valid");
                let conn = Connection::server(hs, timeouts, t0);
                let mut req = gen_request(&mut rng, &offered, clean);
                if let Some(d) = &remote_deflate {
                    add_header(&mut req, &d.header);
                }
                (conn, Vec::new(), req)
            }
        };
        let remote_masks = role == Role::Server;
        let stream = gen_stream(
            &mut rng,
            remote_masks,
            inbound.max_message,
            remote_deflate.as_mut(),
        );
        let mut frames = stream.frames;
        let mut pristine = clean;
        if !clean && rng.below(3) > 0 {
            plan.notes
                .extend(damage_frames(&mut rng, &mut frames, remote_masks));
            pristine = false;
        }
        let mut input = remote_head;
        for f in &frames {
            f.encode(&mut input);
        }
        if !clean && rng.below(3) > 0 {
            let other = gen_stream(&mut rng, !remote_masks, 100, None);
            let mut bytes = Vec::new();
            for f in other.frames.iter().take(4) {
                f.encode(&mut bytes);
            }
            plan.notes
                .extend(damage_bytes(&mut rng, &mut input, &bytes));
            pristine = false;
        }
        if self.verbose {
            eprintln!(
                "case {:#x} {role:?} clean={clean} pristine={pristine} inbound={inbound:?} \
                 outbound={outbound:?} heartbeat={heartbeat:?} damage={:?} input={} bytes, \
                 {} frames, expected {} messages, end {:?}",
                self.seed,
                plan.notes,
                input.len(),
                frames.len(),
                stream.expected.len(),
                stream.end
            );
        }
        let mut h = Harness {
            wire: Wire {
                data: Vec::new(),
                pos: 0,
                eof: false,
                error: None,
                rng: Rng(rng.next()),
                max_chunk: *rng.pick(&[1usize, 7, 100, 4096, 4096, 70_000, 70_000, 70_000]),
            },
            sink: Sink {
                out: Vec::new(),
                budget: if rng.one_in(3) {
                    rng.below(64)
                } else {
                    usize::MAX
                },
                error: None,
            },
            held: 0,
            peak: 0,
            state: ReadyState::Connecting,
            opened: false,
            sent_bytes: 0,
            received: Vec::new(),
            sent: Vec::new(),
            now: t0,
            t0,
            verbose: self.verbose,
            plan: &plan,
        };
        h.measured(&mut conn, |c| {
            c.set_inbound_limits(inbound);
            c.set_outbound_limits(outbound);
            c.set_heartbeat(heartbeat);
        });
        if role == Role::Client {
            let now = h.now;
            h.measured(&mut conn, |c| c.transport_ready(now));
        }

        // Script: the remote's bytes arrive in pieces while the game does things.
        let mut script_meddled = false;
        let mut script_time = Duration::ZERO;
        let mut steps = 0;
        let script_steps = rng.range(1, 40);
        while steps < 2000 && (steps < script_steps || h.wire.data.len() < input.len()) {
            steps += 1;
            match rng.below(20) {
                0..=7 => {
                    let from = h.wire.data.len();
                    let n = match rng.below(4) {
                        0 => 1,
                        1 => rng.range(1, 20),
                        2 => rng.range(1, 2000),
                        _ => input.len(),
                    };
                    let to = (from + n).min(input.len());
                    h.wire.data.extend_from_slice(&input[from..to]);
                }
                8 | 9 => h.sink.budget = h.sink.budget.saturating_add(rng.below(3000)),
                10 => h.sink.budget = if rng.one_in(2) { 0 } else { usize::MAX },
                11 | 12 => h.now += Duration::from_millis(rng.below(50) as u64),
                13 => {
                    if !clean && rng.one_in(3) {
                        h.now += Duration::from_millis(rng.range(1000, 12_000) as u64);
                        script_meddled = true;
                    }
                }
                14 | 15 => {
                    let text = rng.one_in(2);
                    let n = rng.size().min(80_000);
                    let data = if text {
                        utf8_text(&mut rng, n)
                    } else {
                        rng.bytes(n)
                    };
                    h.send(&mut conn, data, text);
                }
                16 => h.pop_all(&mut conn),
                17 if !clean => {
                    script_meddled = true;
                    let code =
                        *rng.pick(&[1000i32, 1001, 4000, 0, -1, 1005, 999, 70_000, 1015, 3000]);
                    let n = rng.below(200);
                    let reason = String::from_utf8(utf8_text(&mut rng, n)).unwrap();
                    let now = h.now;
                    h.measured(&mut conn, |c| {
                        let _ = c.close(code, &reason, now).is_ok();
                    });
                }
                18 if !clean && rng.one_in(8) => {
                    script_meddled = true;
                    if rng.one_in(2) {
                        h.wire.error =
                            Some(*rng.pick(&[ErrorKind::ConnectionReset, ErrorKind::Interrupted]));
                    } else {
                        h.sink.error =
                            Some(*rng.pick(&[ErrorKind::BrokenPipe, ErrorKind::Interrupted]));
                    }
                }
                19 if !clean && rng.one_in(4) => {
                    script_meddled = true;
                    h.wire.eof = true;
                }
                _ => {}
            }
            // Odd call orders the class might use.
            match rng.below(12) {
                0 => {
                    let now = h.now;
                    h.measured(&mut conn, |c| c.process(now));
                }
                1 => {
                    let now = h.now;
                    h.measured(&mut conn, |c| c.tick(now));
                }
                2 => {
                    h.sink.reserve();
                    let sink = &mut h.sink;
                    let _ = {
                        let before = live();
                        let r = conn.write_to(sink).is_ok();
                        h.held += live() - before;
                        r
                    };
                }
                3 => h.measured(&mut conn, |c| c.release_idle_memory()),
                _ => {}
            }
            h.poll(&mut conn);
            if conn.state() == ReadyState::Closed && h.wire.data.len() == input.len() {
                break;
            }
        }
        if h.wire.data.len() < input.len() && conn.state() != ReadyState::Closed {
            fail(format!("script did not deliver the input in {steps} steps"));
        }

        script_time = script_time.max(h.now - t0);
        // Let the connection take in what has arrived (reads may have been cut short), as the
        // game's next frames would, before the remote's end.
        for _ in 0..input.len() + 64 {
            if h.wire.pos == h.wire.data.len() || conn.state() == ReadyState::Closed {
                break;
            }
            h.pop_all(&mut conn);
            h.poll(&mut conn);
        }
        // The end: the remote stops one way or another; everything must end CLOSED.
        let ending = rng.below(5);
        let write_stuck = !clean && rng.one_in(4);
        h.sink.budget = if write_stuck { 0 } else { usize::MAX };
        match ending {
            0 => h.wire.eof = true,
            1 => {
                let now = h.now;
                h.measured(&mut conn, |c| {
                    let _ = c.close(1000, "end", now).is_ok();
                });
            }
            2 => h.measured(&mut conn, |c| {
                c.set_heartbeat(Some(Duration::from_millis(700)))
            }),
            _ => {} // silence
        }
        let mut end_steps = 0;
        while conn.state() != ReadyState::Closed {
            end_steps += 1;
            if end_steps > 200 {
                fail(format!(
                    "not CLOSED after {} s of virtual time past the script (state {:?}, ending {ending}, \
                     write stuck {write_stuck})",
                    end_steps / 2,
                    conn.state()
                ));
            }
            for _ in 0..8 {
                let before = (h.received.len(), h.wire.pos);
                h.pop_all(&mut conn);
                h.poll(&mut conn);
                if (h.received.len(), h.wire.pos) == before {
                    break;
                }
            }
            if end_steps == 20 && conn.state() == ReadyState::Open {
                // A silent remote on an open connection without a heartbeat is legitimately
                // kept forever: the game ends it.
                let now = h.now;
                h.measured(&mut conn, |c| {
                    let _ = c.close(1001, "", now).is_ok();
                });
            }
            h.now += Duration::from_millis(500);
            h.poll(&mut conn);
        }
        h.pop_all(&mut conn);
        h.measured(&mut conn, |c| c.release_idle_memory());
        h.check_closed(&conn);

        // What we wrote.
        let out = std::mem::take(&mut h.sink.out);
        let compressed = !conn.selected_extensions().is_empty();
        if compressed && !plan.deflate {
            fail("compression negotiated though neither side was set up for it".into());
        }
        if plan.deflate && pristine && h.opened_seen() && !compressed {
            fail(format!(
                "a valid permessage-deflate handshake left the connection uncompressed ({:?})",
                remote_deflate.as_ref().map(|d| &d.header)
            ));
        }
        check_output(role, &our_head, &out, &h, compressed, self.verbose);

        // Unmutated input: exactly what the model says.
        if pristine {
            if !h.opened_seen() {
                fail("a valid handshake was not accepted".into());
            }
            let got = &h.received;
            if got.len() > stream.expected.len() || got[..] != stream.expected[..got.len()] {
                fail(format!(
                    "received {} messages that are not a prefix of the {} sent",
                    got.len(),
                    stream.expected.len()
                ));
            }
            // Only endings that cannot cut the stream short (EOF comes after all the data;
            // silence lets it all arrive; the game's close at step 20 has not happened).
            let untouched = !script_meddled
                && script_time < Duration::from_secs(4)
                && matches!(ending, 0 | 3 | 4)
                && end_steps < 20;
            if let (Some(end), true) = (stream.end, untouched) {
                if got.len() != stream.expected.len() {
                    fail(format!(
                        "received {} of {} messages",
                        got.len(),
                        stream.expected.len()
                    ));
                }
                if conn.close_code() != end {
                    fail(format!(
                        "close code {} where the model says {end}",
                        conn.close_code()
                    ));
                }
            }
        }
        Outcome {
            opened: h.opened_seen(),
            remote_code: conn.close_code() >= 0,
            steps: steps + end_steps,
        }
    }
}
