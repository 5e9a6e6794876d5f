/**
 * Who a request came from, as the audit trail records it. Built once per request at the API
 * edge and handed down unchanged, so every event a request causes (an issuance, the
 * revocations it triggers) names the same request, address and actor.
 */
export interface Caller {
  readonly requestId: string;
  /** The caller's address (events carry it as `source_ip`). */
  readonly sourceIp?: string;
  /** The operator's name (`break-glass:<name>` for a break-glass token); absent for workloads. */
  readonly actor?: string;
}
