// One line of a producer program's output to one update. A line is either a JSON object
// (the fields of a camera_update or tile_update message) or key=value pairs:
//   camera=main x=1.5 y=2 zoom=1.25
//   type=tile_update x=1 y=2 brick=stone
// Validation is the one producers and store rows get (protocol/validate.ts).
import type { UpdateInput } from '../protocol/messages.js';
import { checkCamera, checkTile, type Checked, type RejectReason } from '../protocol/validate.js';

/**
 * Why a line of a program's output is not an update: the validation reasons of every update,
 * or the line's form. `line_too_long`: over MAX_LINE_CHARS (pty-command.ts); `incomplete_line`:
 * the output was cut off (the program was stopped) after the line's last newline, so the
 * characters after it are not known to be a whole line.
 */
export type LineRejectReason = RejectReason | 'not_an_update' | 'bad_json' | 'unknown_type' | 'line_too_long' | 'incomplete_line';

/**
 * What one line is: an update, checked like a producer's (protocol/validate.ts), ready to
 * queue; a blank line (nothing, not counted); or an invalid line, with its reason and a
 * short message for the log.
 */
export type ParsedLine =
  | { kind: 'update'; update: UpdateInput }
  | { kind: 'blank' }
  | { kind: 'invalid'; reason: LineRejectReason; message: string };

/** Fields whose key=value text is a number; every other field stays text. */
const NUMERIC_FIELDS: ReadonlySet<string> = new Set(['x', 'y', 'zoom', 'target_x', 'target_y', 'target_zoom', 'timestamp']);

/** key=value, the value bare or in double quotes (for a brick name with spaces). */
const PAIR = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/y;
const SPACE = /\s+/y;

/** Terminal control sequences (colours, cursor moves) a program may print on a terminal. */
// eslint-disable-next-line no-control-regex
const CONTROL_SEQUENCES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]/g;

/**
 * `line` without terminal control sequences (ECMA-48 CSI and OSC sequences, other ESC
 * sequences, C0 controls other than tab and newline, DEL), so that a coloured line parses
 * like a plain one.
 */
export function stripControlSequences(line: string): string {
  return line.replace(CONTROL_SEQUENCES, '');
}

function invalid(reason: LineRejectReason, message: string): ParsedLine {
  return { kind: 'invalid', reason, message };
}

/**
 * The pairs of a key=value line, or null when some text is not a pair (or there is none).
 * Keys are [A-Za-z_][A-Za-z0-9_]*; a value is bare (up to the next space) or a JSON string in
 * double quotes. x, y, zoom, target_x, target_y, target_zoom and timestamp become numbers
 * (NaN when not one, for the validation to refuse), every other value stays text; a later
 * key wins. A quoted value that is not a valid JSON string (an escape JSON does not know,
 * such as "\q") makes the line not a pair list: null. Never throws.
 */
export function parsePairs(line: string): Record<string, unknown> | null {
  const fields: Record<string, unknown> = {};
  let at = 0;
  while (at < line.length) {
    SPACE.lastIndex = at;
    if (SPACE.test(line)) at = SPACE.lastIndex;
    if (at >= line.length) break;
    PAIR.lastIndex = at;
    const match = PAIR.exec(line);
    if (match === null) return null;
    at = PAIR.lastIndex;
    const key = match[1]!;
    let text = match[2]!;
    if (text.startsWith('"')) {
      try {
        text = JSON.parse(text) as string;
      } catch {
        return null;
      }
    }
    fields[key] = NUMERIC_FIELDS.has(key) ? (text.trim() === '' ? Number.NaN : Number(text)) : text;
  }
  return Object.keys(fields).length === 0 ? null : fields;
}

function fromChecked<T>(checked: Checked<T>, wrap: (value: T) => UpdateInput): ParsedLine {
  return checked.ok ? { kind: 'update', update: wrap(checked.value) } : invalid(checked.reason, checked.message);
}

/**
 * One line of output (control sequences stripped, trimmed) to an update: a JSON object, or
 * key=value pairs; `type` defaults to camera_update. `now` (ms since the Unix epoch) is the
 * timestamp of an update that gives none. Invalid input gives `invalid`, never an exception.
 */
export function parseLine(raw: string, now: number): ParsedLine {
  const line = stripControlSequences(raw).trim();
  if (line === '') return { kind: 'blank' };
  let fields: Record<string, unknown> | null;
  if (line.startsWith('{')) {
    try {
      fields = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return invalid('bad_json', 'not valid JSON');
    }
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return invalid('bad_json', 'not a JSON object');
  } else {
    fields = parsePairs(line);
    if (fields === null) return invalid('not_an_update', 'neither a JSON object nor key=value pairs');
  }
  const type = fields.type ?? 'camera_update';
  if (type === 'camera_update') return fromChecked(checkCamera(fields, now), (value) => ({ kind: 'camera', value }));
  if (type === 'tile_update') return fromChecked(checkTile(fields, now), (value) => ({ kind: 'tile', value }));
  return invalid('unknown_type', `type must be camera_update or tile_update, got ${JSON.stringify(String(type).slice(0, 40))}`);
}
