/**
 * `firebreak` entry point: a thin dispatcher over the engine. Each command lives in its own
 * module under ./commands and is imported only when used, so start-up stays fast.
 */
import { UsageError } from '../core/errors.js';
import { processIo, type Command, type Io } from './io.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  hunt: { summary: 'hunt through a folder of evidence with the Sigma rules; timeline, summary, report', load: async () => (await import('./commands/hunt.js')).run },
  rules: { summary: 'rules lint|test — load, check and regression-test Sigma rules', load: async () => (await import('./commands/rules.js')).run },
  evtx: { summary: 'evtx dump — print Windows event log (EVTX) records as JSON lines or XML', load: async () => (await import('./commands/evtx.js')).run },
  scan: { summary: 'find private keys, credentials, cards, IBANs and SSNs in files and archives', load: async () => (await import('./commands/scan.js')).run },
  serve: { summary: 'the live server: shippers send to it; alerts and stories as they happen (--demo to try it)', load: async () => (await import('./commands/serve.js')).run },
  user: { summary: "user add|list|passwd|disable|enable — the server's console and API users", load: async () => (await import('./commands/credentials.js')).runUser },
  token: { summary: 'token add — an ingest token for a source of the server', load: async () => (await import('./commands/credentials.js')).runToken },
  query: { summary: 'run SQL on a hunt database (hunt --db FILE): table, CSV or JSON', load: async () => (await import('./commands/query.js')).run },
};

const USAGE = `usage: firebreak <command> [options]

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`)
  .join('\n')}

Run 'firebreak <command> --help' for a command's options.
`;

/** Run the CLI with `argv` (without node and script); resolves to the exit status. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write('firebreak 0.1.0\n');
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    io.stderr.write(`firebreak: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  try {
    return await (
      await cmd.load()
    )(rest, io);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string })?.code?.startsWith?.('ERR_PARSE_ARGS')) {
      io.stderr.write(`firebreak ${name}: ${(err as Error).message}\n`);
      return 2;
    }
    throw err;
  }
}
