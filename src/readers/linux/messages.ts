/**
 * Fields in the text of Linux authentication messages (sshd, PAM, sudo, su, account tools,
 * systemd-logind, cron), so correlations and stories can group by who and from where. The
 * message itself is kept unchanged: keyword rules search it, these fields only add to it.
 *
 * Names follow the Windows events stories already read: `IpAddress` / `IpPort` (the remote
 * side), `TargetUserName` (the account logged on to, switched to, created), `SubjectUserName`
 * (the account acting: sudo's and su's invoker), `AuthResult` (`success` / `failure` of one
 * authentication decision), `AuthMethod`, `CommandLine`, `CurrentDirectory`, `LogonId` (a
 * logind session). Patterns follow OpenSSH's auth.c / auth2.c / sshd.c messages, Linux-PAM's
 * pam_unix, sudo's log format (`user : TTY=… ; PWD=… ; USER=… ; COMMAND=…`) and shadow-utils.
 */
import type { Fields } from '../../events/event.js';

/** A program name as routed: lower case, no directory, no `(pam_unix)` suffix. */
export function programBase(program: string): string {
  let p = program.toLowerCase();
  const slash = p.lastIndexOf('/');
  if (slash >= 0) p = p.slice(slash + 1);
  const paren = p.indexOf('(');
  if (paren > 0) p = p.slice(0, paren);
  return p;
}

const SSHD_AUTH = /^(Accepted|Failed) (\S+) for (invalid user )?(.*?) from (\S+) port (\d+)(?: (ssh\d?))?(?::|$| )/;
const SSHD_INVALID = /^Invalid user (.*?) from (\S+)(?: port (\d+))?\s*$/;
const SSHD_MAX = /^(?:error: )?maximum authentication attempts exceeded for (invalid user )?(.*?) from (\S+) port (\d+)/;
const SSHD_CLOSED =
  /^(?:Connection closed|Connection reset|Disconnected from|Received disconnect from|Timeout before authentication for|Unable to negotiate with|Did not receive identification string from|banner exchange: Connection from) (?:(?:authenticating |invalid )?user (.*?) )?(\S+?)(?::? port (\d+))?(?:[: ]|$)/;
const SSHD_REVERSE = /^reverse mapping checking getaddrinfo for \S+ \[([^\]]+)\] failed/;
const SSHD_MAPS = /^Address (\S+) maps to \S+, but this does not map back to the address/;
const REPEATED = /^message repeated (\d{1,9}) times: \[ ?(.*?) ?\]\s*$/;
const PAM = /^pam_(\w+)\((\S+?):(\w+)\): (.*)$/;
const PAM_KV = /(\w+)=(\S*)/g;
const SESSION = /^session (opened|closed) for user ([^\s(]+)(?:\(uid=\d+\))?(?: by ([^\s(]*)(?:\(uid=(\d+)\))?)?/;
const SUDO = /^\s*(\S+) : (?:(.*?) ; )?TTY=(\S*) ; PWD=(.*?) ; USER=(\S+) ;(?: GROUP=\S+ ;)?(?: ENV=.*? ;)? COMMAND=(.*)$/;
const NEW_USER = /^new user: name=([^,]+), UID=(\d+), GID=(\d+)/;
const NEW_GROUP = /^new group: name=([^,]+), GID=(\d+)/;
const ADD_TO_GROUP = /^add '([^']+)' to (?:shadow )?group '([^']+)'/;
const DELETE_USER = /^delete user '([^']+)'/;
const PASSWORD_CHANGED = /^password changed for (\S+)/;
const LOGIND = /^New session (\S+) of user (\S+?)\.?$/;
const LOGIND_END = /^(?:Session|Removed session) (\S+?)(?: logged out)?\.?(?: Waiting for processes to exit\.)?$/;
const SU_TO = /^(?:\(to (\S+)\) (\S+) on (\S+)|(FAILED) su for (\S+) by (\S+))/;
const CRON_CMD = /^\((\S+)\) (CMD|REPLACE|RELOAD|LIST|DELETE|BEGIN EDIT|END EDIT) \((.*)\)\s*$/;

