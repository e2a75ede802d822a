// A server in the test's own process (real sockets, store and worker pool), for tests that
// must look inside it: a client's server-side buffer, the heap, the handle count.
import { WirecamNode as WirecamServer } from '../../src/node.js';
import { serveConfig } from '../../src/commands/serve.js';
import { createLogger } from '../../src/log.js';

const started = new Set<WirecamServer>();

/** `args` as for `wirecam serve`; port 0 and a silent log. */
export async function startInProcessServer(args: string[]): Promise<WirecamServer> {
  const server = await WirecamServer.start(serveConfig(['--port', '0', ...args], {}), createLogger('silent'));
  started.add(server);
  return server;
}

export async function stopInProcessServers(): Promise<void> {
  await Promise.all([...started].map((server) => server.stop()));
  started.clear();
}
