#!/usr/bin/env node
// WebSocket client for the server suites: Node's `ws` package talking to a Godot server.
//
// Usage: node ws_client.mjs URL [--protocols a,b] [--close CODE] [--reason TEXT] [--ca FILE]
//                               [--insecure] [--timeout SECONDS] [--out FILE]
//
// Same behaviour and output as ws_client.py (see there): sends "hello", "ünïcode ✓",
// bytes 0..255 and one zero byte, expects them echoed with the same type and in order, closes with
// CODE, prints one JSON line (and writes it to FILE with --out). `ws` offers permessage-deflate
// as browsers do; the server is expected to answer without it. Bounded by --timeout (default 10 s).
// `ws` is installed by tests/run.py into tests/node_modules (pinned in tests/package.json).

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import WebSocket from "ws";

const MESSAGES = ["hello", "ünïcode ✓", Buffer.from([...Array(256).keys()]), Buffer.from([0])];

function parseArgs(argv) {
  const args = { url: "", protocols: "", close: 1000, reason: "", ca: "", insecure: false, timeout: 10, out: "" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i] ?? "";
    if (a === "--protocols") args.protocols = value();
    else if (a === "--close") args.close = Number(value());
    else if (a === "--reason") args.reason = value();
    else if (a === "--ca") args.ca = value();
    else if (a === "--insecure") args.insecure = true;
    else if (a === "--timeout") args.timeout = Number(value());
    else if (a === "--out") args.out = value();
    else if (!args.url) args.url = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!args.url) throw new Error("usage: ws_client.mjs URL [options]");
  return args;
}

const args = parseArgs(process.argv.slice(2));
const result = {
  client: "node-ws", opened: false, status: 0, headers: {}, protocol: "", echoed: 0, sent: 0,
  close_code: null, close_reason: "", error: "", ok: false,
};
let done = false;

function finish(error = "") {
  if (done) return;
  done = true;
  if (error && !result.error) result.error = error;
  result.ok = result.opened && !result.error && result.echoed === MESSAGES.length && result.close_code === args.close;
  const line = JSON.stringify(result);
  console.log(line);
  if (args.out) {
    writeFileSync(args.out + ".tmp", line + "\n");
    renameSync(args.out + ".tmp", args.out);
  }
  process.exit(result.ok ? 0 : 1);
}

function headersOf(raw) {
  // IncomingMessage.rawHeaders: [name, value, name, value, ...]
  const out = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i].toLowerCase();
    out[key] = key in out ? `${out[key]},${raw[i + 1]}` : raw[i + 1];
  }
  return out;
}

setTimeout(() => finish(`gave up after ${args.timeout} s`), args.timeout * 1000).unref();

const protocols = args.protocols ? args.protocols.split(",") : [];
const options = { handshakeTimeout: args.timeout * 1000 };
if (args.ca) options.ca = readFileSync(args.ca);
if (args.insecure) options.rejectUnauthorized = false;

let ws;
try {
  ws = new WebSocket(args.url, protocols, options);
} catch (e) {
  finish(`${e.name}: ${e.message}`);
}
if (ws) {
  ws.on("upgrade", (res) => {
    result.status = res.statusCode;
    result.headers = headersOf(res.rawHeaders);
  });
  ws.on("unexpected-response", (_req, res) => {
    result.status = res.statusCode;
    result.headers = headersOf(res.rawHeaders);
    res.resume();
    finish(`handshake refused: HTTP ${res.statusCode}`);
  });
  ws.on("open", () => {
    result.opened = true;
    result.protocol = ws.protocol || "";
    for (const m of MESSAGES) {
      ws.send(m, { binary: typeof m !== "string" });
      result.sent++;
    }
  });
  ws.on("message", (data, isBinary) => {
    const want = MESSAGES[result.echoed];
    const wantBinary = typeof want !== "string";
    const same = want !== undefined && isBinary === wantBinary &&
      (wantBinary ? Buffer.compare(data, want) === 0 : data.toString("utf8") === want);
    if (!same) {
      result.error = `echo ${result.echoed}: got ${isBinary ? "binary" : "text"} ${String(data).slice(0, 80)}`;
      ws.terminate();
      return;
    }
    result.echoed++;
    if (result.echoed === MESSAGES.length) ws.close(args.close, args.reason);
  });
  ws.on("close", (code, reason) => {
    result.close_code = code;
    result.close_reason = reason.toString("utf8");
    finish();
  });
  ws.on("error", (e) => {
    if (!result.error) result.error = `${e.name}: ${e.message}`;
    // "close" follows an error once the socket is gone; the timeout covers the rest.
  });
}
