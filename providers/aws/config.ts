import { z } from 'zod';
import { targetBaseSchema } from '../../src/config/schema.js';

/** An IAM role ARN in any partition; the role name may carry a path. */
export const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
/** AWS: inline policy names are 1-128 of `[\w+=,.@-]`. */
const POLICY_NAME = /^[\w+=,.@-]{1,128}$/;

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

const endpointUrl = z.string().refine(isHttpUrl, 'an http(s) URL');

/**
 * An `aws` target: STS sessions of one IAM role, cut down to the requested actions and
 * resources by a session policy. The broker's own AWS credentials come from the SDK's default
 * chain (environment, web identity, instance or container profile), never from this file.
 */
export const awsTargetSchema = z
  .object({
    name: targetBaseSchema.shape.name,
    provider: z.literal('aws'),
    /** The role every session assumes; the broker owns one inline policy on it. */
    role_arn: z.string().regex(ROLE_ARN, 'an IAM role ARN (arn:aws:iam::<account>:role/<name>)'),
    region: z.string().regex(REGION, 'an AWS region such as eu-west-1'),
    /** VPC endpoints or a test server: STS and IAM separately. */
    endpoint: z
      .object({ sts: endpointUrl.exactOptional(), iam: endpointUrl.exactOptional() })
      .strict()
      .exactOptional(),
    /** Sent as `ExternalId` when the role's trust policy requires one. */
    external_id: z
      .string()
      .regex(/^[\w+=,.@:/-]{2,1224}$/, '2-1224 of letters, digits and +=,.@:/-')
      .exactOptional(),
    /**
     * STS sessions last at least 900 s; a longer floor keeps `DurationSeconds` above it. The
     * session policy still ends access at the lease's expiry.
     */
    session_duration_floor: z.number().int().min(900).max(43_200).default(900),
    /**
     * The role's `MaxSessionDuration` (seconds). A lease TTL above it is refused; entries of
     * the kill switch are pruned once every session issued before them has expired.
     */
    max_session_duration: z.number().int().min(900).max(43_200).default(3_600),
    /** The inline role policy holding the broker's Deny statements (early revocation). */
    revocation_policy_name: z
      .string()
      .regex(POLICY_NAME, '1-128 of letters, digits and +=,.@_-')
      .default('jit-broker-revocations'),
    /**
     * IAM caps all inline policies of a role together at 10,240 characters; lower this when
     * the role carries other inline policies.
     */
    revocation_policy_max_chars: z.number().int().min(1_024).max(10_240).default(10_240),
    /**
     * How far the broker's clock may be behind AWS's: a kill switch denies sessions issued
     * up to this long after it, so none issued before it escapes.
     */
    clock_skew_seconds: z.number().int().min(0).max(300).default(30),
    revoke_concurrency: z.number().int().positive().max(1_000).default(64),
    /** Per-request timeout toward STS and IAM. */
    timeout_ms: z.number().int().min(100).max(60_000).default(10_000),
  })
  .strict()
  .superRefine((target, ctx) => {
    if (target.session_duration_floor > target.max_session_duration) {
      ctx.addIssue({
        code: 'custom',
        path: ['session_duration_floor'],
        message: 'must not exceed max_session_duration',
      });
    }
  });
export type AwsTargetConfig = z.infer<typeof awsTargetSchema>;

/** The role's name: the last path segment of its ARN. */
export function roleNameOf(roleArn: string): string {
  return ROLE_ARN.exec(roleArn)?.[1] ?? '';
}
