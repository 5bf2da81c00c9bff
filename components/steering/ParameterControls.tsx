'use client';

import { type KeyboardEvent, useMemo, useState } from 'react';
import {
  type ParameterDeclaration,
  type ParameterValue,
  type ParameterValues,
  type RunParameters,
  valueProblem,
} from '@/lib/protocol';
import { testIds } from '@/lib/testIds';

const input = 'w-full rounded border border-edge bg-surface px-2 py-1 font-mono text-sm';
const button = 'rounded border border-edge px-3 py-1 text-sm hover:bg-white/10 disabled:opacity-40';

/**
 * The controls a run's consumer declared, grouped as declared, with units and keyboard steps
 * (arrows step, Shift+arrows ten steps). Edits stay local until Apply sends them as one
 * `set-parameters` command; the values shown otherwise are the run's values in force.
 */
export function ParameterControls({
  parameters,
  busy,
  onApply,
}: {
  parameters: RunParameters;
  busy: boolean;
  onApply: (values: ParameterValues) => void;
}) {
  const [edits, setEdits] = useState<ParameterValues>({});
  const groups = useMemo(() => {
    const byGroup = new Map<string, ParameterDeclaration[]>();
    for (const d of parameters.declarations) {
      if (d.type === 'region') continue; // set by drawing on a slice, not typed
      const key = d.group ?? 'Parameters';
      byGroup.set(key, [...(byGroup.get(key) ?? []), d]);
    }
    return [...byGroup];
  }, [parameters.declarations]);
  const declared = new Map(parameters.declarations.map((d) => [d.name, d]));
  const problems = Object.entries(edits)
    .map(([name, v]) => {
      const d = declared.get(name);
      return d ? valueProblem(d, v) : `unknown parameter ${name}`;
    })
    .filter((p): p is string => p !== null);
  const changed = Object.keys(edits).length > 0;
  const restarts = Object.keys(edits).some((n) => declared.get(n)?.restarts);
  const value = (d: ParameterDeclaration): ParameterValue =>
    edits[d.name] !== undefined ? edits[d.name]! : (parameters.values[d.name] ?? d.default);
  const edit = (name: string, v: ParameterValue) => {
    const next = { ...edits };
    if (v === parameters.values[name]) delete next[name];
    else next[name] = v;
    setEdits(next);
  };

  return (
    <form
      // Values are checked against the declaration here and at the gateway; the browser's own
      // step validation would refuse e.g. 100 mm with a 10 mm step from a 0.1 mm minimum.
      noValidate
      className="space-y-2 text-xs"
      onSubmit={(e) => {
        e.preventDefault();
        if (!changed || problems.length) return;
        onApply(edits);
        setEdits({});
      }}
    >
      {groups.map(([group, declarations]) => (
        <fieldset key={group} className="space-y-1">
          <legend className="text-muted">{group}</legend>
          {declarations.map((d) => (
            <Control
              key={d.name}
              declaration={d}
              value={value(d)}
              onChange={(v) => edit(d.name, v)}
            />
          ))}
        </fieldset>
      ))}
      {problems.length ? <p className="text-bad">{problems[0]}</p> : null}
      <div className="flex items-center gap-2">
        <button
          type="submit"
          data-testid={testIds.command('set-parameters')}
          className={button}
          disabled={busy || !changed || problems.length > 0}
        >
          Apply{changed ? ` ${Object.keys(edits).length}` : ''}
        </button>
        {changed ? (
          <button type="button" className={button} onClick={() => setEdits({})}>
            Discard
          </button>
        ) : null}
        {restarts ? <span className="text-warn">restarts the reconstruction</span> : null}
      </div>
    </form>
  );
}

function Control({
  declaration: d,
  value,
  onChange,
}: {
  declaration: ParameterDeclaration;
  value: ParameterValue;
  onChange: (v: ParameterValue) => void;
}) {
  const label = `${d.label}${'unit' in d && d.unit ? ` (${d.unit})` : ''}`;
  const common = {
    'aria-label': label,
    'aria-description': d.description,
    'data-testid': testIds.parameter(d.name),
    title: d.description,
  };
  switch (d.type) {
    case 'number':
    case 'integer': {
      const step = d.step ?? (d.type === 'integer' ? 1 : undefined);
      const nudge = (e: KeyboardEvent<HTMLInputElement>) => {
        // Native arrows step once; Shift steps ten times, as in napari and ImageJ.
        if (!e.shiftKey || !step || (e.key !== 'ArrowUp' && e.key !== 'ArrowDown')) return;
        e.preventDefault();
        const base = typeof value === 'number' ? value : d.default;
        let next = base + (e.key === 'ArrowUp' ? 10 : -10) * step;
        if (d.min !== undefined) next = Math.max(d.min, next);
        if (d.max !== undefined) next = Math.min(d.max, next);
        onChange(Number(next.toPrecision(12)));
      };
      return (
        <label className="grid grid-cols-[1fr_7rem] items-center gap-2">
          <span>
            {d.label}
            {d.restarts ? <span className="text-muted"> ↻</span> : null}
          </span>
          <span className="flex items-center gap-1">
            <input
              {...common}
              className={input}
              type="number"
              step={step ?? 'any'}
              {...(d.min !== undefined && { min: d.min })}
              {...(d.max !== undefined && { max: d.max })}
              value={typeof value === 'number' ? value : ''}
              onKeyDown={nudge}
              onChange={(e) => {
                const n = e.target.valueAsNumber;
                if (Number.isFinite(n)) onChange(n);
              }}
            />
            {d.unit ? <span className="w-8 text-muted">{d.unit}</span> : null}
          </span>
        </label>
      );
    }
    case 'enum':
      return (
        <label className="grid grid-cols-[1fr_7rem] items-center gap-2">
          <span>{d.label}</span>
          <select
            {...common}
            className={input}
            value={typeof value === 'string' ? value : d.default}
            onChange={(e) => onChange(e.target.value)}
          >
            {d.choices.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
      );
    case 'boolean':
      return (
        <label className="flex items-center gap-2">
          <input
            {...common}
            type="checkbox"
            checked={value === true}
            onChange={(e) => onChange(e.target.checked)}
          />
          <span>{d.label}</span>
        </label>
      );
    case 'region':
      return null;
  }
}
