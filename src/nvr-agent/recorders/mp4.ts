/**
 * Reads a segment's duration from its MP4 `moov/mvhd` box (ISO/IEC 14496-12 §4.2 box header, §8.2.2 mvhd).
 * Only box headers and the mvhd payload are read, with positional reads: the moov box may sit after a large
 * mdat (ffmpeg's segment muxer writes it last), so the file is walked, never loaded.
 */
import { open } from 'node:fs/promises';

/** Bounds the walk: a real segment has a handful of top-level boxes and a few dozen in moov. */
const MAX_BOXES = 256;
const U32_MAX = 0xffff_ffff;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

interface Box {
  type: string;
  /** Offset of the payload (after size, type and any largesize/usertype). */
  body: number;
  /** Offset just past the box. */
  end: number;
}

type ReadAt = (position: number, length: number) => Promise<Buffer>;

/** The header of the box at `offset`, or null when it is not a well-formed box within [offset, limit). */
async function boxAt(read: ReadAt, offset: number, limit: number): Promise<Box | null> {
  if (limit - offset < 8) return null;
  const head = await read(offset, Math.min(16, limit - offset));
  if (head.length < 8) return null;
  let size = head.readUInt32BE(0);
  const type = head.toString('latin1', 4, 8);
  let header = 8;
  if (size === 1) {
    // 64-bit largesize follows the type.
    if (head.length < 16) return null;
    const large = head.readBigUInt64BE(8);
    if (large > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    size = Number(large);
    header = 16;
  } else if (size === 0) {
    // "Box extends to the end of the file": only valid at the top level, which `limit` expresses.
    size = limit - offset;
  }
  if (type === 'uuid') header += 16;
  if (size < header || offset + size > limit) return null;
  return { type, body: offset + header, end: offset + size };
}

async function findChild(read: ReadAt, from: number, limit: number, type: string): Promise<Box | null> {
  let offset = from;
  for (let i = 0; i < MAX_BOXES && offset < limit; i++) {
    const box = await boxAt(read, offset, limit);
    if (!box) return null;
    if (box.type === type) return box;
    offset = box.end;
  }
  return null;
}

/**
 * Duration in ms (rounded up) from an mvhd payload (the FullBox's version, flags, …), or null when the payload
 * is short, the timescale is 0, or the duration is 0 or "unknown" (all ones).
 */
export function mvhdDurationMs(body: Buffer): number | null {
  if (body.length < 4) return null;
  const version = body.readUInt8(0);
  let timescale: number;
  let duration: bigint;
  if (version === 1) {
    // version, flags (4) + creation_time (8) + modification_time (8) + timescale (4) + duration (8)
    if (body.length < 32) return null;
    timescale = body.readUInt32BE(20);
    duration = body.readBigUInt64BE(24);
    if (duration === U64_MAX) return null;
  } else if (version === 0) {
    // version, flags (4) + creation_time (4) + modification_time (4) + timescale (4) + duration (4)
    if (body.length < 20) return null;
    timescale = body.readUInt32BE(12);
    const d = body.readUInt32BE(16);
    if (d === U32_MAX) return null;
    duration = BigInt(d);
  } else {
    return null;
  }
  if (timescale === 0 || duration === 0n) return null;
  const ts = BigInt(timescale);
  const ms = (duration * 1000n + ts - 1n) / ts;
  return ms > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(ms);
}

/** The duration of an MP4/MOV file in ms, or null when it has no readable, meaningful mvhd. */
export async function mp4DurationMs(path: string): Promise<number | null> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    const fh = handle;
    const { size } = await fh.stat();
    const read: ReadAt = async (position, length) => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, position);
      return buf.subarray(0, bytesRead);
    };
    const moov = await findChild(read, 0, size, 'moov');
    if (!moov) return null;
    const mvhd = await findChild(read, moov.body, moov.end, 'mvhd');
    if (!mvhd) return null;
    // Version 1 needs 32 bytes; anything longer is the rest of mvhd (rate, matrix, …), not needed.
    const body = await read(mvhd.body, Math.min(32, mvhd.end - mvhd.body));
    return mvhdDurationMs(body);
  } catch {
    return null;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
