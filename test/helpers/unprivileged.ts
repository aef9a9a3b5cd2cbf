// Whether a test can run a command as the unprivileged user 65534 (nobody) inside `dir`: root,
// setpriv, and every folder above `dir` open to others. A checkout under a private folder (mktemp -d
// makes them 0700) is not, and then the tests that need it are skipped with a line that says why.
export function nobodyCanReach(dir: string): boolean {
  if (process.getuid?.() !== 0 || !Bun.which("setpriv")) return false;
  const reached = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "test", "-x", dir]).exitCode === 0;
  if (!reached) console.warn(`skipping the tests run as user 65534: it cannot enter ${dir} (a folder above it is private)`);
  return reached;
}
