/**
 * The code cache file next to the bundle (teleport-mattermost-main.cache), written by the build and
 * read by the entry point (loader.ts); the benchmark reads its module list too. Layout: the
 * bundle's SHA-256, the length of the module list (2 bytes, big-endian), the list of Node's
 * modules the bundle loaded (ASCII, comma-separated), V8's code cache.
 */

const HASH_BYTES = 32;
const LIST_LENGTH_BYTES = 2;

/** What a cache file made from this very bundle holds. */
export interface CacheContents {
  /** Node's modules loaded when the cache was made. */
  builtins: string[];
  /** V8's code cache. */
  data: Buffer;
}

/**
 * The cache file's parts, if it was made from the bundle with SHA-256 `bundleHash`. A file cut
 * short after the hash has no V8 part left: V8 refuses the empty one ("rejected").
 */
export function cacheContents(file: Buffer | undefined, bundleHash: Buffer): CacheContents | undefined {
  if (!file?.subarray(0, HASH_BYTES).equals(bundleHash)) return undefined;
  const listStart = HASH_BYTES + LIST_LENGTH_BYTES;
  const listEnd = file.length >= listStart ? listStart + file.readUInt16BE(HASH_BYTES) : undefined;
  if (listEnd === undefined || file.length < listEnd) return { builtins: [], data: Buffer.alloc(0) };
  const list = file.toString("latin1", listStart, listEnd);
  return { builtins: list ? list.split(",") : [], data: file.subarray(listEnd) };
}

export function cacheFile(bundleHash: Buffer, builtins: string[], data: Buffer): Buffer {
  const list = Buffer.from(builtins.join(","), "latin1");
  const length = Buffer.alloc(LIST_LENGTH_BYTES);
  length.writeUInt16BE(list.length);
  return Buffer.concat([bundleHash, length, list, data]);
}
