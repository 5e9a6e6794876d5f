import type { Action } from '../access/table.js';
import type { Broker } from '../broker/index.js';
import type { AuthFailureAggregator } from '../events/auth-failures.js';
import type { BrokerEvent, EventEmitter } from '../events/types.js';
import type { OperatorAuthenticator } from '../identity/operators.js';
import type { OperatorPrincipal, Principal, WorkloadPrincipal } from '../identity/types.js';
import type { IdentityVerifier } from '../identity/verifier.js';
import type { ClientAddress } from '../lib/forwarded.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics.js';
import type { AuthorizationServer } from '../oauth/authorization-server.js';
import type { SsfPublication } from '../ssf/metadata.js';
import type { Readiness } from '../wiring/readiness.js';

/** What handlers need, reached through the context rather than imported singletons. */
export interface ApiServices {
  broker: Broker;
  identity: () => IdentityVerifier;
  /** Issuer, resources and enterprise IdPs of `/oauth/*` (swapped on reload). */
  authorizationServer: () => AuthorizationServer;
  operators: () => OperatorAuthenticator;
  events: EventEmitter;
  /** Where refused tokens go: `auth.failed` events, aggregated per source and reason. */
  authFailures: AuthFailureAggregator;
  /** Calls `listener` after every configuration reload; returns the unsubscribe. */
  onReload: (listener: () => void) => () => void;
  /** Live feed of this replica's events (`GET /v1/events`). */
  subscribe: (listener: (event: BrokerEvent) => void) => () => void;
  metrics: Metrics;
  logger: Logger;
  /** Public keys of every `jwt` target, for `/.well-known/jwks.json`. */
  jwks: () => unknown[];
  /** The audit chain's published keys, for `/.well-known/jit-audit-keys.json`. */
  auditKeys: () => unknown[];
  /** The Shared Signals transmitter's metadata and SET key; absent without `ssf:`. */
  ssf?: SsfPublication;
  readiness: Readiness;
  /** When set, `/metrics` needs this bearer token. */
  metricsToken?: string;
  /** The client's address from the peer and `X-Forwarded-For` (`server.trust_proxy`). */
  clientAddress: ClientAddress;
}

declare module 'hono' {
  interface ContextVariableMap {
    requestId: string;
    /** The action the route performs (its access rule is in src/access/table.ts). */
    action: Action;
    services: ApiServices;
    principal: Principal;
    workload: WorkloadPrincipal;
    operator: OperatorPrincipal;
  }
}
