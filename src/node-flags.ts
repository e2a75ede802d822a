// The V8 flags the service runs with. Every launcher passes them: the `wirecam` command's
// shebang (src/cli.ts), `npm start`, the systemd unit, the primary of --workers for its fanout
// processes, and the benchmarks; test/unit/node-flags.test.ts holds the launchers to this list.

/**
 * `--max-semi-space-size=1` (MiB per semi-space of V8's young generation): by default the
 * young generation grows to 2 × 16 MiB under a burst of allocation (1,000 WebSocket
 * handshakes, a map catch-up) and keeps those pages resident afterwards. Capped, an idle
 * process with 1,000 clients holds 12–14 MiB less (bench scenario `idle`); the scavenges it
 * adds stay cheap because the hot path allocates nothing per client (bench scenario `seed`
 * shows no difference in CPU per message or p99 beyond run-to-run noise).
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * `execArgv` (a process's Node options, e.g. `process.execArgv`) with each of
 * SERVICE_NODE_FLAGS it does not already set, by flag name: an operator's own
 * `--max-semi-space-size=N` wins.
 */
export function withServiceFlags(execArgv: readonly string[]): string[] {
  const nameOf = (flag: string) => flag.split('=')[0]!;
  const present = new Set(execArgv.map(nameOf));
  return [...execArgv, ...SERVICE_NODE_FLAGS.filter((flag) => !present.has(nameOf(flag)))];
}
