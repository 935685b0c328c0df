#!/usr/bin/env node
// The external side of the load test (tests/load/run.py), on Node's `ws` (tests/node_modules).
//
//   node peer.mjs server [--port 0] [--verify] [--fault corrupt|drop|reorder:K]
//       Echo server for the Godot process's client connections. A connection to /c/<id> is
//       connection <id>: with --verify every message it receives is compared with message
//       <seq> of connection <id> (see the generator below), so a lost, reordered or corrupted
//       message on the way Godot -> here is caught on this side (the echo is checked by Godot).
//       Prints `READY <port>` once listening, then `PROGRESS {json}` every second; on SIGTERM
//       or stdin EOF `RESULT {json}` and exits. --fault (a self-test of the checks in Godot) spoils
//       the K-th echo over all connections: one bit flipped, dropped, or sent after the next one
//       of its connection (the corrupted one also fails the empty-message case: it gets a byte).
//
//   node peer.mjs client --url ws://127.0.0.1:PORT/ --connections N --messages TOTAL
//                        [--id-base 0] [--duration SECONDS] [--window 8] [--window-bytes 65536]
//                        [--wait-go] [--stall 30] [--timeout 1800] [--open-parallel 32]
//       Opens N connections to a Godot echo server (at most --open-parallel handshakes at once),
//       prints `ALL_OPEN <n>`; with --wait-go waits for a line `GO` on stdin; then each
//       connection sends its messages (TOTAL split evenly; with --duration > 0: until that many
//       seconds have passed instead) with at most --window messages and --window-bytes bytes in
//       flight, checks every echo (same type, same bytes, same order), and closes with 1000.
//       Prints `PROGRESS {json}` every second and `RESULT {json}` at the end (exit 0 = all good).
//       Bounded: no progress for --stall seconds, or --timeout in all, ends it with an error.
//
// Messages (identical generator in godot-project/load/messages.gd; keep the two in step):
//   message <seq> of connection <c> is fully determined by (c, seq): its size (0 B to 64 KiB:
//   2 % empty, 2 % frame-length boundaries such as 125/126/127/65535/65536, 86 % 1-256 B, 9 %
//   257-4096 B, 1 % 4097-65536 B; about 1 KB on average), its type (30 % text, valid UTF-8 with
//   2-, 3- and 4-byte characters; 70 % binary) and its bytes (a slice of a pseudo-random pool).
//   Messages of 16 B or more start with an ASCII header `%07x%08x|` (connection id, sequence
//   number) for diagnostics. The receiver regenerates or keeps the expected message and compares
//   every byte, which is stronger than a checksum.

import { createHash } from "node:crypto";
import { createServer } from "node:http";
import WebSocket, { WebSocketServer } from "ws";

// ---- generator ------------------------------------------------------------------------------

const M31 = 2147483647;
const POOL = 65536;
const BOUNDARY = [1, 2, 15, 16, 17, 125, 126, 127, 128, 4096, 65535, 65536];
const HEADER = 16;

function mix(x) {
  x = (x * 48271) % M31;
  x ^= x >> 11;
  x = (x * 48271) % M31;
  x ^= x >> 7;
  return (x * 48271) % M31;
}

function rnd(c, s, k) {
  return mix(((c * 1000003 + s * 7919 + k * 104729) % (M31 - 1)) + 1);
}

function makePools() {
  let x = 20251125;
  const next = () => (x = (x * 48271) % M31);
  const bin = Buffer.alloc(2 * POOL + HEADER);
  for (let i = 0; i < bin.length; i++) bin[i] = (next() >> 8) & 255;
  const txt = Buffer.alloc(2 * POOL + HEADER);
  for (let i = 0; i < txt.length; i += 4) {
    const v = next();
    const t = v % 8;
    if (t < 4) {
      for (let j = 0; j < 4; j++) txt[i + j] = 0x20 + ((v >> (3 + 5 * j)) % 95);
    } else if (t < 6) {
      txt[i] = 0xc3; txt[i + 1] = 0xa9; // é
      txt[i + 2] = 0x61 + ((v >> 3) % 26); txt[i + 3] = 0x61 + ((v >> 8) % 26);
    } else if (t === 6) {
      txt[i] = 0xe2; txt[i + 1] = 0x82; txt[i + 2] = 0xac; txt[i + 3] = 0x2d; // €-
    } else {
      txt[i] = 0xf0; txt[i + 1] = 0x9f; txt[i + 2] = 0x98; txt[i + 3] = 0x80; // 😀
    }
  }
  return { bin, txt };
}

