/**
 * The scripted model server in a process of its own (`src/testing/model-server-cli.ts`), so its
 * work is not charged to the relay being measured, as with a real model elsewhere.
 */
import { spawn } from 'node:child_process';
import { relayPackageDir } from '../src/testing/relay-process.ts';

export async function startModelProcess(options: {
  delayMs: number;
}): Promise<{ url: string; close(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/testing/model-server-cli.ts'], {
    cwd: relayPackageDir,
    env: { ...process.env, PORT: '0', MODEL_DELAY_MS: String(options.delayMs) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (data: Buffer) => {
      output += String(data);
      const match = /listening at (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    void exited.then(() => reject(new Error(`the model server exited:\n${output}`)));
  });
  return {
    url,
    async close() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
