// What runner.mjs and bridge.mjs both do: load MicroPython for a job, fill its in-memory filesystem,
// set sys.path and run the job's code.
import fs from "node:fs";
import path from "node:path";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

export function mkdirs(FS, dir) {
  let cur = "";
  for (const part of dir.split("/").filter(Boolean)) {
    cur += "/" + part;
    try { FS.mkdir(cur); } catch (e) { /* exists */ }
  }
}

export function copyIn(FS, hostPath, mpPath) {
  const st = fs.statSync(hostPath);
  if (st.isDirectory()) {
    mkdirs(FS, mpPath);
    for (const name of fs.readdirSync(hostPath)) {
      if (name === "__pycache__") continue;
      copyIn(FS, path.join(hostPath, name), mpPath + "/" + name);
    }
  } else {
    mkdirs(FS, path.posix.dirname(mpPath));
    FS.writeFile(mpPath, fs.readFileSync(hostPath));
  }
}

export function copyOut(FS, mpPath, hostPath) {
  const st = FS.stat(mpPath);
  if (FS.isDir(st.mode)) {
    fs.mkdirSync(hostPath, { recursive: true });
    for (const name of FS.readdir(mpPath)) {
      if (name === "." || name === "..") continue;
      copyOut(FS, mpPath + "/" + name, path.join(hostPath, name));
    }
  } else {
    fs.mkdirSync(path.dirname(hostPath), { recursive: true });
    fs.writeFileSync(hostPath, FS.readFile(mpPath));
  }
}

// Python that puts `paths` first on sys.path, in this order.
export function syspathPrelude(paths) {
  return "import sys\n" + (paths ?? []).slice().reverse()
    .map((p) => `sys.path.insert(0, ${JSON.stringify(p)})\n`).join("");
}

// MicroPython with the job's heap size, its stdout/stderr on ours, and the job's mounts and files in.
export async function loadJob(job) {
  const mp = await loadMicroPython({
    heapsize: job.heapsize ?? 16 * 1024 * 1024,
    stdout: (line) => process.stdout.write(line + "\n"),
    stderr: (line) => process.stderr.write(line + "\n"),
  });
  for (const [hostDir, mpDir] of job.mounts ?? []) copyIn(mp.FS, hostDir, mpDir);
  for (const [hostPath, mpPath] of job.files ?? []) copyIn(mp.FS, hostPath, mpPath);
  return mp;
}

// Runs the job's code after its sys.path; 0 when it returned, 1 when it raised (MicroPython's
// traceback on stderr). Any other error is the harness's own: reported as `what` and exit status 2.
export async function runJob(mp, job, what) {
  try {
    mp.runPython(syspathPrelude(job.sys_path));
    await mp.runPythonAsync(job.code);
    return 0;
  } catch (e) {
    if (e.name !== "PythonError") { console.error(`${what} error:`, e); process.exit(2); }
    process.stderr.write(e.message.endsWith("\n") ? e.message : e.message + "\n");
    return 1;
  }
}
