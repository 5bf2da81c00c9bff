import { describe, expect, it } from 'vitest';
import { runOfRoom, runRoom } from './rooms';

describe('viewer rooms', () => {
  it('names a run room and reads the run back', () => {
    expect(runRoom('demo')).toBe('run:demo');
    expect(runOfRoom(runRoom('e2e-run:1'))).toBe('e2e-run:1');
  });
  it('reads no run from a socket id room', () => {
    expect(runOfRoom('Xk2pQ8aB3cD4eF5gAAAB')).toBeNull();
  });
});
