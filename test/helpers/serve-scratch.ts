import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from './services.js';

/**
 * What a test that runs `jit-broker serve` as a process needs: a scratch folder, a key
 * prefix of its own on the local Redis, and a child that is killed whatever the test did.
 * Registers the suite's `beforeAll`/`afterAll`; read the fields inside tests.
 */
export interface ServeScratch {
  /** False when Redis is not there (the tests skip, or fail under CI). */
  readonly ok: boolean;
  readonly dir: string;
  readonly prefix: string;
  /** The process under test, killed after the suite if still running. */
  child: ChildProcess | undefined;
}

export function serveScratch(label: string): ServeScratch {
  const scratch = { ok: false, dir: '', prefix: uniquePrefix(label), child: undefined } as {
    ok: boolean;
    dir: string;
    prefix: string;
    child: ChildProcess | undefined;
  };
  beforeAll(async () => {
    scratch.ok = await requireService('redis', await redisAvailable());
    scratch.dir = mkdtempSync(join(tmpdir(), `jit-${label}-`));
  });
  afterAll(async () => {
    if (scratch.child?.exitCode === null) scratch.child.kill('SIGKILL');
    const redis = new Redis(REDIS_URL);
    await deletePrefix(redis, `${scratch.prefix}:`);
    redis.disconnect();
    rmSync(scratch.dir, { recursive: true, force: true });
  });
  return scratch;
}
