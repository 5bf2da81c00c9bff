import type { CommandRecord } from '@/lib/protocol';
import { createStore } from 'zustand/vanilla';

export interface CommandsState {
  /** Commands by id, newest state as the gateway reported it. */
  commands: Record<string, CommandRecord>;
  upsert(command: CommandRecord): void;
  replaceRun(run: string, commands: CommandRecord[]): void;
}

export function createCommandsStore() {
  return createStore<CommandsState>()((set) => ({
    commands: {},
    upsert: (command) =>
      set((s) => {
        const known = s.commands[command.id];
        // States arrive over REST and the socket; never let an older one overwrite a newer.
        if (known && known.updatedAt > command.updatedAt) return s;
        return { commands: { ...s.commands, [command.id]: command } };
      }),
    replaceRun: (run, commands) =>
      set((s) => ({
        commands: {
          ...Object.fromEntries(Object.entries(s.commands).filter(([, c]) => c.run !== run)),
          ...Object.fromEntries(commands.map((c) => [c.id, c])),
        },
      })),
  }));
}
export type CommandsStore = ReturnType<typeof createCommandsStore>;
