import type { ShapeFn } from '../context.js';
import { broadcast, t } from './util.js';

export const STRING_OPS: Record<string, ShapeFn> = {
  StringNormalizer: (c) => {
    const s = c.shape(0);
    const stop = c.attr('stopwords');
    if (!s || !stop || (stop.type === 'strings' && stop.value.length === 0)) return [t('string', s)];
    return [t('string', s.length === 2 ? [s[0]!, c.fresh('n')] : [c.fresh('n')])];
  },
  StringConcat: (c) => [t('string', broadcast([c.shape(0), c.shape(1)]))],
  StringSplit: (c) => {
    const s = c.shape(0);
    return [t('string', s ? [...s, c.fresh('n')] : null), t('int64', s)];
  },
  RegexFullMatch: (c) => [t('bool', c.shape(0))],
  TfIdfVectorizer: (c) => {
    const s = c.shape(0);
    const idx = c.attrInts('ngram_indexes') ?? [];
    const n = idx.length ? Math.max(...idx) + 1 : 0;
    return [t('float32', s ? (s.length === 1 ? [n] : [s[0]!, n]) : null)];
  },
};
