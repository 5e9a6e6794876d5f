import { z } from 'zod';
import { targetBaseSchema } from '../../src/config/schema.js';

const host = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9.:_[\]-]+$/, 'a host name or address');
const port = z.number().int().min(1).max(65_535);

const endpointSchema = z
  .object({
    host,
    port: port.default(6379),
    tls: z.boolean().default(false),
  })
  .strict();
export type RedisEndpoint = z.infer<typeof endpointSchema>;

/** A `redis` target: Redis servers (6.2+) on which the broker creates leased ACL users. */
export const redisTargetSchema = z
  .object({
    name: targetBaseSchema.shape.name,
    provider: z.literal('redis'),
    /**
     * Every node that must know the user. ACLs are per node, so a Cluster or a primary with
     * replicas lists every member here.
     */
    nodes: z.array(endpointSchema).min(1).max(256),
    /** The broker's admin ACL user on every node; absent means the `default` user. */
    admin_username: z.string().min(1).max(128).regex(/^\S+$/, 'no whitespace').exactOptional(),
    /** A secret: from `${env:…}` or `${file:…}`. */
    admin_password: z.string().min(1).max(1024).exactOptional(),
    /** Where workloads connect with the leased user (handed out with the credential). */
    connect: endpointSchema,
    user_prefix: z
      .string()
      .regex(/^[A-Za-z0-9_:-]{1,32}$/, 'letters, digits, "_", ":" and "-", at most 32')
      .default('jit_'),
    revoke_concurrency: z.number().int().positive().max(10_000).default(16),
  })
  .strict();
export type RedisTargetConfig = z.infer<typeof redisTargetSchema>;
