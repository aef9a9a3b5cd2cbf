// Every optimiser setting, once: kind, range, default (per method or per preset where they differ),
// the methods it applies to, and help. The CLI's flags and --help, the library's option checks and
// the optimisers' constructors all read this table (src/settings.ts derives the checks).
//
// The two presets of the Kronecker methods (docs/algorithm.md §6.3): `adaptive` is the paper's
// appendix B (τ and γ adapted, started at 1e-3, §6.4); `fixed` is the authors' public code (τ = γ =
// 1e-3 held, factor decay and Polyak constant ramped to their maxima over 100 updates). A setting
// given explicitly overrides its preset's value.
import { type SettingRow, SettingError, checkSetting } from "../settings.ts";

export const METHOD_NAMES = ["kfra", "kflr", "kfac", "sgd", "momentum", "nesterov", "adam"] as const;
export type MethodName = (typeof METHOD_NAMES)[number];
export const KRONECKER_METHODS = ["kfra", "kflr", "kfac"] as const satisfies readonly MethodName[];
export type KroneckerMethod = (typeof KRONECKER_METHODS)[number];
export const FIRST_ORDER_METHODS = ["sgd", "momentum", "nesterov", "adam"] as const satisfies readonly MethodName[];
export type FirstOrderMethod = (typeof FIRST_ORDER_METHODS)[number];

export const PRESETS = ["fixed", "adaptive"] as const;
export type Preset = (typeof PRESETS)[number];

export const isKronecker = (method: MethodName): method is KroneckerMethod => (KRONECKER_METHODS as readonly string[]).includes(method);

type PerPreset = { readonly preset: Readonly<Record<Preset, number | boolean>> };
type PerMethod = { readonly method: Readonly<Partial<Record<MethodName, number>>>; readonly otherwise: number };

export interface OptimizerSettingRow extends SettingRow {
  /** The methods that read it. */
  methods: readonly MethodName[];
  default: number | boolean | string | PerPreset | PerMethod;
}

export const OPTIMIZER_SETTINGS = {
  batchSize: { kind: "integer", min: 1, methods: METHOD_NAMES, default: 1000, flag: "batch", help: "minibatch size N" },
  weightDecay: { kind: "number", min: 0, methods: METHOD_NAMES, default: 1e-5, help: "weight decay η" },
  seed: { kind: "integer", min: 0, methods: METHOD_NAMES, default: 0, help: "seed of the initial weights, the minibatch order and KFAC's sampled targets" },
  lr: {
    kind: "number",
    above: 0,
    methods: FIRST_ORDER_METHODS,
    default: { method: { adam: 2 ** -9 }, otherwise: 2 ** -6 },
    help: "learning rate of the first-order methods",
  },
  decayPeriod: { kind: "integer", min: 0, methods: FIRST_ORDER_METHODS, default: 0, help: "halve the learning rate every N updates, 0: never" },
  momentum: { kind: "number", min: 0, below: 1, methods: ["momentum", "nesterov"], default: 0.9, help: "momentum of the momentum and nesterov methods" },
  beta1: { kind: "number", min: 0, below: 1, methods: ["adam"], default: 0.9, help: "Adam's first-moment decay" },
  beta2: { kind: "number", min: 0, below: 1, methods: ["adam"], default: 0.999, help: "Adam's second-moment decay" },
  epsilon: { kind: "number", above: 0, methods: ["adam"], default: 1e-8, help: "Adam's ε" },
  preset: {
    kind: "choice",
    choices: PRESETS,
    methods: KRONECKER_METHODS,
    default: "fixed",
    aliases: ["damping"],
    help: "Kronecker preset: fixed (the authors' code) or adaptive (the paper, appendix B)",
  },
  // Both presets start at 1e-3: from Martens & Grosse's 150 the adaptive preset stays on the plateau (docs/algorithm.md §6.4).
  tau0: { kind: "number", above: 0, methods: KRONECKER_METHODS, default: 1e-3, help: "initial Levenberg–Marquardt damping τ" },
  gamma0: { kind: "number", above: 0, methods: KRONECKER_METHODS, default: 1e-3, help: "initial factor damping γ" },
  adapt: {
    kind: "boolean",
    negated: true,
    methods: KRONECKER_METHODS,
    default: { preset: { fixed: false, adaptive: true } },
    help: "freeze τ and γ at their initial values",
  },
  tauPeriod: { kind: "integer", min: 1, methods: KRONECKER_METHODS, default: 5, help: "T_τ: updates between τ adaptations" },
  gammaPeriod: { kind: "integer", min: 1, methods: KRONECKER_METHODS, default: 20, help: "T_γ: updates between greedy γ searches" },
  factorDecay: { kind: "number", min: 0, below: 1, methods: KRONECKER_METHODS, default: 0.9, help: "momentum on the curvature factors" },
  factorMomentum: { kind: "boolean", negated: true, methods: KRONECKER_METHODS, default: true, help: "use each minibatch's factors alone (factor decay 0)" },
  polyakMax: { kind: "number", min: 0, below: 1, methods: KRONECKER_METHODS, default: { preset: { fixed: 0.9, adaptive: 0.95 } }, help: "largest Polyak averaging constant" },
  rampSteps: {
    kind: "integer",
    min: 0,
    methods: KRONECKER_METHODS,
    default: { preset: { fixed: 100, adaptive: 0 } },
    help: "ramp the factor decay and Polyak constant up over N updates, 0: none",
  },
} as const satisfies Record<string, OptimizerSettingRow>;

