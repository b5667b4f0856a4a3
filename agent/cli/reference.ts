// Prints the CLI reference (markdown) from the commander tree: `npx tsx agent/cli/reference.ts > docs/cli.md`.
import type { Command } from 'commander';
import { buildProgram } from './program.js';

function walk(cmd: Command, prefix: string, out: string[]): void {
  for (const c of cmd.commands) {
    const name = `${prefix} ${c.name()}`.trim();
    if (c.commands.length) {
      walk(c, name, out);
      continue;
    }
    const args = c.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`)).join(' ');
    out.push(`### \`skyrig ${name}${args ? ' ' + args : ''}\`\n${c.description()}\n`);
    const opts = c.options.filter((o) => o.long !== '--help');
    if (opts.length) {
      out.push('| option | meaning |\n| --- | --- |');
      for (const o of opts) {
        const def = o.defaultValue !== undefined && o.defaultValue !== false ? ` (default ${JSON.stringify(o.defaultValue)})` : '';
        out.push(`| \`${o.flags.replace(/\|/g, '\\|')}\` | ${(o.description + def).replace(/\|/g, '\\|')} |`);
      }
      out.push('');
    }
  }
}
const out: string[] = [];
walk(await buildProgram(), '', out);
process.stdout.write(out.join('\n') + '\n');