const POOLS = makePools();
const TAIL = Buffer.from("xyz");

function messageSpec(c, s) {
  const p = rnd(c, s, 1) % 1000;
  const r2 = rnd(c, s, 2);
  let size;
  if (p < 20) size = 0;
  else if (p < 40) size = BOUNDARY[r2 % BOUNDARY.length];
  else if (p < 900) size = 1 + (r2 % 256);
  else if (p < 990) size = 257 + (r2 % 3840);
  else size = 4097 + (r2 % 61440);
  const text = rnd(c, s, 3) % 100 < 30;
  const off = rnd(c, s, 4) % POOL;
  return { size, text, off };
}

function header(c, s) {
  return Buffer.from(c.toString(16).padStart(7, "0").slice(-7) + (s >>> 0).toString(16).padStart(8, "0") + "|", "latin1");
}

function message(c, s) {
  const { size, text, off } = messageSpec(c, s);
  let data;
  if (text) {
    const o = off & ~3;
    const body = POOLS.txt.subarray(o, o + (size & ~3));
    data = Buffer.concat([body, TAIL.subarray(0, size & 3)], size);
  } else {
    data = Buffer.from(POOLS.bin.subarray(off, off + size));
  }
  if (size >= HEADER) header(c, s).copy(data, 0);
  return { data, text };
}

/// What a received message looks like, for error details.
function describe(data, isBinary) {
  const head = data.length >= HEADER ? data.subarray(0, HEADER).toString("latin1") : "";
  const m = /^([0-9a-f]{7})([0-9a-f]{8})\|$/.exec(head);
  const claims = m ? ` (its header says connection ${parseInt(m[1], 16)} seq ${parseInt(m[2], 16)})` : "";
  return `${isBinary ? "binary" : "text"} of ${data.length} B${claims}`;
}