/** Add the fields a message of this program carries (nothing when it carries none). */
export function addMessageFields(fields: Fields, program: string, message: string): void {
  const base = programBase(program);
  let msg = message;
  const rep = REPEATED.exec(msg);
  if (rep) {
    fields.RepeatCount = Number(rep[1]);
    msg = rep[2]!;
  }
  // Old PAM logged under its own tag (`sshd(pam_unix)[…]: authentication failure; …`) and
  // sshd wrote no line of its own for the attempt.
  const legacyPam = program.includes('(pam_');
  if (msg.startsWith('pam_')) {
    const m = PAM.exec(msg);
    if (m) {
      fields.PamModule = `pam_${m[1]}`;
      fields.PamService = m[2]!;
      fields.PamType = m[3]!;
      pamText(fields, m[2]!, m[4]!, false);
      return;
    }
  } else if (legacyPam) {
    fields.PamModule = program.slice(program.indexOf('(') + 1, program.indexOf(')'));
    fields.PamService = base;
    pamText(fields, base, msg, true);
    return;
  }
  switch (base) {
    case 'sshd':
    case 'sshd-session':
    case 'sshd-auth':
      return sshd(fields, msg);
    case 'sudo':
      return sudo(fields, msg);
    case 'su':
      return su(fields, msg);
    case 'useradd':
    case 'adduser':
    case 'groupadd':
    case 'usermod':
    case 'gpasswd':
    case 'userdel':
    case 'deluser':
    case 'passwd':
    case 'chpasswd':
      return accounts(fields, msg);
    case 'systemd-logind':
      return logind(fields, msg);
    case 'cron':
    case 'crond':
    case 'crontab': {
      const c = CRON_CMD.exec(msg);
      if (c) {
        fields.TargetUserName = c[1]!;
        fields.CronAction = c[2]!;
        if (c[2] === 'CMD') fields.CommandLine = c[3]!;
      }
      return;
    }
    default:
      return;
  }
}

function sshd(fields: Fields, msg: string): void {
  let m = SSHD_AUTH.exec(msg);
  if (m) {
    fields.AuthResult = m[1] === 'Accepted' ? 'success' : 'failure';
    fields.AuthMethod = m[2]!;
    if (m[3]) fields.InvalidUser = true;
    fields.TargetUserName = m[4]!;
    fields.IpAddress = m[5]!;
    fields.IpPort = m[6]!;
    return;
  }
  if ((m = SSHD_INVALID.exec(msg))) {
    fields.InvalidUser = true;
    fields.TargetUserName = m[1]!;
    fields.IpAddress = m[2]!;
    if (m[3]) fields.IpPort = m[3];
    return;
  }
  if ((m = SSHD_MAX.exec(msg))) {
    if (m[1]) fields.InvalidUser = true;
    fields.TargetUserName = m[2]!;
    fields.IpAddress = m[3]!;
    fields.IpPort = m[4]!;
    return;
  }
  if ((m = SSHD_CLOSED.exec(msg))) {
    if (m[1] !== undefined) fields.TargetUserName = m[1];
    if (looksLikeIp(m[2]!)) fields.IpAddress = m[2]!;
    if (m[3]) fields.IpPort = m[3];
    return;
  }
  if ((m = SSHD_REVERSE.exec(msg) ?? SSHD_MAPS.exec(msg))) fields.IpAddress = m[1]!;
}

