// ReadList: a list of positioned reads (file offset, length, into which buffer at which byte) run
// as one batch. On Linux the batch goes to the kernel through one io_uring submission (io-uring.ts)
// instead of one pread(2) per entry; where io_uring is unavailable (another OS, a container whose
// seccomp filter refuses it, a kernel before 5.6) each entry is one pread. Either way every entry is
// read whole or the run throws (readExactly's short-read DataError), so callers see the same bytes.

/** Into which of the run's buffers an entry reads. */
export type Destination = 0 | 1;

export class ReadList {
  count = 0;
  destination = new Uint8Array(64);
  /** Byte position in the destination buffer. */
  at = new Float64Array(64);
  length = new Uint32Array(64);
  /** File offset. */
  offset = new Float64Array(64);
  /** The caller's own number for the entry. */
  tag = new Uint32Array(64);

  clear(): void {
    this.count = 0;
  }

  add(destination: Destination, at: number, length: number, offset: number, tag: number): void {
    if (this.count === this.length.length) this.grow();
    const i = this.count++;
    this.destination[i] = destination;
    this.at[i] = at;
    this.length[i] = length;
    this.offset[i] = offset;
    this.tag[i] = tag;
  }

  private grow(): void {
    const size = this.length.length * 2;
    const destination = new Uint8Array(size), at = new Float64Array(size), length = new Uint32Array(size), offset = new Float64Array(size), tag = new Uint32Array(size);
    destination.set(this.destination);
    at.set(this.at);
    length.set(this.length);
    offset.set(this.offset);
    tag.set(this.tag);
    Object.assign(this, { destination, at, length, offset, tag });
  }
}
