/** The built-in rule set: gitleaks' reference rules plus Firebreak's validated detectors. */
import { GITLEAKS_DEFAULT_TOML } from '../data/gitleaks-default.js';
import { loadGitleaksToml, type LoadedConfig } from './gitleaks-config.js';
import { paymentCard } from '../detectors/payment-card.js';
import { iban } from '../detectors/iban.js';
import { usItin, usSsn } from '../detectors/us-ssn.js';
import { caSin, ukNino } from '../detectors/national-ids.js';
import { abaRouting, swiftBic } from '../detectors/banking.js';
import { emailAddresses, phoneNumbers } from '../detectors/contacts.js';
import type { ValidatedDetector } from '../detectors/validated.js';

let cached: LoadedConfig | null = null;

/** gitleaks' default configuration, compiled once per process. */
export function defaultGitleaksConfig(): LoadedConfig {
  cached ??= loadGitleaksToml(GITLEAKS_DEFAULT_TOML, 'built-in gitleaks rules');
  return cached;
}

/** The validated (non-regex) detectors, in reporting order. */
export const VALIDATED_DETECTORS: ValidatedDetector[] = [paymentCard, iban, usSsn, usItin, ukNino, caSin, abaRouting, swiftBic, emailAddresses, phoneNumbers];
