'use client';

import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';
import { useStores } from '@/stores/StoreProvider';
import { LiveClient } from './LiveClient';

const LiveClientContext = createContext<LiveClient | null>(null);

/**
 * The tab's one gateway connection (socket, REST with the tab's token, frames), feeding the stores
 * of the StoreProvider above it. Components reach the gateway through useLiveClient only.
 */
export function LiveClientProvider({ children }: { children: ReactNode }) {
  const { session, runs, commands, facilities, control } = useStores();
  const [live] = useState(() => new LiveClient(session, runs, commands, facilities, control));
  useEffect(() => {
    live.start();
    return () => live.stop();
  }, [live]);
  return <LiveClientContext.Provider value={live}>{children}</LiveClientContext.Provider>;
}

export function useLiveClient(): LiveClient {
  const live = useContext(LiveClientContext);
  if (!live) throw new Error('LiveClientProvider is missing above this component');
  return live;
}
