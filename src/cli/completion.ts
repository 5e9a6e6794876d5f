import { Argument, type Command, type Option } from 'commander';
import type { OperatorIo } from './io.js';

interface Node {
  /** Subcommand names, then option flags. */
  words: string[];
  /** Options that take one of a fixed set of values (`--output` → table json yaml). */
  choices: Map<string, readonly string[]>;
}

/**
 * Every command path of the program (`""`, `leases`, `leases list`…) with what may follow
 * it, generated from the command tree so that a new command or option completes without
 * touching the scripts. The program's own options are valid after every command.
 */
function commandTree(program: Command): Map<string, Node> {
  const tree = new Map<string, Node>();
  const visibleOptions = (command: Command) => command.options.filter((o) => !o.hidden);
  // --version answers only at the top; every other program option works after any command.
  const globals = visibleOptions(program).filter((o) => o.long !== '--version');
  const walk = (command: Command, path: string, inherited: readonly Option[]) => {
    const options = [...visibleOptions(command), ...inherited];
    const choices = new Map<string, readonly string[]>();
    for (const option of options) {
      if (option.argChoices !== undefined && option.long !== undefined)
        choices.set(option.long, option.argChoices);
    }
    tree.set(path, {
      words: [
        ...command.commands.map((c) => c.name()),
        ...options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)),
        '--help',
      ],
      choices,
    });
    for (const sub of command.commands)
      walk(sub, path === '' ? sub.name() : `${path} ${sub.name()}`, globals);
  };
  walk(program, '', []);
  return tree;
}

function cases(tree: Map<string, Node>, indent: string, print: (words: string) => string): string {
  return [...tree]
    .map(([path, node]) => `${indent}"${path}") ${print(node.words.join(' '))} ;;`)
    .join('\n');
}

function choiceCases(
  tree: Map<string, Node>,
  indent: string,
  print: (words: string) => string,
): string {
  const all = new Map<string, readonly string[]>();
  for (const node of tree.values())
    for (const [flag, values] of node.choices) all.set(flag, values);
  return [...all]
    .map(([flag, values]) => `${indent}${flag}) ${print(values.join(' '))} ;;`)
    .join('\n');
}

export function bashCompletion(program: Command): string {
  const tree = commandTree(program);
  const name = program.name();
  const fn = `_${name.replaceAll('-', '_')}`;
  return `# bash completion for ${name}: source <(${name} completion bash)
${fn}_words() {
  case "$1" in
${cases(tree, '    ', (w) => `echo "${w}"`)}
  esac
}
${fn}_values() {
  case "$1" in
${choiceCases(tree, '    ', (w) => `echo "${w}"`)}
  esac
}
${fn}() {
  local cur prev cmd i w values
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  values="$(${fn}_values "$prev")"
  if [[ -n "$values" ]]; then
    COMPREPLY=( $(compgen -W "$values" -- "$cur") )
    return
  fi
  cmd=""
  for (( i=1; i<COMP_CWORD; i++ )); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    if [[ -n "$(${fn}_words "\${cmd:+$cmd }$w")" ]]; then cmd="\${cmd:+$cmd }$w"; fi
  done
  COMPREPLY=( $(compgen -W "$(${fn}_words "$cmd")" -- "$cur") )
}
complete -o default -F ${fn} ${name}
`;
}

export function zshCompletion(program: Command): string {
  const tree = commandTree(program);
  const name = program.name();
  const fn = `_${name.replaceAll('-', '_')}`;
  // \`path\` is zsh's special array tied to PATH: the command path is kept in \`cmd\`.
  return `#compdef ${name}
# zsh completion for ${name}: source <(${name} completion zsh)
${fn}_words() {
  case "$1" in
${cases(tree, '    ', (w) => `print -r -- "${w}"`)}
  esac
}
${fn}_values() {
  case "$1" in
${choiceCases(tree, '    ', (w) => `print -r -- "${w}"`)}
  esac
}
${fn}() {
  local cmd="" w i values
  values="$(${fn}_values "\${words[CURRENT-1]}")"
  if [[ -n "$values" ]]; then
    compadd -- \${=values}
    return
  fi
  for (( i=2; i<CURRENT; i++ )); do
    w="\${words[i]}"
    [[ "$w" == -* ]] && continue
    if [[ -n "$(${fn}_words "\${cmd:+$cmd }$w")" ]]; then cmd="\${cmd:+$cmd }$w"; fi
  done
  compadd -- \${=$(${fn}_words "$cmd")}
}
if [[ "$funcstack[1]" == "${fn}" ]]; then ${fn} "$@"; else compdef ${fn} ${name}; fi
`;
}

const SHELLS = { bash: bashCompletion, zsh: zshCompletion } as const;

/** `completion bash|zsh`: commander has no completion of its own. */
export function completionCommand(program: Command, io: OperatorIo): void {
  program
    .command('completion')
    .description('Print a shell completion script: `source <(jit-broker completion bash)`, or zsh')
    .addArgument(new Argument('<shell>', 'the shell').choices(Object.keys(SHELLS)))
    .action((shell: keyof typeof SHELLS) => {
      // The tree is read when the script is asked for, so it holds every command main added.
      io.out(SHELLS[shell](program).trimEnd());
    });
}
