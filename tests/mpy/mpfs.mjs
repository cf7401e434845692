// What runner.mjs and bridge.mjs both do to MicroPython's in-memory filesystem and sys.path.
import fs from "node:fs";
import path from "node:path";

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
