#!/usr/bin/env node
// permessage-deflate peer for test_compression.gd: Node's `ws` (perMessageDeflate), as server or
// as client. Same interface and output as deflate_peer.py (see there):
//
//   node deflate_peer.mjs serve --out FILE [--timeout S]     one echo server per variant
//   node deflate_peer.mjs URL --variant V --out FILE [--timeout S]
//
// Variants: "off", "default" (ws's perMessageDeflate: true), "snct", "cnct", "smwb9", "cmwb9".
// ws compresses only messages of 1 KiB or more by default (threshold); here every message is
// compressed (threshold 0), so the byte counts say what the other side did.

import { renameSync, writeFileSync } from "node:fs";
import WebSocket, { WebSocketServer } from "ws";

const PARAMS = {
  default: {},
  snct: { serverNoContextTakeover: true },
  cnct: { clientNoContextTakeover: true },
  smwb9: { serverMaxWindowBits: 9 },
  cmwb9: { clientMaxWindowBits: 9 },
};
const VARIANTS = ["off", ...Object.keys(PARAMS)];

function gameState(n) {
  const players = [];
  for (let i = 0; i < 24; i++) {
    players.push(`{"id":${i},"name":"player${i}","pos":[${(i * 1.5).toFixed(1)},${n % 7}.25],"hp":${100 - i}}`);
  }
  return `{"tick":${n},"players":[${players.join(",")}]}`;
}
const binary = Buffer.alloc(4096);
for (let i = 0; i < binary.length; i++) binary[i] = i % 256;
const MESSAGES = [0, 1, 2, 3, 4, 5].map(gameState).concat(["ünïcode ✓", binary, Buffer.alloc(0), "x"]);

function parseArgs(argv) {
  const args = { url: "", variant: "default", out: "", timeout: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i] ?? "";
    if (a === "--variant") args.variant = value();
    else if (a === "--out") args.out = value();
    else if (a === "--timeout") args.timeout = Number(value());
    else if (!args.url) args.url = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!VARIANTS.includes(args.variant)) throw new Error(`unknown variant ${args.variant}`);
  return args;
}

function write(path, obj) {
  const line = JSON.stringify(obj);
  console.log(line);
  if (path) {
    writeFileSync(path + ".tmp", line + "\n");
    renameSync(path + ".tmp", path);
  }
}

function deflateOption(variant) {
  return variant === "off" ? false : { threshold: 0, ...PARAMS[variant] };
}

const args = parseArgs(process.argv.slice(2));

if (args.url === "serve") {
  const ports = {};
  let pending = VARIANTS.length;
  for (const variant of VARIANTS) {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: deflateOption(variant), maxPayload: 16 << 20 });
    // The Sec-WebSocket-Extensions line of our answer (ws.extensions has only the names).
    wss.on("headers", (headers, req) => {
      const line = headers.find((h) => h.toLowerCase().startsWith("sec-websocket-extensions:"));
      req.answeredExtensions = line ? line.slice(line.indexOf(":") + 1).trim() : "";
    });
    wss.on("connection", (ws, req) => {
      const start = ws._socket.bytesRead;
      ws.on("message", (data, isBinary) => {
        if (!isBinary && data.toString() === "wire?") {
          ws.send(JSON.stringify({ bytes_in: ws._socket.bytesRead - start, extensions: req.answeredExtensions }));
        } else {
          ws.send(data, { binary: isBinary });
        }
      });
      ws.on("error", () => {});
    });
    wss.on("listening", () => {
      ports[variant] = wss.address().port;
      if (--pending === 0) write(args.out, { ports });
    });
  }
  setTimeout(() => process.exit(0), (args.timeout || 120) * 1000);
} else {
  const timeout = (args.timeout || 10) * 1000;
  const result = {
    client: "node-ws", variant: args.variant, opened: false, extensions: "", echoed: 0,
    sent: MESSAGES.length, payload: 0, bytes_in: 0, close_code: null, error: "", ok: false,
  };
  let done = false;
  const finish = (error = "") => {
    if (done) return;
    done = true;
    if (error && !result.error) result.error = error;
    result.ok = result.opened && !result.error && result.echoed === MESSAGES.length && result.close_code === 1000;
    write(args.out, result);
    process.exit(result.ok ? 0 : 1);
  };
  setTimeout(() => finish(`gave up after ${timeout / 1000} s`), timeout);
  const ws = new WebSocket(args.url, { perMessageDeflate: deflateOption(args.variant), maxPayload: 16 << 20 });
  let start = 0;
  ws.on("upgrade", (res) => { result.extensions = res.headers["sec-websocket-extensions"] ?? ""; });
  ws.on("open", () => {
    result.opened = true;
    start = ws._socket.bytesRead;
    for (const m of MESSAGES) ws.send(m, { binary: typeof m !== "string" });
  });
  ws.on("message", (data, isBinary) => {
    const want = MESSAGES[result.echoed];
    const wantBinary = typeof want !== "string";
    const same = isBinary === wantBinary && Buffer.compare(Buffer.from(data), Buffer.from(want)) === 0;
    if (!same) {
      finish(`echo ${result.echoed} differs`);
      return;
    }
    result.echoed++;
    result.payload += data.length;
    if (result.echoed === MESSAGES.length) {
      result.bytes_in = ws._socket.bytesRead - start;
      ws.close(1000);
    }
  });
  ws.on("close", (code) => { result.close_code = code; finish(); });
  ws.on("error", (e) => finish(String(e.message || e)));
}
