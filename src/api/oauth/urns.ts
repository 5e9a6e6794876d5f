/** The grant types this broker accepts (RFC 8693 §2.1, RFC 7523 §2.1, RFC 6749 §4.4). */
export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const GRANT_JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const GRANT_CLIENT_CREDENTIALS = 'client_credentials';

/** RFC 7523 §2.2: a client authenticates with a JWT in `client_assertion`. */
export const CLIENT_ASSERTION_JWT = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The ID-JAG profile, as RFC 8414 metadata names it (`authorization_grant_profiles_supported`). */
export const GRANT_PROFILE_ID_JAG = 'urn:ietf:params:oauth:grant-profile:id-jag';

/** RFC 8693 §3 token type identifiers. */
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const TOKEN_TYPE_ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
/** RFC 8693 §3 lets a server name its own token types; this one is a provider credential. */
export const TOKEN_TYPE_CREDENTIAL = 'urn:jit-broker:params:oauth:token-type:credential';

/** RFC 8693 §2.1 makes `resource` an absolute URI, so a target may be named as this URN. */
export const TARGET_URN = 'urn:jit-broker:target:';
