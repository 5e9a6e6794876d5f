/** RFC 8935 push delivery, as SSF names it in `delivery_methods_supported`. */
export const PUSH_DELIVERY_METHOD = 'urn:ietf:rfc:8935';

/** Where the broker publishes the SET key: apart from `/.well-known/jwks.json`, so no access token verifier ever trusts it. */
export const SSF_JWKS_PATH = '/.well-known/ssf/jwks.json';
export const SSF_CONFIGURATION_PATH = '/.well-known/ssf-configuration';

export interface TransmitterMetadata {
  readonly spec_version: '1_0';
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly delivery_methods_supported: readonly string[];
  readonly critical_subject_members: readonly string[];
}

/**
 * SSF 1.0 transmitter configuration metadata. Streams are the configured receivers, so no
 * stream management endpoint (configuration, status, subjects, verification) is offered.
 */
export function transmitterMetadata(issuer: string, brokerUrl: string): TransmitterMetadata {
  return {
    spec_version: '1_0',
    issuer,
    jwks_uri: `${brokerUrl.replace(/\/+$/, '')}${SSF_JWKS_PATH}`,
    delivery_methods_supported: [PUSH_DELIVERY_METHOD],
    // Every SET names the workload as `application`: a receiver that cannot match it
    // should not act on the SET.
    critical_subject_members: ['application'],
  };
}

/** What the broker's public routes serve about the transmitter. */
export interface SsfPublication {
  readonly metadata: TransmitterMetadata;
  readonly keys: readonly Readonly<Record<string, string>>[];
}
