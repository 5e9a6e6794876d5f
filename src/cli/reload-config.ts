import { ConfigError, loadConfigFile } from '../config/load.js';
import type { Logger } from '../lib/logger.js';
import type { RunningBroker } from '../server.js';

type Reloadable = Pick<RunningBroker, 'reload' | 'events' | 'runtime'>;

/**
 * `serve`'s SIGHUP: reads the configuration file again and swaps it in whole, or keeps the
 * one in force. A refused file is said in the log and in the audit trail
 * (`policy.reload_rejected`): it is a mistake, or someone changing the broker's rules who
 * should not, and a SIEM that alerts on `policy.reloaded` must see the attempts that failed
 * too. The issues name fields and rules, never values, so no secret reaches either.
 */
export function reloadConfigFile(running: Reloadable, file: string, logger: Logger): void {
  try {
    running.reload(loadConfigFile(file));
    logger.info('configuration reloaded');
  } catch (err) {
    const issues = err instanceof ConfigError ? [...err.issues] : undefined;
    const reason =
      err instanceof ConfigError
        ? 'invalid configuration'
        : err instanceof Error
          ? err.message
          : String(err);
    logger.error(
      { err: err instanceof Error ? err.message : String(err) },
      'reload rejected; keeping the old configuration',
    );
    void running.events.emit(
      {
        type: 'policy.reload_rejected',
        outcome: 'failure',
        reason,
        // The bus is not the stamping emitter: name the policy set that stays in force.
        policy_hash: running.runtime().policy.hash,
        detail: { file, ...(issues === undefined ? {} : { issues }) },
      },
      { failClosed: false },
    );
  }
}
