import { z } from 'zod';
import { targetBaseSchema } from '../../src/config/schema.js';
import { keyringIssues } from '../../src/lib/keyring-rules.js';
import { JWT_ALGORITHMS, readPrivateKey } from './lib/signing-key.js';

export const KEY_STATES = ['active', 'next', 'retired'] as const;
export type KeyState = (typeof KEY_STATES)[number];

const keySchema = z
  .object({
    kid: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" and "-" only'),
    /** PKCS#8 PEM or a private JWK as JSON text; comes from `${file:…}` or `${env:…}`. */
    private_key: z.string().min(1),
    state: z.enum(KEY_STATES),
  })
  .strict();
export type JwtKeyConfig = z.infer<typeof keySchema>;

/** A `jwt` target: broker-signed access tokens (RFC 9068) for one audience. */
export const jwtTargetSchema = z
  .object({
    name: targetBaseSchema.shape.name,
    provider: z.literal('jwt'),
    audience: z.string().min(1).max(512),
    algorithm: z.enum(JWT_ALGORITHMS).default('ES256'),
    keys: z.array(keySchema).min(1).max(16),
    /** Workload ids allowed to introspect (RFC 7662) tokens issued for this audience. */
    resource_servers: z.array(z.string().min(1)).default([]),
    revoke_concurrency: z.number().int().positive().max(10_000).default(64),
    max_scopes: z.number().int().positive().max(256).default(32),
  })
  .strict()
  .superRefine((target, ctx) => {
    const issues = keyringIssues(target.keys, (key, index) => {
      try {
        readPrivateKey(key.private_key, target.algorithm);
        return [];
      } catch (err) {
        return [{ path: ['keys', index, 'private_key'], message: (err as Error).message }];
      }
    });
    for (const issue of issues) ctx.addIssue({ code: 'custom', ...issue });
  });
export type JwtTargetConfig = z.infer<typeof jwtTargetSchema>;
