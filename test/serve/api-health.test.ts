/**
 * Health and metrics report the event store's own trouble: restarts of its process, field names
 * it could not catalogue, and a store that does not answer (health still answers, saying so).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loggedIn, startTestApi, type Api, type Client } from './api-helpers.js';

describe('api health: the event store', { timeout: 120_000 }, () => {
  let api: Api;
  let reader: Client;
  before(async () => {
    api = await startTestApi();
    reader = await loggedIn(api, 'watcher', 'read-only');
  });
  after(async () => {
    await api.close();
  });

  it('reports restarts, catalogued and dropped field names in /api/health and /metrics', async () => {
    api.store.usageOverride = { restarts: 2, fieldNames: 4096, fieldNamesDropped: 7 };
    const h = await reader.get('/api/health');
    assert.equal(h.status, 200);
    assert.equal(h.json.storage.eventStoreRestarts, 2);
    assert.equal(h.json.storage.fieldNames, 4096);
    assert.equal(h.json.storage.fieldNamesDropped, 7);
    assert.equal(h.json.storage.eventStoreError, null);
    const m = await reader.get('/metrics');
    assert.equal(m.status, 200);
    assert.match(m.text, /^firebreak_event_store_restarts_total 2$/m);
    assert.match(m.text, /^firebreak_event_store_field_names_dropped_total 7$/m);
    assert.match(m.text, /^firebreak_event_store_up 1$/m);
  });

  it('a store that does not answer: health says why, metrics say it is down', async () => {
    api.store.usageOverride = new Error('the event store gave up after 5 crashes');
    const h = await reader.get('/api/health');
    assert.equal(h.status, 200);
    assert.equal(h.json.storage.eventStoreError, 'the event store gave up after 5 crashes');
    assert.equal(h.json.storage.events, 0);
    assert.ok(h.json.storage.stateBytes > 0, 'the state database is still measured');
    const m = await reader.get('/metrics');
    assert.match(m.text, /^firebreak_event_store_up 0$/m);
    assert.ok(api.logs.some((l) => l.includes('event store usage failed')));
  });
});
