import { generateDevKey } from '../../providers/jwt/dev-key.js';

/** A jwt target's config entry signing with a fresh key of its own; `extra` adds fields. */
export async function jwtTargetConfig(
  name: string,
  audience: string,
  kid: string,
  extra: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const privateKey = await generateDevKey();
  return {
    name,
    provider: 'jwt',
    audience,
    keys: [{ kid, private_key: privateKey, state: 'active' }],
    ...extra,
  };
}
