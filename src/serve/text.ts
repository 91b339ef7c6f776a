/**
 * Text for streamed tokens. A token may end in the middle of a character (byte-level BPE), so each
 * token's text is the difference between decoding the ids so far and decoding them without the
 * new ones, held back while the tail is an incomplete character (U+FFFD) and sent with the token
 * that completes it. Only a short window of ids is decoded each time.
 */
import type { TextTokenizer } from '../api/tokenizer.js';

const WINDOW = 6;

/** Text of ids ('' for none: tokenizers.js refuses an empty list). */
export function decodeIds(tok: TextTokenizer, ids: number[]): string {
  return ids.length ? tok.decode(ids) : '';
}

export class StreamDecoder {
  private readonly ids: number[] = [];
  /** Ids before `prefix` are settled; text of ids[prefix..read] has been sent. */
  private prefix = 0;
  private read = 0;

  constructor(private readonly tok: TextTokenizer) {}

  /** The text this token adds ('' while a character is incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const before = decodeIds(this.tok, this.ids.slice(this.prefix, this.read));
    const now = decodeIds(this.tok, this.ids.slice(this.prefix));
    if (now.length <= before.length || now.endsWith('\uFFFD')) return '';
    const delta = now.slice(before.length);
    this.read = this.ids.length;
    this.prefix = Math.max(this.prefix, this.read - WINDOW);
    return delta;
  }
}
