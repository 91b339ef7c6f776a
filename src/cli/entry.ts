// Runs the CLI from source (development and tests): `npx tsx src/cli/entry.ts inspect model.onnx`.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
