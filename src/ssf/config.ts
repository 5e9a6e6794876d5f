import { z } from 'zod';
import { duration } from '../config/duration.js';
import { readSetSigningKey } from './key.js';

/** The CAEP event types the broker transmits (short names; the SET carries the full URI). */
export const SSF_EVENT_KINDS = ['session-revoked', 'credential-change'] as const;
export type SsfEventKind = (typeof SSF_EVENT_KINDS)[number];

const receiverName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-" only');

/** Loopback as WHATWG URL spells it: `localhost`, `127.x.y.z`, `[::1]`. */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

const receiverSchema = z
  .object({
    name: receiverName,
    /** Where SETs are POSTed (RFC 8935). https only, unless loopback with the flag below. */
    url: z.url(),
    /** The SET's `aud`: how the receiver names itself. */
    audience: z.string().min(1).max(512),
    /** Which event types it receives. Default: all. */
    events: z.array(z.enum(SSF_EVENT_KINDS)).min(1).optional(),
    /** Workload id globs (`src/lib/glob.ts`) whose events it receives. Default: all. */
    workloads: z.array(z.string().min(1).max(256)).min(1).max(256).optional(),
    /** Sent as the `Authorization` header value (e.g. `Bearer …`); a secret: `${env:}`/`${file:}`. */
    authorization: z.string().min(1).max(4096).optional(),
    /** Plain http is refused unless this is set, and then only to a loopback address. */
    allow_insecure_loopback: z.boolean().default(false),
  })
  .strict()
  .superRefine((r, ctx) => {
    let url: URL;
    try {
      url = new URL(r.url);
    } catch {
      return;
    }
    if (url.username !== '' || url.password !== '') {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'must not carry credentials' });
    }
    if (url.protocol === 'https:') return;
    if (url.protocol === 'http:' && r.allow_insecure_loopback && isLoopbackHost(url.hostname)) {
      return;
    }
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      message: r.allow_insecure_loopback
        ? 'must be https (plain http only to a loopback address)'
        : 'must be https (plain http to loopback needs allow_insecure_loopback: true)',
    });
  });
export type SsfReceiverConfig = z.infer<typeof receiverSchema>;

const signingKeySchema = z
  .object({
    /** Default: the RFC 7638 thumbprint of the public key. */
    kid: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" and "-" only')
      .optional(),
    /** PKCS#8 PEM or a private JWK (P-256, Ed25519 or RSA), from `${file:…}` or `${env:…}`. */
    private_key: z.string().min(1),
  })
  .strict()
  .superRefine((key, ctx) => {
    try {
      readSetSigningKey(key.private_key, key.kid);
    } catch (err) {
      // The reader's messages name the problem, never the key text.
      ctx.addIssue({ code: 'custom', path: ['private_key'], message: (err as Error).message });
    }
  });

const DELIVERY_DEFAULTS = {
  timeout: 5_000,
  max_attempts: 10,
  backoff_base: 1_000,
  backoff_max: 300_000,
  claim_timeout: 30_000,
  max_queue: 10_000,
};

const deliverySchema = z
  .object({
    /** One POST's deadline. */
    timeout: duration
      .default(DELIVERY_DEFAULTS.timeout)
      .refine((ms) => ms >= 100 && ms <= 30_000, 'between 100ms and 30s'),
    /** After this many failed attempts the SET is dropped with `ssf.delivery_failed`. */
    max_attempts: z.number().int().min(1).max(50).default(DELIVERY_DEFAULTS.max_attempts),
    backoff_base: duration
      .default(DELIVERY_DEFAULTS.backoff_base)
      .refine((ms) => ms >= 10 && ms <= 3_600_000, 'between 10ms and 1h'),
    backoff_max: duration
      .default(DELIVERY_DEFAULTS.backoff_max)
      .refine((ms) => ms >= 10 && ms <= 86_400_000, 'between 10ms and 24h'),
    /** A replica that claimed a SET and died: another takes it after this. */
    claim_timeout: duration
      .default(DELIVERY_DEFAULTS.claim_timeout)
      .refine((ms) => ms >= 1_000 && ms <= 600_000, 'between 1s and 10m'),
    /** SETs waiting, all receivers together; past it the oldest is dropped and reported. */
    max_queue: z.number().int().min(1).max(1_000_000).default(DELIVERY_DEFAULTS.max_queue),
  })
  .strict()
  .refine((d) => d.backoff_max >= d.backoff_base, {
    message: 'must be at least backoff_base',
    path: ['backoff_max'],
  })
  .refine((d) => d.claim_timeout > d.timeout, {
    message: 'must be longer than timeout',
    path: ['claim_timeout'],
  });

/**
 * `ssf:` — the broker as a Shared Signals transmitter: CAEP SETs pushed (RFC 8935) to
 * statically configured receivers. No stream management API: the streams are this list.
 */
export const ssfSchema = z
  .object({
    /** The SETs' `iss` and the metadata's `issuer`. Default: the broker's URL. */
    issuer: z.url().optional(),
    signing_key: signingKeySchema,
    receivers: z
      .array(receiverSchema)
      .max(64)
      .default([])
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((r, i) => {
          if (seen.has(r.name)) {
            ctx.addIssue({
              code: 'custom',
              path: [i, 'name'],
              message: `duplicate receiver ${r.name}`,
            });
          }
          seen.add(r.name);
        });
      }),
    delivery: deliverySchema.default(DELIVERY_DEFAULTS),
  })
  .strict();
export type SsfConfig = z.infer<typeof ssfSchema>;
export type SsfDeliveryConfig = SsfConfig['delivery'];
