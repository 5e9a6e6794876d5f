import type { AwsTargetConfig } from '../config.js';
import type { AwsClients } from './clients.js';

/** One configured target's clients and what it learnt from AWS. */
export interface AwsTarget {
  config: AwsTargetConfig;
  clients: AwsClients;
  roleName: string;
  /**
   * The role's id (`AROA…`), the first half of every session's `aws:userid`, learnt from the
   * first `AssumeRole` answer (AWS offers it nowhere the broker is allowed to read).
   */
  roleId?: string;
}
