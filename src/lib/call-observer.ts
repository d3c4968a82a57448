/**
 * What the Teleport and Mattermost clients report about each call they make, so metrics and
 * readiness are measured where the calls happen instead of at every place that makes one.
 */
export interface CallReport {
  /** Stable, low-cardinality name: a gRPC method (`GetPluginData`) or a route (`PUT /posts/{id}/patch`). */
  operation: string;
  seconds: number;
  /** `ok`, or what went wrong: a gRPC status name, an HTTP status, or a network error code. */
  outcome: string;
}

export interface CallObserver {
  call(report: CallReport): void;
}

/** One observer that hands each report to several. */
export function fanOut(...observers: CallObserver[]): CallObserver {
  return {
    call: (report) => {
      for (const observer of observers) observer.call(report);
    },
  };
}
