import { z } from 'zod';
import { targetBaseSchema } from '../../src/config/schema.js';
import { MAX_PREFIX_LENGTH } from './lib/account.js';
import { parseGrant } from './lib/grant.js';

export const MYSQL_FLAVORS = ['mariadb', 'mysql'] as const;
export type MysqlFlavor = (typeof MYSQL_FLAVORS)[number];

/** Names of privilege sets: what scopes and policy ceilings talk about. */
export const PRIVILEGE_SET_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const IDENTIFIER = /^[A-Za-z0-9_]{1,64}$/;

const grantText = z
  .string()
  .max(512)
  .superRefine((text, ctx) => {
    const parsed = parseGrant(text);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
  });

const privilegeSetSchema = z
  .object({
    grants: z.array(grantText).min(1).max(64),
  })
  .strict();

/** A `mysql` target: one MySQL or MariaDB server on which the broker creates leased accounts. */
export const mysqlTargetSchema = z
  .object({
    name: targetBaseSchema.shape.name,
    provider: z.literal('mysql'),
    /** `mysql://admin:password@host:port/`; a secret, so it comes from `${env:…}`/`${file:…}`. */
    admin_url: z
      .string()
      .max(2048)
      .regex(/^mysql:\/\/[^\s]+$/, 'must be a mysql:// URL'),
    flavor: z.enum(MYSQL_FLAVORS).default('mariadb'),
    /** Where workloads connect with the leased account (handed out with the credential). */
    connect: z
      .object({
        host: z
          .string()
          .min(1)
          .max(255)
          .regex(/^[A-Za-z0-9.:_-]+$/, 'a host name or address'),
        port: z.number().int().min(1).max(65_535).default(3306),
        database: z.string().regex(IDENTIFIER, 'letters, digits and "_" only'),
      })
      .strict(),
    privilege_sets: z
      .record(
        z.string().regex(PRIVILEGE_SET_NAME, 'letters, digits, "_" and "-" only'),
        privilegeSetSchema,
      )
      .refine((sets) => Object.keys(sets).length > 0, 'at least one privilege set'),
    user_prefix: z
      .string()
      .regex(
        new RegExp(`^[a-z][a-z0-9_]{0,${MAX_PREFIX_LENGTH - 1}}$`),
        `lowercase letters, digits and "_", starting with a letter, at most ${MAX_PREFIX_LENGTH} characters (user names are capped at 32)`,
      )
      .default('jit_'),
    /** The account's host part. `%` lets it connect from anywhere the network allows. */
    user_host: z
      .string()
      .regex(/^[A-Za-z0-9.%_:/-]{1,255}$/, 'a host, address, netmask or pattern')
      .default('%'),
    revoke_concurrency: z.number().int().positive().max(1000).default(8),
    /** `MAX_USER_CONNECTIONS` of every leased account. */
    max_connections: z.number().int().positive().max(10_000).default(5),
  })
  .strict();
export type MysqlTargetConfig = z.infer<typeof mysqlTargetSchema>;
