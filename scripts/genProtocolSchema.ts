/**
 * Writes lib/protocol/protocol.schema.json, the protocol as one JSON Schema document for SDKs in
 * other languages, and records its fingerprint per PROTOCOL_VERSION in
 * lib/protocol/protocol.fingerprints.json; the Python SDK gets a copy as package data. A change to the protocol under a version already recorded
 * is refused: bump PROTOCOL_VERSION first. `--check` fails when the committed document is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { buildSchemaDocument, protocolFingerprint } from '../lib/protocol/schemaDocument';

const dir = fileURLToPath(new URL('../lib/protocol/', import.meta.url));
export const SCHEMA_FILE = `${dir}protocol.schema.json`;
/** The Python SDK ships the same document as package data. */
export const PYTHON_SCHEMA_FILE = fileURLToPath(
  new URL('../consumers/python/loupe_producer/protocol.schema.json', import.meta.url),
);
export const FINGERPRINT_FILE = `${dir}protocol.fingerprints.json`;

export type Fingerprints = Record<string, string>;

async function formatJson(value: unknown, file: string): Promise<string> {
  const options = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(JSON.stringify(value), { ...options, parser: 'json', filepath: file });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  const document = buildSchemaDocument();
  const version = String(document['x-loupe-version']);
  const fingerprint = await protocolFingerprint(document);
  const recorded = JSON.parse(readFileSync(FINGERPRINT_FILE, 'utf8')) as Fingerprints;
  if (recorded[version] !== undefined && recorded[version] !== fingerprint) {
    console.error(
      `The protocol changed since version ${version} was recorded: bump PROTOCOL_VERSION in ` +
        'lib/protocol/version.ts (and the Python SDK), then run npm run gen:protocol.',
    );
    process.exit(1);
  }
  const text = await formatJson(document, SCHEMA_FILE);
  const fingerprints = await formatJson({ ...recorded, [version]: fingerprint }, FINGERPRINT_FILE);
  if (!check) {
    writeFileSync(SCHEMA_FILE, text);
    writeFileSync(PYTHON_SCHEMA_FILE, text);
    writeFileSync(FINGERPRINT_FILE, fingerprints);
  } else {
    const stale = [SCHEMA_FILE, PYTHON_SCHEMA_FILE].filter(
      (file) => recorded[version] === undefined || readFileSync(file, 'utf8') !== text,
    );
    for (const file of stale)
      console.error(`${file} is not what lib/protocol generates: run npm run gen:protocol`);
    if (stale.length > 0) process.exit(1);
  }
}