export type OptimizerSettingKey = keyof typeof OPTIMIZER_SETTINGS;

/** The value type of a row: a boolean, one of its choices, or a number. */
type ValueOf<R> = R extends { kind: "boolean" } ? boolean : R extends { kind: "choice"; choices: readonly (infer C)[] } ? C : number;

/** The settings of an optimiser, every one resolved (those its method does not read are left at their defaults); the type follows the table. */
export type OptimizerSettings = { -readonly [K in OptimizerSettingKey]: ValueOf<(typeof OPTIMIZER_SETTINGS)[K]> };

/** The row's default for a method and preset. */
export function settingDefault(row: OptimizerSettingRow, method: MethodName, preset: Preset): number | boolean | string {
  const d = row.default;
  if (typeof d !== "object") return d;
  if ("preset" in d) return d.preset[preset];
  return d.method[method] ?? d.otherwise;
}

/** The default of a row in words, for --help: "0.9", "fixed 0.9, adaptive 0.95", "adam 0.001953125, otherwise 0.015625". */
export function defaultText(row: OptimizerSettingRow): string {
  const d = row.default;
  if (typeof d !== "object") return String(d);
  if ("preset" in d) return PRESETS.map((p) => `${p} ${d.preset[p]}`).join(", ");
  return `${Object.entries(d.method).map(([m, v]) => `${m} ${v}`).join(", ")}, otherwise ${d.otherwise}`;
}

/**
 * Checks settings given for `method` and fills in the rest: an unknown key, a key the method does
 * not read, or a value outside its row's range is a SettingError naming it (`label` turns a key
 * into the caller's name for it, e.g. its flag).
 */
export function resolveOptimizerSettings(method: MethodName, given: Record<string, unknown>, label: (key: string) => string = (k) => k): OptimizerSettings {
  const rows = OPTIMIZER_SETTINGS as Record<string, OptimizerSettingRow>;
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    const row = Object.hasOwn(rows, key) ? rows[key] : undefined;
    if (!row) {
      const valid = Object.keys(rows).filter((k) => rows[k].methods.includes(method));
      throw new SettingError(key, `not a setting of ${method}; its settings are ${valid.join(", ")}`, label(key));
    }
    if (!row.methods.includes(method)) throw new SettingError(key, `not read by ${method}; it is a setting of ${row.methods.join(", ")}`, label(key));
    checkSetting(key, row, value, label(key));
  }
  // Own keys only: a setting inherited from a prototype is neither checked nor read.
  const own = (key: string) => (Object.hasOwn(given, key) ? given[key] : undefined);
  checkReadUnderPreset(Object.fromEntries(Object.keys(rows).map((key) => [key, own(key)])), label);
  const preset = (own("preset") ?? OPTIMIZER_SETTINGS.preset.default) as Preset;
  const settings: Record<string, unknown> = {};
  for (const [key, row] of Object.entries(rows)) settings[key] = own(key) ?? settingDefault(row, method, preset);
  return settings as unknown as OptimizerSettings;
}

/**
 * The settings of a Kronecker method that its preset and switches (as `given`) leave unread: γ's
 * period while γ is held (the fixed preset, or adaptation off), the factor decay while factor
 * momentum is off. (τ's period is always read: a rejected step raises τ by ω_τ = 0.95^T_τ under
 * either preset, docs/algorithm.md §6.)
 */
export function unreadUnderPreset(given: Record<string, unknown>): ("gammaPeriod" | "factorDecay")[] {
  const preset = (given.preset ?? OPTIMIZER_SETTINGS.preset.default) as Preset;
  const adapt = given.adapt ?? OPTIMIZER_SETTINGS.adapt.default.preset[preset];
  return [...(adapt === false ? ["gammaPeriod" as const] : []), ...(given.factorMomentum === false ? ["factorDecay" as const] : [])];
}

/** Refuses a setting given that the preset leaves unread (unreadUnderPreset), as one the method does not read is refused. */
export function checkReadUnderPreset(given: Record<string, unknown>, label: (key: string) => string = (k) => k): void {
  const unread = unreadUnderPreset(given);
  if (given.gammaPeriod !== undefined && unread.includes("gammaPeriod")) {
    const preset = given.preset ?? OPTIMIZER_SETTINGS.preset.default;
    throw new SettingError("gammaPeriod", `not read while γ is held (the ${preset} preset${given.adapt === false ? " with adaptation off" : ""}); it is read when τ and γ are adapted, as under the adaptive preset`, label("gammaPeriod"));
  }
  if (given.factorDecay !== undefined && unread.includes("factorDecay")) {
    throw new SettingError("factorDecay", "not read while factor momentum is off (each minibatch's factors are used alone); leave one of the two out", label("factorDecay"));
  }
}
