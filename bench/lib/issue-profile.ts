import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { printProfile, summarise } from './profile.js';

type CpuProfile = Parameters<typeof summarise>[0];

/**
 * Prints where the broker process spent its CPU (`node --cpu-prof`, written when the process
 * exits): its main thread's profile, by area and by function. Returns the files it left.
 */
export function reportBrokerProfile(label: string, dir: string, pid: number): string[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.`))
    .map((f) => join(dir, f));
  // Thread 0 is the main thread; the others are the TypeScript loader's worker.
  const main = files.find((f) => f.includes(`.${pid}.0.`));
  if (main !== undefined) {
    const profile = JSON.parse(readFileSync(main, 'utf8')) as CpuProfile;
    printProfile(label, summarise(profile, main));
  }
  return files;
}
