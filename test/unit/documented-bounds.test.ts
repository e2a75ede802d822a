// The per-connection bounds of src/server/session.ts are the ones docs/protocol.md section 7 and
// the README state: the close grace (and the 1006 a client that does not read within it sees),
// and each message type's budget.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CLOSE_GRACE_MS, HEARTBEATS_PER_SECOND, MESSAGE_BURST, SUBSCRIBES_PER_SECOND, heartbeatRate } from '../../src/server/session.js';
import { MAX_CAMERAS_PER_SUBSCRIPTION } from '../../src/protocol/messages.js';

const protocol = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
/** Section 7 of docs/protocol.md, up to section 8. */
const section7 = protocol.slice(protocol.indexOf('## 7. '), protocol.indexOf('## 8. '));

describe('documented per-connection bounds', () => {
  it('state the close grace and what a client that does not read within it sees', () => {
    const grace = `${CLOSE_GRACE_MS / 1000} s`;
    expect(section7).toContain(`**${grace}** to read the Close frame`);
    expect(section7).toMatch(/sees 1006, not 4000/);
    expect(readme).toContain(`| a client the server closes, to read the Close | ${grace}`);
  });

  it('state the budgets of subscribe and heartbeat messages', () => {
    expect(section7).toContain(`\`subscribe\`, ${SUBSCRIBES_PER_SECOND} per second (${MESSAGE_BURST} at once)`);
    expect(section7).toContain(`\`heartbeat\`, ${HEARTBEATS_PER_SECOND} per second`);
    expect(readme).toContain(`| \`subscribe\` messages | ${SUBSCRIBES_PER_SECOND}/s per connection, ${MESSAGE_BURST} at once |`);
    expect(readme).toContain(`| \`heartbeat\` messages | ${HEARTBEATS_PER_SECOND}/s per connection`);
  });

  it('give heartbeats two per server heartbeat when those come faster than the floor', () => {
    expect(heartbeatRate(10_000)).toBe(HEARTBEATS_PER_SECOND);
    expect(heartbeatRate(1_000)).toBe(Math.max(HEARTBEATS_PER_SECOND, 2));
    expect(heartbeatRate(100)).toBe(20);
  });

  it('state the camera bound shared by the query and subscribe', () => {
    expect(protocol).toContain(`at most ${MAX_CAMERAS_PER_SUBSCRIPTION}, as in \`subscribe\``);
    expect(readme).toContain(`| camera ids in one subscription (\`camera=\` or \`subscribe\`) | ${MAX_CAMERAS_PER_SUBSCRIPTION} |`);
  });
});
