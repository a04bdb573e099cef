// Runs a Python program (read from stdin) in MicroPython's WebAssembly VM under Node.
//
//   node run.mjs PATH/TO/micropython.mjs HOST_DIR=VM_DIR ... < program.py
//
// Each HOST_DIR's files are copied into the VM's in-memory filesystem at VM_DIR (the port has
// no access to the host's files). The program's output goes to stdout; an uncaught Python
// exception is printed to stderr and makes the exit status 1.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [micropython, ...mounts] = process.argv.slice(2);
const { loadMicroPython } = await import(pathToFileURL(micropython).href);
const mp = await loadMicroPython({
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});
for (const mount of mounts) {
  const [host, vm] = mount.split("=");
  mp.FS.mkdirTree(vm);
  for (const name of readdirSync(host)) {
    const path = join(host, name);
    if (statSync(path).isFile()) mp.FS.writeFile(`${vm}/${name}`, readFileSync(path));
  }
}
try {
  mp.runPython(readFileSync(0, "utf8"));
} catch (error) {
  process.stderr.write(String(error.message ?? error) + "\n");
  process.exitCode = 1;
}
