/**
 * Socket.IO room names of the viewer namespace, in one place: every viewer following a run is in
 * its run room, and run-scoped control events (frames' summaries, command and control states) go
 * to that room. Through a cluster's adapter the same names reach every gateway.
 */
const RUN_ROOM_PREFIX = 'run:';

/** The room of the viewers following `run`. */
export function runRoom(run: string): string {
  return `${RUN_ROOM_PREFIX}${run}`;
}

/** The run a room belongs to, or null for a room that is no run's (a socket's own room). */
export function runOfRoom(room: string): string | null {
  return room.startsWith(RUN_ROOM_PREFIX) ? room.slice(RUN_ROOM_PREFIX.length) : null;
}
