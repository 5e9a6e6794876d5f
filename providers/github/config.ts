import { z } from 'zod';
import { targetBaseSchema } from '../../src/config/schema.js';

/** A GitHub account (organisation or user) login. */
export const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;

/** A `github` target: one installation of a GitHub App, minting installation tokens. */
export const githubTargetSchema = z
  .object({
    name: targetBaseSchema.shape.name,
    provider: z.literal('github'),
    /** The App's id (a number, given as a string or a number). */
    app_id: z
      .union([z.string().regex(/^\d{1,20}$/), z.number().int().positive()])
      .transform(String),
    installation_id: z.number().int().positive(),
    /** The App's private key, PEM (a secret: `${file:…}` or `${env:…}`). */
    private_key: z
      .string()
      .min(1)
      .refine((pem) => /-----BEGIN (RSA )?PRIVATE KEY-----/.test(pem), 'a PEM private key'),
    /**
     * The account the installation belongs to. When set, every requested repository must be
     * one of its own; tokens never name repositories of anyone else in any case.
     */
    owner: z.string().regex(GITHUB_LOGIN, 'a GitHub login').exactOptional(),
    /** GitHub Enterprise Server (`https://ghe.example.com/api/v3`) or a test server. */
    base_url: z.url().default('https://api.github.com'),
    /** GitHub's secondary rate limits favour few concurrent writes. */
    revoke_concurrency: z.number().int().positive().max(1_000).default(8),
    /** Per-request timeout toward GitHub. */
    timeout_ms: z.number().int().min(100).max(60_000).default(10_000),
  })
  .strict();
export type GithubTargetConfig = z.infer<typeof githubTargetSchema>;
