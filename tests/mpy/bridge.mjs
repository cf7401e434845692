// A long-lived MicroPython process whose byte link is a file descriptor (a pseudo-terminal's master
// end), for end-to-end tests of the firmware's sync code against the host's pyserial transport.
//
// Usage: node bridge.mjs JOB.json FD
// JOB: as runner.mjs (mounts, files, sys_path, code, heapsize). The code imports `bridge_io` (the
// MicroPython side, tests/mpy/bridge_io.py), whose reader and writer are backed by FD through the JS
// module `hostio`: hostio.read() resolves with the next bytes that arrived, hostio.write(hex) writes.
// Exits 0 when the code returns (or FD reaches end of file), 1 when it raised.
import fs from "node:fs";
import { loadJob, runJob } from "./mpfs.mjs";

const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const fd = Number(process.argv[3]);
const mp = await loadJob(job);

const chunks = [];
let waiting = null;
let ended = false;
const stream = fs.createReadStream(null, { fd, highWaterMark: 65536, autoClose: false });
function deliver() {
  if (!waiting) return;
  if (chunks.length) { const w = waiting; waiting = null; w(Buffer.concat(chunks.splice(0))); }
  else if (ended) { const w = waiting; waiting = null; w(new Uint8Array(0)); }
}
stream.on("data", (d) => { chunks.push(d); deliver(); });
stream.on("end", () => { ended = true; deliver(); });
stream.on("error", () => { ended = true; deliver(); });  // EIO when the other end closes the pty

// Control lines from the test on stdin (tests that change the simulated world while the firmware
// runs): read only once the code asks, so other bridges never touch their stdin. hostio.control()
// resolves with the next line, or "" when stdin ends.
const ctl = { lines: [], waiting: null, ended: false, started: false, buf: "" };
function ctlDeliver() {
  if (!ctl.waiting) return;
  if (ctl.lines.length) { const w = ctl.waiting; ctl.waiting = null; w(ctl.lines.shift()); }
  else if (ctl.ended) { const w = ctl.waiting; ctl.waiting = null; w(""); }
}
function ctlStart() {
  if (ctl.started) return;
  ctl.started = true;
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (d) => {
    ctl.buf += d;
    let i;
    while ((i = ctl.buf.indexOf("\n")) >= 0) { ctl.lines.push(ctl.buf.slice(0, i)); ctl.buf = ctl.buf.slice(i + 1); }
    ctlDeliver();
  });
  process.stdin.on("end", () => { ctl.ended = true; ctlDeliver(); });
}

mp.registerJsModule("hostio", {
  control: () => new Promise((resolve) => { ctlStart(); ctl.waiting = resolve; ctlDeliver(); }),
  read: () => new Promise((resolve) => { waiting = resolve; deliver(); }),
  write: (hex) => { const b = Buffer.from(hex, "hex"); let o = 0; while (o < b.length) o += fs.writeSync(fd, b, o); },
});
process.exit(await runJob(mp, job, "bridge"));
