import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import * as protocol from './index';
import { PROTOCOL_EXAMPLES } from './examples';
import { buildSchemaDocument, protocolFingerprint } from './schemaDocument';

const dir = new URL('./', import.meta.url);
const committed = JSON.parse(readFileSync(new URL('protocol.schema.json', dir), 'utf8')) as Record<
  string,
  unknown
>;
const fingerprints = JSON.parse(
  readFileSync(new URL('protocol.fingerprints.json', dir), 'utf8'),
) as Record<string, string>;
const document = buildSchemaDocument();

describe('the protocol JSON Schema document', () => {
  it('is what lib/protocol generates (run npm run gen:protocol after a change)', () => {
    expect(committed).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it('records one fingerprint per version: a changed protocol needs a new PROTOCOL_VERSION', async () => {
    expect(fingerprints[String(protocol.PROTOCOL_VERSION)]).toBe(
      await protocolFingerprint(document),
    );
    // A changed schema under the same version would get another fingerprint and fail above.
    const drifted = structuredClone(document);
    (drifted.$defs.RunId as { pattern: string }).pattern = '^.*$';
    expect(await protocolFingerprint(drifted)).not.toBe(await protocolFingerprint(document));
  });

  it('names a schema of $defs for every event payload and reply', () => {
    for (const events of Object.values(document['x-loupe-events'])) {
      for (const entry of Object.values(events)) {
        for (const { $ref } of [entry.payload, ...(entry.reply ? [entry.reply] : [])]) {
          expect(document.$defs).toHaveProperty($ref.replace('#/$defs/', ''));
        }
      }
    }
    expect(Object.keys(document['x-loupe-events'].producerToGateway ?? {})).toContain('frame');
  });

  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(committed, 'loupe');
  for (const [name, examples] of Object.entries(PROTOCOL_EXAMPLES)) {
    const schema = (protocol as unknown as Record<string, z.ZodType>)[name]!;
    const validate = ajv.getSchema(`loupe#/$defs/${name}`)!;
    it(`${name}: zod and the JSON Schema agree on every example`, () => {
      for (const value of examples.valid) {
        expect(schema.safeParse(value).success).toBe(true);
        expect(validate(JSON.parse(JSON.stringify(value))), JSON.stringify(validate.errors)).toBe(
          true,
        );
      }
      for (const { why, value } of examples.invalid) {
        expect(schema.safeParse(value).success, why).toBe(false);
        expect(validate(JSON.parse(JSON.stringify(value))), why).toBe(false);
      }
    });
  }
});
