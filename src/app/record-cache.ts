/**
 * The last record seen per request, kept so posts can still be rendered after Teleport deleted
 * the request, and so a new request is known to be new without a read. Records are kept packed
 * (core/plugin-data packRecord: ~0.3 KB each instead of ~1 KB as objects), the oldest dropped
 * beyond `capacity`.
 */
import { type PluginRecord, packRecord, unpackRecord } from "../core/plugin-data.js";

export class RecordCache {
  /** Packed records in insertion order (oldest first), for eviction. */
  private readonly records = new Map<string, string>();

  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.records.has(id);
  }

  get(id: string): PluginRecord | undefined {
    const packed = this.records.get(id);
    return packed === undefined ? undefined : unpackRecord(packed);
  }

  set(id: string, record: PluginRecord): void {
    this.setPacked(id, packRecord(record));
  }

  /** {@link set} with the record already packed (core/plugin-data packStored). */
  setPacked(id: string, packed: string): void {
    this.records.delete(id);
    this.records.set(id, packed);
    if (this.records.size > this.capacity) {
      const oldest = this.records.keys().next().value;
      if (oldest !== undefined) this.records.delete(oldest);
    }
  }
}