function firstDiff(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

// ---- arguments ------------------------------------------------------------------------------

function parseArgs(argv) {
  const args = {
    mode: argv[0] ?? "", port: 0, verify: false, url: "", connections: 1, messages: 0, idBase: 0,
    duration: 0, window: 8, windowBytes: 65536, waitGo: false, stall: 30, timeout: 1800,
    openParallel: 32, fault: "", deflate: false,
  };
  const names = {
    "--port": "port", "--url": "url", "--connections": "connections", "--messages": "messages",
    "--id-base": "idBase", "--duration": "duration", "--window": "window",
    "--window-bytes": "windowBytes", "--stall": "stall", "--timeout": "timeout",
    "--open-parallel": "openParallel", "--fault": "fault",
  };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--verify") args.verify = true;
    else if (a === "--wait-go") args.waitGo = true;
    else if (a === "--deflate") args.deflate = true;
    else if (a in names) {
      const key = names[a];
      const v = argv[++i] ?? "";
      args[key] = key === "url" || key === "fault" ? v : Number(v);
    } else throw new Error(`unexpected argument ${a}`);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const started = Date.now();
const elapsed = () => (Date.now() - started) / 1000;
const out = (line) => process.stdout.write(line + "\n");

// ---- server ---------------------------------------------------------------------------------

function runServer() {
  const [faultKind, faultK] = args.fault ? args.fault.split(":") : ["", "-1"];
  let faultAt = Number(faultK);
  let held = null;
  const stats = { connections: 0, open: 0, messages: 0, bytes: 0, verified: 0, errors: [], error_count: 0, closes: {} };
  const http = createServer((_req, res) => { res.writeHead(404); res.end(); });
  const wss = new WebSocketServer({ server: http, perMessageDeflate: args.deflate ? { threshold: 0 } : false, maxPayload: 16 * 1024 * 1024 });
  wss.on("connection", (ws, req) => {
    stats.connections++;
    stats.open++;
    const m = /^\/c\/(\d+)/.exec(req.url ?? "");
    const c = m ? Number(m[1]) : -1;
    let seq = 0;
    ws.on("message", (data, isBinary) => {
      stats.messages++;
      stats.bytes += data.length;
      if (args.verify && c >= 0) {
        const want = message(c, seq);
        if (want.text === isBinary || !want.data.equals(data)) {
          stats.error_count++;
          if (stats.errors.length < 20) {
            stats.errors.push(`connection ${c} message ${seq}: got ${describe(data, isBinary)}, want ` +
              `${want.text ? "text" : "binary"} of ${want.data.length} B` +
              (want.data.length === data.length ? `, first difference at byte ${firstDiff(want.data, data)}` : ""));
          }
        } else {
          stats.verified++;
        }
      }
      seq++;
      if (faultAt >= 0 && ((stats.messages - 1 === faultAt && !held) || held?.ws === ws)) {
        // Self-test of Godot's checks (--fault KIND:K): the K-th echo over all connections.
        if (held?.ws === ws) {
          ws.send(data, { binary: isBinary });
          held.ws.send(held.data, { binary: held.isBinary });
          held = null;
          faultAt = -1;
          return;
        }
        process.stderr.write(`fault injected: ${faultKind} at echo ${faultAt} (connection ${c})\n`);
        if (faultKind === "reorder") { held = { ws, data, isBinary }; return; }
        faultAt = -1;
        if (faultKind === "drop") return;
        if (faultKind === "corrupt") data = data.length ? Buffer.from(data) : Buffer.from("A");
        if (faultKind === "corrupt" && data.length) data[data.length >> 1] ^= 1;
      }
      ws.send(data, { binary: isBinary });
    });
    ws.on("close", (code) => {
      stats.open--;
      stats.closes[code] = (stats.closes[code] ?? 0) + 1;
    });
    ws.on("error", () => {});
  });
  const progress = setInterval(() => out("PROGRESS " + JSON.stringify({
    t: elapsed(), open: stats.open, messages: stats.messages, bytes: stats.bytes, errors: stats.error_count,
  })), 1000);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(progress);
    out("RESULT " + JSON.stringify({ ...stats, t: elapsed() }));
    process.exit(0);
  };
  process.on("SIGTERM", end);
  process.on("SIGINT", end);
  process.stdin.on("end", end);
  process.stdin.resume();
  http.listen(args.port, "127.0.0.1", () => out(`READY ${http.address().port}`));
}

// ---- client ---------------------------------------------------------------------------------

function runClient() {
  const n = args.connections;
  const soak = args.duration > 0;
  const stats = {
    connections: n, opened: 0, open_failed: 0, sent: 0, verified: 0, bytes: 0, closed: 0,
    close_codes: {}, errors: [], error_count: 0, all_open_s: 0, traffic_s: 0, t: 0,
  };
  const conns = [];
  let go = !args.waitGo;
  let trafficStart = 0;
  let lastProgress = Date.now();
  let finished = false;

  const error = (text) => {
    stats.error_count++;
    if (stats.errors.length < 20) stats.errors.push(text);
  };

  const finish = (why = "") => {
    if (finished) return;
    finished = true;
    if (why) error(why);
    stats.t = elapsed();
    if (trafficStart) stats.traffic_s = (Date.now() - trafficStart) / 1000;
    stats.ok = stats.error_count === 0 && stats.closed === n &&
      conns.every((k) => k.closeCode === 1000 && k.done);
    out("RESULT " + JSON.stringify(stats));
    for (const k of conns) if (k.ws && k.ws.readyState !== WebSocket.CLOSED) k.ws.terminate();
    process.exit(stats.ok ? 0 : 1);
  };

  for (let i = 0; i < n; i++) {
    const count = soak ? Infinity : Math.floor(args.messages / n) + (i < args.messages % n ? 1 : 0);
    conns.push({ c: args.idBase + i, count, nextSend: 0, nextRecv: 0, inflight: [], inflightBytes: 0,
      ws: null, open: false, done: false, closeCode: null });
  }

  const stopSending = () => soak && trafficStart && Date.now() - trafficStart >= args.duration * 1000;

  const pump = (k) => {
    if (!go || !k.open || k.done) return;
    while (k.nextSend < k.count && !stopSending() && k.inflight.length < args.window &&
           (k.inflightBytes === 0 || k.inflightBytes + messageSpec(k.c, k.nextSend).size <= args.windowBytes)) {
      const m = message(k.c, k.nextSend++);
      k.inflight.push(m);
      k.inflightBytes += m.data.length;
      k.ws.send(m.data, { binary: !m.text });
      stats.sent++;
    }
    if (k.inflight.length === 0 && (k.nextSend >= k.count || stopSending())) {
      k.done = true;
      k.ws.close(1000, "done");
    }
  };

  let opening = 0;
  let nextToOpen = 0;
  const openMore = () => {
    while (opening < args.openParallel && nextToOpen < n) {
      const k = conns[nextToOpen++];
      opening++;
      const ws = new WebSocket(args.url, { perMessageDeflate: args.deflate ? { threshold: 0 } : false, handshakeTimeout: 30000, maxPayload: 16 * 1024 * 1024 });
      k.ws = ws;
      ws.on("open", () => {
        opening--;
        k.open = true;
        stats.opened++;
        lastProgress = Date.now();
        if (stats.opened === n) {
          stats.all_open_s = elapsed();
          out(`ALL_OPEN ${n}`);
          if (go) startTraffic();
        }
        openMore();
      });
      ws.on("message", (data, isBinary) => {
        if (k.failed) return; // messages parsed before terminate() took effect
        const want = k.inflight.shift();
        if (!want) {
          error(`connection ${k.c}: unexpected message after ${k.nextRecv} echoes: ${describe(data, isBinary)}`);
          k.failed = true;
          ws.terminate();
          return;
        }
        k.inflightBytes -= want.data.length;
        if (want.text === isBinary || !want.data.equals(data)) {
          error(`connection ${k.c} message ${k.nextRecv}: got ${describe(data, isBinary)}, want ` +
            `${want.text ? "text" : "binary"} of ${want.data.length} B` +
            (want.data.length === data.length ? `, first difference at byte ${firstDiff(want.data, data)}` : ""));
          k.failed = true;
          ws.terminate();
          return;
        }
        k.nextRecv++;
        stats.verified++;
        stats.bytes += data.length;
        lastProgress = Date.now();
        pump(k);
      });
      ws.on("close", (code, reason) => {
        if (!k.open) {
          opening--;
          stats.open_failed++;
          error(`connection ${k.c}: could not open (close ${code})`);
          openMore();
        } else if (!k.done && !k.failed) {
          error(`connection ${k.c}: closed by the server (${code} ${reason}) after ${k.nextRecv} of ` +
            `${k.count === Infinity ? "unlimited" : k.count} echoes`);
        }
        k.open = false;
        k.closeCode = code;
        stats.closed++;
        stats.close_codes[code] = (stats.close_codes[code] ?? 0) + 1;
        lastProgress = Date.now();
        if (k.done && code !== 1000) error(`connection ${k.c}: closed with ${code}, want 1000`);
        if (stats.closed === n) finish();
      });
      ws.on("error", (e) => {
        if (!k.open) return; // reported by "close"
        error(`connection ${k.c}: ${e.message}`);
      });
    }
  };

  const startTraffic = () => {
    if (trafficStart) return;
    trafficStart = Date.now();
    lastProgress = Date.now();
    for (const k of conns) pump(k);
  };

  if (args.waitGo) {
    let buf = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => {
      buf += chunk;
      if (/^GO$/m.test(buf) && !go) {
        go = true;
        if (stats.opened === n) startTraffic();
      }
    });
  }

  setInterval(() => {
    out("PROGRESS " + JSON.stringify({ t: elapsed(), opened: stats.opened, sent: stats.sent,
      verified: stats.verified, bytes: stats.bytes, closed: stats.closed, errors: stats.error_count }));
    if (stopSending() || !soak) {
      // Connections that finished their part but whose inflight echoes are still due are
      // covered by the stall check below.
    }
    const idle = (Date.now() - lastProgress) / 1000;
    const waitingForGo = !go && stats.opened === n;
    if (!waitingForGo && idle > args.stall) {
      const stuck = conns.filter((k) => !k.done || k.open).slice(0, 5).map((k) =>
        `${k.c}: open=${k.open} sent=${k.nextSend} echoed=${k.nextRecv} inflight=${k.inflight.length} ` +
        `(${k.inflightBytes} B) ws.bufferedAmount=${k.ws ? k.ws.bufferedAmount : "-"}`);
      finish(`no progress for ${args.stall} s (opened ${stats.opened}/${n}, closed ${stats.closed}); ` +
        `first unfinished connections: ${stuck.join("; ")}`);
    }
    if (elapsed() > args.timeout) finish(`gave up after ${args.timeout} s`);
  }, 1000);

  openMore();
}

/// SHA-256 over a sample of messages; must equal messages.gd's (tests/load/run.py compares them).
function fingerprint() {
  const h = createHash("sha256");
  for (const c of [0, 7, 999, 1000000, 1000999]) {
    for (let s = 0; s < 300; s++) {
      const m = message(c, s);
      h.update(m.data);
      h.update(Buffer.from([m.text ? 1 : 0]));
    }
  }
  return h.digest("hex");
}

if (args.mode === "server") runServer();
else if (args.mode === "fingerprint") out(`FINGERPRINT ${fingerprint()}`);
else if (args.mode === "client") runClient();
else {
  process.stderr.write("usage: peer.mjs server|client [options] (see the header of this file)\n");
  process.exit(2);
}
