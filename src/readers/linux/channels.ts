/**
 * The Channel names Linux readers give their events. data/logsources.yml maps them to Sigma
 * services and categories (docs/linux.md lists what each source enables).
 */
export const CHANNELS = {
  /** One raw audit record (audit.log, Auditbeat, LAUREL, the journal's audit transport). */
  auditd: 'linux/auditd',
  /** A process start joined from the records of one audit event (derived, not logged as such). */
  auditdProcess: 'linux/auditd/process_creation',
  /** Sysmon for Linux writes its own Channel name into every event. */
  sysmon: 'Linux-Sysmon/Operational',
} as const;

/** The value of the `Derived` field on events Firebreak built from several records. */
export const DERIVED_AUDITD = 'auditd';
