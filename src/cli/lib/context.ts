import type { Command } from 'commander';
import type { OperatorIo } from '../io.js';
import { render } from './output.js';
import {
  type BrokerTarget,
  brokerTarget,
  type GlobalOptions,
  withEnvironment,
} from './settings.js';

/** The program-wide options of the command being run, the environment filled in. */
export function globalOptions(io: OperatorIo, command: Command): GlobalOptions {
  return withEnvironment(command.optsWithGlobals<GlobalOptions>(), io.env);
}

/** The broker to call, checked (URL, token, TLS settings) before anything is sent. */
export function target(io: OperatorIo, command: Command, needs = { token: true }): BrokerTarget {
  return brokerTarget(
    globalOptions(io, command),
    needs,
    io.warn ?? ((line) => process.stderr.write(`${line}\n`)),
  );
}

/** Prints an answer in the format `--output` asks for. */
export function show(
  io: OperatorIo,
  command: Command,
  value: unknown,
  toTable?: (value: unknown) => string[],
): void {
  for (const line of render(globalOptions(io, command).output ?? 'table', value, toTable))
    io.out(line);
}
