// libp2p's debug logging is off unless DEBUG asks for it (src/gossip/libp2p-logger.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { libp2pLogger, quietComponentLogger } from '../src/gossip/libp2p-logger.js';

test('without DEBUG libp2p gets one shared no-op logger (disabled, scopes included); with DEBUG its own default', () => {
  const c = libp2pLogger({});
  assert.equal(c, quietComponentLogger);
  const a = c!.forComponent('libp2p:tcp');
  const b = c!.forComponent('libp2p:yamux').newScope('stream');
  assert.equal(a, b, 'no logger is built per component or stream');
  assert.equal(a.enabled, false);
  assert.equal(a('x %s', 1), undefined);
  a.error('e');
  a.trace('t');
  assert.equal(libp2pLogger({ DEBUG: 'libp2p:*' }), undefined);
});
