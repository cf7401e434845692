// Runs Python code on the official MicroPython WebAssembly port, for the hipsense test suite.
//
// Usage: node runner.mjs JOB.json
// JOB: {
//   "mounts": [[host_dir, mp_dir], ...],   copied recursively into MicroPython's in-memory filesystem
//   "files":  [[host_path, mp_path], ...], single files copied in
//   "sys_path": ["/fakes", "/fw"],         prepended to sys.path, in this order
//   "code": "...",                          run with runPythonAsync, so top-level `await` works
//   "export": [[mp_path, host_path], ...],  files or folders copied back out after the run
//   "heapsize": 16777216
// }
// Exit status: 0 on success, 1 when the Python code raised (traceback on stderr), 2 on a harness error.
import fs from "node:fs";
import { copyOut, loadJob, runJob } from "./mpfs.mjs";

const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const mp = await loadJob(job);
let status = await runJob(mp, job, "harness");
for (const [mpPath, hostPath] of job.export ?? []) {
  try { copyOut(mp.FS, mpPath, hostPath); } catch (e) { if (status === 0) { console.error(`export ${mpPath}: ${e}`); status = 2; } }
}
// process.exit() does not wait for output still queued for a pipe: a result line past 64 KiB was cut
// off. Each stream's callback runs once everything written before it has been handed to the system.
for (const stream of [process.stdout, process.stderr]) {
  await new Promise((resolve) => stream.write("", resolve));
}
process.exit(status);
