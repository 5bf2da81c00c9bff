/**
 * Seeded generator of malformed engine.io / socket.io frames for the fuzz scenario (11): random
 * bytes and text, and hand-crafted packets after Socket.IO's CVE history — bad JSON, event names
 * that are arrays or objects or reserved names, attachment placeholders with no attachment,
 * absurd attachment counts, deep nesting, prototype keys, huge ack ids, unknown packet types.
 */

export type FuzzFrame = { kind: string; data: string | Buffer };

const pick = <T>(random: () => number, xs: readonly T[]): T =>
  xs[Math.floor(random() * xs.length)]!;
const int = (random: () => number, max: number) => Math.floor(random() * max);

function randomText(random: () => number, max: number): string {
  const n = int(random, max);
  let s = '';
  // Mostly the characters packets are made of, sometimes any code unit (lone surrogates included).
  const alphabet = '0123456789[]{}",:-/_ abcdefnrtu\\';
  for (let i = 0; i < n; i++)
    s +=
      random() < 0.85
        ? alphabet[int(random, alphabet.length)]
        : String.fromCharCode(int(random, 0x10000));
  return s;
}

function randomBytes(random: () => number, max: number): Buffer {
  const b = Buffer.alloc(int(random, max) + 1);
  for (let i = 0; i < b.length; i++) b[i] = int(random, 256);
  return b;
}

const EVENT_NAMES = [
  '"frame"',
  '"run:subscribe"',
  '"run:register"',
  '"command:send"',
  '"disconnect"',
  '"connect"',
  '"error"',
  '"newListener"',
  '"__proto__"',
  '"constructor"',
  '"toString"',
  '["frame"]',
  '{"0":"frame"}',
  'null',
  'true',
  '1e309',
  '-1',
  '""',
  '"' + 'x'.repeat(5000) + '"',
];

const ARGS = [
  '{}',
  'null',
  '{"run":"run-1"}',
  '{"run":{"$gt":""}}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"_placeholder":true,"num":0}',
  '{"_placeholder":true,"num":99999}',
  '{"_placeholder":true,"num":-1}',
  '{"_placeholder":"yes","num":"0"}',
  '{"run":"run-1","stream":"xy","seq":0,"dtype":"uint16","shape":[4096,4096],"voxelSize":[1,1,1],"acquiredAt":0,"reconstructedAt":0,"publishedAt":0}',
  '{"run":"run-1","stream":"xy","seq":-1,"dtype":"float64","shape":[1e9,1e9],"voxelSize":[0,0,0],"acquiredAt":-1,"reconstructedAt":"x","publishedAt":null}',
  '"' + 'y'.repeat(2000) + '"',
  '[' + '['.repeat(3000) + ']'.repeat(3000) + ']',
  '{"a":' + '{"a":'.repeat(2000) + '1' + '}'.repeat(2000) + '}',
  '1e400',
  '"\\ud800"',
];

/** A socket.io packet (engine.io message '4' prefix included) built from hand-picked parts. */
function crafted(random: () => number, ns: string): FuzzFrame {
  const nsp =
    random() < 0.8
      ? `${ns},`
      : pick(random, ['', '/,', '/admin,', '/producer,', '/viewer,', '/' + 'n'.repeat(300) + ',']);
  const id =
    random() < 0.3 ? pick(random, ['1', '0', '99999999999999999999', '-1', '1.5', '1e3']) : '';
  const args = Array.from({ length: int(random, 4) }, () => pick(random, ARGS));
  const event = pick(random, EVENT_NAMES);
  const body =
    random() < 0.9
      ? `[${[event, ...args].join(',')}]`
      : pick(random, ['[', '[]', '{}', '"x"', '[,]', '[1,]', 'nul']);
  const form = int(random, 10);
  switch (form) {
    case 0:
      // BINARY_EVENT announcing attachments that never come, or absurdly many.
      return {
        kind: 'attachments',
        data: `45${pick(random, ['1', '2', '99', '4294967296', '9'.repeat(30), '-1', 'a'])}-${nsp}${id}${body}`,
      };
    case 1:
      return {
        kind: 'binary-ack',
        data: `46${pick(random, ['1', '1000000'])}-${nsp}${id || '1'}${body}`,
      };
    case 2:
      return { kind: 'ack', data: `43${nsp}${id || pick(random, ['1', '7'])}${body}` };
    case 3:
      return {
        kind: 'connect',
        data: `40${nsp}${pick(random, ['', '{}', '[]', '"token"', '{"token":' + '1'.repeat(400) + '}', '{"protocolVersion":"1"}'])}`,
      };
    case 4:
      return { kind: 'connect-error', data: `44${nsp}${pick(random, ['"x"', '{}', 'null'])}` };
    case 5:
      return { kind: 'disconnect', data: `41${nsp}${pick(random, ['', '{}', '1'])}` };
    case 6:
      return {
        kind: 'packet-type',
        data: `4${pick(random, ['7', '8', '9', 'a', ' ', ''])}${nsp}${body}`,
      };
    default:
      return { kind: 'event', data: `42${nsp}${id}${body}` };
  }
}

/** An engine.io-level oddity: unknown types, upgrade/noop out of place, pings in the wrong direction. */
function engineLevel(random: () => number): FuzzFrame {
  return {
    kind: 'engine',
    data: pick(random, [
      '',
      '7',
      '9x',
      '0',
      '0{}',
      '1',
      '2',
      '3',
      '5',
      '6',
      '2probe',
      '3probe',
      'b' + randomText(random, 40),
      '4',
      '\u0000',
      '4\u0000',
    ]),
  };
}

/** One malformed frame for a connection to namespace `ns`, reproducible from `random`. */
export function malformedFrame(random: () => number, ns: string): FuzzFrame {
  const r = random();
  if (r < 0.15) return { kind: 'random-text', data: randomText(random, 200) };
  if (r < 0.3) return { kind: 'random-binary', data: randomBytes(random, 512) };
  if (r < 0.38)
    return {
      kind: 'prefixed-text',
      data: '4' + pick(random, ['2', '5', '0']) + randomText(random, 120),
    };
  if (r < 0.45) return engineLevel(random);
  return crafted(random, ns);
}
