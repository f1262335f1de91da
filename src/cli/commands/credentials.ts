/**
 * `firebreak user add|list|passwd|disable|enable` and `firebreak token add`: the server's
 * credentials from the command line. Users live in the state database (the server may be running:
 * SQLite serialises the writes); ingest tokens live in the configuration file, each secret in a
 * file of its own readable only by its owner.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isMap, isSeq, parseDocument, YAMLMap } from 'yaml';
import { FirebreakError, UsageError } from '../../core/errors.js';
import { Credentials, isRole } from '../../serve/api/auth/credentials.js';
import { Passwords } from '../../serve/api/auth/passwords.js';
import { parseServeConfig } from '../../serve/config.js';
import type { IngestProtocol } from '../../serve/record.js';
import { ROLES, StateDb } from '../../serve/store/db.js';
import type { Io } from '../io.js';

const USER_HELP = `usage: firebreak user add NAME --role admin|analyst|read-only [--password-file FILE]
       firebreak user passwd NAME [--password-file FILE]
       firebreak user disable|enable NAME
       firebreak user list
  options for all: [--config FILE] [--data DIR]

Manages the console's and API's users in the server's state database (DATA/state.db), or in
PostgreSQL when the configuration has a cluster section with postgres (docs/scale-out.md). The
password is read from --password-file, else from standard input (one line; at least 12
characters). Roles: admin (everything, users and keys), analyst (triage, rules), read-only.
`;

const TOKEN_HELP = `usage: firebreak token add SOURCE --protocols elastic,otlp,hec [--config FILE]

Creates an ingest token for the shippers of one source: a random secret written to
secrets/SOURCE.token beside the configuration (mode 0600), and an entry in the configuration's
'tokens' list that reads it (comments and layout of the file are kept). Prints the secret once.
Restart the server to use it.
`;

const PROTOCOLS: readonly IngestProtocol[] = ['elastic', 'otlp', 'hec'];

export async function runUser(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      data: { type: 'string' },
      role: { type: 'string' },
      'password-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !positionals.length) {
    io.stdout.write(USER_HELP);
    return values.help ? 0 : 2;
  }
  const [action, name] = positionals;
  const { creds, close } = await openUsers(values.config, values.data);
  try {
    switch (action) {
      case 'list': {
        for (const u of await creds.listUsers()) io.stdout.write(`${u.name}\t${u.role}\t${u.disabled ? 'disabled' : 'active'}\t${u.createdAt}\n`);
        return 0;
      }
      case 'add': {
        if (!name) throw new UsageError('user add: give the user name');
        if (!values.role || !isRole(values.role)) throw new UsageError(`user add: --role must be one of ${ROLES.join(', ')}`);
        const u = await creds.addUser(name, values.role, await password(values['password-file']));
        io.stdout.write(`user ${u.name} added (${u.role})\n`);
        return 0;
      }
      case 'passwd': {
        if (!name) throw new UsageError('user passwd: give the user name');
        await creds.setPassword(name, await password(values['password-file']));
        io.stdout.write(`password of ${name} changed; their sessions ended\n`);
        return 0;
      }
      case 'disable':
      case 'enable': {
        if (!name) throw new UsageError(`user ${action}: give the user name`);
        const u = await creds.setDisabled(name, action === 'disable');
        io.stdout.write(`user ${u.name} ${u.disabled ? 'disabled' : 'enabled'}\n`);
        return 0;
      }
      default:
        throw new UsageError(`unknown action '${action}'\n\n${USER_HELP}`);
    }
  } catch (e) {
    if (e instanceof UsageError || !(e instanceof FirebreakError)) throw e;
    io.stderr.write(`firebreak user: ${e.message}\n`);
    return 1;
  } finally {
    await close();
  }
}

export async function runToken(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, protocols: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || !positionals.length) {
    io.stdout.write(TOKEN_HELP);
    return values.help ? 0 : 2;
  }
  const [action, source] = positionals;
  if (action !== 'add') throw new UsageError(`unknown action '${action}'\n\n${TOKEN_HELP}`);
  if (!source || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(source)) throw new UsageError('token add: give a source name (letters, digits, . _ -; at most 64)');
  const protocols = (values.protocols ?? '').split(',').map((p) => p.trim()) as IngestProtocol[];
  if (!protocols.length || protocols.some((p) => !PROTOCOLS.includes(p))) throw new UsageError(`token add: --protocols is a list of ${PROTOCOLS.join(', ')}`);
  const file = resolve(values.config ?? 'firebreak.yml');
  if (!existsSync(file)) throw new UsageError(`token add: no configuration at ${file} (--config FILE)`);
  const text = readFileSync(file, 'utf8');
  const doc = parseDocument(text);
  if (doc.errors.length) throw new FirebreakError('config', `${file}: ${doc.errors[0]!.message}`);
  if (!isMap(doc.contents)) throw new FirebreakError('config', `${file}: the configuration is not a mapping`);
  const tokens = doc.get('tokens', true);
  if (tokens !== undefined && !isSeq(tokens)) throw new FirebreakError('config', `${file}: 'tokens' is not a list`);
  if (isSeq(tokens) && tokens.items.some((t) => isMap(t) && t.get('source') === source)) {
    io.stderr.write(`firebreak token: source '${source}' already has a token in ${file}\n`);
    return 1;
  }
  const secret = randomBytes(32).toString('base64url');
  const secretPath = join(dirname(file), 'secrets', `${source}.token`);
  mkdirSync(dirname(secretPath), { recursive: true, mode: 0o700 });
  writeFileSync(secretPath, secret + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(secretPath, 0o600);
  const entry = new YAMLMap();
  entry.flow = true;
  entry.set('source', source);
  entry.set('secretFile', relative(dirname(file), secretPath));
  entry.set('protocols', doc.createNode(protocols, { flow: true }));
  if (isSeq(tokens)) tokens.items.push(entry);
  else doc.set('tokens', doc.createNode([entry]));
  const updated = doc.toString();
  parseServeConfig(updated, file); // the result must still be a valid configuration
  writeFileSync(file, updated);
  io.stdout.write(`token for '${source}' (${protocols.join(', ')}) written to ${secretPath}; restart the server to use it.\nsecret: ${secret}\n`);
  return 0;
}

/**
 * Where the users are: a cluster's PostgreSQL when the configuration has `cluster.postgres` (the
 * api role serves them from there), else the state database in the data directory.
 */
