import { z } from 'zod';
import type { ToolDefinition } from '../ports.ts';
import {
  completeGoal,
  createGoal,
  getGoal,
  listGoals,
  logGoalProgress,
  searchGoals,
  updateGoal,
} from './goal-tools.ts';
import {
  appendNote,
  createNote,
  listNotes,
  readNote,
  searchNotes,
  updateNote,
} from './note-tools.ts';
import {
  completeTask,
  createTask,
  getTask,
  listTasks,
  searchTasks,
  updateTask,
} from './task-tools.ts';
import type { Tool } from './tool.ts';

/** Every built-in tool, by name. */
export const builtinTools: readonly Tool[] = [
  listTasks,
  searchTasks,
  getTask,
  createTask,
  updateTask,
  completeTask,
  listNotes,
  searchNotes,
  readNote,
  createNote,
  appendNote,
  updateNote,
  listGoals,
  searchGoals,
  getGoal,
  createGoal,
  updateGoal,
  logGoalProgress,
  completeGoal,
] as Tool[];

export type ToolRegistry = ReadonlyMap<string, Tool>;

export function createToolRegistry(tools: readonly Tool[] = builtinTools): ToolRegistry {
  return new Map(tools.map((tool) => [tool.name, tool]));
}

/** JSON schemas by tool: converting zod to JSON schema costs more than a whole planning tick. */
const parametersCache = new WeakMap<Tool, Record<string, unknown>>();

/**
 * The tool as the model sees it: name, description and JSON schema of its params. The schema
 * is computed once per tool and shared between calls: treat it as read-only.
 */
export function toolDefinition(tool: Tool): ToolDefinition {
  let parameters = parametersCache.get(tool);
  if (!parameters) {
    const { $schema: _ignored, ...schema } = z.toJSONSchema(tool.params, {
      io: 'input',
    }) as Record<string, unknown>;
    parameters = schema;
    parametersCache.set(tool, parameters);
  }
  return {
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters },
  };
}
