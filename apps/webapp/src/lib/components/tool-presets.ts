import { builtinTools, type Tool } from '@baton/engine';

/** What a mission reads, as the form asks it: tasks (open, all or none), notes, goals. */
export interface ReadChoice {
  tasks: 'none' | 'open' | 'all';
  notes: boolean;
  goals: boolean;
}

/** The form's tool fields: which tools are allowed, and how each write tool acts. */
export interface ToolChoice {
  allowed: Record<string, boolean>;
  policy: Record<string, 'auto' | 'propose'>;
}

export interface ToolPreset {
  id: 'tasks' | 'notes' | 'everything';
  label: string;
  /** What the preset allows, in a sentence. */
  description: string;
  reads: ReadChoice;
  /** The tools it allows; write tools always ask first. */
  includes: (tool: Tool) => boolean;
}

/** Does the mission read the data this tool works on? */
function reads(choice: ReadChoice, tool: Tool): boolean {
  return tool.table === 'tasks' ? choice.tasks !== 'none' : choice[tool.table];
}

/**
 * A new mission's tools: the read tools for the data it reads, and no write tool. A person
 * adds what it may change, or picks a preset.
 */
export function readToolsFor(choice: ReadChoice): ToolChoice {
  return {
    allowed: Object.fromEntries(
      builtinTools.map((tool) => [tool.name, tool.kind === 'read' && reads(choice, tool)]),
    ),
    policy: Object.fromEntries(builtinTools.map((tool) => [tool.name, 'propose' as const])),
  };
}

export const toolPresets: readonly ToolPreset[] = [
  {
    id: 'tasks',
    label: 'Tasks only',
    description: 'reads your open tasks and proposes changes to tasks, asking you first',
    reads: { tasks: 'open', notes: false, goals: false },
    includes: (tool) => tool.table === 'tasks',
  },
  {
    id: 'notes',
    label: 'Notes only',
    description: 'reads your notes and proposes changes to notes, asking you first',
    reads: { tasks: 'none', notes: true, goals: false },
    includes: (tool) => tool.table === 'notes',
  },
  {
    id: 'everything',
    label: 'Everything, asking first',
    description: 'reads tasks, notes and goals, and may propose any change, asking you first',
    reads: { tasks: 'open', notes: true, goals: true },
    includes: () => true,
  },
];

/** The reads and tools a preset sets: its tools allowed, every write tool asking first. */
export function applyPreset(preset: ToolPreset): { reads: ReadChoice } & ToolChoice {
  return {
    reads: { ...preset.reads },
    allowed: Object.fromEntries(builtinTools.map((tool) => [tool.name, preset.includes(tool)])),
    policy: Object.fromEntries(builtinTools.map((tool) => [tool.name, 'propose' as const])),
  };
}

/** The preset the form's fields match now, if any (so its button shows as chosen). */
export function matchingPreset(
  current: { reads: ReadChoice } & ToolChoice,
): ToolPreset['id'] | null {
  const match = toolPresets.find((preset) => {
    const wanted = applyPreset(preset);
    return (
      wanted.reads.tasks === current.reads.tasks &&
      wanted.reads.notes === current.reads.notes &&
      wanted.reads.goals === current.reads.goals &&
      builtinTools.every(
        (tool) =>
          (current.allowed[tool.name] ?? false) === wanted.allowed[tool.name] &&
          (tool.kind === 'read' ||
            !wanted.allowed[tool.name] ||
            current.policy[tool.name] === 'propose'),
      )
    );
  });
  return match?.id ?? null;
}