async function openUsers(config: string | undefined, data: string | undefined): Promise<{ creds: Credentials; close: () => Promise<void> }> {
  const file = config ?? 'firebreak.yml';
  const pgConfig = !data && existsSync(file) ? parseServeConfig(readFileSync(file, 'utf8'), file).cluster?.postgres : undefined;
  if (pgConfig) {
    const { ClusterDb } = await import('../../serve/cluster/pg.js');
    const { PgSql } = await import('../../serve/cluster/pg-sql.js');
    const cdb = await ClusterDb.open(pgConfig);
    return { creds: new Credentials(new PgSql(cdb.pool), new Passwords()), close: () => cdb.close() };
  }
  const db = new StateDb(join(dataDir(config, data), 'state.db'));
  return { creds: new Credentials(db, new Passwords()), close: async () => db.close() };
}

function dataDir(config: string | undefined, data: string | undefined): string {
  if (data) return resolve(data);
  const file = config ?? 'firebreak.yml';
  if (!existsSync(file)) throw new UsageError(`no configuration at ${file}: give --config FILE or --data DIR`);
  return parseServeConfig(readFileSync(file, 'utf8'), file).data;
}

async function password(file: string | undefined): Promise<string> {
  let text: string;
  if (file) text = readFileSync(file, 'utf8');
  else {
    if (process.stdin.isTTY) process.stderr.write('password (one line, not echoed to the log): ');
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  }
  const pw = text.split(/\r?\n/)[0] ?? '';
  if (!pw) throw new UsageError('no password given (--password-file FILE, or one line on standard input)');
  return pw;
}
