import { z } from 'zod';
import { Region } from './frame';

/**
 * Steerable parameters a consumer declares when it registers a run, so any reconstruction code —
 * tomography, ptychography, diffraction — exposes its own controls without a protocol change. The
 * gateway checks every `set-parameters` command against the run's declaration; the browser draws
 * the controls from it.
 */

/** A parameter's key: what the consumer reads, e.g. `rotationCentre`. */
export const ParameterName = z
  .string()
  .regex(/^[a-z][A-Za-z0-9]{0,63}$/, 'parameter name: a lowercase letter, then letters and digits');
export type ParameterName = z.infer<typeof ParameterName>;

const common = {
  name: ParameterName,
  /** What people read beside the control, e.g. "Rotation centre". */
  label: z.string().min(1).max(80),
  /** One sentence on what it does, shown as the control's description. */
  description: z.string().max(300).optional(),
  /** Controls of one group are drawn together, in declaration order. */
  group: z.string().min(1).max(40).optional(),
  /** Changing it restarts the reconstruction (the view refills); the UI says so before sending. */
  restarts: z.boolean().optional(),
};

const numeric = {
  /** SI or customary unit of the value, e.g. "px", "keV", "mm", "µm"; omitted for pure numbers. */
  unit: z.string().min(1).max(16).optional(),
  min: z.number().finite().optional(),
  max: z.number().finite().optional(),
  /** Keyboard step (arrow keys); Shift steps ten times as far. */
  step: z.number().finite().positive().optional(),
};

export const NumberParameter = z
  .object({ ...common, ...numeric, type: z.literal('number'), default: z.number().finite() })
  .strict();
export const IntegerParameter = z
  .object({ ...common, ...numeric, type: z.literal('integer'), default: z.number().int() })
  .strict();
export const EnumParameter = z
  .object({
    ...common,
    type: z.literal('enum'),
    choices: z
      .array(
        z.object({ value: z.string().min(1).max(64), label: z.string().min(1).max(80) }).strict(),
      )
      .min(1)
      .max(32),
    default: z.string().min(1).max(64),
  })
  .strict();
export const BooleanParameter = z
  .object({ ...common, type: z.literal('boolean'), default: z.boolean() })
  .strict();
/** A region of the full view's volume (voxels, half-open), e.g. a reference area. */
export const RegionParameter = z
  .object({ ...common, type: z.literal('region'), default: Region.nullable() })
  .strict();

export const ParameterDeclaration = z.discriminatedUnion('type', [
  NumberParameter,
  IntegerParameter,
  EnumParameter,
  BooleanParameter,
  RegionParameter,
]);
export type ParameterDeclaration = z.infer<typeof ParameterDeclaration>;
export type ParameterType = ParameterDeclaration['type'];

/** Most parameters one consumer may declare: enough for any real code, bounded for the gateway. */
export const MAX_PARAMETERS = 48;

export const ParameterDeclarations = z
  .array(ParameterDeclaration)
  .max(MAX_PARAMETERS)
  .superRefine((declarations, ctx) => {
    const seen = new Set<string>();
    declarations.forEach((d, i) => {
      if (seen.has(d.name))
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `${d.name} is declared twice` });
      seen.add(d.name);
      const problem = valueProblem(d, d.default);
      if (problem)
        ctx.addIssue({ code: 'custom', path: [i, 'default'], message: `default: ${problem}` });
      if (
        (d.type === 'number' || d.type === 'integer') &&
        d.min !== undefined &&
        d.max !== undefined &&
        d.min > d.max
      )
        ctx.addIssue({ code: 'custom', path: [i, 'max'], message: `${d.name}: max < min` });
    });
  });

export const ParameterValue = z.union([
  z.number().finite(),
  z.string().max(64),
  z.boolean(),
  Region,
  z.null(),
]);
export type ParameterValue = z.infer<typeof ParameterValue>;

/** Values by parameter name: a change (`set-parameters`) or the run's values now. */
export const ParameterValues = z
  .record(ParameterName, ParameterValue)
  .refine((v) => Object.keys(v).length <= MAX_PARAMETERS, `at most ${MAX_PARAMETERS} parameters`);
export type ParameterValues = z.infer<typeof ParameterValues>;

/** A run's steerable parameters as viewers see them: what can be set, and what is set now. */
export const RunParameters = z.object({
  declarations: ParameterDeclarations,
  values: ParameterValues,
});
export type RunParameters = z.infer<typeof RunParameters>;

/** Why `value` does not fit `declaration`, or null if it does. */
export function valueProblem(
  declaration: ParameterDeclaration,
  value: ParameterValue,
): string | null {
  const d = declaration;
  switch (d.type) {
    case 'number':
    case 'integer': {
      if (typeof value !== 'number') return `${d.name} takes a number`;
      if (d.type === 'integer' && !Number.isInteger(value)) return `${d.name} takes a whole number`;
      const unit = d.unit ? ` ${d.unit}` : '';
      if (d.min !== undefined && value < d.min)
        return `${d.name} ${value}${unit} is below ${d.min}${unit}`;
      if (d.max !== undefined && value > d.max)
        return `${d.name} ${value}${unit} is above ${d.max}${unit}`;
      return null;
    }
    case 'enum':
      return typeof value === 'string' && d.choices.some((c) => c.value === value)
        ? null
        : `${d.name} takes one of ${d.choices.map((c) => c.value).join(', ')}`;
    case 'boolean':
      return typeof value === 'boolean' ? null : `${d.name} takes true or false`;
    case 'region':
      return value === null || Region.safeParse(value).success ? null : `${d.name} takes a region`;
  }
}

/**
 * Checks a change against a run's declaration: every name declared, every value within its type,
 * range or choices. Returns the reason of the first problem, or null.
 */
export function parameterChangeProblem(
  declarations: readonly ParameterDeclaration[],
  values: ParameterValues,
): string | null {
  const names = Object.keys(values);
  if (names.length === 0) return 'set-parameters needs at least one value';
  const byName = new Map(declarations.map((d) => [d.name, d]));
  for (const name of names) {
    const declaration = byName.get(name);
    if (!declaration)
      return `this run has no parameter ${name}${byName.size ? ` (it has ${[...byName.keys()].join(', ')})` : ''}`;
    const problem = valueProblem(declaration, values[name]!);
    if (problem) return problem;
  }
  return null;
}

/** The declared defaults, overridden by `values`: what a run's parameters are after registering. */
export function parameterValues(
  declarations: readonly ParameterDeclaration[],
  values: ParameterValues = {},
): ParameterValues {
  const out: ParameterValues = {};
  for (const d of declarations)
    out[d.name] =
      values[d.name] !== undefined && !valueProblem(d, values[d.name]!)
        ? values[d.name]!
        : d.default;
  return out;
}
