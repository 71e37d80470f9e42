// Key files: one ed25519 key pair per JSON file, written with mode 0600 and refused on load when the
// group or others can read it (the way ssh treats private keys). The secret is stored as the 32-byte
// seed; the public key and address are stored too, so a file can be inspected and checked for damage.
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fromHex, toHex } from './bytes.js';
import { keyPairFromSeed, generateKeyPair, SEED_BYTES, type KeyPair } from './ed25519.js';
import { addressFromPublicKey, type Address } from './address.js';

export const KEYFILE_TYPE = 'smt-ed25519-key/v1';

export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

export interface KeyFileJson {
  type: typeof KEYFILE_TYPE;
  address: string; // hex, 20 bytes
  publicKey: string; // hex, 32 bytes
  seed: string; // hex, 32 bytes: the secret
}

export interface LoadedKey {
  keyPair: KeyPair;
  address: Address;
  path: string;
}

export function keyFileJson(kp: KeyPair): KeyFileJson {
  return {
    type: KEYFILE_TYPE,
    address: toHex(addressFromPublicKey(kp.publicKey)),
    publicKey: toHex(kp.publicKey),
    seed: toHex(kp.secretKey.subarray(0, SEED_BYTES)),
  };
}

/** Writes a key file with mode 0600; never overwrites (flag 'wx' fails if the file exists). */
export function writeKeyFile(path: string, kp: KeyPair): void {
  mkdirSync(dirname(path), { recursive: true });
  try {
    writeFileSync(path, JSON.stringify(keyFileJson(kp), null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileError(`refusing to overwrite existing key file ${path}`);
    throw new KeyFileError(`cannot write key file ${path}: ${(e as Error).message}`);
  }
}

/** Generates a fresh key pair and writes it to `path`. */
export function newKeyFile(path: string): LoadedKey {
  const keyPair = generateKeyPair();
  writeKeyFile(path, keyPair);
  return { keyPair, address: addressFromPublicKey(keyPair.publicKey), path };
}

/** Parses a key file's JSON, checking that seed, public key and address agree. Pure (no I/O). */
export function parseKeyFile(json: unknown, path = 'key file'): LoadedKey {
  const fail = (m: string): never => {
    throw new KeyFileError(`${path}: ${m}`);
  };
  if (typeof json !== 'object' || json === null) fail('not a JSON object');
  const j = json as Partial<KeyFileJson>;
  if (j.type !== KEYFILE_TYPE) fail(`not an smt key file (type must be "${KEYFILE_TYPE}")`);
  let seed: Uint8Array = new Uint8Array();
  try {
    seed = fromHex(String(j.seed), SEED_BYTES);
  } catch {
    fail(`seed must be ${SEED_BYTES} bytes of hex`);
  }
  const keyPair = keyPairFromSeed(seed);
  if (typeof j.publicKey !== 'string' || j.publicKey.toLowerCase() !== toHex(keyPair.publicKey)) fail('publicKey does not match the seed (damaged file?)');
  const address = addressFromPublicKey(keyPair.publicKey);
  if (typeof j.address !== 'string' || j.address.toLowerCase() !== toHex(address)) fail('address does not match the public key (damaged file?)');
  return { keyPair, address, path };
}

/** Loads a key file, refusing one that the group or others may read. */
export function loadKeyFile(path: string): LoadedKey {
  let mode: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new KeyFileError(`key file ${path} is a directory; give the path of a key file (e.g. ${path.replace(/\/+$/, '')}/0.key)`);
    mode = st.mode;
  } catch (e) {
    if (e instanceof KeyFileError) throw e;
    throw new KeyFileError(`cannot read key file ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new KeyFileError(`key file ${path} is accessible by group/others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run: chmod 600 ${path}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new KeyFileError(`key file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseKeyFile(json, path);
}
