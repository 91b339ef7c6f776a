import { writeFileSync } from 'node:fs';
import prettier from 'prettier';
import { computeSkips, SKIPS_FILE } from './skips.js';

const s = computeSkips();
writeFileSync(SKIPS_FILE, await prettier.format(JSON.stringify(s), { parser: 'json', printWidth: 120 }));
console.log(s.categories.map((c) => `${c.id}: ${c.cases.length}`).join('\n'));
