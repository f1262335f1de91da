/** Revision notices (src/serve/cluster/watch.ts): ours are read, anything else anyone may NOTIFY is refused with a reason. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LIMITS } from '../../../src/core/limits.js';
import { readRevisionNotice } from '../../../src/serve/cluster/watch.js';

describe('cluster: revision notices', () => {
  it('reads the revision of a notice as nodes send it', () => {
    assert.equal(readRevisionNotice('{"v":1,"revision":42,"node":"api-1"}'), 42);
    assert.equal(readRevisionNotice('{"v":1,"revision":1}'), 1);
  });

  it('refuses what is not one, saying why', () => {
    for (const [payload, why] of [
      [undefined, /payload of 0/],
      ['', /not JSON/],
      ['not json', /not JSON/],
      ['null', /version 1/],
      ['[1,2]', /version 1/],
      ['{"v":2,"revision":3}', /version 1/],
      ['{"v":1}', /no revision/],
      ['{"v":1,"revision":"3"}', /no revision/],
      ['{"v":1,"revision":0}', /no revision/],
      ['{"v":1,"revision":-5}', /no revision/],
      ['{"v":1,"revision":1.5}', /no revision/],
      ['{"v":1,"revision":1e300}', /no revision/],
      [`{"v":1,"revision":3,"pad":"${'x'.repeat(LIMITS.cluster.revisionNoticeBytes)}"}`, /payload of/],
    ] as const) {
      const r = readRevisionNotice(payload);
      assert.equal(typeof r, 'string', String(payload));
      assert.match(r as string, why);
    }
  });
});
