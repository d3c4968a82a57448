import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AccessRequest } from "../../src/core/access-request.js";
import { RequestCensus } from "../../src/observe/request-census.js";
import { sampleRequest } from "../support/access-request.js";

/** A census whose metrics are read back: requests seen, and the pending gauge as last set. */
function census() {
  const counts = { seen: 0, pending: Number.NaN };
  const subject = new RequestCensus(
    () => counts.seen++,
    (count) => {
      counts.pending = count;
    },
  );
  return { subject, counts };
}

const request = (id: string, state: AccessRequest["state"]) => sampleRequest({ id, state });

describe("request census", () => {
  it("counts pending requests as events create, decide, repeat and delete them", () => {
    const { subject, counts } = census();
    subject.event({ request: request("a", "PENDING") });
    subject.event({ request: request("b", "PENDING") });
    subject.event({ request: request("b", "PENDING") });
    assert.deepEqual(counts, { seen: 2, pending: 2 });
    subject.event({ request: request("a", "APPROVED") });
    assert.equal(counts.pending, 1);
    subject.event({ request: request("a", "PENDING") });
    assert.equal(counts.pending, 2, "a request set back to pending counts again");
    subject.event({ deleted: "b" });
    subject.event({ deleted: "b" });
    subject.event({ deleted: "never-seen" });
    assert.deepEqual(counts, { seen: 2, pending: 1 });
    subject.event({ deleted: "a" });
    assert.equal(counts.pending, 0);
    subject.event({ request: request("b", "PENDING") });
    assert.deepEqual(counts, { seen: 3, pending: 1 }, "a deleted id that comes back is seen again");
  });

  it("takes a listing's requests, drops those it no longer holds, and lets events during it win", () => {
    const { subject, counts } = census();
    for (const id of ["a", "b", "c"]) subject.event({ request: request(id, "PENDING") });
    const listing = subject.beginListing();
    // Meanwhile: c is denied and d created; the listing, taken before, still shows c pending and no d.
    subject.event({ request: request("c", "DENIED") });
    subject.event({ request: request("d", "PENDING") });
    assert.equal(counts.pending, 3);
    listing.finish([request("a", "APPROVED"), request("c", "PENDING"), request("e", "PENDING")]);
    // a approved, b gone (not listed), c stays denied, d stays (created after the listing), e new.
    assert.deepEqual(counts, { seen: 5, pending: 2 });
    subject.event({ deleted: "d" });
    subject.event({ deleted: "e" });
    subject.event({ deleted: "c" });
    assert.equal(counts.pending, 0);
  });

  it("forgets an abandoned listing: its requests change nothing and later events are not held back", () => {
    const { subject, counts } = census();
    subject.event({ request: request("a", "PENDING") });
    const failed = subject.beginListing();
    subject.event({ request: request("a", "APPROVED") });
    failed.abandon();
    assert.equal(counts.pending, 0);
    subject.beginListing().finish([request("a", "PENDING")]);
    assert.equal(counts.pending, 1, "a listing after the failed one is not overruled by its events");
  });
});
