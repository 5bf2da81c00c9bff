import { describe, expect, it } from 'vitest';
import { CaptureCommand } from './commands';
import { ControlSend, ControlSendReply, ControlState, MAX_CONTROL_HISTORY } from './control';
import { CommandSendReply } from './steering';

const state = {
  run: 'demo',
  holder: { subject: 'ada', role: 'scientist', since: 1 },
  request: { subject: 'kai', role: 'scientist', at: 2, expiresAt: 62_002 },
  history: [
    {
      at: 1,
      event: 'claimed',
      by: { subject: 'ada', role: 'scientist' },
      to: { subject: 'ada', role: 'scientist' },
    },
  ],
};

describe('control messages', () => {
  it('accepts one valid example of each', () => {
    expect(ControlSend.safeParse({ run: 'demo', action: 'grant' }).success).toBe(true);
    expect(ControlState.safeParse(state).success).toBe(true);
    expect(ControlSendReply.safeParse({ ok: true, state }).success).toBe(true);
    expect(
      ControlSendReply.safeParse({ ok: false, code: 'not_holder', error: 'only the holder' })
        .success,
    ).toBe(true);
    expect(
      CommandSendReply.safeParse({ ok: false, status: 409, code: 'not_in_control', error: 'x' })
        .success,
    ).toBe(true);
    expect(
      CaptureCommand.safeParse({
        id: 'c',
        run: 'demo',
        kind: 'capture',
        preCount: 100,
        durationS: 5,
      }).success,
    ).toBe(true);
  });

  it('refuses unknown actions, extra fields, a token smuggled in, long histories and bad captures', () => {
    expect(ControlSend.safeParse({ run: 'demo', action: 'steal' }).success).toBe(false);
    expect(ControlSend.safeParse({ run: 'demo', action: 'take', token: 'x' }).success).toBe(false);
    expect(ControlSend.safeParse({ run: '../etc', action: 'request' }).success).toBe(false);
    expect(
      ControlState.safeParse({
        ...state,
        history: Array(MAX_CONTROL_HISTORY + 1).fill(state.history[0]),
      }).success,
    ).toBe(false);
    expect(
      ControlState.safeParse({ ...state, holder: { subject: 'ada', role: 'scientist' } }).success,
    ).toBe(false);
    expect(ControlSendReply.safeParse({ ok: false, code: 'because', error: 'x' }).success).toBe(
      false,
    );
    for (const bad of [
      { preCount: -1 },
      { preCount: 1.5 },
      { durationS: 601 },
      { durationS: Number.NaN },
    ])
      expect(
        CaptureCommand.safeParse({ id: 'c', run: 'demo', kind: 'capture', ...bad }).success,
      ).toBe(false);
  });
});
