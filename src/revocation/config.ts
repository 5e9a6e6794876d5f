import { z } from 'zod';
import { duration } from '../config/duration.js';

/**
 * `revocation:` — proof of revocation. After a revocation the broker asks the target whether
 * the credential is really gone (`Provider.verifyRevoked`). `verify` says after which
 * revocations: `kill_switch` (the default: every lease a kill switch revoked) or `all` (every
 * revocation and expiry). A kill switch is always verified.
 */
export const REVOCATION_VERIFY_MODES = ['kill_switch', 'all'] as const;
export type RevocationVerifyMode = (typeof REVOCATION_VERIFY_MODES)[number];

export const revocationSchema = z
  .object({
    verify: z.enum(REVOCATION_VERIFY_MODES).default('kill_switch'),
    /** One target's answer may take this long; past it the revocation is unverified. */
    verify_timeout: duration
      .default(10_000)
      .refine((ms) => ms >= 100 && ms <= 120_000, 'between 100ms and 2m'),
    /**
     * Verifications running at once toward one target. They share the target's admin
     * connections with its revocations, so few: a kill switch's revocations keep the rest.
     */
    verify_concurrency: z.number().int().min(1).max(64).default(2),
    /** Verifications waiting per target; past it a verification is unverified (`queue full`). */
    verify_queue: z.number().int().min(1).max(100_000).default(10_000),
  })
  .strict();
export type RevocationConfig = z.infer<typeof revocationSchema>;
