import { z } from 'zod';
import { formatIssues } from '../../config/load.js';
import { keyringIssues } from '../../lib/keyring-rules.js';
import { readAuditPrivateKey, readAuditPublicKey } from './read-key.js';

/**
 * `active` signs; `next` is published before it signs, so every verifier holding the JWKS
 * has it when it is promoted; `retired` no longer signs but stays published, so the chains
 * it signed keep verifying.
 */
export const AUDIT_KEY_STATES = ['active', 'next', 'retired'] as const;
export type AuditKeyState = (typeof AUDIT_KEY_STATES)[number];

const keySchema = z
  .object({
    kid: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" and "-" only'),
    /** PKCS#8 PEM or a private JWK, from `${file:…}` or `${env:…}`. */
    private_key: z.string().min(1).optional(),
    /**
     * SPKI PEM or a public JWK. Enough for a key that no longer signs: a retired key's
     * private half need not stay on the replicas.
     */
    public_key: z.string().min(1).optional(),
    state: z.enum(AUDIT_KEY_STATES),
  })
  .strict();
export type AuditKeyConfig = z.infer<typeof keySchema>;

/** `events.signing`: the Ed25519 keys every replica signs its audit chain with. */
export const auditSigningSchema = z
  .object({ keys: z.array(keySchema).min(1).max(16) })
  .strict()
  .superRefine((signing, ctx) => {
    const issues = keyringIssues(signing.keys, (key, index) =>
      keyIssues(key).map((issue) => ({
        path: ['keys', index, issue.field],
        message: issue.message,
      })),
    );
    for (const issue of issues) ctx.addIssue({ code: 'custom', ...issue });
  });
export type AuditSigningConfig = z.infer<typeof auditSigningSchema>;

function keyIssues(key: AuditKeyConfig): { field: string; message: string }[] {
  if (key.private_key !== undefined && key.public_key !== undefined) {
    return [{ field: 'public_key', message: 'give private_key or public_key, not both' }];
  }
  if (key.private_key !== undefined) {
    try {
      readAuditPrivateKey(key.private_key);
      return [];
    } catch (err) {
      return [{ field: 'private_key', message: (err as Error).message }];
    }
  }
  if (key.public_key === undefined) {
    return [
      { field: 'private_key', message: 'required (or public_key for a key that no longer signs)' },
    ];
  }
  if (key.state === 'active') {
    return [{ field: 'private_key', message: 'the active key signs: it needs its private_key' }];
  }
  try {
    readAuditPublicKey(key.public_key);
    return [];
  } catch (err) {
    return [{ field: 'public_key', message: (err as Error).message }];
  }
}

/**
 * Reads `events.signing` (absent: no configured keys, `signing` undefined). The config
 * schema keeps the entry loose, as it does sink entries, so that it need not know the
 * events code; issues name the field's path (`events.signing.keys.0.private_key: …`) and the
 * rule, never the value, so a key in a bad entry cannot leak through the message.
 */
export function readAuditSigningConfig(events: { readonly signing?: unknown }): {
  signing: AuditSigningConfig | undefined;
  issues: string[];
} {
  if (events.signing === undefined) return { signing: undefined, issues: [] };
  const parsed = auditSigningSchema.safeParse(events.signing);
  if (parsed.success) return { signing: parsed.data, issues: [] };
  return { signing: undefined, issues: formatIssues(parsed.error, ['events', 'signing']) };
}
