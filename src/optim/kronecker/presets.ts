// The second-order presets of docs/algorithm.md §6.3, in one table. adaptive: the paper (Martens &
// Grosse's initial values, τ and γ adapted); fixed: the authors' public code (damping 1e-3, no
// adaptation, factor decay and Polyak constant ramped to 0.9 over 100 updates). A setting given
// explicitly (a flag on the command line, an API option) overrides the preset's value; one left
// undefined keeps it.

export type DampingPreset = "adaptive" | "fixed";
export const DAMPING_PRESETS: readonly DampingPreset[] = ["adaptive", "fixed"];

export interface PresetSettings {
  /** Initial Levenberg–Marquardt damping τ₀ of the quadratic model. */
  tau0: number;
  /** Initial factor damping γ₀ (k = √(γ + η)). */
  gamma0: number;
  /** Adapt τ and γ (off: both stay at their initial values). */
  adapt: boolean;
  /** T_τ: updates between τ adaptations. */
  tauPeriod: number;
  /** T_γ: updates between greedy γ searches. */
  gammaPeriod: number;
  /** Momentum on the curvature factors; 0 turns it off. */
  factorDecay: number;
  /** Largest Polyak averaging constant. */
  polyakMax: number;
  /** Ramp factor decay and Polyak constant up over this many updates (0: no ramp). */
  rampSteps: number;
}

export const SECOND_ORDER_PRESETS: Readonly<Record<DampingPreset, Readonly<PresetSettings>>> = {
  adaptive: { tau0: 150, gamma0: 150, adapt: true, tauPeriod: 5, gammaPeriod: 20, factorDecay: 0.9, polyakMax: 0.95, rampSteps: 0 },
  fixed: { tau0: 1e-3, gamma0: 1e-3, adapt: false, tauPeriod: 5, gammaPeriod: 20, factorDecay: 0.9, polyakMax: 0.9, rampSteps: 100 },
};

/** The preset's settings. */
export function dampingPreset(preset: DampingPreset): PresetSettings {
  return { ...SECOND_ORDER_PRESETS[preset] };
}

/**
 * The preset's settings with every defined override applied; `adapt` is the preset's and the
 * override's together (a preset that does not adapt cannot be made to).
 */
export function presetWith(preset: DampingPreset, overrides: Partial<PresetSettings>): PresetSettings {
  const settings = dampingPreset(preset);
  for (const key of Object.keys(overrides) as (keyof PresetSettings)[]) {
    const value = overrides[key];
    if (value !== undefined && key !== "adapt") (settings as unknown as Record<string, number>)[key] = value as number;
  }
  settings.adapt = settings.adapt && (overrides.adapt ?? true);
  return settings;
}

/** A setting's value in each preset, for help text: "fixed 5, adaptive 5", or "5" when they agree. */
export function presetValues(key: keyof PresetSettings): string {
  const values = DAMPING_PRESETS.map((p) => SECOND_ORDER_PRESETS[p][key]);
  return values.every((v) => v === values[0]) ? String(values[0]) : DAMPING_PRESETS.map((p, i) => `${p} ${values[i]}`).join(", ");
}
