import { EngineError, type Engine } from '@baton/engine';
import type { ApiCall } from './api-call.ts';
import { safely } from './api-call.ts';
import type { EngineApi } from './engine-api.ts';
import type { HostSettings } from './host-settings.ts';

/**
 * Settings → Your data: the export file of every synced row, and its import, merged as if
 * pulled and pushed as it changed rows here (docs/decisions/0010).
 */
export function createDataApi(context: {
  engine: Engine;
  settings: HostSettings;
  call: ApiCall;
}): Pick<EngineApi, 'exportData' | 'importData'> {
  const { engine, settings, call } = context;
  return {
    exportData: () => safely(() => engine.exportData({ user: settings.user })),
    importData: (input) =>
      call('importData', input, async ({ text }) => {
        let file: unknown;
        try {
          file = JSON.parse(text);
        } catch (error) {
          throw new EngineError(
            'invalid',
            `This file is not JSON (${(error as Error).message}); choose a file that Export data saved.`,
          );
        }
        return engine.importData(file);
      }),
  };
}
