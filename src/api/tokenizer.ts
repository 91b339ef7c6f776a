/** Text in and out of token ids, with Hugging Face's tokenizers.js reading a model's tokenizer.json. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { FleetcError } from '../diagnostics/index.js';

export interface TextTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
}

function readJson(file: string, what: string): object {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as object;
  } catch (e) {
    throw new FleetcError('E0101', `cannot read the ${what}: ${(e as Error).message}`, { file });
  }
}

/** A tokenizer.json (and the tokenizer_config.json beside it, when there is one). */
export function loadTokenizer(file: string): TextTokenizer {
  const json = readJson(file, 'tokenizer');
  let config: object = {};
  try {
    config = JSON.parse(readFileSync(join(dirname(file), 'tokenizer_config.json'), 'utf8')) as object;
  } catch {
    // optional
  }
  let t: Tokenizer;
  try {
    t = new Tokenizer(json, config);
  } catch (e) {
    throw new FleetcError('E0102', `not a tokenizer this version understands: ${(e as Error).message}`, { file });
  }
  return {
    encode: (text) => t.encode(text).ids,
    decode: (ids) => t.decode(ids),
  };
}
