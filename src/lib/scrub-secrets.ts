const REDACTED = '[redacted]';

/**
 * Replaces every occurrence of each secret in `text`. Server messages quote the statement
 * near an error and driver messages can repeat the connection URL, so anything a provider
 * handled (admin credentials, a minted password or its hash) is removed before a message
 * leaves it. Secrets shorter than four characters are skipped: replacing them would mangle
 * ordinary words without hiding anything worth guessing.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}
