import { exportPKCS8, generateKeyPair } from 'jose';

/** A fresh ES256 signing key as a PKCS#8 PEM, for `jit-broker dev` only (never persisted). */
export async function generateDevKey(): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return exportPKCS8(privateKey);
}
