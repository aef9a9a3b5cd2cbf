// A throw-away redis-server for tests: a free loopback port, its own directory, append-only file on
// (so a restart keeps what it had acknowledged), no RDB snapshots, a password.
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import IORedis from "ioredis";

export const HAVE_REDIS = Bun.which("redis-server") !== null;

/** A port nobody listens on now: bind port 0 on 127.0.0.1, read the port the kernel chose, release it. */
async function freeLoopbackPort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  port: number;
  /** redis://:PASSWORD@127.0.0.1:PORT */
  url: string;
  client(): IORedis;
  /** SIGKILL, then start again on the same port and directory. */
  crashAndRestart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(dir: string, password = "queue-test-password"): Promise<TestRedis> {
  mkdirSync(dir, { recursive: true });
  const port = await freeLoopbackPort();
  const args = ["redis-server", "--bind", "127.0.0.1", "--port", String(port), "--dir", dir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--requirepass", password, "--logfile", join(dir, "redis.log")];
  const url = `redis://:${password}@127.0.0.1:${port}`;
  let server: Bun.Subprocess;
  const launch = async () => {
    server = Bun.spawn(args, { stdout: "ignore", stderr: "inherit" });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new IORedis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on("error", () => {});
      try {
        await probe.connect();
        // Ready only once the append-only file is loaded (LOADING errors before that).
        if ((await probe.ping()) === "PONG") return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start: ${(error as Error).message}`);
        await Bun.sleep(50);
      } finally {
        probe.disconnect();
      }
    }
  };
  await launch();
  return {
    port,
    url,
    client: () => new IORedis(url, { maxRetriesPerRequest: null }), // waits out a restart
    async crashAndRestart() {
      server.kill("SIGKILL");
      await server.exited;
      await launch();
    },
    async stop() {
      server.kill("SIGTERM");
      await server.exited;
    },
  };
}
