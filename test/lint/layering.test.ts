// The layering of docs/architecture.md is a lint rule, not a hope: a module that reaches into another module's
// store or routes, or a command line that imports routes, fails `npm run lint`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: process.cwd() });

async function restricted(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layering lint rule', () => {
  test("a module importing another module's store fails the lint", async () => {
    const messages = await restricted("import * as store from '../recharge/store.js';\nexport const n = store.overdue.length;\n", 'src/gateway/service.ts');
    assert.equal(messages.length, 1);
    assert.match(messages[0] ?? '', /never another module's store or routes/);
  });

  test("a module importing another module's routes fails, and so does the command line", async () => {
    assert.equal((await restricted("import { usersRoutes } from '../users/routes.js';\nexport const r = usersRoutes;\n", 'src/ledger/service.ts')).length, 1);
    assert.equal((await restricted("import { usersRoutes } from './users/routes.js';\nexport const r = usersRoutes;\n", 'src/main.ts')).length, 1);
  });

  test('its own store, another module’s service and the command registry are fine', async () => {
    const code = "import * as store from './store.js';\nimport type { UsersService } from '../users/service.js';\nimport type { CommandPipeline } from '../commands/pipeline.js';\nexport type T = [typeof store, UsersService, CommandPipeline];\n";
    assert.deepEqual(await restricted(code, 'src/gateway/service.ts'), []);
    assert.deepEqual(await restricted("import { usersRoutes } from './users/routes.js';\nexport const r = usersRoutes;\n", 'src/server.ts'), [], 'server.ts assembles the routes');
  });
});
