import { floorDiv, type Dim } from '../../../src/ir/sym.js';
import type { ShapeFn } from '../context.js';
import { t } from './util.js';

function rnn(gates: number, lstm: boolean): ShapeFn {
  return (c) => {
    const x = c.shape(0);
    const w = c.shape(1);
    const dirs = c.attrStr('direction', 'forward') === 'bidirectional' ? 2 : 1;
    const hidden: Dim = c.attrInt('hidden_size') ?? (w ? floorDiv(w[1]!, gates) : c.fresh('hidden'));
    const layout = c.attrInt('layout', 0);
    const dt = c.dtype(0);
    if (!x) return lstm ? [t(dt, null), t(dt, null), t(dt, null)] : [t(dt, null), t(dt, null)];
    const [seq, batch] = layout === 0 ? [x[0]!, x[1]!] : [x[1]!, x[0]!];
    const y = layout === 0 ? [seq, dirs, batch, hidden] : [batch, seq, dirs, hidden];
    const h = layout === 0 ? [dirs, batch, hidden] : [batch, dirs, hidden];
    const out = [t(dt, y), t(dt, h)];
    if (lstm) out.push(t(dt, h.slice()));
    return out;
  };
}

export const RNN_OPS: Record<string, ShapeFn> = {
  RNN: rnn(1, false),
  GRU: rnn(3, false),
  LSTM: rnn(4, true),
};
