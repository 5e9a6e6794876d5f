/**
 * A failed connection in the words other operator tools use (Go's crypto/tls, curl): the
 * cause from the error's code, and what to do about it where there is one thing to do.
 * Node's own message ("fetch failed", "socket hang up") hides all of it.
 */
export function describeTransportError(err: Error, url: URL): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const where = `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
  const tls = TLS_CAUSES[code];
  if (tls !== undefined) return `TLS to ${where}: ${tls}`;
  if (code.startsWith('HPE_')) {
    return url.protocol === 'http:'
      ? `the reply from ${where} is not HTTP: plain http sent to an https port? (try https://)`
      : `the reply from ${where} is not HTTP: is --url the broker?`;
  }
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused to ${where}: is the broker running, and is that its port?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve ${url.hostname}`;
    case 'ETIMEDOUT':
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return `cannot reach ${where} (${code})`;
    case 'ECONNRESET':
      return url.protocol === 'http:'
        ? `connection to ${where} closed before a reply: plain http sent to an https port? (try https://)`
        : `connection to ${where} closed before a reply`;
    case 'EPROTO':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return `TLS to ${where} failed: https sent to a plain http port? (try http:// on loopback)`;
    default:
      return `cannot reach ${where}: ${code === '' ? err.message : `${code} ${err.message}`}`;
  }
}

const FIX = 'pass --ca-file with the CA that signed it (or --insecure-skip-verify, for tests only)';

/** OpenSSL's verification codes, as Node reports them on `err.code`. */
const TLS_CAUSES: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: `self-signed certificate: ${FIX}`,
  SELF_SIGNED_CERT_IN_CHAIN: `self-signed certificate in the chain: ${FIX}`,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: `certificate signed by unknown authority: ${FIX}`,
  UNABLE_TO_GET_ISSUER_CERT: `certificate signed by unknown authority: ${FIX}`,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: `certificate signed by unknown authority: ${FIX}`,
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not yet valid',
  CERT_REVOKED: 'the certificate is revoked',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate is not valid for this host name',
};
