import { describe, expect, it } from 'vitest';
import { CommandAnswer } from '@/lib/protocol';
import { readAnswer, readRefusal } from './readAnswer';

const command = {
  id: 'c1',
  run: 'run-1',
  kind: 'pause',
  state: 'delivered',
  payload: {},
  subject: 'ada',
  role: 'scientist',
  createdAt: 1,
  updatedAt: 2,
};

const answer = (body: string, status: number, statusText = '') =>
  new Response(body, { status, statusText, headers: { 'content-type': 'application/json' } });

describe('readAnswer', () => {
  it('gives the data of a 2xx answer that is what the route declares', async () => {
    const read = await readAnswer(answer(JSON.stringify({ command }), 202), CommandAnswer);
    expect(read).toMatchObject({ ok: true, data: { command: { id: 'c1', state: 'delivered' } } });
  });

  it('turns a 2xx answer of another shape into an error naming the field, not a cast', async () => {
    const read = await readAnswer(
      answer(JSON.stringify({ command: { ...command, state: 'exploded' } }), 202),
      CommandAnswer,
    );
    expect(read.ok).toBe(false);
    if (!read.ok)
      expect(read.error).toMatch(
        /^the gateway's answer is not the one declared \(command\.state: /,
      );
  });

  it('gives the gateway’s own message for a refusal, and the status for a body without one', async () => {
    expect(
      await readAnswer(
        answer(JSON.stringify({ error: 'forbidden: a viewer cannot steer' }), 403),
        CommandAnswer,
      ),
    ).toEqual({ ok: false, status: 403, error: 'forbidden: a viewer cannot steer' });
    expect(
      await readAnswer(answer('<html>bad gateway</html>', 502, 'Bad Gateway'), CommandAnswer),
    ).toEqual({
      ok: false,
      status: 502,
      error: 'HTTP 502 Bad Gateway',
    });
    const notJson = await readAnswer(answer('', 200), CommandAnswer);
    expect(notJson.ok).toBe(false);
  });
});

describe('readRefusal', () => {
  it("gives the gateway's own error, else the status of a body that is not one", async () => {
    expect(await readRefusal(answer(JSON.stringify({ error: 'no such capture' }), 404))).toBe(
      'no such capture',
    );
    expect(
      await readRefusal(
        new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }),
      ),
    ).toBe('HTTP 502 Bad Gateway');
    expect(await readRefusal(answer(JSON.stringify({ error: 42 }), 500))).toBe('HTTP 500');
  });
});
