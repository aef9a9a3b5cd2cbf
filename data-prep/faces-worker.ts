// Worker side of faces-pool.ts: for each task (one source image of one split) makes its `pairs`
// FACES images with sharp, IN_FLIGHT sharp calls at a time, and posts them back (transferred).
// It posts "ready" as soon as its module has loaded (Bun drops messages sent before that).
import sharp from "sharp";
import { facePair } from "./faces.ts";
import type { FacesJob, FacesTask, FromFacesWorker, ToFacesWorker } from "./faces-pool.ts";
import { PrefilteredSource, rotateScaleReduceSharp } from "./faces-sharp.ts";

declare const self: Worker;

// No libvips operation cache: every call is new, so caching only costs hashing and memory.
sharp.cache(false);

/** sharp calls awaited at once: enough to keep libvips' thread busy while this thread prepares the next. */
const IN_FLIGHT = 2;

let job: FacesJob | undefined;

function post(message: FromFacesWorker, transfer: ArrayBuffer[] = []): void {
  self.postMessage(message, transfer);
}

async function makeImages(task: FacesTask): Promise<void> {
  const { images, n, m, pairs, seed } = job!;
  const source = new PrefilteredSource(images.subarray(task.image * n * n, (task.image + 1) * n * n), n);
  const dim = m * m;
  const pixels = new Uint8Array(pairs * dim);
  let p = 0;
  const lane = async () => {
    while (p < pairs) {
      const mine = p++;
      pixels.set(await rotateScaleReduceSharp(source, m, facePair(seed, task.stream, task.first + mine)), mine * dim);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, pairs) }, lane));
  post({ type: "done", stream: task.stream, image: task.image, pixels }, [pixels.buffer]);
}

self.onmessage = (event: MessageEvent<ToFacesWorker>) => {
  const message = event.data;
  if (message.type === "init") {
    job = message;
    return;
  }
  makeImages(message).catch((error: Error) => post({ type: "error", message: `faces: source image ${message.image}: ${error.message}` }));
};

post({ type: "ready" });