/** `pam_unix(svc:type): …` text, or a legacy PAM tag's message. */
function pamText(fields: Fields, service: string, text: string, legacy: boolean): void {
  const svc = programBase(service);
  if (text.startsWith('authentication failure;') || /^\d+ more authentication failures?;/.test(text)) {
    const kv: Record<string, string> = {};
    for (const m of text.matchAll(PAM_KV)) kv[m[1]!] = m[2]!;
    if (kv.rhost && looksLikeIp(kv.rhost)) fields.IpAddress = kv.rhost;
    else if (kv.rhost) fields.RemoteHost = kv.rhost;
    if (kv.tty) fields.Tty = kv.tty;
    const invoker = kv.ruser || kv.logname;
    if (svc === 'sudo' || svc === 'su') {
      if (invoker) fields.SubjectUserName = invoker;
      if (kv.user) fields.TargetUserName = kv.user;
    } else if (kv.user) fields.TargetUserName = kv.user;
    if (text.startsWith('authentication failure;')) {
      fields.PamResult = 'failure';
      // sshd writes its own "Failed password" line for each attempt; old PAM-only logs do not.
      if (legacy || svc !== 'sshd') fields.AuthResult = 'failure';
    }
    return;
  }
  const s = SESSION.exec(text);
  if (s) {
    fields.SessionAction = s[1]!;
    fields.TargetUserName = s[2]!;
    if (s[3]) fields.SubjectUserName = s[3];
  }
}

function sudo(fields: Fields, msg: string): void {
  const m = SUDO.exec(msg);
  if (!m) return;
  fields.SubjectUserName = m[1]!;
  fields.Tty = m[3]!;
  fields.CurrentDirectory = m[4]!;
  fields.TargetUserName = m[5]!;
  fields.CommandLine = m[6]!;
  // sudo's own names too, as SigmaHQ's sudo rule reads them (USER: '#-*', CVE-2019-14287).
  fields.TTY = m[3]!;
  fields.PWD = m[4]!;
  fields.USER = m[5]!;
  fields.COMMAND = m[6]!;
  const problem = m[2];
  if (!problem) {
    fields.AuthResult = 'success';
    return;
  }
  fields.AuthResult = 'failure';
  fields.Reason = problem;
  const n = /^(\d+) incorrect password attempts?$/.exec(problem);
  if (n) fields.FailedAttempts = Number(n[1]);
}

function su(fields: Fields, msg: string): void {
  const m = SU_TO.exec(msg);
  if (!m) return;
  if (m[4]) {
    fields.AuthResult = 'failure';
    fields.TargetUserName = m[5]!;
    fields.SubjectUserName = m[6]!;
    return;
  }
  fields.AuthResult = 'success';
  fields.TargetUserName = m[1]!;
  fields.SubjectUserName = m[2]!;
  fields.Tty = m[3]!;
}

function accounts(fields: Fields, msg: string): void {
  let m = NEW_USER.exec(msg);
  if (m) {
    fields.AccountAction = 'user_created';
    fields.TargetUserName = m[1]!;
    fields.TargetUid = m[2]!;
    fields.TargetGid = m[3]!;
    return;
  }
  if ((m = NEW_GROUP.exec(msg))) {
    fields.AccountAction = 'group_created';
    fields.GroupName = m[1]!;
    fields.TargetGid = m[2]!;
    return;
  }
  if ((m = ADD_TO_GROUP.exec(msg))) {
    fields.AccountAction = 'added_to_group';
    fields.TargetUserName = m[1]!;
    fields.GroupName = m[2]!;
    return;
  }
  if ((m = DELETE_USER.exec(msg))) {
    fields.AccountAction = 'user_deleted';
    fields.TargetUserName = m[1]!;
    return;
  }
  if ((m = PASSWORD_CHANGED.exec(msg))) {
    fields.AccountAction = 'password_changed';
    fields.TargetUserName = m[1]!;
  }
}

function logind(fields: Fields, msg: string): void {
  const m = LOGIND.exec(msg);
  if (m) {
    fields.SessionAction = 'opened';
    fields.LogonId = m[1]!;
    fields.TargetUserName = m[2]!;
    return;
  }
  const e = LOGIND_END.exec(msg);
  if (e) {
    fields.SessionAction = 'closed';
    fields.LogonId = e[1]!;
  }
}

/** IPv4 or IPv6 text (not a host name). */
export function looksLikeIp(s: string): boolean {
  return /^\d{1,3}(?:\.\d{1,3}){3}$/.test(s) || (s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s));
}
